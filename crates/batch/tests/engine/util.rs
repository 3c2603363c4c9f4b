//! Helpers of the engine's integration tests.

pub use batch_testkit::tsuku_data::{corpus, fixture};

/// Parses an RFC 3339 timestamp.
#[track_caller]
pub fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}
