//! What `queue status` prints (issue #14): the typed `--json` document and the text report,
//! one `comfy-table` table (Markdown-style ASCII, so it pastes into a job summary) per part
//! of the [`QueueStatus`] model.

use std::fmt::Write as _;
use std::path::Path;

use batch::inventory::status::{Blocker, BreakerStatus, Probe, QueueStatus, Retry};
use comfy_table::{CellAlignment, Table, presets};
use serde::Serialize;

/// Rows of a retry list shown in text (`--json` has them all).
pub const TEXT_ROWS: usize = 20;
/// Directly blocked packages shown per blocker in text (`--json` has them all).
pub const TEXT_BLOCKED: usize = 5;

/// `queue status --json`: the files read, then every field of [`QueueStatus`].
#[derive(Debug, Serialize)]
pub struct StatusDoc<'a> {
    /// The queue read.
    pub queue: &'a Path,
    /// The control file read.
    pub control_file: &'a Path,
    /// The status.
    #[serde(flatten)]
    pub status: &'a QueueStatus,
}

fn table(header: &[&str], right_from: usize) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN);
    t.set_header(header.to_vec());
    for i in right_from..header.len() {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// The text report: counts, retries, blockers, breakers and the next batch.
pub fn text(queue: &Path, s: &QueueStatus) -> String {
    let mut out = String::new();
    let scope = s
        .ecosystem
        .as_deref()
        .map_or(String::new(), |e| format!(", ecosystem {e}"));
    let _ = writeln!(
        out,
        "Queue {} at {}{scope}: {} entries\n",
        queue.display(),
        s.now,
        s.total
    );
    if s.total > 0 {
        let mut header = vec!["ecosystem"];
        header.extend(s.statuses.iter().map(String::as_str));
        header.push("total");
        let mut t = table(&header, 1);
        for row in &s.ecosystems {
            let mut cells = vec![if row.ecosystem.is_empty() {
                "(none)".to_owned()
            } else {
                row.ecosystem.clone()
            }];
            cells.extend(
                s.statuses
                    .iter()
                    .map(|st| row.by_status.get(st).copied().unwrap_or(0).to_string()),
            );
            cells.push(row.total.to_string());
            t.add_row(cells);
        }
        let mut total = vec!["total".to_owned()];
        total.extend(s.statuses.iter().map(|st| s.by_status[st].to_string()));
        total.push(s.total.to_string());
        t.add_row(total);
        let _ = writeln!(out, "{t}\n");
    }

    let r = &s.retries;
    let _ = writeln!(
        out,
        "Retries: {} due now, {} in the next 24 h, {} later",
        r.due_now.len(),
        r.next_24h.len(),
        r.later
    );
    retry_table(&mut out, "Due now", &r.due_now);
    retry_table(&mut out, "Due in the next 24 h", &r.next_24h);

    if !s.blockers.is_empty() {
        let _ = writeln!(out, "\nTop blockers (packages blocked, directly or not):");
        let _ = writeln!(out, "{}", blocker_table(&s.blockers));
    }

    let k = &s.kill_switch;
    let _ = writeln!(
        out,
        "\nKill switch: {}{}",
        if k.enabled {
            "batches enabled"
        } else {
            "OFF, no batch selects anything"
        },
        k.reason
            .as_deref()
            .filter(|r| !r.is_empty() && !k.enabled)
            .map_or(String::new(), |r| format!(" ({r})"))
    );
    if !k.disabled_ecosystems.is_empty() {
        let _ = writeln!(
            out,
            "Paused ecosystems: {}",
            k.disabled_ecosystems.join(", ")
        );
    }
    if !s.breakers.is_empty() {
        let _ = writeln!(out, "{}", breaker_table(&s.breakers));
    }

    let n = &s.next_batch;
    let per: Vec<String> = n
        .per_ecosystem
        .iter()
        .map(|(e, c)| format!("{e} {c}"))
        .collect();
    let _ = writeln!(
        out,
        "\nNext batch (batch size {}, tier {}): {} entries selected, {} of them half-open probes{}",
        n.batch_size,
        n.tier,
        n.selected,
        n.probes,
        if per.is_empty() {
            String::new()
        } else {
            format!(" ({})", per.join(", "))
        }
    );
    if n.invalid > 0 {
        let _ = writeln!(
            out,
            "{} invalid entries are skipped by selection",
            n.invalid
        );
    }
    out
}

fn retry_table(out: &mut String, title: &str, rows: &[Retry]) {
    if rows.is_empty() {
        return;
    }
    let mut t = table(&["entry", "source", "status", "retry at", "failures"], 4);
    for r in rows.iter().take(TEXT_ROWS) {
        t.add_row(vec![
            r.entry.clone(),
            r.source.clone(),
            r.status.clone(),
            r.next_retry_at.clone().unwrap_or_else(|| "-".to_owned()),
            r.failure_count.to_string(),
        ]);
    }
    let _ = writeln!(out, "{title}:\n{t}");
    if rows.len() > TEXT_ROWS {
        let _ = writeln!(
            out,
            "... and {} more (--json lists all)",
            rows.len() - TEXT_ROWS
        );
    }
}

fn blocker_table(rows: &[Blocker]) -> Table {
    let mut t = table(&["entry", "priority", "score", "blocks directly"], 1);
    if let Some(c) = t.column_mut(3) {
        c.set_cell_alignment(CellAlignment::Left);
    }
    for b in rows {
        let mut shown: Vec<&str> = b
            .blocks
            .iter()
            .take(TEXT_BLOCKED)
            .map(String::as_str)
            .collect();
        let more = b.blocks.len().saturating_sub(TEXT_BLOCKED);
        let tail = format!("+{more} more");
        if more > 0 {
            shown.push(&tail);
        }
        t.add_row(vec![
            b.entry.clone(),
            b.priority.to_string(),
            b.score.to_string(),
            shown.join(", "),
        ]);
    }
    t
}

fn breaker_table(rows: &[BreakerStatus]) -> Table {
    let mut t = table(
        &[
            "ecosystem",
            "state",
            "failures",
            "last failure",
            "next probe",
        ],
        2,
    );
    for c in [3, 4] {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Left);
        }
    }
    for b in rows {
        let probe = match &b.probe {
            Probe::NotNeeded => "-".to_owned(),
            Probe::NextRun => "next run".to_owned(),
            Probe::At { at } => at.clone(),
            Probe::Never => "never (no opens_at)".to_owned(),
            Probe::Unparseable { opens_at } => format!("never (opens_at {opens_at:?} unreadable)"),
        };
        t.add_row(vec![
            b.ecosystem.clone(),
            b.state.clone(),
            b.failures.to_string(),
            b.last_failure.clone().unwrap_or_else(|| "-".to_owned()),
            probe,
        ]);
    }
    t
}
