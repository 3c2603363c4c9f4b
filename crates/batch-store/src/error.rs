//! The crate's error type. Every variant names what locates the problem (the store URL, the
//! object key, the local path, the logical path); the cause is kept as `#[source]`.

use std::path::PathBuf;
use std::time::Duration;

/// Errors of the artifact store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The `--store` value is not `s3://bucket[/prefix]`, `file://path` or a plain path.
    #[error("invalid store location `{url}`: {reason}")]
    InvalidLocation {
        /// The text given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An `s3://` store without both an access key id and a secret access key.
    #[error("no S3 credentials for `{url}` (need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")]
    MissingCredentials {
        /// The store URL.
        url: String,
    },

    /// The object_store client could not be built from the settings.
    #[error("failed to open store `{url}`")]
    Open {
        /// The store URL.
        url: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },

    /// A request to the store failed (network error, HTTP error, permission denied, …).
    #[error("store request {op} `{key}` failed")]
    Request {
        /// The operation: `GET`, `HEAD`, `PUT`, `LIST`, `DELETE`.
        op: &'static str,
        /// The object key, relative to the store prefix.
        key: String,
        /// The cause.
        #[source]
        source: object_store::Error,
    },

    /// A request or a whole operation did not finish in time.
    #[error("store request {op} `{key}` timed out after {}", humantime(*timeout))]
    Timeout {
        /// The operation.
        op: &'static str,
        /// The object key, relative to the store prefix.
        key: String,
        /// The limit that expired.
        timeout: Duration,
    },

    /// Bytes read back from the store (or the cache) do not match the recorded digest or size.
    #[error(
        "object `{key}` is corrupt: expected sha256 {expected} ({expected_size} bytes), got sha256 {actual} ({actual_size} bytes)"
    )]
    Corrupt {
        /// The object key (or cache path).
        key: String,
        /// The digest recorded in the manifest or derived from the key.
        expected: String,
        /// The size recorded in the manifest.
        expected_size: u64,
        /// The digest of the bytes received.
        actual: String,
        /// The number of bytes received.
        actual_size: u64,
    },

    /// A manifest (or fragment) is not valid JSON of the manifest shape.
    #[error("failed to parse manifest `{key}`")]
    ManifestParse {
        /// The manifest key, or the local path of a cached copy.
        key: String,
        /// The cause, with line and column.
        #[source]
        source: serde_json::Error,
    },

    /// A manifest parses but breaks a rule (schema version, logical path, digest).
    #[error("manifest `{key}` is invalid: {reason}")]
    ManifestInvalid {
        /// The manifest key.
        key: String,
        /// The rule broken, with the offending path.
        reason: String,
    },

    /// A manifest that must exist (a `gc --keep-manifest`, the one `fetch` reads) does not.
    #[error("manifest `{key}` does not exist in the store")]
    ManifestMissing {
        /// The manifest key.
        key: String,
    },

    /// Every conditional PUT of the manifest lost to another writer.
    #[error("manifest `{key}` kept changing under us: gave up after {attempts} attempts")]
    ManifestContention {
        /// The manifest key.
        key: String,
        /// Attempts made (the retry limit).
        attempts: u32,
    },

    /// A logical path that would leave the output directory or is not a plain relative path.
    #[error("invalid logical path `{path}`: {reason}")]
    InvalidLogicalPath {
        /// The path.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A `--fragment` run id that cannot be part of a key.
    #[error("invalid run id `{id}`: use 1 to 128 of [A-Za-z0-9._-], not starting with `.` or `-`")]
    InvalidRunId {
        /// The id given.
        id: String,
    },

    /// `fetch` was asked for a logical path the manifest does not list.
    #[error("`{path}` is not in manifest `{key}`")]
    NotInManifest {
        /// The logical path asked for.
        path: String,
        /// The manifest key.
        key: String,
    },

    /// The store could not be reached and the cache has no copy to fall back on.
    #[error("`{what}` is not in the cache `{}` and the store is unreachable", dir.display())]
    NotCached {
        /// The logical path or manifest.
        what: String,
        /// The cache directory.
        dir: PathBuf,
        /// Why the store could not be used.
        #[source]
        source: Box<StoreError>,
    },

    /// A local file or directory could not be read or written.
    #[error("failed to {action} `{}`", path.display())]
    Io {
        /// `read`, `write`, `list`, `remove`, `create`.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    /// True when the error means the store could not be reached or did not answer: a request
    /// that failed below HTTP semantics, or a timeout. Corrupt data, bad manifests, missing
    /// objects and local I/O errors are not "unreachable". `fetch` falls back to its cache on
    /// these; the CLI maps them to exit code 4.
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::NotCached { .. } => true,
            Self::Request { source, .. } => !matches!(
                source,
                object_store::Error::NotFound { .. }
                    | object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. }
                    | object_store::Error::NotModified { .. }
                    | object_store::Error::InvalidPath { .. }
            ),
            _ => false,
        }
    }

    /// True for a `NotFound` answer from the store.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Request {
                source: object_store::Error::NotFound { .. },
                ..
            }
        )
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Formats a duration the way the CLI reads them (`30s`, `1m 30s`, `250ms`).
pub fn humantime(d: Duration) -> String {
    let Ok(sd) = jiff::SignedDuration::try_from(d) else {
        return format!("{d:?}");
    };
    format!("{sd:#}")
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
