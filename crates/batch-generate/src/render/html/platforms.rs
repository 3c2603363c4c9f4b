//! Chart 2: the validation pass rate (`passed / tested`, spec §1.5) of each platform family
//! per batch, one line per family; a batch that did not test a family leaves a gap in its
//! line's points (the line joins the batches that did).

use std::collections::BTreeSet;

use batch::history::MetricsRecord;
use plotters::prelude::*;

use super::{HEIGHT, WIDTH, chart_err, colour, dates, f, x_label, x_range};

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
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x_range(records.len()), 0.0..100.0)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(12)
            .x_label_formatter(&|x| x_label(&dates, *x))
            .y_desc("pass rate, %")
            .draw()
            .map_err(chart_err)?;
        for (n, family) in families.iter().enumerate() {
            let colour = colour(n);
            let points = records.iter().enumerate().filter_map(|(i, r)| {
                let c = r.platforms.get(*family)?;
                (c.tested > 0).then(|| (f(i), f(c.passed) * 100.0 / f(c.tested)))
            });
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(chart_err)?
                .label(*family)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(out)
}
