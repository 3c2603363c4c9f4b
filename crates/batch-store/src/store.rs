//! [`Store`]: one object_store backend (S3-compatible or local directory) under a key prefix,
//! with every call bounded by a timeout and every error naming its operation and key. Keys
//! passed in and out are relative to the prefix (`manifest.json`, `sha256/<hex>`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt as _;
use jiff::Timestamp;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{
    Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt as _, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};

use crate::config::{DEFAULT_REGION, Location, StoreConfig, Timeouts};
use crate::error::{Result, StoreError};
use crate::hash::Sha256Hex;

/// Key of the consolidated manifest, relative to the store prefix.
pub const MANIFEST_KEY: &str = "manifest.json";
/// Prefix of per-run manifest fragments (`manifests/fragments/<run-id>.json`).
pub const FRAGMENTS_PREFIX: &str = "manifests/fragments/";
/// Prefix of content-addressed objects (`sha256/<hex>`).
pub const OBJECTS_PREFIX: &str = "sha256/";

/// Retries object_store makes itself for one call (transient 5xx, connection resets); the
/// call as a whole is still bounded by [`Timeouts::call`].
const CLIENT_RETRIES: usize = 2;

/// What a backend can do beyond plain GET/PUT/LIST/DELETE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// `PUT` with `If-Match` (compare-and-swap on the ETag). S3 with
    /// `S3ConditionalPut::ETagMatch` (R2, moto, MinIO, AWS since 2024) and object_store's
    /// in-memory store have it; the local filesystem does not.
    pub conditional_update: bool,
    /// User metadata (`x-amz-meta-*`) on objects. The local filesystem has none.
    pub metadata: bool,
}

/// One object found by [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key relative to the store prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time reported by the store.
    pub last_modified: Timestamp,
}

/// An object read by [`Store::get`].
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// Version to pass to a conditional PUT ([`PutMode::Update`]).
    pub version: UpdateVersion,
    /// User metadata and other attributes returned with the object.
    pub attributes: Attributes,
    /// Last modification time.
    pub last_modified: Timestamp,
}

/// An artifact store: an object_store backend under a prefix, with time limits.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: String,
    prefix: String,
    caps: Capabilities,
    timeouts: Timeouts,
}

