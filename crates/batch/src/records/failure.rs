//! Failure records and the per-ecosystem failure JSONL files (spec §1.3.1). This module
//! renders bytes; the run decides when and where they are written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::jsonfmt;
use super::timestamp::file_stamp;
use crate::generator::Category;

/// Environment string of every failure file (hard-coded in Go, spec §1.3.1).
pub(crate) const ENVIRONMENT: &str = "linux-glibc-x86_64";

/// One failure (or blocked) record, keys in spec §1.3.1 order; `subcategory` and `blocked_by`
/// are omitted when empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct FailureRecord {
    /// The entry's `source`.
    pub package_id: String,
    /// Pipeline category.
    pub category: Category,
    /// Finer reason; empty when none.
    #[serde(default)]
    pub subcategory: String,
    /// Missing dependencies; empty when none.
    #[serde(default)]
    pub blocked_by: Vec<String>,
    /// Truncated generator output.
    pub message: String,
    /// RFC 3339 UTC with nanoseconds, taken when the failure was classified.
    pub timestamp: String,
}

impl<'de> serde::Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        [
            Category::RecipeNotFound,
            Category::NetworkError,
            Category::InstallFailed,
            Category::VerifyFailed,
            Category::MissingDep,
            Category::GenerationFailed,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown category {s:?}")))
    }
}

impl Serialize for FailureRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("package_id", &self.package_id)?;
        m.serialize_entry("category", self.category.as_str())?;
        if !self.subcategory.is_empty() {
            m.serialize_entry("subcategory", &self.subcategory)?;
        }
        if !self.blocked_by.is_empty() {
            m.serialize_entry("blocked_by", &self.blocked_by)?;
        }
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("timestamp", &self.timestamp)?;
        m.end()
    }
}

impl FailureRecord {
    /// The failure-file grouping key: `package_id` before the first `:`, or the whole
    /// `package_id` without a colon (spec §1.3.1).
    pub fn file_ecosystem(&self) -> &str {
        self.package_id
            .split_once(':')
            .map_or(self.package_id.as_str(), |(e, _)| e)
    }
}

/// Makes an ecosystem string safe as a file-name component: bytes outside
/// `[A-Za-z0-9._@+-]` become `%XX`, as does a leading `.`, and an empty string becomes `%`
/// (issue #3: an unsafe ecosystem never reaches a file name unescaped). Real keys such as
/// `crates.io` pass through unchanged.
pub(crate) fn safe_file_component(eco: &str) -> String {
    if eco.is_empty() {
        return "%".to_owned();
    }
    let mut out = String::with_capacity(eco.len());
    for (i, b) in eco.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-');
        if plain && !(i == 0 && b == b'.') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One failure file to write: its name (inside the failures directory) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureFile {
    /// The ecosystem as written inside the file.
    pub ecosystem: String,
    /// `<safe eco>-<YYYY-MM-DDTHH-MM-SSZ>.jsonl`.
    pub file_name: String,
    /// One compact JSON line plus `\n`.
    pub bytes: Vec<u8>,
}

/// Groups records by ecosystem (sorted by ecosystem; records keep their order) and renders one
/// file each, stamped with `now` (spec §1.3.1).
pub fn failure_files(records: &[FailureRecord], now: Timestamp) -> Vec<FailureFile> {
    let stamp = file_stamp(now);
    let mut groups: BTreeMap<&str, Vec<&FailureRecord>> = BTreeMap::new();
    for r in records {
        groups.entry(r.file_ecosystem()).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(eco, failures)| {
            #[derive(Serialize)]
            struct Line<'a> {
                schema_version: u32,
                ecosystem: &'a str,
                environment: &'a str,
                updated_at: &'a str,
                failures: Vec<&'a FailureRecord>,
            }
            let line = Line {
                schema_version: 1,
                ecosystem: eco,
                environment: ENVIRONMENT,
                updated_at: &stamp,
                failures,
            };
            FailureFile {
                ecosystem: eco.to_owned(),
                file_name: format!("{}-{stamp}.jsonl", safe_file_component(eco)),
                bytes: jsonfmt::to_compact(&line).expect("records always serialise"),
            }
        })
        .collect()
}
