//! Validation results: one row per (recipe, environment), and the
//! `validation-results-<platform>.json` file that carries them from a validation job to
//! `aggregate` (spec §1.7, issue #13).
//!
//! The file is a JSON array of rows, written with serde (any recipe name is safe, unlike the
//! shell's string concatenation) and replaced atomically. It keeps spec §1.7's keys
//! (`recipe`, `platform`, `status`, `exit_code`, `attempts`, `blocked_by`) and adds `path` (the
//! recipe's path relative to the recipes directory) and `batch_id`. Rows of the generation
//! environment (the main run's or a shard's `--validation-out`) carry
//! `"environment": "generation"`; they prove the recipe was generated, never that a platform
//! passed (issue #13 fixes spec §7.3.2 step 6).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::platform::{JobPlatform, RowPlatform};

/// Outcome of one row (spec §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// The install exited 0.
    Pass,
    /// The install failed (any non-zero exit after the retries, or a timeout).
    Fail,
    /// The recipe is in the execution exclusions and was not installed.
    Skipped,
    /// Not a recipe result: the runner could not run installs (no container runtime, a
    /// container that could not start, tsuku exit 11, 12 or 14, the generator missing), so
    /// `validate` stopped here (issue #22). Always the file's last row; `recipe` names the
    /// recipe whose install showed it and `message` the reason. `aggregate` then treats the
    /// whole platform as not reported.
    Incomplete,
}

/// Where a row was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// A platform validation job (`batch-generate validate`).
    #[default]
    Validation,
    /// The environment that generated the recipe (main run or shard, `--validation-out`).
    Generation,
}

impl Environment {
    fn is_validation(&self) -> bool {
        *self == Environment::Validation
    }
}

/// One result row (spec §1.7 plus `path`, `batch_id`, `environment` and `timed_out`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRow {
    /// Recipe name: the file name without `.toml`.
    pub recipe: String,
    /// Row platform, e.g. `linux-alpine-musl-arm64` or `darwin-x86_64`.
    #[serde(serialize_with = "ser_platform", deserialize_with = "de_platform")]
    pub platform: RowPlatform,
    /// Pass, fail, skipped or incomplete.
    pub status: RowStatus,
    /// Exit code of the last attempt (spec §7.3, issue #22: tsuku's `install_exit_code`, else
    /// the process's; 7 for a sandbox verify failure). Absent on skipped and incomplete rows;
    /// 124 after a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Install attempts made (1–3; exit 5 is retried after 2 s, then 4 s). Absent on skipped rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Recipes the install reported missing (`missing_recipes` on exit 8). Present (possibly
    /// empty) on pass and fail rows, absent on skipped rows, as in spec §1.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<Vec<String>>,
    /// Why the row failed, at most 1 KiB (issue #22): tsuku's `message` (host JSON), else its
    /// `error`, else the tail of `install_output` / `verify_output` (sandbox JSON), else
    /// stderr. On an `incomplete` row, why the platform stopped. Absent on pass and skipped
    /// rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// tsuku's `subcategory` (`timeout`, `dns_error`, ...) or ours (`timeout` after a kill),
    /// when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subcategory: Option<String>,
    /// The verify command's exit code when a sandbox install passed and its verify step
    /// failed (tsuku's `verify_exit_code`; the row's `exit_code` is then 7, issue #22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_exit_code: Option<i32>,
    /// The last attempt hit `--timeout` and its process group was killed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The recipe's path relative to the recipes directory, `/`-separated (`b/bat.toml`).
    pub path: String,
    /// The batch the recipe belongs to (spec §7.3.4 / `preflight`'s batch ID).
    pub batch_id: String,
    /// Validation job or generation environment; omitted for validation rows.
    #[serde(default, skip_serializing_if = "Environment::is_validation")]
    pub environment: Environment,
}

fn ser_platform<S: Serializer>(p: &RowPlatform, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
}

fn de_platform<'de, D: Deserializer<'de>>(d: D) -> Result<RowPlatform, D::Error> {
    let s = String::deserialize(d)?;
    RowPlatform::parse(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown platform {s:?}; expected linux-<family>-<libc>-<arch> or darwin-<arch>"
        ))
    })
}

/// Errors reading or writing a results file.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The file could not be read or written.
    #[error("cannot read or write results file `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a JSON array of result rows; `line`/`column` are 1-based.
    #[error("{path}:{line}:{column}: not a validation results file")]
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

/// A results file's rows, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsFile {
    /// The rows.
    pub rows: Vec<ValidationRow>,
}

impl ResultsFile {
    /// The file name a job platform writes: `validation-results-<platform>.json` (spec §1.7).
    pub fn file_name(platform: JobPlatform) -> String {
        format!("validation-results-{platform}.json")
    }

    /// Whether `name` is a results file name `aggregate` reads (`validation-results-*.json`).
    pub fn is_results_file_name(name: &str) -> bool {
        name.starts_with("validation-results-") && name.ends_with(".json")
    }

