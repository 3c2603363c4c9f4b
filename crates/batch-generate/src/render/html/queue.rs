//! Chart 6: the current queue — entries per ecosystem, one horizontal bar per ecosystem
//! stacked by status (spec §2.3 statuses, in the queue status' order) — and the top blockers
//! as a table (`queue status`' blockers, spec §4.9).

use std::fmt::Write as _;

use batch::inventory::status::QueueStatus;
use plotters::prelude::*;

use super::{WIDTH, chart_err, colour, escape, f};

/// Height of one ecosystem's bar slot, pixels.
const ROW: u32 = 34;

/// The chart's SVG followed by the blockers table.
///
/// # Errors
/// `plotters` cannot draw it.
pub fn html(q: &QueueStatus) -> anyhow::Result<String> {
    let ecos = &q.ecosystems;
    let names: Vec<String> = ecos.iter().map(|e| e.ecosystem.clone()).collect();
    let top = ecos.iter().map(|e| e.total).max().unwrap_or(0).max(1);
    let height = 90 + ROW * u32::try_from(ecos.len().max(1)).unwrap_or(u32::MAX / ROW - 90);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(110)
            .build_cartesian_2d(0.0..f(top) * 1.05, super::x_range(ecos.len()))
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .disable_y_mesh()
            .y_labels(ecos.len().max(1) * 2 + 1)
            .y_label_formatter(&|y| super::x_label(&names, *y))
            .x_desc("entries")
            .draw()
            .map_err(chart_err)?;
        for (n, status) in q.statuses.iter().enumerate() {
            let colour = colour(n);
            let bars = ecos.iter().enumerate().filter_map(|(j, e)| {
                let count = *e.by_status.get(status)?;
                let before: usize = q.statuses[..n]
                    .iter()
                    .filter_map(|s| e.by_status.get(s))
                    .sum();
                let y = f(j);
                (count > 0).then(|| {
                    Rectangle::new(
                        [(f(before), y - 0.35), (f(before + count), y + 0.35)],
                        colour.filled(),
                    )
                })
            });
            chart
                .draw_series(bars)
                .map_err(chart_err)?
                .label(status.as_str())
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
    out.push_str("\n<h3>Top blockers</h3>\n");
    if q.blockers.is_empty() {
        out.push_str("<p class=\"note\">No entry blocks another.</p>\n");
        return Ok(out);
    }
    out.push_str(
        "<table class=\"blockers\">\n<tr><th>Blocker</th><th>Priority</th><th>Score</th>\
         <th>Blocks</th></tr>\n",
    );
    for b in &q.blockers {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&b.entry),
            b.priority,
            b.score,
            escape(&b.blocks.join(", "))
        );
    }
    out.push_str("</table>\n");
    Ok(out)
}
