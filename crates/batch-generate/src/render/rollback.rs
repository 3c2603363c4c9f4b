//! What `rollback-plan` prints (issue #14): the recipe files with the sources that name them,
//! the queue entries to reset, and the git commands to review and run. `--json` prints the
//! library's [`RollbackPlan`] as is.

use std::fmt::Write as _;

use batch::history::RollbackPlan;
use batch::history::git::GitLookup;
use batch::history::rollback::Evidence;

fn evidence(e: &Evidence) -> String {
    match e {
        Evidence::Fragment { file } => format!("fragment {file}"),
        Evidence::FailureRecord { file } => format!("failure record {file}"),
        Evidence::GitTrailer { commit } => {
            format!("commit {}", commit.get(..12).unwrap_or(commit))
        }
    }
}

/// The text plan.
pub fn text(p: &RollbackPlan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Rollback plan for batch {}", p.batch_id);
    let _ = writeln!(s, "Looked in: {}", p.looked_in.join("; "));
    for m in &p.metrics {
        let _ = writeln!(
            s,
            "  metrics {} at {}: {} merged",
            m.file, m.timestamp, m.merged
        );
    }
    for f in &p.fragments {
        let _ = writeln!(s, "  fragment {f}");
    }
    match &p.git {
        GitLookup::Skipped => {}
        GitLookup::Unavailable { reason } => {
            let _ = writeln!(s, "  git: not searched ({reason})");
        }
        GitLookup::Searched { commits, .. } => {
            let _ = writeln!(s, "  git: {} commits with the trailer", commits.len());
        }
    }
    if p.recipes.is_empty() {
        s.push_str("\nNo recipe files found for this batch: nothing to roll back.\n");
        return s;
    }
    let _ = writeln!(s, "\nRecipe files ({}):", p.recipes.len());
    for r in &p.recipes {
        let found: Vec<String> = r.evidence.iter().map(evidence).collect();
        let gone = if r.exists { "" } else { " (already absent)" };
        let _ = writeln!(s, "  {}{gone}  [{}]", r.path, found.join(", "));
    }
    let _ = writeln!(s, "\nQueue entries to reset (success -> pending):");
    for q in &p.queue_resets {
        match &q.source {
            Some(src) => {
                let _ = writeln!(s, "  {} ({src})", q.name);
            }
            None => {
                let _ = writeln!(s, "  {}", q.name);
            }
        }
    }
    if p.commands.is_empty() {
        s.push_str("\nNo file exists any more: no git command to run.\n");
    } else {
        s.push_str("\nCommands (not run; review, then run them and open a PR):\n");
        for c in &p.commands {
            let _ = writeln!(s, "  {c}");
        }
    }
    s
}
