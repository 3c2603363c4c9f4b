//! Deterministic sharding of a batch's candidates across a GitHub Actions matrix (issue #6):
//! [`assign`] deals each ecosystem's candidates round-robin across the shards, so every shard
//! gets an even share of each ecosystem and runs at the shard's slower rate without taking
//! longer than an unsharded run (issue #15). The assignment is a function of the batch's
//! selection alone, which every shard computes identically (they plan at the same instant).

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
}

/// The shard (1-based) of every candidate of a batch, given each candidate's ecosystem in
/// selection order (issue #15). Ecosystems are taken in order of first appearance and their
/// candidates dealt round-robin, each ecosystem continuing where the previous one stopped: no
/// shard gets more than ⌈N_e / N⌉ of ecosystem `e`, and shard totals differ by at most one.
/// `count` 0 is treated as 1.
pub fn assign<S: AsRef<str>>(ecosystems: &[S], count: u32) -> Vec<u32> {
    let n = usize::try_from(count.max(1)).unwrap_or(usize::MAX);
    let mut totals: Vec<(&str, usize)> = Vec::new();
    for eco in ecosystems {
        let eco = eco.as_ref();
        match totals.iter_mut().find(|(e, _)| *e == eco) {
            Some((_, t)) => *t += 1,
            None => totals.push((eco, 1)),
        }
    }
    // Each ecosystem's first deal slot, and how many of its candidates were dealt so far.
    let mut next: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut offset = 0;
    for (eco, total) in &totals {
        next.insert(eco, offset);
        offset += total;
    }
    ecosystems
        .iter()
        .map(|eco| {
            let slot = next.get_mut(eco.as_ref()).expect("counted above");
            let shard = *slot % n;
            *slot += 1;
            u32::try_from(shard).expect("a shard index below a u32 count") + 1
        })
        .collect()
}

/// A stable bucket of `name` among `count`: `1 + FNV-1a-64(name) mod count`. FNV-1a is fixed by
/// its definition (offset basis 0xcbf29ce484222325, prime 0x100000001b3), unlike `std`'s
/// hasher, so the value is the same across builds and platforms. Shards no longer use it
/// ([`assign`] does, issue #15); tests use it to derive outcomes from names.
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
    /// The ecosystem of every candidate of the whole batch, in selection order: the input of
    /// [`assign`], recorded in the fragment so the assignment can be checked.
    pub batch_ecosystems: Vec<String>,
}

/// Restricts `plan` to the candidates [`assign`] gives `shard`, keeping their order, and returns
/// their positions in the whole selection with the batch's ecosystems (the partition's input).
pub fn split(plan: &mut Plan, shard: Shard) -> ShardPlan {
    let batch_ecosystems: Vec<String> = plan
        .selection
        .candidates
        .iter()
        .map(|c| plan.queue.entries[c.index].ecosystem().to_owned())
        .collect();
    let shards = assign(&batch_ecosystems, shard.count);
    let mut positions = Vec::new();
    let mut kept = Vec::new();
    for (pos, (c, k)) in plan.selection.candidates.iter().zip(&shards).enumerate() {
        if *k == shard.index {
            positions.push(pos);
            kept.push(*c);
        }
    }
    plan.selection.candidates = kept;
    let with: BTreeSet<u32> = shards.into_iter().collect();
    ShardPlan {
        shard,
        positions,
        shards_with_candidates: with.into_iter().collect(),
        batch_ecosystems,
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
            let owners: Vec<u32> = (1..=3).filter(|k| shard_of(n, 3) == *k).collect();
            assert_eq!(owners.len(), 1, "{n}");
            sizes[(owners[0] - 1) as usize] += 1;
        }
        assert!(sizes.iter().all(|s| (900..=1100).contains(s)), "{sizes:?}");
        assert!(names.iter().all(|n| shard_of(n, 1) == 1));
    }

    #[test]
    fn assign_deals_each_ecosystem_round_robin_from_where_the_last_stopped() {
        // npm ×3, github ×2, npm again, pypi: npm takes slots 0..4, github 4..6, pypi 6.
        let ecos = ["npm", "npm", "github", "npm", "github", "npm", "pypi"];
        assert_eq!(assign(&ecos, 3), [1, 2, 2, 3, 3, 1, 1]);
        assert_eq!(assign(&ecos, 1), [1; 7]);
        assert_eq!(assign(&ecos, 0), [1; 7], "0 is treated as 1");
        assert!(assign::<&str>(&[], 4).is_empty());
    }

    proptest::proptest! {
        /// No shard gets more than ⌈N_e / N⌉ of an ecosystem, shard totals differ by at most
        /// one, and the result depends on the input alone.
        #[test]
        fn assign_is_balanced_per_ecosystem_and_in_total(
            ecos in proptest::collection::vec(0u8..5, 0..200),
            n in 1u32..9,
        ) {
            let names: Vec<String> = ecos.iter().map(|e| format!("eco{e}")).collect();
            let shards = assign(&names, n);
            proptest::prop_assert_eq!(shards.len(), names.len());
            proptest::prop_assert!(shards.iter().all(|k| (1..=n).contains(k)));
            proptest::prop_assert_eq!(&assign(&names, n), &shards);
            let per = |k: u32| shards.iter().filter(|s| **s == k).count();
            let totals: Vec<usize> = (1..=n).map(per).collect();
            let (lo, hi) = (totals.iter().min().unwrap(), totals.iter().max().unwrap());
            proptest::prop_assert!(hi - lo <= 1, "{:?}", totals);
            for e in 0u8..5 {
                let eco = format!("eco{e}");
                let total = names.iter().filter(|x| **x == eco).count();
                let cap = total.div_ceil(n as usize);
                for k in 1..=n {
                    let got = names.iter().zip(&shards).filter(|(x, s)| **x == eco && **s == k).count();
                    proptest::prop_assert!(got <= cap, "{} in shard {}: {} > {}", eco, k, got, cap);
                }
            }
        }
    }
}
