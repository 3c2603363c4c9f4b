//! [`Out`]: how one run of a binary ended, with assertions that print the whole run on failure.

use std::fmt;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

/// An exit code, or none when the process was killed by a signal.
///
/// Compares with an `i32` (never equal after a signal) and with an `Option<i32>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Code(pub Option<i32>);

impl PartialEq<i32> for Code {
    fn eq(&self, other: &i32) -> bool {
        self.0 == Some(*other)
    }
}

impl PartialEq<Option<i32>> for Code {
    fn eq(&self, other: &Option<i32>) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// How a run of the binary ended.
#[derive(Debug)]
pub struct Out {
    /// Exit code; none when killed by a signal.
    pub code: Code,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Wall time from start to exit.
    pub elapsed: Duration,
    /// Strings that must never appear in stdout or stderr (checked by [`Out::code`]).
    secrets: Vec<String>,
}

impl Out {
    /// An `Out` from a finished process's status and output.
    pub fn new(output: Output, elapsed: Duration) -> Self {
        use std::os::unix::process::ExitStatusExt as _;
        Self {
            code: Code(output.status.code()),
            signal: output.status.signal(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
            secrets: Vec::new(),
        }
    }

    /// Makes [`Out::code`] also assert that `secret` shows up in neither stdout nor stderr.
    #[must_use]
    pub fn never_prints(mut self, secret: &str) -> Self {
        self.secrets.push(secret.to_owned());
        self
    }

    /// Exit status, stdout and stderr, for assertion messages.
    pub fn ctx(&self) -> String {
        format!(
            "exit code {:?} (signal {:?}) after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--------------",
            self.code,
            self.signal,
            self.elapsed,
            tail(&self.stdout, 16_000),
            tail(&self.stderr, 16_000)
        )
    }

    /// Asserts the exit code (and that no secret given to [`Out::never_prints`] leaked).
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(want),
            "unexpected exit code\n{}",
            self.ctx()
        );
        for secret in &self.secrets {
            assert!(
                !self.stdout.contains(secret.as_str()) && !self.stderr.contains(secret.as_str()),
                "the secret key leaked\n{}",
                self.ctx()
            );
        }
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// stdout parsed as exactly one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{}", self.ctx()))
    }
}

/// Runs a prepared `assert_cmd` command to its end.
pub fn run_cmd(cmd: &mut assert_cmd::Command) -> Out {
    let start = Instant::now();
    let o = cmd.output().expect("the binary starts");
    Out::new(o, start.elapsed())
}

/// Runs a prepared `std` command to its end, capturing stdout and stderr.
pub fn output_of(cmd: &mut std::process::Command) -> Out {
    let start = Instant::now();
    let o = cmd.output().expect("the binary starts");
    Out::new(o, start.elapsed())
}

/// The last `n` bytes of `s` (at a character boundary).
pub(crate) fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}
