//! Helpers of the CLI tests: the shared test kit ([`batch_testkit`]) pointed at this crate's
//! binary, plus timestamp and JSON helpers only these tests use. The fault-injection tests
//! run each test in an [`isolated`] sandbox, whose processes are found through [`MARKER_VAR`]
//! and killed when it drops.

use std::time::Duration;

pub use batch_testkit::*;
use serde_json::Value;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_batch-generate")
}

/// A fresh [`Sandbox`] (CLI layout) for the `batch-generate` binary.
pub fn sandbox() -> Sandbox {
    Sandbox::new(bin())
}

/// A fresh isolated [`Sandbox`] for the binary; `tag` appears in the directory name.
pub fn isolated(tag: &str) -> Sandbox {
    Sandbox::isolated(bin(), tag)
}

/// A file or directory of the repository's copy of tsuku's real data (`testdata/tsuku/`).
pub use batch_testkit::tsuku_data::fixture as real_data;

/// Today's UTC date, `YYYY-MM-DD`.
pub fn utc_date() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// Parses an RFC 3339 timestamp.
#[track_caller]
pub fn ts(s: &Value) -> jiff::Timestamp {
    s.as_str()
        .unwrap_or_else(|| panic!("{s} is not a string"))
        .parse()
        .unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"))
}

/// Asserts `t` lies in `[lo - slack, hi + slack]`.
#[track_caller]
pub fn assert_between(
    t: jiff::Timestamp,
    lo: jiff::Timestamp,
    hi: jiff::Timestamp,
    slack: Duration,
) {
    let slack = jiff::SignedDuration::try_from(slack).unwrap();
    assert!(
        t >= lo.checked_sub(slack).unwrap() && t <= hi.checked_add(slack).unwrap(),
        "{t} not within [{lo}, {hi}] ± {slack:?}"
    );
}

/// `t + hours`.
pub fn plus_hours(t: jiff::Timestamp, hours: i64) -> jiff::Timestamp {
    t.checked_add(jiff::SignedDuration::from_hours(hours))
        .unwrap()
}

/// Strings of a JSON array.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}
