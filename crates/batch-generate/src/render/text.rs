//! Text for people: the dry-run plan, the one-line summaries of a run, a shard and a merge,
//! and the preflight's plan.

use std::fmt::Write as _;
use std::time::Duration;

use batch::Config;
use batch::records::BatchResults;
use batch::run::Plan;
use batch::runner::Exit;
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

/// `Batch complete: …` after a whole-batch run, with its wall time, the invalid count and the
/// entries not run (counted and named) when there are any.
pub fn run_summary(r: &BatchResults, invalid: usize, wall: Duration) -> String {
    let mut line = format!(
        "Batch complete: {} succeeded, {} failed, {} blocked ({} total) in {:.1}s",
        r.succeeded,
        r.failed,
        r.blocked,
        r.total,
        wall.as_secs_f64()
    );
    if invalid > 0 {
        let _ = write!(line, "; {invalid} invalid entries skipped");
    }
    line.push_str(&not_run_note(r.not_run.iter().map(|n| n.name.as_str())));
    line
}

/// How a generator process ended, in words: `ok`, `exit 6`, `killed by SIGKILL`, `timed out
/// after 900s`, `interrupted` (job log lines and failure log lines).
pub fn exit_words(exit: Exit) -> String {
    match exit {
        Exit::Code(0) => "ok".to_owned(),
        Exit::Code(c) => format!("exit {c}"),
        Exit::Signal(s) => format!("killed by {}", crate::signal::name(s)),
        Exit::TimedOut(d) => format!("timed out after {}s", d.as_secs()),
        Exit::Interrupted => "interrupted".to_owned(),
    }
}

/// `; N not run (a, b, c and K more)`, or nothing when every entry ran.
pub fn not_run_note<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 5;
    let n = names.len();
    if n == 0 {
        return String::new();
    }
    let shown: Vec<&str> = names.take(SHOWN).collect();
    let more = if n > SHOWN {
        format!(" and {} more", n - SHOWN)
    } else {
        String::new()
    };
    format!("; {n} not run ({}{more})", shown.join(", "))
}

/// The preflight's plan as `key=value` lines a POSIX shell can `eval` (values single-quoted
/// where needed), with `#` comment lines for people: the batch, the skip decision, the plan
/// time, the shards and their candidates (`shard_K`: names separated by spaces), the files
/// written.
pub fn preflight(p: &BatchPlan, dry_run: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# batch {}: {} candidate(s) in {} of {} shard(s){}{}",
        p.batch_id,
        p.candidates(),
        p.shards.len(),
        p.shard_count,
        if p.sampling() {
            "; budget above the sampling threshold"
        } else {
            ""
        },
        if dry_run {
            "; dry run, nothing written"
        } else {
            ""
        }
    );
    let shards: Vec<String> = p.shards.keys().map(u32::to_string).collect();
    let files: Vec<String> = p
        .files_written
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    for (key, value) in [
        ("batch_id", p.batch_id.clone()),
        ("planned_at", p.planned_at.to_string()),
        ("skip", p.skip.is_some().to_string()),
        ("reason", p.skip.clone().unwrap_or_default()),
        ("shard_count", p.shard_count.to_string()),
        ("shards", shards.join(" ")),
        ("candidates", p.candidates().to_string()),
        ("sampling", p.sampling().to_string()),
        ("files_written", files.join(" ")),
    ] {
        let _ = writeln!(s, "{key}={}", shell_quote(&value));
    }
    if !p.shards.is_empty() {
        let _ = writeln!(
            s,
            "# rate-limit bound unsharded: {:.1}s",
            p.unsharded_bound.as_secs_f64()
        );
    }
    for (k, entries) in &p.shards {
        let bound = p.rate_bounds.get(k).copied().unwrap_or_default();
        let _ = writeln!(
            s,
            "# shard {k}/{}: {} candidate(s), rate-limit bound {:.1}s",
            p.shard_count,
            entries.len(),
            bound.as_secs_f64()
        );
        for e in entries {
            let _ = writeln!(s, "#   {:<12} {}", e.ecosystem, e.name);
        }
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        let _ = writeln!(s, "shard_{k}={}", shell_quote(&names.join(" ")));
    }
    s
}

/// `value` as one POSIX shell word: unchanged when it only holds characters no shell treats
/// specially, else in single quotes (a `'` inside written as `'\''`).
pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@+,=%".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use batch::control::budget::BudgetState;
    use batch::shard::PlannedEntry;

    use super::*;

    #[test]
    fn not_run_note_names_the_first_five() {
        assert_eq!(not_run_note(std::iter::empty()), "");
        assert_eq!(not_run_note(["a", "b"].into_iter()), "; 2 not run (a, b)");
        let many = ["a", "b", "c", "d", "e", "f", "g"];
        assert_eq!(
            not_run_note(many.into_iter()),
            "; 7 not run (a, b, c, d, e and 2 more)"
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("2026-11-24T03:00:00Z"), "2026-11-24T03:00:00Z");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("1 3"), "'1 3'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
    }

    #[test]
    fn preflight_text_is_shell_lines_and_comments() {
        let e = |name: &str| PlannedEntry {
            index: 0,
            name: name.into(),
            source: format!("homebrew:{name}"),
            ecosystem: "homebrew".into(),
        };
        let plan = BatchPlan {
            skip: None,
            batch_id: "2026-11-24-all-002".into(),
            planned_at: "2026-11-24T03:00:00Z".parse().unwrap(),
            shard_count: 3,
            shards: BTreeMap::from([(1, vec![e("a"), e("b c")]), (3, vec![e("d")])]),
            per_ecosystem: BTreeMap::new(),
            budget: BudgetState::Ok,
            half_opened: Vec::new(),
            files_written: vec!["batch-control.json".into()],
            rate_bounds: BTreeMap::from([(1, Duration::from_secs(2)), (3, Duration::ZERO)]),
            unsharded_bound: Duration::from_secs(2),
        };
        let text = preflight(&plan, false);
        let shell: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            shell,
            [
                "batch_id=2026-11-24-all-002",
                "planned_at=2026-11-24T03:00:00Z",
                "skip=false",
                "reason=''",
                "shard_count=3",
                "shards='1 3'",
                "candidates=3",
                "sampling=false",
                "files_written=batch-control.json",
                "shard_1='a b c'",
                "shard_3=d",
            ]
        );
        assert!(
            text.starts_with("# batch 2026-11-24-all-002: 3 candidate(s) in 2 of 3 shard(s)\n")
        );
        assert!(
            preflight(&plan, true)
                .lines()
                .next()
                .unwrap()
                .ends_with("; dry run, nothing written")
        );
    }
}
