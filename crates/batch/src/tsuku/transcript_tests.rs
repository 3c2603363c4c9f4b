//! Every `create` / `install` case of tsuku's real CLI (`testdata/tsuku-cli/transcript.txt`,
//! tsuku 7b4eba1) through the reader, and the sandbox shapes of tsuku's
//! `buildSandboxJSONOutput` (`cmd/tsuku/install_sandbox.go`) as `printJSON` writes them
//! (2-space indent, the struct's key order, `omitempty` outputs). The expected verdicts are
//! written from tsuku's source and the spec, not from a run of this reader.

use std::path::Path;

use super::Tsuku;
use super::read::{MAX_VALIDATION_MESSAGE_BYTES, read};
use crate::config::Config;
use crate::generator::{Generator, Job, Reading, Target};
use crate::runner::{Exit, Output};
use crate::validate::Family;

/// One `$ cmd` block of the transcript.
#[derive(Debug)]
struct Block {
    cmd: String,
    exit: i32,
    stdout: String,
    stderr: String,
}

/// Parses the transcript's `$ cmd` / `--- exit=N wall=…` / `--- stdout:` / `--- stderr:`
/// blocks; each stream keeps its lines with a trailing newline (empty stays empty).
fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    // 0: before stdout, 1: stdout, 2: stderr.
    let mut part = 0;
    let mut stdout: Vec<&str> = Vec::new();
    let mut stderr: Vec<&str> = Vec::new();
    let join = |lines: &mut Vec<&str>| {
        while lines.last() == Some(&"") {
            lines.pop();
        }
        let s: String = lines.iter().map(|l| format!("{l}\n")).collect();
        lines.clear();
        s
    };
    for line in text.lines() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            if let Some(b) = out.last_mut() {
                b.stdout = join(&mut stdout);
                b.stderr = join(&mut stderr);
            }
            out.push(Block {
                cmd: cmd.to_owned(),
                exit: -1,
                stdout: String::new(),
                stderr: String::new(),
            });
            part = 0;
        } else if let Some(rest) = line.strip_prefix("--- exit=") {
            let code = rest.split_whitespace().next().expect("exit=N wall=…");
            out.last_mut().expect("a command first").exit = code.parse().expect("an exit code");
        } else if line == "--- stdout:" {
            part = 1;
        } else if line == "--- stderr:" {
            part = 2;
        } else if part == 1 {
            stdout.push(line);
        } else if part == 2 {
            stderr.push(line);
        }
    }
    if let Some(b) = out.last_mut() {
        b.stdout = join(&mut stdout);
        b.stderr = join(&mut stderr);
    }
    out
}

fn transcript() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tsuku-cli/transcript.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Which reader a case goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum As {
    /// Main-run `create` (stdout and stderr as one stream).
    Create,
    /// Main-run `install`.
    Install,
    /// `validate`'s install; `Some` family with `--sandbox`.
    Validate(Option<Family>),
}

/// What the reader must decide: `None` category for a pass.
struct Want {
    /// A substring naming the block's command (exactly one block matches).
    cmd: &'static str,
    as_: As,
    category: Option<&'static str>,
    code: i32,
    transient: bool,
    blocked_by: &'static [&'static str],
    /// What the message's headline (tsuku's notices skipped) starts with.
    headline: &'static str,
}

const fn want(
    cmd: &'static str,
    as_: As,
    category: Option<&'static str>,
    code: i32,
    headline: &'static str,
) -> Want {
    Want {
        cmd,
        as_,
        category,
        code,
        transient: code == 5,
        blocked_by: &[],
        headline,
    }
}

const NET: Option<&str> = Some("network_error");
const GEN: Option<&str> = Some("generation_failed");
const INSTALL: Option<&str> = Some("install_failed");

