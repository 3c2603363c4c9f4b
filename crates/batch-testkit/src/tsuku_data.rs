//! tsuku's real data for tests: small copies in the repository and the whole corpora outside it.
//!
//! - [`fixture`]: a file or directory of `testdata/tsuku/` (the live queue, the control file,
//!   the 74 sample recipes, the execution exclusions, a few failure and metrics files; MIT,
//!   see `testdata/tsuku/README.md`). Always present, so a fresh clone runs these tests.
//! - [`corpus`]: a path inside the directory named by `$BATCH_TSUKU_DATA` (tsuku's data laid
//!   out as in `../shared/data/tsuku`: `failures-corpus/`, `metrics-corpus/`, …), for tests
//!   over a whole corpus. When the variable is unset the test prints a skip line to stderr
//!   and returns, unless `BATCH_REQUIRE_TSUKU_DATA=1` (set by `.ci/run` and the CI workflow),
//!   which makes it fail, so CI cannot skip them silently. A relative `$BATCH_TSUKU_DATA` is
//!   taken from the workspace root.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Environment variable naming the directory of tsuku's data (the whole corpora).
pub const DATA_ENV: &str = "BATCH_TSUKU_DATA";
/// Environment variable that turns a missing `$BATCH_TSUKU_DATA` into a test failure.
pub const REQUIRE_ENV: &str = "BATCH_REQUIRE_TSUKU_DATA";

/// The workspace root (two levels above this crate).
fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// `testdata/tsuku/<rel>`: a file or directory of the in-repository fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    workspace().join("testdata/tsuku").join(rel)
}

/// `$BATCH_TSUKU_DATA/<rel>`, or `None` after printing `SKIPPED <test>: …` to stderr when the
/// variable is unset or empty.
///
/// # Panics
/// When the variable is unset and `BATCH_REQUIRE_TSUKU_DATA=1`, or when it is set but
/// `<rel>` does not exist below it (a wrong path is a mistake to report, not a skip).
pub fn corpus(rel: &str, test: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os(DATA_ENV).filter(|d| !d.is_empty()) else {
        let msg = format!(
            "{DATA_ENV} is not set (point it at tsuku's data, e.g. {DATA_ENV}=../shared/data/tsuku; \
             see README, \"Quick start\")"
        );
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("{msg}; {REQUIRE_ENV}=1 makes this a failure");
        }
        // Straight to the process's stderr: `eprintln!` would be captured by the test
        // harness and the skip would go unnoticed.
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {msg}");
        return None;
    };
    let path = workspace().join(dir).join(rel);
    assert!(
        path.exists(),
        "{} does not exist: {DATA_ENV} must name a directory laid out like tsuku's data \
         (see README, \"Quick start\")",
        path.display()
    );
    Some(path)
}