    /// Parses a results file from bytes. `path` only names the file in errors.
    ///
    /// # Errors
    /// [`ResultsError::Parse`] with the line and column when the bytes are not a JSON array of
    /// rows (unknown keys and unknown platforms included).
    pub fn from_slice(path: &Path, bytes: &[u8]) -> Result<ResultsFile, ResultsError> {
        serde_json::from_slice(bytes)
            .map(|rows| ResultsFile { rows })
            .map_err(|e| ResultsError::Parse {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                source: e,
            })
    }

    /// Reads and parses a results file.
    ///
    /// # Errors
    /// [`ResultsError::Io`] when it cannot be read, [`ResultsError::Parse`] as in
    /// [`ResultsFile::from_slice`].
    pub fn read(path: &Path) -> Result<ResultsFile, ResultsError> {
        let bytes = std::fs::read(path).map_err(|source| ResultsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_slice(path, &bytes)
    }

    /// The file's bytes: a pretty-printed JSON array with a trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.rows).expect("rows always serialize");
        out.push(b'\n');
        out
    }

    /// Replaces `path` atomically with the rows (parent directories are created).
    ///
    /// # Errors
    /// [`ResultsError::Io`] when the temporary file cannot be written or renamed.
    pub fn write(&self, path: &Path) -> Result<(), ResultsError> {
        batch_base::fs::write_atomic(path, &self.to_bytes(), true).map_err(|source| {
            ResultsError::Io {
                path: path.to_path_buf(),
                source,
            }
        })
    }
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
    use crate::validate::platform::Family;

    fn row(recipe: &str, status: RowStatus) -> ValidationRow {
        ValidationRow {
            recipe: recipe.into(),
            platform: JobPlatform::LinuxX86_64.row(Some(Family::Alpine)),
            status,
            exit_code: Some(8),
            attempts: Some(1),
            blocked_by: Some(vec!["zlib".into()]),
            timed_out: false,
            path: format!("{}/{recipe}.toml", &recipe[..1]),
            batch_id: "2026-12-01".into(),
            environment: Environment::Validation,
            message: None,
            subcategory: None,
            verify_exit_code: None,
        }
    }

    #[test]
    fn keeps_spec_keys_and_round_trips_any_name() {
        let rows = vec![
            row("we\"ird\\name", RowStatus::Fail),
            ValidationRow {
                exit_code: None,
                attempts: None,
                blocked_by: None,
                environment: Environment::Generation,
                message: None,
                subcategory: None,
                verify_exit_code: None,
                ..row("gen", RowStatus::Skipped)
            },
        ];
        let file = ResultsFile { rows };
        let bytes = file.to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v[0]["recipe"], "we\"ird\\name");
        assert_eq!(v[0]["platform"], "linux-alpine-musl-x86_64");
        assert_eq!(v[0]["status"], "fail");
        assert_eq!(v[0]["exit_code"], 8);
        assert_eq!(v[0]["blocked_by"][0], "zlib");
        assert!(v[0].get("environment").is_none() && v[0].get("timed_out").is_none());
        assert_eq!(v[1]["environment"], "generation");
        assert!(v[1].get("exit_code").is_none() && v[1].get("blocked_by").is_none());
        assert_eq!(
            ResultsFile::from_slice(Path::new("x"), &bytes).unwrap(),
            file
        );
    }

    #[test]
    fn reads_a_spec_1_7_row_with_our_keys() {
        let text = r#"[{"recipe":"bat","platform":"darwin-arm64","status":"pass","exit_code":0,
            "attempts":1,"blocked_by":[],"path":"b/bat.toml","batch_id":"2026-12-01"}]"#;
        let f = ResultsFile::from_slice(Path::new("x"), text.as_bytes()).unwrap();
        assert_eq!(f.rows[0].platform.to_string(), "darwin-arm64");
        assert_eq!(f.rows[0].environment, Environment::Validation);
    }

    #[test]
    fn bad_files_name_the_position() {
        for (text, needle) in [
            ("{}", "expected a sequence"),
            ("[{\"recipe\":\"a\"", "EOF"),
            (
                r#"[{"recipe":"a","platform":"linux-amd64","status":"pass","path":"a/a.toml","batch_id":"b"}]"#,
                "unknown platform",
            ),
            (
                r#"[{"recipe":"a","platform":"darwin-arm64","status":"ok","path":"a/a.toml","batch_id":"b"}]"#,
                "unknown variant",
            ),
        ] {
            let err = ResultsFile::from_slice(Path::new("v.json"), text.as_bytes()).unwrap_err();
            let msg = chain(&err);
            assert!(msg.starts_with("v.json:1:"), "{msg}");
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(
            ResultsFile::file_name(JobPlatform::DarwinX86_64),
            "validation-results-darwin-x86_64.json"
        );
        assert!(ResultsFile::is_results_file_name(
            "validation-results-generation-1.json"
        ));
        assert!(!ResultsFile::is_results_file_name("all-results.json"));
    }
}
