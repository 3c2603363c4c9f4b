//! What `queue maintain` prints (spec §4.9, issue #14): the typed `--json` document and the
//! text report, one section per step with every change.

use std::fmt::Write as _;
use std::path::Path;

use batch::maintain::{
    MaintainOutcome, MaintainReport, MarkReport, Reason, ReorderReport, RequeueReport, Skipped,
    StatusChange, Stuck,
};
use serde::Serialize;

/// `queue maintain --json`: the files, whether anything was written, and each step's changes
/// (entry, from, to, reason); a skipped step is `null`.
#[derive(Debug, Serialize)]
pub struct MaintainDoc<'a> {
    /// The queue read.
    pub queue: &'a Path,
    /// The file written, or `null` (dry run, or nothing changed).
    pub written: Option<&'a Path>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Whether any step changed the queue.
    pub changed: bool,
    /// Failure files read.
    pub files: usize,
    /// Record lines read.
    pub records: u64,
    /// Lines skipped, by kind.
    pub skipped: Skipped,
    /// mark-failures.
    pub mark_failures: Option<&'a MarkReport>,
    /// requeue.
    pub requeue: Option<&'a RequeueReport>,
    /// reorder.
    pub reorder: Option<&'a ReorderReport>,
}

impl<'a> MaintainDoc<'a> {
    /// The document of one run.
    pub fn new(queue: &'a Path, outcome: &'a MaintainOutcome, dry_run: bool) -> Self {
        let r = &outcome.report;
        Self {
            queue,
            written: outcome.written.as_deref(),
            dry_run,
            changed: r.changed(),
            files: r.files,
            records: r.records,
            skipped: r.skipped,
            mark_failures: r.mark_failures.as_ref(),
            requeue: r.requeue.as_ref(),
            reorder: r.reorder.as_ref(),
        }
    }
}

/// The text report: one section per step that ran, every change on its own line, then what
/// was read and skipped and what was written.
pub fn text(outcome: &MaintainOutcome, dry_run: bool) -> String {
    let r: &MaintainReport = &outcome.report;
    let mut s = String::new();
    if let Some(m) = &r.mark_failures {
        let _ = writeln!(s, "mark-failures: {} changes", m.changes.len());
        for c in &m.changes {
            change_line(&mut s, c);
        }
    }
    if let Some(q) = &r.requeue {
        let _ = writeln!(
            s,
            "requeue: {} released, {} still blocked",
            q.changes.len(),
            q.remaining
        );
        for c in &q.changes {
            change_line(&mut s, c);
        }
        for st in &q.stuck {
            let _ = match st {
                Stuck::NoRecordedDependencies { entry } => {
                    writeln!(
                        s,
                        "  stuck {entry}: no failure record names its dependencies"
                    )
                }
                Stuck::UnknownDependencies {
                    entry,
                    dependencies,
                } => writeln!(
                    s,
                    "  stuck {entry}: dependencies in no queue entry: {}",
                    dependencies.join(", ")
                ),
            };
        }
    }
    if let Some(o) = &r.reorder {
        let _ = writeln!(s, "reorder: {} entries moved", o.moves.len());
        // `  name: from -> to (priority P, score S)`, without `fmt`: a reorder can move
        // almost every entry.
        let mut n = itoa::Buffer::new();
        for m in &o.moves {
            s.reserve(m.entry.len() + 64);
            s.push_str("  ");
            s.push_str(&m.entry);
            s.push_str(": ");
            s.push_str(n.format(m.from));
            s.push_str(" -> ");
            s.push_str(n.format(m.to));
            s.push_str(" (priority ");
            s.push_str(n.format(m.priority));
            s.push_str(", score ");
            s.push_str(n.format(m.score));
            s.push_str(")\n");
        }
        if !o.top_scores.is_empty() {
            let top: Vec<String> = o
                .top_scores
                .iter()
                .map(|t| format!("{} {}", t.entry, t.score))
                .collect();
            let _ = writeln!(s, "  top blocking scores: {}", top.join(", "));
        }
    }
    let k = r.skipped;
    let _ = writeln!(
        s,
        "Read {} failure files, {} records; skipped {} lines ({} blank, {} malformed, {} over 1 MiB)",
        r.files,
        r.records,
        k.total(),
        k.blank,
        k.malformed,
        k.oversized
    );
    let _ = match (&outcome.written, dry_run) {
        (Some(p), _) => writeln!(s, "Queue written to {}", p.display()),
        (None, true) => writeln!(s, "Dry run: nothing was written."),
        (None, false) => writeln!(s, "Nothing changed: nothing was written."),
    };
    s
}

/// One status change, indented: `  entry (source): from -> to (why)`; shared with
/// `queue reconcile`'s report.
pub(crate) fn change_line(s: &mut String, c: &StatusChange) {
    let why = match &c.reason {
        Reason::NewFailures {
            records,
            next_retry_at,
        } => format!(
            "{records} failure records; retry {}",
            next_retry_at.as_deref().unwrap_or("at once")
        ),
        Reason::MissingDependencies {
            records,
            blocked_by,
        } => format!(
            "{records} failure records; blocked by {}",
            blocked_by.join(", ")
        ),
        Reason::RetryDue { next_retry_at } => format!(
            "retry time {} passed",
            next_retry_at.as_deref().unwrap_or("(none)")
        ),
        Reason::DependenciesResolved { resolved_by } => {
            format!("resolved by {}", resolved_by.join(", "))
        }
        Reason::RecipeOnDisk {
            recipe,
            recipe_source,
            curated,
        } => {
            let source = match (recipe_source, curated) {
                (Some(src), true) => format!("; source {src} differs: confidence curated"),
                (Some(src), false) => format!("; source {src}"),
                (None, _) => "; source unknown".to_owned(),
            };
            format!("recipe {recipe}{source}")
        }
    };
    let _ = writeln!(
        s,
        "  {} ({}): {} -> {} ({why})",
        c.entry, c.source, c.from, c.to
    );
}
