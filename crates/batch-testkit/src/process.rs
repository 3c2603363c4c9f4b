//! Process helpers: polling, signalling, and finding the processes a sandbox started.
//!
//! Every process an isolated [`Sandbox`](crate::Sandbox) starts (the binary, the fake
//! generators it spawns and whatever those start) inherits [`MARKER_VAR`] set to the sandbox's
//! unique root path, so leftovers are found through `/proc/<pid>/environ` even when their
//! command line (`sleep 3600`) says nothing about where they came from.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Environment variable carrying the sandbox marker into every process of a test.
pub const MARKER_VAR: &str = "BG_FAULTS_MARKER";

/// Polls `f` every `every` until it holds or `limit` passed; returns whether it held.
pub fn wait_until(limit: Duration, every: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Live (non-zombie) processes whose environment holds `MARKER_VAR=marker`.
pub fn marked_pids(marker: &str) -> Vec<i32> {
    let want = format!("{MARKER_VAR}={marker}");
    let mut pids = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|v| v == want.as_bytes()) {
            continue;
        }
        if process_state(pid).is_some_and(|s| s == 'Z' || s == 'X') {
            continue;
        }
        pids.push(pid);
    }
    pids.sort_unstable();
    pids
}

/// The state letter of `/proc/<pid>/stat` (`R`, `S`, `Z`, …), `None` when gone.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..."; comm may contain spaces and parentheses: take the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// The command line of `pid`, for messages.
pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|_| "<gone>".into())
}

/// Sends `sig` to `pid`, ignoring "no such process".
pub fn signal(pid: i32, sig: Signal) {
    let _ = kill(Pid::from_raw(pid), sig);
}
