//! The files a run writes besides the queue and control file: per-ecosystem failure JSONL
//! (spec §1.3.1), `batch-results.json` (§1.4) and the Markdown summary (§1.6). This module
//! renders bytes; the run decides when and where they are written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::classify::Category;
use crate::jsonfmt;
use crate::timestamp::{file_stamp, rfc3339_nano_utc, utc_date};

/// Environment string of every failure file (hard-coded in Go, spec §1.3.1).
pub const ENVIRONMENT: &str = "linux-glibc-x86_64";

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
pub fn safe_file_component(eco: &str) -> String {
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

/// Per-ecosystem counts in `batch-results.json`; blocked = total − succeeded − failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EcosystemCounts {
    /// Entries processed.
    pub total: usize,
    /// Entries that succeeded.
    pub succeeded: usize,
    /// Entries that failed (blocked ones are in neither).
    pub failed: usize,
}

impl EcosystemCounts {
    /// Counts one processed entry (a blocked one only in `total`).
    pub fn add(&mut self, outcome: Counted) {
        self.total += 1;
        match outcome {
            Counted::Succeeded => self.succeeded += 1,
            Counted::Failed => self.failed += 1,
            Counted::Blocked => {}
        }
    }
}

/// `batch-results.json` (spec §1.4), keys in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResults {
    /// UTC date of the run start, `YYYY-MM-DD`.
    pub batch_id: String,
    /// Ecosystem → entries processed.
    pub ecosystems: BTreeMap<String, usize>,
    /// Ecosystem → counts.
    pub per_ecosystem: BTreeMap<String, EcosystemCounts>,
    /// Entries processed: `succeeded + failed + blocked`.
    pub total: usize,
    /// Entries that succeeded.
    pub succeeded: usize,
    /// Entries that failed.
    pub failed: usize,
    /// Entries that are blocked on dependencies.
    pub blocked: usize,
    /// RFC 3339 UTC with nanoseconds: when processing started. Deliberate fix: an empty run
    /// records its real start, not Go's zero time (spec §9.1.16).
    pub timestamp: String,
}

impl BatchResults {
    /// An empty result for a run started at `started`.
    pub fn new(started: Timestamp) -> Self {
        Self {
            batch_id: utc_date(started),
            timestamp: rfc3339_nano_utc(started),
            ..Self::default()
        }
    }

    /// Counts one processed entry of `ecosystem`.
    pub fn count(&mut self, ecosystem: &str, outcome: Counted) {
        *self.ecosystems.entry(ecosystem.to_owned()).or_default() += 1;
        self.per_ecosystem
            .entry(ecosystem.to_owned())
            .or_default()
            .add(outcome);
        self.total += 1;
        match outcome {
            Counted::Succeeded => self.succeeded += 1,
            Counted::Failed => self.failed += 1,
            Counted::Blocked => self.blocked += 1,
        }
    }

    /// Pretty JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        jsonfmt::to_pretty(self).expect("results always serialise")
    }
}

/// Which counter an outcome bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// `succeeded`.
    Succeeded,
    /// `failed`.
    Failed,
    /// `blocked`.
    Blocked,
}

