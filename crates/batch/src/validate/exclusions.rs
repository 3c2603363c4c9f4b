//! The execution exclusions (`validate --exclusions FILE`): tsuku's
//! `testdata/golden/execution-exclusions.json`, whose `.exclusions[].recipe` names get
//! `skipped` rows instead of an install (spec §7.3 step 5, §1.7).
//!
//! Only `exclusions[].recipe` is read; other keys (`$schema`, `description`, `issue`,
//! `reason`) are allowed and ignored. A file that is not such a document is an error naming
//! the file, line and column; it never silently excludes nothing.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// Errors reading the exclusions file.
#[derive(Debug, thiserror::Error)]
pub enum ExclusionsError {
    /// The file could not be read.
    #[error("cannot read exclusions file `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not `{"exclusions":[{"recipe":"..."}, ...]}`; `line`/`column` are 1-based.
    #[error("{path}:{line}:{column}: not an execution exclusions file")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based).
        column: usize,
        /// What serde found.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(serde::Deserialize)]
struct Doc {
    exclusions: Vec<Item>,
}

#[derive(serde::Deserialize)]
struct Item {
    recipe: String,
}

/// Parses an exclusions document; `path` only names the file in errors.
///
/// # Errors
/// [`ExclusionsError::Parse`] when `exclusions` is missing, is not an array, or an item has
/// no string `recipe`.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<BTreeSet<String>, ExclusionsError> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| ExclusionsError::Parse {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        source: e,
    })?;
    Ok(doc.exclusions.into_iter().map(|i| i.recipe).collect())
}

/// Reads the recipe names excluded by the file at `path`.
///
/// # Errors
/// [`ExclusionsError::Io`] when it cannot be read; [`ExclusionsError::Parse`] as [`parse`].
pub(crate) fn load(path: &Path) -> Result<BTreeSet<String>, ExclusionsError> {
    let bytes = std::fs::read(path).map_err(|source| ExclusionsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `err` and its sources, joined by `: ` (what the binary prints as `error:` / `caused by:`).
    fn chain(err: &(dyn std::error::Error + 'static)) -> String {
        std::iter::successors(Some(err), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ")
    }

    #[test]
    fn reads_the_real_file() {
        let p = batch_testkit::tsuku_data::fixture("execution-exclusions.json");
        let names = load(&p).unwrap();
        assert!(
            names.contains("amplify") && names.contains("cdk"),
            "{names:?}"
        );
    }

    #[test]
    fn malformed_files_name_the_position() {
        for (text, needle) in [
            ("{\"exclusions\": [{\"recipe\": 3}]}", "1:"),
            ("{\"exclusions\": {}}", "expected a sequence"),
            ("{}", "missing field `exclusions`"),
            ("{\n  \"exclusions\": [\n    {\"issue\": \"x\"}", "3:"),
        ] {
            let err = parse(Path::new("ex.json"), text.as_bytes()).unwrap_err();
            let msg = chain(&err);
            assert!(msg.starts_with("ex.json:"), "{msg}");
            assert!(msg.contains(needle), "{needle}: {msg}");
        }
    }
}
