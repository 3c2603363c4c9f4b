//! `--joblog FILE` and the failure log line (issue #12): one tab-separated line per generator
//! process in GNU parallel's layout plus our columns; a failed entry's log line names its exit
//! code and message; the final line and `--json` give the wall time.

use crate::util::{entry, sandbox};

#[test]
fn joblog_has_a_line_per_process_and_failures_name_their_exit() {
    let h = sandbox()
        .queue(&[entry("good", "npm:good", 1), entry("bad", "npm:bad", 1)])
        .rules(&[("bad", "gen:7"), ("*", "ok")]);
    let log = h.root().join("jobs.tsv");
    let out = h.run(&["--joblog", log.to_str().unwrap(), "--json"]);
    out.ok();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        lines[0],
        [
            "Seq",
            "Host",
            "Starttime",
            "JobRuntime",
            "Send",
            "Receive",
            "Exitval",
            "Signal",
            "Command",
            "Entry",
            "Ecosystem",
            "Step",
            "Attempt",
            "Outcome"
        ]
    );
    // good: create + install; bad: create only (exit 7, not retried).
    let rows = &lines[1..];
    assert_eq!(rows.len(), 3, "{text}");
    let mut seqs: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, ["1", "2", "3"]);
    let bad: Vec<&Vec<&str>> = rows.iter().filter(|r| r[9] == "bad").collect();
    assert_eq!(bad.len(), 1, "{text}");
    let bad = bad[0];
    assert_eq!((bad[6], bad[7]), ("7", "0"), "Exitval and Signal: {text}");
    // Issue #22: the outcome adds tsuku's error line, not the `--yes` warning before it.
    assert_eq!(
        &bad[10..],
        [
            "npm",
            "create",
            "1",
            "exit 7: Error: 'bad' resolved to github (bad/bad), which requires LLM for recipe generation."
        ]
    );
    assert!(bad[8].contains(" create bad --from npm:bad "), "{}", bad[8]);
    assert!(
        bad[2].parse::<f64>().unwrap() > 1.7e9,
        "epoch seconds: {}",
        bad[2]
    );
    assert!(bad[3].parse::<f64>().unwrap() >= 0.0);
    let good_steps: Vec<&str> = rows
        .iter()
        .filter(|r| r[9] == "good")
        .map(|r| r[11])
        .collect();
    assert_eq!(good_steps, ["create", "install"]);

    assert!(
        out.stderr
            .contains("npm bad: failed (verify_failed, exit 7): "),
        "{}",
        out.ctx()
    );
    let final_line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("Batch complete: "))
        .unwrap();
    assert!(final_line.contains("(2 total) in "), "{final_line}");
    assert!(
        out.json()["wall_seconds"].as_f64().is_some(),
        "{}",
        out.stdout
    );

    // A second run appends, without a second header.
    h.run(&["--joblog", log.to_str().unwrap(), "--name", "bad"])
        .ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("Seq\tHost").count(), 1);
    assert_eq!(text.lines().count(), 5, "{text}");
}

/// Issue #22: tsuku's first stderr line is always its `--yes` warning (the fake prints it as
/// tsuku does); the job log's outcome, the summary file and `$GITHUB_STEP_SUMMARY` show the
/// error line after it. The failure record keeps the whole text, warning included.
#[test]
fn joblog_and_summary_show_the_error_not_the_yes_warning() {
    let h = sandbox()
        .queue(&[entry("good", "npm:good", 1), entry("bad", "npm:bad", 1)])
        .rules(&[("bad", "fail6"), ("*", "ok")]);
    let log = h.root().join("jobs.tsv");
    let step_summary = h.root().join("gh-summary.md");
    let mut cmd = h.cmd();
    cmd.args(["--joblog", log.to_str().unwrap()])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", h.root().join("gh-output"))
        .env("GITHUB_STEP_SUMMARY", &step_summary);
    let out = crate::util::run_cmd(&mut cmd);
    out.ok();

    let text = std::fs::read_to_string(&log).unwrap();
    let bad: Vec<&str> = text
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|r| r[9] == "bad")
        .map(|r| r[13])
        .into_iter()
        .collect();
    assert_eq!(bad, ["exit 6: deterministic failed"], "{text}");
    assert!(!text.contains("Warning"), "{text}");

    let md = std::fs::read_to_string(&step_summary).unwrap();
    assert!(
        md.contains("\n- **npm:bad**: install_failed: `deterministic failed`\n"),
        "{md}"
    );
    assert!(!md.contains("Warning"), "{md}");
    assert_eq!(md, h.summary_text(), "the step summary is the summary file");

    let records = h.failure_records();
    let message = records
        .iter()
        .find(|r| r["package_id"] == "npm:bad")
        .and_then(|r| r["message"].as_str())
        .unwrap_or_else(|| panic!("{records:?}"))
        .to_owned();
    assert!(
        message.starts_with("Warning: Skipping recipe review (--yes).")
            && message.ends_with("\ndeterministic failed"),
        "{message}"
    );
}
