//! `publish`: upload every file under a directory as a content-addressed object
//! (`sha256/<hex>`), verify each one by reading it back, and only then record logical path →
//! digest in the manifest (or in a per-run fragment). Upload before record and verify before
//! record, so the manifest never names a missing or corrupt object.

use std::path::{Path, PathBuf};
use std::time::Duration;

use batch_base::clock::Clock;
use futures::{StreamExt as _, TryStreamExt as _};
use object_store::{Attribute, Attributes, PutMode};
use serde::Serialize;

use crate::backoff::ConflictRetry;
use crate::error::{Result, StoreError};
use crate::hash::Sha256Hex;
use crate::manifest::{Entry, Manifest, valid_run_id, validate_logical_path};
use crate::store::{FRAGMENTS_PREFIX, MANIFEST_KEY, Store};
use crate::update::{self, UpdateOutcome};

/// An existing object older than this is uploaded again instead of skipped, which renews its
/// `last_modified`. Garbage collection only deletes unreferenced objects older than its grace
/// window (days), so an old object that a publish is about to reference again is renewed
/// before the manifest names it.
pub const REFRESH_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Options of [`publish`].
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// First segments of every logical path; `None` means the directory's own name, so
    /// publishing `out/recipes` records `recipes/a/abc.toml`.
    pub logical_prefix: Option<String>,
    /// Write `manifests/fragments/<run-id>.json` instead of `manifest.json`.
    pub fragment: Option<String>,
    /// Platform recorded for every file (overrides the one inferred from the path).
    pub platform: Option<String>,
    /// Category recorded for every file (overrides the one inferred from the path).
    pub category: Option<String>,
    /// Retries of the manifest write.
    pub retry: ConflictRetry,
    /// Uploads in flight at once.
    pub concurrency: usize,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            logical_prefix: None,
            fragment: None,
            platform: None,
            category: None,
            retry: ConflictRetry::default(),
            concurrency: 8,
        }
    }
}

/// What happened to one file's object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectAction {
    /// The object was absent and was uploaded.
    Uploaded,
    /// The object existed with the right size and was recent: not uploaded again.
    Existed,
    /// The object existed but was older than [`REFRESH_AFTER`] or had the wrong size: uploaded
    /// again.
    Refreshed,
}

/// One published file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedFile {
    /// Logical path recorded in the manifest.
    pub path: String,
    /// Content digest.
    pub sha256: Sha256Hex,
    /// Size in bytes.
    pub size: u64,
    /// Upload decision.
    pub action: ObjectAction,
}

/// Result of [`publish`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// Files in logical-path order.
    pub files: Vec<PublishedFile>,
    /// The manifest (or fragment) write; `None` when there were no files.
    pub manifest: Option<UpdateOutcome>,
}

/// Recipe name, category and platform inferred from a logical path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMeta {
    /// `ripgrep` for `recipes/r/ripgrep.toml` or `golden/plans/r/ripgrep/v1-linux-x86_64.json`.
    pub recipe: Option<String>,
    /// `recipe` (`*.toml`), `golden` (under a `golden` directory), `validation`
    /// (`validation-results-*.json`).
    pub category: Option<String>,
    /// `linux-x86_64` from `validation-results-linux-x86_64.json` or a golden file named
    /// `…-linux-x86_64.json`.
    pub platform: Option<String>,
}

/// Infers [`PathMeta`] from the layout tsuku uses (`recipes/<letter>/<name>.toml`,
/// `testdata/golden/plans/<letter>/<name>/<version>-<os>-<arch>.json`,
/// `validation-results-<platform>.json`). Unknown layouts give `None`s.
pub fn classify(logical: &str) -> PathMeta {
    let segs: Vec<&str> = logical.split('/').collect();
    let file = segs.last().copied().unwrap_or_default();
    let (stem, ext) = file.rsplit_once('.').unwrap_or((file, ""));
    let platform_in = |s: &str| {
        ["linux-", "darwin-", "windows-"]
            .iter()
            .filter_map(|os| s.find(os))
            .min()
            .map(|i| s[i..].to_owned())
    };
    if let Some(p) = stem.strip_prefix("validation-results-") {
        return PathMeta {
            recipe: None,
            category: Some("validation".into()),
            platform: Some(p.to_owned()),
        };
    }
    if segs[..segs.len() - 1].contains(&"golden") {
        return PathMeta {
            recipe: (segs.len() >= 2).then(|| segs[segs.len() - 2].to_owned()),
            category: Some("golden".into()),
            platform: platform_in(stem),
        };
    }
    if ext == "toml" {
        return PathMeta {
            recipe: Some(stem.to_owned()),
            category: Some("recipe".into()),
            platform: None,
        };
    }
    PathMeta::default()
}

