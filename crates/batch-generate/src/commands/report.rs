//! `batch-generate report` (issue #14): reads the metrics history
//! ([`batch::history::read_dir`]), applies the filter and prints the report. Files that do not
//! parse are warned about on stderr and skipped; an unknown `--ecosystem` or `--platform` is a
//! usage error (exit 2). `--html FILE` also writes the charts page
//! ([`crate::render::html::page`]).

use anyhow::Context as _;
use batch::history::{build, read_dir, select};

use crate::cli::ReportArgs;
use crate::error::Hint;
use crate::exit::Ending;
use crate::render::history::{FilterDoc, ReportDoc, text};
use crate::render::print_json;

/// Runs `report`: completed is [`Ending::Success`], also with skipped files.
///
/// # Errors
/// The metrics directory cannot be listed (exit 1); `--ecosystem` or `--platform` names
/// nothing the metrics or tsuku know (exit 2).
pub fn run(args: &ReportArgs) -> anyhow::Result<Ending> {
    let history = read_dir(&args.metrics_dir).context(Hint(
        "check --metrics-dir (BATCH_METRICS_DIR); nothing was written",
    ))?;
    for b in &history.bad_files {
        crate::errln!(
            "warning: skipped {}: line {}, column {}: {}",
            args.metrics_dir.join(&b.file).display(),
            b.line,
            b.column,
            b.message
        );
    }
    let filter = args.filter();
    let records = select(&history, &filter).context(Hint(
        "check the spelling of --ecosystem / --platform; the error lists the values the metrics have",
    ))?;
    let report = build(&records, filter.platform.as_deref());
    if let Some(file) = &args.html {
        write_html(args, file, &history, &records, &report)?;
    }
    if args.report.json {
        print_json(&ReportDoc {
            metrics_dir: &args.metrics_dir,
            files_read: history.files_read,
            bad_files: &history.bad_files,
            ignored_files: &history.ignored_files,
            duplicates: history.duplicates,
            filter: FilterDoc {
                last: args.last,
                since: args.since.map(|t| t.to_string()),
                ecosystem: args.ecosystem.as_deref(),
                platform: args.platform.as_deref(),
            },
            report: &report,
        });
    } else {
        crate::out!(
            "{}",
            text(
                &args.metrics_dir,
                &history,
                &report,
                filter.platform.as_deref()
            )
        );
    }
    Ok(Ending::Success)
}

/// Writes the `--html` page: the charts of `report` plus the failure timeline and the queue's
/// state, each replaced by a note on the page when its input cannot be read.
///
/// # Errors
/// A chart that cannot be drawn or a file that cannot be written (exit 1).
fn write_html(
    args: &ReportArgs,
    file: &std::path::Path,
    history: &batch::history::History,
    records: &[&batch::history::MetricsRecord],
    report: &batch::history::Report,
) -> anyhow::Result<()> {
    let since = records.first().map(|r| r.timestamp.get(..10).unwrap_or(""));
    let failures = batch::dashboard::failure_timeline(&args.failures_dir, since)
        .map(|(t, _)| t)
        .map_err(|e| format!("no failure chart: {e}"));
    let queue = queue_now(args).map_err(|e| format!("no queue chart: {e:#}"));
    let scope = format!(
        "{} ({} files){}{}",
        args.metrics_dir.display(),
        history.files_read,
        args.ecosystem
            .as_deref()
            .map(|e| format!(", ecosystem {e}"))
            .unwrap_or_default(),
        args.platform
            .as_deref()
            .map(|p| format!(", platform {p}"))
            .unwrap_or_default(),
    );
    let extras = crate::render::html::Extras {
        failures: failures.as_ref().map_err(Clone::clone),
        queue: queue.as_ref().map_err(Clone::clone),
    };
    let page = crate::render::html::page(report, records, &extras, &scope)?;
    batch_base::fs::write_atomic(file, page.as_bytes(), true)
        .with_context(|| format!("cannot write {}", file.display()))?;
    crate::errln!("wrote {}", file.display());
    Ok(())
}

/// The queue's status now, as `queue status` computes it (top 10 blockers).
fn queue_now(args: &ReportArgs) -> anyhow::Result<batch::inventory::status::QueueStatus> {
    use batch::clock::Clock as _;
    let queue = batch::Queue::load(&args.queue)?;
    let control = batch::control::ControlFile::load(&args.control_file)?;
    let log = if args.failures_dir.exists() {
        batch::maintain::FailureLog::read_dir(&args.failures_dir)?
    } else {
        batch::maintain::FailureLog::default()
    };
    let opts = batch::inventory::status::StatusOptions {
        ecosystem: args.ecosystem.clone(),
        select: batch::Config::new().select,
        top: 10,
    };
    let now = batch::clock::SystemClock.now();
    Ok(batch::inventory::status::queue_status(
        &queue, &control, &log, &opts, now,
    ))
}
