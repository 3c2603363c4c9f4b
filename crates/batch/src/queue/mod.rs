//! The unified priority queue (spec §1.1): entries and their validation ([`entry`]), the
//! ecosystems tsuku knows ([`ecosystem`]), the file's load and save ([`file`]), its wire
//! format (`wire`; `parse` reads a file, `write` renders one) and the state transitions an outcome applies
//! to an entry ([`transition`], spec §4.7). Selection lives in [`crate::select`].

pub mod ecosystem;
pub mod entry;
pub mod extra;
pub mod file;
mod parse;
pub mod transition;
mod wire;
mod write;

pub use entry::{QueueEntry, Status, UnsafeName, ecosystem_of, recipe_relative_path};
pub use extra::Extra;
pub use file::{Lookalike, MissingQueue, Queue, QueueError};

#[cfg(test)]
mod tests;
