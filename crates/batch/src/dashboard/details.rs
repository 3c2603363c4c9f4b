//! `failure_details` (issue #23; `failures.go` `loadFailureDetailRecords`): the failures of
//! [`super::failures::FailureScan`] with per-platform records of one recipe and batch merged
//! into one, a subcategory derived where none was recorded, an ID each, newest first, at most
//! `MAX_FAILURE_DETAILS`.

use std::collections::HashMap;

use super::failures::{PackageRef, RawFailure};
use super::model::FailureDetail;
use crate::records::timestamp::{Rfc3339, file_stamp};

/// Most entries of `failure_details` (`failures.go` `maxFailureDetails`).
pub(crate) const MAX_FAILURE_DETAILS: usize = 200;

/// Bracketed tags taken as a subcategory (`failures.go` `knownSubcategories`).
pub(crate) const KNOWN_SUBCATEGORIES: [&str; 9] = [
    "api_error",
    "no_bottles",
    "complex_archive",
    "no_binaries",
    "library_only",
    "verify_failed",
    "install_failed",
    "timeout",
    "rate_limited",
];

/// Message phrases and the subcategory they mean, tried in order on the lower-cased message
/// (`failures.go` `extractSubcategory`, level 2).
const PHRASES: [(&[&str], &str); 7] = [
    (&["no bottle", "bottle not found"], "no_bottle"),
    (
        &["no executables", "no binaries"],
        "binary_discovery_failed",
    ),
    (
        &["version pattern", "failed to verify", "verification"],
        "verify_pattern_mismatch",
    ),
    (&["already exists", "use --force"], "recipe_already_exists"),
    (&["rate limit", "429"], "rate_limited"),
    (&["5xx", "unavailable"], "upstream_unavailable"),
    (&["timeout", "deadline"], "timeout"),
];

/// The subcategory of a failure that recorded none (`failures.go` `extractSubcategory`):
/// the first `[tag]` of the message when it is a known tag; else the first phrase of the
/// message that names one; else, for an empty message only, exit code 6 `install_failed`,
/// 7 `verify_failed`, 9 `deterministic_failed`; else none (`""`).
pub(crate) fn extract_subcategory(message: &str, exit_code: i64) -> &'static str {
    if let Some(open) = message.find('[')
        && let Some(len) = message[open..].find(']')
        && len > 1
    {
        let tag = &message[open + 1..open + len];
        if let Some(known) = KNOWN_SUBCATEGORIES.iter().find(|k| **k == tag) {
            return known;
        }
    }
    let lower = message.to_lowercase();
    for (needles, sub) in PHRASES {
        if needles.iter().any(|n| lower.contains(n)) {
            return sub;
        }
    }
    if message.is_empty() {
        return match exit_code {
            6 => "install_failed",
            7 => "verify_failed",
            9 => "deterministic_failed",
            _ => "",
        };
    }
    ""
}

/// A timestamp as it appears in a failure ID (`failures.go` `formatTimestampForID`): an RFC
/// 3339 time in UTC as `YYYY-MM-DDTHH-MM-SSZ` (fraction dropped); anything else with `:`
/// replaced by `-`.
pub(crate) fn id_stamp(timestamp: &str) -> String {
    match timestamp.parse::<Rfc3339>() {
        Ok(t) => file_stamp(t.instant()),
        Err(_) => timestamp.replace(':', "-"),
    }
}

/// The package name of a batch-format `package_id` without a queue entry (`failures.go`
/// `resolvePackageName` fallback): after the first `:`, and after the last `/` of that.
pub(crate) fn name_of_id(package_id: &str) -> &str {
    match package_id.split_once(':') {
        Some((_, name)) => name.rsplit('/').next().unwrap_or(name),
        None => package_id,
    }
}

/// Builds `failure_details` from the failures in reading order; `names` maps a queue
/// `source` to the name of the first entry with it.
///
/// Records with a platform and a batch stamp are grouped by (package, batch): a group of
/// several becomes its first record with platform `multiple` and the sorted `platforms`.
/// Go appends the groups after the ungrouped records in its (random) map order and then
/// sorts by timestamp with an unstable sort; here groups sit where their first record was
/// read and the sort is stable, so records with equal timestamps keep reading order
/// (README "Differences").
pub(crate) fn failure_details(
    raw: &[RawFailure],
    names: &HashMap<&str, &str>,
) -> Vec<FailureDetail> {
    let package = |r: &RawFailure| match &r.package {
        PackageRef::Id(id) => names
            .get(id.as_str())
            .map_or_else(|| name_of_id(id).to_owned(), |n| (*n).to_owned()),
        PackageRef::Recipe(name) => name.clone(),
    };
    // Slots in reading order: a lone record, or a group of records (indices into `raw`).
    let mut slots: Vec<Vec<usize>> = Vec::new();
    let mut groups: HashMap<(String, &str), usize> = HashMap::new();
    for (i, r) in raw.iter().enumerate() {
        if r.platform.is_empty() || r.batch_id.is_empty() {
            slots.push(vec![i]);
            continue;
        }
        let key = (package(r), r.batch_id.as_str());
        match groups.get(&key) {
            Some(&slot) => slots[slot].push(i),
            None => {
                groups.insert(key, slots.len());
                slots.push(vec![i]);
            }
        }
    }
    let mut out: Vec<FailureDetail> = slots
        .iter()
        .map(|slot| {
            let first = &raw[slot[0]];
            let mut d = detail(first, package(first));
            if slot.len() > 1 {
                let mut platforms: Vec<String> =
                    slot.iter().map(|&i| raw[i].platform.clone()).collect();
                platforms.sort();
                d.platform = "multiple".to_owned();
                d.platforms = platforms;
            }
            d
        })
        .collect();
    out.sort_by(|a, b| b.timestamp.cmp(&a.timestamp));
    out.truncate(MAX_FAILURE_DETAILS);
    out
}

/// One record as a detail: subcategory derived when empty, ID computed.
fn detail(r: &RawFailure, package: String) -> FailureDetail {
    let subcategory = if r.subcategory.is_empty() {
        extract_subcategory(&r.message, r.exit_code).to_owned()
    } else {
        r.subcategory.clone()
    };
    FailureDetail {
        id: format!("{}-{}-{package}", r.ecosystem, id_stamp(&r.timestamp)),
        package,
        ecosystem: r.ecosystem.clone(),
        category: r.category.clone(),
        subcategory,
        message: r.message.clone(),
        exit_code: r.exit_code,
        platform: r.platform.clone(),
        platforms: Vec::new(),
        batch_id: r.batch_id.clone(),
        timestamp: r.timestamp.clone(),
        workflow_url: r.workflow_url.clone(),
    }
}
