//! Turning a generator step's exit into a pipeline outcome (spec §4.2–§4.6): tsuku's argv,
//! the exit-code → category map, `blocked_by` extraction with sanitising, message truncation
//! and the blocked-versus-failed decision. Pure functions; the orchestrator (`run`) calls them.

use std::ffi::OsString;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use regex::bytes::Regex;
use serde::Serialize;

/// Most names kept in one `blocked_by` list (spec §4.6).
pub const MAX_BLOCKED_BY: usize = 100;
/// Messages longer than this many bytes are cut (spec §4.5).
pub const MAX_MESSAGE_BYTES: usize = 500;

/// Failure category of a failure record (spec §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Exit 3.
    RecipeNotFound,
    /// Exit 5 (after retries).
    NetworkError,
    /// Exit 6.
    InstallFailed,
    /// Exit 7.
    VerifyFailed,
    /// Exit 8.
    MissingDep,
    /// Exit 9 and every other code, signals and timeouts of `create`.
    GenerationFailed,
}

impl Category {
    /// Maps a tsuku exit code to a category (spec §4.4 table).
    pub fn from_exit(code: i32) -> Self {
        match code {
            3 => Self::RecipeNotFound,
            5 => Self::NetworkError,
            6 => Self::InstallFailed,
            7 => Self::VerifyFailed,
            8 => Self::MissingDep,
            _ => Self::GenerationFailed,
        }
    }

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecipeNotFound => "recipe_not_found",
            Self::NetworkError => "network_error",
            Self::InstallFailed => "install_failed",
            Self::VerifyFailed => "verify_failed",
            Self::MissingDep => "missing_dep",
            Self::GenerationFailed => "generation_failed",
        }
    }
}

/// How a generator process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal (Go reported −1; classified as `generation_failed` or, for
    /// install, by the −1 code as well).
    Signal(i32),
    /// Ran past `--timeout` and was killed.
    TimedOut(Duration),
    /// Stopped because the run was interrupted (SIGINT/SIGTERM); never classified, the entry
    /// is left unchanged.
    Interrupted,
}

impl Exit {
    /// The code Go would have seen: the exit code, or −1 for a signal or timeout.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(_) | Exit::TimedOut(_) | Exit::Interrupted => -1,
        }
    }

    /// Whether the process exited 0.
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

/// `tsuku create <name> --from <source> --output <P> --yes --skip-sandbox --deterministic-only`
/// (spec §4.2), without the program name.
pub fn create_args(name: &str, source: &str, recipe: &Path) -> Vec<OsString> {
    vec![
        "create".into(),
        name.into(),
        "--from".into(),
        source.into(),
        "--output".into(),
        recipe.into(),
        "--yes".into(),
        "--skip-sandbox".into(),
        "--deterministic-only".into(),
    ]
}

/// `tsuku install --json --recipe <P>` (spec §4.3), without the program name.
pub fn install_args(recipe: &Path) -> Vec<OsString> {
    vec![
        "install".into(),
        "--json".into(),
        "--recipe".into(),
        recipe.into(),
    ]
}

static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
    // `\S` in Go's RE2: any byte but space, \t, \n, \f and \r.
    Regex::new(r"(?-u)recipe ([^ \t\n\x0C\r]+) not found in registry").expect("valid regex")
});

/// Whether a dependency name may be recorded: non-empty, and free of `/`, `\`, `..`, `<`, `>`
/// (spec §4.6 step 2). Control characters are rejected too.
pub fn is_valid_dependency_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\\', '<', '>'])
        && !name.contains("..")
        && !name.contains(|c: char| c.is_control())
}

/// Sanitises a list of dependency names: drops invalid ones, removes duplicates, keeps the
/// first [`MAX_BLOCKED_BY`] (spec §4.6 step 2).
pub fn sanitize_names<I, S>(names: I) -> Vec<String>
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
pub fn extract_blocked_by(output: &[u8]) -> Vec<String> {
    let names = NOT_FOUND
        .captures_iter(output)
        .filter_map(|c| std::str::from_utf8(c.get(1)?.as_bytes()).ok());
    sanitize_names(names)
}

/// Trims whitespace; when longer than 500 bytes keeps the first 500 bytes, cut back to a
/// UTF-8 character boundary, and appends `...` (spec §4.5; Go cut inside characters).
pub fn truncate_message(text: &str) -> String {
    let t = text.trim();
    if t.len() <= MAX_MESSAGE_BYTES {
        return t.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &t[..end])
}

/// The two fields of `tsuku install --json` output that classification uses (spec §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallJson {
    /// `.subcategory`, empty when absent.
    pub subcategory: String,
    /// `.missing_recipes`, sanitised like generation output.
    pub missing_recipes: Vec<String>,
}

