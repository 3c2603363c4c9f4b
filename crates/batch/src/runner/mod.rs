//! Generator processes: the [`Runner`] trait and its tokio implementation [`ProcessRunner`]
//! (process groups, timeouts, bounded output, signals; [`process`]), and [`classify`], which
//! builds tsuku's argv and turns exit codes and output into failure categories (spec §4.5).
//! [`fake`] (feature `test-support`) is the scripted runner every test suite uses.

pub mod classify;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod process;

pub use classify::{Category, Exit, Step};
pub use process::{
    Command, Output, ProcessId, ProcessRunner, Runner, RunnerError, Stop, find_program,
    parent_death_helper, stop_reached,
};

#[cfg(test)]
pub use process::MockRunner;
