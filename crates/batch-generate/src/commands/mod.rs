//! One handler per subcommand. Each turns its parsed arguments into library calls, prints
//! through `crate::render`, and returns how the command ended ([`crate::exit::Ending`]) or the
//! error that stopped it; `crate::exit::code` turns either into the exit code.

pub mod aggregate;
pub mod completions;
pub mod dashboard;
pub mod demo;
pub mod explain;
pub mod generate;
pub mod merge;
pub mod preflight;
pub mod queue;
pub mod report;
pub mod rollback;
pub mod store;
pub mod validate;
