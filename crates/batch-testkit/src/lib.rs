//! Test kit shared by the integration tests of the workspace (dev-only, never published).
//!
//! - [`Sandbox`]: one temporary directory holding the queue, the control file and every
//!   output, a builder for the `batch-generate` command line pointing at them, spawning the
//!   binary as a [`Running`] child that can be signalled, and readers for what a run leaves.
//! - [`Out`]: how one run ended (exit code or signal, stdout, stderr, wall time).
//! - [`fixtures`]: queue entries, queue and control-file text, the fake generator's path,
//!   the stub container runtimes put first on every run's `PATH`.
//! - [`snapshot`](mod@snapshot): every file below a directory, to assert a run wrote nothing.
//! - [`process`]: finding, inspecting and signalling the processes a test started.
//! - [`moto`]: a moto S3 server per test.
//! - [`tsuku_data`]: tsuku's real data: in-repository fixtures and the whole corpora named
//!   by `$BATCH_TSUKU_DATA` (skipped visibly when unset).
//!
//! The kit cannot name another crate's binary: callers pass its path, e.g.
//! `env!("CARGO_BIN_EXE_batch-generate")`.

#![warn(missing_docs)]

pub mod fixtures;
pub mod moto;
pub mod out;
pub mod process;
pub mod readback;
pub mod running;
pub mod sandbox;
pub mod snapshot;
pub mod tsuku_data;

pub use fixtures::{
    DEFAULT_CONTROL, FUTURE, PAST, QUEUE_UPDATED_AT, With, ecosystem, entry, entry_text,
    entry_with_history, fake_tsuku, queue_text, runtime_stubs, write_tree,
};
pub use out::{Code, Out, output_of, run_cmd};
pub use process::{MARKER_VAR, cmdline, marked_pids, process_state, signal, wait_until};
pub use readback::{
    created_names, failure_records, is_failure_file_of, read_json, read_lines, suffixed,
};
pub use running::Running;
pub use sandbox::{CMD_TIMEOUT, RUN_LIMIT, Sandbox};
pub use snapshot::{Snapshot, assert_unchanged, changed, snapshot_except, snapshot_tree};