impl Store {
    /// Opens the store `config` describes. An `s3://` location needs credentials
    /// (refusing instead of falling back to the EC2 metadata endpoint); conditional PUT is
    /// enabled (`S3ConditionalPut::ETagMatch`); an `http://` endpoint is allowed. A local
    /// directory is created if missing.
    ///
    /// # Errors
    /// [`StoreError::MissingCredentials`], [`StoreError::Open`] (bad endpoint or settings),
    /// [`StoreError::Io`] (local directory).
    pub fn open(config: &StoreConfig) -> Result<Self> {
        let url = config.location.to_string();
        let t = config.timeouts;
        match &config.location {
            Location::S3 { bucket, prefix } => {
                let s3 = &config.s3;
                let (Some(key_id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key)
                else {
                    return Err(StoreError::MissingCredentials { url });
                };
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(s3.region.as_deref().unwrap_or(DEFAULT_REGION))
                    .with_access_key_id(key_id)
                    .with_secret_access_key(secret.expose())
                    .with_conditional_put(S3ConditionalPut::ETagMatch)
                    .with_client_options(
                        ClientOptions::new()
                            .with_timeout(t.request)
                            .with_connect_timeout(t.connect),
                    )
                    .with_retry(RetryConfig {
                        backoff: BackoffConfig::default(),
                        max_retries: CLIENT_RETRIES,
                        retry_timeout: t.call,
                    });
                if let Some(token) = &s3.session_token {
                    b = b.with_token(token.expose());
                }
                if let Some(ep) = &s3.endpoint {
                    b = b
                        .with_endpoint(ep)
                        .with_allow_http(ep.starts_with("http://"));
                }
                let inner = b.build().map_err(|source| StoreError::Open {
                    url: url.clone(),
                    source,
                })?;
                let shown = match &s3.endpoint {
                    Some(ep) => format!("{url} (endpoint {ep})"),
                    None => url,
                };
                Ok(Self::from_object_store(
                    Arc::new(inner),
                    shown,
                    prefix,
                    Capabilities {
                        conditional_update: true,
                        metadata: true,
                    },
                    t,
                ))
            }
            Location::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| StoreError::io("create", root.clone(), e))?;
                let inner =
                    LocalFileSystem::new_with_prefix(root).map_err(|source| StoreError::Open {
                        url: url.clone(),
                        source,
                    })?;
                Ok(Self::from_object_store(
                    Arc::new(inner),
                    url,
                    "",
                    Capabilities {
                        conditional_update: false,
                        metadata: false,
                    },
                    t,
                ))
            }
        }
    }

    /// Wraps any object_store backend (tests use `InMemory` or a fault-injecting wrapper).
    /// `url` is shown in messages; `prefix` is prepended to every key.
    pub fn from_object_store(
        inner: Arc<dyn ObjectStore>,
        url: impl Into<String>,
        prefix: &str,
        caps: Capabilities,
        timeouts: Timeouts,
    ) -> Self {
        Self {
            inner,
            url: url.into(),
            prefix: prefix.trim_matches('/').to_owned(),
            caps,
            timeouts,
        }
    }

    /// The store as shown in messages (`s3://bucket/prefix (endpoint …)` or a directory).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the backend supports.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    /// The time limits in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The key of the object holding content `digest`: `sha256/<hex>`.
    pub fn object_key(digest: &Sha256Hex) -> String {
        format!("{OBJECTS_PREFIX}{digest}")
    }

    fn path(&self, key: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(key)
        } else {
            ObjPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn relative(&self, p: &ObjPath) -> String {
        let s = p.as_ref();
        if self.prefix.is_empty() {
            s.to_owned()
        } else {
            s.strip_prefix(&self.prefix)
                .map(|r| r.trim_start_matches('/').to_owned())
                .unwrap_or_else(|| s.to_owned())
        }
    }

    async fn bounded<T>(
        &self,
        op: &'static str,
        key: &str,
        fut: impl Future<Output = std::result::Result<T, object_store::Error>>,
    ) -> Result<T> {
        bounded(self.timeouts.call, op, key, fut).await
    }

    /// Size and time of `key`, `None` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError::Request`] or [`StoreError::Timeout`].
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>> {
        let p = self.path(key);
        match self.bounded("HEAD", key, self.inner.head(&p)).await {
            Ok(m) => Ok(Some(ObjectInfo {
                key: key.to_owned(),
                size: m.size,
                last_modified: to_timestamp(m.last_modified),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The object at `key` with its version and attributes, `None` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError::Request`] or [`StoreError::Timeout`] (the body read included).
    pub async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        let p = self.path(key);
        let fut = async {
            let r = self.inner.get(&p).await?;
            let version = UpdateVersion {
                e_tag: r.meta.e_tag.clone(),
                version: r.meta.version.clone(),
            };
            let attributes = r.attributes.clone();
            let last_modified = to_timestamp(r.meta.last_modified);
            let bytes = r.bytes().await?;
            Ok(Fetched {
                bytes,
                version,
                attributes,
                last_modified,
            })
        };
        match self.bounded("GET", key, fut).await {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `bytes` to `key` with `mode`. Attributes are dropped when the backend has no
    /// metadata ([`Capabilities::metadata`]). On a backend without conditional update,
    /// [`PutMode::Update`] degrades to an overwrite (single-writer stores only).
    ///
    /// # Errors
    /// [`StoreError::Request`] whose source is `Precondition` (ETag changed), `AlreadyExists`
    /// (create lost) or `NotFound` (updated object deleted) when a condition fails; other
    /// request errors; [`StoreError::Timeout`].
    pub async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        mode: PutMode,
        attributes: Attributes,
    ) -> Result<object_store::PutResult> {
        let p = self.path(key);
        let mode = match mode {
            PutMode::Update(_) if !self.caps.conditional_update => PutMode::Overwrite,
            m => m,
        };
        let opts = PutOptions {
            mode,
            attributes: if self.caps.metadata {
                attributes
            } else {
                Attributes::new()
            },
            ..PutOptions::default()
        };
        self.bounded(
            "PUT",
            key,
            self.inner.put_opts(&p, PutPayload::from(bytes), opts),
        )
        .await
    }

    /// Every object under `key_prefix` (e.g. `sha256/`), sorted by key.
    ///
    /// # Errors
    /// [`StoreError::Request`] or [`StoreError::Timeout`] (the whole listing is one call).
    pub async fn list(&self, key_prefix: &str) -> Result<Vec<ObjectInfo>> {
        let p = self.path(key_prefix.trim_end_matches('/'));
        let fut = self.inner.list(Some(&p)).try_collect::<Vec<_>>();
        let metas = self.bounded("LIST", key_prefix, fut).await?;
        let mut out: Vec<ObjectInfo> = metas
            .into_iter()
            .map(|m| ObjectInfo {
                key: self.relative(&m.location),
                size: m.size,
                last_modified: to_timestamp(m.last_modified),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// One cheap round trip that needs the bucket to exist and the credentials to be
    /// accepted: a delimited listing of the prefix (at most one page).
    ///
    /// # Errors
    /// [`StoreError::Request`] or [`StoreError::Timeout`].
    pub async fn ping(&self) -> Result<()> {
        let p = self.path("");
        let prefix = (!self.prefix.is_empty()).then_some(&p);
        let shown = if self.prefix.is_empty() {
            "/".to_owned()
        } else {
            format!("{}/", self.prefix)
        };
        self.bounded("LIST", &shown, self.inner.list_with_delimiter(prefix))
            .await
            .map(|_| ())
    }

    /// Deletes `key` (deleting a missing key is not an error).
    ///
    /// # Errors
    /// [`StoreError::Request`] or [`StoreError::Timeout`].
    pub async fn delete(&self, key: &str) -> Result<()> {
        let p = self.path(key);
        match self.bounded("DELETE", key, self.inner.delete(&p)).await {
            Err(e) if e.is_not_found() => Ok(()),
            r => r,
        }
    }
}

/// Runs one object_store call under `limit`, mapping its error to [`StoreError`].
async fn bounded<T>(
    limit: Duration,
    op: &'static str,
    key: &str,
    fut: impl Future<Output = std::result::Result<T, object_store::Error>>,
) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(StoreError::Request {
            op,
            key: key.to_owned(),
            source,
        }),
        Err(_) => Err(StoreError::Timeout {
            op,
            key: key.to_owned(),
            timeout: limit,
        }),
    }
}

/// object_store reports times as `chrono::DateTime<Utc>`; the workspace uses jiff.
fn to_timestamp(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
    let nanos = i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0);
    Timestamp::new(t.timestamp(), nanos).unwrap_or(Timestamp::UNIX_EPOCH)
}