/// The verdict per transcript command.
const WANT: &[Want] = &[
    want("create --help", As::Create, None, 0, ""),
    want("install --help", As::Install, None, 0, ""),
    want("install --help", As::Validate(None), None, 0, ""),
    // Exit 5 is tsuku's network code (`cmd/tsuku/exitcodes.go`): retried, `network_error`.
    want(
        "create jq --from homebrew\0",
        As::Create,
        NET,
        5,
        "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\"",
    ),
    want(
        "create jq --from homebrew:jq",
        As::Create,
        NET,
        5,
        "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\"",
    ),
    want(
        "create ripgrep",
        As::Create,
        NET,
        5,
        "Error checking package: failed to fetch crate info: Get \"https://crates.io/api/v1/crates/ripgrep\"",
    ),
    // Exit 9 (`ExitDeterministicFailed`): not in spec §4.4's table, so `generation_failed`.
    want(
        "create gh",
        As::Create,
        GEN,
        9,
        "Error: 'gh' resolved to github (cli/cli), which requires LLM for recipe generation.",
    ),
    // Main-run install: the message is stderr (spec §4.5), notices skipped in the headline.
    want(
        "j/jq.toml\0",
        As::Install,
        INSTALL,
        6,
        "Failed to generate plan: failed to resolve step github_file:",
    ),
    want(
        "b/bison.toml\0",
        As::Install,
        INSTALL,
        6,
        "Failed to generate plan: failed to resolve step homebrew:",
    ),
    want(
        "a/aider.toml",
        As::Install,
        INSTALL,
        6,
        "Failed to generate plan: failed to resolve step github_archive:",
    ),
    // Validation: the message is the JSON's `message`.
    want(
        "j/jq.toml\0",
        As::Validate(None),
        INSTALL,
        6,
        "failed to resolve step github_file: failed to decompose github_file:",
    ),
    want(
        "b/bison.toml\0",
        As::Validate(None),
        INSTALL,
        6,
        "failed to resolve step homebrew: failed to decompose homebrew: failed to decompose \"homebrew\": failed to get GHCR token: token request failed: Get \"https://ghcr.io/token?service=ghcr.io&scope=repository:homebrew/core/bison:pull\"",
    ),
    want(
        "a/aider.toml",
        As::Validate(None),
        INSTALL,
        6,
        "failed to resolve step pipx_install: eval-time dependencies not satisfied: failed to install python-standalone:",
    ),
    // `--sandbox` whose plan fails: the host object (`runSandboxInstall` returns the error to
    // `handleInstallError`), a recipe failure, not an unavailable runner.
    want(
        "jq.toml --sandbox",
        As::Validate(Some(Family::Debian)),
        INSTALL,
        6,
        "failed to generate plan: failed to resolve step github_file:",
    ),
    want(
        "bison.toml --sandbox",
        As::Validate(Some(Family::Debian)),
        INSTALL,
        6,
        "failed to generate plan: failed to resolve step homebrew:",
    ),
    want(
        "does-not-exist.toml",
        As::Validate(None),
        INSTALL,
        6,
        "failed to load recipe from $WORK/does-not-exist.toml: failed to read file: open $WORK/does-not-exist.toml: no such file or directory",
    ),
    want(
        "bad.toml",
        As::Validate(None),
        INSTALL,
        6,
        "failed to load recipe from $WORK/bad.toml: failed to parse TOML: toml: line 2: expected '.' or ']' to end table name, but got '\\n' instead",
    ),
];

fn target() -> Target<'static> {
    Target {
        name: "t",
        source: "s:t",
        recipe: Path::new("/out/t/t.toml"),
    }
}

fn read_as(as_: As, b: &Block) -> Reading {
    let exit = Exit::Code(b.exit);
    match as_ {
        As::Create => {
            let merged = format!("{}{}", b.stdout, b.stderr);
            let out = Output {
                exit,
                stdout: merged.into_bytes(),
                stderr: Vec::new(),
            };
            read(&Job::Create(target()), &out, false)
        }
        As::Install | As::Validate(_) => {
            let out = Output {
                exit,
                stdout: b.stdout.clone().into_bytes(),
                stderr: b.stderr.clone().into_bytes(),
            };
            let job = match as_ {
                As::Validate(family) => Job::Validate {
                    recipe: Path::new("/r/t/t.toml"),
                    family,
                },
                _ => Job::Install(target()),
            };
            read(&job, &out, false)
        }
    }
}

#[test]
fn every_transcript_case_reads_as_tsuku_means_it() {
    let text = transcript();
    let all = blocks(&text);
    assert_eq!(all.len(), 14, "commands in the transcript");
    let tsuku = Tsuku::for_run(&Config::new());
    // A `\0` in a needle marks the end of the command.
    let matches = |w: &Want, b: &Block| {
        let cmd = format!("{}\0", b.cmd);
        let needle = w.cmd;
        cmd.contains(needle)
            || (!needle.contains('\0') && cmd.contains(&format!("{needle} ")))
            || (!needle.contains('\0') && cmd.contains(&format!("{needle}\0")))
    };
    for b in &all {
        let is_case = b.cmd.contains("tsuku create") || b.cmd.contains("tsuku install");
        let n = WANT.iter().filter(|w| matches(w, b)).count();
        assert_eq!(
            n > 0,
            is_case,
            "every create/install case has a verdict: {}",
            b.cmd
        );
    }
    for w in WANT {
        let found: Vec<&Block> = all.iter().filter(|b| matches(w, b)).collect();
        assert_eq!(found.len(), 1, "{:?} names one command", w.cmd);
        let b = found[0];
        let r = read_as(w.as_, b);
        let ctx = format!("{} as {:?}: {r:?}", b.cmd, w.as_);
        assert_eq!(r.unavailable, None, "{ctx}");
        assert_eq!(r.code, w.code, "{ctx}");
        assert_eq!(r.transient, w.transient, "{ctx}");
        assert_eq!(r.verify_exit_code, None, "{ctx}");
        match (&r.failure, w.category) {
            (None, None) => assert!(r.passed(), "{ctx}"),
            (Some(f), Some(cat)) => {
                assert_eq!(f.category.as_str(), cat, "{ctx}");
                assert_eq!(f.blocked_by, w.blocked_by, "{ctx}");
                assert!(!f.blocked, "{ctx}");
                let line = tsuku.headline(&f.message);
                assert!(line.starts_with(w.headline), "{ctx}\nheadline: {line}");
                if matches!(w.as_, As::Validate(_)) {
                    assert!(f.message.len() <= MAX_VALIDATION_MESSAGE_BYTES, "{ctx}");
                }
            }
            _ => panic!("verdict differs: {ctx}"),
        }
    }
}

