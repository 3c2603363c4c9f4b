//! What `queue reconcile` prints (spec §7.6, issue #14): the typed `--json` document and the
//! text report, every change on its own line (the same line as `queue maintain`'s).

use std::fmt::Write as _;
use std::path::Path;

use batch::inventory::ReconcileOutcome;
use batch::inventory::reconcile::RecipeProblem;
use batch::maintain::changes::StatusChange;
use serde::Serialize;

use super::maintain::change_line;

/// `queue reconcile --json`: the files, whether anything was written, every change (entry,
/// source, from, to, reason `recipe_on_disk` with the recipe, its source and whether the entry
/// became `curated`), the recipes that do not parse and the misplaced files.
#[derive(Debug, Serialize)]
pub struct ReconcileDoc<'a> {
    /// The queue read.
    pub queue: &'a Path,
    /// The recipes directory.
    pub recipes_dir: &'a Path,
    /// The file written, or `null` (dry run, or nothing changed).
    pub written: Option<&'a Path>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Whether the queue changed.
    pub changed: bool,
    /// `*.toml` files found.
    pub recipes: usize,
    /// Entries that became `success`, in queue order.
    pub changes: &'a [StatusChange],
    /// Recipes of entries that would change but do not parse (entry unchanged).
    pub unparsable: &'a [RecipeProblem],
    /// Files not at `<letter>/<name>.toml` for the name they spell (ignored).
    pub misplaced: &'a [String],
}

impl<'a> ReconcileDoc<'a> {
    /// The document of one run.
    pub fn new(
        queue: &'a Path,
        recipes_dir: &'a Path,
        outcome: &'a ReconcileOutcome,
        dry_run: bool,
    ) -> Self {
        let r = &outcome.report;
        Self {
            queue,
            recipes_dir,
            written: outcome.written.as_deref(),
            dry_run,
            changed: r.changed(),
            recipes: r.recipes,
            changes: &r.changes,
            unparsable: &r.unparsable,
            misplaced: &r.misplaced,
        }
    }
}

/// The text report: the changes, the recipes skipped and why, then what was written.
pub fn text(outcome: &ReconcileOutcome, dry_run: bool) -> String {
    let r = &outcome.report;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "reconcile: {} recipes found, {} entries -> success",
        r.recipes,
        r.changes.len()
    );
    for c in &r.changes {
        change_line(&mut s, c);
    }
    for p in &r.unparsable {
        let _ = writeln!(
            s,
            "  skipped {} (entry {}): does not parse: {}",
            p.recipe,
            p.entry.as_deref().unwrap_or("-"),
            p.error.replace('\n', "\n    ")
        );
    }
    for m in &r.misplaced {
        let _ = writeln!(
            s,
            "  ignored {m}: not at <first letter>/<name>.toml for the name it spells"
        );
    }
    let _ = match (&outcome.written, dry_run) {
        (Some(p), _) => writeln!(s, "Queue written to {}", p.display()),
        (None, true) => writeln!(s, "Dry run: nothing was written."),
        (None, false) => writeln!(s, "Nothing changed: nothing was written."),
    };
    s
}
