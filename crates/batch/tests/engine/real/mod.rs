//! Tests on tsuku's real data: the live queue, control file, sample recipes and failure
//! samples from the repository's copy (`testdata/tsuku/`), the whole failure and metrics
//! corpora from `$BATCH_TSUKU_DATA` (see [`batch_testkit::tsuku_data`]).

mod history;
mod live;
mod maintain;
mod reconcile_status;
mod sharding;
