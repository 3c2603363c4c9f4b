//! reorder (spec §4.9): a stable sort by priority, then blocking score descending, then name,
//! exactly as tsuku's `queue-maintain` orders the queue (it sets the next batch's selection
//! order). The scores reproduce Go's `internal/blocker` graph, including its identities.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::changes::{Move, ReorderReport, Score};
use crate::records::failure_log::FailureLog;
use crate::{Queue, QueueEntry};

/// Go's blocker map: dependency → blocked package IDs, in reading order.
#[derive(Debug, Default)]
pub struct BlockerGraph {
    // FxHash: reorder asks once per queue entry.
    blockers: FxHashMap<String, Vec<String>>,
}

impl BlockerGraph {
    /// Builds the map from every failure's `blocked_by` (spec §4.9 requeue, Go's
    /// `LoadBlockerMap`): batch failures under their `package_id`, per-recipe lines under
    /// `<ecosystem|homebrew>:<recipe>`.
    pub fn new(log: &FailureLog) -> Self {
        let mut blockers: FxHashMap<String, Vec<String>> = FxHashMap::default();
        for f in &log.failures {
            for dep in &f.blocked_by {
                blockers
                    .entry(dep.clone())
                    .or_default()
                    .push(f.go_package_id.clone());
            }
        }
        Self { blockers }
    }

    /// The packages `dep` blocks directly, as the failure records name them (package IDs,
    /// `ecosystem:identifier`), each once, in reading order; empty when it blocks nothing.
    pub fn blocked(&self, dep: &str) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.blockers
            .get(dep)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// Blocking scores of the queue's names (spec §4.9). The names are visited in byte
    /// order with one memo shared by all; a dependency met again while being counted counts 0
    /// (cycles). Go visits in queue order, which gives the same scores on an acyclic graph
    /// but makes a cycle's scores depend on the order, so Go's reorder can change its own
    /// output; a fixed order keeps ours idempotent.
    pub fn scores(&self, queue: &Queue) -> HashMap<String, u64> {
        self.scores_of(
            queue
                .entries
                .iter()
                .map(|e| e.name.as_str())
                .filter(|n| self.blockers.contains_key(*n)),
        )
    }

    /// [`BlockerGraph::scores`] of `names` (any order, repeats allowed), visited in byte
    /// order. Only names that block something get a score; sorting just those visits them in
    /// the same relative order as sorting all names.
    fn scores_of<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> HashMap<String, u64> {
        let mut names: Vec<&str> = names.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        self.scores_visiting(names)
    }

    /// Scores of `names` visited in the given order with Go's shared memo (Go's
    /// `computeScores` when `names` is the queue order). Names that block nothing are absent.
    pub fn scores_visiting<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> HashMap<String, u64> {
        let mut memo = HashMap::new();
        let mut scores = HashMap::new();
        for name in names {
            if self.blockers.contains_key(name) && !scores.contains_key(name) {
                let s = self.transitive(name, &mut memo);
                scores.insert(name.to_owned(), s);
            }
        }
        scores
    }

    /// Go's `ComputeTransitiveBlockers`.
    fn transitive(&self, dep: &str, memo: &mut HashMap<String, u64>) -> u64 {
        if let Some(&n) = memo.get(dep) {
            return n;
        }
        memo.insert(dep.to_owned(), 0);
        let mut seen = std::collections::HashSet::new();
        let mut total = 0;
        for pkg in self
            .blockers
            .get(dep)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if !seen.insert(pkg.as_str()) {
                continue;
            }
            total += 1;
            // Go's bare name: the text after the first `:`.
            let bare = pkg.split_once(':').map_or(pkg.as_str(), |(_, b)| b);
            if bare != dep && self.blockers.contains_key(bare) {
                total += self.transitive(bare, memo);
            }
        }
        memo.insert(dep.to_owned(), total);
        total
    }
}

/// Sorts the queue (stable: priority ascending, score descending, name in byte order) and
/// reports the entries that moved and the top ten scores.
///
/// The entries are permuted in place, so no second entry vector exists; the extra memory is
/// the order and one score per entry, plus the moves.
pub(crate) fn reorder_by_score(queue: &mut Queue, graph: &BlockerGraph) -> ReorderReport {
    let scores = graph.scores(queue);
    let keys: Vec<u64> = queue
        .entries
        .iter()
        .map(|e| scores.get(&e.name).copied().unwrap_or(0))
        .collect();
    let order = sorted_order(&queue.entries, &keys);
    permute(&mut queue.entries, order.clone());
    let moves = order
        .iter()
        .enumerate()
        .filter(|&(to, &from)| from != to)
        .map(|(to, &from)| {
            let e = &queue.entries[to];
            Move {
                entry: e.name.clone(),
                from,
                to,
                priority: e.priority,
                score: keys[from],
            }
        })
        .collect();
    ReorderReport {
        moves,
        top_scores: top_of(
            queue
                .entries
                .iter()
                .zip(order.iter().map(|&from| keys[from])),
            10,
        ),
    }
}

/// The sorted order of `entries`, whose blocking scores are `scores` (same length):
/// `order[to]` is the position the entry at `to` comes from. A stable sort by priority
/// ascending, score descending, then name in byte order, so ties keep their queue order.
fn sorted_order(entries: &[QueueEntry], scores: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&entries[a], &entries[b]);
        x.priority
            .cmp(&y.priority)
            .then(scores[b].cmp(&scores[a]))
            .then_with(|| x.name.cmp(&y.name))
    });
    order
}

