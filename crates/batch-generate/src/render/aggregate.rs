//! What `aggregate` prints (issue #13): the `--json` document and the text report, one line
//! per recipe with its fate, the platforms that did not report (issue #22), then the counts
//! and the files written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use batch::aggregate::{Applied, ExcludeCause, Fate, NotReported, Plan};
use serde::Serialize;

/// One recipe in `aggregate --json`.
#[derive(Debug, Serialize)]
pub struct RecipeDoc<'a> {
    /// Recipe name.
    pub name: &'a str,
    /// Path under `--output-dir`.
    pub path: &'a str,
    /// The queue entry's source.
    pub source: &'a str,
    /// `included`, `unvalidated`, `constrained` or `excluded`.
    pub fate: &'static str,
    /// The constraint line (constrained only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint: Option<&'a str>,
    /// The constraint was already in the recipe (constrained only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing: Option<bool>,
    /// `gate` or `failed_everywhere` (excluded only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// The exclusion reason (excluded only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// Excluded by an earlier aggregate (excluded only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already: Option<bool>,
}

/// A job platform whose results `aggregate` did not use, in `aggregate --json` (issue #22).
#[derive(Debug, Serialize)]
pub struct NotReportedDoc<'a> {
    /// `linux-x86_64`, ...
    pub platform: &'static str,
    /// `missing` (no validation row arrived) or `incomplete` (its results end with an
    /// `incomplete` row; every row of the platform was set aside).
    pub kind: &'static str,
    /// The recipe whose install showed the broken runner (incomplete only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipe: Option<&'a str>,
    /// Why the platform stopped, the `incomplete` row's message (incomplete only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// Rows set aside, the `incomplete` row included (incomplete only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_ignored: Option<usize>,
}

impl<'a> NotReportedDoc<'a> {
    fn new(n: &'a NotReported) -> Self {
        let mut doc = NotReportedDoc {
            platform: n.platform().as_str(),
            kind: n.kind(),
            recipe: None,
            message: None,
            rows_ignored: None,
        };
        if let NotReported::Incomplete {
            recipe,
            message,
            rows_ignored,
            ..
        } = n
        {
            doc.recipe = Some(recipe);
            doc.message = Some(message);
            doc.rows_ignored = Some(*rows_ignored);
        }
        doc
    }
}

/// `aggregate --json`: counts, the GitHub outputs, every recipe, the queue changes and the
/// files written (empty on a dry run).
#[derive(Debug, Serialize)]
pub struct AggregateDoc<'a> {
    /// The batch.
    pub batch_id: &'a str,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Included recipes (constrained and unvalidated ones too).
    pub included: u64,
    /// Excluded recipes.
    pub excluded: u64,
    /// Constrained recipes.
    pub constrained: u64,
    /// Every job platform reported rows.
    pub all_platforms_reported: bool,
    /// Whether the PR may be auto-merged.
    pub auto_merge: bool,
    /// The platforms that did not report (issue #22), in matrix order.
    pub not_reported: Vec<NotReportedDoc<'a>>,
    /// Results files read.
    pub results_files: &'a [PathBuf],
    /// Per recipe, by path.
    pub recipes: Vec<RecipeDoc<'a>>,
    /// Queue status changes.
    pub queue_changes: &'a [batch::aggregate::QueueChange],
    /// Failure lines (written or to write).
    pub failure_lines: usize,
    /// Files written.
    pub written: Vec<&'a Path>,
    /// Recipe files deleted.
    pub deleted: Vec<&'a Path>,
}

