//! Exit codes of `batch-generate`, documented in `--help` and the README.

/// The run completed, including runs with failed entries, no candidates, or the kill switch
/// off (failed entries are data, not errors).
pub const SUCCESS: i32 = 0;
/// Bad input (queue or control file that does not parse, missing generator) or a write error.
pub const FAILURE: i32 = 1;
/// Usage error: unknown flag, malformed value.
pub const USAGE: i32 = 2;
/// Another run holds the queue's lock; nothing was written.
pub const LOCKED: i32 = 3;
/// The artifact store could not be reached (`store health`, or a `publish`/`fetch`/`store`
/// request that failed or timed out with no cached copy to use) (issue #7).
pub const STORE_UNREACHABLE: i32 = 4;
/// Stopped by SIGINT: 128 + 2. Everything finished was saved.
pub const SIGINT: i32 = 130;
/// Stopped by SIGTERM: 128 + 15. Everything finished was saved.
pub const SIGTERM: i32 = 143;

/// The exit-code table shown at the end of `--help`.
pub const HELP: &str = "\
Exit codes:
  0  run completed (also with failed entries, no candidates, or the kill switch off)
  1  bad input (queue or control file, missing generator) or a write error
  2  usage error
  3  another run holds the queue's lock (nothing was written)
  4  the artifact store is unreachable (store health, publish, fetch without a cached copy)
  130, 143  stopped by SIGINT / SIGTERM (everything finished was saved)";