struct LocalFile {
    logical: String,
    path: PathBuf,
}

/// Lists the regular files under `dir` (symlinks to files included, temporary files of
/// `batch::fsutil` skipped) with their logical paths, sorted.
fn collect(dir: &Path, prefix: &str) -> Result<Vec<LocalFile>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), prefix.to_owned())];
    while let Some((d, logical_dir)) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| StoreError::io("list", &d, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| StoreError::io("list", &d, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(StoreError::InvalidLogicalPath {
                    path: entry.path().display().to_string(),
                    reason: "not valid UTF-8",
                });
            };
            if name.starts_with(batch_base::fs::TEMP_PREFIX) {
                continue;
            }
            let p = entry.path();
            let logical = if logical_dir.is_empty() {
                name.to_owned()
            } else {
                format!("{logical_dir}/{name}")
            };
            let meta = std::fs::metadata(&p).map_err(|e| StoreError::io("read", &p, e))?;
            if meta.is_dir() {
                stack.push((p, logical));
            } else if meta.is_file() {
                validate_logical_path(&logical)?;
                out.push(LocalFile { logical, path: p });
            }
        }
    }
    out.sort_by(|a, b| a.logical.cmp(&b.logical));
    Ok(out)
}

/// Uploads every file under `dir`, verifies each object, then records them in the manifest
/// (or the fragment named by [`PublishOptions::fragment`]). Entries whose content and metadata
/// are already recorded are left alone, so publishing the same directory twice writes no
/// manifest the second time.
///
/// # Errors
/// Local I/O; store errors and timeouts; [`StoreError::Corrupt`] when an object reads back
/// wrong (nothing is recorded then); [`StoreError::ManifestContention`]; an existing manifest
/// that does not parse; [`StoreError::InvalidRunId`]; [`StoreError::InvalidLogicalPath`] for
/// a file name that is not UTF-8.
pub async fn publish(
    store: &Store,
    dir: &Path,
    opts: &PublishOptions,
    clock: &dyn Clock,
) -> Result<PublishReport> {
    if let Some(id) = &opts.fragment
        && !valid_run_id(id)
    {
        return Err(StoreError::InvalidRunId { id: id.clone() });
    }
    let prefix = match &opts.logical_prefix {
        Some(p) => p.trim_matches('/').to_owned(),
        None => dir
            .canonicalize()
            .map_err(|e| StoreError::io("read", dir, e))?
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned(),
    };
    let files = collect(dir, &prefix)?;

    let published: Vec<PublishedFile> = futures::stream::iter(files.iter())
        .map(|f| upload_one(store, f, opts, clock))
        .buffered(opts.concurrency.max(1))
        .try_collect()
        .await?;
    if published.is_empty() {
        return Ok(PublishReport {
            files: published,
            manifest: None,
        });
    }

    // Every object is uploaded and verified; now record them.
    let now = clock.now();
    let mut incoming = Manifest::new(now);
    incoming.run_id = opts.fragment.clone();
    for f in &published {
        let meta = classify(&f.path);
        incoming.entries.insert(
            f.path.clone(),
            Entry {
                sha256: f.sha256.clone(),
                size: f.size,
                published_at: now,
                run_id: opts.fragment.clone(),
                recipe: meta.recipe,
                category: opts.category.clone().or(meta.category),
                platform: opts.platform.clone().or(meta.platform),
            },
        );
    }
    let key = match &opts.fragment {
        Some(id) => format!("{FRAGMENTS_PREFIX}{id}.json"),
        None => MANIFEST_KEY.to_owned(),
    };
    let outcome = update::update(store, &key, &opts.retry, |current| {
        let mut add = incoming.clone();
        if let Some(cur) = current {
            add.entries
                .retain(|path, e| !cur.entries.get(path).is_some_and(|c| c.same_content(e)));
        }
        if add.entries.is_empty() {
            return None;
        }
        let mut next = current.cloned().unwrap_or_else(|| Manifest::new(now));
        next.run_id = opts.fragment.clone();
        next.merge_from(&add);
        Some(next)
    })
    .await?;
    Ok(PublishReport {
        files: published,
        manifest: Some(outcome),
    })
}