impl<'a> AggregateDoc<'a> {
    /// The document of a plan and, unless a dry run, what was applied.
    pub fn new(plan: &'a Plan, applied: Option<&'a Applied>) -> Self {
        let (included, excluded, constrained) = plan.counts();
        AggregateDoc {
            batch_id: &plan.options.batch_id,
            dry_run: applied.is_none(),
            included,
            excluded,
            constrained,
            all_platforms_reported: plan.all_platforms_reported,
            auto_merge: plan.auto_merge,
            not_reported: plan.not_reported.iter().map(NotReportedDoc::new).collect(),
            results_files: &plan.results_files,
            recipes: plan.recipes.iter().map(recipe_doc).collect(),
            queue_changes: &plan.queue_changes,
            failure_lines: plan.failures.len(),
            written: applied
                .map(|a| a.written.iter().map(PathBuf::as_path).collect())
                .unwrap_or_default(),
            deleted: applied
                .map(|a| a.deleted.iter().map(PathBuf::as_path).collect())
                .unwrap_or_default(),
        }
    }
}

fn recipe_doc(r: &batch::aggregate::RecipeDecision) -> RecipeDoc<'_> {
    let mut doc = RecipeDoc {
        name: &r.name,
        path: &r.path,
        source: &r.source,
        fate: fate_word(&r.fate),
        constraint: None,
        existing: None,
        cause: None,
        reason: None,
        already: None,
    };
    match &r.fate {
        Fate::Constrained { line, existing, .. } => {
            doc.constraint = Some(line);
            doc.existing = Some(*existing);
        }
        Fate::Excluded {
            cause,
            reason,
            already,
        } => {
            doc.cause = Some(cause_word(*cause));
            doc.reason = Some(reason);
            doc.already = Some(*already);
        }
        _ => {}
    }
    doc
}

fn fate_word(f: &Fate) -> &'static str {
    match f {
        Fate::Included => "included",
        Fate::Unvalidated => "unvalidated",
        Fate::Constrained { .. } => "constrained",
        Fate::Excluded { .. } => "excluded",
    }
}

fn cause_word(c: ExcludeCause) -> &'static str {
    match c {
        ExcludeCause::Gate => "gate",
        ExcludeCause::FailedEverywhere => "failed_everywhere",
    }
}

/// The text report: one line per recipe, queue changes, counts, then the files.
pub fn text(plan: &Plan, applied: Option<&Applied>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Batch {}:", plan.options.batch_id);
    for r in &plan.recipes {
        let detail = match &r.fate {
            Fate::Included | Fate::Unvalidated => String::new(),
            Fate::Constrained { line, existing, .. } => {
                if *existing {
                    format!(": {line} (existing, unchanged)")
                } else {
                    format!(": {line}")
                }
            }
            Fate::Excluded { reason, .. } => format!(": {reason}"),
        };
        let _ = writeln!(out, "  {:<11} {}{detail}", fate_word(&r.fate), r.path);
    }
    for n in &plan.not_reported {
        let _ = match n {
            NotReported::Missing { platform } => {
                writeln!(out, "  not reported: {platform}: no results")
            }
            NotReported::Incomplete {
                platform,
                recipe,
                message,
                ..
            } => {
                // The first line of the reason, as in the PR text (200 characters at most).
                let line = message.lines().map(str::trim).find(|l| !l.is_empty());
                let line: String = line.unwrap_or("").chars().take(200).collect();
                writeln!(
                    out,
                    "  not reported: {platform}: incomplete at {recipe}: {line}"
                )
            }
        };
    }
    for c in &plan.queue_changes {
        let _ = writeln!(out, "  queue: {} {} -> {}", c.name, c.from, c.to);
    }
    let (i, e, c) = plan.counts();
    let _ = writeln!(
        out,
        "{i} included ({c} constrained), {e} excluded; all platforms reported: {}; auto-merge: {}",
        yes_no(plan.all_platforms_reported),
        yes_no(plan.auto_merge)
    );
    match applied {
        None => {
            let _ = writeln!(out, "Dry run: nothing was written.");
        }
        Some(a) => {
            for p in &a.written {
                let _ = writeln!(out, "wrote {}", p.display());
            }
            for p in &a.deleted {
                let _ = writeln!(out, "deleted {}", p.display());
            }
        }
    }
    out
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
