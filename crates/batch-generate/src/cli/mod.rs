//! The command line, and nothing else: every clap definition, one module per subcommand's
//! arguments ([`root`] holds the top-level parser), the value parsers ([`parse`]) and the Go
//! tool's single-dash spellings ([`goflags`]). Turning arguments into the library's settings
//! (`to_config`, `apply`) is the only logic here; the handlers live in `crate::commands`.
//!
//! The doc comments here are clap's `--help` text, where `<dir>/<name>` placeholders are
//! plain text, not HTML; rustdoc's HTML check is off for this module for that reason.
#![allow(
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links
)]

pub mod aggregate;
pub mod common;
pub mod completions;
pub mod dashboard;
pub mod demo;
pub mod explain;
pub mod goflags;
pub mod merge;
pub mod parse;
pub mod preflight;
pub mod queue;
pub mod report;
pub mod rollback;
pub mod root;
pub mod run;
pub mod store;
pub mod validate;

pub use aggregate::AggregateArgs;
pub use common::{BreakerArgs, FileArgs, JsonArgs, SelectionArgs};
pub use completions::{CompletionsArgs, ManArgs};
pub use demo::DemoArgs;
pub use merge::MergeArgs;
pub use preflight::PreflightArgs;
pub use queue::{MaintainArgs, QueueCmdArgs, QueueCommand, ReconcileArgs, StatusArgs};
pub use report::ReportArgs;
pub use rollback::RollbackPlanArgs;
pub use root::{Cli, ColorChoice, Command, VERSION};
pub use run::{ExecutionArgs, OutputArgs, PickArgs, RunArgs, ShardArgs};
pub use store::{
    ConsolidateArgs, FetchArgs, GcArgs, HealthArgs, PublishArgs, StoreArgs, StoreCmdArgs,
    StoreCommand,
};
pub use validate::ValidateArgs;

#[cfg(test)]
mod tests;
