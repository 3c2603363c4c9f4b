//! The JSONL journal every stage that must survive a crash writes (issues #4, #13): one JSON
//! line per finished piece of work, appended and `fsync`ed before the next is taken, so a
//! process killed at any instant loses nothing it finished.
//!
//! The format is generic: each journal names its line type ([`JournalLine`]), whose serde
//! shape *is* the on-disk line. Rules shared by every journal:
//! - A line is written with one `write_all` of its bytes and newline, then `sync_data`.
//! - Reading tolerates a crash: a last line without its newline, or a last complete line that
//!   does not parse (the crash hit between a larger write's bytes and its newline), is torn
//!   and ignored; a bad line before it is corruption ([`JournalError::Corrupt`]).
//! - [`Journal::resume`] cuts a torn tail before appending, so new lines start on a fresh line.
//! - The journal lives beside the file it protects (`<file>.journal`, [`path_for`]) and is
//!   removed (`remove`) only once everything it describes has been saved.
//!
//! Users: the main run's journal ([`crate::run::journal`]) and `validate`'s
//! ([`crate::validate::journal`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The line type of one kind of journal: its serde shape is the line on disk.
pub trait JournalLine: Serialize + DeserializeOwned {
    /// What the journal is called in messages, e.g. `"run journal"`.
    const NAME: &'static str;
    /// What to do about a corrupt journal, ending [`JournalError::Corrupt`]'s message.
    const IF_CORRUPT: &'static str;
}

/// Errors of a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, creating, appending, truncating or removing failed.
    #[error("failed to {action} {name} `{path}`")]
    Io {
        /// The journal's kind ([`JournalLine::NAME`]).
        name: &'static str,
        /// What was being done (`"read"`, `"create"`, `"open"`, `"append to"`, `"truncate"`,
        /// `"remove"`).
        action: &'static str,
        /// Journal path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A line other than the last does not parse (a torn last line is ignored).
    #[error("{name} `{path}` is corrupt at line {line}; {advice}")]
    Corrupt {
        /// The journal's kind ([`JournalLine::NAME`]).
        name: &'static str,
        /// Journal path.
        path: PathBuf,
        /// 1-based number among the non-empty lines.
        line: usize,
        /// What to do about it ([`JournalLine::IF_CORRUPT`]).
        advice: &'static str,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
}

fn io_err<T: JournalLine>(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io {
        name: T::NAME,
        action,
        path,
        source,
    }
}

/// The journal path of a file: `<file>.journal`.
pub fn path_for(file: &Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

/// An open journal of `T` lines being appended to.
#[derive(Debug)]
pub struct Journal<T> {
    path: PathBuf,
    file: File,
    line: PhantomData<fn(&T)>,
}

impl<T: JournalLine> Journal<T> {
    /// Creates (or truncates) the journal at `path` and writes `first`, synced. The parent
    /// directory must exist.
    ///
    /// # Errors
    /// [`JournalError::Io`] naming the path.
    pub fn start(path: &Path, first: &T) -> Result<Self, JournalError> {
        let file = File::create(path).map_err(io_err::<T>("create", path))?;
        let mut j = Self {
            path: path.to_owned(),
            file,
            line: PhantomData,
        };
        j.append(first)?;
        Ok(j)
    }

    /// Opens the existing journal at `path` for appending as it is (nothing read or cut).
    ///
    /// # Errors
    /// [`JournalError::Io`] naming the path.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_err::<T>("open", path))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            line: PhantomData,
        })
    }

    /// Opens the existing journal at `path` for appending after its whole lines: a torn tail
    /// is cut (and the cut synced) first. Returns `None` when there is no journal, else the
    /// journal and the lines it holds.
    ///
    /// # Errors
    /// [`JournalError::Io`], and [`JournalError::Corrupt`] for a bad line before the last.
    pub fn resume(path: &Path) -> Result<Option<(Self, Vec<T>)>, JournalError> {
        let Some((lines, good)) = read_with_len::<T>(path)? else {
            return Ok(None);
        };
        let j = Self::open(path)?;
        let len = j.file.metadata().map_err(io_err::<T>("read", path))?.len();
        if len != good {
            j.file
                .set_len(good)
                .and_then(|()| j.file.sync_data())
                .map_err(io_err::<T>("truncate", path))?;
        }
        Ok(Some((j, lines)))
    }

    /// Appends one line and syncs it to disk before returning.
    ///
    /// # Errors
    /// [`JournalError::Io`] naming the path.
    pub fn append(&mut self, line: &T) -> Result<(), JournalError> {
        self.file
            .write_all(&line_bytes(line))
            .and_then(|()| self.file.sync_data())
            .map_err(io_err::<T>("append to", &self.path))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle on the same open file (sharing its offset), for lines written unsynced
    /// beside the journal's own (the run's process lines, [`crate::run::orphans`]).
    ///
    /// # Errors
    /// [`JournalError::Io`] naming the path.
    pub fn try_clone_file(&self) -> Result<File, JournalError> {
        self.file
            .try_clone()
            .map_err(io_err::<T>("open", &self.path))
    }
}

