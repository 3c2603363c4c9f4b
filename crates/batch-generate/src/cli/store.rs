//! Arguments of `publish`, `fetch` and `store health|consolidate|gc` (issue #7).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use batch_store::cache::DEFAULT_MAX_BYTES;
use batch_store::store::MANIFEST_KEY;
use batch_store::{Location, S3Settings, StoreConfig, Timeouts};
use clap::{Args, Subcommand};

use super::common::JsonArgs;
use super::parse::{parse_duration, parse_grace};
use crate::error::Hint;

/// Where the store is and how long a request may take. The S3 credentials, region and
/// endpoint come from the standard AWS variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL`); the flags below override all but the secrets.
#[derive(Debug, Args)]
#[command(next_help_heading = "Store")]
pub struct StoreArgs {
    /// The store: s3://BUCKET[/PREFIX] (Cloudflare R2, AWS S3 or any S3-compatible
    /// endpoint), file:///DIR or a plain directory.
    #[arg(long, env = "BATCH_STORE", value_name = "URL")]
    pub store: String,

    /// S3 endpoint, e.g. https://ACCOUNT.r2.cloudflarestorage.com [default: $AWS_ENDPOINT_URL,
    /// else AWS S3].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Region [default: $AWS_REGION, then $AWS_DEFAULT_REGION, then us-east-1, which R2
    /// accepts].
    #[arg(long)]
    pub region: Option<String>,

    /// Access key id [default: $AWS_ACCESS_KEY_ID]. The secret key and session token are
    /// read only from AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN: a command line is visible
    /// to every local user.
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,

    /// Limit of one HTTP request, body included [default: 30s; 10s for `store health`].
    #[arg(long, env = "BATCH_STORE_REQUEST_TIMEOUT", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,

    /// Limit of establishing one connection.
    #[arg(long, env = "BATCH_STORE_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

impl StoreArgs {
    /// The library configuration: flags over the AWS environment read through `env`.
    ///
    /// # Errors
    /// An invalid `--store` value.
    pub fn to_config(
        &self,
        env: impl Fn(&str) -> Option<String>,
        default_request: Duration,
    ) -> anyhow::Result<StoreConfig> {
        let location = Location::parse(&self.store).context(Hint(
            "use --store s3://BUCKET/PREFIX, file:///DIR or a directory (or set BATCH_STORE)",
        ))?;
        let mut s3 = S3Settings::from_env(env);
        if let Some(e) = &self.endpoint {
            s3.endpoint = Some(e.clone());
        }
        if let Some(r) = &self.region {
            s3.region = Some(r.clone());
        }
        if let Some(k) = &self.access_key_id {
            s3.access_key_id = Some(k.clone());
        }
        let request = self.request_timeout.unwrap_or(default_request);
        Ok(StoreConfig {
            location,
            s3,
            timeouts: Timeouts {
                request,
                connect: self.connect_timeout,
                // One call may retry a transient failure once or twice within this.
                call: request.saturating_mul(2),
            },
        })
    }
}

/// Flags of `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Directory whose files (recursively) are published.
    pub dir: PathBuf,

    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Record into manifests/fragments/RUN_ID.json instead of manifest.json (one per matrix
    /// job; `store consolidate` merges them).
    #[arg(
        long,
        env = "BATCH_STORE_FRAGMENT",
        value_name = "RUN_ID",
        help_heading = "Publish"
    )]
    pub fragment: Option<String>,

    /// First segments of the logical paths [default: the directory's own name, so `publish
    /// out/recipes` records recipes/a/abc.toml].
    #[arg(long, value_name = "PREFIX", help_heading = "Publish")]
    pub logical_prefix: Option<String>,

    /// Platform recorded for every file [default: inferred from the path, e.g.
    /// validation-results-linux-x86_64.json].
    #[arg(long, help_heading = "Publish")]
    pub platform: Option<String>,

    /// Category recorded for every file [default: recipe for *.toml, golden under a golden/
    /// directory, validation for validation-results-*.json].
    #[arg(long, help_heading = "Publish")]
    pub category: Option<String>,

    /// Attempts of the conditional manifest write when other publishers win the race
    /// (jittered exponential backoff between them, 100ms doubling up to 5s).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Publish")]
    pub max_attempts: u32,

    /// Limit of the whole publish.
    #[arg(long, env = "BATCH_STORE_TIMEOUT", default_value = "10m", value_parser = parse_duration, help_heading = "Publish")]
    pub timeout: Duration,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// Flags of `fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Logical paths to fetch, as recorded by `publish` (e.g. recipes/r/ripgrep.toml).
    #[arg(required = true, value_name = "LOGICAL_PATH")]
    pub paths: Vec<String>,

    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Directory the files are written under (OUT/LOGICAL_PATH).
    #[arg(long, value_name = "DIR", help_heading = "Fetch")]
    pub out: PathBuf,

    /// Download cache (verified copies, the last manifest seen, access times).
    #[arg(
        long,
        env = "BATCH_STORE_CACHE_DIR",
        value_name = "DIR",
        help_heading = "Fetch"
    )]
    pub cache_dir: PathBuf,

    /// Byte budget of the cache; least recently used copies are evicted past it.
    #[arg(long, env = "BATCH_STORE_CACHE_MAX_BYTES", default_value_t = DEFAULT_MAX_BYTES, help_heading = "Fetch")]
    pub cache_max_bytes: u64,

    /// Manifest that maps logical paths to contents.
    #[arg(long, default_value = MANIFEST_KEY, value_name = "KEY", help_heading = "Fetch")]
    pub manifest: String,

    /// Limit of all store requests together; when it expires (or the store errors) the
    /// cached copies are used, with a warning stating their age.
    #[arg(long, env = "BATCH_STORE_FETCH_TIMEOUT", default_value = "60s", value_parser = parse_duration, help_heading = "Fetch")]
    pub timeout: Duration,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// `store` and its subcommands.
