//! What `report` prints (issue #14): the typed `--json` document and the text report — a
//! table of batches, the summary, per-platform pass rates and the 7-day trend. Tables use
//! `comfy-table` with the ASCII Markdown preset, so the text is stable and pastes into an
//! issue.

use std::fmt::Write as _;
use std::path::Path;

use batch::history::report::{BatchRow, Direction, PlatformRate, Trend, Window};
use batch::history::{BadFile, History, Report};
use comfy_table::{CellAlignment, Table, presets};
use serde::Serialize;

/// The filter as given, echoed in `--json`.
#[derive(Debug, Serialize)]
pub struct FilterDoc<'a> {
    /// `--last`.
    pub last: Option<u64>,
    /// `--since`, RFC 3339.
    pub since: Option<String>,
    /// `--ecosystem`.
    pub ecosystem: Option<&'a str>,
    /// `--platform`.
    pub platform: Option<&'a str>,
}

/// `report --json`: what was read, the filter, and the [`Report`] (batches, summary, trend).
/// Rates are fractions `0.0..=1.0` or `null` when nothing was counted.
#[derive(Debug, Serialize)]
pub struct ReportDoc<'a> {
    /// `--metrics-dir`.
    pub metrics_dir: &'a Path,
    /// Metrics files read.
    pub files_read: usize,
    /// Files that did not parse (skipped): file, line, column, message.
    pub bad_files: &'a [BadFile],
    /// Other files of the directory, not read.
    pub ignored_files: &'a [String],
    /// Records dropped as repeats of an earlier one (same batch ID and timestamp).
    pub duplicates: usize,
    /// The filter.
    pub filter: FilterDoc<'a>,
    /// Batches, summary and trend.
    #[serde(flatten)]
    pub report: &'a Report,
}

/// `rate` as `12.5%`, or `n/a`.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn table(header: &[&str], right_from: usize) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN)
        .set_header(header.to_vec());
    for i in right_from..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn ecosystems(b: &BatchRow) -> String {
    if b.ecosystems.is_empty() {
        "-".to_owned()
    } else {
        b.ecosystems.join(", ")
    }
}

fn batches(rows: &[BatchRow], platform: Option<&str>) -> Table {
    let mut header = vec![
        "Batch ID",
        "Time",
        "Ecosystems",
        "Candidates",
        "Total",
        "Merged",
        "Excluded",
        "Constrained",
        "Rate",
        "Duration",
    ];
    if platform.is_some() {
        header.extend(["Tested", "Passed", "Failed", "Pass rate"]);
    }
    let mut t = table(&header, 3);
    for b in rows {
        let mut cells = vec![
            b.batch_id.clone(),
            b.timestamp.clone(),
            ecosystems(b),
            b.candidates
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
            b.total.to_string(),
            b.merged.to_string(),
            b.excluded.to_string(),
            b.constrained.to_string(),
            percent(b.success_rate),
            format!("{}s", b.duration_seconds),
        ];
        if let Some(p) = b.platform {
            cells.extend([
                p.tested.to_string(),
                p.passed.to_string(),
                p.failed.to_string(),
                percent(batch::history::report::rate(p.passed, p.tested)),
            ]);
        }
        t.add_row(cells);
    }
    t
}

fn platforms(rates: &[PlatformRate]) -> Table {
    let mut t = table(&["Platform", "Tested", "Passed", "Failed", "Pass rate"], 1);
    for p in rates {
        t.add_row(vec![
            p.platform.clone(),
            p.counts.tested.to_string(),
            p.counts.passed.to_string(),
            p.counts.failed.to_string(),
            percent(p.pass_rate),
        ]);
    }
    t
}

fn window_line(label: &str, w: &Window) -> String {
    let runs = if w.runs == 1 { "run" } else { "runs" };
    format!(
        "  {label} ({}, {}]: {} {runs}, {} of {} recipes merged, {}",
        w.after,
        w.until,
        w.runs,
        w.merged,
        w.total,
        percent(w.success_rate)
    )
}

fn trend(s: &mut String, t: &Trend) {
    let _ = writeln!(
        s,
        "\nTrend: success rate of the {} days ending at the newest batch against the {} before",
        t.days, t.days
    );
    let _ = writeln!(s, "{}", window_line("current ", &t.current));
    let _ = writeln!(s, "{}", window_line("previous", &t.previous));
    let word = match t.direction {
        Direction::Up => "up",
        Direction::Down => "down",
        Direction::Flat => "flat",
        Direction::Unknown => "unknown (a window has no recipes)",
    };
    let _ = writeln!(s, "  direction: {word}");
}

/// The text report: what was read, the batch table, the summary, the platform table and the
/// trend. Bad files are listed here too (the handler also warns on stderr).
pub fn text(dir: &Path, history: &History, report: &Report, platform: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Metrics: {} ({} files read, {} skipped, {} other files not read, {} duplicate records)",
        dir.display(),
        history.files_read,
        history.bad_files.len(),
        history.ignored_files.len(),
        history.duplicates
    );
    for b in &history.bad_files {
        let _ = writeln!(
            s,
            "  skipped {}: line {}, column {}: {}",
            b.file, b.line, b.column, b.message
        );
    }
    s.push('\n');
    if report.batches.is_empty() {
        s.push_str("No batches match.\n");
    } else {
        let _ = writeln!(s, "{}", batches(&report.batches, platform));
    }
    let m = &report.summary;
    let _ = writeln!(
        s,
        "\nSummary: batches {} ({} with recipes){}",
        m.runs,
        m.runs_with_recipes,
        match (&m.first, &m.last) {
            (Some(a), Some(b)) => format!(", {a} .. {b}"),
            _ => String::new(),
        }
    );
    let _ = writeln!(s, "  candidates: {} (new-shape records only)", m.candidates);
    let _ = writeln!(
        s,
        "  recipes: total {}, merged {}, excluded {}, constrained {}, generated {}",
        m.total, m.merged, m.excluded, m.constrained, m.generated
    );
    let _ = writeln!(
        s,
        "  success rate (merged / total): {}",
        percent(m.success_rate)
    );
    let _ = writeln!(
        s,
        "  merge-job duration: median {}s, max {}s",
        m.median_duration_seconds, m.max_duration_seconds
    );
    let _ = writeln!(
        s,
        "\nPlatform pass rates (passed / tested rows)\n{}",
        platforms(&m.platforms)
    );
    if let Some(t) = &report.trend {
        trend(&mut s, t);
    }
    s
}
