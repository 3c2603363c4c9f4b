//! Issue #12, operator safety: a closed stdout or stderr never stops a run. Rust ignores
//! SIGPIPE, so writes to a closed pipe fail with EPIPE; the binary drops those errors (logs fall
//! silent), finishes the run, saves everything and exits with its normal code, never 101.

use std::process::{Command, Stdio};

use batch_generate::exit;
use serde_json::Value;

use crate::util::{Out, Sandbox, entry, output_of, sandbox};

/// Entries in the queue of the runs below.
const N: usize = 12;

/// `N` p1 entries in two ecosystems.
fn queue() -> Sandbox {
    let entries: Vec<Value> = (0..N)
        .map(|i| {
            let eco = if i % 2 == 0 { "homebrew" } else { "cargo" };
            entry(&format!("e{i:02}"), &format!("{eco}:e{i:02}"), 1)
        })
        .collect();
    sandbox().queue(&entries)
}

/// A pipe whose read end is already closed: every write to it fails with EPIPE.
fn closed() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer.into()
}

/// The sandbox's command (standard flags plus `extra`) with stdout and/or stderr closed; the
/// other stream is captured.
fn run_closed(h: &Sandbox, extra: &[&str], close_stdout: bool, close_stderr: bool) -> Out {
    let mut cmd = h.command(&[], extra, &[]);
    if close_stdout {
        cmd.stdout(closed());
    }
    if close_stderr {
        cmd.stderr(closed());
    }
    output_of(&mut cmd)
}

/// Every entry ran and was recorded: the queue, the results and the summary are written.
#[track_caller]
fn assert_all_processed(h: &Sandbox, out: &Out) {
    assert_eq!(h.created().len(), N, "generator calls\n{}", out.ctx());
    assert_eq!(h.results_json()["total"], N, "{}", out.ctx());
    assert_eq!(h.results_json()["succeeded"], N, "{}", out.ctx());
    for e in h.entries() {
        assert_eq!(e["status"], "success", "{e}\n{}", out.ctx());
    }
    assert!(h.summary.exists(), "no summary\n{}", out.ctx());
}

#[test]
fn stdout_closed_with_json_finishes_the_run() {
    let h = queue();
    let out = run_closed(&h, &["--json", "--jobs", "2"], true, false);
    out.code(exit::SUCCESS);
    assert!(!out.stderr.contains("panicked"), "{}", out.ctx());
    assert_all_processed(&h, &out);
}

#[test]
fn stdout_closed_with_dry_run_json_exits_zero() {
    let h = queue();
    let before = h.snapshot();
    let out = run_closed(&h, &["--dry-run", "--json"], true, false);
    out.code(exit::SUCCESS);
    assert!(!out.stderr.contains("panicked"), "{}", out.ctx());
    crate::util::assert_unchanged(&before, &h.snapshot(), &out);
}

#[test]
fn stdout_closed_with_dry_run_text_exits_zero() {
    let h = queue();
    let out = run_closed(&h, &["--dry-run"], true, false);
    out.code(exit::SUCCESS);
    assert!(!out.stderr.contains("panicked"), "{}", out.ctx());
}

#[test]
fn stderr_closed_during_a_run_finishes_it() {
    let h = queue();
    // -v logs every step, so there are many writes to the closed stderr.
    let out = run_closed(&h, &["--json", "-v", "--jobs", "2"], false, true);
    out.code(exit::SUCCESS);
    assert_eq!(out.json()["total"], N, "{}", out.ctx());
    assert_all_processed(&h, &out);
}

#[test]
fn both_streams_closed_finish_the_run() {
    let h = queue();
    let out = run_closed(&h, &["--json", "-v"], true, true);
    out.code(exit::SUCCESS);
    assert_all_processed(&h, &out);
}

#[test]
fn failure_exit_code_survives_a_closed_stderr() {
    // The error chain goes to the closed stderr; the exit code still says what happened.
    let h = sandbox().queue_raw("{ not json");
    let out = run_closed(&h, &[], false, true);
    out.code(exit::FAILURE);
}

#[test]
fn self_describing_commands_with_stdout_closed_exit_zero() {
    let h = sandbox();
    for args in [
        &["--help"][..],
        &["--version"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["man"],
    ] {
        let mut cmd = Command::new(h.bin());
        cmd.args(args).stdout(closed());
        let out = output_of(&mut cmd);
        assert!(!out.stderr.contains("panicked"), "{args:?}\n{}", out.ctx());
        out.code(exit::SUCCESS);
    }
}

/// The issue's own check: the whole run piped into `head -1` (stdout and stderr together).
#[test]
fn run_piped_into_head_1() {
    let h = queue();
    let rc = h.root.join("rc");
    let mut cmd = h.command(
        &[
            "sh".into(),
            "-c".into(),
            r#"{ "$@" 2>&1; echo $? > "$RC"; } | head -1"#.into(),
            "sh".into(),
        ],
        &["--json", "-v", "--jobs", "2"],
        &[],
    );
    cmd.env("RC", &rc);
    let out = output_of(&mut cmd);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.ctx());
    let code = std::fs::read_to_string(&rc).expect("exit code file");
    assert_eq!(code.trim(), exit::SUCCESS.to_string(), "{}", out.ctx());
    assert_all_processed(&h, &out);
}

/// A full disk is not a closed pipe: `man` and `completions`, whose output is their whole job,
/// fail with exit 1 and say so; a run only warns (its files are what matters).
#[test]
fn full_disk_fails_man_and_completions_but_not_a_run() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    let h = queue();
    for args in [&["man"][..], &["completions", "bash"]] {
        let mut cmd = Command::new(h.bin());
        cmd.args(args).stdout(full.try_clone().unwrap());
        let out = output_of(&mut cmd);
        out.code(exit::FAILURE);
        assert!(
            out.stderr.contains("failed to write"),
            "{args:?}\n{}",
            out.ctx()
        );
    }
    let mut cmd = h.command(&[], &["--json"], &[]);
    cmd.stdout(full);
    let out = output_of(&mut cmd);
    out.code(exit::SUCCESS);
    assert!(
        out.stderr.contains("failed to write to stdout"),
        "{}",
        out.ctx()
    );
    assert_all_processed(&h, &out);
}
