//! Reading a manifest with its ETag and replacing it by conditional PUT: `If-Match: <etag>`
//! when it exists, `If-None-Match: *` when it does not, and on a lost race (412
//! Precondition Failed, or the object created or deleted meanwhile) a fresh read, merge and
//! retry after a bounded, jittered backoff ([`ConflictRetry`]).

use object_store::{Attribute, Attributes, PutMode, UpdateVersion};
use serde::Serialize;

use crate::backoff::ConflictRetry;
use crate::error::{Result, StoreError};
use crate::manifest::Manifest;
use crate::store::Store;

/// What [`update`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateOutcome {
    /// The manifest key.
    pub key: String,
    /// Whether a new version was written (false: nothing but `generated_at` would change).
    pub written: bool,
    /// Read-merge-write attempts made (1 when no other writer interfered).
    pub attempts: u32,
    /// Attempts lost to another writer (412 or equivalent) and retried.
    pub conflicts: u32,
}

/// Reads the manifest at `key` with the version a conditional PUT needs; `None` when absent.
///
/// # Errors
/// Store errors, and [`StoreError::ManifestParse`]/[`StoreError::ManifestInvalid`] for a
/// manifest that does not parse: it is never overwritten.
pub async fn load(store: &Store, key: &str) -> Result<Option<(Manifest, UpdateVersion)>> {
    match store.get(key).await? {
        None => Ok(None),
        Some(f) => Ok(Some((Manifest::parse(key, &f.bytes)?, f.version))),
    }
}

