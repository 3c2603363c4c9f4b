//! `queue reconcile` (spec §7.6, issue #14): entries whose recipe is on disk become `success`,
//! as tsuku's `update-queue-status.yml` does, with its defects fixed (spec §9.3.5): the
//! recipe's source is read from its parsed TOML with the queue's ecosystem names, and nested
//! tap recipes are found ([`super::recipes`] has the file → entry rule).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use batch_base::clock::Clock;
use serde::Serialize;

use super::recipes::{self, RecipeFile, canonical_source, recipe_source};
use crate::Queue;
use crate::lock::{LockError, RunLock};
use crate::maintain::changes::{Reason, StatusChange};
use crate::queue::{QueueError, Status};

/// A recipe file that was reported and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipeProblem {
    /// The file, relative to the recipes directory, `/`-separated.
    pub recipe: String,
    /// The entry it belongs to, if any.
    pub entry: Option<String>,
    /// What is wrong (the TOML parser's message, with line and column).
    pub error: String,
}

/// What a reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// `*.toml` files found under the recipes directory.
    pub recipes: usize,
    /// Entries that became `success`, in queue order (reason [`Reason::RecipeOnDisk`]).
    pub changes: Vec<StatusChange>,
    /// Recipes of entries that would change but do not parse: reported, entry unchanged.
    pub unparsable: Vec<RecipeProblem>,
    /// Files not at the recipe path of the name they spell (`<letter>/<name>.toml`), ignored.
    pub misplaced: Vec<String>,
}

