//! The failure records of a few queue entries, with what `explain` shows of each (category,
//! message, when; issue #23): both formats (spec §1.3.1 batch, §1.3.2 per-recipe), read with
//! the one line reader (`read_lines`).
//! Which entry a record belongs to follows queue maintenance's identity rule (spec §4.9 with
//! the §9.3.1 fix, [`Owner`]); counting and blockers stay with [`crate::records::failure_log`].

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::queue::QueueEntry;
use crate::records::failure_log::{Owner, RecordsError, Skipped, jsonl_files, read_lines};

/// One failure record as `explain` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureNote {
    /// Whose failure it is (not serialized: the explanation is already per entry).
    #[serde(skip)]
    pub owner: Owner,
    /// The category as recorded (may be empty).
    pub category: String,
    /// The message as recorded (may be empty).
    pub message: String,
    /// `timestamp` as written (per-recipe lines fall back to `updated_at`; may be empty).
    pub timestamp: String,
    /// Per-recipe records: the platform validated (empty for batch records).
    pub platform: String,
    /// The file it was read from (base name).
    pub file: String,
}

impl FailureNote {
    /// Whether it belongs to `entry` (spec §4.9 identity, as `maintain::summary`):
    /// a batch record by `source`, a per-recipe record by `name`, and by `source` too when it
    /// carries a `package_id`.
    pub fn is_of(&self, entry: &QueueEntry) -> bool {
        match &self.owner {
            Owner::Source(s) => *s == entry.source,
            Owner::Recipe { name, package_id } => {
                *name == entry.name && package_id.as_ref().is_none_or(|p| *p == entry.source)
            }
        }
    }
}

/// The notes of the wanted entries, in reading order (files by name, lines in order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureNotes {
    /// Notes that belong to one of the wanted entries.
    pub notes: Vec<FailureNote>,
    /// Lines skipped (blank, malformed, oversized).
    pub skipped: Skipped,
}

impl FailureNotes {
    /// Reads every `*.jsonl` file directly in `dir` (name order) and keeps the records of
    /// `wanted`. A missing directory has no records.
    ///
    /// # Errors
    /// [`RecordsError::Dir`] when `dir` exists but cannot be listed, [`RecordsError::File`]
    /// when a file cannot be read.
    pub fn read_dir(dir: &Path, wanted: &[&QueueEntry]) -> Result<Self, RecordsError> {
        let mut out = FailureNotes::default();
        if !dir.exists() {
            return Ok(out);
        }
        for path in jsonl_files(dir)? {
            let file = File::open(&path).map_err(|source| RecordsError::File {
                path: path.clone(),
                source,
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.read(BufReader::new(file), &name, wanted)
                .map_err(|source| RecordsError::File { path, source })?;
        }
        Ok(out)
    }

    /// Adds the records of `wanted` from one JSONL stream named `file`.
    ///
    /// # Errors
    /// Read errors of `reader`.
    pub fn read(
        &mut self,
        reader: impl BufRead,
        file: &str,
        wanted: &[&QueueEntry],
    ) -> std::io::Result<()> {
        let mut skipped = self.skipped;
        let notes = &mut self.notes;
        let read = read_lines(reader, &mut skipped, |line| {
            let Ok(rec) = serde_json::from_slice::<Line>(line) else {
                return false;
            };
            for n in notes_of(rec, file) {
                if wanted.iter().any(|e| n.is_of(e)) {
                    notes.push(n);
                }
            }
            true
        });
        self.skipped = skipped;
        read
    }
}

/// One line of either format; unknown keys ignored, `null` as absent.
#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    failures: Option<Vec<BatchFailure>>,
    #[serde(default)]
    recipe: Option<String>,
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    platform: Option<String>,
}

#[derive(Deserialize)]
struct BatchFailure {
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

/// Every failure of one line: the batch format's list, then a per-recipe record.
fn notes_of(rec: Line, file: &str) -> Vec<FailureNote> {
    let updated_at = rec.updated_at.clone().unwrap_or_default();
    let mut out: Vec<FailureNote> = rec
        .failures
        .unwrap_or_default()
        .into_iter()
        .map(|f| FailureNote {
            owner: Owner::Source(f.package_id.unwrap_or_default()),
            category: f.category.unwrap_or_default(),
            message: f.message.unwrap_or_default(),
            timestamp: f
                .timestamp
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| updated_at.clone()),
            platform: String::new(),
            file: file.to_owned(),
        })
        .collect();
    if let Some(recipe) = rec.recipe.filter(|r| !r.is_empty()) {
        let timestamp = match rec.timestamp {
            Some(t) if !t.is_empty() => t,
            _ => updated_at,
        };
        out.push(FailureNote {
            owner: Owner::Recipe {
                name: recipe,
                package_id: rec.package_id.filter(|p| !p.is_empty()),
            },
            category: rec.category.unwrap_or_default(),
            message: rec.message.unwrap_or_default(),
            timestamp,
            platform: rec.platform.unwrap_or_default(),
            file: file.to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_are_matched_by_identity() {
        let jq = QueueEntry::new("jq", "homebrew:jq", 1);
        let bat = QueueEntry::new("bat", "github:sharkdp/bat", 1);
        let mut n = FailureNotes::default();
        let text = concat!(
            r#"{"failures":[{"package_id":"homebrew:jq","category":"missing_dep","message":"needs oniguruma","timestamp":"2026-07-01T10:00:00Z"},{"package_id":"homebrew:other","category":"x"}]}"#,
            "\n",
            r#"{"recipe":"bat","platform":"darwin-arm64","category":"install_failed","message":"boom","timestamp":"2026-07-02T10:00:00Z"}"#,
            "\nnot json\n",
            r#"{"recipe":"jq","package_id":"npm:jq","category":"c","timestamp":"t"}"#,
        );
        n.read(text.as_bytes(), "f.jsonl", &[&jq, &bat]).unwrap();
        assert_eq!(n.skipped.malformed, 1);
        let got: Vec<(&str, &str, &str)> = n
            .notes
            .iter()
            .map(|x| {
                (
                    x.category.as_str(),
                    x.message.as_str(),
                    x.timestamp.as_str(),
                )
            })
            .collect();
        // The other package and jq's record under another source are not theirs.
        assert_eq!(
            got,
            [
                ("missing_dep", "needs oniguruma", "2026-07-01T10:00:00Z"),
                ("install_failed", "boom", "2026-07-02T10:00:00Z"),
            ]
        );
        assert!(n.notes[0].is_of(&jq) && !n.notes[0].is_of(&bat));
        assert_eq!(n.notes[1].platform, "darwin-arm64");
    }
}
