//! Chart 5: failure categories over time — failure records per day, one line per category,
//! from [`batch::history::FailureTimeline`] (both record formats, categories remapped as the
//! dashboard does).

use batch::history::FailureTimeline;
use plotters::prelude::*;

use super::{f, lines};

/// The chart's SVG.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn svg(t: &FailureTimeline) -> anyhow::Result<String> {
    let top = t.counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let axes = lines::Axes {
        labels: &t.days,
        y_max: f(top) * 1.05,
        y_desc: "failure records per day",
        legend: SeriesLabelPosition::UpperLeft,
    };
    let series = t
        .categories
        .iter()
        .zip(&t.counts)
        .map(|(category, counts)| {
            let points = counts.iter().enumerate().map(|(i, c)| (f(i), f(*c)));
            (category.to_string(), points.collect())
        })
        .collect();
    lines::svg(axes, series)
}
