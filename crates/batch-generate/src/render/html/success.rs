//! Chart 1: the success rate (`merged / total`, spec §7.3.5) of each batch, one mark per
//! batch per ecosystem the batch ran, joined by one line per ecosystem. A batch without
//! recipes has no rate and no mark. Each mark is an SVG `<circle class="mark"
//! data-batch="I" data-ecosystem="E">`, I the batch's index in the selection (0 = oldest),
//! so a test (or a person's devtools) can count them.

use std::collections::BTreeMap;

use batch::history::Report;
use plotters::prelude::*;

use super::{HEIGHT, WIDTH, chart_err, colour, dates, escape, f, x_label, x_range};

/// The chart's SVG.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn svg(report: &Report) -> anyhow::Result<String> {
    let rows = &report.batches;
    let dates = dates(rows.iter().map(|r| r.timestamp.as_str()));
    // Ecosystems in first-seen order get stable colours; marks in (batch, ecosystem) order.
    let mut ecos: BTreeMap<&str, usize> = BTreeMap::new();
    let mut marks: Vec<(usize, &str, f64)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(rate) = row.success_rate else {
            continue;
        };
        for e in &row.ecosystems {
            let next = ecos.len();
            ecos.entry(e.as_str()).or_insert(next);
            marks.push((i, e.as_str(), rate * 100.0));
        }
    }
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x_range(rows.len()), 0.0..100.0)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(12)
            .x_label_formatter(&|x| x_label(&dates, *x))
            .y_desc("success rate, %")
            .draw()
            .map_err(chart_err)?;
        for (eco, &c) in &ecos {
            let colour = colour(c);
            let line = marks
                .iter()
                .filter(|m| m.1 == *eco)
                .map(|&(i, _, y)| (f(i), y));
            chart
                .draw_series(LineSeries::new(line, colour.mix(0.5).stroke_width(1)))
                .map_err(chart_err)?
                .label(*eco)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 12, y + 4)], colour.filled())
                });
        }
        chart
            .draw_series(
                marks
                    .iter()
                    .map(|&(i, e, y)| Circle::new((f(i), y), 4, colour(ecos[e]).filled())),
            )
            .map_err(chart_err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    let attrs: Vec<String> = marks
        .iter()
        .map(|&(i, e, _)| {
            format!(
                "class=\"mark\" data-batch=\"{i}\" data-ecosystem=\"{}\"",
                escape(e)
            )
        })
        .collect();
    Ok(tag_circles(&out, &attrs))
}

/// `svg` with the attributes `attrs[n]` added to its n-th `<circle` (the marks, drawn in
/// order; the chart draws no other circle).
fn tag_circles(svg: &str, attrs: &[String]) -> String {
    let mut out =
        String::with_capacity(svg.len() + attrs.iter().map(|a| a.len() + 1).sum::<usize>());
    let mut parts = svg.split("<circle");
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (n, part) in parts.enumerate() {
        out.push_str("<circle");
        if let Some(a) = attrs.get(n) {
            out.push(' ');
            out.push_str(a);
        }
        out.push_str(part);
    }
    out
}
