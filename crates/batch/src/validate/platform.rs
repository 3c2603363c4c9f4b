//! Platforms of the validation matrix (spec §7.3).
//!
//! A *job platform* is one runner of the workflow's matrix (`linux-x86_64`, `linux-arm64`,
//! `darwin-arm64`, `darwin-x86_64`). A *row platform* names the environment one result row was
//! measured in: `linux-<family>-<libc>-<arch>` on Linux (one per container family) and
//! `darwin-<arch>` on macOS. Constraint derivation (spec §7.3.3) reads row platforms back
//! through [`RowPlatform::parse`].

use std::fmt;
use std::str::FromStr;

/// Operating system of a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Os {
    /// Linux (sandboxed container families).
    Linux,
    /// macOS (not sandboxed).
    Darwin,
}

impl Os {
    /// `linux` or `darwin`, as in row platforms and tsuku's `supported_os`.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Darwin => "darwin",
        }
    }
}

/// CPU architecture, spelled as in row platforms (`x86_64`, `arm64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// `x86_64` (tsuku's `unsupported_platforms` spells it `amd64`, spec §7.3.3).
    X86_64,
    /// `arm64`.
    Arm64,
}

impl Arch {
    /// `x86_64` or `arm64`, as in row and job platform names.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The Go spelling used in `unsupported_platforms` entries: `amd64` or `arm64`.
    pub fn go_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// C library of a Linux family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Libc {
    /// glibc (every family but alpine).
    Glibc,
    /// musl (alpine).
    Musl,
}

impl Libc {
    /// `glibc` or `musl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Libc::Glibc => "glibc",
            Libc::Musl => "musl",
        }
    }
}

/// A Linux distribution family tsuku's sandbox can target (`--target-family`, spec §7.3).
/// Declaration order is the order of spec §7.3.3's per-family loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Debian/Ubuntu (glibc).
    Debian,
    /// RHEL/Fedora (glibc).
    Rhel,
    /// Arch Linux (glibc; no arm64 image).
    Arch,
    /// openSUSE (glibc).
    Suse,
    /// Alpine (musl).
    Alpine,
}

impl Family {
    /// Every family, in spec §7.3.3's order.
    pub const ALL: [Family; 5] = [
        Family::Debian,
        Family::Rhel,
        Family::Arch,
        Family::Suse,
        Family::Alpine,
    ];

    /// The family's name as tsuku's `--target-family` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Debian => "debian",
            Family::Rhel => "rhel",
            Family::Arch => "arch",
            Family::Suse => "suse",
            Family::Alpine => "alpine",
        }
    }

    /// The family's C library: musl for alpine, glibc otherwise.
    pub fn libc(self) -> Libc {
        match self {
            Family::Alpine => Libc::Musl,
            _ => Libc::Glibc,
        }
    }
}

impl FromStr for Family {
    type Err = String;

    /// Parses a family name; the error lists the accepted names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Family::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!("unknown family {s:?}; expected one of debian, rhel, arch, suse, alpine")
            })
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One runner of the validation matrix (spec §7.3): the value of `validate --platform` and the
/// `<platform>` of `validation-results-<platform>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobPlatform {
    /// `linux-x86_64` (ubuntu-latest; 5 families).
    LinuxX86_64,
    /// `linux-arm64` (ubuntu-24.04-arm; 4 families, no arch).
    LinuxArm64,
    /// `darwin-arm64` (macos-14).
    DarwinArm64,
    /// `darwin-x86_64` (macos-15-intel).
    DarwinX86_64,
}

impl JobPlatform {
    /// Every job platform, in the order of the PR's validation table (spec §7.3.5).
    pub const ALL: [JobPlatform; 4] = [
        JobPlatform::LinuxX86_64,
        JobPlatform::LinuxArm64,
        JobPlatform::DarwinArm64,
        JobPlatform::DarwinX86_64,
    ];

    /// `linux-x86_64`, `linux-arm64`, `darwin-arm64` or `darwin-x86_64`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobPlatform::LinuxX86_64 => "linux-x86_64",
            JobPlatform::LinuxArm64 => "linux-arm64",
            JobPlatform::DarwinArm64 => "darwin-arm64",
            JobPlatform::DarwinX86_64 => "darwin-x86_64",
        }
    }

    /// The platform's operating system.
    pub fn os(self) -> Os {
        match self {
            JobPlatform::LinuxX86_64 | JobPlatform::LinuxArm64 => Os::Linux,
            _ => Os::Darwin,
        }
    }

    /// The platform's architecture.
    pub fn arch(self) -> Arch {
        match self {
            JobPlatform::LinuxX86_64 | JobPlatform::DarwinX86_64 => Arch::X86_64,
            _ => Arch::Arm64,
        }
    }

    /// The families validated by default (spec §7.3): all five on `linux-x86_64`, all but
    /// `arch` on `linux-arm64`, none on macOS (one unsandboxed row).
    pub fn default_families(self) -> &'static [Family] {
        match self {
            JobPlatform::LinuxX86_64 => &Family::ALL,
            JobPlatform::LinuxArm64 => {
                &[Family::Debian, Family::Rhel, Family::Suse, Family::Alpine]
            }
            _ => &[],
        }
    }

    /// The row platform of one family on this runner (`None` on macOS), e.g.
    /// `linux-alpine-musl-arm64` or `darwin-x86_64`.
    pub fn row(self, family: Option<Family>) -> RowPlatform {
        RowPlatform {
            os: self.os(),
            family: if self.os() == Os::Linux { family } else { None },
            arch: self.arch(),
        }
    }

    /// The job platform a row platform belongs to.
    pub fn of_row(row: &RowPlatform) -> JobPlatform {
        match (row.os, row.arch) {
            (Os::Linux, Arch::X86_64) => JobPlatform::LinuxX86_64,
            (Os::Linux, Arch::Arm64) => JobPlatform::LinuxArm64,
            (Os::Darwin, Arch::Arm64) => JobPlatform::DarwinArm64,
            (Os::Darwin, Arch::X86_64) => JobPlatform::DarwinX86_64,
        }
    }
}

