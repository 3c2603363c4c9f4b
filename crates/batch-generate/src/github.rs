//! GitHub Actions integration, in one place: `key=value` lines appended to `$GITHUB_OUTPUT`,
//! and workflow-command annotations with the escaping the runner requires.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use batch::control::Change;
use batch::run::RunReport;

/// Appends `key=value` lines to the file `$GITHUB_OUTPUT` names; does nothing when it is not
/// set. Values are made single-line (CR and LF become spaces), as the file format needs.
///
/// # Errors
/// The file cannot be opened or written; the message names it.
pub fn write_output<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT") else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open $GITHUB_OUTPUT `{}`", path.display()))?;
    f.write_all(output_lines(pairs).as_bytes())
        .with_context(|| format!("failed to write $GITHUB_OUTPUT `{}`", path.display()))
}

/// The `key=value` lines [`write_output`] appends, one per pair, values made single-line.
pub fn output_lines<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        let _ = writeln!(out, "{key}={}", value.replace(['\n', '\r'], " "));
    }
    out
}

/// GitHub Actions workflow commands: one `::warning` per failure record, one `::error` per
/// breaker that opened or reopened. Values are escaped as the runner requires (`%`, CR, LF;
/// and `:` `,` inside properties).
pub fn annotations(report: &RunReport) -> String {
    let mut s = String::new();
    for f in &report.failures {
        let first_line = f.message.lines().next().unwrap_or_default();
        let detail = if f.subcategory.is_empty() {
            f.category.as_str().to_owned()
        } else {
            format!("{}/{}", f.category.as_str(), f.subcategory)
        };
        let blocked = if f.blocked_by.is_empty() {
            String::new()
        } else {
            format!(" (blocked by {})", f.blocked_by.join(", "))
        };
        let _ = writeln!(
            s,
            "::warning title={}::{}",
            escape_property(&format!("{} {detail}", f.package_id)),
            escape_data(&format!(
                "{}: {detail}{blocked}: {first_line}",
                f.package_id
            ))
        );
    }
    for (eco, change) in &report.breaker_changes {
        if let Change::Opened {
            failures,
            until,
            reopened,
        } = change
        {
            let what = if *reopened {
                "reopened (half-open probe failed)".to_owned()
            } else {
                format!("opened after {failures} failed batches")
            };
            let _ = writeln!(
                s,
                "::error title={}::{}",
                escape_property(&format!("circuit breaker {eco}")),
                escape_data(&format!(
                    "circuit breaker for {eco} {what}; next probe at {until}"
                ))
            );
        }
    }
    s
}

/// Escapes a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use batch::records::FailureRecord;
    use batch::runner::classify::Category;

    #[test]
    fn annotations_escape_and_cover_failures_and_opened_breakers() {
        let report = RunReport {
            failures: vec![FailureRecord {
                package_id: "npm:a,b".into(),
                category: Category::MissingDep,
                subcategory: String::new(),
                blocked_by: vec!["x".into(), "y".into()],
                message: "100% broken\nsecond line".into(),
                timestamp: "2026-11-24T00:00:00Z".into(),
            }],
            breaker_changes: vec![
                (
                    "pypi".into(),
                    Change::Opened {
                        failures: 5,
                        until: "2026-11-24T01:00:00Z".into(),
                        reopened: false,
                    },
                ),
                ("npm".into(), Change::Closed),
            ],
            ..RunReport::default()
        };
        let out = annotations(&report);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(
            lines[0],
            "::warning title=npm%3Aa%2Cb missing_dep::npm:a,b: missing_dep (blocked by x, y): 100%25 broken"
        );
        assert_eq!(
            lines[1],
            "::error title=circuit breaker pypi::circuit breaker for pypi opened after 5 failed batches; next probe at 2026-11-24T01:00:00Z"
        );
    }

    #[test]
    fn output_lines_are_single_line() {
        assert_eq!(
            output_lines([
                ("skip", "false".to_owned()),
                ("reason", "two\nlines\r".to_owned())
            ]),
            "skip=false\nreason=two lines \n"
        );
    }
}
