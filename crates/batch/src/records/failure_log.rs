//! Reading the failures directory for queue maintenance (spec §4.9): both record formats
//! (§1.3.1 batch, §1.3.2 per-recipe), streamed line by line, with every skipped line counted.
//! What a record means for an entry is left to `mark`, `requeue` and `reorder`.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Longest line read, in bytes (spec §1.3: Go's scanner limit, 1 MiB). Longer lines are
/// skipped and counted; unlike Go, the rest of the file is still read.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// Which queue entry a failure belongs to (spec §4.9, with the §9.3.1 identity fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A batch-format record (§1.3.1): the entry whose `source` is this `package_id`.
    Source(String),
    /// A per-recipe record (§1.3.2): the entry whose `name` is `recipe`, and whose `source` is
    /// `package_id` when the record has one.
    Recipe {
        /// The recipe basename.
        name: String,
        /// The record's `package_id`, when present.
        package_id: Option<String>,
    },
}

/// One failure, from either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The entry it belongs to.
    pub owner: Owner,
    /// The package ID tsuku's Go tool files it under in its blocker map (spec §4.9 requeue):
    /// `package_id`, or `<ecosystem|homebrew>:<recipe>` for a per-recipe record.
    pub go_package_id: String,
    /// Failure category (may be empty).
    pub category: String,
    /// Dependencies that blocked it (may be empty).
    pub blocked_by: Vec<String>,
    /// Another failed platform of a recipe this run already recorded: a per-recipe record
    /// with a `package_id` (written by `aggregate`, one line per failed platform) whose
    /// recipe, `package_id` and `timestamp` an earlier line had. One night's validation is one
    /// failure, not one per platform (issue #13; Go's lines, which have no `package_id`,
    /// still count one each).
    pub repeat: bool,
}

impl Failure {
    /// Whether mark-failures counts it: every batch-format failure, and per-recipe records
    /// with a non-empty `category` (spec §4.9), except a [`Failure::repeat`].
    pub fn counts(&self) -> bool {
        !self.repeat && (matches!(self.owner, Owner::Source(_)) || !self.category.is_empty())
    }

    /// A `missing_dep` record (spec §4.9).
    pub fn is_missing_dep(&self) -> bool {
        self.category == "missing_dep"
    }
}

/// Lines that held no record, by kind. Reported, never silently dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// Empty (or whitespace-only) lines, including 0-byte files' nothing.
    pub blank: u64,
    /// Lines that are not a JSON object of either format.
    pub malformed: u64,
    /// Lines longer than `MAX_LINE_BYTES`.
    pub oversized: u64,
}

impl Skipped {
    /// All skipped lines.
    pub fn total(&self) -> u64 {
        self.blank + self.malformed + self.oversized
    }
}

/// Every failure in a failures directory, in Go's reading order: files sorted by name, lines
/// in order, a batch record's failures in order (this order feeds the reorder scores).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureLog {
    /// The failures.
    pub failures: Vec<Failure>,
    /// `*.jsonl` files read.
    pub files: usize,
    /// Lines that held records.
    pub records: u64,
    /// Lines skipped.
    pub skipped: Skipped,
    /// `(recipe, package_id, timestamp)` of the `aggregate` records read so far.
    runs: std::collections::HashSet<(String, String, String)>,
}

/// Errors reading the failures directory.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The directory could not be listed.
    #[error("failed to list the failures directory `{path}`")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A `*.jsonl` file could not be read.
    #[error("failed to read failure file `{path}`")]
    File {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// One line of either format; unknown keys ignored, `null` as absent (as Go decodes it).
#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    failures: Option<Vec<BatchFailure>>,
    #[serde(default)]
    recipe: Option<String>,
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    blocked_by: Option<Vec<String>>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Deserialize)]
struct BatchFailure {
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    blocked_by: Option<Vec<String>>,
}

impl FailureLog {
    /// Reads every `*.jsonl` file directly in `dir` (no recursion), sorted by name.
    ///
    /// # Errors
    /// [`RecordsError::Dir`] when `dir` cannot be listed, [`RecordsError::File`] when a file
    /// cannot be read (Go skips such files silently; spec §9.3).
    pub fn read_dir(dir: &Path) -> Result<Self, RecordsError> {
        let mut log = FailureLog::default();
        for path in jsonl_files(dir)? {
            let file = File::open(&path).map_err(|source| RecordsError::File {
                path: path.clone(),
                source,
            })?;
            log.read(BufReader::new(file))
                .map_err(|source| RecordsError::File { path, source })?;
            log.files += 1;
        }
        Ok(log)
    }

