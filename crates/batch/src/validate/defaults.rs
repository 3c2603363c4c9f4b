//! The per-platform defaults of a validation job (issue #22): how long one install attempt
//! may run before our guard kills it, and how many installs run at once. `--timeout` and
//! `--jobs` override them; the CLI's help quotes them.

use std::time::Duration;

use super::platform::Os;

/// The macOS limit of one install attempt: 300 s, the `gtimeout 300` of tsuku's validation
/// workflow (spec §7.3). macOS installs are not sandboxed, so nothing else bounds them.
pub const DARWIN_TIMEOUT: Duration = Duration::from_secs(300);

/// tsuku's own limit on one sandbox container run, the longer of its two: 15 minutes for
/// installs that need the network or a build, 2 minutes for binary-only installs (tsuku
/// `internal/sandbox/requirements.go`, `ResourceLimits.Timeout`). When it is hit tsuku
/// reports the failure itself, with the reason.
pub const TSUKU_CONTAINER_LIMIT: Duration = Duration::from_secs(15 * 60);

/// The Linux guard of one install attempt: 30 minutes, twice [`TSUKU_CONTAINER_LIMIT`].
/// tsuku's limit covers the container run only; the guard adds room for what comes before it
/// (pulling the family's image, building the foundation image), so on Linux it fires only on
/// a hung tsuku, never on a long build that tsuku itself would let finish (the workflow's
/// `gtimeout 300` is macOS-only, spec §7.3).
pub const LINUX_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Installs in flight at once by default: 1, as tsuku's workflow installs one recipe after
/// the other (spec §7.3). Concurrent installs share the runner's CPUs (each build container
/// asks for 4 CPUs and 4 GB), the cargo registry cache (mounted read-write into every build
/// container) and, on macOS, the tsuku home (only its `state.json` is locked).
pub const DEFAULT_JOBS: u16 = 1;

/// The default limit of one install attempt on `os`: [`DARWIN_TIMEOUT`] on macOS,
/// [`LINUX_TIMEOUT`] on Linux.
pub fn default_timeout(os: Os) -> Duration {
    match os {
        Os::Darwin => DARWIN_TIMEOUT,
        Os::Linux => LINUX_TIMEOUT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{JobPlatform, ValidateConfig};

    #[test]
    fn macos_keeps_the_workflows_300s_and_linux_waits_past_tsukus_own_limit() {
        assert_eq!(default_timeout(Os::Darwin), Duration::from_secs(300));
        assert_eq!(default_timeout(Os::Linux), Duration::from_secs(1800));
        // The guard must never fire before tsuku's own 15-minute container limit does.
        assert!(LINUX_TIMEOUT > TSUKU_CONTAINER_LIMIT + Duration::from_secs(5 * 60));
    }

    #[test]
    fn a_new_config_takes_its_platforms_timeout_and_one_job() {
        for (platform, secs) in [
            (JobPlatform::LinuxX86_64, 1800),
            (JobPlatform::LinuxArm64, 1800),
            (JobPlatform::DarwinArm64, 300),
            (JobPlatform::DarwinX86_64, 300),
        ] {
            let c = ValidateConfig::new(platform, "b-1");
            assert_eq!(c.timeout, Duration::from_secs(secs), "{platform}");
            assert_eq!(c.jobs, 1, "{platform}");
        }
    }
}
