//! `batch-generate merge` (issue #6): consolidates the fragments of a sharded batch under the
//! queue's run lock, reports what it wrote, and prints GitHub Actions annotations when asked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use batch::Config;
use batch::control::breaker::Change;
use batch::run::lock::{LockError, RunLock};
use batch::shard::fragment::{FragmentError, FragmentSet};
use batch::shard::merge::{self, MergeError, MergeReport, MergeStatus};
use serde_json::json;

use crate::cli::MergeArgs;
use crate::error::Hint;
use crate::exit;
use crate::orchestrate;

/// Runs `merge`; returns the exit code (0 merged or already merged, 3 locked).
///
/// # Errors
/// Bad or inconsistent fragments, missing shards (without `--allow-missing`), a queue that is
/// not the batch's starting queue, bad queue or control file, write errors; each with a hint.
pub fn run(args: &MergeArgs) -> anyhow::Result<i32> {
    let mut config = Config::new();
    args.files.apply(&mut config);
    config.breaker = args.breaker.policy();

    let set = FragmentSet::collect(&args.fragments, args.batch_id.as_deref())
        .map_err(anyhow::Error::from)
        .map_err(with_fragment_hint)?;
    let _lock = match RunLock::acquire(&config.queue) {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => {
            eprintln!("error: {e}\nhint: wait for it to finish; nothing was merged or written");
            return Ok(exit::LOCKED);
        }
        Err(e) => return Err(e.into()),
    };
    let journal = batch::run::journal::path_for(&config.queue);
    if journal.exists() {
        return Err(anyhow::anyhow!(
            "an interrupted run left `{}` beside the queue",
            journal.display()
        )
        .context(Hint(
            "run batch-generate on this queue first to finish that run (or remove the journal), then merge",
        )));
    }
    orchestrate::remove_stale_temp_files(&config);

    let merged = match merge::merge(&config, &set, args.allow_missing) {
        Ok(m) => m,
        Err(e) => {
            let hint = match &e {
                MergeError::Missing { .. } => Hint(
                    "rerun the missing shard jobs (or download their fragments), or pass --allow-missing to merge without them (their entries stay unchanged); nothing was written",
                ),
                MergeError::QueueChanged { .. } => Hint(
                    "merge into the queue the shards started from (check out the batch's commit), or rerun the batch; nothing was written",
                ),
                MergeError::Mismatch { .. } => Hint(
                    "the fragment does not fit the starting queue; regenerate it by rerunning that shard; nothing was written",
                ),
                _ => Hint("fix the cause and run merge again: it is idempotent"),
            };
            return Err(anyhow::Error::from(e).context(hint));
        }
    };
    report(&config, &set, &merged, args);
    Ok(exit::SUCCESS)
}

fn with_fragment_hint(e: anyhow::Error) -> anyhow::Error {
    let hint = match e.downcast_ref::<FragmentError>() {
        Some(FragmentError::Empty { .. }) => Hint(
            "check --fragments: it must hold the `<batch_id>-shard-<K>-of-<N>.json` files the shard jobs wrote",
        ),
        Some(FragmentError::SeveralBatches { .. }) => {
            Hint("pass --batch-id with the batch to merge")
        }
        Some(FragmentError::Disagree { .. } | FragmentError::Conflict { .. }) => Hint(
            "remove the fragments that do not belong to this batch run, then merge again; nothing was written",
        ),
        Some(FragmentError::BatchId(_)) => Hint("batch IDs look like 2026-11-24-all-002"),
        _ => {
            Hint("fix or regenerate the named fragment (rerun its shard job); nothing was written")
        }
    };
    e.context(hint)
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
            orchestrate::report_breaker_changes(&merged.report);
            eprintln!(
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
        MergeStatus::AlreadyMerged => eprintln!(
            "Batch {} is already merged into `{}`; nothing was written",
            set.batch_id,
            config.queue.display()
        ),
    }
    if args.annotations && merged.status == MergeStatus::Merged {
        // The runner reads workflow commands from stderr too; stdout stays for --json.
        eprint!("{}", annotations(&merged.report));
    }
    if args.json {
        orchestrate::print_json(&json!({
            "batch_id": set.batch_id,
            "status": match merged.status {
                MergeStatus::Merged => "merged",
                MergeStatus::AlreadyMerged => "already_merged",
            },
            "shard_count": set.shard_count,
            "shards": set.fragments.iter().map(|(_, f)| f.shard).collect::<Vec<_>>(),
            "missing_shards": merged.missing,
            "total": r.total,
            "succeeded": r.succeeded,
            "failed": r.failed,
            "blocked": r.blocked,
            "invalid": merged.report.invalid,
            "not_run": merged.not_run.len(),
            "per_ecosystem": r.per_ecosystem,
            "breaker_changes": merged.report.breaker_changes.iter().map(|(eco, c)| (eco.clone(), orchestrate::change_label(c))).collect::<BTreeMap<_, _>>(),
            "files_written": merged.report.files_written,
        }));
    }
}