    /// Adds the records of one JSONL stream, line by line; never holds more than
    /// `MAX_LINE_BYTES` of a line.
    ///
    /// # Errors
    /// Read errors of `reader`.
    pub fn read(&mut self, reader: impl BufRead) -> io::Result<()> {
        let mut skipped = self.skipped;
        let mut records = 0;
        let read = read_lines(reader, &mut skipped, |line| {
            let Ok(rec) = serde_json::from_slice::<Line>(line) else {
                return false;
            };
            records += 1;
            self.add_record(rec);
            true
        });
        // Counted up to a read error too, as before the line reader was shared.
        self.skipped = skipped;
        self.records += records;
        read
    }

    fn add_record(&mut self, rec: Line) {
        for f in rec.failures.unwrap_or_default() {
            let package_id = f.package_id.unwrap_or_default();
            self.failures.push(Failure {
                owner: Owner::Source(package_id.clone()),
                go_package_id: package_id,
                category: f.category.unwrap_or_default(),
                blocked_by: f.blocked_by.unwrap_or_default(),
                repeat: false,
            });
        }
        if let Some(recipe) = rec.recipe.filter(|r| !r.is_empty()) {
            let eco = rec.ecosystem.filter(|e| !e.is_empty());
            let eco = eco.as_deref().unwrap_or("homebrew");
            let package_id = rec.package_id.filter(|p| !p.is_empty());
            let repeat = match (&package_id, rec.timestamp) {
                (Some(p), Some(ts)) => !self.runs.insert((recipe.clone(), p.clone(), ts)),
                _ => false,
            };
            self.failures.push(Failure {
                go_package_id: format!("{eco}:{recipe}"),
                owner: Owner::Recipe {
                    name: recipe,
                    package_id,
                },
                category: rec.category.unwrap_or_default(),
                blocked_by: rec.blocked_by.unwrap_or_default(),
                repeat,
            });
        }
    }
}

/// The `*.jsonl` files directly in `dir` (no recursion, no bare `.jsonl`), sorted by name in
/// byte order as Go's `filepath.Glob` returns them (spec §4.9). Shared by [`FailureLog`] and the
/// dashboard's reading of the same directory (issue #23).
///
/// # Errors
/// [`RecordsError::Dir`] when `dir` cannot be listed.
pub(crate) fn jsonl_files(dir: &Path) -> Result<Vec<PathBuf>, RecordsError> {
    let dir_err = |source| RecordsError::Dir {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(dir_err)? {
        let path = entry.map_err(dir_err)?.path();
        let is_jsonl = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".jsonl") && n.len() > ".jsonl".len());
        if is_jsonl && path.is_file() {
            paths.push(path);
        }
    }
    // Go's filepath.Glob sorts by name, byte order.
    paths.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(paths)
}

/// Streams the JSONL lines of `reader` (a trailing `\r` dropped) to `parse`, never holding more
/// than [`MAX_LINE_BYTES`] of a line. Blank and oversized lines are counted in `skipped` and not
/// passed on; `parse` returns whether its line held a record, and a `false` counts as
/// malformed. The one line reader of both failure-record formats (spec §1.3), for
/// [`FailureLog`] and the dashboard (issue #23).
///
/// # Errors
/// Read errors of `reader`.
pub(crate) fn read_lines(
    mut reader: impl BufRead,
    skipped: &mut Skipped,
    mut parse: impl FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    let mut line = Vec::new();
    while let Some(oversized) = next_line(&mut reader, &mut line)? {
        if oversized {
            skipped.oversized += 1;
            continue;
        }
        let text = line.strip_suffix(b"\r").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            skipped.blank += 1;
        } else if !parse(text) {
            skipped.malformed += 1;
        }
    }
    Ok(())
}

