//! End-to-end tests of the `batch-generate` binary against the fake generator
//! (`testdata/fake-tsuku`), one binary for the crate (STYLE.md §6). Expectations come from the
//! behaviour spec (§8 scenarios) and the product issue (flags, environment variables, exit
//! codes, bad input, kill switch); [`faults`] injects faults (signals, timeouts, kills,
//! failing writes) and [`store`] runs the artifact-store commands against moto.

mod aggregate;
mod aggregate_resume;
mod bad_input;
mod breaker;
mod budget;
mod dashboard;
mod demo;
mod determinism;
mod dry_run;
mod explain;
mod faults;
mod flags;
mod github;
mod joblog;
mod lock;
mod pacing;
mod pages;
mod pick;
mod pipeline;
mod pipeline_chain;
mod pipes;
mod preflight;
mod queue;
mod queue_reconcile;
mod queue_status;
mod report;
mod report_html;
mod rollback;
mod run;
mod selfdoc;
mod sharding;
mod store;
mod summary;
mod unreachable;
mod util;
mod validate;
mod validate_reasons;
mod validate_stop;
mod validate_timeouts;
