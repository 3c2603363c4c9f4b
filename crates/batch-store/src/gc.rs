//! `store gc`: delete `sha256/` objects that no kept manifest references and that are older
//! than a grace window. Every manifest is loaded before anything is deleted, and one that
//! fails to load stops the collection. [`plan`] is pure (objects, references, `now`, grace);
//! [`gc`] does the I/O with an injected [`Clock`].

use std::collections::BTreeSet;
use std::time::Duration;

use batch_base::clock::Clock;
use jiff::Timestamp;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::hash::Sha256Hex;
use crate::store::{FRAGMENTS_PREFIX, OBJECTS_PREFIX, ObjectInfo, Store};
use crate::update;

/// Options of [`gc`].
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Manifest keys whose references are kept (`manifest.json`, or older copies kept for
    /// rollback). At least one is required.
    pub keep_manifests: Vec<String>,
    /// Also keep everything referenced by fragments not yet consolidated (default true).
    pub include_fragments: bool,
    /// Objects modified less than this long ago are never deleted.
    pub grace: Duration,
    /// List what would be deleted; delete nothing.
    pub dry_run: bool,
}

/// An object [`plan`] selected for deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Victim {
    /// Key relative to the store prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: Timestamp,
}

/// What [`plan`] decided for every object listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Unreferenced and older than the grace window.
    pub victims: Vec<Victim>,
    /// Referenced by a kept manifest.
    pub referenced: usize,
    /// Unreferenced but inside the grace window.
    pub in_grace: usize,
    /// Keys under `sha256/` that are not a digest; never touched.
    pub foreign: Vec<String>,
}

/// Decides, for each object, keep or delete: delete only when its key is `sha256/<digest>`,
/// `referenced` does not hold the digest, and it was last modified strictly more than `grace`
/// before `now` (an object stamped after `now` is inside the window).
pub fn plan(
    objects: &[ObjectInfo],
    referenced: &BTreeSet<Sha256Hex>,
    now: Timestamp,
    grace: Duration,
) -> Plan {
    let mut p = Plan::default();
    for o in objects {
        let Some(d) = o
            .key
            .strip_prefix(OBJECTS_PREFIX)
            .and_then(Sha256Hex::parse)
        else {
            p.foreign.push(o.key.clone());
            continue;
        };
        if referenced.contains(&d) {
            p.referenced += 1;
        } else if outside_grace(o.last_modified, now, grace) {
            p.victims.push(Victim {
                key: o.key.clone(),
                size: o.size,
                last_modified: o.last_modified,
            });
        } else {
            p.in_grace += 1;
        }
    }
    p
}

fn outside_grace(last_modified: Timestamp, now: Timestamp, grace: Duration) -> bool {
    let age = now.duration_since(last_modified);
    !age.is_negative() && age.unsigned_abs() > grace
}

/// Result of [`gc`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Manifests whose references were kept (fragments included), sorted.
    pub manifests: Vec<String>,
    /// Distinct digests they reference.
    pub referenced_digests: usize,
    /// Objects listed under `sha256/`.
    pub scanned: usize,
    /// The decisions.
    pub plan: Plan,
    /// Victims deleted (empty on a dry run).
    pub deleted: Vec<String>,
    /// Victims left because they changed since the listing (renewed by a publish).
    pub spared: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Collects garbage as described in the module docs. Each victim is looked at again just
/// before its deletion and spared if a publish renewed it meanwhile (see
/// [`crate::publish::REFRESH_AFTER`]).
///
/// # Errors
/// [`StoreError::ManifestMissing`], [`StoreError::ManifestParse`] or
/// [`StoreError::ManifestInvalid`] for any kept manifest (nothing is deleted then); store
/// errors and timeouts (deletions made before the error stay made).
pub async fn gc(store: &Store, opts: &GcOptions, clock: &dyn Clock) -> Result<GcReport> {
    let mut keys: BTreeSet<String> = opts.keep_manifests.iter().cloned().collect();
    if opts.include_fragments {
        for o in store.list(FRAGMENTS_PREFIX).await? {
            if o.key.ends_with(".json") {
                keys.insert(o.key);
            }
        }
    }
    let mut referenced = BTreeSet::new();
    for key in &keys {
        let Some((m, _)) = update::load(store, key).await? else {
            return Err(StoreError::ManifestMissing { key: key.clone() });
        };
        referenced.extend(m.entries.into_values().map(|e| e.sha256));
    }
    let objects = store.list(OBJECTS_PREFIX).await?;
    let now = clock.now();
    let plan = plan(&objects, &referenced, now, opts.grace);
    let mut deleted = Vec::new();
    let mut spared = Vec::new();
    if !opts.dry_run {
        for v in &plan.victims {
            match store.head(&v.key).await? {
                Some(o) if outside_grace(o.last_modified, clock.now(), opts.grace) => {
                    store.delete(&v.key).await?;
                    deleted.push(v.key.clone());
                }
                Some(_) => spared.push(v.key.clone()),
                None => {}
            }
        }
    }
    Ok(GcReport {
        manifests: keys.into_iter().collect(),
        referenced_digests: referenced.len(),
        scanned: objects.len(),
        plan,
        deleted,
        spared,
        dry_run: opts.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(content: &str, at: &str) -> ObjectInfo {
        ObjectInfo {
            key: format!("sha256/{}", Sha256Hex::of(content.as_bytes())),
            size: content.len() as u64,
            last_modified: at.parse().unwrap(),
        }
    }

    #[test]
    fn plan_keeps_referenced_young_and_foreign() {
        let objects = vec![
            obj("kept", "2020-01-01T00:00:00Z"),
            obj("old", "2026-01-01T00:00:00Z"),
            obj("edge", "2026-08-26T00:00:00Z"),
            obj("young", "2026-11-01T00:00:00Z"),
            obj("future", "2027-01-01T00:00:00Z"),
            ObjectInfo {
                key: "sha256/README".into(),
                size: 1,
                last_modified: "2000-01-01T00:00:00Z".parse().unwrap(),
            },
        ];
        let referenced = BTreeSet::from([Sha256Hex::of(b"kept")]);
        let now: Timestamp = "2026-11-24T00:00:00Z".parse().unwrap();
        let grace = Duration::from_secs(90 * 86400);
        let p = plan(&objects, &referenced, now, grace);
        assert_eq!(
            p.victims.iter().map(|v| v.key.as_str()).collect::<Vec<_>>(),
            [objects[1].key.as_str()]
        );
        // 2026-08-26 is exactly 90 days before now: not strictly older, so kept.
        assert_eq!((p.referenced, p.in_grace), (1, 3));
        assert_eq!(p.foreign, ["sha256/README"]);

        // A day later the edge object is out of the window.
        let later = plan(
            &objects,
            &referenced,
            now + jiff::SignedDuration::from_hours(24),
            grace,
        );
        assert_eq!(later.victims.len(), 2);
    }
}
