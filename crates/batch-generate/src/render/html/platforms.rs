//! Chart 2: the validation pass rate (`passed / tested`, spec §1.5) of each platform family
//! per batch, one line per family; a batch that did not test a family leaves a gap in its
//! line's points (the line joins the batches that did).

use std::collections::BTreeSet;

use batch::history::MetricsRecord;
use plotters::prelude::*;

use super::{dates, f, lines};

/// The chart's SVG.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn svg(records: &[&MetricsRecord]) -> anyhow::Result<String> {
    let dates = dates(records.iter().map(|r| r.timestamp.as_str()));
    let families: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.platforms.keys().map(String::as_str))
        .collect();
    let axes = lines::Axes {
        labels: &dates,
        y_max: 100.0,
        y_desc: "pass rate, %",
        legend: SeriesLabelPosition::LowerRight,
    };
    let series = families
        .iter()
        .map(|family| {
            let points = records.iter().enumerate().filter_map(|(i, r)| {
                let c = r.platforms.get(*family)?;
                (c.tested > 0).then(|| (f(i), f(c.passed) * 100.0 / f(c.tested)))
            });
            ((*family).to_owned(), points.collect())
        })
        .collect();
    lines::svg(axes, series)
}
