//! Writing to stdout and stderr without ever panicking. `println!` and `eprintln!` panic when
//! the stream is closed (`batch-generate | head -1`); a closed pipe must never stop a run, so
//! every line the binary prints goes through [`crate::out::stdout`] / [`stderr`] (or the macros
//! [`outln!`](crate::outln) and [`errln!`](crate::errln)), and the log writer drops its write
//! errors (`crate::logging`).
//!
//! Rust starts programs with SIGPIPE ignored, so a write to a closed pipe returns `EPIPE`
//! (`ErrorKind::BrokenPipe`) instead of killing the process; we keep it that way and never
//! reset SIGPIPE to its default: the run goes on, finishes and saves everything, only its
//! output is lost.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a stdout write failed with something other than a closed pipe, so the warning
/// about it is logged once.
static STDOUT_WARNED: AtomicBool = AtomicBool::new(false);

/// Writes `args` to stdout and flushes. A closed pipe is ignored silently; any other error
/// (a full disk behind a redirection) is logged once as a warning, and the output is lost.
pub fn stdout(args: fmt::Arguments<'_>) {
    if let Err(e) = write_to(&mut io::stdout().lock(), args)
        && e.kind() != io::ErrorKind::BrokenPipe
        && !STDOUT_WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!("failed to write to stdout: {e}; the output is lost");
    }
}

/// Writes `args` to stdout and flushes, for commands whose output is their whole job
/// (`completions`, `man`): a closed pipe is ignored like in [`stdout`], other errors are
/// returned so the command fails.
///
/// # Errors
/// A write error other than a closed pipe.
pub fn try_stdout(args: fmt::Arguments<'_>) -> io::Result<()> {
    match write_to(&mut io::stdout().lock(), args) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e),
        _ => Ok(()),
    }
}

/// Writes `args` to stderr and flushes; every error is ignored (there is nowhere left to
/// report it).
pub fn stderr(args: fmt::Arguments<'_>) {
    let _ = write_to(&mut io::stderr().lock(), args);
}

/// Writes `args` to `w` and flushes it.
///
/// # Errors
/// The first write or flush error.
pub fn write_to(w: &mut impl Write, args: fmt::Arguments<'_>) -> io::Result<()> {
    w.write_fmt(args)?;
    w.flush()
}

/// `print!` that never panics: writes to stdout through [`crate::out::stdout`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::stdout(format_args!($($arg)*))
    };
}

/// `println!` that never panics: writes a line to stdout through [`crate::out::stdout`].
#[macro_export]
macro_rules! outln {
    () => {
        $crate::out::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics: writes to stderr through [`crate::out::stderr`].
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::out::stderr(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics: writes a line to stderr through [`crate::out::stderr`].
#[macro_export]
macro_rules! errln {
    () => {
        $crate::out::stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader is gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn write_to_reports_broken_pipe_instead_of_panicking() {
        let e = write_to(&mut Closed, format_args!("x")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn write_to_writes_and_flushes() {
        let mut v = Vec::new();
        write_to(&mut v, format_args!("{}-{}", 1, "a")).unwrap();
        assert_eq!(v, b"1-a");
    }
}
