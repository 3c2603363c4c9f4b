//! The Markdown batch summary (spec §1.6).

use std::fmt::Write as _;

use super::failure::FailureRecord;
use super::results::BatchResults;
use crate::generator::Category;

/// Longest failure reason the summary shows, in characters; longer ones are cut and end with
/// `…`.
pub const MAX_REASON_CHARS: usize = 200;

/// The reason a failure line shows (issue #22): `headline` of the record's message (tsuku's
/// is the first line that is not one of its notices, as the live log and `--joblog` show it), made safe inside a Markdown code span (backticks turned
/// into `'`, control characters into spaces, as the PR text's reasons) and cut to
/// [`MAX_REASON_CHARS`]; `None` for a blank message.
fn reason(message: &str, headline: fn(&str) -> &str) -> Option<String> {
    let line = headline(message).trim();
    if line.is_empty() {
        return None;
    }
    Some(crate::text::code_span_text(&crate::text::cut_chars(
        line,
        MAX_REASON_CHARS,
    )))
}

/// Renders the Markdown summary (spec §1.6 template). Deliberate changes: the ecosystem table
/// is sorted by ecosystem (Go's order was random), an `Invalid` row follows `Blocked` when
/// entries were skipped as invalid, and a `Not run` row and section list the selected entries
/// that did not run (issue #12); a `not run: ECO unreachable (N entries)` line follows for each
/// ecosystem declared unreachable (issue #22), and a failure line ends with its reason, the
/// record's headline as a code span (``- **pkg**: category: `reason` ``, issue #22; blocked
/// entries keep `blocked by [...]`). `recipes` are file basenames in processing order;
/// `headline` picks a message's line ([`Config::headline`](crate::config::Config::headline)).
pub fn render_summary(
    results: &BatchResults,
    recipes: &[String],
    failures: &[FailureRecord],
    invalid: usize,
    headline: fn(&str) -> &str,
) -> String {
    let mut s = String::new();
    let label = match results.ecosystems.len() {
        1 => results
            .ecosystems
            .keys()
            .next()
            .map_or("mixed", String::as_str),
        _ => "mixed",
    };
    let _ = writeln!(s, "Batch run for **{label}** on {}.", results.batch_id);
    s.push('\n');
    if results.per_ecosystem.len() > 1 {
        s.push_str("### Ecosystem breakdown\n\n");
        s.push_str("| Ecosystem | Succeeded | Failed | Total |\n");
        s.push_str("|-----------|-----------|--------|-------|\n");
        for (eco, c) in &results.per_ecosystem {
            let _ = writeln!(
                s,
                "| {eco} | {} | {} | {} |",
                c.succeeded, c.failed, c.total
            );
        }
        s.push('\n');
    }
    s.push_str("| Metric | Count |\n|--------|-------|\n");
    let _ = writeln!(s, "| Succeeded | {} |", results.succeeded);
    let _ = writeln!(s, "| Failed | {} |", results.failed);
    let _ = writeln!(s, "| Blocked | {} |", results.blocked);
    if invalid > 0 {
        let _ = writeln!(s, "| Invalid | {invalid} |");
    }
    let _ = writeln!(s, "| **Total** | **{}** |", results.total);
    if !results.not_run.is_empty() {
        let _ = writeln!(s, "| Not run | {} |", results.not_run.len());
    }
    let count = |reason: &str| {
        results
            .not_run
            .iter()
            .filter(|n| n.reason == reason)
            .count()
    };
    let (budget, stopped) = (
        count(crate::run::BUDGET_REACHED),
        count(crate::run::BUDGET_STOPPED),
    );
    if budget + stopped > 0 {
        let _ = write!(s, "\nbudget reached: {budget} entries not started");
        if stopped > 0 {
            let _ = write!(s, ", {stopped} stopped at the deadline");
        }
        s.push('\n');
    }
    // Ecosystems declared unreachable (issue #22), one line each, as the run's final lines.
    let mut unreachable: std::collections::BTreeMap<&str, usize> = Default::default();
    for eco in results
        .not_run
        .iter()
        .filter_map(|n| crate::run::unreachable_ecosystem(&n.reason))
    {
        *unreachable.entry(eco).or_default() += 1;
    }
    for (eco, n) in unreachable {
        let _ = writeln!(s, "\nnot run: {eco} unreachable ({n} entries)");
    }
    if !recipes.is_empty() {
        s.push_str("\n### Recipes added\n\n");
        for r in recipes {
            let _ = writeln!(s, "- `{r}`");
        }
    }
    if !results.not_run.is_empty() {
        s.push_str("\n### Not run\n\n");
        for n in &results.not_run {
            let _ = writeln!(s, "- **{}**: {}", n.source, n.reason);
        }
    }
    if !failures.is_empty() {
        s.push_str("\n### Failures\n\n");
        for f in failures {
            if f.category == Category::MissingDep && !f.blocked_by.is_empty() {
                let _ = writeln!(
                    s,
                    "- **{}**: blocked by [{}]",
                    f.package_id,
                    f.blocked_by.join(" ")
                );
            } else {
                let _ = write!(s, "- **{}**: {}", f.package_id, f.category.as_str());
                if let Some(reason) = reason(&f.message, headline) {
                    let _ = write!(s, ": `{reason}`");
                }
                s.push('\n');
            }
        }
    }
    s
}
