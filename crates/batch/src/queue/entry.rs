//! Queue entries (spec §1.1): [`QueueEntry`], its [`Status`], the entry validation rules and
//! the recipe path an entry's name maps to.

use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::records::timestamp::Rfc3339;

/// Status of a queue entry (spec §1.1). Unknown strings are kept verbatim so an invalid
/// entry is saved unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// Never tried, or requeued; a candidate.
    Pending,
    /// Generated and validated.
    Success,
    /// Failed; a candidate once its backoff has passed.
    Failed,
    /// Waiting on missing dependencies.
    Blocked,
    /// Needs a human.
    RequiresManual,
    /// Permanently excluded.
    Excluded,
    /// Any other string (fails validation; never selected).
    Other(String),
}

impl Status {
    /// The JSON spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Pending => "pending",
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Blocked => "blocked",
            Status::RequiresManual => "requires_manual",
            Status::Excluded => "excluded",
            Status::Other(s) => s,
        }
    }

    /// Parses the JSON spelling; unknown strings become [`Status::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Status::Pending,
            "success" => Status::Success,
            "failed" => Status::Failed,
            "blocked" => Status::Blocked,
            "requires_manual" => Status::RequiresManual,
            "excluded" => Status::Excluded,
            other => Status::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One queue entry (spec §1.1). All eight known fields are always written; keys this crate
/// does not know are kept in `extra` and written after them.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    /// Tool name; gives the recipe path `<output-dir>/<first char>/<name>.toml`.
    pub name: String,
    /// `ecosystem:identifier`, passed verbatim to `tsuku create --from`.
    pub source: String,
    /// 1 critical, 2 popular, 3 standard; a candidate only when `priority <= tier`.
    pub priority: i64,
    /// Lifecycle status.
    pub status: Status,
    /// `auto` or `curated`; informational.
    pub confidence: String,
    /// Informational freshness stamp, kept as written.
    pub disambiguated_at: Option<Rfc3339>,
    /// Consecutive failures recorded by the generator.
    pub failure_count: i64,
    /// Backoff gate: not selected (outside half-open probes) while this is later than now.
    pub next_retry_at: Option<Rfc3339>,
    /// Keys this crate does not know, in file order.
    pub extra: Map<String, Value>,
}

impl QueueEntry {
    /// A pending, auto-confidence entry with no history (handy for tests and tools).
    pub fn new(name: impl Into<String>, source: impl Into<String>, priority: i64) -> Self {
        Self {
            name: name.into(),
            source: source.into(),
            priority,
            status: Status::Pending,
            confidence: "auto".into(),
            disambiguated_at: None,
            failure_count: 0,
            next_retry_at: None,
            extra: Map::new(),
        }
    }

    /// The ecosystem key: the part of `source` before the first `:`, or `""` when there is no
    /// colon (spec §0, §8.1 #36).
    pub fn ecosystem(&self) -> &str {
        ecosystem_of(&self.source)
    }

    /// The spec's `Validate` rules (§1.1) plus the recipe path-safety rule; one message per
    /// violation, empty when the entry is valid.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.check(|p| out.push(p.to_string()));
        out
    }

    /// Whether [`QueueEntry::problems`] would be empty, without allocating.
    pub fn is_valid(&self) -> bool {
        let mut ok = true;
        self.check(|_| ok = false);
        ok
    }

    fn check(&self, mut report: impl FnMut(Problem<'_>)) {
        if is_blank(&self.name) {
            report(Problem::EmptyName);
        } else if let Some(why) = unsafe_name_reason(&self.name) {
            report(Problem::UnsafeName(&self.name, why));
        }
        if is_blank(&self.source) {
            report(Problem::EmptySource);
        } else {
            let eco = self.ecosystem();
            let b = eco.as_bytes();
            if b.iter().any(|c| matches!(c, b'/' | b'\\')) || b.windows(2).any(|w| w == b"..") {
                report(Problem::Traversal(eco));
            }
            if has_control(eco) {
                report(Problem::ControlInEcosystem(eco));
            }
        }
        if !(1..=3).contains(&self.priority) {
            report(Problem::Priority(self.priority));
        }
        if let Status::Other(s) = &self.status {
            report(Problem::Status(s));
        }
        if !matches!(self.confidence.as_str(), "auto" | "curated") {
            report(Problem::Confidence(&self.confidence));
        }
        if self.failure_count < 0 {
            report(Problem::FailureCount(self.failure_count));
        }
    }
}

