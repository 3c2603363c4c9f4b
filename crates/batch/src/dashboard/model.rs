//! The shape of `dashboard.json` (issue #23): one struct per Go struct of tsuku's
//! `internal/dashboard/dashboard.go` and `failures.go`, fields in Go's declaration order (which
//! is the key order Go writes), `omitempty` fields skipped when empty. Maps are [`BTreeMap`]s:
//! Go's `encoding/json` writes map keys sorted by their string form, and so do these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

/// The whole file (`dashboard.go` `Dashboard`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    /// When it was built, UTC whole seconds (`time.RFC3339`).
    pub generated_at: String,
    /// The queue's totals and packages.
    pub queue: QueueStatus,
    /// Top dependencies blocking queue entries, at most `super::blockers::TOP_BLOCKERS`;
    /// always written, `[]` when none.
    pub blockers: Vec<Blocker>,
    /// Failure count by (remapped) category over every failure file; always written.
    pub failures: BTreeMap<String, u64>,
    /// The newest failures, at most `super::details::MAX_FAILURE_DETAILS` (`omitempty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failure_details: Vec<FailureDetail>,
    /// Breakers and run tracking (`omitempty`: absent without control file and metrics, or
    /// when the control file does not parse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthStatus>,
    /// The newest runs that processed something, newest first, at most
    /// `super::runs::MAX_RUNS` (`omitempty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunSummary>,
    /// Disambiguation decisions (`omitempty`: absent when there are none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disambiguations: Option<DisambiguationStatus>,
    /// Queue entries with `curated` confidence, in queue order (`omitempty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curated: Vec<CuratedOverride>,
}

/// `dashboard.go` `QueueStatus`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct QueueStatus {
    /// Entries in the queue.
    pub total: u64,
    /// Entries by status string.
    pub by_status: BTreeMap<String, u64>,
    /// Entries by priority (written as a string key, as Go writes `map[int]`), then status.
    pub by_tier: BTreeMap<String, BTreeMap<String, u64>>,
    /// Entries by ecosystem, then status plus a `total` key; entries whose source has no
    /// ecosystem are left out (`omitempty`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_ecosystem: BTreeMap<String, BTreeMap<String, u64>>,
    /// Every entry by status, sorted by priority then name.
    pub packages: BTreeMap<String, Vec<PackageInfo>>,
}

/// `dashboard.go` `PackageInfo`: one queue entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageInfo {
    /// The entry's `source`.
    pub id: String,
    /// The entry's `name`.
    pub name: String,
    /// The part of `source` before the first `:` (`""` when none).
    pub ecosystem: String,
    /// The entry's priority.
    pub priority: i64,
    /// Category of the last failure record filed under `source` (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// Its `blocked_by`, for blocked entries only (`omitempty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    /// The entry's `failure_count`.
    pub failure_count: i64,
    /// The entry's `next_retry_at` as `YYYY-MM-DDTHH:MM:SSZ` (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub next_retry_at: String,
}

/// `dashboard.go` `Blocker`: a dependency that blocks queue entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// The dependency's name.
    pub dependency: String,
    /// Same as `total_count` (kept by Go for backward compatibility).
    pub count: u64,
    /// Distinct entries it blocks directly.
    pub direct_count: u64,
    /// Entries it blocks directly and transitively.
    pub total_count: u64,
    /// The first five directly blocked package IDs, sorted.
    pub packages: Vec<String>,
}

/// `failures.go` `FailureDetail`: one failure, from either record format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureDetail {
    /// `<ecosystem>-<timestamp with dashes>-<package>`.
    pub id: String,
    /// The package (queue name, or the name part of the package ID).
    pub package: String,
    /// Its ecosystem.
    pub ecosystem: String,
    /// Remapped category.
    pub category: String,
    /// Recorded or derived subcategory (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subcategory: String,
    /// The message, cut at 500 bytes (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Generator exit code of a per-recipe record (`omitempty`).
    #[serde(skip_serializing_if = "is_zero")]
    pub exit_code: i64,
    /// The platform, or `multiple` for merged platform records (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub platform: String,
    /// The merged platforms, sorted (`omitempty`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<String>,
    /// The batch stamp of the file name (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub batch_id: String,
    /// The record's timestamp as written.
    pub timestamp: String,
    /// Workflow run URL (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub workflow_url: String,
}

