//! `publish`, `fetch` and `store health|consolidate|gc` (issue #7): the command-line side of
//! the `batch-store` library. Flags and environment become a [`batch_store::StoreConfig`];
//! reports are printed as text or one JSON document; a store that cannot be reached exits
//! with [`exit::STORE_UNREACHABLE`] so a workflow can tell it from bad data.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use batch_base::clock::SystemClock;
use batch_store::backoff::RetryPolicy;
use batch_store::cache::{Cache, DEFAULT_MAX_BYTES};
use batch_store::fetch::{FetchOptions, Source, age};
use batch_store::gc::GcOptions;
use batch_store::health::HealthOptions;
use batch_store::publish::{ObjectAction, PublishOptions};
use batch_store::store::MANIFEST_KEY;
use batch_store::{Location, S3Settings, Store, StoreConfig, StoreError, Timeouts};
use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};

use crate::cli::parse_duration;
use crate::error::Hint;
use crate::exit;

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

    fn open(&self, default_request: Duration) -> anyhow::Result<Store> {
        let config = self.to_config(|k| std::env::var(k).ok(), default_request)?;
        Store::open(&config).map_err(with_hint)
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

    /// Print one JSON document on stdout.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Publish")]
    pub json: bool,
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

    /// Print one JSON document on stdout.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Fetch")]
    pub json: bool,
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

    /// Print one JSON document on stdout.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Health")]
    pub json: bool,
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

    /// Print one JSON document on stdout.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Consolidate")]
    pub json: bool,
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

    /// Print one JSON document on stdout.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "GC")]
    pub json: bool,
}

/// Parses a grace window: anything [`parse_duration`] accepts, plus days and weeks
/// (`90d`, `2w`, `1d 12h`; a day is 24 hours).
///
/// # Errors
/// A message for clap.
pub fn parse_grace(s: &str) -> Result<Duration, String> {
    if let Ok(d) = parse_duration(s) {
        return Ok(d);
    }
    let span: jiff::Span = s
        .trim()
        .parse()
        .map_err(|e| format!("invalid duration {s:?} (use e.g. 90d, 36h): {e}"))?;
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("invalid duration {s:?} (use days, hours, minutes): {e}"))?;
    Duration::try_from(d).map_err(|_| format!("duration {s:?} must not be negative"))
}

const DEFAULT_REQUEST: Duration = Duration::from_secs(30);
const HEALTH_REQUEST: Duration = Duration::from_secs(10);

/// Runs a whole operation under `limit`.
async fn limited<T>(
    limit: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(StoreError::Timeout {
            op: what,
            key: String::new(),
            timeout: limit,
        }),
    }
}

/// Adds the hint that fits a store error.
fn with_hint(e: StoreError) -> anyhow::Error {
    let hint = match &e {
        StoreError::MissingCredentials { .. } => Some(
            "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for R2: the S3 credentials of an API token) and AWS_ENDPOINT_URL",
        ),
        StoreError::Corrupt { .. } => Some(
            "the store's bytes do not match the manifest; nothing was written. Publish the file again to replace the object",
        ),
        StoreError::ManifestParse { .. } | StoreError::ManifestInvalid { .. } => Some(
            "the manifest is damaged and was left untouched; nothing was written or deleted. Restore it (bucket versioning) or re-publish",
        ),
        StoreError::ManifestMissing { .. } => {
            Some("check the key (relative to the --store prefix); nothing was deleted")
        }
        StoreError::ManifestContention { .. } => Some(
            "too many publishers at once: raise --max-attempts, or publish with --fragment RUN_ID per job and run `store consolidate` once",
        ),
        StoreError::NotInManifest { .. } => Some(
            "list the manifest's logical paths; they start with the published directory's name",
        ),
        e if e.is_unreachable() => Some(
            "check the endpoint, bucket and credentials, and run `batch-generate store health`",
        ),
        _ => None,
    };
    match hint {
        Some(h) => anyhow::Error::new(e).context(Hint(h)),
        None => anyhow::Error::new(e),
    }
}

/// Maps an error to its exit: an unreachable store is printed here and exits
/// [`exit::STORE_UNREACHABLE`]; anything else goes back to the caller (exit 1).
fn finish(r: anyhow::Result<i32>) -> anyhow::Result<i32> {
    match r {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<StoreError>()
                    .is_some_and(StoreError::is_unreachable)
            }) =>
        {
            eprint!("{}", crate::error::render(&e));
            Ok(exit::STORE_UNREACHABLE)
        }
        r => r,
    }
}

fn print_json(v: serde_json::Result<serde_json::Value>) {
    let v = v.expect("reports serialise");
    println!(
        "{}",
        serde_json::to_string_pretty(&v).expect("JSON values serialise")
    );
}

fn size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    }
}

