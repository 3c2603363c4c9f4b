//! The PR title, body and commit message of a batch (spec §7.3.5), from what actually ran
//! (issue #13): the number of environments is counted from the rows (never a fixed 11), the
//! validation table says which job platforms reported and which did not ("No results"),
//! excluded recipes carry their reason, constrained ones their constraint (an existing
//! constraint is reported as existing), and recipes no platform reported on are listed as
//! unvalidated.
//!
//! Issue #22: under each excluded or constrained recipe, one line per failing platform (or
//! group of platforms with the same line) gives the first line of its reason
//! (`super::reason`); gate exclusions list none, their reason is the gate's. Platforms that did
//! not report (no results, or incomplete results) get their own section with the reason, and
//! a line in the commit message; the title keeps spec §7.3.5's wording.

use std::collections::BTreeMap;

use super::metrics::PlatformCounts;
use super::reason::first_line;
use super::reporting::NotReported;
use crate::validate::{JobPlatform, Os, RowPlatform};

/// A constrained recipe in the PR text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConstrainedNote {
    /// Recipe name.
    pub name: String,
    /// The constraint line (`supported_os = ["linux"]`), or the existing key's line.
    pub line: String,
    /// The key was already in the recipe and was left unchanged.
    pub existing: bool,
    /// The failing platforms' reason lines (`super::reason::reason_lines`).
    pub reasons: Vec<String>,
}

/// An excluded recipe in the PR text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExcludedNote {
    /// Recipe name.
    pub name: String,
    /// Why (gate reason, "failed on all platforms", ...).
    pub reason: String,
    /// The failing platforms' reason lines (none for a gate exclusion).
    pub reasons: Vec<String>,
}

/// What the PR text is made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PrInput {
    /// The batch ID.
    pub batch_id: String,
    /// Recipes of the batch per ecosystem (`ECO_SUMMARY`).
    pub ecosystems: BTreeMap<String, u64>,
    /// Number of included recipes (constrained and unvalidated ones too).
    pub included: u64,
    /// Constrained recipes, in name order.
    pub constrained: Vec<ConstrainedNote>,
    /// Excluded recipes, in name order.
    pub excluded: Vec<ExcludedNote>,
    /// Included recipes without any validation row, in name order.
    pub unvalidated: Vec<String>,
    /// Validation row counts per job platform (a platform with `tested == 0` did not report).
    pub platforms: BTreeMap<JobPlatform, PlatformCounts>,
    /// The distinct row platforms that reported validation rows.
    pub environments: Vec<RowPlatform>,
    /// The platforms that did not report, in [`JobPlatform::ALL`] order (issue #22).
    pub not_reported: Vec<NotReported>,
}

const NO_RESULTS: &str = "No results (the job failed, was cancelled or reported nothing)";

/// The commit message's words for a platform that did not report: `darwin-arm64 (no
/// results)` or `linux-x86_64 (incomplete: <first line of the reason>)`.
fn not_reported_short(n: &NotReported) -> String {
    match n {
        NotReported::Missing { platform } => format!("{platform} (no results)"),
        NotReported::Incomplete {
            platform, message, ..
        } => match first_line(message) {
            Some(line) => format!("{platform} (incomplete: {line})"),
            None => format!("{platform} (incomplete)"),
        },
    }
}

/// The PR body's line for a platform that did not report (Markdown; the reason as a code
/// span, see `super::reason`).
fn not_reported_line(n: &NotReported) -> String {
    match n {
        NotReported::Missing { platform } => {
            format!("- **{platform}**: {}\n", NO_RESULTS.to_lowercase())
        }
        NotReported::Incomplete {
            platform,
            recipe,
            message,
            rows_ignored,
        } => {
            let mut line = format!(
                "- **{platform}**: incomplete results: the runner could not run installs \
                 (stopped at **{recipe}**; {rows_ignored} row(s) not used)"
            );
            if let Some(reason) = first_line(message) {
                line.push_str(&format!(": `{}`", reason.replace('`', "'")));
            }
            line.push('\n');
            line
        }
    }
}

/// The nested reason lines under a recipe's line.
fn push_reasons(body: &mut String, reasons: &[String]) {
    for r in reasons {
        body.push_str(&format!("  - {r}\n"));
    }
}

/// The three texts `aggregate` writes under `--pr-dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrText {
    /// `pr-title.txt` (one line, no newline inside).
    pub title: String,
    /// `pr-body.md` (Markdown, ends with a newline).
    pub body: String,
    /// `commit-message.txt` (ends with a newline).
    pub commit_message: String,
}