/// `dashboard.go` `HealthStatus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthStatus {
    /// Breakers of the control file by ecosystem; `{}` without control file.
    pub ecosystems: BTreeMap<String, EcosystemHealth>,
    /// The newest metrics record (`null` when none).
    pub last_run: Option<RunInfo>,
    /// The newest metrics record with `merged > 0` (`null` when none).
    pub last_successful_run: Option<RunInfo>,
    /// Records newer than that one (all records when there is none).
    pub runs_since_last_success: u64,
}

/// `dashboard.go` `EcosystemHealth`: one breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemHealth {
    /// `closed`, `open` or `half-open`, as stored.
    pub breaker_state: String,
    /// Consecutive failures.
    pub failures: i64,
    /// As stored (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_failure: String,
    /// As stored (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub opens_at: String,
}

/// `dashboard.go` `RunInfo`: one metrics record, for health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    /// The record's timestamp with `:` replaced by `-`.
    pub batch_id: String,
    /// Candidates by ecosystem (`omitempty`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ecosystems: BTreeMap<String, u64>,
    /// As written.
    pub timestamp: String,
    /// `merged`.
    pub succeeded: u64,
    /// `total - merged`, at least 0.
    pub failed: u64,
    /// `total`.
    pub total: u64,
    /// `merged` (`omitempty`).
    #[serde(skip_serializing_if = "is_zero_u")]
    pub recipes_merged: u64,
}

/// `dashboard.go` `RunSummary`: one metrics record, for the runs list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The record's timestamp with `:` replaced by `-`.
    pub batch_id: String,
    /// Candidates by ecosystem (`omitempty`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ecosystems: BTreeMap<String, u64>,
    /// `total`.
    pub total: u64,
    /// `merged`.
    pub merged: u64,
    /// `merged / total`, written as Go writes a `float64`.
    #[serde(serialize_with = "go_float")]
    pub rate: f64,
    /// `duration_seconds` (`omitempty`).
    #[serde(skip_serializing_if = "is_zero_u")]
    pub duration: u64,
    /// As written.
    pub timestamp: String,
}

/// `dashboard.go` `DisambiguationStatus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisambiguationStatus {
    /// Distinct tools.
    pub total: u64,
    /// Tools by `selection_reason`.
    pub by_reason: BTreeMap<String, u64>,
    /// Tools with `high_risk`.
    pub high_risk: u64,
    /// Those tools' names, sorted.
    pub need_review: Vec<String>,
    /// One record per tool (the first read), sorted by tool.
    pub entries: Vec<DisambiguationRecord>,
}

/// `dashboard.go` `DisambiguationRecord`, read from and written to JSON alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisambiguationRecord {
    /// Tool name.
    #[serde(default, deserialize_with = "nullable")]
    pub tool: String,
    /// Chosen source.
    #[serde(default, deserialize_with = "nullable")]
    pub selected: String,
    /// Other sources; `null` when the record had none (Go writes a nil slice as `null`).
    #[serde(default)]
    pub alternatives: Option<Vec<String>>,
    /// Why it was chosen.
    #[serde(default, deserialize_with = "nullable")]
    pub selection_reason: String,
    /// Download ratio (`omitempty`: left out when 0).
    #[serde(
        default,
        deserialize_with = "nullable",
        serialize_with = "go_float",
        skip_serializing_if = "is_zero_f"
    )]
    pub downloads_ratio: f64,
    /// Needs a human look.
    #[serde(default, deserialize_with = "nullable")]
    pub high_risk: bool,
}

/// `dashboard.go` `CuratedOverride`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CuratedOverride {
    /// The entry's name.
    pub name: String,
    /// The entry's source.
    pub source: String,
    /// Never set by Go's builder (`omitempty`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// `valid` (success, pending), `invalid` (failed) or `unknown`.
    pub validation_status: String,
}

/// Writes an `f64` the way Go's `encoding/json` does for the values the dashboard holds: a
/// whole number without a fraction (`1`, not `1.0`), anything else in its shortest form.
///
/// # Errors
/// Those of the serializer.
pub(crate) fn go_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    // 2^53: every whole f64 below it is exactly an i64.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if v.is_finite() && v.fract() == 0.0 && v.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)]
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// Reads `null` as the type's zero value, as Go's `json.Unmarshal` leaves a field untouched
/// for `null`.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u(v: &u64) -> bool {
    *v == 0
}

fn is_zero_f(v: &f64) -> bool {
    *v == 0.0
}
