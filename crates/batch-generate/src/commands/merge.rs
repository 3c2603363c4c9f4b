//! `batch-generate merge` (issue #6): consolidates the fragments of a sharded batch through the
//! library ([`batch::shard::merge_under_lock`]), reports what it wrote, and prints GitHub
//! Actions annotations when asked.

use batch::Config;
use batch::queue::QueueError;
use batch::run::{Hooks, Notice, RunError};
use batch::shard::{
    FragmentError, FragmentSet, MergeError, MergeReport, MergeStatus, merge_under_lock,
};

use crate::cli::MergeArgs;
use crate::error::Hint;
use crate::exit::Ending;
use crate::github;
use crate::render::json::MergeDoc;
use crate::render::{log, print_json};

/// Runs `merge`: merged or already merged is [`Ending::Success`].
///
/// # Errors
/// Bad or inconsistent fragments, missing shards (without `--allow-missing`), a queue that is
/// not the batch's starting queue, a pending journal, another run holding the lock, bad queue
/// or control file, write errors; each with a hint.
pub fn run(args: &MergeArgs) -> anyhow::Result<Ending> {
    let mut config = Config::new();
    args.files.apply(&mut config);
    config.breaker = args.breaker.policy();

    let set = FragmentSet::collect(&args.fragments, args.batch_id.as_deref())
        .map_err(with_fragment_hint)?;
    let merged = merge_under_lock(&config, &set, args.allow_missing, &LogNotices)
        .map_err(with_merge_hint)?;
    report(&config, &set, &merged, args);
    if merged.status == MergeStatus::Merged {
        let mut extra = vec![
            ("status", "merged".to_owned()),
            ("batch_id", set.batch_id.clone()),
        ];
        // The ecosystems a shard stopped as unreachable (issue #22), when there are any.
        let unreachable = crate::render::json::unreachable_counts(
            merged.not_run.iter().map(|n| n.reason.as_str()),
        );
        if !unreachable.is_empty() {
            let ecos: Vec<&str> = unreachable.keys().map(String::as_str).collect();
            extra.push(("unreachable", ecos.join(",")));
        }
        github::report_run(&merged.report, extra, args.annotations)?;
    } else {
        github::write_output([
            ("status", "already_merged".to_owned()),
            ("batch_id", set.batch_id.clone()),
        ])?;
    }
    Ok(Ending::Success)
}

/// Logs the sequence's notices (temporary files removed).
struct LogNotices;

impl Hooks for LogNotices {
    fn notice(&self, notice: Notice<'_>) {
        log::notice(&notice, false);
    }
}

fn with_merge_hint(e: MergeError) -> anyhow::Error {
    let hint = match &e {
        e if crate::exit::holds_lock(e) => {
            Hint("wait for it to finish; nothing was merged or written")
        }
        MergeError::JournalPending { .. } => Hint(
            "run batch-generate on this queue first to finish that run (or remove the journal), then merge",
        ),
        MergeError::Missing { .. } => Hint(
            "rerun the missing shard jobs (or download their fragments), or pass --allow-missing to merge without them (their entries stay unchanged); nothing was written",
        ),
        MergeError::QueueChanged { .. } => Hint(
            "merge into the queue the shards started from (check out the batch's commit), or rerun the batch; nothing was written",
        ),
        MergeError::Mismatch { .. } => Hint(
            "the fragment does not fit the starting queue; regenerate it by rerunning that shard; nothing was written",
        ),
        MergeError::Run(RunError::Queue(QueueError::Missing { .. })) => Hint(
            "check the --queue path: merge needs the queue the shards started from; nothing was created",
        ),
        _ => Hint("fix the cause and run merge again: it is idempotent"),
    };
    anyhow::Error::new(e).context(hint)
}

fn with_fragment_hint(e: FragmentError) -> anyhow::Error {
    let hint = match &e {
        FragmentError::Empty { .. } => Hint(
            "check --fragments: it must hold the `<batch_id>-shard-<K>-of-<N>.json` files the shard jobs wrote",
        ),
        FragmentError::SeveralBatches { .. } => Hint("pass --batch-id with the batch to merge"),
        FragmentError::Disagree { .. } | FragmentError::Conflict { .. } => Hint(
            "remove the fragments that do not belong to this batch run, then merge again; nothing was written",
        ),
        FragmentError::BatchId(_) => Hint("batch IDs look like 2026-11-24-all-002"),
        _ => {
            Hint("fix or regenerate the named fragment (rerun its shard job); nothing was written")
        }
    };
    anyhow::Error::new(e).context(hint)
}

fn report(config: &Config, set: &FragmentSet, merged: &MergeReport, args: &MergeArgs) {
    let r = &merged.report.results;
    if !merged.missing.is_empty() {
        tracing::warn!(
            "merged without shard(s) {:?} of {}: their entries are unchanged",
            merged.missing,
            set.shard_count
        );
    }
    for n in &merged.not_run {
        tracing::warn!("{} was not run ({}); unchanged", n.name, n.reason);
    }
    for w in &merged.report.warnings {
        tracing::warn!("{w}");
    }
    match merged.status {
        MergeStatus::Merged => {
            log::breaker_changes(&merged.report);
            crate::errln!(
                "Merged batch {} ({} of {} shard fragment(s)): {} succeeded, {} failed, {} blocked ({} total)",
                set.batch_id,
                set.fragments.len(),
                set.shard_count,
                r.succeeded,
                r.failed,
                r.blocked,
                r.total
            );
        }
        MergeStatus::AlreadyMerged => crate::errln!(
            "Batch {} is already merged into `{}`; nothing was written",
            set.batch_id,
            config.queue.display()
        ),
    }
    if args.report.json {
        print_json(&MergeDoc::new(set, merged));
    }
}
