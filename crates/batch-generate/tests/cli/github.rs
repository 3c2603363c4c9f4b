//! GitHub Actions from the plain run (issue #12): with `GITHUB_ACTIONS=true` the run appends
//! its summary to `$GITHUB_STEP_SUMMARY`, writes `key=value` outputs, folds failures into one
//! warning per ecosystem and groups the per-entry log lines; outside a job it does none of it.

use crate::util::{Sandbox, entry, run_cmd, sandbox};

fn harness() -> Sandbox {
    sandbox()
        .queue(&[
            entry("good", "npm:good", 1),
            entry("bad", "npm:bad", 1),
            entry("worse", "npm:worse", 1),
            entry("tool", "crates.io:tool", 1),
        ])
        .rules(&[("bad", "fail6"), ("worse", "fail6"), ("*", "ok")])
}

#[test]
fn a_run_in_github_actions_writes_outputs_summary_groups_and_folded_warnings() {
    let h = harness();
    let output = h.root().join("gh-output");
    let summary = h.root().join("gh-summary.md");
    let mut cmd = h.cmd();
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run_cmd(&mut cmd);
    out.ok();

    let outputs = std::fs::read_to_string(&output).unwrap();
    assert_eq!(
        outputs,
        "total=4\nsucceeded=2\nfailed=2\nblocked=0\nnot_run=0\nbreakers_opened=\n",
        "{}",
        out.ctx()
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("Batch run for **mixed** on "), "{md}");
    assert!(md.contains("| Failed | 2 |"), "{md}");
    assert_eq!(
        md,
        std::fs::read_to_string(&h.summary).unwrap(),
        "the step summary is the run's summary file"
    );

    let lines: Vec<&str> = out.stderr.lines().collect();
    let open = lines
        .iter()
        .position(|l| l.starts_with("::group::"))
        .unwrap();
    let close = lines.iter().position(|l| *l == "::endgroup::").unwrap();
    let inside = &lines[open + 1..close];
    assert_eq!(
        inside
            .iter()
            .filter(|l| l.contains("] npm ") || l.contains("] crates.io "))
            .count(),
        4,
        "the per-entry lines are in the group: {}",
        out.ctx()
    );
    let warnings: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("::warning "))
        .collect();
    assert_eq!(
        warnings,
        [
            &"::warning title=npm%3A 2 failed or blocked::npm:bad (install_failed); npm:worse (install_failed)"
        ],
        "{}",
        out.ctx()
    );
}

#[test]
fn outside_github_actions_nothing_is_written_there() {
    let h = harness();
    let output = h.root().join("gh-output");
    let summary = h.root().join("gh-summary.md");
    let mut cmd = h.cmd();
    cmd.env("GITHUB_ACTIONS", "false")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run_cmd(&mut cmd);
    out.ok();
    assert!(!output.exists() && !summary.exists(), "{}", out.ctx());
    assert!(!out.stderr.contains("::"), "{}", out.ctx());
}
