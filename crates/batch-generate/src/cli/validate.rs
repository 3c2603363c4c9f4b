//! Arguments of `validate` (spec §7.3, issue #13): install the batch's new recipes on one
//! platform runner and write `validation-results-<platform>.json`.

use std::path::PathBuf;
use std::time::Duration;

use batch::validate::{DEFAULT_JOBS, Family, JobPlatform, ResultsFile, default_timeout};
use clap::Args;

use super::common::JsonArgs;
use super::parse::{parse_batch_id, parse_duration};

/// Flags of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The runner's platform: linux-x86_64, linux-arm64, darwin-arm64 or darwin-x86_64.
    #[arg(long, env = "BATCH_PLATFORM", value_name = "PLATFORM", value_parser = parse_platform)]
    pub platform: JobPlatform,

    /// A Linux family to install in (repeatable or comma-separated: debian, rhel, arch, suse,
    /// alpine) [default: all five on linux-x86_64, all but arch on linux-arm64]. Not allowed
    /// on macOS, which has one unsandboxed row.
    #[arg(long = "family", value_name = "FAMILY", value_delimiter = ',', value_parser = parse_family)]
    pub families: Vec<Family>,

    /// The batch's new recipes, laid out as <letter>/<name>.toml (one level; deeper paths,
    /// symlinks and names with `..` are reported and not installed).
    #[arg(long, env = "BATCH_RECIPES", value_name = "DIR")]
    pub recipes: PathBuf,

    /// The results file [default: validation-results-<platform>.json]; its journal is
    /// <FILE>.journal while the job runs.
    #[arg(long, env = "BATCH_VALIDATE_OUT", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// tsuku's execution exclusions (testdata/golden/execution-exclusions.json): recipes
    /// named in .exclusions[].recipe get `skipped` rows.
    #[arg(long, env = "BATCH_EXCLUSIONS", value_name = "FILE")]
    pub exclusions: Option<PathBuf>,

    /// Installs in flight at once (1 by default, as tsuku's workflow). More is allowed, but
    /// concurrent installs share the runner's CPUs (each Linux build container asks for 4 CPUs
    /// and 4 GB, as many as a hosted runner has), the cargo registry cache (mounted read-write
    /// into every build container) and, on macOS, the tsuku home (only its state.json is
    /// locked), so a result can depend on what ran beside it. A Linux install killed by
    /// --timeout while another ran leaves its container to the runner's teardown.
    #[arg(long, env = "BATCH_VALIDATE_JOBS", default_value_t = DEFAULT_JOBS, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// Wall-time limit of one install attempt [default: 300s on macOS, the workflow's
    /// `gtimeout 300`; 30m on Linux, above tsuku's own 15-minute container limit]. The
    /// process group is killed and the row records exit 124; on Linux the sandbox
    /// containers are then removed (podman, then docker, whichever is on PATH), as after an
    /// install tsuku's own container limit ended.
    #[arg(long, env = "BATCH_VALIDATE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// The tsuku binary (a path, or a name looked up on PATH).
    #[arg(long, env = "BATCH_GENERATOR", default_value = "tsuku")]
    pub generator: PathBuf,

    /// The batch ID from `preflight`, written into every row.
    #[arg(long, env = "BATCH_BATCH_ID", value_parser = parse_batch_id)]
    pub batch_id: String,

    /// Time budget of the job (e.g. 110m): a row starts only if it is expected to finish
    /// before the deadline; at the deadline running installs are stopped. The rows finished
    /// are written, the journal is kept, and the exit code is 0. Not longer than `--timeout`
    /// is a usage error (exit 2): no install could start.
    #[arg(long, env = "BATCH_VALIDATE_MAX_DURATION", value_name = "DURATION", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,

    /// Time between SIGTERM and SIGKILL when an install is stopped.
    #[arg(long, env = "BATCH_KILL_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub kill_grace: Duration,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

impl ValidateArgs {
    /// `--out`, or `validation-results-<platform>.json` in the working directory.
    pub fn out(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| PathBuf::from(ResultsFile::file_name(self.platform)))
    }

    /// `--timeout`, or the platform's default ([`default_timeout`]: 300 s on macOS, 30 min on
    /// Linux).
    pub fn timeout(&self) -> Duration {
        self.timeout
            .unwrap_or_else(|| default_timeout(self.platform.os()))
    }
}

fn parse_platform(s: &str) -> Result<JobPlatform, String> {
    s.parse()
}

fn parse_family(s: &str) -> Result<Family, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use batch::validate::{JobPlatform, default_timeout};
    use clap::{CommandFactory as _, Parser as _};

    use super::super::Cli;
    use super::super::root::Command;

    fn args(extra: &[&str]) -> super::ValidateArgs {
        let mut v = vec![
            "batch-generate",
            "validate",
            "--recipes",
            "r",
            "--batch-id",
            "b-1",
        ];
        v.extend_from_slice(extra);
        match Cli::try_parse_from(v).unwrap().command {
            Some(Command::Validate(a)) => *a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn timeout_defaults_per_platform_and_the_flag_overrides_it() {
        for (platform, secs) in [
            ("linux-x86_64", 1800),
            ("linux-arm64", 1800),
            ("darwin-arm64", 300),
            ("darwin-x86_64", 300),
        ] {
            let a = args(&["--platform", platform]);
            assert_eq!(a.timeout(), Duration::from_secs(secs), "{platform}");
            assert_eq!(a.jobs, 1, "{platform}");
            let a = args(&["--platform", platform, "--timeout", "45m", "--jobs", "3"]);
            assert_eq!((a.timeout(), a.jobs), (Duration::from_secs(2700), 3));
        }
    }

    #[test]
    fn the_help_quotes_the_library_defaults() {
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("validate")
            .unwrap()
            .render_long_help()
            .to_string();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let mac = default_timeout(JobPlatform::DarwinArm64.os()).as_secs();
        let linux = default_timeout(JobPlatform::LinuxX86_64.os()).as_secs();
        assert!(
            help.contains(&format!("[default: {mac}s on macOS")),
            "{help}"
        );
        assert!(
            help.contains(&format!("; {}m on Linux", linux / 60)),
            "{help}"
        );
        assert!(
            help.contains(&format!("[default: {}]", batch::validate::DEFAULT_JOBS)),
            "{help}"
        );
    }
}
