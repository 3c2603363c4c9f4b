//! Where the store is and how to talk to it: the location (`s3://bucket/prefix`, `file://` or a
//! plain path), S3 settings read from the standard AWS environment variables, and request
//! timeouts. Secrets never appear in `Debug` output or messages.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Result, StoreError};

/// Environment variables read by [`S3Settings::from_env`], in the order they are consulted.
/// `AWS_REGION` wins over `AWS_DEFAULT_REGION`.
pub const ENV_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
];

/// Region used when neither a flag nor `AWS_REGION`/`AWS_DEFAULT_REGION` sets one. Cloudflare
/// R2 accepts it as an alias of its `auto` region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A parsed `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket[/prefix]`: an S3-compatible bucket (AWS S3, Cloudflare R2, moto, MinIO).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix without leading or trailing `/` (empty for the bucket root).
        prefix: String,
    },
    /// `file:///abs/dir` or a plain path: a directory used as the store (dry runs, tests). Its
    /// conditional PUTs are emulated (see [`crate::store::Capabilities::conditional_update`]).
    Local {
        /// The directory.
        root: PathBuf,
    },
}

impl Location {
    /// Parses `s3://bucket[/prefix]`, `file:///dir` or a plain path.
    ///
    /// # Errors
    /// [`StoreError::InvalidLocation`] for another scheme, an empty bucket, or a prefix with
    /// an empty, `.` or `..` segment.
    pub fn parse(s: &str) -> Result<Self> {
        let invalid = |reason: &str| StoreError::InvalidLocation {
            url: s.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid("the bucket name is empty"));
            }
            let prefix = prefix.trim_matches('/');
            if !prefix.is_empty()
                && prefix
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
            {
                return Err(invalid("the prefix has an empty, `.` or `..` segment"));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        if let Some(rest) = s.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(invalid(
                    "a file:// URL needs an absolute path (file:///dir)",
                ));
            }
            return Ok(Self::Local {
                root: PathBuf::from(rest),
            });
        }
        if s.contains("://") {
            return Err(invalid(
                "use s3://bucket/prefix, file:///dir or a plain path",
            ));
        }
        if s.is_empty() {
            return Err(invalid("empty"));
        }
        Ok(Self::Local {
            root: PathBuf::from(s),
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Self::Local { root } => write!(f, "{}", root.display()),
        }
    }
}

/// A secret string (secret access key, session token). `Debug` prints `******`, and there is
/// no `Display`, so it cannot end up in a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; only the S3 client builder calls this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("******")
    }
}

/// Settings of an S3-compatible endpoint. Every field is optional here; [`crate::Store::open`]
/// requires credentials for an `s3://` location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// Endpoint URL, e.g. `https://<account>.r2.cloudflarestorage.com` or
    /// `http://127.0.0.1:5000`. `None` means AWS S3 itself. An `http://` endpoint is allowed.
    pub endpoint: Option<String>,
    /// Region; [`DEFAULT_REGION`] when `None`.
    pub region: Option<String>,
    /// Access key id (not secret; printed in `Debug`).
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<Secret>,
    /// Session token of temporary credentials.
    pub session_token: Option<Secret>,
}

impl S3Settings {
    /// Reads [`ENV_VARS`] through `get` (`std::env::var(..).ok()` in the binary, a map in
    /// tests). Empty values count as unset.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).filter(|v| !v.is_empty());
        Self {
            endpoint: get("AWS_ENDPOINT_URL"),
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret),
            session_token: get("AWS_SESSION_TOKEN").map(Secret),
        }
    }
}

/// Time limits of store requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Limit of one HTTP request, body included (object_store `ClientOptions::timeout`).
    pub request: Duration,
    /// Limit of establishing a connection (`ClientOptions::connect_timeout`).
    pub connect: Duration,
    /// Limit of one store call including object_store's own retries, enforced with
    /// `tokio::time::timeout`.
    pub call: Duration,
}

impl Default for Timeouts {
    /// 30 s per request, 5 s to connect, 60 s per call.
    fn default() -> Self {
        Self {
            request: Duration::from_secs(30),
            connect: Duration::from_secs(5),
            call: Duration::from_secs(60),
        }
    }
}

/// Everything needed to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Where the store is.
    pub location: Location,
    /// S3 settings (ignored for a local store).
    pub s3: S3Settings,
    /// Request time limits.
    pub timeouts: Timeouts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("s3://bkt/a/b/").unwrap(),
            Location::S3 {
                bucket: "bkt".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            Location::parse("s3://bkt").unwrap(),
            Location::S3 {
                bucket: "bkt".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap(),
            Location::Local {
                root: "/tmp/x".into()
            }
        );
        assert_eq!(
            Location::parse("out/store").unwrap(),
            Location::Local {
                root: "out/store".into()
            }
        );
        for bad in [
            "s3://",
            "s3:///x",
            "s3://b/a//c",
            "s3://b/../x",
            "gs://b",
            "file://rel",
            "",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Location::parse("s3://b/p/").unwrap().to_string(),
            "s3://b/p"
        );
    }

    #[test]
    fn env_and_debug_hide_secrets() {
        let env = [
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
            ("AWS_SESSION_TOKEN", "very-secret-token"),
            ("AWS_DEFAULT_REGION", "auto"),
            ("AWS_ENDPOINT_URL", ""),
        ];
        let s = S3Settings::from_env(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        });
        assert_eq!(s.region.as_deref(), Some("auto"));
        assert_eq!(s.endpoint, None, "an empty variable counts as unset");
        assert_eq!(
            s.secret_access_key.as_ref().unwrap().expose(),
            "very-secret-key"
        );
        let dbg = format!(
            "{:?}",
            StoreConfig {
                location: Location::parse("s3://b").unwrap(),
                s3: s,
                timeouts: Timeouts::default()
            }
        );
        assert!(dbg.contains("AKIAEXAMPLE"), "{dbg}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
    }
}
