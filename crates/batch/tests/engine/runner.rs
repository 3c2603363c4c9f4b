//! `ProcessRunner` against real processes: exit codes, signals, merged and separate capture,
//! bounded capture, timeouts that kill the whole process group, spawn errors.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use batch::runner::Exit;
use batch::runner::{Command, ProcessRunner, Runner, RunnerError};

fn sh(script: &str, timeout: Duration, merge_output: bool) -> Command {
    Command {
        program: PathBuf::from("/bin/sh"),
        args: vec![OsString::from("-c"), OsString::from(script)],
        env: vec![(OsString::from("BATCH_TEST_VAR"), OsString::from("set"))],
        current_dir: None,
        timeout,
        merge_output,
    }
}

fn runner() -> ProcessRunner {
    ProcessRunner {
        kill_grace: Duration::from_millis(300),
        max_output: 1 << 20,
        stop: None,
        ..ProcessRunner::default()
    }
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn exit_codes_env_and_separate_streams() {
    let out = runner()
        .run(sh(
            "echo out; echo err >&2; echo $BATCH_TEST_VAR; exit 6",
            LONG,
            false,
        ))
        .await
        .unwrap();
    assert_eq!(out.exit, Exit::Code(6));
    assert_eq!(out.stdout, b"out\nset\n");
    assert_eq!(out.stderr, b"err\n");
}

#[tokio::test]
async fn merged_output_keeps_write_order() {
    let out = runner()
        .run(sh(
            "echo one; echo two >&2; echo three; echo four >&2",
            LONG,
            true,
        ))
        .await
        .unwrap();
    assert_eq!(out.exit, Exit::Code(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "one\ntwo\nthree\nfour\n"
    );
    assert!(out.stderr.is_empty());
}

#[tokio::test]
async fn working_directory_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = sh("pwd", LONG, false);
    cmd.current_dir = Some(dir.path().to_owned());
    let out = runner().run(cmd).await.unwrap();
    let pwd = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        std::fs::canonicalize(pwd.trim()).unwrap(),
        std::fs::canonicalize(dir.path()).unwrap()
    );
}

#[tokio::test]
async fn stdin_is_null() {
    let out = runner()
        .run(sh("cat; echo done", LONG, false))
        .await
        .unwrap();
    assert_eq!(out.stdout, b"done\n");
}

#[tokio::test]
async fn killed_by_signal() {
    let out = runner().run(sh("kill -9 $$", LONG, false)).await.unwrap();
    assert_eq!(out.exit, Exit::Signal(9));
    assert_eq!(out.exit.code(), -1);
}

#[tokio::test]
async fn missing_program_is_a_spawn_error() {
    let mut cmd = sh("", LONG, false);
    cmd.program = PathBuf::from("/nonexistent/tsuku");
    assert!(matches!(
        runner().run(cmd).await,
        Err(RunnerError::Spawn { .. })
    ));
}

#[tokio::test]
async fn output_is_bounded_head_and_tail() {
    let r = ProcessRunner {
        kill_grace: Duration::from_millis(300),
        max_output: 1000,
        stop: None,
        ..ProcessRunner::default()
    };
    // 3 MB of output through a 1000-byte capture, with recognisable ends.
    let out = r
        .run(sh(
            "printf START; head -c 3000000 /dev/zero | tr '\\0' x; printf END",
            LONG,
            true,
        ))
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("STARTxxx"), "{}", &text[..20]);
    assert!(text.ends_with("xxxEND"));
    assert!(text.contains("bytes dropped"));
    assert!(text.len() < 1100, "kept {} bytes", text.len());
}

fn alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[tokio::test]
async fn timeout_kills_the_whole_group_including_grandchildren() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    // The grandchild ignores nothing but outlives its parent unless the group is killed; it
    // also holds stdout open.
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let out = runner()
        .run(sh(&script, Duration::from_millis(500), true))
        .await
        .unwrap();
    assert_eq!(out.exit, Exit::TimedOut(Duration::from_millis(500)));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "returned after {:?}",
        started.elapsed()
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Give the kernel a moment to deliver SIGKILL and reparent the corpse.
    for _ in 0..50 {
        if !alive(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(pid), "grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn sigterm_ignoring_process_is_killed_after_the_grace_period() {
    let started = Instant::now();
    let out = runner()
        .run(sh(
            "trap '' TERM; echo ready; while :; do sleep 1; done",
            Duration::from_millis(300),
            true,
        ))
        .await
        .unwrap();
    assert!(matches!(out.exit, Exit::TimedOut(_)));
    assert_eq!(out.stdout, b"ready\n");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn background_child_holding_the_pipe_does_not_hang_the_run() {
    let started = Instant::now();
    let out = runner()
        .run(sh("sleep 300 & echo parent done", LONG, true))
        .await
        .unwrap();
    assert_eq!(out.exit, Exit::Code(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("parent done")
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
