//! The process layer under the [`Generator`](crate::generator::Generator): the [`Runner`]
//! trait and its tokio implementation [`ProcessRunner`] (process groups, timeouts, bounded
//! output, signals), and [`Exit`], how a process ended. The runner runs the
//! [`Command`] a generator builds and returns the [`Output`] the generator reads.
//! `fake` (feature `test-support`) is the scripted runner every test suite uses.

mod exit;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub(crate) mod process;

pub use exit::Exit;
pub(crate) use process::stop_reached;
pub use process::{
    Command, Output, ProcessId, ProcessRunner, Runner, RunnerError, Stop, find_program,
    parent_death_helper,
};

#[cfg(test)]
pub(crate) use process::MockRunner;
