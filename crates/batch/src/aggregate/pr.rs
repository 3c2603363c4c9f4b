//! The PR title, body and commit message of a batch (spec §7.3.5), from what actually ran
//! (issue #13): the number of environments is counted from the rows (never a fixed 11), the
//! validation table says which job platforms reported and which did not ("No results"),
//! excluded recipes carry their reason, constrained ones their constraint (an existing
//! constraint is reported as existing), and recipes no platform reported on are listed as
//! unvalidated.

use std::collections::BTreeMap;

use super::metrics::PlatformCounts;
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
}

/// An excluded recipe in the PR text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExcludedNote {
    /// Recipe name.
    pub name: String,
    /// Why (gate reason, "failed on all platforms", ...).
    pub reason: String,
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
        "- {excluded} excluded (recorded to data/failures/)\n\n"
    ));
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
        }
    }
    if !input.excluded.is_empty() {
        body.push_str("\n## Excluded Recipes\n\n");
        for e in &input.excluded {
            body.push_str(&format!("- **{}**: {}\n", e.name, e.reason));
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
        let status = if c.tested == 0 {
            "No results (the job failed, was cancelled or reported nothing)".to_owned()
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
                },
                ConstrainedNote {
                    name: "jq".into(),
                    line: r#"supported_os = ["linux"]"#.into(),
                    existing: true,
                },
            ],
            excluded: vec![ExcludedNote {
                name: "pipx".into(),
                reason: "contains run_command action at steps[0].action (security gate)".into(),
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
