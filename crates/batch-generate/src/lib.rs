//! `batch-generate`: the command-line front end of the `batch` library, a thin shell around
//! it. [`main`] parses the arguments ([`cli`]), runs one handler of [`commands`], prints
//! through [`render`] and [`github`], and maps the result to an exit code in one place
//! ([`exit`]).

pub mod cli;
pub mod commands;
pub mod dispatch;
pub mod error;
pub mod exit;
pub mod github;
pub mod joblog;
pub mod logging;
pub mod out;
pub mod pacing;
pub mod progress;
pub mod render;
pub mod signal;
pub mod status;

pub use dispatch::main;
