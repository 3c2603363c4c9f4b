//! The validation journal (`<out>.journal`, issue #13): a killed `validate` resumes without
//! re-running finished rows.
//!
//! The first line names the batch and the job platform; each later line is one finished
//! [`ValidationRow`], appended and `fsync`ed before the next row is taken ([`crate::journal`],
//! shared with the main run). A last line torn by a crash is ignored. The journal is removed once the
//! results file that contains its rows has been written. A journal of another batch or
//! platform is refused: mixing them would put foreign rows in the results file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::platform::JobPlatform;
use super::results::ValidationRow;
use crate::journal::JournalLine;

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

impl JournalLine for Line {
    const NAME: &'static str = "validation journal";
    const IF_CORRUPT: &'static str = "remove it to validate every recipe again";
}

/// Errors of the validation journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Reading, creating, appending or removing failed, or a line before the last is corrupt.
    #[error("cannot use the validation journal")]
    Log(#[from] crate::journal::JournalError),
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
    crate::journal::path_for(out)
}

/// The validation journal: [`crate::journal::Journal`] of [`Line`]s.
pub type Journal = crate::journal::Journal<Line>;

impl Journal {
    /// Opens the journal at `path` for this batch and platform: reads the rows of an earlier,
    /// killed run (returned) and cuts a torn last line, or creates the journal with its start
    /// line. Parent directories are created.
    ///
    /// # Errors
    /// [`JournalError::Foreign`] for another batch's or platform's journal, and
    /// [`JournalError::Log`] for an unreadable line before the last or an i/o error.
    pub fn open_or_create(
        path: &Path,
        batch_id: &str,
        platform: JobPlatform,
    ) -> Result<(Journal, Vec<ValidationRow>), JournalError> {
        let start = Line::Start {
            batch_id: batch_id.to_owned(),
            platform: platform.to_string(),
        };
        let Some((j, lines)) = Journal::resume(path)? else {
            return Self::create(path, &start);
        };
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
            None | Some(Line::Row(_)) => {
                drop(j);
                return Self::create(path, &start);
            }
        }
        let rows = it
            .filter_map(|l| match l {
                Line::Row(r) => Some(*r),
                Line::Start { .. } => None,
            })
            .collect();
        Ok((j, rows))
    }

    fn create(path: &Path, start: &Line) -> Result<(Journal, Vec<ValidationRow>), JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| crate::journal::JournalError::Io {
                name: Line::NAME,
                action: "create",
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok((Journal::start(path, start)?, Vec::new()))
    }

    /// Appends one row and syncs it to disk before returning.
    ///
    /// # Errors
    /// [`JournalError::Log`] naming the path.
    pub fn append_row(&mut self, row: &ValidationRow) -> Result<(), JournalError> {
        Ok(self.append(&Line::Row(Box::new(row.clone())))?)
    }
}

/// Reads a journal; `Ok(None)` when there is none. A torn last line is ignored
/// ([`crate::journal`]).
///
/// # Errors
/// [`JournalError::Log`] for an i/o error or a bad line before the last.
#[cfg(test)]
pub(crate) fn read(path: &Path) -> Result<Option<Vec<Line>>, JournalError> {
    Ok(crate::journal::read(path)?)
}

/// Removes the journal (after the results file is written); a missing one is fine.
///
/// # Errors
/// [`JournalError::Log`] naming the path.
pub(crate) fn remove(path: &Path) -> Result<(), JournalError> {
    Ok(crate::journal::remove::<Line>(path)?)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

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
            message: None,
            subcategory: None,
            verify_exit_code: None,
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
            matches!(
                err,
                JournalError::Log(crate::journal::JournalError::Corrupt { line: 2, .. })
            ),
            "{err}"
        );
    }
}
