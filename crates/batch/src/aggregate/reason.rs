//! Why a recipe failed on a platform, in one readable line (issue #22): the PR text lists, per
//! excluded or constrained recipe, the first line of each failing platform's reason; the
//! whole reason stays in the per-recipe failure records (`super::recipe_failures`).
//!
//! A line reads ``<platforms>: exit <code>[ (<details>)][: `<first line>`]``, e.g.
//! ``darwin-arm64: exit 6: `failed to resolve step github_file: ...` ``. Details are
//! `verify exit <n>` and tsuku's `subcategory`. Platforms whose line would be the same are
//! listed together, in row order, so eleven identical failures make one line. The message is
//! tool output: it is shown as a Markdown code span (backticks turned into `'`, control
//! characters into spaces) so that `<`, `_` or `@name` in it are neither rendered nor acted on,
//! and cut to [`MAX_LINE_CHARS`].

use crate::text::{code_span_text, cut_chars};
use crate::validate::{Environment, JobPlatform, RowPlatform, RowStatus, ValidationRow};

/// Longest first line shown, in characters; longer ones are cut and end with `…`.
pub(crate) const MAX_LINE_CHARS: usize = 200;

/// The first non-blank line of `message`, trimmed and cut to [`MAX_LINE_CHARS`] characters
/// (`…` marks a cut); `None` when the message is blank.
pub(crate) fn first_line(message: &str) -> Option<String> {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(cut_chars(line, MAX_LINE_CHARS))
}

/// The exit code a fail row is filed under: its `exit_code`, 1 when it has none (as the
/// failure records, spec §1.3.2).
pub(crate) fn exit_of(row: &ValidationRow) -> i32 {
    row.exit_code.unwrap_or(1)
}

/// One fail row's line without its platform: `exit 7 (verify exit 3): `...``.
fn reason_of(row: &ValidationRow) -> String {
    let mut out = format!("exit {}", exit_of(row));
    let mut details = Vec::new();
    if let Some(v) = row.verify_exit_code {
        details.push(format!("verify exit {v}"));
    }
    if let Some(s) = row.subcategory.as_deref().filter(|s| !s.trim().is_empty()) {
        details.push(code_span_text(s.trim()));
    }
    if !details.is_empty() {
        out.push_str(&format!(" ({})", details.join(", ")));
    }
    if let Some(line) = row.message.as_deref().and_then(first_line) {
        out.push_str(&format!(": `{}`", code_span_text(&line)));
    }
    out
}

/// A row platform's place in the matrix: its job platform, then family and arch.
fn matrix_order(p: &RowPlatform) -> (JobPlatform, RowPlatform) {
    (JobPlatform::of_row(p), *p)
}

/// The reason lines of one recipe's validation `fail` rows (generation rows never count),
/// platforms with the same line grouped. Platforms are in matrix order (the job platforms of
/// the PR's validation table, each with its families in order), groups in the order of their
/// first platform, so the text does not depend on how the results files are named.
pub(crate) fn reason_lines<'a>(rows: impl IntoIterator<Item = &'a ValidationRow>) -> Vec<String> {
    let mut groups: Vec<(Vec<RowPlatform>, String)> = Vec::new();
    for row in rows {
        if row.environment != Environment::Validation || row.status != RowStatus::Fail {
            continue;
        }
        let reason = reason_of(row);
        match groups.iter_mut().find(|(_, r)| *r == reason) {
            Some((platforms, _)) => platforms.push(row.platform),
            None => groups.push((vec![row.platform], reason)),
        }
    }
    for (platforms, _) in &mut groups {
        platforms.sort_unstable_by_key(matrix_order);
        platforms.dedup();
    }
    groups.sort_by_key(|(platforms, _)| platforms.first().map(matrix_order));
    groups
        .into_iter()
        .map(|(platforms, reason)| {
            let names: Vec<String> = platforms.iter().map(ToString::to_string).collect();
            format!("{}: {reason}", names.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(platform: &str, exit: i32, message: Option<&str>) -> ValidationRow {
        ValidationRow {
            recipe: "jq".into(),
            platform: RowPlatform::parse(platform).unwrap(),
            status: RowStatus::Fail,
            exit_code: Some(exit),
            attempts: Some(1),
            blocked_by: Some(vec![]),
            message: message.map(str::to_owned),
            subcategory: None,
            verify_exit_code: None,
            timed_out: false,
            path: "j/jq.toml".into(),
            batch_id: "b".into(),
            environment: Environment::Validation,
        }
    }

    #[test]
    fn first_non_blank_line_cut_at_200_chars() {
        assert_eq!(first_line("\n  \n  boom  \nmore").as_deref(), Some("boom"));
        assert_eq!(first_line(" \n\t"), None);
        // 250 multi-byte characters: cut to 200 characters (not bytes) plus the mark.
        let long = "é".repeat(250);
        let cut = first_line(&long).unwrap();
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with("é…"));
        let exact = "x".repeat(200);
        assert_eq!(first_line(&exact).unwrap(), exact);
    }

    #[test]
    fn lines_group_platforms_and_keep_details() {
        let msg = "Warning: x\nsecond";
        let rows = [
            fail(
                "darwin-arm64",
                6,
                Some("failed to resolve step github_file: 404\ndetails"),
            ),
            fail("linux-debian-glibc-x86_64", 6, Some(msg)),
            fail(
                "darwin-x86_64",
                6,
                Some("failed to resolve step github_file: 404"),
            ),
            ValidationRow {
                verify_exit_code: Some(3),
                subcategory: Some("verify`x".into()),
                ..fail(
                    "linux-alpine-musl-arm64",
                    7,
                    Some("`jq --version` <printed> nothing"),
                )
            },
            fail("linux-rhel-glibc-x86_64", 124, None),
            // Pass rows and generation rows are no reasons.
            ValidationRow {
                status: RowStatus::Pass,
                ..fail("linux-suse-glibc-x86_64", 0, Some("ok"))
            },
            ValidationRow {
                environment: Environment::Generation,
                ..fail("linux-arch-glibc-x86_64", 6, Some("gen"))
            },
        ];
        assert_eq!(
            reason_lines(&rows),
            [
                "linux-debian-glibc-x86_64: exit 6: `Warning: x`",
                "linux-rhel-glibc-x86_64: exit 124",
                "linux-alpine-musl-arm64: exit 7 (verify exit 3, verify'x): `'jq --version' <printed> nothing`",
                "darwin-arm64, darwin-x86_64: exit 6: `failed to resolve step github_file: 404`",
            ]
        );
    }
}
