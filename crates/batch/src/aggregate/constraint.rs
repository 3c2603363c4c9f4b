//! Platform constraint derivation (spec §7.3.3, `write-platform-constraints.sh`).
//!
//! Input: a recipe's passed and failed validation platforms (skipped rows ignored; the
//! generation row never counts, issue #13). Decision, first match wins:
//! 1. all-darwin-failed (some `darwin-*` failed, none passed) → `supported_os = ["linux"]`
//!    (Linux failures are then ignored);
//! 2. all-linux-failed → `supported_os = ["darwin"]`;
//! 3. only-musl-failed (every failed platform is musl, and some glibc platform passed) →
//!    `supported_libc = ["glibc"]`;
//! 4. `unsupported_platforms`: `linux/arm64` if Linux arm64 failed and never passed; per
//!    family (debian, rhel, arch, suse, alpine) `linux/<f>` (both arches failed),
//!    `linux/<f>/amd64` (x86_64 only), `linux/<f>/arm64` (arm64 only, unless `linux/arm64`
//!    is already listed); then `darwin/arm64`, `darwin/amd64` for failed macOS rows. If that
//!    list is empty, one `<os>/<arch>` per failed platform (`x86_64` spelled `amd64`).
//!
//! Deliberate reading: a family-less Linux row (`linux-arm64`, written by other tools) counts
//! as a Linux arm64 row for the `linux/arm64` rule, and only reaches the per-family rules
//! through the fallback.

use std::fmt;

use crate::validate::{Arch, Family, Libc, Os, RowPlatform};

/// The `[metadata]` key a constraint is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConstraintKey {
    /// `supported_os`: the OSes the recipe works on.
    SupportedOs,
    /// `supported_libc`: the C libraries the recipe works with.
    SupportedLibc,
    /// `unsupported_platforms`: `os[/family][/arch]` entries it does not work on.
    UnsupportedPlatforms,
}

impl ConstraintKey {
    /// The TOML key.
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKey::SupportedOs => "supported_os",
            ConstraintKey::SupportedLibc => "supported_libc",
            ConstraintKey::UnsupportedPlatforms => "unsupported_platforms",
        }
    }
}

/// A derived constraint: one key and its string list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Constraint {
    /// The key.
    pub key: ConstraintKey,
    /// The values, in spec §7.3.3's order.
    pub values: Vec<String>,
}

impl fmt::Display for Constraint {
    /// The TOML line without newline: `key = ["a", "b"]` (spec §7.3.3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = [", self.key.as_str())?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            // Values are fixed ASCII words and slashes; Debug quoting is TOML-valid for them.
            write!(f, "{v:?}")?;
        }
        f.write_str("]")
    }
}