impl ReconcileReport {
    /// Whether the queue changed.
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// How a recipe is read: its text by relative path (tests pass a map, the run reads files).
pub(crate) type ReadRecipe<'a> = dyn FnMut(&Path) -> std::io::Result<String> + 'a;

/// Marks every entry that is neither `success` nor `excluded` and has a recipe in `files`
/// `success`; when the recipe's source ([`recipe_source`]) is known and differs from the
/// entry's (compared with [`canonical_source`], so `cargo:x` equals `crates.io:x`), its
/// `confidence` becomes `curated` (spec §7.6). A recipe that cannot be read or parsed is
/// reported in [`ReconcileReport::unparsable`] and its entry left unchanged. Idempotent.
pub fn reconcile_queue(
    queue: &mut Queue,
    files: &[RecipeFile],
    read: &mut ReadRecipe<'_>,
) -> ReconcileReport {
    let mut report = ReconcileReport {
        recipes: files.len(),
        ..ReconcileReport::default()
    };
    let mut by_name: HashMap<&str, &RecipeFile> = HashMap::new();
    for f in files {
        match &f.name {
            Some(n) => {
                by_name.insert(n.as_str(), f);
            }
            None => report.misplaced.push(slash(&f.rel)),
        }
    }
    for e in &mut queue.entries {
        if matches!(e.status, Status::Success | Status::Excluded) {
            continue;
        }
        let Some(file) = by_name.get(e.name.as_str()) else {
            continue;
        };
        let recipe = slash(&file.rel);
        let parsed = read(&file.rel)
            .map_err(|err| err.to_string())
            .and_then(|text| toml::from_str::<toml::Table>(&text).map_err(|err| err.to_string()));
        let table = match parsed {
            Ok(t) => t,
            Err(error) => {
                report.unparsable.push(RecipeProblem {
                    recipe,
                    entry: Some(e.name.clone()),
                    error: error.trim_end().to_owned(),
                });
                continue;
            }
        };
        let found = recipe_source(&table, &e.name);
        let curated = found
            .as_deref()
            .is_some_and(|s| s != canonical_source(&e.source))
            && e.confidence != "curated";
        report.changes.push(StatusChange {
            entry: e.name.clone(),
            source: e.source.clone(),
            from: e.status.to_string(),
            to: Status::Success.to_string(),
            reason: Reason::RecipeOnDisk {
                recipe,
                recipe_source: found,
                curated,
            },
        });
        e.status = Status::Success;
        if curated {
            e.confidence = "curated".to_owned();
        }
    }
    report
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Where a reconcile reads and writes.
#[derive(Debug, Clone)]
pub struct ReconcileFiles {
    /// The queue (also the lock's subject).
    pub queue: PathBuf,
    /// The recipes directory (`<letter>/<name>.toml`, nested for tap names).
    pub recipes: PathBuf,
    /// Where the result goes [default: the queue].
    pub output: Option<PathBuf>,
}

/// What happened on disk.
#[derive(Debug)]
pub struct ReconcileOutcome {
    /// The changes.
    pub report: ReconcileReport,
    /// The file written, if any (none for a dry run, or when nothing changed and the output
    /// is the queue itself).
    pub written: Option<PathBuf>,
}

/// Errors of a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The run lock is held ([`LockError::Held`], the binary's exit 3) or could not be taken.
    #[error("cannot take the run lock")]
    Lock(#[from] LockError),
    /// The queue could not be loaded or saved.
    #[error("cannot use the queue file")]
    Queue(#[from] QueueError),
    /// The recipes directory (or one below it) could not be listed.
    #[error("failed to list the recipes directory `{path}`")]
    Recipes {
        /// The recipes directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Runs [`reconcile_queue`] on disk, as `queue maintain` does ([`crate::maintain::maintain_files`]): under the
/// queue's lock (none for a dry run, which writes nothing), the output replaced atomically
/// ([`Queue::save`]) unless nothing changed and it is the queue itself.
///
/// # Errors
/// [`ReconcileError::Lock`] when another run holds the lock (nothing read or written), queue
/// load/save errors, [`ReconcileError::Recipes`] when the recipes directory cannot be listed.
pub fn reconcile_files(
    files: &ReconcileFiles,
    dry_run: bool,
    clock: &dyn Clock,
) -> Result<ReconcileOutcome, ReconcileError> {
    let _lock = if dry_run {
        None
    } else {
        Some(RunLock::acquire(&files.queue)?)
    };
    let mut queue = Queue::load(&files.queue)?;
    let list = recipes::list(&files.recipes).map_err(|source| ReconcileError::Recipes {
        path: files.recipes.clone(),
        source,
    })?;
    let dir = files.recipes.clone();
    let report = reconcile_queue(&mut queue, &list, &mut |rel| {
        std::fs::read_to_string(dir.join(rel))
    });
    let output: &Path = files.output.as_deref().unwrap_or(&files.queue);
    let to_other_file = files.output.as_deref().is_some_and(|o| o != files.queue);
    let written = if !dry_run && (report.changed() || to_other_file) {
        queue.save(output, clock.now())?;
        Some(output.to_owned())
    } else {
        None
    };
    Ok(ReconcileOutcome { report, written })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueEntry;

    fn queue(entries: Vec<QueueEntry>) -> Queue {
        let mut q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
        q.entries = entries;
        q
    }

    fn entry(name: &str, source: &str, status: Status) -> QueueEntry {
        let mut e = QueueEntry::new(name, source, 1);
        e.status = status;
        e
    }

    fn file(rel: &str) -> RecipeFile {
        RecipeFile {
            rel: PathBuf::from(rel),
            name: recipes::name_of_path(Path::new(rel)),
        }
    }

    fn run(q: &mut Queue, recipes: &[(&str, &str)]) -> ReconcileReport {
        let files: Vec<RecipeFile> = recipes.iter().map(|(r, _)| file(r)).collect();
        let texts: HashMap<PathBuf, String> = recipes
            .iter()
            .map(|(r, t)| (PathBuf::from(r), (*t).to_owned()))
            .collect();
        reconcile_queue(q, &files, &mut |rel| Ok(texts[rel].clone()))
    }

    const CARGO: &str = "[[steps]]\naction = \"cargo_install\"\ncrate = \"bat\"\n";
    const TAP: &str = "[[steps]]\naction = \"homebrew\"\nformula = \"anomalyco/tap/opencode\"\n";
    const BREW: &str = "[[steps]]\naction = \"homebrew\"\nformula = \"opencode\"\n";

    #[test]
    fn recipes_on_disk_make_entries_success_and_differing_sources_curated() {
        let mut q = queue(vec![
            entry("bat", "cargo:bat", Status::Pending), // same package: stays auto
            entry("fd", "homebrew:fd", Status::Failed), // recipe says crates.io: curated
            entry(
                "anomalyco/tap/opencode",
                "homebrew:anomalyco/tap/opencode",
                Status::Blocked,
            ),
            entry("gone", "npm:gone", Status::Excluded), // never touched
            entry("done", "npm:done", Status::Success),
            entry("none", "npm:none", Status::Pending), // no recipe
        ]);
        let r = run(
            &mut q,
            &[
                ("b/bat.toml", CARGO),
                (
                    "f/fd.toml",
                    "[[steps]]\naction = \"cargo_install\"\ncrate = \"fd-find\"\n",
                ),
                ("a/anomalyco/tap/opencode.toml", TAP),
                ("g/gone.toml", CARGO),
                ("d/done.toml", CARGO),
                ("o/opencode.toml", BREW), // no entry `opencode`: nothing
                ("stray.toml", CARGO),
            ],
        );
        let summary: Vec<(&str, &str, bool)> = r
            .changes
            .iter()
            .map(|c| match &c.reason {
                Reason::RecipeOnDisk { curated, .. } => {
                    (c.entry.as_str(), c.from.as_str(), *curated)
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("bat", "pending", false),
                ("fd", "failed", true),
                ("anomalyco/tap/opencode", "blocked", false),
            ]
        );
        let statuses: Vec<(&str, &str, &str)> = q
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.status.as_str(), e.confidence.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [
                ("bat", "success", "auto"),
                ("fd", "success", "curated"),
                ("anomalyco/tap/opencode", "success", "auto"),
                ("gone", "excluded", "auto"),
                ("done", "success", "auto"),
                ("none", "pending", "auto"),
            ]
        );
        assert_eq!(r.misplaced, ["stray.toml"]);
        assert_eq!(r.recipes, 7);
        // Idempotent.
        let again = run(&mut q, &[("b/bat.toml", CARGO), ("f/fd.toml", CARGO)]);
        assert!(!again.changed(), "{again:?}");
    }

    #[test]
    fn an_unparsable_recipe_is_reported_and_its_entry_kept() {
        let mut q = queue(vec![entry("bad", "npm:bad", Status::Pending)]);
        let r = run(&mut q, &[("b/bad.toml", "[[steps]\naction = ")]);
        assert!(r.changes.is_empty());
        assert_eq!(r.unparsable.len(), 1);
        assert_eq!(r.unparsable[0].recipe, "b/bad.toml");
        assert!(
            r.unparsable[0].error.contains("line 1"),
            "{:?}",
            r.unparsable
        );
        assert_eq!(q.entries[0].status, Status::Pending);
    }

    proptest::proptest! {
        /// Any statuses, any subset of entries with recipes (some unparsable): only
        /// non-success, non-excluded entries with a parsable recipe change, only to
        /// `success`, confidence only to `curated`, and a second run changes nothing.
        #[test]
        fn only_documented_moves_and_idempotent(
            entries in proptest::collection::vec((0usize..6, 0usize..3, proptest::bool::ANY), 0..12),
        ) {
            const STATUSES: [Status; 6] = [
                Status::Pending, Status::Failed, Status::Blocked,
                Status::RequiresManual, Status::Excluded, Status::Success,
            ];
            let mut q = queue(Vec::new());
            let mut recipes: Vec<(String, &str)> = Vec::new();
            for (i, (st, recipe, other_source)) in entries.iter().enumerate() {
                let name = format!("t{i}");
                let mut e = entry(&name, &format!("cargo:{name}"), STATUSES[*st].clone());
                if *other_source {
                    e.source = format!("npm:{name}");
                }
                q.entries.push(e);
                match recipe {
                    1 => recipes.push((format!("t/{name}.toml"), "ok")),
                    2 => recipes.push((format!("t/{name}.toml"), "bad")),
                    _ => {}
                }
            }
            let files: Vec<RecipeFile> = recipes.iter().map(|(r, _)| file(r)).collect();
            let kinds: HashMap<PathBuf, &str> =
                recipes.iter().map(|(r, k)| (PathBuf::from(r), *k)).collect();
            let mut read = |rel: &Path| -> std::io::Result<String> {
                Ok(match kinds[rel] {
                    "ok" => {
                        let stem = rel.file_stem().unwrap().to_string_lossy().into_owned();
                        format!("[[steps]]\naction = \"cargo_install\"\ncrate = \"{stem}\"\n")
                    }
                    _ => "[[steps]\n".to_owned(),
                })
            };
            let before = q.clone();
            let r = reconcile_queue(&mut q, &files, &mut read);
            for (b, a) in before.entries.iter().zip(&q.entries) {
                let kind = kinds.get(&PathBuf::from(format!("t/{}.toml", b.name))).copied();
                let eligible = !matches!(b.status, Status::Success | Status::Excluded);
                if eligible && kind == Some("ok") {
                    proptest::prop_assert_eq!(&a.status, &Status::Success);
                    let differs = b.source.starts_with("npm:");
                    let want = if differs { "curated" } else { "auto" };
                    proptest::prop_assert_eq!(a.confidence.as_str(), want);
                } else {
                    proptest::prop_assert_eq!(a, b);
                }
            }
            proptest::prop_assert_eq!(
                r.unparsable.len(),
                before.entries.iter().filter(|b| {
                    !matches!(b.status, Status::Success | Status::Excluded)
                        && kinds.get(&PathBuf::from(format!("t/{}.toml", b.name))) == Some(&"bad")
                }).count()
            );
            let again = reconcile_queue(&mut q, &files, &mut read);
            proptest::prop_assert!(!again.changed());
        }
    }

    #[test]
    fn unknown_sources_leave_confidence_alone() {
        let mut q = queue(vec![entry("x", "manual:x", Status::Pending)]);
        let r = run(
            &mut q,
            &[("x/x.toml", "[[steps]]\naction = \"run_command\"\n")],
        );
        assert_eq!(r.changes.len(), 1);
        assert_eq!(q.entries[0].confidence, "auto");
    }
}
