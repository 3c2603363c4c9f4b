//! The one reader of what a tsuku process left (spec §4.2–§4.6, §7.3, issue #22): exit codes
//! → categories, `blocked_by` extraction with sanitising, `tsuku install --json` output,
//! message truncation, the blocked-versus-failed decision, the network code that is retried
//! and tsuku's notices. Pure functions; [`super::Tsuku`] calls [`read`] for every job.
//!
//! - this module: the main run's `create` and `install` (spec §4.5);
//! - `json`: the two objects `install --json` prints (host error, sandbox result);
//! - `network`: which network failures never reached the upstream (not push-back);
//! - `validation`: the verdict of a validation install, sandboxed or not.

mod json;
mod network;
mod validation;

#[cfg(test)]
pub(crate) use validation::MAX_VALIDATION_MESSAGE_BYTES;
pub(crate) use validation::abandons_container;

use std::sync::LazyLock;
use std::time::Duration;

use regex::bytes::Regex;

use crate::generator::{Category, Failure, Job, Reading, Step};
use crate::runner::{Exit, Output};

/// Most names kept in one `blocked_by` list (spec §4.6).
pub(crate) const MAX_BLOCKED_BY: usize = 100;
/// Messages longer than this many bytes are cut (spec §4.5).
pub(crate) const MAX_MESSAGE_BYTES: usize = 500;
/// tsuku's network exit code: the one failure that is retried (spec §4.4, §7.3).
pub(crate) const NETWORK_EXIT_CODE: i32 = 5;
/// The code a validation row records for a timeout (GNU `timeout`'s, as the spec's
/// `gtimeout 300`, §7.3).
pub(crate) const TIMEOUT_EXIT_CODE: i32 = 124;
/// The validation code whose `missing_recipes` becomes the row's `blocked_by` (spec §7.3).
pub(crate) const MISSING_DEP_EXIT_CODE: i32 = 8;

/// Maps a tsuku exit code to a category (spec §4.4 table): 3, 5, 6, 7, 8 have their own,
/// every other code (and −1 for a signal) is `generation_failed`.
///
/// tsuku 7b4eba1 never exits 7 from `create` or `install` (only `tsuku verify` does,
/// `cmd/tsuku/verify.go`); the arm stays for spec §4.4's table and for validation rows, whose
/// sandbox verify failure is recorded as code 7 (issue #22).
pub(crate) fn category(code: i32) -> Category {
    match code {
        3 => Category::RecipeNotFound,
        5 => Category::NetworkError,
        6 => Category::InstallFailed,
        7 => Category::VerifyFailed,
        8 => Category::MissingDep,
        _ => Category::GenerationFailed,
    }
}

/// The category a timeout of `step` gets (issue #4): `generation_failed` for create,
/// `install_failed` for install.
pub(crate) fn timeout_category(step: Step) -> Category {
    match step {
        Step::Create => Category::GenerationFailed,
        Step::Install => Category::InstallFailed,
    }
}

/// Reads the output of `job`'s process into a [`Reading`]; `last` when no retry remains.
///
/// - `create` (spec §4.5 rows 1–2): passed on exit 0; the message and `blocked_by` come
///   from the combined output;
/// - `install` (rows 3–4): passed on exit 0; category from the exit code, subcategory and
///   `missing_recipes` from the stdout JSON, message from stderr;
/// - a validation install (§7.3, issue #22): `validation`'s verdict, which also says when
///   the machine cannot run installs ([`Reading::unavailable`]).
///
/// Transient means exit 5 (the JSON's code for a validation install; a timeout never is);
/// `connect_failed` when its output's headline is a failed dial (`network`): for `create`
/// the combined output, for `install` stderr, for a validation install the row's message.
pub(crate) fn read(job: &Job<'_>, out: &Output, last: bool) -> Reading {
    match job {
        Job::Create(t) => {
            let transient = out.exit == Exit::Code(NETWORK_EXIT_CODE);
            Reading {
                code: out.exit.code(),
                transient,
                connect_failed: transient
                    && network::connect_failed(&String::from_utf8_lossy(&out.stdout)),
                failure: (!out.exit.success())
                    .then(|| classify_create(out.exit, &out.stdout, transient && last, t.source)),
                unavailable: None,
                verify_exit_code: None,
            }
        }
        Job::Install(_) => {
            let transient = out.exit == Exit::Code(NETWORK_EXIT_CODE);
            Reading {
                code: out.exit.code(),
                transient,
                connect_failed: transient
                    && network::connect_failed(&String::from_utf8_lossy(&out.stderr)),
                failure: (!out.exit.success()).then(|| {
                    classify_install(out.exit, &out.stdout, &out.stderr, transient && last)
                }),
                unavailable: None,
                verify_exit_code: None,
            }
        }
        Job::Validate { .. } => validation::read_validation(out, last),
    }
}

