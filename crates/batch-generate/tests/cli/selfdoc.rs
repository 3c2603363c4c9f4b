//! The command line describing itself (issue #12): `--version` with the commit, shell
//! completions, the man page (and that the committed copy is current), `--color`/`NO_COLOR`.

use std::path::PathBuf;

use batch_generate::exit;

use crate::util::{entry, run_cmd, sandbox};

/// The committed man page.
fn man_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/man/batch-generate.1")
}

#[test]
fn version_names_package_version_commit_and_date() {
    for flag in ["--version", "-V"] {
        let h = sandbox();
        let mut cmd = h.bare_cmd();
        cmd.arg(flag);
        let out = run_cmd(&mut cmd);
        out.code(exit::SUCCESS);
        let line = out.stdout.trim_end();
        let prefix = format!("batch-generate {} (", env!("CARGO_PKG_VERSION"));
        let inner = line
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{flag}: `{line}` is not `{prefix}COMMIT DATE)`"));
        let (commit, date) = inner.split_once(' ').expect("commit and date");
        assert!(
            commit == "unknown"
                || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
            "{flag}: commit `{commit}`"
        );
        assert!(
            date == "unknown" || jiff::civil::Date::strptime("%Y-%m-%d", date).is_ok(),
            "{flag}: date `{date}`"
        );
    }
}

#[test]
fn completions_for_every_shell() {
    let h = sandbox();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let mut cmd = h.bare_cmd();
        cmd.args(["completions", shell]);
        let out = run_cmd(&mut cmd);
        out.code(exit::SUCCESS);
        assert!(
            out.stdout.contains("batch-generate"),
            "{shell}\n{}",
            out.ctx()
        );
        assert!(out.stdout.contains("batch-size"), "{shell}\n{}", out.ctx());
    }
    let mut cmd = h.bare_cmd();
    cmd.args(["completions", "bash"]);
    let out = run_cmd(&mut cmd);
    assert!(out.stdout.contains("--batch-size"), "{}", out.ctx());
    assert!(out.stdout.contains("complete -F"), "{}", out.ctx());
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let h = sandbox();
    let mut cmd = h.bare_cmd();
    cmd.args(["completions", "tcsh"]);
    run_cmd(&mut cmd).code(exit::USAGE);
}

#[test]
fn man_prints_roff() {
    let h = sandbox();
    let mut cmd = h.bare_cmd();
    cmd.arg("man");
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    // clap_mangen opens with two roff conditionals (the quote string), then the title.
    let first_macro = out
        .stdout
        .lines()
        .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"))
        .unwrap_or_default();
    assert!(
        first_macro.starts_with(".TH batch-generate 1"),
        "first macro `{first_macro}`\n{}",
        out.ctx()
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(out.stdout.contains(section), "{section}\n{}", out.ctx());
    }
    assert!(out.stdout.contains("BATCH_QUEUE"), "env vars listed");
}

/// The man page is generated, and the committed copy must be the current output.
#[test]
fn committed_man_page_is_current() {
    let page = batch_generate::commands::completions::man_page().expect("renders");
    let committed = std::fs::read_to_string(man_path()).unwrap_or_default();
    assert!(
        committed == page,
        "docs/man/batch-generate.1 is stale (or missing); regenerate it with\n  \
         cargo run -p batch-generate -- man > docs/man/batch-generate.1"
    );
}

/// A real run that logs at INFO (one line per entry) to stderr, which is a pipe here.
fn run_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut h = sandbox().queue(&[entry("a", "homebrew:a", 1)]);
    for (k, v) in env {
        h.set_env(k, v);
    }
    let out = h.run(args);
    out.code(exit::SUCCESS);
    assert!(out.stderr.contains("homebrew a"), "{}", out.ctx());
    out.stderr.clone()
}

/// One case of the colour table: arguments, environment, whether stderr is coloured.
type ColorCase = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    bool,
);

#[test]
fn color_flag_env_and_no_color() {
    const ESC: &str = "\x1b[";
    // (args, env, coloured): stderr is a pipe, so `auto` never colours.
    let table: [ColorCase; 7] = [
        (&[], &[], false),
        (&["--color", "auto"], &[], false),
        (&["--color", "never"], &[], false),
        (&["--color", "always"], &[], true),
        (&["--color", "always"], &[("NO_COLOR", "1")], true),
        (&[], &[("BATCH_COLOR", "always")], true),
        (&["--color", "never"], &[("BATCH_COLOR", "always")], false),
    ];
    for (args, env, coloured) in table {
        let stderr = run_with(args, env);
        assert_eq!(stderr.contains(ESC), coloured, "{args:?} {env:?}\n{stderr}");
    }
}
