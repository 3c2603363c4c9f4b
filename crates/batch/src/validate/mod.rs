//! Platform validation (spec §7.3, §1.7, issue #13): which environments a recipe is installed
//! on, and the results file each validation job writes for `aggregate`.
//!
//! - [`platform`]: job platforms (`linux-x86_64`, ...), Linux families, and the row platform
//!   names `linux-<family>-<libc>-<arch>` / `darwin-<arch>` with their parser;
//! - `generation`: the generation environment's own `pass` rows (`--validation-out`);
//! - `results`: one result row per (recipe, environment) and the
//!   `validation-results-<platform>.json` file (serde-written, replaced atomically);
//! - [`recipes`]: the batch's recipes under `--recipes DIR` (one level, no symlinks, no `..`);
//! - [`exclusions`]: tsuku's execution exclusions (`skipped` rows);
//! - [`defaults`]: the per-platform `--timeout` and the `--jobs` default;
//! - [`containers`]: removing the sandbox container of a Linux install killed by `--timeout`;
//! - `run`: the attempts of each (recipe, family) install, retried while the
//!   [`Generator`](crate::generator::Generator) reads them as transient, and the concurrent
//!   loop over them (the argv and tsuku's JSON are [`crate::tsuku`]'s);
//! - [`journal`]: `<out>.journal`, so a killed job resumes without re-running finished rows;
//! - [`job`]: one job from files to the results file.

pub mod containers;
pub mod defaults;
pub mod exclusions;
pub(crate) mod generation;
pub mod job;
pub mod journal;
pub mod platform;
pub mod recipes;
pub(crate) mod results;
mod run;

pub use generation::GenerationRowsError;
pub(crate) use generation::host_generation_rows;
#[cfg(test)]
pub(crate) use generation::host_platform;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod unavailable_tests;

pub use containers::{Cleanup, CleanupOutcome, ContainerCleanup};
pub use defaults::{DEFAULT_JOBS, default_timeout};
pub use job::{JobOptions, ValidateError, ValidateFiles, ValidateOutcome, validate_files};
pub use platform::{Arch, Family, JobPlatform, Libc, Os, RowPlatform};
pub use recipes::{RejectReason, Rejected};
pub use results::{Environment, ResultsError, ResultsFile, RowStatus, ValidationRow};
pub use run::ValidateConfig;
