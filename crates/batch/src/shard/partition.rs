//! Deterministic sharding of candidates across a GitHub Actions matrix (issue #6): an entry
//! belongs to shard `1 + fnv1a64(name) mod N`, so the same entry always lands in the same
//! shard whatever the rest of the queue looks like.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::run::Plan;

/// One shard of `count`, 1-based (`--shard K/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, in `1..=count`.
    pub index: u32,
    /// N, at least 1.
    pub count: u32,
}

/// A `--shard` value that is not `K/N` with `1 <= K <= N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {0:?}: expected K/N with 1 <= K <= N, e.g. 2/3")]
pub struct ShardError(pub String);

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ShardError(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let index: u32 = k.trim().parse().map_err(|_| err())?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index == 0 || index > count {
            return Err(err());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The whole batch in one shard.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Whether the entry named `name` belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        shard_of(name, self.count) == self.index
    }
}

/// The 1-based shard of `name` among `count` shards: `1 + FNV-1a-64(name) mod count`. FNV-1a is
/// fixed by its definition (offset basis 0xcbf29ce484222325, prime 0x100000001b3), unlike
/// `std`'s hasher, so the partition is stable across builds and platforms.
pub fn shard_of(name: &str, count: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // `count` is at least 1 for every constructed Shard; treat 0 as 1 rather than panic.
    let n = u64::from(count.max(1));
    u32::try_from(h % n).expect("a remainder of a u32 fits in u32") + 1
}

/// How a sharded run relates to its batch: built by [`split`] before execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// This shard.
    pub shard: Shard,
    /// For each candidate left in the plan, its position in the whole batch's selection.
    pub positions: Vec<usize>,
    /// Shards with at least one candidate, sorted.
    pub shards_with_candidates: Vec<u32>,
}

/// Restricts `plan` to the candidates of `shard` (those with [`shard_of`] their name equal to
/// K), keeping their order, and returns their positions in the whole selection.
pub fn split(plan: &mut Plan, shard: Shard) -> ShardPlan {
    let mut with = BTreeSet::new();
    let mut positions = Vec::new();
    let mut kept = Vec::new();
    for (pos, c) in plan.selection.candidates.iter().enumerate() {
        let k = shard_of(&plan.queue.entries[c.index].name, shard.count);
        with.insert(k);
        if k == shard.index {
            positions.push(pos);
            kept.push(*c);
        }
    }
    plan.selection.candidates = kept;
    ShardPlan {
        shard,
        positions,
        shards_with_candidates: with.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
        assert_eq!(Shard { index: 1, count: 4 }.to_string(), "1/4");
        for bad in ["", "3", "0/3", "4/3", "1/0", "a/b", "-1/3", "1/3/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fnv1a_reference_values() {
        // Published FNV-1a 64 test vectors: "" → cbf29ce484222325, "a" → af63dc4c8601ec8c.
        assert_eq!(
            shard_of("", u32::MAX),
            (0xcbf2_9ce4_8422_2325u64 % u64::from(u32::MAX)) as u32 + 1
        );
        assert_eq!(
            shard_of("a", u32::MAX),
            (0xaf63_dc4c_8601_ec8cu64 % u64::from(u32::MAX)) as u32 + 1
        );
    }

    #[test]
    fn every_name_lands_in_exactly_one_shard_and_shards_are_balanced() {
        let names: Vec<String> = (0..3000).map(|i| format!("pkg-{i}")).collect();
        let mut sizes = [0usize; 3];
        for n in &names {
            let owners: Vec<u32> = (1..=3)
                .filter(|k| {
                    Shard {
                        index: *k,
                        count: 3,
                    }
                    .contains(n)
                })
                .collect();
            assert_eq!(owners.len(), 1, "{n}");
            sizes[(owners[0] - 1) as usize] += 1;
        }
        assert!(sizes.iter().all(|s| (900..=1100).contains(s)), "{sizes:?}");
        assert!(names.iter().all(|n| Shard::ALL.contains(n)));
    }
}
