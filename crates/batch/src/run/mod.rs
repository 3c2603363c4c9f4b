//! The main job, stage by stage: `plan` (load, recover breakers, select), `execute`
//! (rate-limited, concurrent create → install with retries, journaled), `apply` (queue
//! transitions, counts, breaker update in memory), `persist` (atomic writes) and
//! `recover` (finishing an interrupted run from its [`journal`]) under the run
//! [`lock`](crate::lock);
//! `ratelimit` holds the per-ecosystem limiters, `unreachable` the early end of an ecosystem
//! whose upstream is down, and `hooks` the observer interface.
//! `crate::sequence` composes the stages once.

pub mod adaptive;
pub(crate) mod apply;
pub(crate) mod deadline;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod execute;
pub(crate) mod hooks;
pub mod journal;
pub mod orphans;
pub(crate) mod persist;
pub(crate) mod plan;
pub(crate) mod ratelimit;
pub(crate) mod recover;
pub mod unreachable;

pub use apply::{RunReport, apply_results};
pub use error::{EcosystemSetting, NamedEntries, RunError, UnknownEcosystem};
pub use execute::{BUDGET_REACHED, BUDGET_STOPPED, EntryResult, Event, execute_plan};
#[cfg(test)]
pub(crate) use execute::{ExecuteOptions, execute_plan_with};
#[cfg(test)]
pub(crate) use hooks::NoHooks;
pub use hooks::{Hooks, Notice};
pub use persist::save_run;
#[cfg(test)]
pub(crate) use persist::save_run_with;
pub use plan::{Plan, load_plan, plan_from};
pub use recover::Recovery;
#[cfg(test)]
pub(crate) use recover::recover_journal;
pub use unreachable::{unreachable_ecosystem, unreachable_reason};

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
