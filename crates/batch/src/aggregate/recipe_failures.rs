//! Per-recipe failure records of the validation (spec §1.3.2, issue #13): one compact JSON line
//! per (recipe, failed platform) in `data/failures/batch-<YYYY-MM-DDTHH-MM-SSZ>.jsonl`.
//!
//! Keys, in order: `schema_version` (1), `recipe`, `ecosystem`, `package_id` (these two added
//! by issue #13 so that readers need not assume homebrew), `platform`, `exit_code`,
//! `verify_exit_code` (issue #22: only when the sandbox verify step failed), `category`,
//! `subcategory` (issue #22: tsuku's, e.g. `dns_error`, or `timeout` after our kill; only
//! when the row has one), `blocked_by` (only when `exit_code` is 8 and the list is not empty),
//! `message` (issue #22: why it failed on that platform, the row's `message`, at most
//! [`MAX_MESSAGE_BYTES`]; only when the row has one), `timestamp` (`YYYY-MM-DDTHH:MM:SSZ`, the
//! same on every line). The new keys are optional and added between the old ones, so readers
//! of the spec's shape (which ignore unknown keys) read the lines as before. The maintain
//! module reads this shape back (`records::failure_log`, keyed by `recipe` and `package_id`).
//!
//! Deliberate differences from the shell: the stamp of the file name and of the lines is the
//! batch's plan time (`--planned-at`), not the merge job's clock, so a second `aggregate` of
//! the same batch replaces the same file with the same bytes instead of adding duplicate
//! records; and no file is written when there is no failure (the shell's `>>` created empty
//! files).

use jiff::Timestamp;
use serde::Serialize;

use crate::generator::Category;
use crate::records::jsonfmt;
use crate::records::timestamp::{file_stamp, whole_seconds_utc};
use crate::validate::{Environment, RowStatus, ValidationRow};

/// One per-recipe failure line (spec §1.3.2 plus `ecosystem` and `package_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipeFailure {
    /// Always 1.
    pub schema_version: u32,
    /// Recipe name (file name without `.toml`).
    pub recipe: String,
    /// The queue entry's ecosystem (`source` before the first `:`).
    pub ecosystem: String,
    /// The queue entry's `source`.
    pub package_id: String,
    /// Row platform, e.g. `linux-alpine-musl-arm64`.
    pub platform: String,
    /// The row's exit code (1 when a fail row has none).
    pub exit_code: i32,
    /// The sandbox verify command's exit code, when that step failed (issue #22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_exit_code: Option<i32>,
    /// `category_of` the exit code.
    pub category: Category,
    /// tsuku's subcategory (or `timeout` after our kill), when the row has one (issue #22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<String>,
    /// Missing recipes; only on exit 8 with a non-empty list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<Vec<String>>,
    /// Why it failed on this platform: the row's `message`, trimmed and cut to
    /// [`MAX_MESSAGE_BYTES`] (issue #22); absent when the row has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `YYYY-MM-DDTHH:MM:SSZ`, the same for every line of a run.
    pub timestamp: String,
}

/// Longest `message` kept in a record, in bytes (the row's own limit, issue #22; a longer one
/// in a hand-made results file is cut back to a UTF-8 boundary).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Spec §1.3.2's category mapping: 8 → `missing_dep`; 5, 124 (timeout) or 137 (killed) →
/// `network_error`; any other exit → `generation_failed`. Issue #22 adds 7 → `verify_failed`
/// (tsuku's `ExitVerifyFailed`: the sandbox verify step failed, the shell's mapping called it
/// `generation_failed`).
pub(crate) fn category_of(exit_code: i32) -> Category {
    match exit_code {
        7 => Category::VerifyFailed,
        8 => Category::MissingDep,
        5 | 124 | 137 => Category::NetworkError,
        _ => Category::GenerationFailed,
    }
}