/// Runs `publish`; returns the exit code.
///
/// # Errors
/// Local I/O, corrupt uploads, a damaged manifest (exit 1); an unreachable store is exit 4.
pub async fn publish(args: &PublishArgs) -> anyhow::Result<i32> {
    finish(
        async {
            let store = args.store.open(DEFAULT_REQUEST)?;
            let opts = PublishOptions {
                logical_prefix: args.logical_prefix.clone(),
                fragment: args.fragment.clone(),
                platform: args.platform.clone(),
                category: args.category.clone(),
                retry: RetryPolicy {
                    max_attempts: args.max_attempts,
                    ..RetryPolicy::default()
                },
                ..PublishOptions::default()
            };
            let report = limited(
                args.timeout,
                "publish",
                batch_store::publish::publish(&store, &args.dir, &opts, &SystemClock),
            )
            .await
            .map_err(with_hint)?;
            if args.json {
                print_json(serde_json::to_value(&report));
                return Ok(exit::SUCCESS);
            }
            let mut out = String::new();
            for f in &report.files {
                let action = match f.action {
                    ObjectAction::Uploaded => "uploaded",
                    ObjectAction::Existed => "present ",
                    ObjectAction::Refreshed => "renewed ",
                };
                let _ = writeln!(
                    out,
                    "{action} {} (sha256 {}, {})",
                    f.path,
                    f.sha256.short(),
                    size(f.size)
                );
            }
            let uploaded = report
                .files
                .iter()
                .filter(|f| f.action != ObjectAction::Existed)
                .count();
            let _ = write!(
                out,
                "Published {} file(s) to {}: {uploaded} uploaded, {} already present",
                report.files.len(),
                store.url(),
                report.files.len() - uploaded
            );
            match &report.manifest {
                None => out.push_str("; nothing to record\n"),
                Some(m) if m.written => {
                    let _ = writeln!(
                        out,
                        "; `{}` updated (attempt {}, {} conflict(s) retried)",
                        m.key, m.attempts, m.conflicts
                    );
                }
                Some(m) => {
                    let _ = writeln!(out, "; `{}` already up to date", m.key);
                }
            }
            print!("{out}");
            Ok(exit::SUCCESS)
        }
        .await,
    )
}

/// Runs `fetch`; returns the exit code.
///
/// # Errors
/// Corrupt data, unknown logical paths, a damaged manifest, local I/O (exit 1); an
/// unreachable store without a cached copy is exit 4.
pub async fn fetch(args: &FetchArgs) -> anyhow::Result<i32> {
    finish(
        async {
            let store = args.store.open(DEFAULT_REQUEST)?;
            let mut cache =
                Cache::open(&args.cache_dir, args.cache_max_bytes).map_err(with_hint)?;
            let opts = FetchOptions {
                paths: args.paths.clone(),
                out: args.out.clone(),
                manifest_key: args.manifest.clone(),
                timeout: args.timeout,
            };
            let report = batch_store::fetch::fetch(&store, &mut cache, &opts, &SystemClock)
                .await
                .map_err(with_hint)?;
            if args.json {
                print_json(serde_json::to_value(&report));
                return Ok(exit::SUCCESS);
            }
            let now = jiff::Timestamp::now();
            for f in &report.files {
                let from = match f.source {
                    Source::Store => "store".to_owned(),
                    Source::Cache => "cache".to_owned(),
                    Source::StaleCache => {
                        format!("cache, store unreachable, {} old", age(now, f.fetched_at))
                    }
                };
                println!(
                    "{} -> {} (sha256 {}, {}, from {from})",
                    f.path,
                    f.dest.display(),
                    f.sha256.short(),
                    size(f.size)
                );
            }
            Ok(exit::SUCCESS)
        }
        .await,
    )
}

/// Runs `store …`; returns the exit code.
///
/// # Errors
/// As each subcommand.
pub async fn store(args: &StoreCmdArgs) -> anyhow::Result<i32> {
    match &args.command {
        StoreCommand::Health(a) => health(a).await,
        StoreCommand::Consolidate(a) => consolidate(a).await,
        StoreCommand::Gc(a) => gc(a).await,
    }
}

async fn health(args: &HealthArgs) -> anyhow::Result<i32> {
    let store = match args.store.open(HEALTH_REQUEST) {
        Ok(s) => s,
        Err(e) => {
            // Bad settings are a usage problem, not an outage; still tell the workflow.
            write_github_output(false, &e.to_string())?;
            return Err(e);
        }
    };
    let opts = HealthOptions {
        total: args.timeout,
        attempts: args.attempts,
        ..HealthOptions::default()
    };
    let report = batch_store::health::probe(&store, &opts).await;
    write_github_output(report.healthy, report.reason.as_deref().unwrap_or(""))?;
    if args.json {
        print_json(serde_json::to_value(&report));
    } else if report.healthy {
        println!(
            "store {} healthy ({} attempt(s), {} ms)",
            report.store, report.attempts, report.elapsed_ms
        );
    } else {
        let reason = report.reason.as_deref().unwrap_or("unknown");
        println!(
            "store {} unreachable after {} attempt(s) in {} ms: {reason}",
            report.store, report.attempts, report.elapsed_ms
        );
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            println!(
                "::warning title=artifact store unreachable::{} ({}); store steps will be skipped",
                report.store,
                reason.replace(['\n', '\r'], " ")
            );
        }
    }
    Ok(if report.healthy {
        exit::SUCCESS
    } else {
        exit::STORE_UNREACHABLE
    })
}

