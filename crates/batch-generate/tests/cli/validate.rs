//! `validate` (spec §7.3, §1.7; issue #13) against the fake generator on each platform:
//! argv, retries of exit 5, timeouts, exclusions, `blocked_by`, exit codes from the JSON,
//! path checks and bad input (stop and resume are in `validate_stop`). Expectations come from
//! the spec's per-platform rules and the fake's documented modes (`testdata/fake-tsuku`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use batch_generate::exit;
use serde_json::Value;

use crate::util::{Sandbox, read_lines, run_cmd, sandbox, strings};

/// Writes `names` as `<recipes>/<letter>/<name>.toml`.
pub(crate) fn recipes(sb: &Sandbox, names: &[&str]) -> PathBuf {
    let dir = sb.root.join("recipes");
    for n in names {
        let p = dir.join(&n[..1]).join(format!("{n}.toml"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("[metadata]\nname = \"{n}\"\n")).unwrap();
    }
    dir
}

pub(crate) fn out_file(sb: &Sandbox, platform: &str) -> PathBuf {
    sb.root.join(format!("validation-results-{platform}.json"))
}

/// `validate --platform P --recipes DIR --out FILE --batch-id b-1 --generator FAKE` + extra.
pub(crate) fn validate(sb: &Sandbox, platform: &str, extra: &[&str]) -> crate::util::Out {
    let mut cmd = sb.bare_cmd();
    cmd.arg("validate")
        .args(["--platform", platform, "--batch-id", "b-1", "--recipes"])
        .arg(sb.root.join("recipes"))
        .arg("--out")
        .arg(out_file(sb, platform))
        .arg("--generator")
        .arg(&sb.generator)
        .args(extra);
    run_cmd(&mut cmd)
}

pub(crate) fn rows(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v.as_array().unwrap().clone()
}

/// `recipe platform status exit attempts [timed_out] [blocked_by]` per row, in file order.
pub(crate) fn brief(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            let mut s = format!(
                "{} {} {}",
                r["recipe"].as_str().unwrap(),
                r["platform"].as_str().unwrap(),
                r["status"].as_str().unwrap()
            );
            if let Some(c) = r.get("exit_code") {
                s.push_str(&format!(" exit={c} attempts={}", r["attempts"]));
            }
            if r.get("timed_out").is_some() {
                s.push_str(" timed_out");
            }
            if let Some(b) = r
                .get("blocked_by")
                .filter(|b| !b.as_array().unwrap().is_empty())
            {
                s.push_str(&format!(" blocked_by={}", strings(b).join(",")));
            }
            s
        })
        .collect()
}

fn exclusions(sb: &Sandbox, names: &[&str]) -> PathBuf {
    let p = sb.root.join("execution-exclusions.json");
    let items: Vec<Value> = names
        .iter()
        .map(|n| serde_json::json!({"recipe": n, "issue": "https://example.invalid/1", "reason": "r"}))
        .collect();
    std::fs::write(&p, serde_json::json!({"exclusions": items}).to_string()).unwrap();
    p
}

