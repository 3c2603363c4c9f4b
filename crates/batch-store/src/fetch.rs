//! `fetch`: resolve logical paths through the manifest, take each object from the cache or
//! the store, verify its SHA-256, and only when every file is verified write them all under
//! the output directory. When the store errors or times out, the cached manifest and cached
//! objects are used instead, with a warning stating their age.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use batch_base::clock::Clock;
use batch_base::fs as fsutil;
use jiff::Timestamp;
use serde::Serialize;

use crate::cache::Cache;
use crate::error::{Result, StoreError, humantime};
use crate::hash::Sha256Hex;
use crate::health::chain;
use crate::manifest::{Manifest, validate_logical_path};
use crate::store::{MANIFEST_KEY, Store};

/// Options of [`fetch`].
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Logical paths to fetch.
    pub paths: Vec<String>,
    /// Directory the files are written under (`<out>/<logical path>`).
    pub out: PathBuf,
    /// Manifest to resolve paths with (default `manifest.json`).
    pub manifest_key: String,
    /// Upper bound of all store requests together; past it the cache is used.
    pub timeout: Duration,
}

/// Where a file's bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Downloaded from the store now.
    Store,
    /// A verified cache hit for a digest the store's current manifest names.
    Cache,
    /// The store was unreachable: the cache's copy, resolved by the cached manifest.
    StaleCache,
}

/// One fetched file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchedFile {
    /// The logical path.
    pub path: String,
    /// Its digest.
    pub sha256: Sha256Hex,
    /// Its size in bytes.
    pub size: u64,
    /// Where the bytes came from.
    pub source: Source,
    /// When the bytes were downloaded from the store (now, or when they were cached).
    pub fetched_at: Timestamp,
    /// Where it was written.
    pub dest: PathBuf,
}

/// Result of [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchReport {
    /// Files in the order asked for.
    pub files: Vec<FetchedFile>,
    /// Whether the store was unreachable and the cache was used.
    pub offline: bool,
    /// Warnings printed (the fallback and the age of what it used).
    pub warnings: Vec<String>,
    /// Cache entries evicted to stay within the budget.
    pub evicted: usize,
}

fn remaining(deadline: tokio::time::Instant) -> Duration {
    deadline.saturating_duration_since(tokio::time::Instant::now())
}

async fn within<T>(
    deadline: tokio::time::Instant,
    op: &'static str,
    key: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(remaining(deadline), fut).await {
        Ok(r) => r,
        Err(_) => Err(StoreError::Timeout {
            op,
            key: key.to_owned(),
            timeout: limit,
        }),
    }
}

/// Age of `then` at `now`, rounded down to seconds, as `3h 12m 5s`.
pub fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = now.duration_since(then).as_secs().max(0);
    humantime(Duration::from_secs(secs.unsigned_abs()))
}

