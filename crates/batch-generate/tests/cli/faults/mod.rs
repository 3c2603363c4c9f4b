//! Fault-injection tests of the `batch-generate` binary (issue "Unattended-run safety"):
//! SIGKILL at random instants, SIGINT/SIGTERM, generator timeouts, huge generator output, the
//! run lock and failing writes. Every test runs the real binary as a child process against the
//! fake generator (`testdata/fake-tsuku`) in its own temporary directory.

mod kill;
mod lock;
mod output;
mod readonly;
mod signals;
mod timeout;