/// Derives the constraint for a recipe (spec §7.3.3); `None` when both lists are empty or
/// nothing failed.
pub(crate) fn derive(passed: &[RowPlatform], failed: &[RowPlatform]) -> Option<Constraint> {
    if failed.is_empty() {
        return None;
    }
    let any = |list: &[RowPlatform], f: &dyn Fn(&RowPlatform) -> bool| list.iter().any(f);
    let is_os = |os: Os| move |p: &RowPlatform| p.os == os;
    let all_failed = |os: Os| any(failed, &is_os(os)) && !any(passed, &is_os(os));
    let one = |key, v: &str| {
        Some(Constraint {
            key,
            values: vec![v.to_owned()],
        })
    };
    if all_failed(Os::Darwin) {
        return one(ConstraintKey::SupportedOs, "linux");
    }
    if all_failed(Os::Linux) {
        return one(ConstraintKey::SupportedOs, "darwin");
    }
    let musl = |p: &RowPlatform| p.libc() == Some(Libc::Musl);
    let glibc = |p: &RowPlatform| p.libc() == Some(Libc::Glibc);
    if failed.iter().all(musl) && any(passed, &glibc) {
        return one(ConstraintKey::SupportedLibc, "glibc");
    }

    let mut values: Vec<String> = Vec::new();
    let linux_arm = |p: &RowPlatform| p.os == Os::Linux && p.arch == Arch::Arm64;
    let linux_arm64 = any(failed, &linux_arm) && !any(passed, &linux_arm);
    if linux_arm64 {
        values.push("linux/arm64".into());
    }
    for family in Family::ALL {
        let failed_on = |arch: Arch| {
            failed
                .iter()
                .any(|p| p.os == Os::Linux && p.family == Some(family) && p.arch == arch)
        };
        match (failed_on(Arch::X86_64), failed_on(Arch::Arm64)) {
            (true, true) => values.push(format!("linux/{family}")),
            (true, false) => values.push(format!("linux/{family}/amd64")),
            (false, true) if !linux_arm64 => values.push(format!("linux/{family}/arm64")),
            _ => {}
        }
    }
    for arch in [Arch::Arm64, Arch::X86_64] {
        if failed.iter().any(|p| p.os == Os::Darwin && p.arch == arch) {
            values.push(format!("darwin/{}", arch.go_name()));
        }
    }
    if values.is_empty() {
        for p in failed {
            let v = format!("{}/{}", p.os.as_str(), p.arch.go_name());
            if !values.contains(&v) {
                values.push(v);
            }
        }
    }
    Some(Constraint {
        key: ConstraintKey::UnsupportedPlatforms,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RowPlatform {
        RowPlatform::parse(s).unwrap_or_else(|| panic!("bad platform {s}"))
    }

    use crate::validate::platform::DEFAULT_ROW_NAMES as ALL11;

    /// The 11 environments, with `failed` failing and every other one passing.
    fn matrix(failed: &[&str]) -> (Vec<RowPlatform>, Vec<RowPlatform>) {
        let pass = ALL11
            .iter()
            .filter(|n| !failed.contains(n))
            .map(|n| p(n))
            .collect();
        (pass, failed.iter().map(|n| p(n)).collect())
    }

    #[test]
    fn every_branch_of_spec_7_3_3() {
        let cases: &[(&[&str], Option<&str>)] = &[
            // §8.3 scenario 108.
            (
                &["darwin-arm64", "darwin-x86_64"],
                Some(r#"supported_os = ["linux"]"#),
            ),
            (
                &["linux-alpine-musl-x86_64", "linux-alpine-musl-arm64"],
                Some(r#"supported_libc = ["glibc"]"#),
            ),
            (
                &[
                    "linux-debian-glibc-arm64",
                    "linux-rhel-glibc-arm64",
                    "linux-suse-glibc-arm64",
                    "linux-alpine-musl-arm64",
                ],
                Some(r#"unsupported_platforms = ["linux/arm64"]"#),
            ),
            (
                &["linux-arch-glibc-x86_64"],
                Some(r#"unsupported_platforms = ["linux/arch/amd64"]"#),
            ),
            // Rule 1 wins over Linux failures, which are ignored.
            (
                &["darwin-arm64", "darwin-x86_64", "linux-alpine-musl-x86_64"],
                Some(r#"supported_os = ["linux"]"#),
            ),
            // Rule 2: every Linux row failed (reachable now that the generation row does not
            // count, issue #13).
            (&ALL11[..9], Some(r#"supported_os = ["darwin"]"#)),
            // Rule 3 needs every failure to be musl.
            (
                &["linux-alpine-musl-x86_64"],
                Some(r#"supported_libc = ["glibc"]"#),
            ),
            (
                &["linux-alpine-musl-x86_64", "darwin-arm64"],
                Some(r#"unsupported_platforms = ["linux/alpine/amd64", "darwin/arm64"]"#),
            ),
            // Per family: both arches, x86_64 only, arm64 only.
            (
                &["linux-debian-glibc-x86_64", "linux-debian-glibc-arm64"],
                Some(r#"unsupported_platforms = ["linux/debian"]"#),
            ),
            (
                &["linux-rhel-glibc-arm64"],
                Some(r#"unsupported_platforms = ["linux/rhel/arm64"]"#),
            ),
            // linux/arm64 suppresses the per-family arm64 entries but not the x86_64 ones or
            // the both-arches ones.
            (
                &[
                    "linux-debian-glibc-arm64",
                    "linux-rhel-glibc-arm64",
                    "linux-suse-glibc-arm64",
                    "linux-alpine-musl-arm64",
                    "linux-suse-glibc-x86_64",
                    "linux-arch-glibc-x86_64",
                ],
                Some(
                    r#"unsupported_platforms = ["linux/arm64", "linux/arch/amd64", "linux/suse"]"#,
                ),
            ),
            // Family order is debian, rhel, arch, suse, alpine whatever the row order.
            (
                &[
                    "linux-alpine-musl-x86_64",
                    "linux-suse-glibc-x86_64",
                    "linux-debian-glibc-x86_64",
                ],
                Some(
                    r#"unsupported_platforms = ["linux/debian/amd64", "linux/suse/amd64", "linux/alpine/amd64"]"#,
                ),
            ),
            // One darwin fails, the other passes: darwin entries, arm64 first.
            (
                &["darwin-x86_64"],
                Some(r#"unsupported_platforms = ["darwin/amd64"]"#),
            ),
            (
                &["darwin-x86_64", "linux-rhel-glibc-x86_64"],
                Some(r#"unsupported_platforms = ["linux/rhel/amd64", "darwin/amd64"]"#),
            ),
            // Nothing failed.
            (&[], None),
        ];
        for (failed, want) in cases {
            let (pass, fail) = matrix(failed);
            let got = derive(&pass, &fail).map(|c| c.to_string());
            assert_eq!(got.as_deref(), *want, "failed: {failed:?}");
        }
    }

    #[test]
    fn fallback_names_each_failed_platform() {
        // Family-less Linux rows reach no per-family rule: the fallback lists them.
        let pass = [p("linux-arm64"), p("darwin-arm64")];
        let fail = [p("linux-x86_64"), p("linux-x86_64")];
        let c = derive(&pass, &fail).unwrap();
        assert_eq!(c.to_string(), r#"unsupported_platforms = ["linux/amd64"]"#);
        // A family-less arm64 row counts for linux/arm64.
        let c = derive(&[p("linux-x86_64")], &[p("linux-arm64")]).unwrap();
        assert_eq!(c.to_string(), r#"unsupported_platforms = ["linux/arm64"]"#);
    }

    #[test]
    fn musl_rule_needs_a_glibc_pass() {
        // Only alpine ran, and failed on x86_64 but passed on arm64: not rule 3.
        let c = derive(
            &[p("linux-alpine-musl-arm64")],
            &[p("linux-alpine-musl-x86_64")],
        )
        .unwrap();
        assert_eq!(
            c.to_string(),
            r#"unsupported_platforms = ["linux/alpine/amd64"]"#
        );
        // Nothing passed at all and only Linux ran → rule 2.
        let c = derive(&[], &[p("linux-alpine-musl-x86_64")]).unwrap();
        assert_eq!(c.to_string(), r#"supported_os = ["darwin"]"#);
    }
}