/// Fetches `opts.paths` as described in the module docs.
///
/// # Errors
/// [`StoreError::InvalidLogicalPath`]; [`StoreError::NotInManifest`];
/// [`StoreError::Corrupt`] when the store's bytes do not match the manifest (nothing is
/// written or cached); [`StoreError::NotCached`] when the store is unreachable and the cache
/// lacks the manifest or a file (its source is the store error); a manifest that does not
/// parse; [`StoreError::Io`] for the cache and the output files.
pub async fn fetch(
    store: &Store,
    cache: &mut Cache,
    opts: &FetchOptions,
    clock: &dyn Clock,
) -> Result<FetchReport> {
    for p in &opts.paths {
        validate_logical_path(p)?;
    }
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let key = opts.manifest_key.as_str();
    let manifest_id = format!("{}/{key}", store.url());
    let mut warnings = Vec::new();
    let mut pinned = BTreeSet::new();

    let fetched = within(deadline, "GET", key, opts.timeout, store.get(key)).await;
    let (manifest, offline_cause) = match fetched {
        Ok(Some(f)) => {
            let m = Manifest::parse(key, &f.bytes)?;
            let d = Sha256Hex::of(&f.bytes);
            let now = clock.now();
            cache.insert(&d, &f.bytes, now)?;
            cache.remember_manifest(&manifest_id, &d, now);
            pinned.insert(d);
            (m, None)
        }
        Ok(None) => {
            return Err(StoreError::ManifestMissing {
                key: key.to_owned(),
            });
        }
        Err(e) if e.is_unreachable() => {
            let Some(cached) = cache.manifest(&manifest_id).cloned() else {
                return Err(StoreError::NotCached {
                    what: key.to_owned(),
                    dir: cache.dir().to_path_buf(),
                    source: Box::new(e),
                });
            };
            let Some((bytes, _)) = cache.get(&cached.sha256, clock.now())? else {
                return Err(StoreError::NotCached {
                    what: key.to_owned(),
                    dir: cache.dir().to_path_buf(),
                    source: Box::new(e),
                });
            };
            let cached_path = cache.dir().join("objects").join(cached.sha256.as_str());
            let m = Manifest::parse(&cached_path.display().to_string(), &bytes)?;
            let w = format!(
                "store {} unreachable ({}); using the manifest cached {} ago ({})",
                store.url(),
                chain(&e),
                age(clock.now(), cached.fetched_at),
                cached.fetched_at
            );
            tracing::warn!("{w}");
            warnings.push(w);
            pinned.insert(cached.sha256);
            (m, Some(e))
        }
        Err(e) => return Err(e),
    };

    let mut files = Vec::new();
    let mut contents = Vec::new();
    let mut offline_cause = offline_cause;
    for path in &opts.paths {
        let Some(entry) = manifest.entries.get(path) else {
            return Err(StoreError::NotInManifest {
                path: path.clone(),
                key: key.to_owned(),
            });
        };
        pinned.insert(entry.sha256.clone());
        let now = clock.now();
        let dest = opts.out.join(Path::new(path));
        if let Some((bytes, fetched_at)) = cache.get(&entry.sha256, now)?
            && bytes.len() as u64 == entry.size
        {
            let source = if offline_cause.is_some() {
                let w = format!(
                    "using cached `{path}` (sha256 {}), fetched from the store {} ago ({fetched_at})",
                    entry.sha256.short(),
                    age(now, fetched_at)
                );
                tracing::warn!("{w}");
                warnings.push(w);
                Source::StaleCache
            } else {
                Source::Cache
            };
            files.push(FetchedFile {
                path: path.clone(),
                sha256: entry.sha256.clone(),
                size: entry.size,
                source,
                fetched_at,
                dest,
            });
            contents.push(bytes);
            continue;
        }
        if let Some(cause) = offline_cause.take() {
            return Err(StoreError::NotCached {
                what: path.clone(),
                dir: cache.dir().to_path_buf(),
                source: Box::new(cause),
            });
        }
        let okey = Store::object_key(&entry.sha256);
        let got = match within(deadline, "GET", &okey, opts.timeout, store.get(&okey)).await {
            Ok(Some(f)) => f,
            Ok(None) => {
                return Err(StoreError::Corrupt {
                    key: okey,
                    expected: entry.sha256.to_string(),
                    expected_size: entry.size,
                    actual: "(missing)".into(),
                    actual_size: 0,
                });
            }
            Err(e) if e.is_unreachable() => {
                return Err(StoreError::NotCached {
                    what: path.clone(),
                    dir: cache.dir().to_path_buf(),
                    source: Box::new(e),
                });
            }
            Err(e) => return Err(e),
        };
        let actual = Sha256Hex::of(&got.bytes);
        if actual != entry.sha256 || got.bytes.len() as u64 != entry.size {
            return Err(StoreError::Corrupt {
                key: okey,
                expected: entry.sha256.to_string(),
                expected_size: entry.size,
                actual: actual.to_string(),
                actual_size: got.bytes.len() as u64,
            });
        }
        cache.insert(&entry.sha256, &got.bytes, now)?;
        files.push(FetchedFile {
            path: path.clone(),
            sha256: entry.sha256.clone(),
            size: entry.size,
            source: Source::Store,
            fetched_at: now,
            dest,
        });
        contents.push(got.bytes.to_vec());
    }

    // Every file is verified: write them all.
    for (f, bytes) in files.iter().zip(&contents) {
        fsutil::write_atomic(&f.dest, bytes, true)
            .map_err(|e| StoreError::io("write", &f.dest, e))?;
    }
    let evicted = cache.evict(&pinned)?.len();
    cache.save()?;
    let offline = files.iter().any(|f| f.source == Source::StaleCache) || !warnings.is_empty();
    Ok(FetchReport {
        files,
        offline,
        warnings,
        evicted,
    })
}

/// Default of [`FetchOptions::manifest_key`].
pub fn default_manifest_key() -> String {
    MANIFEST_KEY.to_owned()
}
