//! Issue #22 "Done when", end to end: `validate` with the fake generator speaking tsuku's
//! shapes (`testdata/fake-tsuku`), then `aggregate` over its results file. One case each: a
//! sandbox verify failure (Linux), a host-side install failure (macOS), a runner without a
//! container runtime (Linux) and a timeout (Linux). Each checks the results row, `validate`'s
//! exit code, the per-recipe failure records, the PR body's per-platform reason line and, for
//! the runner without a runtime, that nothing is derived from its platform.
//!
//! The three other job platforms' results are [`Batch`]'s (every row passes), so only the
//! platform under test makes a difference; its file is replaced by `validate`'s own output.
//! Expected values come from the fake's texts (its sandbox and host objects), the reader's
//! rules (`batch::tsuku` read/validation: verify failure → exit 7; the `error`, then the
//! output's tail as `message`; our timeout → 124 `timeout`), spec §1.3.2's categories as the
//! README states them (7 `verify_failed`, 5/124 `network_error`, else `generation_failed`),
//! spec §7.3.3's constraints and the PR line format of `aggregate::reason`.
//!
//! A child of `aggregate` (declared there) so that it shares its `Batch` fixture.

use std::ffi::OsStr;

use batch_generate::exit;
use serde_json::Value;

use super::{BATCH, Batch, plain};
use crate::util::{Out, run_cmd};

/// The failure records' file: named after the plan time (`--planned-at`).
const FAILURES: &str = "batch-2026-12-01T08-00-00Z.jsonl";

/// A batch of `names` (plain recipes, every row of every job platform passing).
fn batch(names: &[&str]) -> Batch {
    let recipes: Vec<(&str, String)> = names.iter().map(|n| (*n, plain())).collect();
    Batch::new(&recipes, &[])
}

/// `validate --platform P` over the batch's recipes into the batch's results directory, with
/// the fake's `rules` (and `FAKE_TSUKU_PLATFORM` for a macOS job) and `extra` flags.
fn validate(b: &Batch, platform: &str, rules: &[(&str, &str)], extra: &[&str]) -> Out {
    let mut sb_rules = std::fs::File::create(b.sb.root.join("fake-rules")).unwrap();
    for (glob, mode) in rules {
        use std::io::Write as _;
        writeln!(sb_rules, "{glob} {mode}").unwrap();
    }
    let mut cmd = b.sb.bare_cmd();
    cmd.env("FAKE_TSUKU_RULES", b.sb.root.join("fake-rules"));
    if platform.starts_with("darwin") {
        cmd.env("FAKE_TSUKU_PLATFORM", platform);
    }
    cmd.arg("validate")
        .args(["--platform", platform, "--batch-id", BATCH, "--recipes"])
        .arg(&b.sb.output)
        .arg("--out")
        .arg(results_path(b, platform))
        .arg("--generator")
        .arg(&b.sb.generator)
        .args(extra);
    run_cmd(&mut cmd)
}

fn results_path(b: &Batch, platform: &str) -> std::path::PathBuf {
    b.validation
        .join(format!("validation-results-{platform}.json"))
}

fn rows(b: &Batch, platform: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(results_path(b, platform)).unwrap())
        .expect("the results file is JSON");
    v.as_array().expect("an array of rows").clone()
}

/// The row of `recipe` on row platform `platform`.
fn row<'a>(rows: &'a [Value], recipe: &str, platform: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["recipe"] == recipe && r["platform"] == platform)
        .unwrap_or_else(|| panic!("no row {recipe} {platform}: {rows:#?}"))
}

/// `aggregate --json` with `$GITHUB_OUTPUT` in the root; returns the run and the output file.
fn aggregate(b: &Batch) -> (Out, String) {
    let gh = b.sb.root.join("gh-output");
    let out = b.run_env(&["--json"], &[("GITHUB_OUTPUT", OsStr::new(&gh))]);
    out.ok();
    let gh = std::fs::read_to_string(&gh).unwrap_or_default();
    (out, gh)
}

