//! The order reorder sorts the queue into (spec §4.9): priority ascending, blocking score
//! descending, name in byte order, then queue position (which makes the sort stable).
//!
//! Speed (issue #14, 1M entries): each entry gets a 32-byte key that holds its priority and
//! score in one integer and the first 16 bytes of its name in two more, so almost every
//! comparison stays inside the key array; only names that share 16 bytes are read from the
//! entries. A large queue is sorted in two halves on two threads, then merged.

use std::cmp::Ordering;

use crate::QueueEntry;
use crate::join::join;

/// Below this many entries one thread sorts.
const PARALLEL_MIN: usize = 1 << 16;

/// Scores at or above this do not fit the packed key (the general sort takes them).
const SCORE_LIMIT: u64 = 1 << 48;

/// A packed sort key. `rank` is `priority << 48 | (SCORE_LIMIT - 1 - score)`, so it orders
/// by priority, then by score descending. `p0`, `p1` are the name's first 16 bytes,
/// big-endian and zero-padded, which order as the bytes do; ties go on to the whole name.
#[derive(Debug, Clone, Copy)]
struct Key {
    rank: u64,
    p0: u64,
    p1: u64,
    index: u32,
}

/// The sorted order of `entries`, whose blocking scores are `scores` (same length):
/// `order[to]` is the position the entry at `to` comes from.
pub(super) fn sorted_order(entries: &[QueueEntry], scores: &[u64]) -> Vec<usize> {
    let packable = u32::try_from(entries.len()).is_ok()
        && entries.iter().all(|e| (0..=0xFFFF).contains(&e.priority))
        && scores.iter().all(|&s| s < SCORE_LIMIT);
    if !packable {
        return sorted_order_general(entries, scores);
    }
    // Key `i` of the slice that starts at entry `start`.
    let key = |start: usize| {
        move |(i, (e, &score)): (usize, (&QueueEntry, &u64))| {
            let (p0, p1) = name_prefix(&e.name);
            Key {
                // Both casts are in range: checked above.
                rank: (e.priority as u64) << 48 | (SCORE_LIMIT - 1 - score),
                p0,
                p1,
                index: (start + i) as u32,
            }
        }
    };
    let cmp = |a: &Key, b: &Key| {
        (a.rank, a.p0, a.p1)
            .cmp(&(b.rank, b.p0, b.p1))
            .then_with(|| {
                entries[a.index as usize]
                    .name
                    .cmp(&entries[b.index as usize].name)
            })
            .then(a.index.cmp(&b.index))
    };
    // The keys of entries `start..end`, sorted.
    let sorted_keys = |start: usize, end: usize| -> Vec<Key> {
        let mut keys: Vec<Key> = entries[start..end]
            .iter()
            .zip(&scores[start..end])
            .enumerate()
            .map(key(start))
            .collect();
        keys.sort_unstable_by(cmp);
        keys
    };
    if entries.len() < PARALLEL_MIN {
        return sorted_keys(0, entries.len())
            .into_iter()
            .map(|k| k.index as usize)
            .collect();
    }
    // Each thread builds and sorts the keys of its half (building reads every name).
    let middle = entries.len() / 2;
    let (left, right) = join(
        || sorted_keys(0, middle),
        || sorted_keys(middle, entries.len()),
    );
    merge(&left, &right, cmp)
}

/// Merges two sorted runs into the positions they hold.
fn merge(left: &[Key], right: &[Key], cmp: impl Fn(&Key, &Key) -> Ordering) -> Vec<usize> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if cmp(&left[i], &right[j]) == Ordering::Greater {
            out.push(right[j].index as usize);
            j += 1;
        } else {
            out.push(left[i].index as usize);
            i += 1;
        }
    }
    out.extend(left[i..].iter().map(|k| k.index as usize));
    out.extend(right[j..].iter().map(|k| k.index as usize));
    out
}