impl FromStr for JobPlatform {
    type Err = String;

    /// Parses `linux-x86_64`, `linux-arm64`, `darwin-arm64` or `darwin-x86_64`; the error lists
    /// them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobPlatform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown platform {s:?}; expected one of linux-x86_64, linux-arm64, \
                     darwin-arm64, darwin-x86_64"
                )
            })
    }
}

impl fmt::Display for JobPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names of the 11 environments of the default matrix (spec §7.3: 5 Linux x86_64 families,
/// 4 Linux arm64 families, 2 macOS), in matrix order: each [`JobPlatform::ALL`] with its
/// [`JobPlatform::default_families`].
pub const DEFAULT_ROW_NAMES: [&str; 11] = [
    "linux-debian-glibc-x86_64",
    "linux-rhel-glibc-x86_64",
    "linux-arch-glibc-x86_64",
    "linux-suse-glibc-x86_64",
    "linux-alpine-musl-x86_64",
    "linux-debian-glibc-arm64",
    "linux-rhel-glibc-arm64",
    "linux-suse-glibc-arm64",
    "linux-alpine-musl-arm64",
    "darwin-arm64",
    "darwin-x86_64",
];

/// The environment of one result row (spec §7.3): `linux-<family>-<libc>-<arch>` or
/// `darwin-<arch>`. Linux rows without a family (`linux-<arch>`) are accepted for results
/// written by other tools, but `validate` always names the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowPlatform {
    /// Operating system.
    pub os: Os,
    /// Linux family; `None` on macOS.
    pub family: Option<Family>,
    /// Architecture.
    pub arch: Arch,
}

impl RowPlatform {
    /// Parses a row platform name; `None` if it is neither `linux-<family>-<libc>-<arch>`,
    /// `linux-<arch>` nor `darwin-<arch>`, or if the libc does not match the family.
    pub fn parse(s: &str) -> Option<RowPlatform> {
        let arch = |a: &str| match a {
            "x86_64" => Some(Arch::X86_64),
            "arm64" => Some(Arch::Arm64),
            _ => None,
        };
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            ["darwin", a] => Some(RowPlatform {
                os: Os::Darwin,
                family: None,
                arch: arch(a)?,
            }),
            ["linux", a] => Some(RowPlatform {
                os: Os::Linux,
                family: None,
                arch: arch(a)?,
            }),
            ["linux", f, libc, a] => {
                let family: Family = f.parse().ok()?;
                (family.libc().as_str() == *libc).then_some(())?;
                Some(RowPlatform {
                    os: Os::Linux,
                    family: Some(family),
                    arch: arch(a)?,
                })
            }
            _ => None,
        }
    }

    /// The row's C library (from its family), if it has one.
    pub fn libc(&self) -> Option<Libc> {
        self.family.map(Family::libc)
    }
}

impl fmt::Display for RowPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.os, self.family) {
            (Os::Linux, Some(family)) => write!(
                f,
                "linux-{}-{}-{}",
                family.as_str(),
                family.libc().as_str(),
                self.arch.as_str()
            ),
            (os, _) => write!(f, "{}-{}", os.as_str(), self.arch.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_names_follow_spec_7_3() {
        let names: Vec<String> = JobPlatform::ALL
            .into_iter()
            .flat_map(|p| {
                let fams = p.default_families();
                if fams.is_empty() {
                    vec![p.row(None).to_string()]
                } else {
                    fams.iter().map(|f| p.row(Some(*f)).to_string()).collect()
                }
            })
            .collect();
        // 5 + 4 + 2 = 11 environments (spec §7.3).
        assert_eq!(names, DEFAULT_ROW_NAMES);
        for n in &names {
            assert_eq!(RowPlatform::parse(n).unwrap().to_string(), *n);
        }
    }

    #[test]
    fn parse_rejects_unknown_shapes() {
        for bad in [
            "",
            "linux",
            "darwin-amd64",
            "linux-alpine-glibc-x86_64",
            "linux-debian-musl-arm64",
            "linux-gentoo-glibc-x86_64",
            "windows-x86_64",
            "linux-debian-glibc-x86_64-extra",
        ] {
            assert_eq!(RowPlatform::parse(bad), None, "{bad}");
        }
        let bare = RowPlatform::parse("linux-arm64").unwrap();
        assert_eq!((bare.family, bare.arch), (None, Arch::Arm64));
        assert_eq!(JobPlatform::of_row(&bare), JobPlatform::LinuxArm64);
    }

    #[test]
    fn job_platform_parse_lists_choices() {
        assert_eq!("darwin-arm64".parse(), Ok(JobPlatform::DarwinArm64));
        let err = "linux-amd64".parse::<JobPlatform>().unwrap_err();
        assert!(
            err.contains("linux-x86_64") && err.contains("darwin-x86_64"),
            "{err}"
        );
    }
}
