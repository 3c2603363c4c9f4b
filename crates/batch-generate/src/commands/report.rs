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
        let page = crate::render::html::page(&report, &records, &scope)?;
        batch_base::fs::write_atomic(file, page.as_bytes(), true)
            .with_context(|| format!("cannot write {}", file.display()))?;
        crate::errln!("wrote {}", file.display());
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
