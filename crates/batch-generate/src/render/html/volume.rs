//! Chart 3: per batch, its size (`total = merged + excluded`, recipes), merged, constrained
//! and excluded counts (one line each), and the merge job's duration (minutes) in a chart of
//! its own.

use batch::history::Report;
use plotters::prelude::*;

use super::{HEIGHT, WIDTH, chart_err, colour, dates, f, x_label, x_range};

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
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range(rows.len()), 0.0..f(top) * 1.05)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(12)
            .x_label_formatter(&|x| x_label(&dates, *x))
            .y_desc(unit)
            .draw()
            .map_err(chart_err)?;
        for (n, (name, values)) in series.iter().enumerate() {
            let colour = colour(n);
            let points = values.iter().enumerate().map(|(i, v)| (f(i), f(*v)));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(chart_err)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(out)
}
