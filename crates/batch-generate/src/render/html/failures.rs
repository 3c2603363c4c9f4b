//! Chart 5: failure categories over time — failure records per day, one line per category,
//! from [`batch::history::FailureTimeline`] (both record formats, categories remapped as the
//! dashboard does).

use batch::history::FailureTimeline;
use plotters::prelude::*;

use super::{HEIGHT, WIDTH, chart_err, colour, f, x_label, x_range};

/// The chart's SVG.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn svg(t: &FailureTimeline) -> anyhow::Result<String> {
    let top = t.counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range(t.days.len()), 0.0..f(top) * 1.05)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(12)
            .x_label_formatter(&|x| x_label(&t.days, *x))
            .y_desc("failure records per day")
            .draw()
            .map_err(chart_err)?;
        for (n, (category, counts)) in t.categories.iter().zip(&t.counts).enumerate() {
            let colour = colour(n);
            let points = counts.iter().enumerate().map(|(i, c)| (f(i), f(*c)));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(chart_err)?
                .label(category.as_str())
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