/// Renders the Markdown summary (spec §1.6 template). Deliberate changes: the ecosystem table
/// is sorted by ecosystem (Go's order was random), and an `Invalid` row follows `Blocked` when
/// entries were skipped as invalid. `recipes` are file basenames in processing order.
pub fn render_summary(
    results: &BatchResults,
    recipes: &[String],
    failures: &[FailureRecord],
    invalid: usize,
) -> String {
    let mut s = String::new();
    let label = match results.ecosystems.len() {
        1 => results
            .ecosystems
            .keys()
            .next()
            .map_or("mixed", String::as_str),
        _ => "mixed",
    };
    let _ = writeln!(s, "Batch run for **{label}** on {}.", results.batch_id);
    s.push('\n');
    if results.per_ecosystem.len() > 1 {
        s.push_str("### Ecosystem breakdown\n\n");
        s.push_str("| Ecosystem | Succeeded | Failed | Total |\n");
        s.push_str("|-----------|-----------|--------|-------|\n");
        for (eco, c) in &results.per_ecosystem {
            let _ = writeln!(
                s,
                "| {eco} | {} | {} | {} |",
                c.succeeded, c.failed, c.total
            );
        }
        s.push('\n');
    }
    s.push_str("| Metric | Count |\n|--------|-------|\n");
    let _ = writeln!(s, "| Succeeded | {} |", results.succeeded);
    let _ = writeln!(s, "| Failed | {} |", results.failed);
    let _ = writeln!(s, "| Blocked | {} |", results.blocked);
    if invalid > 0 {
        let _ = writeln!(s, "| Invalid | {invalid} |");
    }
    let _ = writeln!(s, "| **Total** | **{}** |", results.total);
    if !recipes.is_empty() {
        s.push_str("\n### Recipes added\n\n");
        for r in recipes {
            let _ = writeln!(s, "- `{r}`");
        }
    }
    if !failures.is_empty() {
        s.push_str("\n### Failures\n\n");
        for f in failures {
            if f.category == Category::MissingDep && !f.blocked_by.is_empty() {
                let _ = writeln!(
                    s,
                    "- **{}**: blocked by [{}]",
                    f.package_id,
                    f.blocked_by.join(" ")
                );
            } else {
                let _ = writeln!(s, "- **{}**: {}", f.package_id, f.category.as_str());
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pkg: &str, cat: Category, blocked_by: &[&str]) -> FailureRecord {
        FailureRecord {
            package_id: pkg.into(),
            category: cat,
            subcategory: String::new(),
            blocked_by: blocked_by.iter().map(|s| (*s).to_owned()).collect(),
            message: "m <&>".into(),
            timestamp: "2026-04-04T20:32:05.85238823Z".into(),
        }
    }

    fn now() -> Timestamp {
        "2026-04-04T20:32:43.5Z".parse().unwrap()
    }

    #[test]
    fn failure_file_matches_go_bytes() {
        let mut r = rec("rubygems:bup", Category::NetworkError, &[]);
        r.message = "failed after 3 retries: tsuku create rubygems:bup: exit 5: Error checking package: rubygems.org returned status 503".into();
        let files = failure_files(&[r], now());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].file_name, "rubygems-2026-04-04T20-32-43Z.jsonl");
        // The real record quoted in spec §1.3.1, shortened message.
        let want = "{\"schema_version\":1,\"ecosystem\":\"rubygems\",\"environment\":\"linux-glibc-x86_64\",\"updated_at\":\"2026-04-04T20-32-43Z\",\"failures\":[{\"package_id\":\"rubygems:bup\",\"category\":\"network_error\",\"message\":\"failed after 3 retries: tsuku create rubygems:bup: exit 5: Error checking package: rubygems.org returned status 503\",\"timestamp\":\"2026-04-04T20:32:05.85238823Z\"}]}\n";
        assert_eq!(String::from_utf8(files[0].bytes.clone()).unwrap(), want);
    }

    #[test]
    fn grouping_order_escaping_and_optional_keys() {
        let mut sub = rec("homebrew:b", Category::InstallFailed, &[]);
        sub.subcategory = "tls_error".into();
        let files = failure_files(
            &[
                rec("homebrew:a", Category::MissingDep, &["libpng", "libjpeg"]),
                rec("noseparator", Category::InstallFailed, &[]),
                sub,
                rec("we ird/x:pkg", Category::InstallFailed, &[]),
            ],
            now(),
        );
        let names: Vec<_> = files.iter().map(|f| f.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "homebrew-2026-04-04T20-32-43Z.jsonl",
                "noseparator-2026-04-04T20-32-43Z.jsonl",
                "we%20ird%2Fx-2026-04-04T20-32-43Z.jsonl"
            ]
        );
        let hb = String::from_utf8(files[0].bytes.clone()).unwrap();
        assert_eq!(hb.lines().count(), 1);
        assert!(hb.contains(r#""blocked_by":["libpng","libjpeg"]"#));
        assert!(hb.contains(r#""subcategory":"tls_error""#));
        assert!(hb.contains(r#""message":"m \u003c\u0026\u003e""#));
        assert!(hb.find("homebrew:a").unwrap() < hb.find("homebrew:b").unwrap());
        let ns = String::from_utf8(files[1].bytes.clone()).unwrap();
        assert!(!ns.contains("blocked_by") && !ns.contains("subcategory"));
        assert!(ns.contains(r#""ecosystem":"noseparator""#));
    }

    #[test]
    fn file_components() {
        assert_eq!(safe_file_component("crates.io"), "crates.io");
        assert_eq!(safe_file_component(".."), "%2E.");
        assert_eq!(safe_file_component("a/b"), "a%2Fb");
        assert_eq!(safe_file_component(""), "%");
        assert_eq!(safe_file_component("x\0y"), "x%00y");
    }

    #[test]
    fn results_counts_and_bytes() {
        let mut r = BatchResults::new("2026-02-21T07:20:43.73955531Z".parse().unwrap());
        r.count("homebrew", Counted::Succeeded);
        r.count("homebrew", Counted::Blocked);
        r.count("rubygems", Counted::Failed);
        assert_eq!(r.total, r.succeeded + r.failed + r.blocked);
        let want = r#"{
  "batch_id": "2026-02-21",
  "ecosystems": {
    "homebrew": 2,
    "rubygems": 1
  },
  "per_ecosystem": {
    "homebrew": {
      "total": 2,
      "succeeded": 1,
      "failed": 0
    },
    "rubygems": {
      "total": 1,
      "succeeded": 0,
      "failed": 1
    }
  },
  "total": 3,
  "succeeded": 1,
  "failed": 1,
  "blocked": 1,
  "timestamp": "2026-02-21T07:20:43.73955531Z"
}
"#;
        assert_eq!(String::from_utf8(r.to_bytes()).unwrap(), want);
    }

    #[test]
    fn summary_single_ecosystem() {
        let mut r = BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap());
        r.count("homebrew", Counted::Succeeded);
        r.count("homebrew", Counted::Blocked);
        r.count("homebrew", Counted::Failed);
        let s = render_summary(
            &r,
            &["ripgrep.toml".into()],
            &[
                rec("homebrew:guile", Category::MissingDep, &["bdw-gc", "gmp"]),
                rec("homebrew:x", Category::InstallFailed, &[]),
            ],
            0,
        );
        let want = "Batch run for **homebrew** on 2026-02-21.\n\n| Metric | Count |\n|--------|-------|\n| Succeeded | 1 |\n| Failed | 1 |\n| Blocked | 1 |\n| **Total** | **3** |\n\n### Recipes added\n\n- `ripgrep.toml`\n\n### Failures\n\n- **homebrew:guile**: blocked by [bdw-gc gmp]\n- **homebrew:x**: install_failed\n";
        assert_eq!(s, want);
    }

    #[test]
    fn summary_mixed_and_empty() {
        let mut r = BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap());
        r.count("npm", Counted::Succeeded);
        r.count("github", Counted::Failed);
        let s = render_summary(&r, &[], &[], 2);
        assert!(
            s.starts_with("Batch run for **mixed** on 2026-02-21.\n\n### Ecosystem breakdown\n\n")
        );
        assert!(s.find("| github | 0 | 1 | 1 |").unwrap() < s.find("| npm | 1 | 0 | 1 |").unwrap());
        assert!(s.contains("| Blocked | 0 |\n| Invalid | 2 |\n| **Total** | **2** |\n"));
        let empty = render_summary(
            &BatchResults::new("2026-02-21T07:20:43Z".parse().unwrap()),
            &[],
            &[],
            0,
        );
        assert_eq!(
            empty,
            "Batch run for **mixed** on 2026-02-21.\n\n| Metric | Count |\n|--------|-------|\n| Succeeded | 0 |\n| Failed | 0 |\n| Blocked | 0 |\n| **Total** | **0** |\n"
        );
    }
}