static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    // `\S` in Go's RE2: any byte but space, \t, \n, \f and \r.
    Regex::new(r"(?-u)recipe ([^ \t\n\x0C\r]+) not found in registry").expect("valid regex")
});

/// Whether a dependency name may be recorded: non-empty, and free of `/`, `\`, `..`, `<`, `>`
/// (spec §4.6 step 2). Control characters are rejected too.
pub(crate) fn is_valid_dependency_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\\', '<', '>'])
        && !name.contains("..")
        && !name.contains(|c: char| c.is_control())
}

/// Sanitises a list of dependency names: drops invalid ones, removes duplicates, keeps the
/// first [`MAX_BLOCKED_BY`] (spec §4.6 step 2).
pub(crate) fn sanitize_names<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.as_ref();
        if out.len() >= MAX_BLOCKED_BY {
            break;
        }
        if is_valid_dependency_name(n) && !out.iter().any(|o| o == n) {
            out.push(n.to_owned());
        }
    }
    out
}

/// Extracts `blocked_by` from generator output: every `recipe X not found in registry`, in
/// order, sanitised, de-duplicated and capped at 100 (spec §4.6). Non-UTF-8 names are dropped.
/// Public for `benches/records.rs`.
pub fn extract_blocked_by(output: &[u8]) -> Vec<String> {
    let names = NOT_FOUND
        .captures_iter(output)
        .filter_map(|c| std::str::from_utf8(c.get(1)?.as_bytes()).ok());
    sanitize_names(names)
}

/// Trims whitespace; when longer than 500 bytes keeps the first 500 bytes, cut back to a
/// UTF-8 character boundary, and appends `...` (spec §4.5; Go cut inside characters).
pub(crate) fn truncate_message(text: &str) -> String {
    let t = text.trim();
    if t.len() <= MAX_MESSAGE_BYTES {
        return t.to_owned();
    }
    format!("{}...", crate::text::head_bytes(t, MAX_MESSAGE_BYTES))
}

/// The fields of `tsuku install --json` output the main run reads (spec §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct InstallJson {
    /// `.subcategory`, empty when absent.
    pub(crate) subcategory: String,
    /// `.missing_recipes`, sanitised like generation output.
    pub(crate) missing_recipes: Vec<String>,
}

/// Parses install stdout. The whole stdout must be one JSON object; anything else (empty,
/// extra text) yields the empty default, as in Go: a wrong type in `subcategory` or
/// `missing_recipes` empties both. The exit code comes from the process (spec §4.5).
pub(crate) fn parse_install_json(stdout: &[u8]) -> InstallJson {
    #[derive(serde::Deserialize)]
    struct Record {
        #[serde(default)]
        subcategory: Option<String>,
        #[serde(default)]
        missing_recipes: Option<Vec<String>>,
    }
    match serde_json::from_slice::<Record>(stdout) {
        Ok(r) => InstallJson {
            subcategory: r.subcategory.unwrap_or_default(),
            missing_recipes: sanitize_names(r.missing_recipes.unwrap_or_default()),
        },
        Err(_) => InstallJson::default(),
    }
}