/// A `sandboxJSONOutput` as `printJSON` writes it.
struct Sbx<'a> {
    passed: bool,
    verified: bool,
    install: i32,
    verify: i32,
    install_output: &'a str,
    verify_output: &'a str,
    error: Option<&'a str>,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

impl Sbx<'_> {
    fn pretty(&self) -> String {
        let mut s = format!(
            "{{\n  \"tool\": \"bat\",\n  \"passed\": {},\n  \"verified\": {},\n  \"install_exit_code\": {},\n  \"verify_exit_code\": {},\n",
            self.passed, self.verified, self.install, self.verify
        );
        if !self.install_output.is_empty() {
            s += &format!("  \"install_output\": {},\n", q(self.install_output));
        }
        if !self.verify_output.is_empty() {
            s += &format!("  \"verify_output\": {},\n", q(self.verify_output));
        }
        s += "  \"duration_ms\": 48213,\n";
        s += &format!(
            "  \"error\": {}\n}}\n",
            self.error.map_or_else(|| "null".to_owned(), q)
        );
        s
    }
}

const SBX: Sbx<'static> = Sbx {
    passed: false,
    verified: false,
    install: -1,
    verify: -1,
    install_output: "",
    verify_output: "",
    error: None,
};

fn sandbox(exit: i32, s: &Sbx<'_>, stderr: &str) -> Reading {
    let out = Output {
        exit: Exit::Code(exit),
        stdout: s.pretty().into_bytes(),
        stderr: stderr.as_bytes().to_vec(),
    };
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Debian),
    };
    read(&job, &out, false)
}