/// Parses install stdout. The whole stdout must be one JSON object; anything else (empty,
/// extra text, wrong types) yields the empty default, as in Go.
pub fn parse_install_json(stdout: &[u8]) -> InstallJson {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[serde(default)]
        subcategory: Option<String>,
        #[serde(default)]
        missing_recipes: Option<Vec<String>>,
    }
    match serde_json::from_slice::<Raw>(stdout) {
        Ok(r) => InstallJson {
            subcategory: r.subcategory.unwrap_or_default(),
            missing_recipes: sanitize_names(r.missing_recipes.unwrap_or_default()),
        },
        Err(_) => InstallJson::default(),
    }
}

/// A classified failure before it gets a package ID and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Pipeline category.
    pub category: Category,
    /// Finer reason (`timeout`, or the install JSON's), empty when none.
    pub subcategory: String,
    /// Missing dependencies, empty when none.
    pub blocked_by: Vec<String>,
    /// Truncated output.
    pub message: String,
    /// Blocked (waits on dependencies) rather than failed (spec §4.5 last column).
    pub blocked: bool,
}

/// Which generator step a failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `tsuku create`.
    Create,
    /// `tsuku install`.
    Install,
}

impl Step {
    /// The category a timeout of this step gets (issue #4): `generation_failed` for create,
    /// `install_failed` for install.
    pub fn timeout_category(self) -> Category {
        match self {
            Step::Create => Category::GenerationFailed,
            Step::Install => Category::InstallFailed,
        }
    }
}

fn timed_out(step: Step, after: Duration, output: &str) -> Failure {
    let secs = after.as_secs_f64();
    Failure {
        category: step.timeout_category(),
        subcategory: "timeout".into(),
        blocked_by: Vec::new(),
        message: truncate_message(&format!("timed out after {secs}s: {output}")),
        blocked: false,
    }
}