async fn upload_one(
    store: &Store,
    f: &LocalFile,
    opts: &PublishOptions,
    clock: &dyn Clock,
) -> Result<PublishedFile> {
    let bytes = tokio::fs::read(&f.path)
        .await
        .map_err(|e| StoreError::io("read", &f.path, e))?;
    let digest = Sha256Hex::of(&bytes);
    let size = bytes.len() as u64;
    let key = Store::object_key(&digest);
    let action = match store.head(&key).await? {
        Some(info)
            if info.size == size
                && clock
                    .now()
                    .duration_since(info.last_modified)
                    .unsigned_abs()
                    < REFRESH_AFTER =>
        {
            ObjectAction::Existed
        }
        existing => {
            let mut attrs = Attributes::new();
            attrs.insert(
                Attribute::Metadata("sha256".into()),
                digest.to_string().into(),
            );
            attrs.insert(Attribute::Metadata("size".into()), size.to_string().into());
            // Header values must be visible ASCII; metadata is informative, the manifest is
            // the record, so a path that does not fit is simply not attached.
            let header_safe = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
            if header_safe(&f.logical) {
                attrs.insert(
                    Attribute::Metadata("logical-path".into()),
                    f.logical.clone().into(),
                );
            }
            let meta = classify(&f.logical);
            for (k, v) in [
                ("recipe", meta.recipe),
                ("category", opts.category.clone().or(meta.category)),
                ("platform", opts.platform.clone().or(meta.platform)),
            ] {
                if let Some(v) = v.filter(|v| header_safe(v)) {
                    attrs.insert(Attribute::Metadata(k.into()), v.into());
                }
            }
            store
                .put(&key, bytes.into(), PutMode::Overwrite, attrs)
                .await?;
            if existing.is_some() {
                ObjectAction::Refreshed
            } else {
                ObjectAction::Uploaded
            }
        }
    };
    verify_object(store, &digest, size).await?;
    tracing::debug!("{:?} {} -> {key}", action, f.logical);
    Ok(PublishedFile {
        path: f.logical.clone(),
        sha256: digest,
        size,
        action,
    })
}

