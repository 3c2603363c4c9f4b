//! Integration tests of the `batch` engine, one binary (STYLE.md §6):
//!
//! - [`hostile`]: the parsers on hostile input (issue #4).
//! - [`runner`]: `ProcessRunner` against real processes.
//! - [`real`]: tsuku's real data: the in-repository fixtures (`testdata/tsuku/`) and, for the
//!   whole corpora, `$BATCH_TSUKU_DATA` (skipped visibly when unset; see
//!   [`batch_testkit::tsuku_data`]).

mod hostile;
mod real;
mod runner;
mod util;