/// Reads the next `\n`-terminated line into `buf` (without the `\n`), keeping at most
/// [`MAX_LINE_BYTES`]. `None` at end of input; `Some(true)` for a line that was too long.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let mut oversized = false;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(oversized));
        }
        any = true;
        let (part, used, done) = match memchr(chunk) {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        if !oversized {
            if buf.len() + part.len() > MAX_LINE_BYTES {
                oversized = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        reader.consume(used);
        if done {
            return Ok(Some(oversized));
        }
    }
}

fn memchr(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> FailureLog {
        let mut log = FailureLog::default();
        log.read(text.as_bytes()).unwrap();
        log
    }

    #[test]
    fn both_formats_are_read() {
        let log = read(concat!(
            r#"{"schema_version":1,"ecosystem":"homebrew","failures":[{"package_id":"homebrew:go-task","category":"missing_dep","blocked_by":["go"],"message":"m","timestamp":"t"}]}"#,
            "\n",
            r#"{"schema_version":1,"recipe":"bat","platform":"linux-alpine-musl-arm64","exit_code":8,"category":"missing_dep","blocked_by":["libgit2"],"timestamp":"t"}"#,
            "\r\n",
        ));
        assert_eq!(log.records, 2);
        assert_eq!(log.skipped, Skipped::default());
        assert_eq!(
            log.failures[0].owner,
            Owner::Source("homebrew:go-task".into())
        );
        assert_eq!(log.failures[0].blocked_by, ["go"]);
        assert_eq!(
            log.failures[1].owner,
            Owner::Recipe {
                name: "bat".into(),
                package_id: None
            }
        );
        assert_eq!(log.failures[1].go_package_id, "homebrew:bat");
    }

    #[test]
    fn blank_malformed_and_oversized_lines_are_counted() {
        let long = format!("{{\"recipe\":\"{}\"}}", "x".repeat(MAX_LINE_BYTES));
        let text = format!("\n  \nnot json\n[1]\n{long}\n{{\"recipe\":\"ok\",\"category\":\"c\"}}");
        let log = read(&text);
        assert_eq!(
            log.skipped,
            Skipped {
                blank: 2,
                malformed: 2,
                oversized: 1
            }
        );
        // The line after the long one is still read (Go stops the file there).
        assert_eq!(log.records, 1);
        assert_eq!(log.failures.len(), 1);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read() {
        let pad = MAX_LINE_BYTES - r#"{"recipe":"a","x":""}"#.len();
        let line = format!(r#"{{"recipe":"a","x":"{}"}}"#, "y".repeat(pad));
        assert_eq!(line.len(), MAX_LINE_BYTES);
        let log = read(&line);
        assert_eq!(log.records, 1);
        assert_eq!(log.skipped.oversized, 0);
    }

    /// `aggregate` writes one line per failed platform; one run of one recipe counts once,
    /// while its blockers still count from every line. Go's lines (no `package_id`) count one
    /// each, as tsuku's mark-failures counts them.
    #[test]
    fn one_aggregate_run_counts_once_per_recipe() {
        let line = |platform: &str, ts: &str, blocked: &str| {
            format!(
                r#"{{"schema_version":1,"recipe":"delta","platform":"{platform}","exit_code":8,"category":"missing_dep","blocked_by":["{blocked}"],"timestamp":"{ts}","ecosystem":"npm","package_id":"npm:delta"}}"#
            )
        };
        let text = [
            line("darwin-arm64", "2026-12-01T08:00:00Z", "a"),
            line("darwin-x86_64", "2026-12-01T08:00:00Z", "b"),
            line("linux-debian-glibc-arm64", "2026-12-01T08:00:00Z", "a"),
            line("darwin-arm64", "2026-12-02T08:00:00Z", "a"),
            r#"{"schema_version":1,"recipe":"old","platform":"darwin-arm64","exit_code":1,"category":"generation_failed","timestamp":"2026-02-01T00:00:00Z"}"#.to_owned(),
            r#"{"schema_version":1,"recipe":"old","platform":"darwin-x86_64","exit_code":1,"category":"generation_failed","timestamp":"2026-02-01T00:00:00Z"}"#.to_owned(),
        ]
        .join("\n");
        let log = read(&text);
        let counted: Vec<(&Owner, bool)> = log
            .failures
            .iter()
            .map(|f| (&f.owner, f.counts()))
            .collect();
        assert_eq!(
            counted.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            [true, false, false, true, true, true],
            "two runs of delta, two Go lines of old"
        );
        let s = crate::maintain::summary::Summaries::new(&log);
        let e = crate::QueueEntry::new("delta", "npm:delta", 1);
        let d = s.of(&e);
        assert_eq!(d.total, 2);
        assert_eq!(d.missing_dep_blockers, ["a", "b"]);
        assert_eq!(d.blockers, ["a", "b"]);
    }

    #[test]
    fn per_recipe_record_without_category_is_not_counted() {
        let log = read(r#"{"recipe":"a","blocked_by":["b"]}"#);
        assert!(!log.failures[0].counts());
    }
}
