//! Command line: help, usage errors, Go spellings, the ecosystem filter, environment variables.

use std::collections::BTreeSet;

use batch_generate::exit;

use crate::util::{Sandbox, assert_unchanged, entry, fake_tsuku, run_cmd, sandbox};

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Five p1 entries in five ecosystems.
fn five_ecosystems() -> Sandbox {
    sandbox().queue(&[
        entry("a", "npm:a", 1),
        entry("b", "pypi:b", 1),
        entry("c", "homebrew:c", 1),
        entry("d", "cargo:d", 1),
        entry("e", "github:e/e", 1),
    ])
}

#[test]
fn help_exits_zero_and_lists_the_exit_codes() {
    for flag in ["--help", "-help", "-h"] {
        let h = sandbox();
        let mut cmd = h.bare_cmd();
        cmd.arg(flag);
        let out = run_cmd(&mut cmd);
        out.code(exit::SUCCESS);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains("Exit codes"),
            "{flag}: no exit-code table\n{}",
            out.ctx()
        );
        for code in [exit::SUCCESS, exit::FAILURE, exit::USAGE] {
            assert!(
                text.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{flag}: exit code {code} is not listed\n{}",
                out.ctx()
            );
        }
        for f in [
            "--queue",
            "--control-file",
            "--batch-size",
            "--rate-limit",
            "--dry-run",
            "--json",
        ] {
            assert!(text.contains(f), "{flag}: {f} is not documented");
        }
        assert!(h.log_lines().is_empty());
    }
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let bad: &[&[&str]] = &[
        &["--batch-size", "-1"],
        &["-batch-size", "-1"],
        &["--batch-size", "ten"],
        &["--jobs", "0"],
        &["--no-such-flag"],
        &["--rate-limit", "bad"],
        &["--rate-limit", "npm=fast"],
        &["--rate-limit", "=1s"],
        &["--tier", "x"],
        &["--timeout", "-5s"],
        &["--dry-run=maybe"],
    ];
    for args in bad {
        let h = sandbox()
            .queue(&[entry("a", "homebrew:a", 1)])
            .control(serde_json::json!({"circuit_breaker": {"homebrew": {"state": "open", "opens_at": crate::util::PAST}}}));
        let before = h.snapshot();
        let out = h.run(args);
        out.code(exit::USAGE);
        assert!(
            !out.stderr.trim().is_empty(),
            "{args:?}: no message\n{}",
            out.ctx()
        );
        assert_unchanged(&before, &h.snapshot(), &out);
    }
}

#[test]
fn go_workflow_line_runs_and_filters_to_homebrew() {
    let h = sandbox().queue(&[
        entry("x", "npm:x", 1),
        entry("a", "homebrew:a", 3),
        entry("y", "cargo:y", 1),
        entry("b", "homebrew:b", 2),
        entry("c", "homebrew:c", 1),
    ]);
    let mut cmd = h.bare_cmd();
    cmd.args([
        "-batch-size",
        "2",
        "-tier",
        "3",
        "-filter-ecosystem",
        "homebrew",
        "-queue",
    ])
    .arg(&h.queue)
    .arg("-output-dir")
    .arg(&h.output)
    .arg("-failures-dir")
    .arg(&h.failures)
    .arg("-control-file")
    .arg(&h.control)
    .arg("--generator")
    .arg(fake_tsuku())
    .args(h.rate_args());
    let out = run_cmd(&mut cmd);
    out.ok();
    assert_eq!(h.created_set(), set(&["a", "b"]), "{}", out.ctx());
    // Without --results the results go beside the queue (spec §1.4).
    let results = crate::util::read_json(&h.queue.parent().unwrap().join("batch-results.json"));
    assert_eq!(results["ecosystems"], serde_json::json!({"homebrew": 2}));
    assert_eq!(
        h.entry("c")["status"],
        "pending",
        "batch size 2 stops before c"
    );
    assert!(h.output.join("a/a.toml").is_file() && h.output.join("b/b.toml").is_file());
}

#[test]
fn go_flags_with_equals_sign() {
    let h = five_ecosystems();
    let mut cmd = h.bare_cmd();
    cmd.arg(format!("-queue={}", h.queue.display()))
        .arg(format!("-control-file={}", h.control.display()))
        .arg(format!("-output-dir={}", h.output.display()))
        .arg(format!("-failures-dir={}", h.failures.display()))
        .args([
            "-batch-size=1",
            "-tier=1",
            "-filter-ecosystem=pypi",
            "--summary",
        ])
        .arg(&h.summary)
        .arg("--generator")
        .arg(fake_tsuku())
        .args(h.rate_args());
    run_cmd(&mut cmd).ok();
    assert_eq!(h.created(), ["b"]);
}

