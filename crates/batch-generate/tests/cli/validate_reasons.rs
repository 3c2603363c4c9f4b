//! `validate` with tsuku's real output shapes (issue #22, through `testdata/fake-tsuku`): a
//! sandbox verify failure is a failure with its reason, a host install failure keeps tsuku's
//! message and subcategory, and a runner that cannot run installs (no container runtime,
//! tsuku exit 11) stops with an `incomplete` row and exit `PLATFORM_INCOMPLETE`.

use batch_generate::exit;
use serde_json::Value;

use crate::util::sandbox;
use crate::validate::{brief, out_file, recipes, rows, validate};

const NO_RUNTIME: &str = "no container runtime available (install Podman or Docker)";

fn row<'a>(rows: &'a [Value], recipe: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["recipe"] == recipe)
        .unwrap_or_else(|| panic!("no row for {recipe}: {rows:?}"))
}

#[test]
fn a_sandbox_verify_failure_fails_with_its_reason() {
    let sb = sandbox().rules(&[
        ("bat@debian", "verify:2"),
        ("fd@debian", "containertimeout"),
    ]);
    recipes(&sb, &["bat", "fd", "jq"]);
    let out = validate(&sb, "linux-x86_64", &["--family", "debian", "--jobs", "1"]);
    out.code(exit::SUCCESS);
    let rows = rows(&out_file(&sb, "linux-x86_64"));
    assert_eq!(
        brief(&rows),
        [
            "bat linux-debian-glibc-x86_64 fail exit=7 attempts=1",
            "fd linux-debian-glibc-x86_64 fail exit=124 attempts=1",
            "jq linux-debian-glibc-x86_64 pass exit=0 attempts=1",
        ]
    );
    let bat = row(&rows, "bat");
    assert_eq!(bat["verify_exit_code"], 2);
    assert_eq!(
        bat["message"],
        "verification failed with exit code 2\nRunning: bat --version\nbat: error while loading shared libraries: libbat.so.1: cannot open shared object file"
    );
    // tsuku's own container limit is the recipe's timeout, not a broken runner.
    let fd = row(&rows, "fd");
    assert_eq!(fd["subcategory"], "timeout");
    assert_eq!(
        fd["message"],
        "container execution timed out: context deadline exceeded\nCompiling fd v1.0.0"
    );
    let jq = row(&rows, "jq");
    assert!(jq.get("message").is_none() && jq.get("verify_exit_code").is_none());
    assert!(
        out.stdout.contains(
            "failed: bat (b/bat.toml) on linux-debian-glibc-x86_64: exit 7 after 1 attempt (verify step exit 2): verification failed with exit code 2\n"
        ),
        "{}",
        out.ctx()
    );
}

#[test]
fn a_host_install_failure_keeps_tsukus_message_and_subcategory() {
    let sb = sandbox()
        .env("FAKE_TSUKU_PLATFORM", "darwin-arm64")
        .rules(&[
            ("fd@darwin-arm64", "val:6"),
            ("gh@darwin-arm64", "vflaky:3"),
        ]);
    recipes(&sb, &["fd", "gh"]);
    let out = validate(&sb, "darwin-arm64", &["--jobs", "1"]);
    out.code(exit::SUCCESS);
    let rows = rows(&out_file(&sb, "darwin-arm64"));
    assert_eq!(
        brief(&rows),
        [
            "fd darwin-arm64 fail exit=6 attempts=1",
            "gh darwin-arm64 fail exit=5 attempts=3",
        ]
    );
    let fd = row(&rows, "fd");
    assert_eq!(fd["message"], "failed to install fd: install failed");
    assert!(fd.get("subcategory").is_none() && fd.get("verify_exit_code").is_none());
    let gh = row(&rows, "gh");
    assert_eq!(gh["subcategory"], "dns_error");
    assert_eq!(
        gh["message"],
        "Get \"https://formulae.brew.sh/api/formula/gh.json\": dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host"
    );
}

