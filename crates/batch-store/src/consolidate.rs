//! `store consolidate`: merge every per-run fragment (`manifests/fragments/*.json`) into
//! `manifest.json` by the last-writer-wins rule of [`crate::manifest`], with the same
//! conditional PUT as `publish`. Idempotent and independent of the order fragments are listed
//! or were written in.

use serde::Serialize;

use crate::backoff::ConflictRetry;
use crate::error::Result;
use crate::manifest::{self, Conflict, Manifest};
use crate::store::{FRAGMENTS_PREFIX, MANIFEST_KEY, Store};
use crate::update::{self, UpdateOutcome};

/// Result of [`consolidate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsolidateReport {
    /// Fragment keys merged, sorted.
    pub fragments: Vec<String>,
    /// Entries in the consolidated manifest.
    pub entries: usize,
    /// Logical paths that inputs mapped to different digests, with the digest kept.
    pub conflicts: Vec<Conflict>,
    /// The manifest write.
    pub manifest: UpdateOutcome,
    /// Fragments deleted by `prune` (each only if unchanged since it was merged).
    pub pruned: Vec<String>,
}

/// Merges every fragment into `manifest.json`. With `prune`, each merged fragment is deleted
/// afterwards if it still has the bytes that were merged.
///
/// # Errors
/// Store errors and timeouts; a fragment or manifest that does not parse (nothing is written
/// then); [`crate::StoreError::ManifestContention`].
pub async fn consolidate(
    store: &Store,
    policy: &ConflictRetry,
    prune: bool,
) -> Result<ConsolidateReport> {
    let mut keys: Vec<String> = store
        .list(FRAGMENTS_PREFIX)
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.ends_with(".json"))
        .collect();
    keys.sort();
    let mut fragments: Vec<(String, Manifest, bytes::Bytes)> = Vec::new();
    for key in keys {
        // A fragment deleted between the listing and the read was pruned by another
        // consolidation; it is in the manifest already.
        if let Some(f) = store.get(&key).await? {
            let m = Manifest::parse(&key, &f.bytes)?;
            fragments.push((key, m, f.bytes));
        }
    }
    let parsed: Vec<Manifest> = fragments.iter().map(|(_, m, _)| m.clone()).collect();
    let mut conflicts = Vec::new();
    let mut entries = 0;
    let outcome = update::update(store, MANIFEST_KEY, policy, |current| {
        let (merged, c) = manifest::consolidate(current, &parsed);
        conflicts = c;
        entries = merged.entries.len();
        let unchanged = match current {
            Some(cur) => cur.entries == merged.entries,
            None => merged.entries.is_empty(),
        };
        (!unchanged).then_some(merged)
    })
    .await?;
    for c in &conflicts {
        tracing::warn!(
            "`{}` maps to different contents in the fragments; kept sha256 {} (latest published_at), dropped {}",
            c.path,
            c.winner.short(),
            c.losers
                .iter()
                .map(|d| d.short().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut pruned = Vec::new();
    if prune {
        for (key, _, merged_bytes) in &fragments {
            match store.get(key).await? {
                Some(now) if now.bytes == *merged_bytes => {
                    store.delete(key).await?;
                    pruned.push(key.clone());
                }
                _ => tracing::info!("fragment `{key}` changed since it was merged; kept"),
            }
        }
    }
    Ok(ConsolidateReport {
        fragments: fragments.into_iter().map(|(k, _, _)| k).collect(),
        entries,
        conflicts,
        manifest: outcome,
        pruned,
    })
}
