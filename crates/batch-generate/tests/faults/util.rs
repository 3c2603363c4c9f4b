//! Helpers of the fault-injection tests: the shared test kit ([`batch_testkit`]) pointed at
//! this crate's binary. Each test runs in an isolated [`Sandbox`], whose processes are found
//! through [`MARKER_VAR`] and killed when it drops.

pub use batch_testkit::*;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_batch-generate")
}

/// A fresh isolated [`Sandbox`] for the binary; `tag` appears in the directory name.
pub fn isolated(tag: &str) -> Sandbox {
    Sandbox::isolated(bin(), tag)
}
