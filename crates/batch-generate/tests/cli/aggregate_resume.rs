//! Issue #22 as an operator meets it: `aggregate` stopped by a write error (a full disk on CI;
//! here a file standing where the PR directory goes) and run again, as its hint says, ends
//! with the same recipes, queue, records, metrics and PR files as one uninterrupted run of a
//! copy of the batch (time stamps aside). The library test
//! `aggregate::journal::tests::stopped_at_each_write_and_run_again_ends_as_one_uninterrupted_run`
//! stops it at each of its writes in turn.

use batch_generate::exit;

use crate::aggregate::{Batch, LOCK, PLAIN, plain};
use crate::util::snapshot_except;

/// The batch: `part` fails on macOS (a new constraint), `had` already has that constraint,
/// `bad` fails everywhere (deleted, queue `failed`), `gone` is gated (deleted, queue
/// `excluded`), `ok` passes.
fn batch() -> Batch {
    let had = PLAIN.replace(
        "name = \"NAME\"\n",
        "name = \"NAME\"\nsupported_os = [\"linux\"]\n",
    );
    let recipes = vec![
        ("part", plain()),
        ("had", had),
        ("ok", plain()),
        ("bad", plain()),
        ("gone", "[[steps]]\naction = 'run_command'\n".to_owned()),
    ];
    let mut fails = vec![
        ("part", "darwin-arm64"),
        ("part", "darwin-x86_64"),
        ("had", "darwin-arm64"),
        ("had", "darwin-x86_64"),
    ];
    fails.extend(batch::validate::platform::DEFAULT_ROW_NAMES.map(|p| ("bad", p)));
    Batch::new(&recipes, &fails)
}

/// Every output file as text, with the clock's time stamps masked (queue `updated_at`,
/// `next_retry_at`; metrics `timestamp`, `duration_seconds`).
fn outputs(b: &Batch) -> Vec<(String, String)> {
    snapshot_except(&b.sb.root, &["cwd", LOCK])
        .into_iter()
        .map(|(path, bytes)| {
            let mut text = String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned();
            for key in [
                "updated_at",
                "next_retry_at",
                "timestamp",
                "duration_seconds",
            ] {
                text = mask(&text, key);
            }
            (path, text)
        })
        .collect()
}

/// `text` with the value (a string or a number) of every `"key":` replaced by `*`.
fn mask(text: &str, key: &str) -> String {
    let needle = format!("\"{key}\":");
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let (head, tail) = rest.split_at(at + needle.len());
        out.push_str(head);
        let value = tail.trim_start();
        out.push_str(&tail[..tail.len() - value.len()]);
        let len = match value.strip_prefix('"') {
            Some(v) => v.find('"').map_or(value.len(), |end| end + 2),
            None => value.find([',', '}', ']', '\n']).unwrap_or(value.len()),
        };
        out.push('*');
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn a_run_stopped_by_a_write_error_and_run_again_ends_as_one_uninterrupted_run() {
    let reference = batch();
    reference.run(&[]).ok();
    let body = reference.pr_body();
    assert!(
        body.contains("- **part**: `supported_os = [\"linux\"]`\n"),
        "{body}"
    );
    assert!(
        body.contains("- **had**: `supported_os = [\"linux\"]` (existing constraint"),
        "{body}"
    );

    let b = batch();
    let pr = b.sb.root.join("pr");
    std::fs::write(&pr, "a file where the PR directory goes").unwrap();
    let out = b.run(&[]);
    out.code(exit::FAILURE);
    assert!(
        out.stderr.contains("pr-title.txt") && out.stderr.contains("run aggregate again"),
        "{}",
        out.ctx()
    );
    // Stopped after the constraint, records, metrics and queue, before the deletions.
    let journal = b.sb.root.join("queue.json.aggregate-journal");
    assert!(journal.is_file(), "{}", out.ctx());
    assert!(
        std::fs::read_to_string(b.sb.output.join("p/part.toml"))
            .unwrap()
            .contains("supported_os")
    );
    assert!(b.sb.output.join("b/bad.toml").exists());

    std::fs::remove_file(&pr).unwrap();
    let out = b.run(&["--json"]);
    out.ok();
    assert!(!journal.exists(), "the journal is removed last");
    assert_eq!(
        mask(
            r#"{"a": "x", "timestamp":"2026", "n": 12, "b":3}"#,
            "timestamp"
        ),
        r#"{"a": "x", "timestamp":*, "n": 12, "b":3}"#
    );
    let (got, want) = (outputs(&b), outputs(&reference));
    let paths = |o: &[(String, String)]| o.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&got), paths(&want));
    for ((path, got), (_, want)) in got.iter().zip(&want) {
        assert_eq!(got, want, "{path}");
    }
    // The report too: the queue changes and the new constraint, as the first run decided.
    let doc = out.json();
    assert_eq!(
        doc["queue_changes"].as_array().map(Vec::len),
        Some(2),
        "{doc}"
    );
    let part = doc["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "part")
        .unwrap();
    assert_eq!(part["existing"], false, "{doc}");
}
