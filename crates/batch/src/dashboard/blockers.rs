//! The top blockers (issue #23; `dashboard.go` `buildBlockerCountsFromQueue`,
//! `computeTopBlockers`, and tsuku's `internal/blocker` `ComputeTransitiveBlockers`): the
//! dependencies the queue's blocked entries wait on, by how many entries they hold up
//! directly and through other blocked entries.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::model::{Blocker, PackageInfo};

/// Most entries of `blockers` (`dashboard.go`: `computeTopBlockers(…, 10)`).
pub(crate) const TOP_BLOCKERS: usize = 10;

/// Package IDs listed per blocker (`computeTopBlockers`: "first 5").
pub(crate) const PACKAGES_PER_BLOCKER: usize = 5;

/// Dependency → IDs of the blocked entries naming it, in the order given.
pub(crate) fn blocker_map(blocked: &[PackageInfo]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pkg in blocked {
        for dep in &pkg.blocked_by {
            map.entry(dep.clone()).or_default().push(pkg.id.clone());
        }
    }
    map
}

/// The `limit` dependencies blocking the most entries, by total (direct + transitive) count
/// descending, then name. A blocked package counts again through the entries it blocks in
/// turn when its name (the ID after the first `:`) is itself a dependency; a dependency met
/// again while it is being counted adds 0, which breaks cycles. Go walks the dependencies in
/// random map order, so on a cycle its counts can change from run to run; here they are
/// walked in name order (README "Differences").
pub(crate) fn top_blockers(blockers: &BTreeMap<String, Vec<String>>, limit: usize) -> Vec<Blocker> {
    let mut memo: HashMap<&str, u64> = HashMap::new();
    let mut out: Vec<Blocker> = blockers
        .iter()
        .map(|(dep, ids)| {
            let mut unique: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for id in ids {
                if seen.insert(id.as_str()) {
                    unique.push(id.clone());
                }
            }
            let total = transitive(dep, blockers, &mut memo);
            unique.sort();
            let direct = unique.len() as u64;
            unique.truncate(PACKAGES_PER_BLOCKER);
            Blocker {
                dependency: dep.clone(),
                count: total,
                direct_count: direct,
                total_count: total,
                packages: unique,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.total_count
            .cmp(&a.total_count)
            .then_with(|| a.dependency.cmp(&b.dependency))
    });
    out.truncate(limit);
    out
}

/// The bare name of a package ID (`blocker.BuildPkgToBare`): after the first `:`.
fn bare(id: &str) -> &str {
    id.split_once(':').map_or(id, |(_, name)| name)
}

/// `blocker.ComputeTransitiveBlockers`: distinct packages `dep` blocks, plus, for each one
/// whose bare name is another dependency, that one's count. `memo` holds 0 while a dependency
/// is being counted.
fn transitive<'a>(
    dep: &'a str,
    blockers: &'a BTreeMap<String, Vec<String>>,
    memo: &mut HashMap<&'a str, u64>,
) -> u64 {
    if let Some(&n) = memo.get(dep) {
        return n;
    }
    memo.insert(dep, 0);
    let mut seen = HashSet::new();
    let mut total = 0;
    for id in blockers.get(dep).into_iter().flatten() {
        if !seen.insert(id.as_str()) {
            continue;
        }
        total += 1;
        let name = bare(id);
        if name != dep
            && let Some((key, _)) = blockers.get_key_value(name)
        {
            total += transitive(key, blockers, memo);
        }
    }
    memo.insert(dep, total);
    total
}