/// Checks that `sha256/<digest>` exists with `size` bytes (HEAD), then reads it back and
/// hashes it; a `sha256` metadata attribute, when the backend returns one, must match too.
///
/// # Errors
/// [`StoreError::Corrupt`] on any mismatch or a missing object; store errors and timeouts.
pub async fn verify_object(store: &Store, digest: &Sha256Hex, size: u64) -> Result<()> {
    let key = Store::object_key(digest);
    let corrupt = |actual: String, actual_size: u64| StoreError::Corrupt {
        key: key.clone(),
        expected: digest.to_string(),
        expected_size: size,
        actual,
        actual_size,
    };
    let Some(head) = store.head(&key).await? else {
        return Err(corrupt("(missing)".into(), 0));
    };
    if head.size != size {
        return Err(corrupt("(not read)".into(), head.size));
    }
    let Some(got) = store.get(&key).await? else {
        return Err(corrupt("(missing)".into(), 0));
    };
    let actual = Sha256Hex::of(&got.bytes);
    let recorded = got
        .attributes
        .get(&Attribute::Metadata("sha256".into()))
        .map(|v| v.as_ref().to_owned());
    if actual != *digest || got.bytes.len() as u64 != size {
        return Err(corrupt(actual.to_string(), got.bytes.len() as u64));
    }
    if let Some(r) = recorded
        && r != digest.as_str()
    {
        return Err(corrupt(format!("{actual} (metadata says {r})"), size));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use batch_base::clock::FixedClock;

    use super::*;
    use crate::config::{Location, S3Settings, StoreConfig, Timeouts};

    #[test]
    fn classify_known_layouts() {
        assert_eq!(
            classify("recipes/r/ripgrep.toml"),
            PathMeta {
                recipe: Some("ripgrep".into()),
                category: Some("recipe".into()),
                platform: None
            }
        );
        assert_eq!(
            classify("testdata/golden/plans/r/ripgrep/v14.1.0-linux-x86_64.json"),
            PathMeta {
                recipe: Some("ripgrep".into()),
                category: Some("golden".into()),
                platform: Some("linux-x86_64".into())
            }
        );
        assert_eq!(
            classify("data/validation-results-darwin-arm64.json"),
            PathMeta {
                recipe: None,
                category: Some("validation".into()),
                platform: Some("darwin-arm64".into())
            }
        );
        assert_eq!(classify("data/batch-summary.md"), PathMeta::default());
    }

    fn local(dir: &Path) -> Store {
        Store::open(&StoreConfig {
            location: Location::Local {
                root: dir.to_path_buf(),
            },
            s3: S3Settings::default(),
            timeouts: Timeouts::default(),
        })
        .unwrap()
    }

    /// The local backend: upload, dedup on the second publish (no manifest write), refresh of
    /// an object older than a day, and a fragment for a run id.
    #[tokio::test]
    async fn local_publish_dedup_refresh_and_fragment() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("recipes");
        std::fs::create_dir_all(src.join("r")).unwrap();
        std::fs::write(src.join("r/ripgrep.toml"), "name = 'rg'\n").unwrap();
        std::fs::write(src.join("r/same.toml"), "name = 'rg'\n").unwrap();
        std::fs::write(src.join(".batch-tmp-x"), "torn").unwrap();
        let store = local(&tmp.path().join("store"));
        let clock = FixedClock::new("2026-11-24T10:00:00Z".parse().unwrap());

        let r = publish(&store, &src, &PublishOptions::default(), &clock)
            .await
            .unwrap();
        let paths: Vec<_> = r.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["recipes/r/ripgrep.toml", "recipes/r/same.toml"]);
        // Identical content: one object, uploaded once or found by the second upload.
        assert_eq!(r.files[0].sha256, r.files[1].sha256);
        assert!(r.manifest.as_ref().unwrap().written);
        let (m, _) = update::load(&store, MANIFEST_KEY).await.unwrap().unwrap();
        assert_eq!(
            m.entries["recipes/r/ripgrep.toml"].recipe.as_deref(),
            Some("ripgrep")
        );
        assert_eq!(store.list("sha256/").await.unwrap().len(), 1);

        // The local filesystem stamps objects with the real time; move our clock to "now"
        // so the just-written object counts as recent.
        clock.set(jiff::Timestamp::now());
        let again = publish(&store, &src, &PublishOptions::default(), &clock)
            .await
            .unwrap();
        assert!(
            again
                .files
                .iter()
                .all(|f| f.action == ObjectAction::Existed)
        );
        assert!(!again.manifest.unwrap().written, "nothing new to record");

        clock.set(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(25));
        let later = publish(&store, &src, &PublishOptions::default(), &clock)
            .await
            .unwrap();
        assert_eq!(later.files[0].action, ObjectAction::Refreshed);

        let frag = PublishOptions {
            fragment: Some("run-7".into()),
            ..PublishOptions::default()
        };
        let f = publish(&store, &src, &frag, &clock).await.unwrap();
        assert_eq!(f.manifest.unwrap().key, "manifests/fragments/run-7.json");
        let bad = PublishOptions {
            fragment: Some("../x".into()),
            ..PublishOptions::default()
        };
        assert!(publish(&store, &src, &bad, &clock).await.is_err());
    }
}