/// The failure lines of one recipe: one per validation `fail` row, in row order (generation
/// rows never count, issue #13). `source` is the queue entry's `source`; `stamp` the run's
/// time.
pub(crate) fn failure_lines<'a>(
    rows: impl IntoIterator<Item = &'a ValidationRow>,
    source: &str,
    stamp: Timestamp,
) -> Vec<RecipeFailure> {
    let ecosystem = crate::queue::entry::ecosystem_of(source);
    rows.into_iter()
        .filter(|r| r.environment == Environment::Validation && r.status == RowStatus::Fail)
        .map(|r| {
            let exit_code = r.exit_code.unwrap_or(1);
            RecipeFailure {
                schema_version: 1,
                recipe: r.recipe.clone(),
                ecosystem: ecosystem.to_owned(),
                package_id: source.to_owned(),
                platform: r.platform.to_string(),
                exit_code,
                verify_exit_code: r.verify_exit_code,
                category: category_of(exit_code),
                subcategory: r
                    .subcategory
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                blocked_by: r
                    .blocked_by
                    .clone()
                    .filter(|b| exit_code == 8 && !b.is_empty()),
                message: r.message.as_deref().and_then(cap_message),
                timestamp: whole_seconds_utc(stamp),
            }
        })
        .collect()
}

/// `message` trimmed and cut to [`MAX_MESSAGE_BYTES`] at a UTF-8 boundary; `None` when blank.
fn cap_message(message: &str) -> Option<String> {
    let t = message.trim();
    if t.is_empty() {
        return None;
    }
    Some(crate::text::head_bytes(t, MAX_MESSAGE_BYTES).to_owned())
}

/// The file name: `batch-<YYYY-MM-DDTHH-MM-SSZ>.jsonl` (spec §1.3.2).
pub(crate) fn file_name(stamp: Timestamp) -> String {
    format!("batch-{}.jsonl", file_stamp(stamp))
}

