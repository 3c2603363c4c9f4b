//! Chart 3: per batch, its size (`total = merged + excluded`, recipes), merged, constrained
//! and excluded counts (one line each), and the merge job's duration (minutes) in a chart of
//! its own.

use batch::history::Report;
use plotters::prelude::*;

use super::{dates, f, lines};

/// The counts chart's SVG.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn sizes(report: &Report) -> anyhow::Result<String> {
    let rows = &report.batches;
    let series: [(&str, Vec<u64>); 4] = [
        ("size", rows.iter().map(|r| r.total).collect()),
        ("merged", rows.iter().map(|r| r.merged).collect()),
        ("constrained", rows.iter().map(|r| r.constrained).collect()),
        ("excluded", rows.iter().map(|r| r.excluded).collect()),
    ];
    lines(report, &series, "recipes")
}

/// The duration chart's SVG.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn durations(report: &Report) -> anyhow::Result<String> {
    let series = [(
        "duration",
        report.batches.iter().map(|r| r.duration_seconds).collect(),
    )];
    lines(report, &series, "seconds")
}

/// One line per `(name, values)` series over the batches of `report`, y from 0 to the
/// largest value (at least 1), described as `unit`.
fn lines(report: &Report, series: &[(&str, Vec<u64>)], unit: &str) -> anyhow::Result<String> {
    let rows = &report.batches;
    let dates = dates(rows.iter().map(|r| r.timestamp.as_str()));
    let top = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let axes = lines::Axes {
        labels: &dates,
        y_max: f(top) * 1.05,
        y_desc: unit,
        legend: SeriesLabelPosition::UpperLeft,
    };
    let series = series
        .iter()
        .map(|(name, values)| {
            let points = values.iter().enumerate().map(|(i, v)| (f(i), f(*v)));
            ((*name).to_owned(), points.collect())
        })
        .collect();
    lines::svg(axes, series)
}
