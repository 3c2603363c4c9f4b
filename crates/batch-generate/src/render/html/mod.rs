//! `report --html FILE` (issue #23): the selected history as one self-contained HTML page —
//! inline CSS and inline SVG charts drawn with `plotters`' SVG backend, no script and no
//! request to anywhere (the only URL is the SVG namespace). One module per chart; each
//! returns an SVG string, [`page`] puts them under one heading each.
//!
//! Every chart's x axis is the selected batches in order, oldest first (one slot per batch,
//! labelled with the batch's date), since batch IDs repeat and timestamps bunch up.

mod failures;
mod lines;
mod platforms;
mod queue;
mod success;
mod volume;

use std::fmt::Write as _;

use batch::history::{FailureTimeline, MetricsRecord, Report};
use batch::inventory::status::QueueStatus;
use plotters::prelude::*;

/// Width of every chart, pixels.
pub(crate) const WIDTH: u32 = 1100;
/// Height of every chart, pixels.
pub(crate) const HEIGHT: u32 = 360;

/// The CSS of the page: a light, readable layout without external fonts.
const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1140px;color:#222}\
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}\
section svg{display:block;max-width:100%;height:auto}p.note{color:#555;font-size:.9em}\
h3{font-size:1em}table.blockers{border-collapse:collapse;font-size:.9em}\
table.blockers td,table.blockers th{border:1px solid #ccc;padding:.2em .6em;text-align:left}";

/// The headings of the charts, in page order (also the sections' ids).
pub const CHARTS: [(&str, &str); 6] = [
    ("success-rate", "Success rate per ecosystem per batch"),
    ("platforms", "Validation pass rate per platform per batch"),
    (
        "volume",
        "Batch size, merged, constrained and excluded per batch",
    ),
    ("duration", "Merge-job duration per batch"),
    ("failures", "Failure categories over time"),
    ("queue", "Current queue by ecosystem and status"),
];

/// The inputs beyond the metrics, each `Err(note)` when it could not be read (the section
/// then shows the note instead of a chart).
pub struct Extras<'a> {
    /// Failure records per day and category.
    pub failures: Result<&'a FailureTimeline, String>,
    /// The queue's status now.
    pub queue: Result<&'a QueueStatus, String>,
}

/// The whole page for `report` over `records` (oldest first, the rows of `report`), with
/// `scope` a one-line description of the selection (filters and files).
///
/// # Errors
/// A chart that `plotters` cannot draw (its error's text).
pub fn page(
    report: &Report,
    records: &[&MetricsRecord],
    extras: &Extras<'_>,
    scope: &str,
) -> anyhow::Result<String> {
    let note = |n: &str| format!("<p class=\"note\">{}</p>", escape(n));
    let charts = [
        success::svg(report)?,
        platforms::svg(records)?,
        volume::sizes(report)?,
        volume::durations(report)?,
        match &extras.failures {
            Ok(t) => failures::svg(t)?,
            Err(n) => note(n),
        },
        match &extras.queue {
            Ok(q) => queue::html(q)?,
            Err(n) => note(n),
        },
    ];
    let mut html = String::with_capacity(charts.iter().map(String::len).sum::<usize>() + 4096);
    let s = &report.summary;
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>batch-generate report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Batch history</h1>\n<p class=\"note\">{} · {} batches, {} → {} · {} recipes, \
         {} merged</p>\n",
        escape(scope),
        s.runs,
        escape(s.first.as_deref().unwrap_or("-")),
        escape(s.last.as_deref().unwrap_or("-")),
        s.total,
        s.merged,
    );
    for ((id, title), svg) in CHARTS.iter().zip(&charts) {
        let _ = write!(
            html,
            "<section id=\"{id}\">\n<h2>{title}</h2>\n{svg}\n</section>\n"
        );
    }
    html.push_str("</body>\n</html>\n");
    Ok(html)
}

/// `s` with the five HTML special characters escaped.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A `plotters` error as an `anyhow` one.
pub(crate) fn chart_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("cannot draw a chart: {e}")
}

/// The x range of `n` batches: one slot per batch centred on its index.
pub(crate) fn x_range(n: usize) -> std::ops::Range<f64> {
    #[allow(clippy::cast_precision_loss)] // batch counts are far below 2^52
    let n = n.max(1) as f64;
    -0.5..n - 0.5
}

/// The label of x position `x` among `dates`: the date at an integral index, else nothing.
pub(crate) fn x_label(dates: &[String], x: f64) -> String {
    let r = x.round();
    if (x - r).abs() > 1e-6 || r < 0.0 {
        return String::new();
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked ≥ 0 above
    dates.get(r as usize).cloned().unwrap_or_default()
}

/// The date part (`YYYY-MM-DD`) of each timestamp.
pub(crate) fn dates<'a>(timestamps: impl Iterator<Item = &'a str>) -> Vec<String> {
    timestamps
        .map(|t| t.get(..10).unwrap_or(t).to_owned())
        .collect()
}

/// Colour `i` of the series palette.
pub(crate) fn colour(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    PALETTE[i % PALETTE.len()]
}

/// `x` as f64 (batch indices and counts, far below 2^52).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn f(x: impl TryInto<u64>) -> f64 {
    x.try_into().unwrap_or(u64::MAX) as f64
}

#[cfg(test)]
mod tests;