/// The file's bytes: one compact line per record (Go's escaping of `<`, `>`, `&`).
pub(crate) fn to_bytes(lines: &[RecipeFailure]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend(jsonfmt::to_compact(line).expect("records always serialize"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::failure_log::{FailureLog, Owner};
    use crate::validate::RowPlatform;

    fn row(platform: &str, status: RowStatus, exit: i32, blocked: &[&str]) -> ValidationRow {
        ValidationRow {
            recipe: "bat".into(),
            platform: RowPlatform::parse(platform).unwrap(),
            status,
            exit_code: Some(exit),
            attempts: Some(1),
            blocked_by: Some(blocked.iter().map(|b| (*b).to_owned()).collect()),
            timed_out: false,
            path: "b/bat.toml".into(),
            batch_id: "2026-12-01-all".into(),
            environment: Environment::Validation,
            message: None,
            subcategory: None,
            verify_exit_code: None,
        }
    }

    fn stamp() -> Timestamp {
        "2026-12-01T10:20:30.5Z".parse().unwrap()
    }

    #[test]
    fn spec_8_3_scenario_110_categories() {
        let rows = [
            row("linux-debian-glibc-x86_64", RowStatus::Fail, 124, &[]),
            row("linux-alpine-musl-arm64", RowStatus::Fail, 8, &["x"]),
            row("darwin-arm64", RowStatus::Fail, 6, &["ignored"]),
            row("darwin-x86_64", RowStatus::Fail, 137, &[]),
            row("linux-rhel-glibc-x86_64", RowStatus::Fail, 5, &[]),
            row("linux-suse-glibc-x86_64", RowStatus::Fail, 8, &[]),
            row("linux-rhel-glibc-arm64", RowStatus::Pass, 0, &[]),
            ValidationRow {
                environment: Environment::Generation,
                message: None,
                subcategory: None,
                verify_exit_code: None,
                ..row("linux-debian-glibc-x86_64", RowStatus::Fail, 1, &[])
            },
        ];
        let lines = failure_lines(&rows, "cargo:bat-cli", stamp());
        let bytes = String::from_utf8(to_bytes(&lines)).unwrap();
        let want = [
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"linux-debian-glibc-x86_64","exit_code":124,"category":"network_error","timestamp":"2026-12-01T10:20:30Z"}"#,
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"linux-alpine-musl-arm64","exit_code":8,"category":"missing_dep","blocked_by":["x"],"timestamp":"2026-12-01T10:20:30Z"}"#,
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"darwin-arm64","exit_code":6,"category":"generation_failed","timestamp":"2026-12-01T10:20:30Z"}"#,
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"darwin-x86_64","exit_code":137,"category":"network_error","timestamp":"2026-12-01T10:20:30Z"}"#,
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"linux-rhel-glibc-x86_64","exit_code":5,"category":"network_error","timestamp":"2026-12-01T10:20:30Z"}"#,
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"linux-suse-glibc-x86_64","exit_code":8,"category":"missing_dep","timestamp":"2026-12-01T10:20:30Z"}"#,
        ];
        assert_eq!(bytes, want.map(|l| format!("{l}\n")).concat());
        assert_eq!(file_name(stamp()), "batch-2026-12-01T10-20-30Z.jsonl");
    }

    #[test]
    fn maintain_reads_the_records_back_with_their_entry() {
        let rows = [row(
            "linux-alpine-musl-arm64",
            RowStatus::Fail,
            8,
            &["zlib"],
        )];
        let bytes = to_bytes(&failure_lines(&rows, "cargo:bat-cli", stamp()));
        let mut log = FailureLog::default();
        log.read(bytes.as_slice()).unwrap();
        assert_eq!(log.records, 1);
        let f = &log.failures[0];
        assert_eq!(
            f.owner,
            Owner::Recipe {
                name: "bat".into(),
                package_id: Some("cargo:bat-cli".into())
            }
        );
        // The ecosystem is read, not assumed to be homebrew.
        assert_eq!(f.go_package_id, "cargo:bat");
        assert_eq!(f.category, "missing_dep");
        assert_eq!(f.blocked_by, ["zlib"]);
        assert!(f.counts() && f.is_missing_dep());
    }

    #[test]
    fn reasons_are_kept_and_exit_7_is_a_verify_failure() {
        let long = format!("{}é tail", "x".repeat(MAX_MESSAGE_BYTES - 1));
        let rows = [
            ValidationRow {
                verify_exit_code: Some(3),
                subcategory: Some("verify".into()),
                message: Some("  jq --version printed <nothing>\nexit 3 \n".into()),
                ..row("linux-alpine-musl-arm64", RowStatus::Fail, 7, &[])
            },
            ValidationRow {
                subcategory: Some(" ".into()),
                message: Some(long),
                ..row("darwin-arm64", RowStatus::Fail, 6, &[])
            },
        ];
        let lines = failure_lines(&rows, "cargo:bat-cli", stamp());
        let bytes = String::from_utf8(to_bytes(&lines)).unwrap();
        let mut it = bytes.lines();
        // Go's escaping of `<` and `>`; the message keeps its inner newline, trimmed ends.
        assert_eq!(
            it.next().unwrap(),
            r#"{"schema_version":1,"recipe":"bat","ecosystem":"cargo","package_id":"cargo:bat-cli","platform":"linux-alpine-musl-arm64","exit_code":7,"verify_exit_code":3,"category":"verify_failed","subcategory":"verify","message":"jq --version printed \u003cnothing\u003e\nexit 3","timestamp":"2026-12-01T10:20:30Z"}"#
        );
        // A blank subcategory is left out; a message over 1 KiB is cut before the 2-byte
        // character that would cross the limit.
        let second: serde_json::Value = serde_json::from_str(it.next().unwrap()).unwrap();
        assert!(second.get("subcategory").is_none());
        assert_eq!(second["category"], "generation_failed");
        assert_eq!(
            second["message"].as_str().unwrap(),
            "x".repeat(MAX_MESSAGE_BYTES - 1)
        );
        // maintain still reads them.
        let mut log = FailureLog::default();
        log.read(bytes.as_bytes()).unwrap();
        assert_eq!(log.records, 2);
        assert_eq!(log.failures[0].category, "verify_failed");
    }

    #[test]
    fn no_failures_no_bytes() {
        let rows = [row("darwin-arm64", RowStatus::Pass, 0, &[])];
        assert!(to_bytes(&failure_lines(&rows, "npm:x", stamp())).is_empty());
    }
}