/// One broken validation rule, rendered with the spec's message fragments (§1.1).
enum Problem<'a> {
    EmptyName,
    UnsafeName(&'a str, &'static str),
    EmptySource,
    Traversal(&'a str),
    ControlInEcosystem(&'a str),
    Priority(i64),
    Status(&'a str),
    Confidence(&'a str),
    FailureCount(i64),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::EmptyName => f.write_str("name must not be empty"),
            Problem::UnsafeName(name, why) => write!(
                f,
                "name {name:?} would put the recipe outside the output directory ({why})"
            ),
            Problem::EmptySource => f.write_str("source must not be empty"),
            Problem::Traversal(eco) => {
                write!(
                    f,
                    "ecosystem prefix {eco:?} contains path traversal characters"
                )
            }
            Problem::ControlInEcosystem(eco) => {
                write!(f, "ecosystem prefix {eco:?} contains control characters")
            }
            Problem::Priority(p) => write!(f, "priority must be 1, 2, or 3, got {p}"),
            Problem::Status(s) => write!(f, "invalid status {s:?}"),
            Problem::Confidence(c) => write!(f, "invalid confidence {c:?}"),
            Problem::FailureCount(n) => write!(f, "failure_count must not be negative, got {n}"),
        }
    }
}

/// The ecosystem of a `source` string: text before the first `:`, `""` without a colon.
pub(crate) fn ecosystem_of(source: &str) -> &str {
    source.split_once(':').map_or("", |(eco, _)| eco)
}

/// Why a name cannot be turned into a recipe path inside the output directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeName {
    /// Absolute path, `..`/`.`/empty component, backslash, NUL or control character.
    #[error("name {name:?} would put the recipe outside the output directory ({why})")]
    Escapes {
        /// The offending name.
        name: String,
        /// Which rule it broke.
        why: &'static str,
    },
}

/// The recipe path relative to `--output-dir`: `<first char, lowercased>/<name>.toml`
/// (spec §4.1 step 3). `/` inside a name nests directories (homebrew taps such as
/// `owner/tap/tool`).
///
/// # Errors
/// [`UnsafeName`] when the name is absolute, has an empty, `.` or `..` component, or contains
/// a backslash, NUL or other control character, or starts with `.` (issue #3 "bad input").
pub fn recipe_relative_path(name: &str) -> Result<PathBuf, UnsafeName> {
    if let Some(why) = unsafe_name_reason(name) {
        return Err(UnsafeName::Escapes {
            name: name.to_owned(),
            why,
        });
    }
    let first = name.chars().next().expect("a safe name is not empty");
    let dir: String = first.to_lowercase().collect();
    let mut path = PathBuf::from(dir);
    path.push(format!("{name}.toml"));
    Ok(path)
}

/// Why `name` is not a safe recipe path, or `None` when it is (no allocation).
fn unsafe_name_reason(name: &str) -> Option<&'static str> {
    // One pass over the bytes: this runs for every entry of the queue on every selection.
    let b = name.as_bytes();
    match b.first() {
        None => return Some("empty name"),
        Some(b'/') => return Some("absolute path"),
        _ => {}
    }
    // Branch-free prefilter (vectorises): most names have no backslash, control byte, `.` or
    // `//` and need no closer look.
    let suspicious = b.iter().fold(false, |acc, &c| {
        acc | (c < 0x20) | (c == 0x7f) | (c == b'\\') | (c == b'.') | (c == 0xC2)
    });
    if !suspicious && !b.ends_with(b"/") && !b.windows(2).any(|w| w == b"//") {
        return None;
    }
    let mut reason = None;
    let mut component_start = 0;
    for i in 0..=b.len() {
        match b.get(i).copied().unwrap_or(b'/') {
            b'/' => {
                if matches!(&b[component_start..i], b"" | b"." | b"..") {
                    reason = reason.or(Some("empty, `.` or `..` path component"));
                }
                component_start = i + 1;
            }
            b'\\' => return Some("backslash"),
            c if has_control_at(b, i, c) => return Some("NUL or control character"),
            _ => {}
        }
    }
    reason.or((b[0] == b'.').then_some("leading `.`"))
}

/// Whether a Unicode control character (`char::is_control`: U+0000–U+001F, U+007F–U+009F)
/// starts at byte `i`, whose value is `c`.
fn has_control_at(b: &[u8], i: usize, c: u8) -> bool {
    c < 0x20 || c == 0x7f || (c == 0xC2 && matches!(b.get(i + 1), Some(0x80..=0x9F)))
}

pub(super) fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    let maybe = b.iter().fold(false, |acc, &c| {
        acc | (c < 0x20) | (c == 0x7f) | (c == 0xC2)
    });
    maybe && b.iter().enumerate().any(|(i, &c)| has_control_at(b, i, c))
}

/// `s.trim().is_empty()`, with a fast path for the usual non-blank ASCII ends.
pub(super) fn is_blank(s: &str) -> bool {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() || l.is_ascii_graphic() => false,
        _ => s.trim().is_empty(),
    }
}