/// Any priorities and scores: tuples compared field by field.
fn sorted_order_general(entries: &[QueueEntry], scores: &[u64]) -> Vec<usize> {
    let mut sorted: Vec<(i64, std::cmp::Reverse<u64>, &str, usize)> = entries
        .iter()
        .zip(scores)
        .enumerate()
        .map(|(i, (e, &s))| (e.priority, std::cmp::Reverse(s), e.name.as_str(), i))
        .collect();
    sorted.sort_unstable();
    sorted.into_iter().map(|k| k.3).collect()
}

/// The first 16 bytes of `name`, as two big-endian integers, zero-padded.
fn name_prefix(name: &str) -> (u64, u64) {
    let mut b = [0u8; 16];
    let n = name.len().min(16);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    let (hi, lo) = b.split_at(8);
    (
        u64::from_be_bytes(hi.try_into().expect("8 bytes")),
        u64::from_be_bytes(lo.try_into().expect("8 bytes")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entries(spec: &[(i64, &str)]) -> Vec<QueueEntry> {
        spec.iter()
            .map(|(p, n)| QueueEntry::new(*n, format!("npm:{n}"), *p))
            .collect()
    }

    fn name() -> impl Strategy<Value = String> {
        // Shared 16-byte prefixes, NUL bytes against zero padding, and non-ASCII.
        prop_oneof![
            "[ab]{0,3}",
            "aaaaaaaaaaaaaaaa[ab\u{0}]{0,3}",
            "aaaaaaa[\u{0}a\u{e9}]{0,12}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Both paths (packed and general) equal a stable sort by the spec's key, with
        /// queues large enough for the two threads in some cases.
        #[test]
        fn equals_a_stable_sort_by_the_rule(
            spec in proptest::collection::vec(
                (prop_oneof![1i64..4, Just(-5), Just(70_000)], name(), 0u64..4), 0..300),
            big in any::<bool>(),
            huge_score in any::<bool>(),
        ) {
            let mut spec = spec;
            if big && !spec.is_empty() {
                let n = PARALLEL_MIN + 7;
                spec = spec.iter().cycle().take(n).cloned().collect();
            }
            let list: Vec<QueueEntry> = spec
                .iter()
                .map(|(p, n, _)| QueueEntry::new(n.clone(), "npm:x", *p))
                .collect();
            let mut scores: Vec<u64> = spec.iter().map(|s| s.2).collect();
            if huge_score && !scores.is_empty() {
                scores[0] = u64::MAX;
            }
            let mut expected: Vec<usize> = (0..list.len()).collect();
            expected.sort_by(|&a, &b| {
                (list[a].priority, std::cmp::Reverse(scores[a]), &list[a].name)
                    .cmp(&(list[b].priority, std::cmp::Reverse(scores[b]), &list[b].name))
            });
            prop_assert_eq!(sorted_order(&list, &scores), expected);
        }
    }

    #[test]
    fn name_prefix_orders_as_the_bytes() {
        let names = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0\0x",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefghijklmnop",
            "abcdefghijklmnop\0",
            "abcdefghijklmnopq",
            "abcdefghijklmnoq",
            "b",
        ];
        for a in names {
            for b in names {
                let keyed = (name_prefix(a), a).cmp(&(name_prefix(b), b));
                assert_eq!(keyed, a.cmp(b), "{a:?} vs {b:?}");
                if name_prefix(a) != name_prefix(b) {
                    assert_eq!(name_prefix(a).cmp(&name_prefix(b)), a.cmp(b));
                }
            }
        }
    }

    #[test]
    fn priority_then_score_then_name_then_position() {
        let list = entries(&[(2, "b"), (1, "z"), (1, "a"), (1, "a"), (1, "m")]);
        let scores = [0, 0, 0, 0, 5];
        assert_eq!(sorted_order(&list, &scores), vec![4, 2, 3, 1, 0]);
    }
}
