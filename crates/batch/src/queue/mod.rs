//! The unified priority queue (spec §1.1): entries and their validation (`entry`), the
//! ecosystems tsuku knows ([`ecosystem`]), the file's load and save (`file`), its wire
//! format (`wire`) and the state transitions an outcome applies to an entry (`transition`,
//! spec §4.7). Selection lives in [`crate::select`].

pub mod ecosystem;
pub(crate) mod entry;
pub(crate) mod file;
pub(crate) mod transition;
mod wire;

pub(crate) use entry::ecosystem_of;
pub use entry::{QueueEntry, Status, UnsafeName, recipe_relative_path};
pub use file::{Lookalike, MissingQueue, Queue, QueueError, QueueParseError};

#[cfg(test)]
mod tests;
