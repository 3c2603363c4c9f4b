//! tsuku's side of the seam: argv (spec §4.2, §4.3, §7.3), exit codes, `blocked_by`, the
//! `--json` output and how [`Tsuku`] reads a process into a [`Reading`].

use std::path::Path;
use std::time::Duration;

use super::Tsuku;
use super::argv;
use super::read::*;
use crate::config::Config;
use crate::generator::{Category, Generator, Job, Reading, Target};
use crate::runner::{Exit, Output};
use crate::validate::{Family, JobPlatform, ValidateConfig};

fn strings(args: &[std::ffi::OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn output(exit: Exit, stdout: &str, stderr: &str) -> Output {
    Output {
        exit,
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// argv
// ---------------------------------------------------------------------------------------------

/// Spec §4.2, §4.3: the main run's two commands, their streams, program, env and timeout.
#[test]
fn main_run_commands() {
    let mut config = Config::new();
    config.generator = "/opt/tsuku".into();
    config.generator_env = vec![("TSUKU_HOME".into(), "/h".into())];
    config.timeout = Duration::from_secs(42);
    let tsuku = Tsuku::for_run(&config);
    let target = Target {
        name: "bat",
        source: "github:sharkdp/bat",
        recipe: Path::new("/out/b/bat.toml"),
    };
    let create = tsuku.command(&Job::Create(target));
    assert_eq!(
        strings(&create.args),
        [
            "create",
            "bat",
            "--from",
            "github:sharkdp/bat",
            "--output",
            "/out/b/bat.toml",
            "--yes",
            "--skip-sandbox",
            "--deterministic-only"
        ]
    );
    assert!(
        create.merge_output,
        "create's output is one stream (spec §4.2)"
    );
    let install = tsuku.command(&Job::Install(target));
    assert_eq!(
        strings(&install.args),
        ["install", "--json", "--recipe", "/out/b/bat.toml"]
    );
    assert!(
        !install.merge_output,
        "install keeps stdout and stderr apart (spec §4.3)"
    );
    for c in [&create, &install] {
        assert_eq!(c.program, Path::new("/opt/tsuku"));
        assert_eq!(c.env, config.generator_env);
        assert_eq!(c.timeout, Duration::from_secs(42));
        assert_eq!(c.current_dir, None);
    }
}

#[test]
fn argv_per_platform_passes_the_token_by_name() {
    let recipe = Path::new("/r/b/bat.toml");
    let linux = strings(&argv::validate(recipe, Some(Family::Alpine), false));
    assert_eq!(
        linux,
        [
            "install",
            "--json",
            "--force",
            "--recipe",
            "/r/b/bat.toml",
            "--sandbox",
            "--target-family",
            "alpine"
        ]
    );
    let with_token = strings(&argv::validate(recipe, Some(Family::Alpine), true));
    assert_eq!(with_token[8..], ["--env", "GITHUB_TOKEN"]);
    let darwin = strings(&argv::validate(recipe, None, true));
    assert_eq!(
        darwin,
        ["install", "--json", "--force", "--recipe", "/r/b/bat.toml"]
    );
}

/// The validation command takes the job's generator, timeout and token setting, and no
/// extra environment.
#[test]
fn validation_command_follows_the_validate_config() {
    let mut c = ValidateConfig::new(JobPlatform::LinuxArm64, "2026-12-01-001");
    c.generator = "/bin/tsuku".into();
    c.timeout = Duration::from_secs(7);
    c.pass_github_token = true;
    let cmd = Tsuku::for_validation(&c).command(&Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Debian),
    });
    assert_eq!(cmd.program, Path::new("/bin/tsuku"));
    assert_eq!(cmd.timeout, Duration::from_secs(7));
    assert!(cmd.env.is_empty() && !cmd.merge_output);
    assert_eq!(
        strings(&cmd.args)[5..],
        [
            "--sandbox",
            "--target-family",
            "debian",
            "--env",
            "GITHUB_TOKEN"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------

fn target() -> Target<'static> {
    Target {
        name: "bup",
        source: "rubygems:bup",
        recipe: Path::new("/out/b/bup.toml"),
    }
}

/// Exit 5 is transient on every job; its failure says "after 3 retries" only on the last
/// attempt; exit 0 passes; a timeout of a validation install is code 124 and never transient.
#[test]
fn reading_marks_the_network_code_transient() {
    let net = output(Exit::Code(5), "registry 503", "");
    let r = read(&Job::Create(target()), &net, false);
    assert!(r.transient);
    assert_eq!(
        r.failure.as_ref().map(|f| f.category),
        Some(Category::NetworkError)
    );
    assert!(!r.failure.unwrap().message.starts_with("failed after"));
    let r = read(&Job::Create(target()), &net, true);
    assert_eq!(
        r.failure.unwrap().message,
        "failed after 3 retries: tsuku create rubygems:bup: exit 5: registry 503"
    );
    let r = read(
        &Job::Install(target()),
        &output(Exit::Code(5), "", "down"),
        true,
    );
    assert!(r.transient);
    assert_eq!(r.failure.unwrap().message, "failed after 3 retries: down");
    let ok = read(
        &Job::Install(target()),
        &output(Exit::Code(0), "", ""),
        true,
    );
    assert_eq!(
        ok,
        Reading {
            code: 0,
            transient: false,
            connect_failed: false,
            failure: None,
            unavailable: None,
            verify_exit_code: None,
        }
    );
    let v = Job::Validate {
        recipe: Path::new("/r/b/bup.toml"),
        family: None,
    };
    // The JSON's code decides for a validation install, not the process's.
    let r = read(
        &v,
        &output(Exit::Code(1), r#"{"install_exit_code":5}"#, ""),
        false,
    );
    assert!(r.transient && r.code == 5);
    // Issue #22: a pass needs the process to exit 0 too; a JSON code of 0 leaves the
    // process's code.
    let r = read(
        &v,
        &output(Exit::Code(5), r#"{"install_exit_code":0}"#, ""),
        false,
    );
    assert!(r.transient && !r.passed() && r.code == 5);
    let r = read(
        &v,
        &output(
            Exit::TimedOut(Duration::from_secs(300)),
            r#"{"exit_code":5}"#,
            "",
        ),
        false,
    );
    assert_eq!((r.code, r.transient), (124, false));
    // A signal is neither transient nor a pass on either path.
    let r = read(
        &Job::Create(target()),
        &output(Exit::Signal(9), "", ""),
        true,
    );
    assert!(!r.transient && r.code == -1 && !r.passed());
}

/// Issue #22: a network exit whose headline is a failed dial (the transcript's offline
/// texts) is `connect_failed` on every job, read from what each job's error is in: `create`'s
/// combined output, `install`'s stderr, a validation install's JSON message. The registry's
/// 503 is not, nor is a dial error with another exit code.
#[test]
fn reading_marks_failed_dials_as_connect_failed() {
    let dns = "dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host";
    let warn = "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.";
    let create = |code, text: &str| {
        read(
            &Job::Create(target()),
            &output(Exit::Code(code), text, ""),
            false,
        )
    };
    let r = create(
        5,
        &format!(
            "{warn}\nError checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": {dns}\n"
        ),
    );
    assert!(r.transient && r.connect_failed);
    let r = create(
        5,
        &format!("{warn}\nError checking package: Homebrew API returned status 503\n"),
    );
    assert!(r.transient && !r.connect_failed);
    let r = create(6, &format!("{warn}\nError: {dns}\n"));
    assert!(!r.transient && !r.connect_failed);
    let install = |stdout: &str, stderr: &str| {
        read(
            &Job::Install(target()),
            &output(Exit::Code(5), stdout, stderr),
            true,
        )
    };
    let r = install(
        "",
        &format!(
            "warning: version resolution failed: {dns}, using 'dev'\nFailed to generate plan: failed to download: {dns}\n"
        ),
    );
    assert!(r.transient && r.connect_failed);
    let r = install(
        &format!(r#"{{"message": "{dns}"}}"#),
        "Failed to generate plan: GitHub API returned status 502\n",
    );
    assert!(r.transient && !r.connect_failed);
    let v = Job::Validate {
        recipe: Path::new("/r/b/bup.toml"),
        family: None,
    };
    let host = |message: &str| {
        format!(
            r#"{{"status": "error", "category": "network_error", "subcategory": "dns_error", "message": "{message}", "missing_recipes": [], "install_exit_code": 5}}"#
        )
    };
    let r = read(
        &v,
        &output(
            Exit::Code(5),
            &host(&format!("failed to download: {dns}")),
            "",
        ),
        false,
    );
    assert!(r.transient && r.connect_failed);
    let r = read(
        &v,
        &output(Exit::Code(5), &host("GitHub API returned status 502"), ""),
        false,
    );
    assert!(r.transient && !r.connect_failed);
}

/// A validation failure carries `missing_recipes` as `blocked_by` on code 8 only.
#[test]
fn validation_blocked_by_only_on_missing_dep() {
    let v = Job::Validate {
        recipe: Path::new("/r/f/ffmpeg.toml"),
        family: Some(Family::Debian),
    };
    let json = r#"{"install_exit_code":8,"missing_recipes":["dav1d","../x"]}"#;
    let r = read(&v, &output(Exit::Code(8), json, ""), true);
    assert_eq!(r.code, 8);
    assert_eq!(r.failure.unwrap().blocked_by, ["dav1d"]);
    let json = r#"{"install_exit_code":6,"missing_recipes":["dav1d"]}"#;
    let r = read(&v, &output(Exit::Code(6), json, ""), true);
    assert_eq!(r.code, 6);
    assert!(r.failure.unwrap().blocked_by.is_empty());
}

/// tsuku's `install --json --recipe` never writes `exit_code` (only the ambiguous-match
/// object of `install <tool>` does, `cmd/tsuku/install.go`), so the old `exit_code` fallback is
/// gone (issue #22): the JSON's `install_exit_code`, else the process's code.
#[test]
fn exit_code_prefers_install_exit_code_then_the_process() {
    let o = |exit, stdout: &str| Output {
        exit,
        stdout: stdout.as_bytes().to_vec(),
        stderr: b"{\"exit_code\": 9}".to_vec(),
    };
    let cases = [
        (
            o(Exit::Code(1), r#"{"install_exit_code":6,"exit_code":1}"#),
            6,
        ),
        (o(Exit::Code(1), r#"{"exit_code":7}"#), 1),
        (
            o(Exit::Code(3), r#"{"install_exit_code":null,"exit_code":4}"#),
            3,
        ),
        (o(Exit::Code(3), "not json"), 3),
        (o(Exit::Code(0), r#"{"status":"ok"}"#), 0),
        (o(Exit::Code(2), r#"{"exit_code":"8"}"#), 2),
        (o(Exit::Signal(9), ""), 137),
        (o(Exit::TimedOut(Duration::from_secs(300)), ""), 124),
    ];
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: None,
    };
    for (i, (output, want)) in cases.iter().enumerate() {
        assert_eq!(read(&job, output, false).code, *want, "case {i}");
    }
}

// ---------------------------------------------------------------------------------------------
// classification (moved from runner::classify)
// ---------------------------------------------------------------------------------------------

#[test]
fn exit_code_map() {
    let cases = [
        (3, "recipe_not_found"),
        (5, "network_error"),
        (6, "install_failed"),
        (7, "verify_failed"),
        (8, "missing_dep"),
        (9, "generation_failed"),
        (1, "generation_failed"),
        (124, "generation_failed"),
        (-1, "generation_failed"),
    ];
    for (code, cat) in cases {
        assert_eq!(category(code).as_str(), cat, "exit {code}");
    }
}

#[test]
fn blocked_by_cases_from_the_go_tests() {
    let cases: [(&str, &[&str]); 10] = [
        ("Error: recipe bdw-gc not found in registry", &["bdw-gc"]),
        (
            "Error: recipe libpng not found in registry\nError: recipe libjpeg not found in registry",
            &["libpng", "libjpeg"],
        ),
        (
            "recipe dav1d not found in registry; recipe dav1d not found in registry",
            &["dav1d"],
        ),
        ("Error: download failed: 404 Not Found", &[]),
        ("", &[]),
        ("recipe ../../etc/passwd not found in registry", &[]),
        ("recipe foo\\bar not found in registry", &[]),
        ("recipe foo..bar not found in registry", &[]),
        ("recipe <script> not found in registry", &[]),
        (
            "recipe libpng not found in registry\nrecipe ../x not found in registry\nrecipe libjpeg not found in registry",
            &["libpng", "libjpeg"],
        ),
    ];
    for (out, want) in cases {
        assert_eq!(extract_blocked_by(out.as_bytes()), want, "{out:?}");
    }
    assert_eq!(
        extract_blocked_by(b"recipe openssl@3 not found in registry"),
        ["openssl@3"]
    );
}

#[test]
fn blocked_by_cap_keeps_first_hundred() {
    let out: String = (0..150)
        .map(|i| format!("recipe dep{i} not found in registry\n"))
        .collect();
    let got = extract_blocked_by(out.as_bytes());
    assert_eq!(got.len(), 100);
    assert_eq!(got[0], "dep0");
    assert_eq!(got[99], "dep99");
}

#[test]
fn dependency_names() {
    for ok in ["libpng", "bdw-gc", "openssl@3"] {
        assert!(is_valid_dependency_name(ok));
    }
    for bad in [
        "",
        "foo/bar",
        "foo\\bar",
        "foo..bar",
        "foo<bar",
        "foo>bar",
        "../../etc/passwd",
        "a\0b",
    ] {
        assert!(!is_valid_dependency_name(bad), "{bad:?}");
    }
}

#[test]
fn truncation() {
    let long = format!("  {}\n", "x".repeat(600));
    let m = truncate_message(&long);
    assert_eq!(m.len(), 503);
    assert_eq!(m, format!("{}...", "x".repeat(500)));
    assert_eq!(truncate_message("  short \n"), "short");
    // 499 ASCII bytes then a 3-byte character straddling the 500-byte cut.
    let s = format!("{}€tail{}", "a".repeat(499), "b".repeat(100));
    let m = truncate_message(&s);
    assert_eq!(m, format!("{}...", "a".repeat(499)));
    let exact = "y".repeat(500);
    assert_eq!(truncate_message(&exact), exact);
}

#[test]
fn create_classification() {
    let f = classify_create(
        Exit::Code(6),
        b"Error: recipe bdw-gc not found in registry",
        false,
        "homebrew:guile",
    );
    assert_eq!(
        (f.category, f.blocked, f.blocked_by.clone()),
        (Category::MissingDep, true, vec!["bdw-gc".to_owned()])
    );
    let f = classify_create(
        Exit::Code(6),
        b"Error: deterministic generation failed",
        false,
        "s",
    );
    assert_eq!((f.category, f.blocked), (Category::InstallFailed, false));
    let f = classify_create(Exit::Code(9), b"recipe x not found in registry", false, "s");
    assert_eq!((f.category, f.blocked), (Category::GenerationFailed, true));
    let f = classify_create(Exit::Code(3), b"recipe x not found in registry", false, "s");
    assert_eq!((f.category, f.blocked), (Category::RecipeNotFound, true));
    let f = classify_create(Exit::Code(8), b"no pattern", false, "s");
    assert_eq!((f.category, f.blocked), (Category::MissingDep, false));
    let f = classify_create(Exit::Signal(9), b"", false, "s");
    assert_eq!(f.category, Category::GenerationFailed);
    let f = classify_create(Exit::Code(5), b"  registry 503\n", true, "rubygems:bup");
    assert_eq!(f.category, Category::NetworkError);
    assert_eq!(
        f.message,
        "failed after 3 retries: tsuku create rubygems:bup: exit 5: registry 503"
    );
    assert!(f.blocked_by.is_empty() && !f.blocked);
}

#[test]
fn timeouts_take_the_step_category() {
    let f = classify_create(
        Exit::TimedOut(Duration::from_secs(900)),
        b"partial",
        false,
        "s",
    );
    assert_eq!(
        (f.category, f.subcategory.as_str()),
        (Category::GenerationFailed, "timeout")
    );
    assert!(f.message.starts_with("timed out after 900s"));
    let f = classify_install(Exit::TimedOut(Duration::from_millis(1500)), b"", b"", false);
    assert_eq!(
        (f.category, f.subcategory.as_str(), f.blocked),
        (Category::InstallFailed, "timeout", false)
    );
}

#[test]
fn install_json_cases() {
    let j = |s: &str| parse_install_json(s.as_bytes());
    let a = j(
        r#"{"status":"error","category":"missing_dep","message":"failed","missing_recipes":["dav1d","libfoo"],"exit_code":8}"#,
    );
    assert_eq!(a.missing_recipes, ["dav1d", "libfoo"]);
    assert_eq!(j("not json at all"), InstallJson::default());
    assert_eq!(j(""), InstallJson::default());
    assert_eq!(j(r#"{"subcategory":"x"} trailing"#), InstallJson::default());
    assert_eq!(
        j(r#"{"missing_recipes":"notalist"}"#),
        InstallJson::default()
    );
    assert_eq!(
        j(r#"{"subcategory":"tls_error","missing_recipes":[]}"#).subcategory,
        "tls_error"
    );
    // Deliberate fix (spec §9.1.9): install names are sanitised like generation names.
    assert_eq!(
        j(r#"{"missing_recipes":["../x","a","a"]}"#).missing_recipes,
        ["a"]
    );
}

#[test]
fn install_classification() {
    let out = br#"{"status":"error","category":"network_error","subcategory":"tls_error","missing_recipes":[],"exit_code":6}"#;
    let f = classify_install(Exit::Code(6), out, b"Error: tls\n", false);
    assert_eq!(
        (f.category, f.subcategory.as_str(), f.blocked),
        (Category::InstallFailed, "tls_error", false)
    );
    assert_eq!(f.message, "Error: tls");
    let f = classify_install(Exit::Code(3), b"", b"", false);
    assert_eq!(
        (f.category, f.blocked, f.blocked_by.len()),
        (Category::RecipeNotFound, true, 0)
    );
    let f = classify_install(
        Exit::Code(8),
        br#"{"missing_recipes":["dav1d"]}"#,
        b"",
        false,
    );
    assert_eq!((f.category, f.blocked), (Category::MissingDep, true));
    let f = classify_install(Exit::Code(7), b"", b"verify", false);
    assert_eq!((f.category, f.blocked), (Category::VerifyFailed, false));
    let f = classify_install(
        Exit::Code(5),
        br#"{"subcategory":"timeout"}"#,
        b"net down",
        true,
    );
    assert_eq!(f.message, "failed after 3 retries: net down");
    assert_eq!(
        (f.category, f.subcategory.as_str(), f.blocked),
        (Category::NetworkError, "timeout", false)
    );
}
