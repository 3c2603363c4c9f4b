//! `validate` stopped and resumed (issue #13): a SIGKILLed job resumes without re-running
//! finished rows, SIGTERM stops installs and keeps the journal (exit 143), and
//! `--max-duration` writes the finished rows and leaves the rest to a rerun.

use std::path::Path;
use std::time::Duration;

use batch_generate::exit;

use crate::util::{RUN_LIMIT, Sandbox, read_lines, sandbox, wait_until};
use crate::validate::{brief, out_file, recipes, rows, validate};

#[test]
fn a_sigkilled_validate_resumes_without_rerunning_finished_rows() {
    for platform in ["darwin-arm64", "linux-arm64"] {
        sigkill_and_resume(platform);
    }
}

fn sigkill_and_resume(platform: &str) {
    let mut sb = Sandbox::isolated(env!("CARGO_BIN_EXE_batch-generate"), "validate");
    sb.set_env("FAKE_TSUKU_PLATFORM", platform);
    // One family on Linux, so each recipe is one row as on macOS.
    let (family, row) = if platform.starts_with("linux") {
        (&["--family", "debian"][..], "linux-debian-glibc-arm64")
    } else {
        (&[][..], platform)
    };
    sb.set_rules(&[("c1@*", "hang")]);
    recipes(&sb, &["a1", "b1", "c1", "d1"]);
    let out = out_file(&sb, platform);
    let journal = sb
        .root
        .join(format!("validation-results-{platform}.json.journal"));
    let generator = sb.generator.to_str().unwrap().to_owned();
    let recipes_dir = sb.root.join("recipes");
    let mut args = vec![
        "validate",
        "--platform",
        platform,
        "--batch-id",
        "b-9",
        "--jobs",
        "1",
        "--recipes",
        recipes_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--generator",
        &generator,
    ];
    args.extend_from_slice(family);
    let cmd = sb.bare_command(&args);
    let mut first = sb.spawn_cmd("first", cmd);
    // a1 and b1 finish, then c1 hangs.
    let two_rows = || {
        std::fs::read_to_string(&journal).is_ok_and(|t| t.matches("\"kind\":\"row\"").count() == 2)
    };
    assert!(
        wait_until(RUN_LIMIT, Duration::from_millis(20), two_rows),
        "{}",
        first.stderr_so_far()
    );
    assert!(wait_until(RUN_LIMIT, Duration::from_millis(20), || {
        read_lines(&sb.log).iter().any(|l| l.contains("/c1.toml"))
    }));
    assert!(first.sigkill(), "validate ended before the kill");
    assert!(!out.exists(), "no results file from a killed job");

    sb.set_rules(&[]);
    let cmd = sb.bare_command(&args);
    let second = sb.spawn_cmd("second", cmd).wait(RUN_LIMIT);
    second.code(exit::SUCCESS);
    let got = brief(&rows(&out));
    assert_eq!(
        got,
        ["a1", "b1", "c1", "d1"].map(|r| format!("{r} {row} pass exit=0 attempts=1"))
    );
    let installs: Vec<String> = read_lines(&sb.log)
        .iter()
        .map(|l| {
            let p = l.split_whitespace().nth(4).unwrap();
            Path::new(p)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // a1 and b1 once; c1 killed once and run again; d1 once.
    assert_eq!(installs, ["a1", "b1", "c1", "c1", "d1"]);
    assert!(
        !journal.exists(),
        "the journal is removed after the results file"
    );
    assert!(
        second.stdout.contains("(2 resumed from the journal)"),
        "{}",
        second.ctx()
    );
}

#[test]
fn sigterm_stops_installs_keeps_the_journal_and_exits_143() {
    let mut sb = Sandbox::isolated(env!("CARGO_BIN_EXE_batch-generate"), "validate-term");
    sb.set_env("FAKE_TSUKU_PLATFORM", "darwin-arm64");
    sb.set_rules(&[("b1@*", "hang")]);
    recipes(&sb, &["a1", "b1", "c1"]);
    let out = out_file(&sb, "darwin-arm64");
    let journal = sb.root.join("validation-results-darwin-arm64.json.journal");
    let generator = sb.generator.to_str().unwrap().to_owned();
    let recipes_dir = sb.root.join("recipes");
    let cmd = sb.bare_command(&[
        "validate",
        "--platform",
        "darwin-arm64",
        "--batch-id",
        "b-9",
        "--jobs",
        "1",
        "--kill-grace",
        "1s",
        "--recipes",
        recipes_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--generator",
        &generator,
    ]);
    let run = sb.spawn_cmd("term", cmd);
    assert!(wait_until(RUN_LIMIT, Duration::from_millis(20), || {
        read_lines(&sb.log).iter().any(|l| l.contains("/b1.toml"))
    }));
    run.signal(nix::sys::signal::Signal::SIGTERM);
    let done = run.wait(RUN_LIMIT);
    done.code(exit::SIGTERM);
    assert!(!out.exists());
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.matches("\"kind\":\"row\"").count(), 1, "{text}");
    assert!(text.contains("\"a1\""), "{text}");
    assert!(done.elapsed < Duration::from_secs(30), "{:?}", done.elapsed);
}

#[test]
fn max_duration_writes_the_finished_rows_and_a_rerun_finishes_the_rest() {
    let sb = sandbox()
        .env("FAKE_TSUKU_PLATFORM", "darwin-arm64")
        .rules(&[("b1@*", "hang"), ("c1@*", "hang")]);
    recipes(&sb, &["a1", "b1", "c1", "d1"]);
    // a1 ends at once; b1 and c1 hit the 2 s timeout one after the other (jobs 1); at ~4 s
    // d1 is expected to need 2 s more (the 90th percentile so far), past the 5 s budget.
    let budget = [
        "--jobs",
        "1",
        "--timeout",
        "2s",
        "--kill-grace",
        "0s",
        "--max-duration",
        "5s",
        "--json",
    ];
    let out = validate(&sb, "darwin-arm64", &budget);
    out.code(exit::SUCCESS);
    let doc = out.json();
    assert_eq!(doc["not_started"], 1, "{doc:#}");
    assert_eq!(doc["total"], 3, "{doc:#}");
    let file = out_file(&sb, "darwin-arm64");
    assert_eq!(
        brief(&rows(&file)),
        [
            "a1 darwin-arm64 pass exit=0 attempts=1",
            "b1 darwin-arm64 fail exit=124 attempts=1 timed_out",
            "c1 darwin-arm64 fail exit=124 attempts=1 timed_out",
        ]
    );
    let journal = sb.root.join("validation-results-darwin-arm64.json.journal");
    assert!(journal.exists(), "kept for a rerun");
    assert_eq!(doc["journal"], journal.to_str().unwrap());

    let out = validate(&sb, "darwin-arm64", &[]);
    out.code(exit::SUCCESS);
    assert_eq!(rows(&file).len(), 4);
    let installed: Vec<String> = read_lines(&sb.log)
        .iter()
        .map(|l| l.split_whitespace().nth(4).unwrap().to_owned())
        .collect();
    assert_eq!(installed.len(), 4, "d1 only in the rerun: {installed:#?}");
    assert!(installed[3].ends_with("/d1.toml"));
    assert!(!journal.exists());
}
