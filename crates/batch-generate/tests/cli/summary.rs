//! The run's summary through the binary: stdout and stderr lines, `data/batch-summary.md`
//! (spec §1.6, §8.2 #92, #100) and `--json`.

use serde_json::json;

use crate::util::{Sandbox, changed, entry, sandbox, strings, utc_date};

/// Spec §8.2 #100: stdout is empty without `--json`; stderr ends with the count line.
#[test]
fn s100_stdout_empty_and_count_line() {
    let h = sandbox().queue(&[entry("a", "homebrew:a", 1)]);
    let out = h.run(&[]);
    out.ok();
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("Batch complete: 1 succeeded, 0 failed, 0 blocked (1 total)"),
        "{}",
        out.ctx()
    );
}

fn summary_after(h: &Sandbox, args: &[&str]) -> String {
    let d0 = utc_date();
    h.run(args).ok();
    let d1 = utc_date();
    h.scrub(&h.summary_text(), &[d0, d1])
}

/// Spec §8.2 #92 (single ecosystem): label, metric table, recipes, failures.
#[test]
fn s92_summary_single_ecosystem() {
    let h = sandbox()
        .rules(&[("guile", "blocked"), ("x", "fail6"), ("*", "ok")])
        .queue(&[
            entry("ripgrep", "homebrew:ripgrep", 1),
            entry("guile", "homebrew:guile", 1),
            entry("x", "homebrew:x", 1),
        ]);
    let s = summary_after(&h, &[]);
    assert!(
        s.starts_with("Batch run for **homebrew** on [DATE].\n\n"),
        "{s}"
    );
    assert!(
        s.contains("- **homebrew:guile**: blocked by [guile-dep]\n"),
        "{s}"
    );
    assert!(
        s.contains("- **homebrew:x**: install_failed: `deterministic failed`\n"),
        "{s}"
    );
    assert!(!s.contains("### Ecosystem breakdown"));
    insta::assert_snapshot!("summary_single_ecosystem", s);
}

/// Spec §8.2 #92 (mixed): `mixed` label and a breakdown table sorted by ecosystem.
#[test]
fn s92_summary_mixed() {
    let h = sandbox().rules(&[("b", "fail6"), ("*", "ok")]).queue(&[
        entry("a", "npm:a", 1),
        entry("b", "github:o/b", 1),
        entry("c", "npm:c", 1),
    ]);
    let s = summary_after(&h, &[]);
    assert!(s.starts_with("Batch run for **mixed** on [DATE].\n"), "{s}");
    insta::assert_snapshot!("summary_mixed", s);
}

/// Spec §8.2 #92 (empty run): `mixed` label and the bare metric table.
#[test]
fn s92_summary_empty_run() {
    let h = sandbox().queue(&[]);
    let s = summary_after(&h, &[]);
    insta::assert_snapshot!("summary_empty", s);
}

/// `--json`: one document with the counts and the files written, which are exactly the files
/// the run changed (the generator's own files aside).
#[test]
fn json_run_output() {
    let h = sandbox()
        .rules(&[("b", "fail6"), ("c", "blocked"), ("*", "ok")])
        .queue(&[
            entry("a", "npm:a", 1),
            entry("b", "npm:b", 1),
            entry("c", "homebrew:c", 1),
        ])
        .control(json!({"enabled": true, "circuit_breaker": {}}));
    let before = h.snapshot();
    let out = h.run(&["--json"]);
    out.ok();
    let v = out.json();
    assert_eq!(v["total"], 3);
    assert_eq!(v["succeeded"], 1);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["blocked"], 1);
    assert_eq!(v["dry_run"], false);
    let written: std::collections::BTreeSet<String> =
        strings(&v["files_written"]).into_iter().collect();
    let root = h.root();
    let changed_by_run: std::collections::BTreeSet<String> = changed(&before, &h.snapshot())
        .into_iter()
        .filter(|p| {
            // Recipes and the argv log are the fake generator's; the run lock is not output.
            !p.starts_with("recipes")
                && p != "tsuku.log"
                && p != "failures"
                && p != "queue.json.lock"
        })
        .map(|p| root.join(p).display().to_string())
        .collect();
    assert_eq!(written, changed_by_run, "{}", out.ctx());
    for p in [&h.queue, &h.results, &h.summary] {
        assert!(
            written.contains(&p.display().to_string()),
            "{} not reported",
            p.display()
        );
    }
}
