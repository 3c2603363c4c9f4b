//! The typed answer of `explain` (issue #23): one [`Explanation`] per entry, each rule of
//! selection as a [`Check`], and the [`ExplainReport`] around them; serialized as is by
//! `explain --json`. Built by [`super::explain`](crate::inventory::explain::explain).

use serde::Serialize;

use crate::inventory::failure_notes::FailureNote;
use crate::inventory::status::Probe;

/// A selection rule, in the order the run applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `enabled` of the control file (spec §1.2; honoured by this crate, issue #12).
    KillSwitch,
    /// `--strict` refuses a queue with invalid entries.
    Strict,
    /// The entry rules (spec §1.1) and the recipe path rule (issue #3).
    Valid,
    /// Only `pending` and `failed` entries are candidates (spec §3 step 2.1).
    Status,
    /// `--ecosystem` (spec §3 step 2.3).
    EcosystemFilter,
    /// `disabled_ecosystems` of the control file (spec §1.2).
    Disabled,
    /// The ecosystem's circuit breaker (spec §3 steps 2.4–2.6, §6).
    Breaker,
    /// `priority <= --tier` (spec §3 step 2.7).
    Tier,
    /// `next_retry_at` not later than now (spec §3 step 2.7).
    Backoff,
    /// One probe per half-open ecosystem, pending first (spec §3 steps 2.6, 3).
    Probe,
    /// `--batch-size`: the main pass stops when full, then the list is cut (spec §3 steps 2.7, 4).
    BatchSize,
}

/// How an entry fares against one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule lets it through.
    Pass,
    /// The rule keeps it out.
    Fail,
    /// The rule does not apply (a half-open probe ignores tier and backoff, `--retry-failed`
    /// the backoff).
    Bypassed,
}

/// One rule's verdict, with the words of the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The rule.
    pub rule: Rule,
    /// Its outcome.
    pub outcome: Outcome,
    /// Why, for people.
    pub detail: String,
}

/// A selected entry's place in the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Position {
    /// 1-based position among the candidates (processing order).
    pub position: usize,
    /// Candidates selected.
    pub candidates: usize,
    /// `--batch-size`.
    pub batch_size: usize,
    /// With `--shards N`: the shard it is dealt to (1-based) and its place there.
    pub shard: Option<ShardSlot>,
}

/// Where a candidate lands when the batch is dealt across shards ([`crate::shard::partition::assign`], issue #15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardSlot {
    /// Shard K, 1-based.
    pub shard: u32,
    /// N.
    pub shards: u32,
    /// 1-based position within the shard.
    pub position: usize,
    /// Candidates of that shard.
    pub size: usize,
}

/// The ecosystem's breaker as the next run sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerView {
    /// The state stored in the control file (`null`: no breaker, closed).
    pub stored: Option<String>,
    /// The state after due recoveries (spec §6.2), the one selection acts on.
    pub next_run: String,
    /// When it next lets a probe through.
    pub probe: Probe,
}

/// A dependency recorded as blocking the entry, or one of its dependencies (spec §4.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The dependency's name, as `blocked_by` gives it.
    pub name: String,
    /// The status of the queue entry of that name; `null` when no entry has it.
    pub status: Option<String>,
    /// 1 for the entry's own dependencies, 2 for theirs, and so on.
    pub depth: usize,
    /// The entry at depth − 1 it blocks (`null` at depth 1).
    pub via: Option<String>,
    /// Already listed higher up: a cycle or a shared dependency, not followed again.
    pub repeated: bool,
}

/// The failure history of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failures {
    /// Records found for it.
    pub total: usize,
    /// The newest, oldest first (reading order).
    pub last: Vec<FailureNote>,
}

/// The entry's recipe file (spec §4.1 step 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipe {
    /// `<output-dir>/<first char>/<name>.toml`; `null` for a name that maps to no safe path.
    pub path: Option<String>,
    /// Whether the file exists. Selection does not look (spec §3): a pending entry with a
    /// recipe is regenerated until `queue reconcile` marks it `success`.
    pub on_disk: bool,
}

/// Everything `explain` says about one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The argument that named it.
    pub query: String,
    /// 0-based position in the queue.
    pub index: usize,
    /// Entry name.
    pub name: String,
    /// Entry source.
    pub source: String,
    /// Its ecosystem.
    pub ecosystem: String,
    /// Its status.
    pub status: String,
    /// Its priority.
    pub priority: i64,
    /// Its `failure_count`.
    pub failure_count: i64,
    /// Its `next_retry_at`, as written.
    pub next_retry_at: Option<String>,
    /// Whether the next run selects it: exactly the run's selection.
    pub selected: bool,
    /// The one-line answer.
    pub summary: String,
    /// Why selected ([`crate::select::Reason::label`]); `null` when not.
    pub reason: Option<String>,
    /// Its place in the batch when selected.
    pub position: Option<Position>,
    /// Its position were the batch size unlimited (the same selection with no cut); `null`
    /// when no batch size would select it.
    pub unlimited_position: Option<usize>,
    /// Every rule, in the run's order.
    pub checks: Vec<Check>,
    /// Its ecosystem's breaker.
    pub breaker: BreakerView,
    /// What blocks it, transitively (depth first, in recorded order).
    pub blocked_by: Vec<Dependency>,
    /// For a `blocked` entry: when requeue releases it (spec §4.9).
    pub requeue: Option<String>,
    /// The packages it blocks directly (package IDs from the failure records).
    pub blocks: Vec<String>,
    /// Its failure records.
    pub failures: Failures,
    /// Its recipe.
    pub recipe: Recipe,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainReport {
    /// The instant of the answer, `YYYY-MM-DDTHH:MM:SSZ`.
    pub now: String,
    /// `--batch-size`.
    pub batch_size: usize,
    /// `--tier`.
    pub tier: i64,
    /// `--ecosystem` (empty: all).
    pub ecosystems: Vec<String>,
    /// `--retry-failed`.
    pub retry_failed: bool,
    /// `--shards`.
    pub shards: Option<u32>,
    /// The kill switch is on (`enabled`).
    pub enabled: bool,
    /// Candidates the next run selects.
    pub candidates: usize,
    /// Invalid entries selection skips.
    pub invalid: usize,
    /// One explanation per matched entry, in argument order.
    pub entries: Vec<Explanation>,
}
