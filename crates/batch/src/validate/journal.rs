//! The validation journal (`<out>.journal`, issue #13): a killed `validate` resumes without
//! re-running finished rows.
//!
//! The first line names the batch and the job platform; each later line is one finished
//! [`ValidationRow`], appended and `fsync`ed before the next row is taken (as the main run's
//! `run/journal.rs`). A last line torn by a crash is ignored. The journal is removed once the
//! results file that contains its rows has been written. A journal of another batch or
//! platform is refused: mixing them would put foreign rows in the results file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::platform::JobPlatform;
use super::results::ValidationRow;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// First line: what the journal belongs to.
    Start {
        /// The batch ID (`--batch-id`).
        batch_id: String,
        /// The job platform (`--platform`), e.g. `linux-arm64`.
        platform: String,
    },
    /// One finished row.
    Row(Box<ValidationRow>),
}

/// Errors of the validation journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, creating, appending or removing failed.
    #[error("failed to {action} validation journal `{path}`")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Journal path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A line other than the last does not parse (1-based line).
    #[error(
        "validation journal `{path}` is corrupt at line {line}; remove it to validate every recipe again"
    )]
    Corrupt {
        /// Journal path.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The journal belongs to another batch or platform.
    #[error(
        "validation journal `{path}` belongs to batch {found_batch:?} on {found_platform}, not batch {batch_id:?} on {platform}; remove it or pass another --out"
    )]
    Foreign {
        /// Journal path.
        path: PathBuf,
        /// Batch of the journal.
        found_batch: String,
        /// Platform of the journal.
        found_platform: String,
        /// This run's batch.
        batch_id: String,
        /// This run's platform.
        platform: String,
    },
}

/// The journal path for a results file: `<out>.journal`.
pub fn path_for(out: &Path) -> PathBuf {
    let mut p = out.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

/// An open journal being appended to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io {
        action,
        path,
        source,
    }
}

impl Journal {
    /// Opens the journal at `path` for this batch and platform: reads the rows of an earlier,
    /// killed run (returned), or creates the journal with its start line. Parent directories
    /// are created.
    ///
    /// # Errors
    /// [`JournalError::Foreign`] for another batch's or platform's journal,
    /// [`JournalError::Corrupt`] for an unreadable line before the last, and
    /// [`JournalError::Io`].
    pub fn open_or_create(
        path: &Path,
        batch_id: &str,
        platform: JobPlatform,
    ) -> Result<(Journal, Vec<ValidationRow>), JournalError> {
        let start = Line::Start {
            batch_id: batch_id.to_owned(),
            platform: platform.to_string(),
        };
        if let Some(lines) = read(path)? {
            let mut rows = Vec::new();
            let mut it = lines.into_iter();
            match it.next() {
                Some(Line::Start {
                    batch_id: b,
                    platform: p,
                }) if b == batch_id && p == platform.as_str() => {}
                Some(Line::Start {
                    batch_id: b,
                    platform: p,
                }) => {
                    return Err(JournalError::Foreign {
                        path: path.to_path_buf(),
                        found_batch: b,
                        found_platform: p,
                        batch_id: batch_id.to_owned(),
                        platform: platform.to_string(),
                    });
                }
                // Killed before the start line was complete: nothing to keep.
                None | Some(Line::Row(_)) => return Self::create(path, &start),
            }
            rows.extend(it.filter_map(|l| match l {
                Line::Row(r) => Some(*r),
                Line::Start { .. } => None,
            }));
            // Cut a line torn by the crash, so ours start on a fresh line.
            let good = good_len(path)?;
            let file = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(io_err("open", path))?;
            file.set_len(good)
                .and_then(|()| file.sync_data())
                .map_err(io_err("truncate", path))?;
            let j = Journal {
                path: path.to_path_buf(),
                file,
            };
            return Ok((j, rows));
        }
        Self::create(path, &start)
    }

    fn create(path: &Path, start: &Line) -> Result<(Journal, Vec<ValidationRow>), JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err("create", path))?;
        }
        let file = File::create(path).map_err(io_err("create", path))?;
        let mut j = Journal {
            path: path.to_path_buf(),
            file,
        };
        j.append(start)?;
        Ok((j, Vec::new()))
    }

    /// Appends one row and syncs it to disk before returning.
    ///
    /// # Errors
    /// [`JournalError::Io`] naming the path.
    pub fn append_row(&mut self, row: &ValidationRow) -> Result<(), JournalError> {
        self.append(&Line::Row(Box::new(row.clone())))
    }

    fn append(&mut self, line: &Line) -> Result<(), JournalError> {
        let mut bytes = serde_json::to_vec(line).expect("journal lines always serialise");
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data())
            .map_err(io_err("append to", &self.path))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a journal; `Ok(None)` when there is none. A last line that does not parse or has no
