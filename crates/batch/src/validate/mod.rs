//! Platform validation (spec §7.3, §1.7, issue #13): which environments a recipe is installed
//! on, and the results file each validation job writes for `aggregate`.
//!
//! - [`platform`]: job platforms (`linux-x86_64`, ...), Linux families, and the row platform
//!   names `linux-<family>-<libc>-<arch>` / `darwin-<arch>` with their parser;
//! - [`generation`]: the generation environment's own `pass` rows (`--validation-out`);
//! - [`results`]: one result row per (recipe, environment) and the
//!   `validation-results-<platform>.json` file (serde-written, replaced atomically).

pub mod generation;
pub mod platform;
pub mod results;

pub use generation::{generation_rows, host_platform};
pub use platform::{Arch, Family, JobPlatform, Libc, Os, RowPlatform};
pub use results::{Environment, ResultsError, ResultsFile, RowStatus, ValidationRow};
