//! tsuku behind the [`Generator`](crate::generator::Generator) seam: everything this crate
//! knows about tsuku's command line.
//!
//! - `argv`: the argv of `create` (spec §4.2), `install` (spec §4.3) and the validation
//!   install (spec §7.3);
//! - `read`: the one reader of what a tsuku process left: exit codes → categories (spec
//!   §4.4), `blocked_by` from `recipe X not found in registry` (spec §4.6), `--json` output
//!   (spec §4.5, §7.3), message truncation, the network code that is retried, and the
//!   validation verdict from tsuku's host and sandbox JSON (issue #22);
//! - [`Tsuku`]: the generator built from those two, for the main run and for `validate`.

mod argv;
mod generator;
mod read;

pub use argv::TOKEN_VAR;
pub use generator::Tsuku;
pub use read::{extract_blocked_by, headline};

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transcript_tests;