/// Appends `healthy=…` and `reason=…` to `$GITHUB_OUTPUT` when it is set.
fn write_github_output(healthy: bool, reason: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT") else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open $GITHUB_OUTPUT `{}`", path.display()))?;
    let line = format!(
        "healthy={healthy}\nreason={}\n",
        reason.replace(['\n', '\r'], " ")
    );
    f.write_all(line.as_bytes())
        .with_context(|| format!("failed to write $GITHUB_OUTPUT `{}`", path.display()))
}

async fn consolidate(args: &ConsolidateArgs) -> anyhow::Result<i32> {
    finish(
        async {
            let store = args.store.open(DEFAULT_REQUEST)?;
            let policy = RetryPolicy {
                max_attempts: args.max_attempts,
                ..RetryPolicy::default()
            };
            let report = limited(
                args.timeout,
                "consolidate",
                batch_store::consolidate::consolidate(&store, &policy, args.prune),
            )
            .await
            .map_err(with_hint)?;
            if args.json {
                print_json(serde_json::to_value(&report));
                return Ok(exit::SUCCESS);
            }
            for c in &report.conflicts {
                println!(
                    "conflict {}: kept sha256 {} (latest published_at), dropped {}",
                    c.path,
                    c.winner.short(),
                    c.losers
                        .iter()
                        .map(|d| d.short())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            println!(
                "Consolidated {} fragment(s) into `{}` ({} entries, {} conflict(s)): {}{}",
                report.fragments.len(),
                report.manifest.key,
                report.entries,
                report.conflicts.len(),
                if report.manifest.written {
                    "written"
                } else {
                    "already up to date"
                },
                if args.prune {
                    format!("; {} fragment(s) pruned", report.pruned.len())
                } else {
                    String::new()
                }
            );
            Ok(exit::SUCCESS)
        }
        .await,
    )
}

async fn gc(args: &GcArgs) -> anyhow::Result<i32> {
    finish(
        async {
            let store = args.store.open(DEFAULT_REQUEST)?;
            let opts = GcOptions {
                keep_manifests: args.keep_manifests.clone(),
                include_fragments: !args.ignore_fragments,
                grace: args.grace,
                dry_run: args.dry_run,
            };
            let report = limited(
                args.timeout,
                "gc",
                batch_store::gc::gc(&store, &opts, &SystemClock),
            )
            .await
            .map_err(with_hint)?;
            if args.json {
                print_json(serde_json::to_value(&report));
                return Ok(exit::SUCCESS);
            }
            let verb = if args.dry_run { "would delete" } else { "deleted" };
            let listed: Vec<&String> = if args.dry_run {
                report.plan.victims.iter().map(|v| &v.key).collect()
            } else {
                report.deleted.iter().collect()
            };
            for v in &report.plan.victims {
                if listed.contains(&&v.key) {
                    println!(
                        "{verb} {} ({}, last modified {})",
                        v.key,
                        size(v.size),
                        v.last_modified
                    );
                }
            }
            for k in &report.spared {
                println!("spared {k} (renewed since the listing)");
            }
            println!(
                "GC of {}: {} object(s) scanned, {} referenced by {} manifest(s), {} inside the grace window, {} {verb}{}",
                store.url(),
                report.scanned,
                report.plan.referenced,
                report.manifests.len(),
                report.plan.in_grace,
                listed.len(),
                if args.dry_run { " (dry run)" } else { "" }
            );
            Ok(exit::SUCCESS)
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_accepts_days_and_plain_durations() {
        assert_eq!(parse_grace("90d").unwrap(), Duration::from_secs(90 * 86400));
        assert_eq!(
            parse_grace("1d 12h").unwrap(),
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(parse_grace("30s").unwrap(), Duration::from_secs(30));
        assert!(parse_grace("1mo").is_err(), "months have no fixed length");
        assert!(parse_grace("-1d").is_err());
        assert!(parse_grace("soon").is_err());
    }

    #[test]
    fn flags_override_the_environment_and_secrets_stay_hidden() {
        let args = StoreArgs {
            store: "s3://bkt/pre".into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: None,
            access_key_id: None,
            request_timeout: None,
            connect_timeout: Duration::from_secs(5),
        };
        let env = |k: &str| match k {
            "AWS_ENDPOINT_URL" => Some("https://example.invalid".to_owned()),
            "AWS_ACCESS_KEY_ID" => Some("AKIAENV".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("super-secret-value".to_owned()),
            "AWS_DEFAULT_REGION" => Some("auto".to_owned()),
            _ => None,
        };
        let c = args.to_config(env, Duration::from_secs(7)).unwrap();
        assert_eq!(c.s3.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(c.s3.region.as_deref(), Some("auto"));
        assert_eq!(c.s3.access_key_id.as_deref(), Some("AKIAENV"));
        assert_eq!(c.timeouts.request, Duration::from_secs(7));
        assert!(!format!("{c:?}").contains("super-secret-value"));
        let store = Store::open(&c).unwrap();
        assert!(!format!("{store:?}").contains("super-secret-value"));
        assert!(!store.url().contains("super-secret-value"));
    }
}