/// Classifies a failed `create` (spec §4.5 rows 1–2). `output` is the combined stdout and
/// stderr of the last attempt; `retries_exhausted` is true when every attempt hit the retry
/// code. `source` appears in the exhaustion message.
pub fn classify_create(
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
    let mut category = Category::from_exit(exit.code());
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
pub fn classify_install(
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
    let category = Category::from_exit(exit.code());
    Failure {
        category,
        subcategory: json.subcategory,
        blocked_by: json.missing_recipes,
        message: truncate_message(&err),
        blocked: matches!(category, Category::MissingDep | Category::RecipeNotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_map() {
        let cases = [
            (3, "recipe_not_found"),
            (5, "network_error"),
            (6, "install_failed"),
            (7, "verify_failed"),
            (8, "missing_dep"),
            (9, "generation_failed"),
            (1, "generation_failed"),
            (124, "generation_failed"),
            (-1, "generation_failed"),
        ];
        for (code, cat) in cases {
            assert_eq!(Category::from_exit(code).as_str(), cat, "exit {code}");
        }
    }

    #[test]
    fn blocked_by_cases_from_the_go_tests() {
        let cases: [(&str, &[&str]); 10] = [
            ("Error: recipe bdw-gc not found in registry", &["bdw-gc"]),
            (
                "Error: recipe libpng not found in registry\nError: recipe libjpeg not found in registry",
                &["libpng", "libjpeg"],
            ),
            (
                "recipe dav1d not found in registry; recipe dav1d not found in registry",
                &["dav1d"],
            ),
            ("Error: download failed: 404 Not Found", &[]),
            ("", &[]),
            ("recipe ../../etc/passwd not found in registry", &[]),
            ("recipe foo\\bar not found in registry", &[]),
            ("recipe foo..bar not found in registry", &[]),
            ("recipe <script> not found in registry", &[]),
            (
                "recipe libpng not found in registry\nrecipe ../x not found in registry\nrecipe libjpeg not found in registry",
                &["libpng", "libjpeg"],
            ),
        ];
        for (out, want) in cases {
            assert_eq!(extract_blocked_by(out.as_bytes()), want, "{out:?}");
        }
        assert_eq!(
            extract_blocked_by(b"recipe openssl@3 not found in registry"),
            ["openssl@3"]
        );
    }

    #[test]
    fn blocked_by_cap_keeps_first_hundred() {
        let out: String = (0..150)
            .map(|i| format!("recipe dep{i} not found in registry\n"))
            .collect();
        let got = extract_blocked_by(out.as_bytes());
        assert_eq!(got.len(), 100);
        assert_eq!(got[0], "dep0");
        assert_eq!(got[99], "dep99");
    }

    #[test]
    fn dependency_names() {
        for ok in ["libpng", "bdw-gc", "openssl@3"] {
            assert!(is_valid_dependency_name(ok));
        }
        for bad in [
            "",
            "foo/bar",
            "foo\\bar",
            "foo..bar",
            "foo<bar",
            "foo>bar",
            "../../etc/passwd",
            "a\0b",
        ] {
            assert!(!is_valid_dependency_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn truncation() {
        let long = format!("  {}\n", "x".repeat(600));
        let m = truncate_message(&long);
        assert_eq!(m.len(), 503);
        assert_eq!(m, format!("{}...", "x".repeat(500)));
        assert_eq!(truncate_message("  short \n"), "short");
        // 499 ASCII bytes then a 3-byte character straddling the 500-byte cut.
        let s = format!("{}€tail{}", "a".repeat(499), "b".repeat(100));
        let m = truncate_message(&s);
        assert_eq!(m, format!("{}...", "a".repeat(499)));
        let exact = "y".repeat(500);
        assert_eq!(truncate_message(&exact), exact);
    }

    #[test]
    fn create_classification() {
        let f = classify_create(
            Exit::Code(6),
            b"Error: recipe bdw-gc not found in registry",
            false,
            "homebrew:guile",
        );
        assert_eq!(
            (f.category, f.blocked, f.blocked_by.clone()),
            (Category::MissingDep, true, vec!["bdw-gc".to_owned()])
        );
        let f = classify_create(
            Exit::Code(6),
            b"Error: deterministic generation failed",
            false,
            "s",
        );
        assert_eq!((f.category, f.blocked), (Category::InstallFailed, false));
        let f = classify_create(Exit::Code(9), b"recipe x not found in registry", false, "s");
        assert_eq!((f.category, f.blocked), (Category::GenerationFailed, true));
        let f = classify_create(Exit::Code(3), b"recipe x not found in registry", false, "s");
        assert_eq!((f.category, f.blocked), (Category::RecipeNotFound, true));
        let f = classify_create(Exit::Code(8), b"no pattern", false, "s");
        assert_eq!((f.category, f.blocked), (Category::MissingDep, false));
        let f = classify_create(Exit::Signal(9), b"", false, "s");
        assert_eq!(f.category, Category::GenerationFailed);
        let f = classify_create(Exit::Code(5), b"  registry 503\n", true, "rubygems:bup");
        assert_eq!(f.category, Category::NetworkError);
        assert_eq!(
            f.message,
            "failed after 3 retries: tsuku create rubygems:bup: exit 5: registry 503"
        );
        assert!(f.blocked_by.is_empty() && !f.blocked);
    }

    #[test]
    fn timeouts_take_the_step_category() {
        let f = classify_create(
            Exit::TimedOut(Duration::from_secs(900)),
            b"partial",
            false,
            "s",
        );
        assert_eq!(
            (f.category, f.subcategory.as_str()),
            (Category::GenerationFailed, "timeout")
        );
        assert!(f.message.starts_with("timed out after 900s"));
        let f = classify_install(Exit::TimedOut(Duration::from_millis(1500)), b"", b"", false);
        assert_eq!(
            (f.category, f.subcategory.as_str(), f.blocked),
            (Category::InstallFailed, "timeout", false)
        );
    }

    #[test]
    fn install_json_cases() {
        let j = |s: &str| parse_install_json(s.as_bytes());
        let a = j(
            r#"{"status":"error","category":"missing_dep","message":"failed","missing_recipes":["dav1d","libfoo"],"exit_code":8}"#,
        );
        assert_eq!(a.missing_recipes, ["dav1d", "libfoo"]);
        assert_eq!(j("not json at all"), InstallJson::default());
        assert_eq!(j(""), InstallJson::default());
        assert_eq!(j(r#"{"subcategory":"x"} trailing"#), InstallJson::default());
        assert_eq!(
            j(r#"{"missing_recipes":"notalist"}"#),
            InstallJson::default()
        );
        assert_eq!(
            j(r#"{"subcategory":"tls_error","missing_recipes":[]}"#).subcategory,
            "tls_error"
        );
        // Deliberate fix (spec §9.1.9): install names are sanitised like generation names.
        assert_eq!(
            j(r#"{"missing_recipes":["../x","a","a"]}"#).missing_recipes,
            ["a"]
        );
    }

    #[test]
    fn install_classification() {
        let out = br#"{"status":"error","category":"network_error","subcategory":"tls_error","missing_recipes":[],"exit_code":6}"#;
        let f = classify_install(Exit::Code(6), out, b"Error: tls\n", false);
        assert_eq!(
            (f.category, f.subcategory.as_str(), f.blocked),
            (Category::InstallFailed, "tls_error", false)
        );
        assert_eq!(f.message, "Error: tls");
        let f = classify_install(Exit::Code(3), b"", b"", false);
        assert_eq!(
            (f.category, f.blocked, f.blocked_by.len()),
            (Category::RecipeNotFound, true, 0)
        );
        let f = classify_install(
            Exit::Code(8),
            br#"{"missing_recipes":["dav1d"]}"#,
            b"",
            false,
        );
        assert_eq!((f.category, f.blocked), (Category::MissingDep, true));
        let f = classify_install(Exit::Code(7), b"", b"verify", false);
        assert_eq!((f.category, f.blocked), (Category::VerifyFailed, false));
        let f = classify_install(
            Exit::Code(5),
            br#"{"subcategory":"timeout"}"#,
            b"net down",
            true,
        );
        assert_eq!(f.message, "failed after 3 retries: net down");
        assert_eq!(
            (f.category, f.subcategory.as_str(), f.blocked),
            (Category::NetworkError, "timeout", false)
        );
    }
}
