//! `batch-generate dashboard` (issue #23): reads the queue, failure records, metrics,
//! disambiguations and control file ([`batch::dashboard::generate`]), writes
//! `dashboard.json` atomically in the bytes Go's `json.MarshalIndent` would write
//! (`batch::records::jsonfmt::to_pretty`), warns about
//! every input file it skipped, prints a one-line summary (or `--json`), and appends the
//! headline numbers to `$GITHUB_STEP_SUMMARY` when set.
//!
//! Exit codes: 0 written (also with skipped input files); 1 the queue is missing, does not
//! parse or has an invalid entry, an input directory cannot be listed, or the output cannot be
//! written; 2 usage error.

use std::path::Path;

use anyhow::Context as _;
use batch::dashboard::{Dashboard, LoadReport, generate};
use serde::Serialize;

use crate::cli::dashboard::DashboardArgs;
use crate::error::Hint;
use crate::exit::Ending;
use crate::render::print_json;

/// The `--json` summary.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    output: &'a Path,
    generated_at: &'a str,
    queue_total: u64,
    by_status: &'a std::collections::BTreeMap<String, u64>,
    blockers: usize,
    failure_details: usize,
    runs: usize,
    curated: usize,
    disambiguations: u64,
    inputs: &'a LoadReport,
}

/// Runs `dashboard`: [`Ending::Success`] once the file is written.
///
/// # Errors
/// As the module documents (exit 1).
pub fn run(args: &DashboardArgs) -> anyhow::Result<Ending> {
    let (dash, report) = generate(&args.sources(), jiff::Timestamp::now()).context(Hint(
        "check --queue and the input directories; nothing was written",
    ))?;
    for s in &report.skipped {
        crate::errln!("warning: skipped {}: {}", s.path.display(), s.reason);
    }
    // Go's json.MarshalIndent(dash, "", "  ") plus a newline: the crate's Go-compatible writer.
    let bytes =
        batch::records::jsonfmt::to_pretty(&dash).context("failed to serialize the dashboard")?;
    batch_base::fs::write_atomic(&args.output, &bytes, true)
        .with_context(|| format!("failed to write `{}`", args.output.display()))?;
    crate::github::append_step_summary(&step_summary(&dash, &report))?;
    if args.report.json {
        print_json(&Summary {
            output: &args.output,
            generated_at: &dash.generated_at,
            queue_total: dash.queue.total,
            by_status: &dash.queue.by_status,
            blockers: dash.blockers.len(),
            failure_details: dash.failure_details.len(),
            runs: dash.runs.len(),
            curated: dash.curated.len(),
            disambiguations: dash.disambiguations.as_ref().map_or(0, |d| d.total),
            inputs: &report,
        });
    } else {
        crate::errln!("Dashboard generated: {}", args.output.display());
    }
    Ok(Ending::Success)
}

/// The Markdown appended to `$GITHUB_STEP_SUMMARY`.
fn step_summary(dash: &Dashboard, report: &LoadReport) -> String {
    let status = |s: &str| dash.queue.by_status.get(s).copied().unwrap_or(0);
    let last_run = dash
        .health
        .as_ref()
        .and_then(|h| h.last_run.as_ref())
        .map_or_else(|| "none".to_owned(), |r| r.timestamp.clone());
    let open: Vec<&str> = dash
        .health
        .iter()
        .flat_map(|h| &h.ecosystems)
        .filter(|(_, e)| e.breaker_state != "closed")
        .map(|(k, _)| k.as_str())
        .collect();
    let open = if open.is_empty() {
        "none".to_owned()
    } else {
        open.join(", ")
    };
    format!(
        "### Pipeline dashboard\n\n\
         | Queue | Pending | Success | Failed | Blocked | Top blocker | Last run | Breakers not closed | Skipped inputs |\n\
         |---:|---:|---:|---:|---:|---|---|---|---:|\n\
         | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        dash.queue.total,
        status("pending"),
        status("success"),
        status("failed"),
        status("blocked"),
        dash.blockers.first().map_or_else(
            || "none".to_owned(),
            |b| format!("{} ({})", b.dependency, b.total_count)
        ),
        last_run,
        open,
        report.skipped.len(),
    )
}
