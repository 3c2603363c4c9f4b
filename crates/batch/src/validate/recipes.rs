//! Finding the batch's recipes under `validate --recipes DIR` (spec §7.3 steps 2 and 4, issue #13).
//!
//! The layout is `DIR/<letter>/<name>.toml`, exactly one directory level below `DIR`, as the
//! shell's `recipes/*/*.toml`. Rules:
//! - nothing below `DIR` is followed through a symlink: a symlinked letter directory or recipe
//!   file is reported and skipped (`symlink_metadata`, never `metadata`); `DIR` itself may be a
//!   symlink, since the user named it;
//! - deeper, tap-style paths (`DIR/a/owner/tap/x.toml`) are reported and not validated (spec
//!   §7.3 step 2: "nested tap-style paths are never validated");
//! - a name containing `..` is reported and skipped (spec §7.3 step 4), as is a name that is
//!   not UTF-8 (it could not be written to the results file faithfully);
//! - files at the top of `DIR` and files not ending in `.toml` are ignored silently (they are
//!   not recipes, as the shell glob would not see them);
//! - the result is sorted by relative path, so the order never depends on the file system.
//!
//! Bad entries are data ([`Rejected`]), never an error: only an unreadable `DIR` fails.

use std::io;
use std::path::{Path, PathBuf};

/// One recipe to validate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Recipe {
    /// Path relative to the recipes directory, `/`-separated (`b/bat.toml`).
    pub rel: String,
    /// Recipe name: the file name without `.toml`.
    pub name: String,
    /// The file's path (the recipes directory joined with `rel`).
    pub path: PathBuf,
}

/// An entry below the recipes directory that is not validated, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Rejected {
    /// Path relative to the recipes directory, `/`-separated (lossy for non-UTF-8 names).
    pub rel: String,
    /// Why it is skipped.
    pub reason: RejectReason,
}

/// Why an entry below the recipes directory is not validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// A symlink (to a directory or a file): never followed.
    Symlink,
    /// A directory below a letter directory (tap-style path, spec §7.3 step 2).
    Nested,
    /// The name contains `..` (spec §7.3 step 4).
    DotDot,
    /// The name is not valid UTF-8.
    NotUtf8,
    /// Neither a regular file nor a directory (socket, fifo, device).
    NotAFile,
    /// The recipe has a `run_command` action, or does not parse as TOML (security gate,
    /// [`crate::gate`]): it is never installed; `aggregate` excludes it.
    SecurityGate,
    /// The recipe file could not be read.
    Unreadable,
}

impl RejectReason {
    /// A short English phrase for logs and the text report.
    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::Symlink => "symlinks are not followed",
            RejectReason::Nested => "nested (tap-style) paths are not validated",
            RejectReason::DotDot => "the name contains `..`",
            RejectReason::NotUtf8 => "the name is not UTF-8",
            RejectReason::NotAFile => "not a regular file",
            RejectReason::SecurityGate => {
                "a run_command action or not TOML (security gate): never installed"
            }
            RejectReason::Unreadable => "the file cannot be read",
        }
    }
}

/// What [`discover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Discovery {
    /// Recipes to validate, sorted by relative path.
    pub recipes: Vec<Recipe>,
    /// Entries skipped, sorted by relative path.
    pub rejected: Vec<Rejected>,
}