#[test]
fn linux_x86_64_retries_times_out_excludes_and_blocks() {
    let summary_path;
    let sb = {
        let sb = sandbox()
            .rules(&[
                ("bat@alpine", "val:6"),
                ("ffmpeg@*", "missingdep"),
                ("gum@rhel", "vflaky:1"),
                ("jq@debian", "vflaky:3"),
                ("slow@suse", "hang"),
            ])
            .env("GITHUB_TOKEN", "s3cr3t-token-value");
        summary_path = sb.root.join("step-summary.md");
        sb.env("GITHUB_STEP_SUMMARY", &summary_path)
    };
    recipes(&sb, &["amplify", "bat", "ffmpeg", "gum", "jq", "slow"]);
    let ex = exclusions(&sb, &["amplify", "not-in-batch"]);
    let t0 = Instant::now();
    let out = validate(
        &sb,
        "linux-x86_64",
        &[
            "--exclusions",
            ex.to_str().unwrap(),
            "--jobs",
            "4",
            "--timeout",
            "2s",
            "--kill-grace",
            "0s",
        ],
    )
    .never_prints("s3cr3t-token-value");
    out.code(exit::SUCCESS);
    // jq's three attempts wait 2 s, then 4 s (spec §7.3).
    assert!(t0.elapsed() >= Duration::from_secs(6), "{:?}", t0.elapsed());
    let got = brief(&rows(&out_file(&sb, "linux-x86_64")));
    let fam = |f: &str| {
        if f == "alpine" {
            format!("linux-{f}-musl-x86_64")
        } else {
            format!("linux-{f}-glibc-x86_64")
        }
    };
    // Sorted by platform name within a recipe: alpine, arch, debian, rhel, suse.
    let order = ["alpine", "arch", "debian", "rhel", "suse"];
    let mut want = Vec::new();
    for f in order {
        want.push(format!("amplify {} skipped", fam(f)));
    }
    for f in order {
        let tail = if f == "alpine" {
            "fail exit=6 attempts=1"
        } else {
            "pass exit=0 attempts=1"
        };
        want.push(format!("bat {} {tail}", fam(f)));
    }
    for f in order {
        want.push(format!(
            "ffmpeg {} fail exit=8 attempts=1 blocked_by=ffmpeg-dep",
            fam(f)
        ));
    }
    for f in order {
        let n = if f == "rhel" { 2 } else { 1 };
        want.push(format!("gum {} pass exit=0 attempts={n}", fam(f)));
    }
    for f in order {
        let tail = if f == "debian" {
            "fail exit=5 attempts=3"
        } else {
            "pass exit=0 attempts=1"
        };
        want.push(format!("jq {} {tail}", fam(f)));
    }
    for f in order {
        let tail = if f == "suse" {
            "fail exit=124 attempts=1 timed_out"
        } else {
            "pass exit=0 attempts=1"
        };
        want.push(format!("slow {} {tail}", fam(f)));
    }
    assert_eq!(got, want);
    let all = rows(&out_file(&sb, "linux-x86_64"));
    assert!(all.iter().all(|r| r["batch_id"] == "b-1"));
    assert_eq!(all[5]["path"], "b/bat.toml");

    // Every install is sandboxed in its family and gets the token by name only.
    let log = read_lines(&sb.log);
    assert_eq!(log.len(), 5 * 5 + 1 + 2, "{log:#?}");
    for l in &log {
        assert!(l.starts_with("install --json --force --recipe "), "{l}");
        assert!(l.contains(" --sandbox --target-family "), "{l}");
        assert!(l.ends_with(" --env GITHUB_TOKEN"), "{l}");
        assert!(!l.contains("amplify"), "{l}");
    }
    let md = std::fs::read_to_string(&summary_path).unwrap();
    assert!(md.contains("| Total | Passed | Failed | Skipped |"), "{md}");
    assert!(md.contains("| 30 | 17 | 8 | 5 |"), "{md}");
    assert!(
        out.stdout
            .contains("Total: 30  Passed: 17  Failed: 8  Skipped: 5"),
        "{}",
        out.ctx()
    );
    assert!(
        !sb.root
            .join("validation-results-linux-x86_64.json.journal")
            .exists()
    );
}

#[test]
fn linux_arm64_defaults_to_four_families_and_family_narrows_them() {
    let sb = sandbox().rules(&[("bat@rhel", "verify:1")]);
    recipes(&sb, &["bat"]);
    let out = validate(&sb, "linux-arm64", &["--json"]);
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&out_file(&sb, "linux-arm64"))),
        [
            "bat linux-alpine-musl-arm64 pass exit=0 attempts=1",
            "bat linux-debian-glibc-arm64 pass exit=0 attempts=1",
            // The sandbox's verify step failed: tsuku's ExitVerifyFailed (issue #22).
            "bat linux-rhel-glibc-arm64 fail exit=7 attempts=1",
            "bat linux-suse-glibc-arm64 pass exit=0 attempts=1",
        ]
    );
    let doc = out.json();
    assert_eq!(
        (
            &doc["total"],
            &doc["passed"],
            &doc["failed"],
            &doc["skipped"]
        ),
        (
            &Value::from(4),
            &Value::from(3),
            &Value::from(1),
            &Value::from(0)
        )
    );
    assert_eq!(doc["failures"][0]["platform"], "linux-rhel-glibc-arm64");
    // No GITHUB_TOKEN in the environment: no --env.
    assert!(read_lines(&sb.log).iter().all(|l| !l.contains("--env")));

    let out = validate(
        &sb,
        "linux-arm64",
        &["--family", "alpine,debian", "--family", "alpine"],
    );
    out.code(exit::SUCCESS);
    let got = brief(&rows(&out_file(&sb, "linux-arm64")));
    assert_eq!(
        got,
        [
            "bat linux-alpine-musl-arm64 pass exit=0 attempts=1",
            "bat linux-debian-glibc-arm64 pass exit=0 attempts=1",
        ]
    );
}

