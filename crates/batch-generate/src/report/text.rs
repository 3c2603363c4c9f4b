//! Text for people: the dry-run plan, the one-line summaries of a run, a shard and a merge,
//! and the preflight's plan.

use std::fmt::Write as _;

use batch::Config;
use batch::records::BatchResults;
use batch::run::Plan;
use batch::shard::BatchPlan;

/// The `--dry-run` plan as text.
pub fn render_plan(config: &Config, plan: &Plan) -> String {
    let mut s = String::new();
    let n = plan.selection.candidates.len();
    let _ = writeln!(
        s,
        "Plan: {n} candidate(s) from `{}` (batch size {}, tier {}, jobs {})",
        config.queue.display(),
        config.select.batch_size,
        config.select.tier,
        config.jobs
    );
    if n > 0 {
        let width = plan
            .selection
            .candidates
            .iter()
            .map(|c| plan.queue.entries[c.index].ecosystem().len())
            .max()
            .unwrap_or(0)
            .max("ecosystem".len());
        let _ = writeln!(
            s,
            "\n  {:>4}  {:<width$}  {:>8}  {:<30}  name",
            "#", "ecosystem", "priority", "reason"
        );
        for (i, c) in plan.selection.candidates.iter().enumerate() {
            let e = &plan.queue.entries[c.index];
            let _ = writeln!(
                s,
                "  {:>4}  {:<width$}  {:>8}  {:<30}  {}",
                i + 1,
                e.ecosystem(),
                e.priority,
                c.reason.label(),
                e.name
            );
        }
        s.push_str("\nPer ecosystem:\n");
        for (eco, count) in plan.counts() {
            let _ = writeln!(
                s,
                "  {eco:<width$}  {count:>5}  (one start per {:?})",
                config.rate_limit.period(eco)
            );
        }
        let _ = writeln!(
            s,
            "\nRate-limit lower bound on wall time: {:?} (plus one entry's generator time)",
            config.rate_limit.lower_bound(plan.counts())
        );
    }
    if !plan.selection.invalid.is_empty() {
        let _ = writeln!(
            s,
            "\nInvalid entries skipped: {}",
            plan.selection.invalid.len()
        );
        for inv in &plan.selection.invalid {
            let _ = writeln!(
                s,
                "  entry {} {:?}: {}",
                inv.index,
                inv.name,
                inv.problems.join("; ")
            );
        }
    }
    s.push_str("\nDry run: nothing was run or written.\n");
    s
}

/// `Batch complete: …` after a whole-batch run, with the invalid and not-run counts when
/// there are any.
pub fn run_summary(r: &BatchResults, invalid: usize, not_run: usize) -> String {
    let mut line = format!(
        "Batch complete: {} succeeded, {} failed, {} blocked ({} total)",
        r.succeeded, r.failed, r.blocked, r.total
    );
    if invalid > 0 {
        let _ = write!(line, "; {invalid} invalid entries skipped");
    }
    if not_run > 0 {
        let _ = write!(line, "; {not_run} not run");
    }
    line
}

/// The preflight's plan: batch ID, then the skip reason or each shard's candidates.
pub fn preflight(p: &BatchPlan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Batch {}", p.batch_id);
    if let Some(reason) = &p.skip {
        let _ = writeln!(s, "Skip: {reason}");
        return s;
    }
    let _ = writeln!(
        s,
        "{} candidate(s) in {} of {} shard(s){}",
        p.candidates(),
        p.shards.len(),
        p.shard_count,
        if p.sampling() {
            "; budget above the sampling threshold"
        } else {
            ""
        }
    );
    // Shards in the order of their names as text, as the JSON document's `plan` keys.
    let mut shards: Vec<_> = p.shards.iter().map(|(k, v)| (k.to_string(), v)).collect();
    shards.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, entries) in shards {
        let _ = writeln!(s, "\nShard {k}/{}:", p.shard_count);
        for e in entries {
            let _ = writeln!(s, "  {:<12} {}", e.ecosystem, e.name);
        }
    }
    s
}