#[derive(Debug, Args)]
pub struct StoreCmdArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// Subcommands of `store`.
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Probe the store within a time limit. Exit 0 when healthy, 4 when unreachable; writes
    /// healthy=true|false and reason=… to $GITHUB_OUTPUT when set, so a workflow can skip
    /// the store steps with a warning.
    Health(HealthArgs),
    /// Merge every manifests/fragments/*.json into manifest.json (latest published_at wins
    /// per logical path; same bytes in any order; no write when nothing changes).
    Consolidate(ConsolidateArgs),
    /// Delete sha256/ objects referenced by none of the kept manifests (nor by pending
    /// fragments) and older than the grace window.
    Gc(GcArgs),
}

/// Flags of `store health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Limit of the whole probe, retries included.
    #[arg(long, env = "BATCH_STORE_HEALTH_TIMEOUT", default_value = "30s", value_parser = parse_duration, help_heading = "Health")]
    pub timeout: Duration,

    /// Probe requests at most (1 s apart).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Health")]
    pub attempts: u32,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// Flags of `store consolidate`.
#[derive(Debug, Args)]
pub struct ConsolidateArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Delete each fragment once merged (only if it did not change meanwhile).
    #[arg(long, help_heading = "Consolidate")]
    pub prune: bool,

    /// Attempts of the conditional manifest write.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Consolidate")]
    pub max_attempts: u32,

    /// Limit of the whole consolidation.
    #[arg(long, env = "BATCH_STORE_TIMEOUT", default_value = "10m", value_parser = parse_duration, help_heading = "Consolidate")]
    pub timeout: Duration,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// Flags of `store gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,

    /// Manifest whose references are kept (repeatable), e.g. manifest.json. Nothing is
    /// deleted if any of them fails to load.
    #[arg(
        long = "keep-manifest",
        value_name = "KEY",
        required = true,
        help_heading = "GC"
    )]
    pub keep_manifests: Vec<String>,

    /// Objects modified more recently than this are kept (e.g. 90d, 36h).
    #[arg(long, default_value = "90d", value_parser = parse_grace, help_heading = "GC")]
    pub grace: Duration,

    /// Do not keep what pending fragments (manifests/fragments/*.json) reference.
    #[arg(long, help_heading = "GC")]
    pub ignore_fragments: bool,

    /// List what would be deleted; delete nothing.
    #[arg(long, help_heading = "GC")]
    pub dry_run: bool,

    /// Limit of the whole collection.
    #[arg(long, env = "BATCH_STORE_TIMEOUT", default_value = "30m", value_parser = parse_duration, help_heading = "GC")]
    pub timeout: Duration,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}
