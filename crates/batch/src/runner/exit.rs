//! [`Exit`]: how a generator process ended, as the [`super::Runner`] reports it.

use std::time::Duration;

/// How a generator process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal (Go reported −1; classified as `generation_failed` or, for
    /// install, by the −1 code as well).
    Signal(i32),
    /// Ran past `--timeout` and was killed.
    TimedOut(Duration),
    /// Stopped because the run was interrupted (SIGINT/SIGTERM); never classified, the entry
    /// is left unchanged.
    Interrupted,
}

impl Exit {
    /// The code Go would have seen: the exit code, or −1 for a signal or timeout.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(_) | Exit::TimedOut(_) | Exit::Interrupted => -1,
        }
    }

    /// Whether the process exited 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}
