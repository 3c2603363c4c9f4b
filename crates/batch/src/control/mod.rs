//! `batch-control.json` (spec §1.2): the kill switch, disabled ecosystems and one circuit
//! breaker per ecosystem. `file` reads and writes the file (unknown keys kept),
//! [`breaker`] is the pure closed/open/half-open state machine (spec §6), [`budget`] the
//! weekly CI budget assessment the preflight reads from the file's `budget` block.

pub mod breaker;
pub mod budget;
pub(crate) mod file;

pub use breaker::{BatchOutcome, Breaker, BreakerState, Change};
pub use file::{ControlError, ControlFile, RecoveryNote};