/// Rearranges `entries` so that position `to` holds the entry that was at `order[to]`, in
/// place by following each cycle of the permutation (one swap per moved entry). `order` must
/// be a permutation of `0..entries.len()`.
fn permute<T>(entries: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut cur = start;
        // A visited position points at itself.
        while order[cur] != cur {
            let next = order[cur];
            order[cur] = cur;
            if next == start {
                break;
            }
            entries.swap(cur, next);
            cur = next;
        }
    }
}
/// The `n` entries of `entries` with the highest non-zero `scores` (from
/// [`BlockerGraph::scores`]), highest first, name order on ties; a repeated name counts once
/// (its first entry's priority). Used by reorder's report and `queue status`.
pub(crate) fn top_scores<'a>(
    entries: impl IntoIterator<Item = &'a crate::QueueEntry>,
    scores: &HashMap<String, u64>,
    n: usize,
) -> Vec<Score> {
    top_of(
        entries
            .into_iter()
            .map(|e| (e, scores.get(&e.name).copied().unwrap_or(0))),
        n,
    )
}

/// [`top_scores`] over entries paired with their scores.
fn top_of<'a>(
    entries: impl IntoIterator<Item = (&'a crate::QueueEntry, u64)>,
    n: usize,
) -> Vec<Score> {
    let mut top: Vec<Score> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (e, s) in entries {
        if s > 0 && seen.insert(e.name.as_str()) {
            top.push(Score {
                entry: e.name.clone(),
                score: s,
                priority: e.priority,
            });
        }
    }
    top.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.entry.cmp(&b.entry)));
    top.truncate(n);
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(lines: &str) -> BlockerGraph {
        let mut log = FailureLog::default();
        log.read(lines.as_bytes()).unwrap();
        BlockerGraph::new(&log)
    }

    fn queue(entries: &[(&str, i64)]) -> Queue {
        let mut q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
        q.entries = entries
            .iter()
            .map(|(n, p)| QueueEntry::new(*n, format!("homebrew:{n}"), *p))
            .collect();
        q
    }

    fn names(q: &Queue) -> Vec<&str> {
        q.entries.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn transitive_scores_order_within_priority() {
        // openssl blocks curl and git directly; curl blocks wget: openssl scores 3, curl 1.
        let g = graph(concat!(
            r#"{"failures":[{"package_id":"homebrew:curl","category":"missing_dep","blocked_by":["openssl"]}]}"#,
            "\n",
            r#"{"failures":[{"package_id":"homebrew:git","category":"missing_dep","blocked_by":["openssl"]}]}"#,
            "\n",
            r#"{"recipe":"wget","category":"missing_dep","blocked_by":["curl"]}"#,
            "\n",
        ));
        let mut q = queue(&[("zlib", 2), ("a", 1), ("curl", 1), ("openssl", 1), ("b", 1)]);
        let r = reorder_by_score(&mut q, &g);
        assert_eq!(names(&q), ["openssl", "curl", "a", "b", "zlib"]);
        assert_eq!(r.top_scores[0].score, 3);
        assert_eq!(r.top_scores[1].score, 1);
        assert_eq!(r.moves.len(), 5);
    }

    #[test]
    fn cycles_count_zero_from_where_they_are_entered() {
        // a blocks b, b blocks a. Visiting a first: b's walk meets a in progress (0), so
        // b = 1 and a = 1 + 1 = 2 (Go's memo).
        let g = graph(concat!(
            r#"{"failures":[{"package_id":"homebrew:b","category":"missing_dep","blocked_by":["a"]}]}"#,
            "\n",
            r#"{"failures":[{"package_id":"homebrew:a","category":"missing_dep","blocked_by":["b"]}]}"#,
            "\n",
        ));
        let s = g.scores_visiting(["a", "b"]);
        assert_eq!((s["a"], s["b"]), (2, 1));
        let s = g.scores_visiting(["b", "a"]);
        assert_eq!((s["a"], s["b"]), (1, 2));
        // Ours visits in name order whatever the queue order, so a second reorder agrees.
        let s = g.scores(&queue(&[("b", 1), ("a", 1)]));
        assert_eq!((s["a"], s["b"]), (2, 1));
    }

    #[test]
    fn priority_then_score_then_name_then_position() {
        let list: Vec<QueueEntry> = [(2, "b"), (1, "z"), (1, "a"), (1, "a"), (1, "m")]
            .iter()
            .map(|(p, n)| QueueEntry::new(*n, format!("npm:{n}"), *p))
            .collect();
        let scores = [0, 0, 0, 0, 5];
        assert_eq!(sorted_order(&list, &scores), vec![4, 2, 3, 1, 0]);
    }

    #[test]
    fn permute_moves_each_entry_to_its_place() {
        // order[to] = from: two cycles (0 2 1) and (3 4), and a fixed point 5.
        let mut v = vec!['a', 'b', 'c', 'd', 'e', 'f'];
        permute(&mut v, vec![2, 0, 1, 4, 3, 5]);
        assert_eq!(v, ['c', 'a', 'b', 'e', 'd', 'f']);
    }

    #[test]
    fn duplicate_blocked_packages_count_once() {
        let line = r#"{"failures":[{"package_id":"homebrew:x","category":"missing_dep","blocked_by":["d"]}]}"#;
        let g = graph(&format!("{line}\n{line}\n"));
        assert_eq!(g.scores(&queue(&[("d", 1)]))["d"], 1);
    }
}