#[test]
fn darwin_arm64_is_one_unsandboxed_row_with_retries_and_blocked_by() {
    let sb = sandbox()
        .env("FAKE_TSUKU_PLATFORM", "darwin-arm64")
        .env("GITHUB_TOKEN", "tok")
        .rules(&[
            ("bat@darwin-arm64", "val:7"),
            ("ffmpeg@darwin-*", "missingdep"),
            ("gum@darwin-arm64", "vflaky:2"),
        ]);
    recipes(&sb, &["bat", "ffmpeg", "gum", "jq", "cdk"]);
    let ex = exclusions(&sb, &["cdk"]);
    let out = validate(&sb, "darwin-arm64", &["--exclusions", ex.to_str().unwrap()]);
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&out_file(&sb, "darwin-arm64"))),
        [
            "bat darwin-arm64 fail exit=7 attempts=1",
            "cdk darwin-arm64 skipped",
            "ffmpeg darwin-arm64 fail exit=8 attempts=1 blocked_by=ffmpeg-dep",
            "gum darwin-arm64 pass exit=0 attempts=3",
            "jq darwin-arm64 pass exit=0 attempts=1",
        ]
    );
    for l in read_lines(&sb.log) {
        assert!(!l.contains("--sandbox") && !l.contains("--env"), "{l}");
    }
    // A family on macOS is a usage error; nothing is written.
    std::fs::remove_file(out_file(&sb, "darwin-arm64")).unwrap();
    let out = validate(&sb, "darwin-arm64", &["--family", "debian"]);
    out.code(exit::USAGE);
    assert!(out.stderr.contains("--family"), "{}", out.ctx());
    assert!(!out_file(&sb, "darwin-arm64").exists());
}

#[test]
fn darwin_x86_64_times_out_and_uses_the_default_out_name() {
    let sb = sandbox()
        .env("FAKE_TSUKU_PLATFORM", "darwin-x86_64")
        .rules(&[
            ("slow@darwin-x86_64", "hang"),
            ("bat@darwin-arm64", "val:6"),
        ]);
    recipes(&sb, &["bat", "slow"]);
    let mut cmd = sb.bare_cmd();
    cmd.arg("validate")
        .args(["--platform", "darwin-x86_64", "--batch-id", "b-2"])
        .args(["--timeout", "1s", "--kill-grace", "0s", "--recipes"])
        .arg(sb.root.join("recipes"))
        .arg("--generator")
        .arg(&sb.generator);
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    // Written in the working directory under the spec's name.
    let file = sb.cwd.join("validation-results-darwin-x86_64.json");
    assert_eq!(
        brief(&rows(&file)),
        [
            "bat darwin-x86_64 pass exit=0 attempts=1",
            "slow darwin-x86_64 fail exit=124 attempts=1 timed_out",
        ]
    );
}

#[test]
fn bad_input_is_a_clear_error_and_writes_nothing() {
    let sb = sandbox();
    recipes(&sb, &["bat"]);
    let bad = sb.root.join("ex.json");
    std::fs::write(
        &bad,
        "{\"exclusions\": [\n  {\"recipe\": \"a\"},\n  {\"reason\": 1}\n]}",
    )
    .unwrap();
    let out = validate(
        &sb,
        "linux-x86_64",
        &["--exclusions", bad.to_str().unwrap()],
    );
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("ex.json:3:"), "{}", out.ctx());
    assert!(out.stderr.contains("hint:"), "{}", out.ctx());

    let mut cmd = sb.bare_cmd();
    cmd.args([
        "validate",
        "--platform",
        "linux-x86_64",
        "--batch-id",
        "b-1",
    ])
    .arg("--recipes")
    .arg(sb.root.join("missing"))
    .arg("--generator")
    .arg(&sb.generator);
    let out = run_cmd(&mut cmd);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("missing"), "{}", out.ctx());

    // A journal of another batch is refused.
    let journal = sb.root.join("validation-results-linux-x86_64.json.journal");
    std::fs::write(
        &journal,
        "{\"kind\":\"start\",\"batch_id\":\"other\",\"platform\":\"linux-x86_64\"}\n",
    )
    .unwrap();
    let out = validate(&sb, "linux-x86_64", &[]);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("\"other\""), "{}", out.ctx());

    let out = validate(&sb, "linux-amd64", &[]);
    out.code(exit::USAGE);
    assert!(!out_file(&sb, "linux-x86_64").exists());
    assert!(!sb.log.exists(), "nothing was installed");
}