fn timed_out(step: Step, after: Duration, output: &str) -> Failure {
    let secs = after.as_secs_f64();
    Failure {
        category: timeout_category(step),
        subcategory: "timeout".into(),
        blocked_by: Vec::new(),
        message: truncate_message(&format!("timed out after {secs}s: {output}")),
        blocked: false,
    }
}

/// Classifies a failed `create` (spec §4.5 rows 1–2). `output` is the combined stdout and
/// stderr of the last attempt; `retries_exhausted` is true when every attempt hit the retry
/// code. `source` appears in the exhaustion message.
pub(crate) fn classify_create(
    exit: Exit,
    output: &[u8],
    retries_exhausted: bool,
    source: &str,
) -> Failure {
    let text = String::from_utf8_lossy(output);
    if let Exit::TimedOut(after) = exit {
        return timed_out(Step::Create, after, &text);
    }
    if retries_exhausted {
        return Failure {
            category: Category::NetworkError,
            subcategory: String::new(),
            blocked_by: Vec::new(),
            message: format!(
                "failed after 3 retries: tsuku create {source}: exit {}: {}",
                exit.code(),
                truncate_message(&text)
            ),
            blocked: false,
        };
    }
    let blocked_by = extract_blocked_by(output);
    let mut category = category(exit.code());
    if !blocked_by.is_empty() && category == Category::InstallFailed {
        category = Category::MissingDep;
    }
    Failure {
        category,
        subcategory: String::new(),
        blocked: !blocked_by.is_empty(),
        blocked_by,
        message: truncate_message(&text),
    }
}

/// Classifies a failed `install` (spec §4.5 rows 3–4): category from the exit code (the CLI's
/// own category is ignored), subcategory and `missing_recipes` from the stdout JSON, message
/// from stderr only. Blocked iff the category is `missing_dep` or `recipe_not_found`.
pub(crate) fn classify_install(
    exit: Exit,
    stdout: &[u8],
    stderr: &[u8],
    retries_exhausted: bool,
) -> Failure {
    let err = String::from_utf8_lossy(stderr);
    if let Exit::TimedOut(after) = exit {
        return timed_out(Step::Install, after, &err);
    }
    let json = parse_install_json(stdout);
    if retries_exhausted {
        return Failure {
            category: Category::NetworkError,
            subcategory: json.subcategory,
            blocked_by: json.missing_recipes,
            message: format!("failed after 3 retries: {}", truncate_message(&err)),
            blocked: false,
        };
    }
    let category = category(exit.code());
    Failure {
        category,
        subcategory: json.subcategory,
        blocked_by: json.missing_recipes,
        message: truncate_message(&err),
        blocked: matches!(category, Category::MissingDep | Category::RecipeNotFound),
    }
}

/// Whether `line` is one of tsuku's notices rather than its error (issue #22): `Warning:
/// Skipping recipe review (--yes)…` (`cmd/tsuku/create.go`, before every error of `create
/// --yes`), `Note: …`, lowercase `warning: …` (version resolution), and `Installing …`
/// progress lines (eval-time dependencies), as in `../shared/data/tsuku-cli/transcript.txt`.
pub(crate) fn is_notice(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("Warning: Skipping recipe review")
        || l.starts_with("Note:")
        || l.starts_with("warning: ")
        || l.starts_with("Installing ")
}

/// The first non-blank line of `message` that is not one of tsuku's notices (`Warning:
/// Skipping recipe review…`, `Note: …`, `warning: …`, `Installing …`), else its first non-blank
/// line (issue #22): what a one-line log shows of a failure. [`super::Tsuku`]'s [`Generator::headline`](crate::generator::Generator::headline).
///
/// The first line of a `create` whose retries ran out is `failed after 3 retries: tsuku create
/// <source>: exit 5: ` followed by tsuku's first line, the `--yes` warning (spec §4.5's message);
/// it counts as that notice, so the headline is tsuku's error line after it.
pub fn headline(message: &str) -> &str {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.clone().next().unwrap_or("");
    lines
        .find(|l| !is_notice(l) && !l.contains(": Warning: Skipping recipe review"))
        .unwrap_or(first)
}
