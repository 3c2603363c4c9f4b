//! `publish`, `fetch` and `store health|consolidate|gc` (issue #7): the command-line side of
//! the `batch-store` library. Reports are printed as text or one JSON document; a store that
//! cannot be reached ends with exit 4 (see `crate::exit`) so a workflow can tell it from bad
//! data.

use std::fmt::Write as _;
use std::time::Duration;

use batch_base::clock::SystemClock;
use batch_store::backoff::ConflictRetry;
use batch_store::cache::Cache;
use batch_store::fetch::{FetchOptions, Source, age};
use batch_store::gc::GcOptions;
use batch_store::health::HealthOptions;
use batch_store::publish::{ObjectAction, PublishOptions};
use batch_store::{Store, StoreError};

use crate::cli::{
    ConsolidateArgs, FetchArgs, GcArgs, HealthArgs, PublishArgs, StoreArgs, StoreCmdArgs,
    StoreCommand,
};
use crate::error::Hint;
use crate::exit::Ending;
use crate::github;

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

fn print_json(v: serde_json::Result<serde_json::Value>) {
    let v = v.expect("reports serialise");
    crate::outln!(
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

/// Runs `publish`; returns how it ended.
///
/// # Errors
/// Local I/O, corrupt uploads, a damaged manifest (exit 1); an unreachable store is exit 4.
pub async fn publish(args: &PublishArgs) -> anyhow::Result<Ending> {
    async {
        let store = open(&args.store, DEFAULT_REQUEST)?;
        let opts = PublishOptions {
            logical_prefix: args.logical_prefix.clone(),
            fragment: args.fragment.clone(),
            platform: args.platform.clone(),
            category: args.category.clone(),
            retry: ConflictRetry {
                max_attempts: args.max_attempts,
                ..ConflictRetry::default()
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
        if args.report.json {
            print_json(serde_json::to_value(&report));
            return Ok(Ending::Success);
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
        crate::out!("{out}");
        Ok(Ending::Success)
    }
    .await
}

/// Runs `fetch`; returns how it ended.
///
/// # Errors
/// Corrupt data, unknown logical paths, a damaged manifest, local I/O (exit 1); an
/// unreachable store without a cached copy is exit 4.
pub async fn fetch(args: &FetchArgs) -> anyhow::Result<Ending> {
    async {
        let store = open(&args.store, DEFAULT_REQUEST)?;
        let mut cache = Cache::open(&args.cache_dir, args.cache_max_bytes).map_err(with_hint)?;
        let opts = FetchOptions {
            paths: args.paths.clone(),
            out: args.out.clone(),
            manifest_key: args.manifest.clone(),
            timeout: args.timeout,
        };
        let report = batch_store::fetch::fetch(&store, &mut cache, &opts, &SystemClock)
            .await
            .map_err(with_hint)?;
        if args.report.json {
            print_json(serde_json::to_value(&report));
            return Ok(Ending::Success);
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
            crate::outln!(
                "{} -> {} (sha256 {}, {}, from {from})",
                f.path,
                f.dest.display(),
                f.sha256.short(),
                size(f.size)
            );
        }
        Ok(Ending::Success)
    }
    .await
}

/// Runs `store …`; returns how it ended.
///
/// # Errors
/// As each subcommand.
pub async fn run(args: &StoreCmdArgs) -> anyhow::Result<Ending> {
    match &args.command {
        StoreCommand::Health(a) => health(a).await,
        StoreCommand::Consolidate(a) => consolidate(a).await,
        StoreCommand::Gc(a) => gc(a).await,
    }
}

async fn health(args: &HealthArgs) -> anyhow::Result<Ending> {
    let store = match open(&args.store, HEALTH_REQUEST) {
        Ok(s) => s,
        Err(e) => {
            // Bad settings are a usage problem, not an outage; still tell the workflow.
            github::write_output([("healthy", false.to_string()), ("reason", e.to_string())])?;
            return Err(e);
        }
    };
    let opts = HealthOptions {
        total: args.timeout,
        attempts: args.attempts,
        ..HealthOptions::default()
    };
    let report = batch_store::health::probe(&store, &opts).await;
    github::write_output([
        ("healthy", report.healthy.to_string()),
        ("reason", report.reason.clone().unwrap_or_default()),
    ])?;
    if args.report.json {
        print_json(serde_json::to_value(&report));
    } else if report.healthy {
        crate::outln!(
            "store {} healthy ({} attempt(s), {} ms)",
            report.store,
            report.attempts,
            report.elapsed_ms
        );
    } else {
        let reason = report.reason.as_deref().unwrap_or("unknown");
        crate::outln!(
            "store {} unreachable after {} attempt(s) in {} ms: {reason}",
            report.store,
            report.attempts,
            report.elapsed_ms
        );
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            crate::outln!(
                "::warning title=artifact store unreachable::{} ({}); store steps will be skipped",
                report.store,
                reason.replace(['\n', '\r'], " ")
            );
        }
    }
    Ok(if report.healthy {
        Ending::Success
    } else {
        Ending::StoreUnreachable
    })
}

async fn consolidate(args: &ConsolidateArgs) -> anyhow::Result<Ending> {
    async {
        let store = open(&args.store, DEFAULT_REQUEST)?;
        let policy = ConflictRetry {
            max_attempts: args.max_attempts,
            ..ConflictRetry::default()
        };
        let report = limited(
            args.timeout,
            "consolidate",
            batch_store::consolidate::consolidate(&store, &policy, args.prune),
        )
        .await
        .map_err(with_hint)?;
        if args.report.json {
            print_json(serde_json::to_value(&report));
            return Ok(Ending::Success);
        }
        for c in &report.conflicts {
            crate::outln!(
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
        crate::outln!(
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
        Ok(Ending::Success)
    }
    .await
}

async fn gc(args: &GcArgs) -> anyhow::Result<Ending> {
    async {
            let store = open(&args.store, DEFAULT_REQUEST)?;
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
            if args.report.json {
                print_json(serde_json::to_value(&report));
                return Ok(Ending::Success);
            }
            let verb = if args.dry_run { "would delete" } else { "deleted" };
            let listed: Vec<&String> = if args.dry_run {
                report.plan.victims.iter().map(|v| &v.key).collect()
            } else {
                report.deleted.iter().collect()
            };
            for v in &report.plan.victims {
                if listed.contains(&&v.key) {
                    crate::outln!(
                        "{verb} {} ({}, last modified {})",
                        v.key,
                        size(v.size),
                        v.last_modified
                    );
                }
            }
            for k in &report.spared {
                crate::outln!("spared {k} (renewed since the listing)");
            }
            crate::outln!(
                "GC of {}: {} object(s) scanned, {} referenced by {} manifest(s), {} inside the grace window, {} {verb}{}",
                store.url(),
                report.scanned,
                report.plan.referenced,
                report.manifests.len(),
                report.plan.in_grace,
                listed.len(),
                if args.dry_run { " (dry run)" } else { "" }
            );
            Ok(Ending::Success)
    }
    .await
}

/// Opens the store the flags name.
fn open(args: &StoreArgs, default_request: Duration) -> anyhow::Result<Store> {
    let config = args.to_config(|k| std::env::var(k).ok(), default_request)?;
    Store::open(&config).map_err(with_hint)
}