#[test]
fn ecosystem_comma_list() {
    let h = five_ecosystems();
    h.run(&["--ecosystem", "npm,pypi"]).ok();
    assert_eq!(h.created_set(), set(&["a", "b"]));
}

#[test]
fn ecosystem_repeated() {
    let h = five_ecosystems();
    h.run(&[
        "--ecosystem",
        "npm",
        "--ecosystem",
        "github",
        "--ecosystem",
        "cargo",
    ])
    .ok();
    assert_eq!(h.created_set(), set(&["a", "d", "e"]));
}

#[test]
fn ecosystem_filter_without_match_runs_nothing() {
    let h = five_ecosystems();
    h.run(&["--ecosystem", "rubygems"]).ok();
    assert!(h.log_lines().is_empty());
    assert_eq!(h.results_json()["total"], 0);
}

#[test]
fn env_batch_size_applies_and_flag_wins() {
    let h = five_ecosystems().env("BATCH_BATCH_SIZE", "1");
    h.run(&[]).ok();
    assert_eq!(h.created(), ["a"]);

    let h = five_ecosystems().env("BATCH_BATCH_SIZE", "1");
    h.run(&["--batch-size", "3"]).ok();
    assert_eq!(h.created_set(), set(&["a", "b", "c"]));
}

#[test]
fn env_ecosystem_applies_and_flag_wins() {
    let h = five_ecosystems().env("BATCH_ECOSYSTEM", "npm");
    h.run(&[]).ok();
    assert_eq!(h.created(), ["a"]);

    let h = five_ecosystems().env("BATCH_ECOSYSTEM", "npm,pypi");
    h.run(&[]).ok();
    assert_eq!(h.created_set(), set(&["a", "b"]));

    let h = five_ecosystems().env("BATCH_ECOSYSTEM", "npm");
    h.run(&["--ecosystem", "homebrew"]).ok();
    assert_eq!(h.created(), ["c"]);
}

#[test]
fn env_dry_run_writes_nothing_and_flag_wins() {
    let h = five_ecosystems().env("BATCH_DRY_RUN", "1");
    let before = h.snapshot();
    let out = h.run(&[]);
    out.ok();
    assert_unchanged(&before, &h.snapshot(), &out);
    for name in ["a", "b", "c", "d", "e"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.split_whitespace().last() == Some(name)),
            "{}",
            out.ctx()
        );
    }

    let h = five_ecosystems().env("BATCH_DRY_RUN", "1");
    h.run(&["--dry-run=false"]).ok();
    assert_eq!(h.created().len(), 5);
}

#[test]
fn every_flag_can_come_from_the_environment() {
    let h = five_ecosystems();
    let mut cmd = h.bare_cmd();
    cmd.env("BATCH_QUEUE", &h.queue)
        .env("BATCH_CONTROL_FILE", &h.control)
        .env("BATCH_OUTPUT_DIR", &h.output)
        .env("BATCH_FAILURES_DIR", &h.failures)
        .env("BATCH_RESULTS", &h.results)
        .env("BATCH_SUMMARY", &h.summary)
        .env("BATCH_GENERATOR", fake_tsuku())
        .env(
            "BATCH_RATE_LIMIT",
            "npm=0ms,pypi=0ms,homebrew=0ms,cargo=0ms,github=0ms",
        )
        .env("BATCH_TIER", "1")
        .env("BATCH_BATCH_SIZE", "4")
        .env("BATCH_JOBS", "1")
        .env("BATCH_TIMEOUT", "60s")
        .env("BATCH_JSON", "1");
    let out = run_cmd(&mut cmd);
    out.ok();
    assert_eq!(
        h.created(),
        ["a", "b", "c", "d"],
        "jobs 1 keeps selection order\n{}",
        out.ctx()
    );
    assert_eq!(out.json()["total"], 4);
    assert_eq!(h.results_json()["total"], 4);
    assert!(h.summary.is_file());
}

#[test]
fn env_usage_error_exits_2() {
    let h = five_ecosystems().env("BATCH_JOBS", "0");
    let before = h.snapshot();
    let out = h.run(&[]);
    out.code(exit::USAGE);
    assert_unchanged(&before, &h.snapshot(), &out);
}