/// The row platforms of a job platform's default families, in the file's (name) order.
fn default_rows(platform: &str) -> Vec<String> {
    let arch = platform.split_once('-').unwrap().1;
    let fams: &[&str] = match platform {
        "linux-x86_64" => &["alpine", "arch", "debian", "rhel", "suse"],
        "linux-arm64" => &["alpine", "debian", "rhel", "suse"],
        _ => return vec![platform.to_owned()],
    };
    fams.iter()
        .map(|f| {
            let libc = if *f == "alpine" { "musl" } else { "glibc" };
            format!("linux-{f}-{libc}-{arch}")
        })
        .collect()
}

#[test]
fn every_platform_retries_times_out_excludes_and_blocks() {
    for platform in [
        "linux-x86_64",
        "linux-arm64",
        "darwin-arm64",
        "darwin-x86_64",
    ] {
        let sb = sandbox().env("FAKE_TSUKU_PLATFORM", platform).rules(&[
            ("bad@*", "val:6"),
            ("dep@*", "missingdep"),
            ("net@*", "vflaky:1"),
            ("slow@*", "hang"),
        ]);
        recipes(&sb, &["bad", "dep", "net", "ok", "slow", "skip"]);
        let ex = exclusions(&sb, &["skip"]);
        let out = validate(
            &sb,
            platform,
            &[
                "--exclusions",
                ex.to_str().unwrap(),
                "--jobs",
                "4",
                "--timeout",
                "1s",
                "--kill-grace",
                "0s",
            ],
        );
        out.code(exit::SUCCESS);
        let mut want = Vec::new();
        for (recipe, tail) in [
            ("bad", "fail exit=6 attempts=1"),
            ("dep", "fail exit=8 attempts=1 blocked_by=dep-dep"),
            ("net", "pass exit=0 attempts=2"),
            ("ok", "pass exit=0 attempts=1"),
            ("skip", "skipped"),
            ("slow", "fail exit=124 attempts=1 timed_out"),
        ] {
            for row in default_rows(platform) {
                want.push(format!("{recipe} {row} {tail}"));
            }
        }
        assert_eq!(brief(&rows(&out_file(&sb, platform))), want, "{platform}");
        let sandboxed = platform.starts_with("linux");
        for l in read_lines(&sb.log) {
            assert_eq!(l.contains("--sandbox --target-family"), sandboxed, "{l}");
        }
    }
}

#[test]
fn symlinks_nested_paths_and_dot_dot_names_are_reported_not_installed() {
    let sb = sandbox().env("FAKE_TSUKU_PLATFORM", "darwin-arm64");
    let dir = recipes(&sb, &["bat"]);
    let outside = sb.root.join("outside");
    std::fs::create_dir_all(outside.join("x")).unwrap();
    std::fs::write(outside.join("x/evil.toml"), "").unwrap();
    std::os::unix::fs::symlink(outside.join("x"), dir.join("x")).unwrap();
    std::os::unix::fs::symlink(outside.join("x/evil.toml"), dir.join("b/linked.toml")).unwrap();
    std::fs::create_dir_all(dir.join("o/owner/tap")).unwrap();
    std::fs::write(dir.join("o/owner/tap/deep.toml"), "").unwrap();
    std::fs::write(dir.join("b/b..c.toml"), "").unwrap();
    let out = validate(&sb, "darwin-arm64", &[]);
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&out_file(&sb, "darwin-arm64"))),
        ["bat darwin-arm64 pass exit=0 attempts=1"]
    );
    for (rel, why) in [
        ("b/b..c.toml", "`..`"),
        ("b/linked.toml", "symlinks are not followed"),
        ("o/owner", "nested"),
        ("x", "symlinks are not followed"),
    ] {
        let line = format!("not validated: {rel} (");
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&line) && l.contains(why)),
            "{rel}: {}",
            out.ctx()
        );
    }
    assert_eq!(read_lines(&sb.log).len(), 1);
}