#[test]
fn sandbox_shapes_read_as_tsuku_means_them() {
    // Passed, with a verify command (0) and without one (-1).
    for verify in [0, -1] {
        let r = sandbox(
            0,
            &Sbx {
                passed: true,
                verified: true,
                install: 0,
                verify,
                ..SBX
            },
            "",
        );
        assert!(r.passed() && r.code == 0, "{r:?}");
    }

    // Verify failed: install step 0, exit 6 (`emitSandboxJSON`), a failure with code 7.
    let r = sandbox(
        6,
        &Sbx {
            install: 0,
            verify: 1,
            verify_output: "bat: error while loading shared libraries: libgit2.so.1",
            error: Some("verification failed with exit code 1"),
            ..SBX
        },
        "",
    );
    let f = r.failure.as_ref().expect("a verify failure fails");
    assert_eq!(
        (r.code, r.verify_exit_code, r.transient),
        (7, Some(1), false)
    );
    assert_eq!(f.category.as_str(), "verify_failed");
    assert_eq!(
        f.message,
        "verification failed with exit code 1\nbat: error while loading shared libraries: libgit2.so.1"
    );
    assert!(r.unavailable.is_none());

    // Install step failed: its code, its output's tail.
    let r = sandbox(
        6,
        &Sbx {
            install: 6,
            install_output: "cargo build --release\nerror[E0432]: unresolved import",
            error: Some("installation failed with exit code 6"),
            ..SBX
        },
        "",
    );
    let f = r.failure.as_ref().expect("an install failure fails");
    assert_eq!(
        (r.code, f.category.as_str(), r.verify_exit_code),
        (6, "install_failed", None)
    );
    assert_eq!(
        f.message,
        "installation failed with exit code 6\ncargo build --release\nerror[E0432]: unresolved import"
    );
    // The container's own network code is retried like the host's.
    let r = sandbox(
        6,
        &Sbx {
            install: 5,
            error: Some("installation failed with exit code 5"),
            ..SBX
        },
        "",
    );
    assert!(r.transient && r.code == 5);

    // No container runtime: exit 0, install -1; the machine, not the recipe.
    let r = sandbox(
        0,
        &Sbx {
            error: Some("no container runtime available (install Podman or Docker)"),
            ..SBX
        },
        "",
    );
    assert_eq!(
        (r.failure.as_ref(), r.unavailable.as_deref(), r.passed()),
        (
            None,
            Some("no container runtime available (install Podman or Docker)"),
            false
        )
    );

    // The container could not run at all.
    let r = sandbox(
        6,
        &Sbx {
            error: Some(
                "container execution failed: exec: \"podman\": executable file not found in $PATH",
            ),
            ..SBX
        },
        "",
    );
    assert!(r.failure.is_none());
    assert!(
        r.unavailable
            .as_deref()
            .unwrap()
            .starts_with("container execution failed: exec:")
    );

    // tsuku's own container limit: a timeout of the recipe, never transient.
    for error in [
        "container execution timed out: context deadline exceeded",
        "installation failed with exit code -1",
    ] {
        let r = sandbox(
            6,
            &Sbx {
                install_output: "Compiling syn v2.0.0",
                error: Some(error),
                ..SBX
            },
            "",
        );
        let f = r.failure.as_ref().expect("a timeout fails");
        assert_eq!(
            (r.code, f.subcategory.as_str(), r.transient),
            (124, "timeout", false),
            "{error}"
        );
        assert!(
            r.unavailable.is_none() && f.message.starts_with(error),
            "{error}"
        );
    }

    // A long build log: at most 1 KiB, the error first, the log's end kept.
    let log = format!("{}\nmake: *** [all] Error 2", "x".repeat(20_000));
    let r = sandbox(
        6,
        &Sbx {
            install: 2,
            install_output: &log,
            error: Some("installation failed with exit code 2"),
            ..SBX
        },
        "",
    );
    let m = &r.failure.as_ref().unwrap().message;
    assert!(m.len() <= MAX_VALIDATION_MESSAGE_BYTES, "{}", m.len());
    assert!(
        m.starts_with("installation failed with exit code 2\n...xxx"),
        "{m}"
    );
    assert!(m.ends_with("make: *** [all] Error 2"), "{m}");

    // Compact JSON reads as the pretty one.
    let compact = br#"{"tool":"bat","passed":false,"verified":false,"install_exit_code":0,"verify_exit_code":3,"duration_ms":1,"error":"verification failed with exit code 3"}"#;
    let out = Output {
        exit: Exit::Code(6),
        stdout: compact.to_vec(),
        stderr: Vec::new(),
    };
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Alpine),
    };
    let r = read(&job, &out, false);
    assert_eq!((r.code, r.verify_exit_code), (7, Some(3)));

    // `passed` alone is not enough: the process must exit 0 too.
    let r = sandbox(
        6,
        &Sbx {
            passed: true,
            verified: true,
            install: 0,
            verify: 0,
            ..SBX
        },
        "Error: boom",
    );
    assert!(!r.passed() && r.code == 6, "{r:?}");
}

#[test]
fn machine_errors_are_unavailable() {
    let job = Job::Validate {
        recipe: Path::new("/r/b/bat.toml"),
        family: Some(Family::Rhel),
    };
    let host = |message: &str| {
        format!(
            "{{\n  \"status\": \"error\",\n  \"category\": \"install_failed\",\n  \"message\": {},\n  \"missing_recipes\": [],\n  \"install_exit_code\": 6\n}}\n",
            q(message)
        )
    };
    let run = |exit: i32, stdout: String, stderr: &str| {
        read(
            &job,
            &Output {
                exit: Exit::Code(exit),
                stdout: stdout.into_bytes(),
                stderr: stderr.as_bytes().to_vec(),
            },
            false,
        )
    };
    let r = run(
        6,
        host("sandbox execution failed: failed to detect container runtime: permission denied"),
        "",
    );
    assert_eq!(
        r.unavailable.as_deref(),
        Some("sandbox execution failed: failed to detect container runtime: permission denied")
    );
    assert!(r.failure.is_none());
    // An image build installs the recipe's own packages: the recipe's failure.
    let r = run(
        6,
        host("sandbox execution failed: failed to build container image: apt-get exited 100"),
        "",
    );
    assert!(r.unavailable.is_none() && r.code == 6);
    for code in [11, 12, 14] {
        let r = run(code, String::new(), "Error: something machine-wide\n");
        let why = r.unavailable.expect("exit 11/12/14 is the machine");
        assert!(why.starts_with(&format!("tsuku exited {code} (")), "{why}");
        assert!(why.ends_with(": Error: something machine-wide"), "{why}");
        assert!(r.failure.is_none());
    }
    // Exit 13 (user declined) is not one of them.
    assert!(run(13, String::new(), "").unavailable.is_none());
}
