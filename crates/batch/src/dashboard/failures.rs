//! What the dashboard takes from the failure records (issue #23), gathered line by line in one
//! pass over both formats: the count per category and the last category and blockers filed
//! under each package ID (`dashboard.go` `loadFailures`, `loadFailuresFromDir`), and the
//! individual failures behind `failure_details` (`failures.go` `loadFailureDetailsFromFile`),
//! which `super::details` turns into the list.

use std::collections::{BTreeMap, HashMap};

use super::wire::{FailureLine, LineFailure};

/// Longest message kept, in bytes (`failures.go` `maxMessageLength`).
pub(crate) const MAX_MESSAGE_BYTES: usize = 500;

/// Old category names and the canonical ones they count as (`failures.go` `categoryRemap`);
/// any other category passes through unchanged.
pub(crate) const CATEGORY_REMAP: [(&str, &str); 6] = [
    ("api_error", "network_error"),
    ("validation_failed", "install_failed"),
    ("deterministic_insufficient", "generation_failed"),
    ("deterministic", "generation_failed"),
    ("timeout", "network_error"),
    ("network", "network_error"),
];

/// The canonical name of a category (`failures.go` `remapCategory`).
pub(crate) fn remap_category(category: &str) -> &str {
    CATEGORY_REMAP
        .iter()
        .find(|(old, _)| *old == category)
        .map_or(category, |(_, new)| new)
}

/// The last failure filed under a package ID (`dashboard.go` `FailureDetails`): later files
/// and later lines replace earlier ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackageFailure {
    /// Remapped category.
    pub category: String,
    /// Its `blocked_by`.
    pub blocked_by: Vec<String>,
}

/// Who a failure belongs to, before the queue resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PackageRef {
    /// A batch-format `package_id`; the package is the name of the first queue entry with
    /// that source, else the ID's name part (`failures.go` `resolvePackageName`).
    Id(String),
    /// A per-recipe record's `recipe`.
    Recipe(String),
}

/// One failure as read, before deduplication (`failures.go` `FailureDetail` without `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawFailure {
    /// Whose failure it is.
    pub package: PackageRef,
    /// Its ecosystem.
    pub ecosystem: String,
    /// Remapped category.
    pub category: String,
    /// Recorded subcategory (may be empty).
    pub subcategory: String,
    /// Message cut at `MAX_MESSAGE_BYTES`.
    pub message: String,
    /// Exit code (per-recipe records; 0 otherwise).
    pub exit_code: i64,
    /// Platform (per-recipe records; empty otherwise).
    pub platform: String,
    /// The batch stamp of the file name (may be empty).
    pub batch_id: String,
    /// Timestamp as written.
    pub timestamp: String,
    /// Workflow run URL (may be empty).
    pub workflow_url: String,
}

/// Everything the dashboard takes from the failures directory. Feed it the lines of each
/// file, files in name order ([`FailureScan::add`]); no I/O here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FailureScan {
    /// Failures per remapped category: every batch-format failure (even without a category)
    /// and every per-recipe record with a recipe and a category.
    pub categories: BTreeMap<String, u64>,
    /// The last failure per package ID: batch-format `package_id`s, and
    /// `<ecosystem|homebrew>:<recipe>` of per-recipe records that have `blocked_by`.
    pub packages: HashMap<String, PackageFailure>,
    /// Every failure in reading order.
    pub failures: Vec<RawFailure>,
}

/// The ecosystem and batch stamp a failure file's name carries (`failures.go`
/// `parseFailureFilename`): `homebrew-2026-02-08T02-33-27Z.jsonl` gives `homebrew` and
/// `2026-02-08T02-33-27Z`; `homebrew.jsonl` gives `homebrew` and no stamp; the stamp is what
/// follows the first `-` when it starts with four digits.
pub(crate) fn parse_file_name(file_name: &str) -> (&str, &str) {
    let name = file_name.strip_suffix(".jsonl").unwrap_or(file_name);
    let Some((eco, rest)) = name.split_once('-') else {
        return (name, "");
    };
    let year = rest.as_bytes().get(..4);
    if year.is_some_and(|y| y.iter().all(u8::is_ascii_digit)) {
        (eco, rest)
    } else {
        (eco, "")
    }
}

