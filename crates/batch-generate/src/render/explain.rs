//! What `explain` prints (issue #23): the typed `--json` document and, for people, one block
//! per entry: the verdict, every rule with its outcome, the breaker, the blockers, the last
//! failures and the recipe.

use std::fmt::Write as _;
use std::path::Path;

use batch::inventory::explain::{ExplainReport, Explanation, Outcome, Rule};
use batch::inventory::status::Probe;
use serde::Serialize;

/// `explain --json`: the files read, then every field of [`ExplainReport`].
#[derive(Debug, Serialize)]
pub struct ExplainDoc<'a> {
    /// The queue read.
    pub queue: &'a Path,
    /// The control file read.
    pub control_file: &'a Path,
    /// The answer.
    #[serde(flatten)]
    pub report: &'a ExplainReport,
}

/// The label a rule has in text.
pub fn rule_label(rule: Rule) -> &'static str {
    match rule {
        Rule::KillSwitch => "kill switch",
        Rule::Strict => "--strict",
        Rule::Valid => "valid entry",
        Rule::Status => "status",
        Rule::EcosystemFilter => "--ecosystem",
        Rule::Disabled => "paused ecosystems",
        Rule::Breaker => "circuit breaker",
        Rule::Tier => "--tier",
        Rule::Backoff => "next_retry_at",
        Rule::Probe => "half-open probe",
        Rule::BatchSize => "--batch-size",
    }
}

/// The text report: a header with the run's settings, then one block per entry.
pub fn text(queue: &Path, r: &ExplainReport) -> String {
    let mut out = String::new();
    let ecos = if r.ecosystems.is_empty() {
        "all ecosystems".to_owned()
    } else {
        format!("--ecosystem {}", r.ecosystems.join(","))
    };
    let _ = writeln!(
        out,
        "Next run on {} at {} (batch size {}, tier {}, {ecos}{}{}): {} candidates{}",
        queue.display(),
        r.now,
        r.batch_size,
        r.tier,
        if r.retry_failed {
            ", --retry-failed"
        } else {
            ""
        },
        r.shards.map_or(String::new(), |n| format!(", {n} shards")),
        r.candidates,
        if r.enabled {
            ""
        } else {
            " (the kill switch is off)"
        },
    );
    for x in &r.entries {
        out.push('\n');
        entry(&mut out, x);
    }
    out
}

fn entry(out: &mut String, x: &Explanation) {
    let _ = writeln!(
        out,
        "{} ({}), entry {}: {}",
        x.name, x.source, x.index, x.summary
    );
    let _ = writeln!(
        out,
        "  status {}, priority {}, failure_count {}, next_retry_at {}",
        x.status,
        x.priority,
        x.failure_count,
        x.next_retry_at.as_deref().unwrap_or("-")
    );
    for c in &x.checks {
        let mark = match c.outcome {
            Outcome::Pass => "ok  ",
            Outcome::Fail => "NO  ",
            Outcome::Bypassed => "skip",
        };
        let _ = writeln!(out, "  {mark} {:<17} {}", rule_label(c.rule), c.detail);
    }
    let b = &x.breaker;
    let probe = match &b.probe {
        Probe::NotNeeded => "no probe needed".to_owned(),
        Probe::NextRun => "probes next run".to_owned(),
        Probe::At { at } => format!("next probe at {at}"),
        Probe::Never => "never probes (no opens_at)".to_owned(),
        Probe::Unparseable { opens_at } => {
            format!("never probes (opens_at {opens_at:?} unreadable)")
        }
    };
    let _ = writeln!(
        out,
        "  breaker: {} for the next run (stored: {}), {probe}",
        b.next_run,
        b.stored.as_deref().unwrap_or("none")
    );
    if x.blocked_by.is_empty() {
        let _ = writeln!(out, "  blocked by: nothing on record");
    } else {
        let _ = writeln!(out, "  blocked by:");
        for d in &x.blocked_by {
            let _ = writeln!(
                out,
                "    {}{} ({}){}",
                "  ".repeat(d.depth.saturating_sub(1)),
                d.name,
                d.status.as_deref().unwrap_or("not in the queue"),
                if d.repeated { ", listed above" } else { "" }
            );
        }
    }
    if let Some(r) = &x.requeue {
        let _ = writeln!(out, "  requeue: {r}");
    }
    if !x.blocks.is_empty() {
        let _ = writeln!(out, "  blocks directly: {}", x.blocks.join(", "));
    }
    let f = &x.failures;
    if f.total == 0 {
        let _ = writeln!(out, "  failures: none on record");
    } else {
        let _ = writeln!(out, "  failures: {} on record, newest last:", f.total);
        for n in &f.last {
            let platform = if n.platform.is_empty() {
                String::new()
            } else {
                format!(" on {}", n.platform)
            };
            let when = if n.timestamp.is_empty() {
                "-"
            } else {
                &n.timestamp
            };
            let category = if n.category.is_empty() {
                "-"
            } else {
                &n.category
            };
            let message: String = n
                .message
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(160)
                .collect();
            let _ = writeln!(out, "    {when} {category}{platform}: {message}");
        }
    }
    let _ = writeln!(
        out,
        "  recipe: {}",
        match (&x.recipe.path, x.recipe.on_disk) {
            (Some(p), true) => format!("{p} (on disk)"),
            (Some(p), false) => format!("{p} (not on disk)"),
            (None, _) => "none (the name maps to no safe path)".to_owned(),
        }
    );
}
