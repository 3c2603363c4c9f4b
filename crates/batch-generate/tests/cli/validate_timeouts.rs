//! `validate`'s per-platform defaults and the container cleanup after a Linux timeout
//! (issue #22). The container runtimes are fake `podman`/`docker` scripts on `PATH` that log
//! their argv; expectations come from tsuku's sources (`internal/sandbox/executor.go` labels
//! every sandbox container `io.tsuku.sandbox=true`; `internal/sandbox/requirements.go` bounds
//! it at 15 minutes) and the workflow's `gtimeout 300` (spec §7.3).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use batch_generate::exit;

use crate::util::{Sandbox, read_lines, run_cmd, sandbox};
use crate::validate::{brief, out_file, recipes, rows, validate};

#[test]
fn help_states_the_per_platform_timeout_and_one_job() {
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.args(["validate", "--help"]);
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    // clap wraps the help text; compare it with the line breaks and indents taken out.
    let help = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "--jobs <JOBS> Installs in flight at once (1 by default, as tsuku's workflow)",
        "[env: BATCH_VALIDATE_JOBS=] [default: 1]",
        "[default: 300s on macOS, the workflow's `gtimeout 300`; 30m on Linux, above tsuku's own 15-minute container limit]",
        "the cargo registry cache",
        "the tsuku home (only its state.json is locked)",
        "4 CPUs and 4 GB",
        "while another ran leaves its container to the runner's teardown",
    ] {
        assert!(help.contains(want), "missing {want:?}\n{}", out.ctx());
    }
}

/// A `bin/` directory with fake `podman` (unusable: exits 125, as without its service) and
/// `docker` (lists two labelled containers), both logging their argv to `runtime.log`, and
/// `PATH` set to it plus the system directories the fake generator needs.
fn fake_runtimes(sb: Sandbox) -> (Sandbox, PathBuf) {
    let bin = sb.root.join("bin");
    let log = sb.root.join("runtime.log");
    std::fs::create_dir_all(&bin).unwrap();
    let script = |name: &str, body: &str| {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "podman",
        "echo 'Error: unable to connect to Podman socket' >&2\nexit 125",
    );
    script(
        "docker",
        "case \"$1\" in ps) printf 'c0ffee01\\nc0ffee02\\n' ;; rm) printf 'c0ffee01\\nc0ffee02\\n' ;; esac\nexit 0",
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    (sb.env("PATH", path), log)
}

fn log_lines(log: &Path) -> Vec<String> {
    if log.exists() {
        read_lines(log)
    } else {
        Vec::new()
    }
}

const PS: &str = "ps -q --filter label=io.tsuku.sandbox=true";

#[test]
fn a_linux_install_killed_by_the_guard_has_its_sandbox_containers_removed() {
    let (sb, log) = fake_runtimes(sandbox().rules(&[("slow@debian", "hang")]));
    recipes(&sb, &["bat", "slow"]);
    let out = validate(
        &sb,
        "linux-x86_64",
        &[
            "--family",
            "debian,alpine",
            "--timeout",
            "1s",
            "--kill-grace",
            "0s",
        ],
    );
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&out_file(&sb, "linux-x86_64"))),
        [
            "bat linux-alpine-musl-x86_64 pass exit=0 attempts=1",
            "bat linux-debian-glibc-x86_64 pass exit=0 attempts=1",
            "slow linux-alpine-musl-x86_64 pass exit=0 attempts=1",
            "slow linux-debian-glibc-x86_64 fail exit=124 attempts=1 timed_out",
        ],
        "{}",
        out.ctx()
    );
    // Only the timed-out install is cleaned: podman first (it fails), then docker lists the
    // labelled containers and removes them.
    assert_eq!(
        log_lines(&log),
        [
            format!("podman {PS}"),
            format!("docker {PS}"),
            "docker rm -f c0ffee01 c0ffee02".to_owned(),
        ],
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr.contains("rm -f c0ffee01 c0ffee02`")
            && out.stderr.contains("slow@debian timed out")
            && out
                .stderr
                .contains("exit 125: Error: unable to connect to Podman socket"),
        "{}",
        out.ctx()
    );
}

#[test]
fn with_concurrent_installs_the_containers_are_left_and_macos_runs_none() {
    let (sb, log) = fake_runtimes(sandbox().rules(&[("slow@*", "hang"), ("stuck@*", "hang")]));
    recipes(&sb, &["slow", "stuck"]);
    let out = validate(
        &sb,
        "linux-arm64",
        &[
            "--family",
            "debian",
            "--jobs",
            "2",
            "--timeout",
            "1s",
            "--kill-grace",
            "0s",
        ],
    );
    out.code(exit::SUCCESS);
    let got = brief(&rows(&out_file(&sb, "linux-arm64")));
    assert!(
        got.iter()
            .all(|r| r.ends_with("exit=124 attempts=1 timed_out")),
        "{got:?}"
    );
    // Two installs ran at once: no container can be told to be the killed one's.
    assert!(log_lines(&log).is_empty(), "{:?}", log_lines(&log));
    assert!(
        out.stderr.contains("left to the runner's teardown"),
        "{}",
        out.ctx()
    );

    // macOS installs are not sandboxed: a timeout there runs no container runtime.
    let (sb, log) = fake_runtimes(
        sandbox()
            .rules(&[("slow@*", "hang")])
            .env("FAKE_TSUKU_PLATFORM", "darwin-arm64"),
    );
    recipes(&sb, &["slow"]);
    let out = validate(
        &sb,
        "darwin-arm64",
        &["--timeout", "1s", "--kill-grace", "0s"],
    );
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&out_file(&sb, "darwin-arm64"))),
        ["slow darwin-arm64 fail exit=124 attempts=1 timed_out"]
    );
    assert!(log_lines(&log).is_empty(), "{:?}", log_lines(&log));
}

#[test]
fn tsukus_own_container_timeout_has_its_containers_removed_too() {
    // tsuku's container limit ends the install by itself (exit 6, `container execution timed
    // out`); its killed `docker run` client leaves the container as our guard's kill does.
    // The container step's own failure (sbxfail) ended in the container: nothing to remove.
    let (sb, log) = fake_runtimes(sandbox().rules(&[
        ("bat@debian", "sbxfail:2"),
        ("fd@debian", "containertimeout"),
    ]));
    recipes(&sb, &["bat", "fd"]);
    let out = validate(&sb, "linux-x86_64", &["--family", "debian"]);
    out.code(exit::SUCCESS);
    assert_eq!(
        brief(&rows(&out_file(&sb, "linux-x86_64"))),
        [
            "bat linux-debian-glibc-x86_64 fail exit=2 attempts=1",
            "fd linux-debian-glibc-x86_64 fail exit=124 attempts=1",
        ],
        "{}",
        out.ctx()
    );
    assert_eq!(
        log_lines(&log),
        [
            format!("podman {PS}"),
            format!("docker {PS}"),
            "docker rm -f c0ffee01 c0ffee02".to_owned(),
        ],
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr
            .contains("fd@debian timed out; removed its sandbox container(s)")
            && !out.stderr.contains("bat@debian timed out"),
        "{}",
        out.ctx()
    );
}
