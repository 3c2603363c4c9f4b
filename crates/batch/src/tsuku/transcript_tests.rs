//! Every `create` / `install` case of tsuku's real CLI (`testdata/tsuku-cli/transcript.txt`,
//! tsuku 7b4eba1) through the reader (the sandbox shapes are in `sandbox_tests`). The
//! expected verdicts are written from tsuku's source and the spec, not from a run of this
//! reader.

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
