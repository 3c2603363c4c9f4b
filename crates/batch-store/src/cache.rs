//! The local download cache of `fetch`: verified copies of objects by digest, the last
//! manifest seen per store, and an index of sizes and access times that this tool records
//! itself (file atimes are unreliable: `noatime`, `relatime`, copies). Bounded by a byte
//! budget with least-recently-used eviction.
//!
//! Layout: `<dir>/objects/<sha256>` and `<dir>/index.json`, both written atomically
//! ([`batch_base::fs::write_atomic`]). A lost or corrupt index is rebuilt from the objects
//! directory; an object whose bytes no longer match its name is deleted on read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use batch_base::fs as fsutil;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::hash::Sha256Hex;

/// Name of the index file in the cache directory.
pub const INDEX_FILE: &str = "index.json";
/// Default byte budget of the cache (1 GiB).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Index {
    /// Digest → bookkeeping.
    objects: BTreeMap<Sha256Hex, CachedObject>,
    /// Store manifest id (store URL + key) → the cached copy of that manifest.
    manifests: BTreeMap<String, CachedManifest>,
}

/// Bookkeeping of one cached object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedObject {
    /// Size in bytes.
    pub size: u64,
    /// When the bytes were downloaded and verified.
    pub fetched_at: Timestamp,
    /// When `fetch` last used them; eviction removes the smallest first.
    pub last_access: Timestamp,
}

/// The cached copy of a store's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedManifest {
    /// Digest of the manifest bytes, an object of this cache.
    pub sha256: Sha256Hex,
    /// When it was read from the store.
    pub fetched_at: Timestamp,
}

/// A download cache in a directory; see the module docs.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    index: Index,
}

