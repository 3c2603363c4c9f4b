//! Aggregation of the platform validation results (spec §7.3.1–§7.3.6, §1.3.2, §1.5,
//! issue #13): the `run_command` security gate, include/constrain/exclude, constraints
//! written into `[metadata]`, per-recipe failure records, the metrics record and the PR text.
//!
//! - `inputs`: the results files, batch membership and recipe paths;
//! - `plan`: every decision, computed without writing; `apply`
//!   then writes it;
//! - `journal`: the state before the batch of what `apply` changes, so that a run after an
//!   interruption ends as one uninterrupted run (issue #22);
//! - `error`: the typed errors ([`AggregateError`]);
//! - the security gate over the parsed TOML is [`crate::gate`] (validate applies it too);
//! - `verdict`: include, constrain or exclude from the validation rows;
//! - `reporting`: which job platforms reported; an incomplete one is set aside (issue #22);
//! - `constraint`: spec §7.3.3's derivation;
//! - `insert`: the `toml_edit` insertion into `[metadata]`;
//! - [`recipe_failures`]: per-recipe failure records (spec §1.3.2);
//! - `reason`: a failing platform's reason in one line, for the PR text (issue #22);
//! - [`metrics`]: the metrics record (spec §1.5);
//! - [`pr`]: the PR title, body and commit message (spec §7.3.5).

pub(crate) mod apply;
pub(crate) mod constraint;
pub(crate) mod error;
pub(crate) mod inputs;
pub(crate) mod insert;
pub(crate) mod journal;
pub mod metrics;
pub(crate) mod plan;
pub mod pr;
pub(crate) mod reason;
pub mod recipe_failures;
pub(crate) mod reporting;
pub(crate) mod verdict;

pub use crate::gate::GateFailure;
#[cfg(test)]
pub(crate) use apply::apply_plan;
pub use apply::{Applied, run};
pub use error::AggregateError;
pub use insert::InsertError;
pub use plan::{ExcludeCause, Fate, Options, Plan, QueueChange, RecipeDecision, plan_aggregate};
pub use reporting::NotReported;