/// Every failure record of the run (none when no file was written).
fn records(b: &Batch) -> Vec<Value> {
    std::fs::read_to_string(b.sb.failures.join(FAILURES))
        .map(|t| {
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn record<'a>(recs: &'a [Value], recipe: &str) -> &'a Value {
    let mine: Vec<&Value> = recs.iter().filter(|r| r["recipe"] == recipe).collect();
    assert_eq!(mine.len(), 1, "one record for {recipe}: {recs:#?}");
    mine[0]
}

fn assert_contains(text: &str, want: &str) {
    assert!(text.contains(want), "missing {want:?} in\n{text}");
}

#[test]
fn a_sandbox_verify_failure_is_a_constraint_with_its_reason() {
    let b = batch(&["bat", "fd"]);
    let out = validate(&b, "linux-x86_64", &[("bat@debian", "verify:3")], &[]);
    out.code(exit::SUCCESS);
    let rows = rows(&b, "linux-x86_64");
    // 2 recipes × 5 families; only bat on debian fails.
    assert_eq!(rows.len(), 10, "{rows:#?}");
    assert_eq!(
        rows.iter().filter(|r| r["status"] == "pass").count(),
        9,
        "{rows:#?}"
    );
    // The verify step's failure (install step 0, exit 6): tsuku's ExitVerifyFailed, 7, with
    // the verify command's own code; `error`, then the verify output's tail.
    let message = "verification failed with exit code 3\nRunning: bat --version\nbat: error while loading shared libraries: libbat.so.1: cannot open shared object file";
    let bat = row(&rows, "bat", "linux-debian-glibc-x86_64");
    assert_eq!(
        (
            &bat["status"],
            &bat["exit_code"],
            &bat["verify_exit_code"],
            &bat["message"]
        ),
        (
            &Value::from("fail"),
            &Value::from(7),
            &Value::from(3),
            &Value::from(message)
        )
    );
    assert!(bat.get("subcategory").is_none(), "{bat}");

    let (agg, gh) = aggregate(&b);
    // One failure on linux/debian/amd64 constrains it there (spec §7.3.3).
    assert_eq!(
        b.recipe("bat").unwrap(),
        "[metadata]\nname = \"bat\"\nunsupported_platforms = [\"linux/debian/amd64\"]\n\n\
         [[steps]]\naction = \"homebrew\"\n"
    );
    assert_eq!(
        gh,
        "included=2\nexcluded=0\nconstrained=1\nall_platforms_reported=true\nauto_merge=true\n",
        "{}",
        agg.ctx()
    );
    let recs = records(&b);
    let r = record(&recs, "bat");
    assert_eq!(
        (
            &r["platform"],
            &r["exit_code"],
            &r["verify_exit_code"],
            &r["category"],
            &r["message"]
        ),
        (
            &Value::from("linux-debian-glibc-x86_64"),
            &Value::from(7),
            &Value::from(3),
            &Value::from("verify_failed"),
            &Value::from(message)
        )
    );
    assert!(r.get("subcategory").is_none(), "{r}");
    assert_contains(
        &b.pr_body(),
        "- **bat**: `unsupported_platforms = [\"linux/debian/amd64\"]`\n\
         \x20\x20- linux-debian-glibc-x86_64: exit 7 (verify exit 3): `verification failed with exit code 3`\n",
    );
}

#[test]
fn a_host_install_failure_on_macos_keeps_tsukus_message_and_subcategory() {
    let b = batch(&["bat", "fd", "gh"]);
    let out = validate(
        &b,
        "darwin-arm64",
        &[
            ("fd@darwin-arm64", "val:6"),
            ("gh@darwin-arm64", "vflaky:3"),
        ],
        &[],
    );
    out.code(exit::SUCCESS);
    let rows = rows(&b, "darwin-arm64");
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert_eq!(row(&rows, "bat", "darwin-arm64")["status"], "pass");
    // The host error object: its install_exit_code and message, no subcategory given.
    let fd = row(&rows, "fd", "darwin-arm64");
    assert_eq!(
        (&fd["status"], &fd["exit_code"], &fd["message"]),
        (
            &Value::from("fail"),
            &Value::from(6),
            &Value::from("failed to install fd: install failed")
        )
    );
    assert!(
        fd.get("subcategory").is_none() && fd.get("verify_exit_code").is_none(),
        "{fd}"
    );
    // Exit 5 on all three attempts: tsuku's network subcategory is kept.
    let dns = "Get \"https://formulae.brew.sh/api/formula/gh.json\": dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host";
    let gh = row(&rows, "gh", "darwin-arm64");
    assert_eq!(
        (
            &gh["exit_code"],
            &gh["attempts"],
            &gh["subcategory"],
            &gh["message"]
        ),
        (
            &Value::from(5),
            &Value::from(3),
            &Value::from("dns_error"),
            &Value::from(dns)
        )
    );
    assert!(gh.get("verify_exit_code").is_none(), "{gh}");

    let (agg, ghout) = aggregate(&b);
    for name in ["fd", "gh"] {
        assert_eq!(
            b.recipe(name).unwrap(),
            format!(
                "[metadata]\nname = \"{name}\"\nunsupported_platforms = [\"darwin/arm64\"]\n\n\
                 [[steps]]\naction = \"homebrew\"\n"
            ),
            "{}",
            agg.ctx()
        );
    }
    assert_eq!(
        ghout,
        "included=3\nexcluded=0\nconstrained=2\nall_platforms_reported=true\nauto_merge=true\n"
    );
    let recs = records(&b);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let fd = record(&recs, "fd");
    assert_eq!(
        (
            &fd["platform"],
            &fd["exit_code"],
            &fd["category"],
            &fd["message"]
        ),
        (
            &Value::from("darwin-arm64"),
            &Value::from(6),
            &Value::from("generation_failed"),
            &Value::from("failed to install fd: install failed")
        )
    );
    assert!(
        fd.get("subcategory").is_none() && fd.get("verify_exit_code").is_none(),
        "{fd}"
    );
    let gh = record(&recs, "gh");
    assert_eq!(
        (&gh["category"], &gh["subcategory"], &gh["message"]),
        (
            &Value::from("network_error"),
            &Value::from("dns_error"),
            &Value::from(dns)
        )
    );
    let body = b.pr_body();
    assert_contains(
        &body,
        "- **fd**: `unsupported_platforms = [\"darwin/arm64\"]`\n\
         \x20\x20- darwin-arm64: exit 6: `failed to install fd: install failed`\n",
    );
    assert_contains(
        &body,
        &format!(
            "- **gh**: `unsupported_platforms = [\"darwin/arm64\"]`\n\
             \x20\x20- darwin-arm64: exit 5 (dns_error): `{dns}`\n"
        ),
    );
}

#[test]
fn a_runner_without_a_container_runtime_reports_nothing_and_stops_auto_merge() {
    let b = batch(&["bat", "fd", "jq"]);
    // bat is installed on every family (failing on alpine), then fd finds no runtime.
    let no_runtime = "no container runtime available (install Podman or Docker)";
    let out = validate(
        &b,
        "linux-x86_64",
        &[
            ("bat@alpine", "val:6"),
            ("bat@*", "ok"),
            ("*@*", "noruntime"),
        ],
        &["--jobs", "1"],
    );
    out.code(exit::PLATFORM_INCOMPLETE);
    let rows = rows(&b, "linux-x86_64");
    // bat's five rows, then the incomplete row last: at fd's first family (debian, the
    // first of linux-x86_64's families), with tsuku's `error` as the reason.
    assert_eq!(rows.len(), 6, "{rows:#?}");
    let last = &rows[5];
    assert_eq!(
        (
            &last["recipe"],
            &last["platform"],
            &last["status"],
            &last["message"]
        ),
        (
            &Value::from("fd"),
            &Value::from("linux-debian-glibc-x86_64"),
            &Value::from("incomplete"),
            &Value::from(no_runtime)
        )
    );
    assert!(
        last.get("exit_code").is_none() && last.get("verify_exit_code").is_none(),
        "{last}"
    );
    let bat = row(&rows, "bat", "linux-alpine-musl-x86_64");
    assert_eq!(
        (&bat["status"], &bat["exit_code"]),
        (&Value::from("fail"), &Value::from(6))
    );

    let (agg, gh) = aggregate(&b);
    // bat's alpine failure came from the platform that did not report: no constraint, no
    // record; every recipe is decided on the three other platforms (all pass).
    for name in ["bat", "fd", "jq"] {
        assert_eq!(
            b.recipe(name).unwrap(),
            super::PLAIN.replace("NAME", name),
            "{}",
            agg.ctx()
        );
    }
    assert!(records(&b).is_empty(), "{:#?}", records(&b));
    assert_eq!(
        gh,
        "included=3\nexcluded=0\nconstrained=0\nall_platforms_reported=false\nauto_merge=false\n"
    );
    let doc = agg.json();
    assert_eq!(
        doc["not_reported"],
        serde_json::json!([{
            "platform": "linux-x86_64",
            "kind": "incomplete",
            "recipe": "fd",
            "message": no_runtime,
            "rows_ignored": 6
        }])
    );
    let body = b.pr_body();
    assert_contains(
        &body,
        &format!(
            "- **linux-x86_64**: incomplete results: the runner could not run installs \
             (stopped at **fd**; 6 row(s) not used): `{no_runtime}`\n"
        ),
    );
    assert_contains(
        &body,
        "| linux-x86_64 | Incomplete (stopped at fd; not used, see above) |\n",
    );
    assert!(!body.contains("**bat**:"), "{body}");
    let commit = std::fs::read_to_string(b.sb.root.join("pr/commit-message.txt")).unwrap();
    assert_contains(
        &commit,
        &format!("- not reported: linux-x86_64 (incomplete: {no_runtime})\n"),
    );
}

#[test]
fn a_timeout_is_a_constraint_with_its_reason() {
    let b = batch(&["bat", "jq"]);
    let out = validate(
        &b,
        "linux-arm64",
        &[("jq@rhel", "hang")],
        &["--timeout", "1s", "--kill-grace", "0s"],
    );
    out.code(exit::SUCCESS);
    let rows = rows(&b, "linux-arm64");
    // 2 recipes × 4 families.
    assert_eq!(rows.len(), 8, "{rows:#?}");
    // Killed at --timeout: 124, not retried, `timeout`; the fake said nothing on stderr.
    let jq = row(&rows, "jq", "linux-rhel-glibc-arm64");
    assert_eq!(
        (
            &jq["status"],
            &jq["exit_code"],
            &jq["attempts"],
            &jq["timed_out"],
            &jq["subcategory"],
            &jq["message"]
        ),
        (
            &Value::from("fail"),
            &Value::from(124),
            &Value::from(1),
            &Value::from(true),
            &Value::from("timeout"),
            &Value::from("timed out after 1s")
        )
    );
    assert!(jq.get("verify_exit_code").is_none(), "{jq}");
    // The container cleanup ran against the test kit's stub runtimes (they list nothing),
    // never a real podman or docker.
    let stubs = batch_testkit::runtime_stubs();
    assert_contains(
        &out.stderr,
        &format!(
            "jq@rhel timed out; `{} ps` shows no sandbox container left",
            stubs.join("docker").display()
        ),
    );

    let (agg, gh) = aggregate(&b);
    assert_eq!(
        b.recipe("jq").unwrap(),
        "[metadata]\nname = \"jq\"\nunsupported_platforms = [\"linux/rhel/arm64\"]\n\n\
         [[steps]]\naction = \"homebrew\"\n",
        "{}",
        agg.ctx()
    );
    assert_eq!(
        gh,
        "included=2\nexcluded=0\nconstrained=1\nall_platforms_reported=true\nauto_merge=true\n"
    );
    let recs = records(&b);
    let r = record(&recs, "jq");
    assert_eq!(
        (
            &r["platform"],
            &r["exit_code"],
            &r["category"],
            &r["subcategory"],
            &r["message"]
        ),
        (
            &Value::from("linux-rhel-glibc-arm64"),
            &Value::from(124),
            &Value::from("network_error"),
            &Value::from("timeout"),
            &Value::from("timed out after 1s")
        )
    );
    assert!(r.get("verify_exit_code").is_none(), "{r}");
    assert_contains(
        &b.pr_body(),
        "- **jq**: `unsupported_platforms = [\"linux/rhel/arm64\"]`\n\
         \x20\x20- linux-rhel-glibc-arm64: exit 124 (timeout): `timed out after 1s`\n",
    );
}
