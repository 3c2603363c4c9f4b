//! Batch IDs that never repeat (issue #6, spec §7.3.4): `YYYY-MM-DD-<label>` for the first
//! batch of a day, then `-002`, `-003`, … for later batches of the same day and label, found
//! in the results and metrics history. `<label>` is the single ecosystem of a filtered run, or
//! `all`.

use std::path::Path;

use serde_json::Value;

/// The label of a batch: the ecosystem when exactly one is selected, else `all`.
pub(crate) fn label<'a>(ecosystems: impl IntoIterator<Item = &'a String>) -> String {
    let mut it = ecosystems.into_iter();
    match (it.next(), it.next()) {
        (Some(one), None) => one.clone(),
        _ => "all".to_owned(),
    }
}

/// The next ID for `date` (`YYYY-MM-DD`) and `label` given the IDs already used.
pub(crate) fn next<'a>(date: &str, label: &str, used: impl IntoIterator<Item = &'a str>) -> String {
    let base = format!("{date}-{label}");
    let mut highest = 0u32;
    for id in used {
        if id == base {
            highest = highest.max(1);
        } else if let Some(n) = id
            .strip_prefix(&base)
            .and_then(|rest| rest.strip_prefix('-'))
            .filter(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok())
        {
            highest = highest.max(n);
        }
    }
    match highest {
        0 => base,
        n => format!("{base}-{:03}", n + 1),
    }
}

/// Every `batch_id` found in `results` (a `batch-results.json`) and in the `*.json` /
/// `*.jsonl` files of `metrics_dir`. Files hold one or more JSON values (the metrics files are
/// pretty-printed despite their extension, spec §1.5); unreadable files and values are skipped.
pub fn history(results: &Path, metrics_dir: &Path) -> Vec<String> {
    let mut files = vec![results.to_path_buf()];
    if let Ok(dir) = std::fs::read_dir(metrics_dir) {
        let mut more: Vec<_> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "jsonl"))
            .collect();
        more.sort();
        files.extend(more);
    }
    let mut ids = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        for value in serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>() {
            let Ok(v) = value else { break };
            if let Some(id) = v.get("batch_id").and_then(Value::as_str) {
                ids.push(id.to_owned());
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_within_a_day() {
        assert_eq!(next("2026-11-24", "all", []), "2026-11-24-all");
        assert_eq!(
            next("2026-11-24", "all", ["2026-11-24-all"]),
            "2026-11-24-all-002"
        );
        assert_eq!(
            next(
                "2026-11-24",
                "all",
                ["2026-11-24-all", "2026-11-24-all-002"]
            ),
            "2026-11-24-all-003"
        );
        // Gaps and order do not matter: the highest used number wins.
        assert_eq!(
            next(
                "2026-11-24",
                "all",
                ["2026-11-24-all-007", "2026-11-24-all"]
            ),
            "2026-11-24-all-008"
        );
    }

    #[test]
    fn other_days_labels_and_shapes_do_not_count() {
        let used = [
            "2026-11-23-all",
            "2026-11-24-homebrew",
            "2026-11-24-all-2",
            "2026-11-24-allx",
            "2026-11-24",
            "2026-11-24-all-abc",
        ];
        assert_eq!(next("2026-11-24", "all", used), "2026-11-24-all");
        assert_eq!(
            next("2026-11-24", "homebrew", used),
            "2026-11-24-homebrew-002"
        );
    }

    #[test]
    fn labels() {
        let one = ["npm".to_owned()];
        let two = ["npm".to_owned(), "pypi".to_owned()];
        assert_eq!(label(&one), "npm");
        assert_eq!(label(&two), "all");
        assert_eq!(label(&[]), "all");
    }

    #[test]
    fn history_reads_results_and_pretty_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("batch-results.json");
        std::fs::write(&results, r#"{"batch_id": "2026-11-24-all", "total": 3}"#).unwrap();
        let metrics = dir.path().join("metrics");
        std::fs::create_dir(&metrics).unwrap();
        std::fs::write(
            metrics.join("batch-runs-2026-11-24T01-00-00Z.jsonl"),
            "{\n  \"batch_id\": \"2026-11-24-all-002\"\n}\n{\"batch_id\": \"2026-11-24-npm\"}\n",
        )
        .unwrap();
        std::fs::write(metrics.join("broken.jsonl"), "{not json").unwrap();
        std::fs::write(
            metrics.join("ignored.txt"),
            r#"{"batch_id": "2026-11-24-all-009"}"#,
        )
        .unwrap();
        let ids = history(&results, &metrics);
        assert_eq!(
            ids,
            ["2026-11-24-all", "2026-11-24-all-002", "2026-11-24-npm"]
        );
        assert_eq!(
            next("2026-11-24", "all", ids.iter().map(String::as_str)),
            "2026-11-24-all-003"
        );
        assert!(history(&dir.path().join("none.json"), &dir.path().join("none")).is_empty());
    }
}
