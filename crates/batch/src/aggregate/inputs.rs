//! Reading `aggregate`'s inputs (issue #13): every `validation-results-*.json` of the
//! validation directory, the batch membership of each row, and the recipe file a row names.
//!
//! - Files are read in byte order of their names; any file that is not a JSON array of rows
//!   stops the run ([`AggregateError::Results`]).
//! - Every row's `batch_id` must be `--batch-id`.
//! - Batch membership (decision): when any generation-environment row is present (the main
//!   run's or shards' `--validation-out`), the batch's recipes are the `(recipe, path)` pairs
//!   of the generation rows and every validation row must name one of them. Without generation
//!   rows, the batch is the recipes the rows name. Either way each recipe must have a queue
//!   entry whose recipe path (`<first char>/<name>.toml`) is the row's `path`: that entry
//!   gives the ecosystem and `package_id`, and its status is kept consistent with the PR.
//! - A row's `path` is relative, `/`-separated, without empty, `.` or `..` components,
//!   backslashes or NULs, and ends in `<recipe>.toml`; the file is found by that path under
//!   `--output-dir` (never by a basename search), and no component may be a symlink.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::AggregateError;
use crate::validate::{Environment, ResultsFile, ValidationRow};

/// The rows of the validation directory, grouped by recipe path.
#[derive(Debug, Clone, Default)]
pub(crate) struct BatchRows {
    /// The results files read, in order.
    pub files: Vec<PathBuf>,
    /// Recipe path (relative, `/`-separated) → (recipe name, its rows in file order).
    pub recipes: BTreeMap<String, (String, Vec<ValidationRow>)>,
    /// Every row, in file order.
    pub all: Vec<ValidationRow>,
}

/// Reads and checks every results file of `dir` for `batch_id`.
///
/// # Errors
/// [`AggregateError::ListDir`], [`AggregateError::NoResults`], [`AggregateError::Results`],
/// [`AggregateError::OtherBatch`], [`AggregateError::BadPath`],
/// [`AggregateError::NotInBatch`].
pub(crate) fn read_rows(dir: &Path, batch_id: &str) -> Result<BatchRows, AggregateError> {
    let list_err = |source| AggregateError::ListDir {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        let name = entry.file_name();
        if name.to_str().is_some_and(ResultsFile::is_results_file_name) {
            files.push(entry.path());
        }
    }
    if files.is_empty() {
        return Err(AggregateError::NoResults {
            path: dir.to_owned(),
        });
    }
    files.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    let mut out = BatchRows::default();
    let mut located: Vec<(PathBuf, usize, ValidationRow)> = Vec::new();
    for file in &files {
        let rows = ResultsFile::read(file)?.rows;
        for (i, row) in rows.into_iter().enumerate() {
            if row.batch_id != batch_id {
                return Err(AggregateError::OtherBatch {
                    file: file.clone(),
                    row: i + 1,
                    found: row.batch_id,
                    expected: batch_id.to_owned(),
                });
            }
            if let Err(why) = check_path(&row.path, &row.recipe) {
                return Err(AggregateError::BadPath {
                    file: file.clone(),
                    row: i + 1,
                    path: row.path,
                    why,
                });
            }
            located.push((file.clone(), i + 1, row));
        }
    }
    let generated: Vec<(&str, &str)> = located
        .iter()
        .filter(|(_, _, r)| r.environment == Environment::Generation)
        .map(|(_, _, r)| (r.recipe.as_str(), r.path.as_str()))
        .collect();
    if !generated.is_empty() {
        for (file, row, r) in &located {
            if !generated.contains(&(r.recipe.as_str(), r.path.as_str())) {
                return Err(AggregateError::NotInBatch {
                    file: file.clone(),
                    row: *row,
                    recipe: r.recipe.clone(),
                    path: r.path.clone(),
                });
            }
        }
    }
    for (_, _, row) in located {
        out.recipes
            .entry(row.path.clone())
            .or_insert_with(|| (row.recipe.clone(), Vec::new()))
            .1
            .push(row.clone());
        out.all.push(row);
    }
    out.files = files;
    Ok(out)
}

/// Checks a row's `path` (see the module docs); the error says which rule it broke.
pub(crate) fn check_path(path: &str, recipe: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.starts_with('/') {
        return Err("it must be relative to the output directory");
    }
    if path.contains('\\') || path.contains('\0') {
        return Err("it contains a backslash or NUL");
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("it has an empty, `.` or `..` component");
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    if file.strip_suffix(".toml") != Some(recipe) {
        return Err("its file name is not `<recipe>.toml`");
    }
    Ok(())
}

/// The recipe file of a checked `rel` path under `output_dir`: `Ok(None)` when it does not
/// exist.
///
/// # Errors
/// [`AggregateError::NotARegularFile`] when the file or a directory below `output_dir` on the
/// way is a symlink, or the file is not a regular file.
pub(crate) fn locate(output_dir: &Path, rel: &str) -> Result<Option<PathBuf>, AggregateError> {
    let mut path = output_dir.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(AggregateError::ReadRecipe { path, source });
            }
        };
        let last = i + 1 == parts.len();
        let ok = if last {
            meta.file_type().is_file()
        } else {
            meta.file_type().is_dir()
        };
        if !ok {
            return Err(AggregateError::NotARegularFile { path });
        }
    }
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert_eq!(check_path("b/bat.toml", "bat"), Ok(()));
        assert_eq!(check_path("h/homebrew/tap/bat.toml", "bat"), Ok(()));
        for (path, recipe) in [
            ("", "bat"),
            ("/b/bat.toml", "bat"),
            ("../bat.toml", "bat"),
            ("b/../bat.toml", "bat"),
            ("b//bat.toml", "bat"),
            ("./b/bat.toml", "bat"),
            ("b\\bat.toml", "bat"),
            ("b/bat.toml", "cat"),
            ("b/bat", "bat"),
        ] {
            assert!(check_path(path, recipe).is_err(), "{path}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("recipes");
        std::fs::create_dir_all(out.join("b")).unwrap();
        std::fs::write(dir.path().join("elsewhere.toml"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere.toml"), out.join("b/bat.toml"))
            .unwrap();
        std::os::unix::fs::symlink(out.join("b"), out.join("c")).unwrap();
        std::fs::write(out.join("b/cat.toml"), "x").unwrap();
        assert!(matches!(
            locate(&out, "b/bat.toml"),
            Err(AggregateError::NotARegularFile { .. })
        ));
        assert!(matches!(
            locate(&out, "c/cat.toml"),
            Err(AggregateError::NotARegularFile { .. })
        ));
        assert_eq!(
            locate(&out, "b/cat.toml").unwrap(),
            Some(out.join("b/cat.toml"))
        );
        assert_eq!(locate(&out, "d/dog.toml").unwrap(), None);
    }
}
