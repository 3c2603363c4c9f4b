//! Fixture builders: queue entries, the queue file text exactly as the tool writes it, control
//! files, source trees, and the path of the fake generator (`testdata/fake-tsuku`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A time far in the future (spec §8.0).
pub const FUTURE: &str = "2999-01-01T00:00:00Z";
/// A time far in the past (spec §8.0): entries with this `next_retry_at` are due.
pub const PAST: &str = "2000-01-01T00:00:00Z";
/// `updated_at` written into every test queue.
pub const QUEUE_UPDATED_AT: &str = "2026-01-01T00:00:00Z";
/// A control file that enables runs and has no breaker state.
pub const DEFAULT_CONTROL: &str = "{\"enabled\":true,\"circuit_breaker\":{}}\n";

/// Key order of a queue entry on disk (spec §1.1).
const ENTRY_KEYS: [&str; 8] = [
    "name",
    "source",
    "priority",
    "status",
    "confidence",
    "disambiguated_at",
    "failure_count",
    "next_retry_at",
];

/// Absolute path of the repository's fake generator (canonical when it exists).
pub fn fake_tsuku() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fake-tsuku");
    p.canonicalize().unwrap_or(p)
}

/// Absolute path of `testdata/no-container-runtime/`: stub `podman` and `docker` scripts that
/// list no container and exit 0. [`Sandbox`](crate::Sandbox) puts it first on `PATH`, so a
/// cleanup after a Linux `validate` timeout never reaches a real container runtime.
pub fn runtime_stubs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/no-container-runtime");
    p.canonicalize().unwrap_or(p)
}

/// A pending, auto-confidence entry with no history (spec §8.0 defaults).
pub fn entry(name: &str, source: &str, priority: i64) -> Value {
    json!({
        "name": name,
        "source": source,
        "priority": priority,
        "status": "pending",
        "confidence": "auto",
        "disambiguated_at": null,
        "failure_count": 0,
        "next_retry_at": null,
    })
}

/// An entry with history that is due again: failed once, retry time in the past, curated.
/// Its fields differ from every default, so "unchanged" is a meaningful check.
pub fn entry_with_history(name: &str, source: &str) -> Value {
    json!({
        "name": name,
        "source": source,
        "priority": 2,
        "status": "failed",
        "confidence": "curated",
        "disambiguated_at": "2026-01-02T03:04:05Z",
        "failure_count": 1,
        "next_retry_at": PAST,
    })
}

/// Builder-style edits of an entry (or any JSON object).
pub trait With {
    /// Sets `key` to `value`.
    fn with(self, key: &str, value: impl Into<Value>) -> Value;
}

impl With for Value {
    fn with(mut self, key: &str, value: impl Into<Value>) -> Value {
        self.as_object_mut()
            .expect("an object")
            .insert(key.to_owned(), value.into());
        self
    }
}

/// The ecosystem of a source (`homebrew:foo` → `homebrew`, `""` without a colon).
pub fn ecosystem(source: &str) -> &str {
    source.split_once(':').map_or("", |(e, _)| e)
}

/// The queue file text exactly as the tool writes it (spec §1.1 save rules, §1.10): 2-space
/// indentation, entry keys in Go order, trailing newline.
pub fn queue_text(entries: &[Value], updated_at: &str) -> String {
    let mut s = String::new();
    s.push_str("{\n  \"schema_version\": 1,\n");
    let _ = writeln!(s, "  \"updated_at\": {},", Value::from(updated_at));
    if entries.is_empty() {
        s.push_str("  \"entries\": []\n}\n");
        return s;
    }
    s.push_str("  \"entries\": [\n");
    for (i, e) in entries.iter().enumerate() {
        s.push_str(&entry_text(e));
        s.push_str(if i + 1 < entries.len() { ",\n" } else { "\n" });
    }
    s.push_str("  ]\n}\n");
    s
}

/// One entry as it appears inside the queue file (indented by 4, no trailing comma).
pub fn entry_text(e: &Value) -> String {
    let obj = e.as_object().expect("entries are objects");
    let mut keys: Vec<&str> = ENTRY_KEYS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    keys.extend(
        obj.keys()
            .map(String::as_str)
            .filter(|k| !ENTRY_KEYS.contains(k)),
    );
    let mut s = String::from("    {\n");
    for (i, k) in keys.iter().enumerate() {
        let v = serde_json::to_string(&obj[*k]).expect("scalar JSON");
        let _ = write!(s, "      {}: {v}", Value::from(*k));
        s.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
    }
    s.push_str("    }");
    s
}

/// A control file's text: pretty JSON, keys in the order given, trailing newline.
pub fn control_text(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).expect("control JSON") + "\n"
}

/// Writes `files` (relative path, content) under `root`, creating directories.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
}
