//! Reading back what a run left in a [`Sandbox`]: the queue, results, control file, summary,
//! failure files, journal, lock and the fake generator's argv log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::sandbox::Sandbox;
use crate::snapshot::{Snapshot, snapshot_tree};

impl Sandbox {
    /// Snapshot of the whole root. Runs refused before they start (bad input, kill switch,
    /// missing generator, dry run) must not even create the run lock `<queue>.lock`.
    pub fn snapshot(&self) -> Snapshot {
        snapshot_tree(&self.root())
    }

    /// The run lock file beside the queue (`<queue>.lock`).
    pub fn lock_file(&self) -> PathBuf {
        suffixed(&self.queue, ".lock")
    }

    /// The journal beside the queue (`<queue>.journal`).
    pub fn journal(&self) -> PathBuf {
        suffixed(&self.queue, ".journal")
    }

    /// Outcome lines of the journal (a torn last line is skipped), parsed; `None` without a
    /// journal.
    pub fn journal_outcomes(&self) -> Option<Vec<Value>> {
        let text = std::fs::read_to_string(self.journal()).ok()?;
        Some(
            text.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v["kind"] == "outcome")
                .collect(),
        )
    }

    /// The queue file parsed.
    pub fn queue_json(&self) -> Value {
        read_json(&self.queue)
    }

    /// The queue file text.
    pub fn queue_string(&self) -> String {
        std::fs::read_to_string(&self.queue).expect("queue file")
    }

    /// The queue file's bytes.
    pub fn queue_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.queue).expect("queue file")
    }

    /// The queue's entries, parsed.
    #[track_caller]
    pub fn entries(&self) -> Vec<Value> {
        let text = self.queue_string();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the queue does not parse: {e}\n{text}"));
        v["entries"].as_array().expect("entries array").clone()
    }

    /// The saved entry called `name`.
    #[track_caller]
    pub fn entry(&self, name: &str) -> Value {
        self.entries()
            .into_iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no entry {name:?} in the saved queue"))
    }

    /// The results file parsed.
    pub fn results_json(&self) -> Value {
        read_json(&self.results)
    }

    /// The control file parsed.
    pub fn control_json(&self) -> Value {
        read_json(&self.control)
    }

    /// The summary text.
    pub fn summary_text(&self) -> String {
        std::fs::read_to_string(&self.summary).expect("summary file")
    }

    /// Every file name in the failures directory (hidden ones included), sorted.
    pub fn failure_dir_names(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(&self.failures) else {
            return Vec::new();
        };
        let mut v: Vec<String> = rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// `*.jsonl` failure files: (file name, the single JSON line parsed). Asserts each holds
    /// exactly one line ending in a newline (spec §1.3.1).
    #[track_caller]
    pub fn failure_files(&self) -> Vec<(String, Value)> {
        self.failure_dir_names()
            .into_iter()
            .filter(|n| n.ends_with(".jsonl"))
            .map(|n| {
                let text = std::fs::read_to_string(self.failures.join(&n)).unwrap();
                assert!(
                    text.ends_with('\n') && text.lines().count() == 1,
                    "{n}: not one line: {text:?}"
                );
                let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{n}: {e}"));
                (n, v)
            })
            .collect()
    }

    /// The failure file whose name starts with `<prefix>-`, asserting there is exactly one.
    #[track_caller]
    pub fn failure_file(&self, prefix: &str) -> Value {
        let files: Vec<_> = self
            .failure_files()
            .into_iter()
            .filter(|(n, _)| is_failure_file_of(n, prefix))
            .collect();
        assert_eq!(
            files.len(),
            1,
            "want one {prefix}-<ts>.jsonl, got {:?}",
            self.failure_dir_names()
        );
        files.into_iter().next().unwrap().1
    }

    /// Every failure record in every `*.jsonl` file of the failures directory.
    #[track_caller]
    pub fn failure_records(&self) -> Vec<Value> {
        failure_records(&self.failures)
    }

    /// The fake generator's argv log, one call per line.
    pub fn log_lines(&self) -> Vec<String> {
        read_lines(&self.log)
    }

    /// The names passed to `create`, in log order.
    pub fn created(&self) -> Vec<String> {
        created_names(&self.log_lines())
    }

    /// The names passed to `create`, as a set.
    pub fn created_set(&self) -> BTreeSet<String> {
        self.created().into_iter().collect()
    }

    /// The number of `install` calls.
    pub fn installs(&self) -> usize {
        self.log_lines()
            .iter()
            .filter(|l| l.starts_with("install "))
            .count()
    }

    /// Replaces the root path with `[TMP]` and each of `dates` with `[DATE]`.
    pub fn scrub(&self, text: &str, dates: &[String]) -> String {
        let mut s = text.replace(&self.root().to_string_lossy().into_owned(), "[TMP]");
        for d in dates {
            s = s.replace(d.as_str(), "[DATE]");
        }
        s
    }
}

/// The names passed to `create` in argv-log lines (`create NAME --from SOURCE …`).
pub fn created_names(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("create "))
        .map(|rest| rest.split(" --from ").next().unwrap_or(rest).to_owned())
        .collect()
}

/// Whether `name` is `<prefix>-YYYY-MM-DDTHH-MM-SSZ[-n].jsonl`.
pub fn is_failure_file_of(name: &str, prefix: &str) -> bool {
    let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let Some(stamp) = rest.strip_suffix(".jsonl") else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() >= 20
        && b[..20].iter().enumerate().all(|(i, c)| match i {
            4 | 7 | 13 | 16 => *c == b'-',
            10 => *c == b'T',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 20 || (b[20] == b'-' && b[21..].iter().all(u8::is_ascii_digit)))
}

/// Every failure record in the `*.jsonl` files of `dir`: each line is a document with a
/// `failures` array (a line that is itself a record counts as one record).
#[track_caller]
pub fn failure_records(dir: &Path) -> Vec<Value> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let text = std::fs::read_to_string(&p).unwrap();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: line does not parse: {e}", p.display()));
            match v.get("failures").and_then(Value::as_array) {
                Some(a) => out.extend(a.iter().cloned()),
                None => out.push(v),
            }
        }
    }
    out
}

/// Reads and parses a JSON file.
#[track_caller]
pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}\n{text}", p.display()))
}

/// Lines of a file (none when it is missing).
pub fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .map(|s| s.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `path` with `suffix` appended to its file name.
pub fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}
