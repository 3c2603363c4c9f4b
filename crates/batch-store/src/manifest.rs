//! The manifest: logical path → content digest, as a last-writer-wins map. Pure: parsing,
//! validation, merging and the consolidation of fragments take their inputs as arguments and
//! do no I/O ([`crate::update`] reads and writes manifests in the store).
//!
//! # Merge rule
//! Each entry carries the `published_at` instant its publisher recorded. When two inputs map
//! one logical path to different entries, the entry with the later `published_at` wins; ties
//! go to the larger `run_id`, then the larger digest, then the remaining fields, so every pair
//! of entries is ordered. The merge is therefore commutative, associative and idempotent:
//! consolidating the same fragments in any order, any number of times, gives the same bytes.
//! `generated_at` of a merge is the latest `generated_at` of its inputs.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::hash::Sha256Hex;

/// The manifest format written by this version.
pub const SCHEMA_VERSION: u32 = 1;

/// Longest logical path accepted, in bytes.
pub const MAX_LOGICAL_PATH: usize = 1024;

/// A manifest (`manifest.json`) or a per-run fragment (`manifests/fragments/<run-id>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`SCHEMA_VERSION`]; another value is refused.
    pub schema_version: u32,
    /// Latest instant any input of this manifest was generated (see the module docs).
    pub generated_at: Timestamp,
    /// The run that wrote this fragment; absent in the consolidated manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Logical path (e.g. `recipes/r/ripgrep.toml`) → entry, sorted by path.
    pub entries: BTreeMap<String, Entry>,
}

/// Where one logical path's content is, and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Digest of the content; the object is `sha256/<digest>`.
    pub sha256: Sha256Hex,
    /// Size in bytes.
    pub size: u64,
    /// When the publisher recorded this entry (its clock); decides merges.
    pub published_at: Timestamp,
    /// Run id of the publisher, when it gave one (`--fragment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Recipe name, when the path names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
    /// `recipe`, `golden`, `validation`, … when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Platform such as `linux-x86_64`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

impl Entry {
    /// True when both entries describe the same content with the same metadata (the time and
    /// run of recording aside): re-publishing such an entry changes nothing.
    pub fn same_content(&self, other: &Entry) -> bool {
        self.sha256 == other.sha256
            && self.size == other.size
            && self.recipe == other.recipe
            && self.category == other.category
            && self.platform == other.platform
    }

    /// The total order of the merge rule (module docs): later `published_at` first, then
    /// run id, digest, size and metadata.
    fn rank(&self) -> impl Ord + '_ {
        (
            self.published_at,
            self.run_id.as_deref().unwrap_or(""),
            &self.sha256,
            self.size,
            (&self.recipe, &self.category, &self.platform),
        )
    }
}

/// Two inputs of a merge that map one logical path to different digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The logical path.
    pub path: String,
    /// The digest kept.
    pub winner: Sha256Hex,
    /// The other digests seen, sorted.
    pub losers: Vec<Sha256Hex>,
}

impl Manifest {
    /// An empty manifest generated at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            generated_at: now,
            run_id: None,
            entries: BTreeMap::new(),
        }
    }

    /// Parses and validates the bytes of the manifest at `key`.
    ///
    /// # Errors
    /// [`StoreError::ManifestParse`] (not JSON of this shape, bad digest) or
    /// [`StoreError::ManifestInvalid`] (schema version, logical path).
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Self> {
        let m: Self =
            serde_json::from_slice(bytes).map_err(|source| StoreError::ManifestParse {
                key: key.to_owned(),
                source,
            })?;
        if m.schema_version != SCHEMA_VERSION {
            return Err(StoreError::ManifestInvalid {
                key: key.to_owned(),
                reason: format!(
                    "schema_version {} (this tool reads {SCHEMA_VERSION})",
                    m.schema_version
                ),
            });
        }
        for path in m.entries.keys() {
            validate_logical_path(path).map_err(|e| StoreError::ManifestInvalid {
                key: key.to_owned(),
                reason: e.to_string(),
            })?;
        }
        Ok(m)
    }

    /// The canonical bytes: 2-space indented JSON, keys in a fixed order, a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        v.push(b'\n');
        v
    }

    /// Merges `other` into `self` by the module's rule (later `published_at` wins per path;
    /// `generated_at` becomes the later of the two). Returns the paths whose digest differed.
    pub fn merge_from(&mut self, other: &Manifest) -> Vec<String> {
        let mut differing = Vec::new();
        for (path, theirs) in &other.entries {
            match self.entries.get_mut(path) {
                Some(ours) => {
                    if ours.sha256 != theirs.sha256 {
                        differing.push(path.clone());
                    }
                    if theirs.rank() > ours.rank() {
                        *ours = theirs.clone();
                    }
                }
                None => {
                    self.entries.insert(path.clone(), theirs.clone());
                }
            }
        }
        self.generated_at = self.generated_at.max(other.generated_at);
        differing
    }

    /// Every digest the manifest references.
    pub fn digests(&self) -> BTreeSet<&Sha256Hex> {
        self.entries.values().map(|e| &e.sha256).collect()
    }
}