/// `s` cut at [`MAX_MESSAGE_BYTES`] bytes. A character the cut splits becomes one U+FFFD per
/// byte kept, as Go's JSON encoder writes the invalid bytes `msg[:500]` leaves.
pub(crate) fn truncate_message(s: &str) -> String {
    if s.len() <= MAX_MESSAGE_BYTES {
        return s.to_owned();
    }
    let bytes = &s.as_bytes()[..MAX_MESSAGE_BYTES];
    let valid = match std::str::from_utf8(bytes) {
        Ok(all) => all.len(),
        Err(e) => e.valid_up_to(),
    };
    let mut out = String::with_capacity(MAX_MESSAGE_BYTES + 6);
    out.push_str(&s[..valid]);
    out.extend(std::iter::repeat_n('\u{FFFD}', MAX_MESSAGE_BYTES - valid));
    out
}

impl FailureScan {
    /// Adds one parsed line of the file named `file_name` (its base name).
    pub fn add(&mut self, file_name: &str, line: FailureLine) {
        let (file_eco, file_batch) = parse_file_name(file_name);
        let line_eco = line.ecosystem.unwrap_or_default();
        for f in line.failures.unwrap_or_default() {
            self.add_batch_failure(f, &line_eco, file_eco, file_batch);
        }
        let recipe = line.recipe.unwrap_or_default();
        let category = line.category.unwrap_or_default();
        if recipe.is_empty() || category.is_empty() {
            return;
        }
        let category = remap_category(&category).to_owned();
        *self.categories.entry(category.clone()).or_default() += 1;
        let blocked_by = line.blocked_by.unwrap_or_default();
        if !blocked_by.is_empty() {
            // dashboard.go loadFailures: "last-resort fallback for pre-unified records".
            let eco = if line_eco.is_empty() {
                "homebrew"
            } else {
                &line_eco
            };
            self.packages.insert(
                format!("{eco}:{recipe}"),
                PackageFailure {
                    category: category.clone(),
                    blocked_by,
                },
            );
        }
        // failures.go: ecosystem of the line, else of the file name, else "unknown";
        // timestamp, else updated_at.
        let ecosystem = [line_eco.as_str(), file_eco]
            .into_iter()
            .find(|e| !e.is_empty())
            .unwrap_or("unknown")
            .to_owned();
        let timestamp = match line.timestamp {
            Some(t) if !t.is_empty() => t,
            _ => line.updated_at.unwrap_or_default(),
        };
        self.failures.push(RawFailure {
            package: PackageRef::Recipe(recipe),
            ecosystem,
            category,
            subcategory: line.subcategory.unwrap_or_default(),
            message: truncate_message(line.message.as_deref().unwrap_or_default()),
            exit_code: line.exit_code.unwrap_or_default(),
            platform: line.platform.unwrap_or_default(),
            batch_id: file_batch.to_owned(),
            timestamp,
            workflow_url: line.workflow_url.unwrap_or_default(),
        });
    }

    fn add_batch_failure(&mut self, f: LineFailure, line_eco: &str, file_eco: &str, batch: &str) {
        let package_id = f.package_id.unwrap_or_default();
        let category = remap_category(f.category.as_deref().unwrap_or_default()).to_owned();
        *self.categories.entry(category.clone()).or_default() += 1;
        self.packages.insert(
            package_id.clone(),
            PackageFailure {
                category: category.clone(),
                blocked_by: f.blocked_by.unwrap_or_default(),
            },
        );
        // failures.go: the ecosystem of the package ID, else of the line, else of the file.
        let id_eco = package_id.split_once(':').map_or("", |(e, _)| e);
        let ecosystem = if id_eco.is_empty() {
            if line_eco.is_empty() {
                file_eco
            } else {
                line_eco
            }
        } else {
            id_eco
        }
        .to_owned();
        self.failures.push(RawFailure {
            package: PackageRef::Id(package_id),
            ecosystem,
            category,
            subcategory: f.subcategory.unwrap_or_default(),
            message: truncate_message(f.message.as_deref().unwrap_or_default()),
            exit_code: 0,
            platform: String::new(),
            batch_id: batch.to_owned(),
            timestamp: f.timestamp.unwrap_or_default(),
            workflow_url: f.workflow_url.unwrap_or_default(),
        });
    }
}