/// One line's bytes, newline included (written with one `write_all`).
pub(crate) fn line_bytes<T: Serialize>(line: &T) -> Vec<u8> {
    let mut bytes =
        serde_json::to_vec(line).expect("journal lines are plain data and always serialise");
    bytes.push(b'\n');
    bytes
}

/// Reads the journal at `path`; `Ok(None)` when there is none. A torn last line is ignored
/// (see the module rules).
///
/// # Errors
/// [`JournalError::Io`] when it cannot be read, [`JournalError::Corrupt`] when a line before
/// the last does not parse.
pub(crate) fn read<T: JournalLine>(path: &Path) -> Result<Option<Vec<T>>, JournalError> {
    Ok(read_with_len(path)?.map(|(lines, _)| lines))
}

/// The lines and the byte length of the prefix of whole, parsed lines.
fn read_with_len<T: JournalLine>(path: &Path) -> Result<Option<(Vec<T>, u64)>, JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_err::<T>("read", path)(source)),
    };
    // Only whole lines count: what follows the last newline is a torn write.
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut lines = Vec::new();
    let mut raw = Vec::new();
    let mut pos = 0;
    while pos < complete {
        let len = bytes[pos..complete]
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(complete - pos);
        if len > 0 {
            raw.push((pos, pos + len + 1));
        }
        pos += len + 1;
    }
    let mut good = 0;
    for (i, &(start, end)) in raw.iter().enumerate() {
        match serde_json::from_slice::<T>(&bytes[start..end - 1]) {
            Ok(line) => {
                lines.push(line);
                good = end;
            }
            // The last complete line may still be garbage if the crash hit between the bytes
            // and the newline of a larger write; treat it as torn too.
            Err(_) if i + 1 == raw.len() => {}
            Err(source) => {
                return Err(JournalError::Corrupt {
                    name: T::NAME,
                    path: path.to_owned(),
                    line: i + 1,
                    advice: T::IF_CORRUPT,
                    source,
                });
            }
        }
    }
    Ok(Some((lines, good as u64)))
}

/// Removes the journal at `path` (after everything it describes is saved); a missing one is
/// fine.
///
/// # Errors
/// [`JournalError::Io`] naming the path.
pub(crate) fn remove<T: JournalLine>(path: &Path) -> Result<(), JournalError> {
    batch_base::fs::remove_if_exists(path).map_err(io_err::<T>("remove", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct L {
        n: u32,
    }

    impl JournalLine for L {
        const NAME: &'static str = "test journal";
        const IF_CORRUPT: &'static str = "throw it away";
    }

    #[test]
    fn start_append_read_resume_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_for(&dir.path().join("f.json"));
        assert_eq!(p.file_name().unwrap(), "f.json.journal");
        assert!(read::<L>(&p).unwrap().is_none());
        assert!(Journal::<L>::resume(&p).unwrap().is_none());
        let mut j = Journal::start(&p, &L { n: 0 }).unwrap();
        j.append(&L { n: 1 }).unwrap();
        drop(j);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"n\":0}\n{\"n\":1}\n"
        );
        // A crash in the middle of the next line: the tail is cut before appending.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"n\":").unwrap();
        drop(f);
        let (mut j, lines) = Journal::<L>::resume(&p).unwrap().unwrap();
        assert_eq!(lines, [L { n: 0 }, L { n: 1 }]);
        j.append(&L { n: 2 }).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"
        );
        remove::<L>(&p).unwrap();
        remove::<L>(&p).unwrap();
        assert!(read::<L>(&p).unwrap().is_none());
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_a_bad_middle_line_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        // Without its newline, with its newline but garbage, after blank lines.
        for text in [
            "{\"n\":0}\n{\"n",
            "{\"n\":0}\n{\"n\n",
            "{\"n\":0}\n\n{\"x\n\n",
        ] {
            std::fs::write(&p, text).unwrap();
            assert_eq!(read::<L>(&p).unwrap().unwrap(), [L { n: 0 }], "{text:?}");
            let (_, lines) = Journal::<L>::resume(&p).unwrap().unwrap();
            assert_eq!(lines, [L { n: 0 }]);
            assert_eq!(
                std::fs::read_to_string(&p).unwrap(),
                "{\"n\":0}\n",
                "{text:?}"
            );
        }
        std::fs::write(&p, "{\"n\":0}\n\ngarbage\n{\"n\":1}\n").unwrap();
        let err = read::<L>(&p).unwrap_err();
        assert!(
            matches!(err, JournalError::Corrupt { line: 2, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "test journal `{}` is corrupt at line 2; throw it away",
                p.display()
            )
        );
        // Resuming a corrupt journal changes nothing.
        assert!(Journal::<L>::resume(&p).is_err());
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"n\":0}\n\ngarbage\n{\"n\":1}\n"
        );
    }

    #[test]
    fn io_errors_name_the_journal_and_the_action() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir/j");
        let err = Journal::start(&p, &L { n: 0 }).unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::Io {
                    action: "create",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!("failed to create test journal `{}`", p.display())
        );
    }
}
