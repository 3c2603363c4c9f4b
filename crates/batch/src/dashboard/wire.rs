//! One line of a failures file as tsuku's dashboard decodes it (`dashboard.go`
//! `FailureRecord` and `PackageFailure`): both formats (spec §1.3.1 batch, §1.3.2 per-recipe)
//! in one struct, every field Go declares, `null` or absent read as empty. A field of the
//! wrong type makes the line malformed, as Go's `json.Unmarshal` error does; unknown keys are
//! ignored. The lines come from `crate::records::failure_log::read_lines`.

use serde::Deserialize;

/// One JSONL line of either format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct FailureLine {
    /// `schema_version` (read only so a non-integer makes the line malformed, as in Go).
    #[serde(default)]
    pub schema_version: Option<i64>,
    /// Ecosystem of the file (both formats; optional).
    #[serde(default)]
    pub ecosystem: Option<String>,
    /// `environment` (batch format; unused).
    #[serde(default)]
    pub environment: Option<String>,
    /// `updated_at` (batch format): the per-recipe timestamp's fallback.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Per-recipe timestamp.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The batch format's failures.
    #[serde(default)]
    pub failures: Option<Vec<LineFailure>>,
    /// Per-recipe: the recipe name.
    #[serde(default)]
    pub recipe: Option<String>,
    /// Per-recipe: the platform validated.
    #[serde(default)]
    pub platform: Option<String>,
    /// Per-recipe: category.
    #[serde(default)]
    pub category: Option<String>,
    /// Per-recipe: subcategory.
    #[serde(default)]
    pub subcategory: Option<String>,
    /// Per-recipe: exit code.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// Per-recipe: missing dependencies.
    #[serde(default)]
    pub blocked_by: Option<Vec<String>>,
    /// Per-recipe: message.
    #[serde(default)]
    pub message: Option<String>,
    /// Per-recipe: workflow run URL.
    #[serde(default)]
    pub workflow_url: Option<String>,
}

/// One failure of a batch-format line (`dashboard.go` `PackageFailure`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct LineFailure {
    /// The entry's source.
    #[serde(default)]
    pub package_id: Option<String>,
    /// Category.
    #[serde(default)]
    pub category: Option<String>,
    /// Subcategory.
    #[serde(default)]
    pub subcategory: Option<String>,
    /// Missing dependencies.
    #[serde(default)]
    pub blocked_by: Option<Vec<String>>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// Timestamp.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Workflow run URL.
    #[serde(default)]
    pub workflow_url: Option<String>,
}

/// One line of a disambiguations file (`dashboard.go` `DisambiguationFile`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct DisambiguationLine {
    /// `schema_version` (typed as in Go).
    #[serde(default)]
    pub schema_version: Option<i64>,
    /// `ecosystem` (unused).
    #[serde(default)]
    pub ecosystem: Option<String>,
    /// `environment` (unused).
    #[serde(default)]
    pub environment: Option<String>,
    /// `updated_at` (unused).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The decisions of this line.
    #[serde(default)]
    pub disambiguations: Option<Vec<super::model::DisambiguationRecord>>,
}
