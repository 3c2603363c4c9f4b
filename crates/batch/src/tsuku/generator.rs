//! [`Tsuku`]: the [`Generator`] that runs tsuku.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use super::{argv, read};
use crate::config::Config;
use crate::generator::{Generator, Job, Reading};
use crate::runner::{Command, Output};
use crate::validate::ValidateConfig;

/// tsuku as the engine's generator: the program, the variables added to its environment,
/// the wall-time limit of one process, and whether validation installs pass
/// `--env GITHUB_TOKEN` into the sandbox. `create` captures stdout and stderr as one stream
/// in write order (spec §4.2), `install` as two (spec §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tsuku {
    program: PathBuf,
    env: Vec<(OsString, OsString)>,
    timeout: Duration,
    github_token: bool,
}

impl Tsuku {
    /// The main run's tsuku: `config.generator`, with `config.generator_env` added to its
    /// environment, each process limited to `config.timeout`.
    pub fn for_run(config: &Config) -> Self {
        Self {
            program: config.generator.clone(),
            env: config.generator_env.clone(),
            timeout: config.timeout,
            github_token: false,
        }
    }

    /// `validate`'s tsuku: `config.generator` in the inherited environment, each install
    /// limited to `config.timeout`, `--env GITHUB_TOKEN` on Linux when
    /// `config.pass_github_token`.
    pub fn for_validation(config: &ValidateConfig) -> Self {
        Self {
            program: config.generator.clone(),
            env: Vec::new(),
            timeout: config.timeout,
            github_token: config.pass_github_token,
        }
    }
}

impl Generator for Tsuku {
    fn command(&self, job: &Job<'_>) -> Command {
        let (args, merge_output) = match job {
            Job::Create(t) => (argv::create(t.name, t.source, t.recipe), true),
            Job::Install(t) => (argv::install(t.recipe), false),
            Job::Validate { recipe, family } => {
                (argv::validate(recipe, *family, self.github_token), false)
            }
        };
        Command {
            program: self.program.clone(),
            args,
            env: self.env.clone(),
            current_dir: None,
            timeout: self.timeout,
            merge_output,
        }
    }

    fn read(&self, job: &Job<'_>, output: &Output, last: bool) -> Reading {
        read::read(job, output, last)
    }

    /// The first non-blank line that is not one of tsuku's notices (`Warning: Skipping
    /// recipe review`, `Note:`, `warning: `, `Installing …`; issue #22), else the first
    /// non-blank line.
    fn headline<'m>(&self, message: &'m str) -> &'m str {
        read::headline(message)
    }

    /// True for the sandbox JSON of tsuku's own container deadline, which the validation
    /// reader records as a timeout (code 124, subcategory `timeout`) although the process
    /// ended by itself: tsuku's `exec.CommandContext` killed its `docker|podman run` client,
    /// not the container.
    fn abandons_container(&self, output: &Output) -> bool {
        read::abandons_container(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsuku() -> Tsuku {
        Tsuku::for_run(&Config::new())
    }

    /// The stderr texts of `../shared/data/tsuku-cli/transcript.txt`.
    #[test]
    fn headline_skips_tsukus_notices() {
        let cases = [
            (
                "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError checking package: failed to fetch crate info: Get \"https://crates.io/api/v1/crates/ripgrep\": dial tcp: lookup crates.io on 192.0.2.53:53: no such host\n",
                "Error checking package: failed to fetch crate info: Get \"https://crates.io/api/v1/crates/ripgrep\": dial tcp: lookup crates.io on 192.0.2.53:53: no such host",
            ),
            (
                "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError: 'gh' resolved to github (cli/cli), which requires LLM for recipe generation.\nRemove --deterministic-only or wait for a recipe to be contributed.\n",
                "Error: 'gh' resolved to github (cli/cli), which requires LLM for recipe generation.",
            ),
            (
                "Note: Checksums for 'jq' will be computed during installation.\nwarning: version resolution failed: network unavailable, using 'dev'\nFailed to generate plan: failed to resolve step github_file\n",
                "Failed to generate plan: failed to resolve step github_file",
            ),
            (
                "Installing eval-time dependencies: [python-standalone]\nInstalling python-standalone...\nwarning: version resolution failed: x, using 'dev'\nFailed to generate plan: failed to resolve step github_archive\n",
                "Failed to generate plan: failed to resolve step github_archive",
            ),
            // A create whose retries ran out: its first line ends in the `--yes` warning.
            (
                "failed after 3 retries: tsuku create homebrew:jq: exit 5: Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host",
                "Error checking package: failed to fetch formula info: Get \"https://formulae.brew.sh/api/formula/jq.json\": dial tcp: lookup formulae.brew.sh on 192.0.2.53:53: no such host",
            ),
            (
                "failed after 3 retries: tsuku create homebrew:jq: exit 5: Error checking package: Homebrew API returned status 503",
                "failed after 3 retries: tsuku create homebrew:jq: exit 5: Error checking package: Homebrew API returned status 503",
            ),
            // Only notices: the first line.
            (
                "\n  Warning: Skipping recipe review (--yes). x\nNote: y\n",
                "Warning: Skipping recipe review (--yes). x",
            ),
            ("", ""),
            ("plain error\nsecond", "plain error"),
        ];
        for (message, want) in cases {
            assert_eq!(tsuku().headline(message), want, "{message:?}");
        }
    }
}