#[test]
fn a_runner_without_a_container_runtime_is_incomplete_and_a_rerun_finishes() {
    let sb = sandbox().rules(&[("amp@*", "ok"), ("*@*", "noruntime")]);
    recipes(&sb, &["amp", "bat", "cdk"]);
    let out = validate(&sb, "linux-x86_64", &["--family", "debian", "--jobs", "1"]);
    out.code(exit::PLATFORM_INCOMPLETE);
    let file = out_file(&sb, "linux-x86_64");
    let got = rows(&file);
    assert_eq!(
        brief(&got),
        [
            "amp linux-debian-glibc-x86_64 pass exit=0 attempts=1",
            "bat linux-debian-glibc-x86_64 incomplete",
        ]
    );
    assert_eq!(got[1]["message"], NO_RUNTIME);
    assert!(
        out.stdout.contains(&format!(
            "incomplete: this runner cannot run installs at bat on linux-debian-glibc-x86_64: {NO_RUNTIME}; 1 rows not run"
        )),
        "{}",
        out.ctx()
    );
    assert!(out.stderr.contains("cannot run installs"), "{}", out.ctx());
    let journal = sb.root.join("validation-results-linux-x86_64.json.journal");
    assert!(journal.exists(), "kept for a rerun");

    // The runner is fixed: `amp` comes from the journal, `bat` and `cdk` are installed.
    std::fs::write(sb.root.join("fake-rules"), "* ok\n").unwrap();
    let out = validate(&sb, "linux-x86_64", &["--family", "debian", "--jobs", "1"]);
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&file)),
        [
            "amp linux-debian-glibc-x86_64 pass exit=0 attempts=1",
            "bat linux-debian-glibc-x86_64 pass exit=0 attempts=1",
            "cdk linux-debian-glibc-x86_64 pass exit=0 attempts=1",
        ]
    );
    assert!(!journal.exists());
}

#[test]
fn tsuku_exit_11_is_incomplete() {
    let sb = sandbox()
        .env("FAKE_TSUKU_PLATFORM", "darwin-x86_64")
        .mode("exit:11");
    recipes(&sb, &["bat", "fd"]);
    let out = validate(&sb, "darwin-x86_64", &["--jobs", "1", "--json"]);
    out.code(exit::PLATFORM_INCOMPLETE);
    let got = rows(&out_file(&sb, "darwin-x86_64"));
    assert_eq!(brief(&got), ["bat darwin-x86_64 incomplete"]);
    let why = "tsuku exited 11 (index not built): Error: the binary index has not been built yet; run 'tsuku update-registry'";
    assert_eq!(got[0]["message"], why);
    let doc = out.json();
    assert_eq!(doc["incomplete"], why);
    assert_eq!(
        (&doc["not_run"], &doc["total"]),
        (&Value::from(1), &Value::from(0))
    );
}

/// A generator that is not there is a runner that cannot install, not bad input: the platform
/// is incomplete (exit 5) with a row naming the program, so `aggregate` can say why.
#[test]
fn a_missing_generator_is_incomplete() {
    let sb = sandbox().env("FAKE_TSUKU_PLATFORM", "darwin-arm64");
    recipes(&sb, &["bat"]);
    let missing = sb.root.join("no-such-tsuku");
    let mut cmd = sb.bare_cmd();
    cmd.arg("validate")
        .args([
            "--platform",
            "darwin-arm64",
            "--batch-id",
            "b-1",
            "--recipes",
        ])
        .arg(sb.root.join("recipes"))
        .arg("--out")
        .arg(out_file(&sb, "darwin-arm64"))
        .arg("--generator")
        .arg(&missing);
    let out = crate::util::run_cmd(&mut cmd);
    out.code(exit::PLATFORM_INCOMPLETE);
    let got = rows(&out_file(&sb, "darwin-arm64"));
    assert_eq!(
        brief(&got),
        ["bat darwin-arm64 incomplete"],
        "{}",
        out.ctx()
    );
    let why = got[0]["message"].as_str().unwrap_or_default();
    assert!(why.contains("no-such-tsuku"), "{why}");
}

/// `--max-duration` no longer than the platform's `--timeout` (30 min on Linux by default)
/// could start no install: refused before anything runs (exit 2), as the main run.
#[test]
fn a_budget_shorter_than_one_install_is_refused() {
    let sb = sandbox();
    recipes(&sb, &["bat"]);
    let out = validate(&sb, "linux-x86_64", &["--max-duration", "20m"]);
    out.code(exit::USAGE);
    assert!(
        out.stderr
            .contains("--max-duration 20m is not longer than --timeout 30m"),
        "{}",
        out.ctx()
    );
    assert!(!out_file(&sb, "linux-x86_64").exists(), "{}", out.ctx());
    let out = validate(
        &sb,
        "linux-x86_64",
        &[
            "--max-duration",
            "20m",
            "--timeout",
            "5m",
            "--family",
            "debian",
        ],
    );
    out.code(exit::SUCCESS);
}