fn eco_summary(ecosystems: &BTreeMap<String, u64>) -> String {
    ecosystems
        .iter()
        .map(|(eco, n)| format!("{n} {eco}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Validated across N platform environments (a Linux x86_64 families, ...).`, counted.
fn environments_line(envs: &[RowPlatform]) -> String {
    use crate::validate::Arch;
    if envs.is_empty() {
        return "No platform validation results were received.".into();
    }
    let count = |os: Os, arch: Arch| envs.iter().filter(|p| p.os == os && p.arch == arch).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    let lx = count(Os::Linux, Arch::X86_64);
    if lx > 0 {
        parts.push(plural(lx, "Linux x86_64 family", "Linux x86_64 families"));
    }
    let la = count(Os::Linux, Arch::Arm64);
    if la > 0 {
        parts.push(plural(la, "Linux arm64 family", "Linux arm64 families"));
    }
    let mac = envs.iter().filter(|p| p.os == Os::Darwin).count();
    if mac > 0 {
        parts.push(format!("{mac} macOS"));
    }
    let n = envs.len();
    format!(
        "Validated across {} ({}).",
        plural(n, "platform environment", "platform environments"),
        parts.join(", ")
    )
}

/// Renders the title, body and commit message (spec §7.3.5 wording, computed counts).
pub(crate) fn render(input: &PrInput) -> PrText {
    let included = input.included;
    let excluded = input.excluded.len() as u64;
    let total = included + excluded;
    let eco = eco_summary(&input.ecosystems);
    let rate = if total == 0 {
        "0.00".to_owned()
    } else {
        format!("{:.2}", included as f64 / total as f64)
    };
    let title = format!("feat(recipes): add batch recipes ({included} recipes)");

    let mut commit = format!("feat(recipes): add batch {} recipes\n\n", input.batch_id);
    commit.push_str(&format!("Batch generation of {total} packages"));
    if !eco.is_empty() {
        commit.push_str(&format!(" ({eco})"));
    }
    commit.push_str(".\n");
    commit.push_str(&format!(
        "- {included} passed validation across platform environments\n"
    ));
    if !input.constrained.is_empty() {
        commit.push_str(&format!(
            "- {} with platform constraints\n",
            input.constrained.len()
        ));
    }
    commit.push_str(&format!(
        "- {excluded} excluded (recorded to data/failures/)\n"
    ));
    if !input.not_reported.is_empty() {
        let list: Vec<String> = input.not_reported.iter().map(not_reported_short).collect();
        commit.push_str(&format!("- not reported: {}\n", list.join(", ")));
    }
    commit.push('\n');
    commit.push_str(&format!(
        "batch_id: {}\nbatch_size: {total}\nsuccess_rate: {rate}\n",
        input.batch_id
    ));

    let mut body = String::from("Batch recipe generation");
    if !eco.is_empty() {
        body.push_str(&format!(" ({eco})"));
    }
    body.push_str(&format!(
        ": {included} recipes included, {excluded} excluded.\n\n{}\n",
        environments_line(&input.environments)
    ));
    if !input.not_reported.is_empty() {
        body.push_str(
            "\n## Platforms Not Reported\n\nNothing was derived from these platforms (no \
             constraint, exclusion or failure record) and auto-merge is off:\n\n",
        );
        for n in &input.not_reported {
            body.push_str(&not_reported_line(n));
        }
    }
    if !input.constrained.is_empty() {
        body.push_str(&format!(
            "\n## Platform Constraints\n\n{} recipe(s) have partial platform coverage. \
             Constraints were derived automatically:\n\n",
            input.constrained.len()
        ));
        for c in &input.constrained {
            let note = if c.existing {
                " (existing constraint, left unchanged)"
            } else {
                ""
            };
            body.push_str(&format!("- **{}**: `{}`{note}\n", c.name, c.line));
            push_reasons(&mut body, &c.reasons);
        }
    }
    if !input.excluded.is_empty() {
        body.push_str("\n## Excluded Recipes\n\n");
        for e in &input.excluded {
            body.push_str(&format!("- **{}**: {}\n", e.name, e.reason));
            push_reasons(&mut body, &e.reasons);
        }
    }
    if !input.unvalidated.is_empty() {
        body.push_str(&format!(
            "\n## Unvalidated Recipes\n\n{} recipe(s) have no validation result on any \
             platform and are included unvalidated:\n\n",
            input.unvalidated.len()
        ));
        for name in &input.unvalidated {
            body.push_str(&format!("- **{name}**\n"));
        }
    }
    body.push_str("\n---\n\n## Validation Summary\n\n| Platform | Status |\n|---|---|\n");
    for p in JobPlatform::ALL {
        let c = input.platforms.get(&p).copied().unwrap_or_default();
        let incomplete = input
            .not_reported
            .iter()
            .find(|n| n.platform() == p && matches!(n, NotReported::Incomplete { .. }));
        let status = if let Some(NotReported::Incomplete { recipe, .. }) = incomplete {
            format!("Incomplete (stopped at {recipe}; not used, see above)")
        } else if c.tested == 0 {
            NO_RESULTS.to_owned()
        } else {
            let skipped = c.tested - c.passed - c.failed;
            let mut s = format!("{} passed, {} failed", c.passed, c.failed);
            if skipped > 0 {
                s.push_str(&format!(", {skipped} skipped"));
            }
            s
        };
        body.push_str(&format!("| {p} | {status} |\n"));
    }
    PrText {
        title,
        body,
        commit_message: commit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(tested: u64, passed: u64, failed: u64) -> PlatformCounts {
        PlatformCounts {
            tested,
            passed,
            failed,
        }
    }

    fn full() -> PrInput {
        PrInput {
            batch_id: "2026-12-01-all".into(),
            ecosystems: [("cargo".to_owned(), 3), ("npm".to_owned(), 1)].into(),
            included: 3,
            constrained: vec![
                ConstrainedNote {
                    name: "bat".into(),
                    line: r#"supported_libc = ["glibc"]"#.into(),
                    existing: false,
                    reasons: vec![
                        "linux-alpine-musl-x86_64, linux-alpine-musl-arm64: exit 6: `no musl build`"
                            .into(),
                    ],
                },
                ConstrainedNote {
                    name: "jq".into(),
                    line: r#"supported_os = ["linux"]"#.into(),
                    existing: true,
                    reasons: vec![],
                },
            ],
            excluded: vec![ExcludedNote {
                name: "pipx".into(),
                reason: "contains run_command action at steps[0].action (security gate)".into(),
                reasons: vec![],
            }],
            unvalidated: vec!["zed".into()],
            platforms: [
                (JobPlatform::LinuxX86_64, counts(15, 12, 2)),
                (JobPlatform::LinuxArm64, counts(12, 10, 2)),
                (JobPlatform::DarwinArm64, counts(0, 0, 0)),
            ]
            .into(),
            environments: [
                "linux-debian-glibc-x86_64",
                "linux-rhel-glibc-x86_64",
                "linux-alpine-musl-x86_64",
                "linux-debian-glibc-arm64",
                "linux-suse-glibc-arm64",
                "linux-rhel-glibc-arm64",
                "linux-alpine-musl-arm64",
            ]
            .iter()
            .map(|p| RowPlatform::parse(p).unwrap())
            .collect(),
            not_reported: vec![
                NotReported::Missing {
                    platform: JobPlatform::DarwinArm64,
                },
                NotReported::Missing {
                    platform: JobPlatform::DarwinX86_64,
                },
            ],
        }
    }

    #[test]
    fn full_batch() {
        let t = render(&full());
        insta::assert_snapshot!("title_full", t.title);
        insta::assert_snapshot!("body_full", t.body);
        insta::assert_snapshot!("commit_full", t.commit_message);
    }

    #[test]
    fn nothing_reported() {
        let t = render(&PrInput {
            batch_id: "2026-12-01-npm".into(),
            included: 1,
            unvalidated: vec!["a".into()],
            ..PrInput::default()
        });
        insta::assert_snapshot!("body_nothing_reported", t.body);
        insta::assert_snapshot!("commit_nothing_reported", t.commit_message);
    }

    /// Issue #22: an incomplete platform is named with its reason in the body, the table and
    /// the commit message; reasons sit under the recipes they explain.
    #[test]
    fn incomplete_platform_and_reasons() {
        let t = render(&PrInput {
            batch_id: "2026-12-01-all".into(),
            ecosystems: [("cargo".to_owned(), 2)].into(),
            included: 1,
            constrained: vec![ConstrainedNote {
                name: "jq".into(),
                line: r#"supported_os = ["linux"]"#.into(),
                existing: false,
                reasons: vec![
                    "darwin-arm64: exit 6: `failed to resolve step github_file: 404`".into(),
                ],
            }],
            excluded: vec![ExcludedNote {
                name: "yq".into(),
                reason: "failed on all platforms (linux-debian-glibc-arm64, darwin-arm64)".into(),
                reasons: vec![
                    "linux-debian-glibc-arm64: exit 7 (verify exit 2): `yq: not found`".into(),
                    "darwin-arm64: exit 124 (timeout)".into(),
                ],
            }],
            platforms: [
                (JobPlatform::LinuxArm64, counts(2, 1, 1)),
                (JobPlatform::DarwinArm64, counts(2, 0, 2)),
            ]
            .into(),
            environments: ["linux-debian-glibc-arm64", "darwin-arm64"]
                .iter()
                .map(|p| RowPlatform::parse(p).unwrap())
                .collect(),
            not_reported: vec![
                NotReported::Incomplete {
                    platform: JobPlatform::LinuxX86_64,
                    recipe: "jq".into(),
                    message: "\nno container runtime available (`docker` not found)\nhint".into(),
                    rows_ignored: 7,
                },
                NotReported::Missing {
                    platform: JobPlatform::DarwinX86_64,
                },
            ],
            ..PrInput::default()
        });
        insta::assert_snapshot!("body_incomplete", t.body);
        insta::assert_snapshot!("commit_incomplete", t.commit_message);
        assert_eq!(t.title, "feat(recipes): add batch recipes (1 recipes)");
    }

    #[test]
    fn environment_count_is_computed() {
        let envs: Vec<RowPlatform> = ["linux-debian-glibc-x86_64", "darwin-arm64"]
            .iter()
            .map(|p| RowPlatform::parse(p).unwrap())
            .collect();
        assert_eq!(
            environments_line(&envs),
            "Validated across 2 platform environments (1 Linux x86_64 family, 1 macOS)."
        );
    }
}