/// Merges `base` (the current consolidated manifest, if any) with every fragment, by the
/// module's rule, and reports each logical path that the inputs map to more than one digest.
/// The result (bytes and conflicts) does not depend on the order of `fragments`.
pub fn consolidate(base: Option<&Manifest>, fragments: &[Manifest]) -> (Manifest, Vec<Conflict>) {
    let mut out = Manifest::new(Timestamp::UNIX_EPOCH);
    let mut seen: BTreeMap<&str, BTreeSet<&Sha256Hex>> = BTreeMap::new();
    for m in base.into_iter().chain(fragments) {
        for (path, e) in &m.entries {
            seen.entry(path).or_default().insert(&e.sha256);
        }
        out.merge_from(m);
    }
    out.run_id = None;
    let conflicts = seen
        .into_iter()
        .filter(|(_, digests)| digests.len() > 1)
        .map(|(path, digests)| {
            let winner = out.entries[path].sha256.clone();
            Conflict {
                path: path.to_owned(),
                losers: digests
                    .into_iter()
                    .filter(|d| **d != winner)
                    .cloned()
                    .collect(),
                winner,
            }
        })
        .collect();
    (out, conflicts)
}

/// Checks a logical path: relative, `/`-separated, no empty, `.` or `..` segment, no
/// backslash or control character, at most [`MAX_LOGICAL_PATH`] bytes. These are the paths
/// `fetch` writes under `--out`, so none may leave it.
///
/// # Errors
/// [`StoreError::InvalidLogicalPath`] naming the rule broken.
pub fn validate_logical_path(path: &str) -> Result<()> {
    let reason = if path.is_empty() {
        Some("empty")
    } else if path.len() > MAX_LOGICAL_PATH {
        Some("longer than 1024 bytes")
    } else if path.starts_with('/') {
        Some("absolute")
    } else if path.contains('\\') || path.chars().any(char::is_control) {
        Some("contains a backslash or a control character")
    } else if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        Some("has an empty, `.` or `..` segment")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidLogicalPath {
            path: path.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks a fragment run id: 1 to 128 characters of `[A-Za-z0-9._-]`, not starting with `.`
/// or `-` (it becomes the key `manifests/fragments/<run-id>.json`).
pub fn valid_run_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && !id.starts_with(['.', '-'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn entry(content: &str, at: &str, run: &str) -> Entry {
        Entry {
            sha256: Sha256Hex::of(content.as_bytes()),
            size: content.len() as u64,
            published_at: ts(at),
            run_id: Some(run.to_owned()),
            recipe: None,
            category: None,
            platform: None,
        }
    }

    fn fragment(run: &str, at: &str, entries: &[(&str, Entry)]) -> Manifest {
        Manifest {
            schema_version: SCHEMA_VERSION,
            generated_at: ts(at),
            run_id: Some(run.to_owned()),
            entries: entries
                .iter()
                .map(|(p, e)| ((*p).to_owned(), e.clone()))
                .collect(),
        }
    }

    /// Three fragments, two of which disagree on `recipes/a/x.toml`; the later one wins in
    /// every order, and the bytes are identical.
    #[test]
    fn consolidation_is_order_independent_and_idempotent() {
        let f1 = fragment(
            "run-1",
            "2026-11-24T10:00:00Z",
            &[
                (
                    "recipes/a/x.toml",
                    entry("x1", "2026-11-24T10:00:00Z", "run-1"),
                ),
                (
                    "recipes/b/y.toml",
                    entry("y", "2026-11-24T10:00:00Z", "run-1"),
                ),
            ],
        );
        let f2 = fragment(
            "run-2",
            "2026-11-24T11:00:00Z",
            &[(
                "recipes/a/x.toml",
                entry("x2", "2026-11-24T11:00:00Z", "run-2"),
            )],
        );
        let f3 = fragment(
            "run-3",
            "2026-11-24T09:00:00Z",
            &[(
                "recipes/c/z.toml",
                entry("z", "2026-11-24T09:00:00Z", "run-3"),
            )],
        );
        let orders = [
            vec![f1.clone(), f2.clone(), f3.clone()],
            vec![f3.clone(), f2.clone(), f1.clone()],
            vec![f2.clone(), f1.clone(), f3.clone()],
            vec![f2.clone(), f3.clone(), f1.clone(), f2.clone(), f1.clone()],
        ];
        let (first, conflicts) = consolidate(None, &orders[0]);
        assert_eq!(first.entries.len(), 3);
        assert_eq!(
            first.entries["recipes/a/x.toml"].sha256,
            Sha256Hex::of(b"x2"),
            "the later published_at wins"
        );
        assert_eq!(first.generated_at, ts("2026-11-24T11:00:00Z"));
        assert_eq!(first.run_id, None);
        assert_eq!(
            conflicts,
            [Conflict {
                path: "recipes/a/x.toml".into(),
                winner: Sha256Hex::of(b"x2"),
                losers: vec![Sha256Hex::of(b"x1")],
            }]
        );
        for order in &orders[1..] {
            let (m, c) = consolidate(None, order);
            assert_eq!(m.to_bytes(), first.to_bytes(), "{order:?}");
            assert_eq!(c, conflicts);
        }
        // Consolidating again onto the result changes nothing.
        let (again, _) = consolidate(Some(&first), &orders[1]);
        assert_eq!(again.to_bytes(), first.to_bytes());
    }

    #[test]
    fn ties_are_broken_by_run_id_then_digest() {
        let at = "2026-11-24T10:00:00Z";
        let a = fragment("run-a", at, &[("p", entry("1", at, "run-a"))]);
        let b = fragment("run-b", at, &[("p", entry("2", at, "run-b"))]);
        let (m1, _) = consolidate(None, &[a.clone(), b.clone()]);
        let (m2, _) = consolidate(None, &[b, a]);
        assert_eq!(m1.entries["p"].sha256, Sha256Hex::of(b"2"), "larger run id");
        assert_eq!(m1, m2);
        let c = fragment("run-a", at, &[("p", entry("3", at, "run-a"))]);
        let d = fragment("run-a", at, &[("p", entry("4", at, "run-a"))]);
        let want = std::cmp::max(Sha256Hex::of(b"3"), Sha256Hex::of(b"4"));
        assert_eq!(
            consolidate(None, &[c.clone(), d.clone()]).0.entries["p"].sha256,
            want
        );
        assert_eq!(consolidate(None, &[d, c]).0.entries["p"].sha256, want);
    }

    #[test]
    fn parse_round_trip_and_rejections() {
        let m = fragment(
            "r",
            "2026-11-24T10:00:00Z",
            &[("recipes/a/x.toml", entry("x", "2026-11-24T10:00:00Z", "r"))],
        );
        let bytes = m.to_bytes();
        assert_eq!(Manifest::parse("k", &bytes).unwrap(), m);
        assert!(bytes.ends_with(b"}\n"));

        let text = String::from_utf8(bytes).unwrap();
        let bad_path = text.replace("recipes/a/x.toml", "../../etc/passwd");
        assert!(matches!(
            Manifest::parse("k", bad_path.as_bytes()),
            Err(StoreError::ManifestInvalid { .. })
        ));
        let bad_version = text.replace("\"schema_version\": 1", "\"schema_version\": 2");
        assert!(matches!(
            Manifest::parse("k", bad_version.as_bytes()),
            Err(StoreError::ManifestInvalid { .. })
        ));
        let bad_digest = text.replace(Sha256Hex::of(b"x").as_str(), "abc");
        assert!(matches!(
            Manifest::parse("k", bad_digest.as_bytes()),
            Err(StoreError::ManifestParse { .. })
        ));
        assert!(Manifest::parse("k", b"{\"schema_version\":1").is_err());
    }

    #[test]
    fn logical_paths_and_run_ids() {
        for ok in [
            "recipes/a/x.toml",
            "x",
            "testdata/golden/plans/r/rg/v1-linux-x86_64.json",
        ] {
            assert!(validate_logical_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "./a",
            "a//b",
            "a/",
            "a\\b",
            "a\nb",
            "..",
        ] {
            assert!(validate_logical_path(bad).is_err(), "{bad:?}");
        }
        assert!(validate_logical_path(&"a".repeat(1025)).is_err());
        for ok in ["2026-11-24-all-002", "run_1.shard-3", "A"] {
            assert!(valid_run_id(ok), "{ok}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "a b", &"x".repeat(129)] {
            assert!(!valid_run_id(bad), "{bad:?}");
        }
    }
}
