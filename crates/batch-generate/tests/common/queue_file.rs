//! The queue file text exactly as the tool writes it, shared by the CLI and fault-injection
//! test binaries (each includes this file as a module).

use std::fmt::Write as _;

use serde_json::Value;

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
