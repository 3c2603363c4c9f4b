//! The generation environment's own result rows (issue #13): the main run and each shard can
//! write, with `--validation-out FILE`, one `pass` row per recipe they generated and installed.
//! `aggregate` reads them to know which recipes the batch made; they never count as a platform
//! pass (spec §7.3.2 step 6 could not fire because they did).

use super::platform::{Arch, Os, RowPlatform};
use super::results::{Environment, ResultsFile, RowStatus, ValidationRow};
use crate::queue::{UnsafeName, recipe_relative_path};

/// The platform this binary runs on, without a Linux family (`linux-x86_64`, `darwin-arm64`);
/// `None` on any other OS or architecture.
pub(crate) fn host_platform() -> Option<RowPlatform> {
    let os = match std::env::consts::OS {
        "linux" => Os::Linux,
        "macos" => Os::Darwin,
        _ => return None,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => Arch::X86_64,
        "aarch64" => Arch::Arm64,
        _ => return None,
    };
    Some(RowPlatform {
        os,
        family: None,
        arch,
    })
}

/// One `pass` row per entry name in `names` (the candidates that generated and installed a
/// recipe), in order: `recipe` is the file stem, `path` the `/`-separated path under the
/// recipes directory (`recipe_relative_path`), `exit_code` 0, one attempt, no blockers,
/// `environment: generation`.
///
/// # Errors
/// [`UnsafeName`] for a name that is not a safe recipe path (never the case for a name that
/// was generated).
pub(crate) fn generation_rows<'a>(
    names: impl IntoIterator<Item = &'a str>,
    batch_id: &str,
    platform: RowPlatform,
) -> Result<ResultsFile, UnsafeName> {
    let rows = names
        .into_iter()
        .map(|name| {
            let rel = recipe_relative_path(name)?;
            let path = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let recipe = rel
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Ok(ValidationRow {
                recipe,
                platform,
                status: RowStatus::Pass,
                exit_code: Some(0),
                attempts: Some(1),
                blocked_by: Some(Vec::new()),
                timed_out: false,
                path,
                batch_id: batch_id.to_owned(),
                environment: Environment::Generation,
                message: None,
                subcategory: None,
                verify_exit_code: None,
            })
        })
        .collect::<Result<Vec<_>, UnsafeName>>()?;
    Ok(ResultsFile { rows })
}

/// Why the generation rows of a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GenerationRowsError {
    /// This OS or architecture has no platform name (`host_platform`).
    #[error("cannot name this platform ({os} {arch}) in generation rows")]
    UnknownHost {
        /// `std::env::consts::OS`.
        os: &'static str,
        /// `std::env::consts::ARCH`.
        arch: &'static str,
    },
    /// A generated entry's name is not a safe recipe path (never the case for a name that
    /// was generated).
    #[error("cannot make the generation row of a generated entry")]
    Name(#[source] UnsafeName),
}

/// [`generation_rows`] on this host's platform ([`host_platform`]): what the main run and
/// each shard write with `--validation-out` (see [`crate::sequence::Finished::generation_rows`]).
///
/// # Errors
/// [`GenerationRowsError::UnknownHost`] off Linux and macOS on x86_64 and arm64,
/// [`GenerationRowsError::Name`] for an unsafe name.
pub(crate) fn host_generation_rows<'a>(
    names: impl IntoIterator<Item = &'a str>,
    batch_id: &str,
) -> Result<ResultsFile, GenerationRowsError> {
    let platform = host_platform().ok_or(GenerationRowsError::UnknownHost {
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
    })?;
    generation_rows(names, batch_id, platform).map_err(GenerationRowsError::Name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_name_the_stem_and_the_nested_path() {
        let p = RowPlatform::parse("linux-x86_64").unwrap();
        let f = generation_rows(["bat", "Owner/tap/x"], "2026-12-01-002", p).unwrap();
        let got: Vec<(&str, &str)> = f
            .rows
            .iter()
            .map(|r| (r.recipe.as_str(), r.path.as_str()))
            .collect();
        assert_eq!(got, [("bat", "b/bat.toml"), ("x", "o/Owner/tap/x.toml")]);
        assert!(
            f.rows
                .iter()
                .all(|r| r.environment == Environment::Generation
                    && r.status == RowStatus::Pass
                    && r.batch_id == "2026-12-01-002")
        );
        assert!(generation_rows(["../x"], "b", p).is_err());
    }

    #[test]
    fn the_host_platform_round_trips() {
        if let Some(p) = host_platform() {
            assert_eq!(RowPlatform::parse(&p.to_string()), Some(p));
        }
    }
}