/// The recipes directory could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read recipes directory `{path}`")]
pub struct RecipesError {
    /// The directory (or the letter directory) that failed.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

fn read_dir(path: &Path) -> Result<Vec<(std::ffi::OsString, std::fs::FileType)>, RecipesError> {
    let err = |source| RecipesError {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).map_err(err)? {
        let entry = entry.map_err(err)?;
        // `DirEntry::file_type` does not follow symlinks; confirm with symlink_metadata.
        let ft = std::fs::symlink_metadata(entry.path())
            .map_err(err)?
            .file_type();
        out.push((entry.file_name(), ft));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The check every name below `DIR` passes: UTF-8 and free of `..`.
fn check_name(name: &std::ffi::OsStr) -> Result<&str, RejectReason> {
    let s = name.to_str().ok_or(RejectReason::NotUtf8)?;
    if s.contains("..") {
        return Err(RejectReason::DotDot);
    }
    Ok(s)
}

/// Lists the recipes under `dir` (see the module docs for the rules).
///
/// # Errors
/// [`RecipesError`] when `dir` or one of its letter directories cannot be read (missing, not a
/// directory, no permission).
pub(crate) fn discover(dir: &Path) -> Result<Discovery, RecipesError> {
    let mut found = Discovery::default();
    for (letter, ft) in read_dir(dir)? {
        let lossy = letter.to_string_lossy().into_owned();
        let reject = |found: &mut Discovery, rel: String, reason| {
            found.rejected.push(Rejected { rel, reason });
        };
        if ft.is_symlink() {
            reject(&mut found, lossy, RejectReason::Symlink);
            continue;
        }
        if !ft.is_dir() {
            continue; // a file at the top: not `<letter>/<name>.toml`
        }
        let letter_str = match check_name(&letter) {
            Ok(s) => s.to_owned(),
            Err(reason) => {
                reject(&mut found, lossy, reason);
                continue;
            }
        };
        let letter_dir = dir.join(&letter);
        for (name, ft) in read_dir(&letter_dir)? {
            let rel_lossy = format!("{letter_str}/{}", name.to_string_lossy());
            if ft.is_symlink() {
                reject(&mut found, rel_lossy, RejectReason::Symlink);
                continue;
            }
            if ft.is_dir() {
                reject(&mut found, rel_lossy, RejectReason::Nested);
                continue;
            }
            let Some(name_str) = name.to_str() else {
                if name.as_encoded_bytes().ends_with(b".toml") {
                    reject(&mut found, rel_lossy, RejectReason::NotUtf8);
                }
                continue;
            };
            let Some(stem) = name_str.strip_suffix(".toml") else {
                continue; // not a recipe
            };
            if let Err(reason) = check_name(&name) {
                reject(&mut found, rel_lossy, reason);
                continue;
            }
            if !ft.is_file() {
                reject(&mut found, rel_lossy, RejectReason::NotAFile);
                continue;
            }
            if stem.is_empty() {
                continue;
            }
            found.recipes.push(Recipe {
                rel: format!("{letter_str}/{name_str}"),
                name: stem.to_owned(),
                path: letter_dir.join(&name),
            });
        }
    }
    found.recipes.sort();
    found.rejected.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "[metadata]\n").unwrap();
    }

    #[test]
    fn one_level_sorted_and_nothing_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("recipes");
        let outside = tmp.path().join("outside");
        write(&root, "z/zlib.toml");
        write(&root, "b/bat.toml");
        write(&root, "b/bat.toml.orig");
        write(&root, "b/README.md");
        write(&root, "top.toml");
        write(&root, "a/owner/tap/x.toml");
        write(&root, "c/a..b.toml");
        write(&outside, "o/evil.toml");
        write(&outside, "secret.toml");
        std::os::unix::fs::symlink(outside.join("o"), root.join("o")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.toml"), root.join("b/linked.toml"))
            .unwrap();
        let found = discover(&root).unwrap();
        let rels: Vec<&str> = found.recipes.iter().map(|r| r.rel.as_str()).collect();
        assert_eq!(rels, ["b/bat.toml", "z/zlib.toml"]);
        assert_eq!(found.recipes[0].name, "bat");
        assert_eq!(found.recipes[0].path, root.join("b/bat.toml"));
        let rejected: Vec<(&str, RejectReason)> = found
            .rejected
            .iter()
            .map(|r| (r.rel.as_str(), r.reason))
            .collect();
        assert_eq!(
            rejected,
            [
                ("a/owner", RejectReason::Nested),
                ("b/linked.toml", RejectReason::Symlink),
                ("c/a..b.toml", RejectReason::DotDot),
                ("o", RejectReason::Symlink),
            ]
        );
    }

    #[test]
    fn a_dot_dot_letter_directory_is_rejected_whole() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "x..y/ok.toml");
        let found = discover(tmp.path()).unwrap();
        assert!(found.recipes.is_empty());
        assert_eq!(found.rejected[0].reason, RejectReason::DotDot);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let err = discover(Path::new("/nonexistent/recipes")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/recipes"), "{err}");
    }
}
