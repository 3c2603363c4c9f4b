//! [`Running`]: a spawned binary that can be signalled, polled and waited for.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::out::{Out, tail};
use crate::process::signal;

/// A running binary whose stdout and stderr go to files; killed (SIGKILL) and reaped when
/// dropped unfinished.
pub struct Running {
    child: Child,
    /// What the run is, for messages.
    pub label: String,
    out: PathBuf,
    err: PathBuf,
    started: Instant,
    done: bool,
}

impl Running {
    /// Wraps a child spawned at `started` whose stdout goes to `out` and stderr to `err`.
    pub fn new(child: Child, label: &str, out: PathBuf, err: PathBuf, started: Instant) -> Self {
        Self {
            child,
            label: label.to_owned(),
            out,
            err,
            started,
            done: false,
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Sends a signal to the binary.
    pub fn signal(&self, sig: Signal) {
        signal(self.pid(), sig);
    }

    /// Whether it has exited (reaps it).
    pub fn exited(&mut self) -> bool {
        if self.done {
            return true;
        }
        match self.child.try_wait() {
            Ok(Some(_)) => {
                self.done = true;
                true
            }
            Ok(None) => false,
            Err(e) => panic!("{}: try_wait: {e}", self.label),
        }
    }

    /// The stderr written so far.
    pub fn stderr_so_far(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for the exit; past `limit` the process is killed and the test fails.
    #[track_caller]
    pub fn wait(mut self, limit: Duration) -> Out {
        self.wait_observing(limit, || {})
    }

    /// [`Running::wait`], calling `observe` every 20 ms while the process runs.
    #[track_caller]
    pub fn wait_observing(&mut self, limit: Duration, mut observe: impl FnMut()) -> Out {
        let deadline = self.started + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => panic!("{}: try_wait: {e}", self.label),
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.done = true;
                panic!(
                    "{}: still running after {limit:?}; killed it\n--- stderr ---\n{}",
                    self.label,
                    tail(&self.stderr_so_far(), 6000)
                );
            }
            observe();
            std::thread::sleep(Duration::from_millis(20));
        };
        self.done = true;
        let elapsed = self.started.elapsed();
        let mut out = Out::new(
            std::process::Output {
                status,
                stdout: Vec::new(),
                stderr: Vec::new(),
            },
            elapsed,
        );
        out.stdout = std::fs::read_to_string(&self.out).unwrap_or_default();
        out.stderr = std::fs::read_to_string(&self.err).unwrap_or_default();
        out
    }

    /// SIGKILLs the binary and reaps it; returns whether it was still running.
    pub fn sigkill(&mut self) -> bool {
        if self.exited() {
            return false;
        }
        self.signal(Signal::SIGKILL);
        let _ = self.child.wait();
        self.done = true;
        true
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
