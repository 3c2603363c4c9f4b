//! The main job, stage by stage: [`plan`] (load, recover breakers, select), [`execute`]
//! (rate-limited, concurrent create → install with retries, journaled), [`report`] (queue
//! transitions, counts, breaker update in memory), [`persist`] (atomic writes) and
//! [`recover`] (finishing an interrupted run from its [`journal`]), composed once by
//! [`sequence`] under the run [`lock`]. [`ratelimit`] holds the per-ecosystem limiters.

pub mod error;
pub mod execute;
pub mod journal;
pub mod lock;
pub mod persist;
pub mod plan;
pub mod ratelimit;
pub mod recover;
pub mod report;
pub mod sequence;

pub use error::RunError;
pub use execute::{EntryResult, Event, ExecuteOptions, execute, execute_with};
pub use persist::{persist, persist_with};
pub use plan::{Plan, plan, plan_excluding, plan_from};
pub use recover::{Recovery, recover};
pub use report::{RunReport, apply};
pub use sequence::{
    DryRun, Finished, Hooks, MainRun, NoHooks, Notice, SequenceError, ShardTarget, Stage,
};

#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod tests;