/// Replaces the manifest at `key` with `change(current)`, where `current` is `None` when the
/// key is absent, by conditional PUT, retrying lost races under `policy`. `change` is called
/// once per attempt with a fresh read and returns `None` when nothing needs writing.
///
/// On a backend without conditional update (the local directory) the write is a plain
/// overwrite: such a store must have a single writer.
///
/// # Errors
/// [`StoreError::ManifestContention`] after `policy.max_attempts` lost attempts; store errors
/// and timeouts; an existing manifest that does not parse (see [`load`]).
pub async fn update(
    store: &Store,
    key: &str,
    policy: &ConflictRetry,
    mut change: impl FnMut(Option<&Manifest>) -> Option<Manifest>,
) -> Result<UpdateOutcome> {
    let max = policy.max_attempts.max(1);
    let mut conflicts = 0;
    for attempt in 1..=max {
        let current = load(store, key).await?;
        let Some(next) = change(current.as_ref().map(|(m, _)| m)) else {
            return Ok(UpdateOutcome {
                key: key.to_owned(),
                written: false,
                attempts: attempt,
                conflicts,
            });
        };
        let mode = match current {
            Some((_, version)) => PutMode::Update(version),
            None => PutMode::Create,
        };
        let mut attrs = Attributes::new();
        attrs.insert(Attribute::ContentType, "application/json".into());
        match store.put(key, next.to_bytes().into(), mode, attrs).await {
            Ok(_) => {
                return Ok(UpdateOutcome {
                    key: key.to_owned(),
                    written: true,
                    attempts: attempt,
                    conflicts,
                });
            }
            Err(e) if lost_race(&e) => {
                conflicts += 1;
                tracing::debug!(
                    "manifest `{key}` changed under us (attempt {attempt} of {max}): {e}"
                );
                if attempt < max {
                    tokio::time::sleep(policy.delay(attempt, rand::random::<f64>())).await;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::ManifestContention {
        key: key.to_owned(),
        attempts: max,
    })
}

/// A conditional PUT that lost: the ETag moved (412), the object appeared before our create,
/// or it disappeared before our update (S3 answers 404 to `If-Match` on a missing key).
fn lost_race(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Request {
            op: "PUT",
            source: object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. }
                | object_store::Error::NotFound { .. },
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use jiff::Timestamp;
    use object_store::memory::InMemory;

    use super::*;
    use crate::config::Timeouts;
    use crate::hash::Sha256Hex;
    use crate::manifest::Entry;
    use crate::store::Capabilities;

    fn memory_store() -> Store {
        Store::from_object_store(
            Arc::new(InMemory::new()),
            "memory://",
            "p",
            Capabilities {
                conditional_update: true,
                metadata: true,
            },
            Timeouts::default(),
        )
    }

    fn with_entry(current: Option<&Manifest>, path: &str, content: &str) -> Manifest {
        let mut m = current
            .cloned()
            .unwrap_or_else(|| Manifest::new(Timestamp::UNIX_EPOCH));
        m.entries.insert(
            path.to_owned(),
            Entry {
                sha256: Sha256Hex::of(content.as_bytes()),
                size: content.len() as u64,
                published_at: Timestamp::UNIX_EPOCH,
                run_id: None,
                recipe: None,
                category: None,
                platform: None,
            },
        );
        m
    }

    /// A writer whose first read is overtaken by another writer's PUT loses the conditional
    /// PUT (If-Match on the stale ETag), re-reads, merges and succeeds on attempt 2; both
    /// entries survive. Paused time: the backoff sleep costs no wall time.
    #[tokio::test(start_paused = true)]
    async fn lost_race_is_retried_and_nothing_is_lost() {
        let store = memory_store();
        update(&store, "manifest.json", &ConflictRetry::default(), |c| {
            Some(with_entry(c, "a", "A"))
        })
        .await
        .unwrap();

        let calls = AtomicU32::new(0);
        let out = update(&store, "manifest.json", &ConflictRetry::default(), |c| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                // Another writer slips in between our read and our write.
                let other = with_entry(c, "b", "B");
                futures::executor::block_on(store.put(
                    "manifest.json",
                    other.to_bytes().into(),
                    PutMode::Overwrite,
                    Attributes::new(),
                ))
                .unwrap();
            }
            Some(with_entry(c, "c", "C"))
        })
        .await
        .unwrap();
        assert_eq!(
            out,
            UpdateOutcome {
                key: "manifest.json".into(),
                written: true,
                attempts: 2,
                conflicts: 1
            }
        );
        let (m, _) = load(&store, "manifest.json").await.unwrap().unwrap();
        assert_eq!(m.entries.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    /// A create (`If-None-Match: *`) that finds the manifest already created is retried as an
    /// update; after `max_attempts` losses the error names the key.
    #[tokio::test(start_paused = true)]
    async fn contention_is_bounded() {
        let store = memory_store();
        let policy = ConflictRetry {
            max_attempts: 3,
            ..ConflictRetry::default()
        };
        let calls = AtomicU32::new(0);
        let err = update(&store, "m.json", &policy, |c| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let other = with_entry(c, &format!("other{n}"), "O");
            futures::executor::block_on(store.put(
                "m.json",
                other.to_bytes().into(),
                PutMode::Overwrite,
                Attributes::new(),
            ))
            .unwrap();
            Some(with_entry(c, "mine", "M"))
        })
        .await
        .unwrap_err();
        assert!(
            matches!(err, StoreError::ManifestContention { attempts: 3, .. }),
            "{err:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn nothing_to_change_writes_nothing_and_corrupt_manifest_is_never_overwritten() {
        let store = memory_store();
        let out = update(&store, "m.json", &ConflictRetry::default(), |_| None)
            .await
            .unwrap();
        assert!(!out.written);
        assert!(store.head("m.json").await.unwrap().is_none());

        store
            .put(
                "m.json",
                bytes::Bytes::from_static(b"{not json"),
                PutMode::Overwrite,
                Attributes::new(),
            )
            .await
            .unwrap();
        let err = update(&store, "m.json", &ConflictRetry::default(), |c| {
            Some(with_entry(c, "a", "A"))
        })
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::ManifestParse { .. }), "{err:?}");
        let f = store.get("m.json").await.unwrap().unwrap();
        assert_eq!(&f.bytes[..], b"{not json");
    }
}