/// newline (torn by a crash) is ignored.
///
/// # Errors
/// [`JournalError::Io`], and [`JournalError::Corrupt`] for a bad line before the last.
pub fn read(path: &Path) -> Result<Option<Vec<Line>>, JournalError> {
    Ok(read_with_len(path)?.map(|(lines, _)| lines))
}

/// The length of the journal's prefix of whole, parsed lines.
fn good_len(path: &Path) -> Result<u64, JournalError> {
    Ok(read_with_len(path)?.map_or(0, |(_, n)| n))
}

fn read_with_len(path: &Path) -> Result<Option<(Vec<Line>, u64)>, JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_err("read", path)(source)),
    };
    let mut lines = Vec::new();
    let mut good = 0usize;
    let mut pos = 0usize;
    let mut n = 0usize;
    while let Some(len) = bytes[pos..].iter().position(|b| *b == b'\n') {
        let raw = &bytes[pos..pos + len];
        let next = pos + len + 1;
        if !raw.is_empty() {
            n += 1;
            match serde_json::from_slice::<Line>(raw) {
                Ok(line) => lines.push(line),
                // The last whole line may still be garbage if the crash hit between the
                // bytes and the newline of a larger write; treat it as torn too.
                Err(_) if bytes[next..].is_empty() => break,
                Err(source) => {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        line: n,
                        source,
                    });
                }
            }
        }
        pos = next;
        good = next;
    }
    Ok(Some((lines, good as u64)))
}

/// Removes the journal (after the results file is written); a missing one is fine.
///
/// # Errors
/// [`JournalError::Io`] naming the path.
pub fn remove(path: &Path) -> Result<(), JournalError> {
    batch_base::fs::remove_if_exists(path).map_err(io_err("remove", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::results::{Environment, RowStatus};

    fn row(recipe: &str) -> ValidationRow {
        ValidationRow {
            recipe: recipe.into(),
            platform: JobPlatform::DarwinArm64.row(None),
            status: RowStatus::Pass,
            exit_code: Some(0),
            attempts: Some(1),
            blocked_by: Some(vec![]),
            timed_out: false,
            path: format!("{}/{recipe}.toml", &recipe[..1]),
            batch_id: "b1".into(),
            environment: Environment::Validation,
        }
    }

    #[test]
    fn resumes_rows_ignores_a_torn_line_and_refuses_foreign_journals() {
        let tmp = tempfile::tempdir().unwrap();
        let p = path_for(&tmp.path().join("out/v.json"));
        let (mut j, rows) = Journal::open_or_create(&p, "b1", JobPlatform::DarwinArm64).unwrap();
        assert!(rows.is_empty());
        j.append_row(&row("bat")).unwrap();
        drop(j);
        // A crash in the middle of the next line.
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"kind\":\"row\",\"rec").unwrap();
        drop(f);
        let (mut j, rows) = Journal::open_or_create(&p, "b1", JobPlatform::DarwinArm64).unwrap();
        assert_eq!(rows, [row("bat")]);
        j.append_row(&row("fd")).unwrap();
        drop(j);
        let (_, rows) = Journal::open_or_create(&p, "b1", JobPlatform::DarwinArm64).unwrap();
        assert_eq!(rows, [row("bat"), row("fd")]);

        let err = Journal::open_or_create(&p, "b2", JobPlatform::DarwinArm64).unwrap_err();
        assert!(matches!(err, JournalError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("\"b1\""), "{err}");
        let err = Journal::open_or_create(&p, "b1", JobPlatform::LinuxArm64).unwrap_err();
        assert!(err.to_string().contains("darwin-arm64"), "{err}");
        remove(&p).unwrap();
        assert!(!p.exists());
    }

    #[test]
    fn a_corrupt_middle_line_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("v.json.journal");
        std::fs::write(
            &p,
            "{\"kind\":\"start\",\"batch_id\":\"b1\",\"platform\":\"darwin-arm64\"}\nnot json\n{}\n",
        )
        .unwrap();
        let err = Journal::open_or_create(&p, "b1", JobPlatform::DarwinArm64).unwrap_err();
        assert!(
            matches!(err, JournalError::Corrupt { line: 2, .. }),
            "{err}"
        );
    }
}
