//! The line chart that charts 2, 3 and 5 share: one line per series over a row of x slots
//! (batches or days), y from 0, with a legend.

use plotters::prelude::*;

use super::{HEIGHT, WIDTH, chart_err, colour, x_label, x_range};

/// What a line chart shows besides its series.
pub(crate) struct Axes<'a> {
    /// The label of each x slot (slot `i` is at x = `i`); its length is the number of slots.
    pub labels: &'a [String],
    /// The top of the y axis (the bottom is 0).
    pub y_max: f64,
    /// The y axis' description, with its unit.
    pub y_desc: &'a str,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
}

/// The SVG of one line per `(name, points)` series, coloured in order by [`colour`].
///
/// # Errors
/// `plotters` cannot draw it.
pub(crate) fn svg(
    axes: Axes<'_>,
    series: Vec<(String, Vec<(f64, f64)>)>,
) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range(axes.labels.len()), 0.0..axes.y_max)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(12)
            .x_label_formatter(&|x| x_label(axes.labels, *x))
            .y_desc(axes.y_desc)
            .draw()
            .map_err(chart_err)?;
        for (n, (name, points)) in series.into_iter().enumerate() {
            let colour = colour(n);
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(chart_err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(axes.legend)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(out)
}
