//! The settings that decide a sharded batch's selection and pace (issue #12): every shard
//! records them in its fragment, and the merge refuses fragments that ran with different ones,
//! naming the setting, because their selections would not add up to one batch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Config;

/// Selection and rate-limit settings of one shard run, as configured (rate limits before the
/// shard's ×N scaling).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSettings {
    /// `--tier`: the highest priority selected normally.
    pub tier: i64,
    /// `--batch-size`: candidates of the whole batch.
    pub batch_size: usize,
    /// `--ecosystem` filter, sorted; empty means all.
    pub ecosystems: Vec<String>,
    /// Spacing between starts for ecosystems without their own limit, in milliseconds.
    pub rate_limit_default_ms: u64,
    /// Spacing between starts by ecosystem, in milliseconds (`--rate-limit ECO=DURATION`
    /// over the defaults).
    pub rate_limit_ms: BTreeMap<String, u64>,
}

impl ShardSettings {
    /// The settings of `config` (its rate limits unscaled).
    pub fn of(config: &Config) -> Self {
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            tier: config.select.tier,
            batch_size: config.select.batch_size,
            ecosystems: config.select.ecosystems.iter().cloned().collect(),
            rate_limit_default_ms: ms(config.rate_limit.default_period),
            rate_limit_ms: config
                .rate_limit
                .per_ecosystem
                .iter()
                .map(|(eco, d)| (eco.clone(), ms(*d)))
                .collect(),
        }
    }

    /// The first setting in which `self` and `other` differ: its name (with the flag that
    /// sets it) and the two values.
    pub fn difference(&self, other: &Self) -> Option<(&'static str, String, String)> {
        let show = |v: &dyn std::fmt::Debug| format!("{v:?}");
        if self.tier != other.tier {
            return Some(("the tier (--tier)", show(&self.tier), show(&other.tier)));
        }
        if self.batch_size != other.batch_size {
            return Some((
                "the batch size (--batch-size)",
                show(&self.batch_size),
                show(&other.batch_size),
            ));
        }
        if self.ecosystems != other.ecosystems {
            return Some((
                "the ecosystem filter (--ecosystem)",
                show(&self.ecosystems),
                show(&other.ecosystems),
            ));
        }
        if (self.rate_limit_default_ms, &self.rate_limit_ms)
            != (other.rate_limit_default_ms, &other.rate_limit_ms)
        {
            let eco = self
                .rate_limit_ms
                .keys()
                .chain(other.rate_limit_ms.keys())
                .find(|e| self.rate_limit_ms.get(*e) != other.rate_limit_ms.get(*e));
            return Some(match eco {
                Some(eco) => (
                    "the rate limits (--rate-limit)",
                    format!("{eco} {}", ms_text(self.rate_limit_ms.get(eco))),
                    format!("{eco} {}", ms_text(other.rate_limit_ms.get(eco))),
                ),
                None => (
                    "the rate limits (--rate-limit)",
                    format!("default {} ms", self.rate_limit_default_ms),
                    format!("default {} ms", other.rate_limit_default_ms),
                ),
            });
        }
        None
    }
}

fn ms_text(v: Option<&u64>) -> String {
    v.map_or_else(|| "default".to_owned(), |ms| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_setting_is_named_with_both_values() {
        let base = Config::new();
        let a = ShardSettings::of(&base);
        assert_eq!(a.difference(&a.clone()), None);

        let mut c = base.clone();
        c.select.tier = 3;
        let (what, x, y) = a.difference(&ShardSettings::of(&c)).unwrap();
        assert_eq!(
            (what, x.as_str(), y.as_str()),
            ("the tier (--tier)", "2", "3")
        );

        let mut c = base.clone();
        c.select.batch_size = 40;
        assert_eq!(
            a.difference(&ShardSettings::of(&c)).unwrap().0,
            "the batch size (--batch-size)"
        );

        let mut c = base.clone();
        c.select.ecosystems.insert("npm".into());
        let (what, x, y) = a.difference(&ShardSettings::of(&c)).unwrap();
        assert_eq!(what, "the ecosystem filter (--ecosystem)");
        assert_eq!((x.as_str(), y.as_str()), ("[]", "[\"npm\"]"));

        let mut c = base.clone();
        c.rate_limit.set("npm", Duration::from_millis(500));
        let (what, x, y) = a.difference(&ShardSettings::of(&c)).unwrap();
        assert_eq!(what, "the rate limits (--rate-limit)");
        assert_eq!((x.as_str(), y.as_str()), ("npm 1000 ms", "npm 500 ms"));

        let mut c = base;
        c.rate_limit.set("zig", Duration::from_secs(3));
        let (_, x, y) = a.difference(&ShardSettings::of(&c)).unwrap();
        assert_eq!((x.as_str(), y.as_str()), ("zig default", "zig 3000 ms"));
    }
}