/// GitHub Actions workflow commands: one `::warning` per failure record, one `::error` per
/// breaker that opened or reopened. Values are escaped as the runner requires (`%`, CR, LF;
/// and `:` `,` inside properties).
pub fn annotations(report: &batch::run::RunReport) -> String {
    let mut s = String::new();
    for f in &report.failures {
        let first_line = f.message.lines().next().unwrap_or_default();
        let detail = if f.subcategory.is_empty() {
            f.category.as_str().to_owned()
        } else {
            format!("{}/{}", f.category.as_str(), f.subcategory)
        };
        let blocked = if f.blocked_by.is_empty() {
            String::new()
        } else {
            format!(" (blocked by {})", f.blocked_by.join(", "))
        };
        let _ = writeln!(
            s,
            "::warning title={}::{}",
            escape_property(&format!("{} {detail}", f.package_id)),
            escape_data(&format!(
                "{}: {detail}{blocked}: {first_line}",
                f.package_id
            ))
        );
    }
    for (eco, change) in &report.breaker_changes {
        if let Change::Opened {
            failures,
            until,
            reopened,
        } = change
        {
            let what = if *reopened {
                "reopened (half-open probe failed)".to_owned()
            } else {
                format!("opened after {failures} failed batches")
            };
            let _ = writeln!(
                s,
                "::error title={}::{}",
                escape_property(&format!("circuit breaker {eco}")),
                escape_data(&format!(
                    "circuit breaker for {eco} {what}; next probe at {until}"
                ))
            );
        }
    }
    s
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use batch::records::FailureRecord;
    use batch::run::RunReport;
    use batch::runner::classify::Category;

    #[test]
    fn annotations_escape_and_cover_failures_and_opened_breakers() {
        let report = RunReport {
            failures: vec![FailureRecord {
                package_id: "npm:a,b".into(),
                category: Category::MissingDep,
                subcategory: String::new(),
                blocked_by: vec!["x".into(), "y".into()],
                message: "100% broken\nsecond line".into(),
                timestamp: "2026-11-24T00:00:00Z".into(),
            }],
            breaker_changes: vec![
                (
                    "pypi".into(),
                    Change::Opened {
                        failures: 5,
                        until: "2026-11-24T01:00:00Z".into(),
                        reopened: false,
                    },
                ),
                ("npm".into(), Change::Closed),
            ],
            ..RunReport::default()
        };
        let out = annotations(&report);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(
            lines[0],
            "::warning title=npm%3Aa%2Cb missing_dep::npm:a,b: missing_dep (blocked by x, y): 100%25 broken"
        );
        assert_eq!(
            lines[1],
            "::error title=circuit breaker pypi::circuit breaker for pypi opened after 5 failed batches; next probe at 2026-11-24T01:00:00Z"
        );
    }
}