impl Cache {
    /// Opens (creating) the cache in `dir` with a budget of `max_bytes`. Index entries whose
    /// file is gone are dropped; object files the index does not know (a crash between the
    /// two writes, a lost index) are adopted with their modification time as access time.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the directory cannot be created or listed.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self> {
        let objects = dir.join("objects");
        std::fs::create_dir_all(&objects).map_err(|e| StoreError::io("create", &objects, e))?;
        let index_path = dir.join(INDEX_FILE);
        let mut index: Index = match std::fs::read(&index_path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(
                    "cache index `{}` is unreadable ({e}); rebuilding it",
                    index_path.display()
                );
                Index::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index::default(),
            Err(e) => return Err(StoreError::io("read", index_path, e)),
        };
        let mut on_disk = BTreeMap::new();
        let rd = std::fs::read_dir(&objects).map_err(|e| StoreError::io("list", &objects, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| StoreError::io("list", &objects, e))?;
            let name = entry.file_name();
            let Some(d) = name.to_str().and_then(Sha256Hex::parse) else {
                continue;
            };
            if let Ok(meta) = entry.metadata() {
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| Timestamp::try_from(t).ok())
                    .unwrap_or(Timestamp::UNIX_EPOCH);
                on_disk.insert(d, (meta.len(), mtime));
            }
        }
        index.objects.retain(|d, _| on_disk.contains_key(d));
        for (d, (size, mtime)) in on_disk {
            index.objects.entry(d).or_insert(CachedObject {
                size,
                fetched_at: mtime,
                last_access: mtime,
            });
        }
        index
            .manifests
            .retain(|_, m| index.objects.contains_key(&m.sha256));
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            index,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn object_path(&self, d: &Sha256Hex) -> PathBuf {
        self.dir.join("objects").join(d.as_str())
    }

    /// Bytes of all cached objects.
    pub fn total_bytes(&self) -> u64 {
        self.index.objects.values().map(|o| o.size).sum()
    }

    /// Bookkeeping of `d`, if cached.
    pub fn info(&self, d: &Sha256Hex) -> Option<CachedObject> {
        self.index.objects.get(d).copied()
    }

    /// The verified bytes of `d` and when they were fetched, recording the access at `now`.
    /// A copy whose digest or size does not match is deleted (with a warning) and reported
    /// as absent.
    ///
    /// # Errors
    /// [`StoreError::Io`] other than a missing file.
    pub fn get(&mut self, d: &Sha256Hex, now: Timestamp) -> Result<Option<(Vec<u8>, Timestamp)>> {
        let Some(entry) = self.index.objects.get(d).copied() else {
            return Ok(None);
        };
        let path = self.object_path(d);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.index.objects.remove(d);
                return Ok(None);
            }
            Err(e) => return Err(StoreError::io("read", path, e)),
        };
        let actual = Sha256Hex::of(&bytes);
        if actual != *d {
            tracing::warn!(
                "cached copy `{}` is corrupt (sha256 {}); discarded",
                path.display(),
                actual.short()
            );
            self.discard(d)?;
            return Ok(None);
        }
        if let Some(e) = self.index.objects.get_mut(d) {
            e.last_access = now;
            e.size = bytes.len() as u64;
        }
        Ok(Some((bytes, entry.fetched_at)))
    }

    /// Stores `bytes` (already verified to have digest `d`) fetched at `now`.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the file cannot be written.
    pub fn insert(&mut self, d: &Sha256Hex, bytes: &[u8], now: Timestamp) -> Result<()> {
        let path = self.object_path(d);
        fsutil::write_atomic(&path, bytes, true).map_err(|e| StoreError::io("write", path, e))?;
        self.index.objects.insert(
            d.clone(),
            CachedObject {
                size: bytes.len() as u64,
                fetched_at: now,
                last_access: now,
            },
        );
        Ok(())
    }

    /// Deletes the cached copy of `d`.
    ///
    /// # Errors
    /// [`StoreError::Io`] other than a missing file.
    pub fn discard(&mut self, d: &Sha256Hex) -> Result<()> {
        let path = self.object_path(d);
        fsutil::remove_if_exists(&path).map_err(|e| StoreError::io("remove", path, e))?;
        self.index.objects.remove(d);
        self.index.manifests.retain(|_, m| m.sha256 != *d);
        Ok(())
    }

    /// Records that the manifest `id` had the (cached) bytes `d` at `now`.
    pub fn remember_manifest(&mut self, id: &str, d: &Sha256Hex, now: Timestamp) {
        self.index.manifests.insert(
            id.to_owned(),
            CachedManifest {
                sha256: d.clone(),
                fetched_at: now,
            },
        );
    }

    /// The last manifest recorded for `id`.
    pub fn manifest(&self, id: &str) -> Option<&CachedManifest> {
        self.index.manifests.get(id)
    }

    /// Evicts least-recently-accessed objects (ties: smaller digest first) until the total is
    /// within the budget, never touching `pinned`. Returns the digests evicted. If the pinned
    /// objects alone exceed the budget, they stay and the cache is over budget until the next
    /// fetch.
    ///
    /// # Errors
    /// [`StoreError::Io`] when a file cannot be removed.
    pub fn evict(&mut self, pinned: &BTreeSet<Sha256Hex>) -> Result<Vec<Sha256Hex>> {
        let mut order: Vec<(Timestamp, Sha256Hex, u64)> = self
            .index
            .objects
            .iter()
            .filter(|(d, _)| !pinned.contains(*d))
            .map(|(d, o)| (o.last_access, d.clone(), o.size))
            .collect();
        order.sort();
        let mut total = self.total_bytes();
        let mut evicted = Vec::new();
        for (_, d, size) in order {
            if total <= self.max_bytes {
                break;
            }
            self.discard(&d)?;
            total -= size;
            evicted.push(d);
        }
        Ok(evicted)
    }

    /// Writes the index.
    ///
    /// # Errors
    /// [`StoreError::Io`].
    pub fn save(&self) -> Result<()> {
        let path = self.dir.join(INDEX_FILE);
        let mut bytes = serde_json::to_vec_pretty(&self.index).expect("the index serialises");
        bytes.push(b'\n');
        fsutil::write_atomic(&path, &bytes, true).map_err(|e| StoreError::io("write", path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Three 10-byte objects in a 25-byte cache: the least recently *used* one (not the
    /// oldest fetched) goes, and a pinned one never does.
    #[test]
    fn lru_by_recorded_access_time() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Cache::open(tmp.path(), 25).unwrap();
        let (a, b, x) = (b"aaaaaaaaaa", b"bbbbbbbbbb", b"xxxxxxxxxx");
        let (da, db, dx) = (Sha256Hex::of(a), Sha256Hex::of(b), Sha256Hex::of(x));
        c.insert(&da, a, t("2026-01-01T00:00:00Z")).unwrap();
        c.insert(&db, b, t("2026-01-02T00:00:00Z")).unwrap();
        // `a` is used after `b` was fetched: `b` is now the least recently used.
        assert!(c.get(&da, t("2026-01-03T00:00:00Z")).unwrap().is_some());
        c.insert(&dx, x, t("2026-01-04T00:00:00Z")).unwrap();
        assert_eq!(
            c.evict(&BTreeSet::new()).unwrap(),
            std::slice::from_ref(&db)
        );
        assert_eq!(c.total_bytes(), 20);
        c.save().unwrap();

        // The index survives a reopen; pinning `a` makes `x` go instead at a budget of 10.
        let mut c = Cache::open(tmp.path(), 10).unwrap();
        assert_eq!(c.info(&da).unwrap().last_access, t("2026-01-03T00:00:00Z"));
        assert_eq!(c.evict(&BTreeSet::from([da.clone()])).unwrap(), [dx]);
        assert!(!tmp.path().join("objects").join(db.as_str()).exists());
    }

    #[test]
    fn corrupt_copy_is_discarded_and_lost_index_is_rebuilt() {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Cache::open(tmp.path(), 1 << 20).unwrap();
        let d = Sha256Hex::of(b"payload");
        c.insert(&d, b"payload", t("2026-01-01T00:00:00Z")).unwrap();
        c.remember_manifest("s3://b/manifest.json", &d, t("2026-01-01T00:00:00Z"));
        c.save().unwrap();
        std::fs::write(tmp.path().join(INDEX_FILE), "{garbage").unwrap();
        let mut c = Cache::open(tmp.path(), 1 << 20).unwrap();
        assert!(c.info(&d).is_some(), "adopted from the objects directory");

        std::fs::write(tmp.path().join("objects").join(d.as_str()), "tampered").unwrap();
        assert!(c.get(&d, t("2026-01-02T00:00:00Z")).unwrap().is_none());
        assert!(!tmp.path().join("objects").join(d.as_str()).exists());
        assert!(c.info(&d).is_none());
    }
}
