//! The container a Linux install leaves when a timeout kills its container client (issue #22):
//! our `--timeout` guard, or tsuku's own container deadline.
//!
//! tsuku runs each sandboxed install as `docker|podman run --rm … --label io.tsuku.sandbox=true`
//! (tsuku `internal/sandbox/executor.go`, `internal/validate/runtime.go` `buildArgs`). Killing
//! the tsuku client's process group kills the `docker run` client too, but not the container:
//! it belongs to the daemon and runs on. tsuku's own deadline (15 minutes for a build,
//! `internal/sandbox/requirements.go`) ends the same way: `exec.CommandContext` kills its
//! `docker run` client and tsuku reports `container execution timed out` (or `installation
//! failed with exit code -1`), the container running on. [`ContainerCleanup`] wraps the job's
//! [`Runner`]; after an install it ran ended in [`Exit::TimedOut`], or exited with an output
//! the generator reads as such an abandoned container ([`Generator::abandons_container`],
//! given with [`ContainerCleanup::with_generator`]), it lists the labelled containers with each
//! runtime on `PATH` (podman, then docker, tsuku's order of preference) and removes them
//! (`rm -f`), each command through the same runner with [`CLEANUP_TIMEOUT`].
//!
//! Which containers are this install's: while no other install ran at any moment of this one
//! (always with `--jobs 1`), every labelled container is this install's or a leftover of an
//! earlier one, and all are removed. Otherwise they cannot be told apart from a running
//! sibling's (tsuku names none and labels all alike), so none is removed and
//! [`CleanupOutcome::Shared`] says so; the runner's teardown removes them (GitHub-hosted
//! runners are discarded after the job). Installs stopped by a signal or by the
//! `--max-duration` deadline are not cleaned (the runner starts nothing once a stop is
//! asked); they are left to the runner's teardown.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::generator::Generator;
use crate::runner::{Command, Exit, Output, Runner, RunnerError, find_program};

/// The label tsuku puts on every sandbox container (tsuku `internal/sandbox/executor.go`,
/// `ContainerLabelPrefix` = `io.tsuku.sandbox`, value `true`), as a `--filter` value.
pub const SANDBOX_LABEL_FILTER: &str = "label=io.tsuku.sandbox=true";

/// The container runtimes tried, in tsuku's order of preference (tsuku
/// `internal/validate/runtime.go`, `RuntimeDetector.Detect`: podman, then docker).
pub const RUNTIMES: [&str; 2] = ["podman", "docker"];

/// Wall-time limit of each `ps` or `rm` command of a cleanup.
pub const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);

/// What one cleanup did, reported per runtime tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanupOutcome {
    /// The labelled containers this runtime listed were removed (none when it listed none).
    Removed {
        /// The runtime (a path found on `PATH`).
        runtime: PathBuf,
        /// The container IDs removed.
        ids: Vec<String>,
    },
    /// Another install ran during this one: its containers cannot be told apart, none were
    /// removed (the runner's teardown removes them).
    Shared,
    /// Neither podman nor docker is on `PATH`: nothing to list.
    NoRuntime,
    /// A runtime command did not succeed (exit code, timeout, could not start).
    Failed {
        /// The runtime.
        runtime: PathBuf,
        /// `ps` or `rm`.
        step: &'static str,
        /// Why, in one line.
        reason: String,
    },
}

/// One cleanup event: the install it was for and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    /// The killed install: its recipe's file stem, and `@<family>` with `--target-family`.
    pub install: String,
    /// What was done.
    pub outcome: CleanupOutcome,
}

/// Installs running now and started so far: tells whether an install ran alone.
#[derive(Debug, Default)]
struct Installs {
    running: usize,
    started: u64,
}

/// One install in flight; dropping it (also when its future is cancelled) ends it.
struct Ticket<'a> {
    installs: &'a Mutex<Installs>,
    /// The value of `started` once this install was counted.
    seq: u64,
    /// Another install was running when this one started.
    shared: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut st = self.installs.lock().unwrap_or_else(|p| p.into_inner());
        st.running = st.running.saturating_sub(1);
    }
}

/// A [`Runner`] that removes the sandbox containers of an install it saw time out (killed at
/// its timeout, or, with [`ContainerCleanup::with_generator`], by the generator's own
/// container deadline); see the module docs. Every other call passes through unchanged, and the install's own
/// [`Output`] is returned as it was (the row still records the timeout).
pub struct ContainerCleanup<'a> {
    inner: &'a dyn Runner,
    runtimes: Vec<PathBuf>,
    installs: Mutex<Installs>,
    on_cleanup: Option<&'a (dyn Fn(&Cleanup) + Sync)>,
    generator: Option<&'a dyn Generator>,
}

impl std::fmt::Debug for ContainerCleanup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerCleanup")
            .field("runtimes", &self.runtimes)
            .finish_non_exhaustive()
    }
}

impl<'a> ContainerCleanup<'a> {
    /// Wraps `inner`; `runtimes` are the programs tried in order (usually
    /// [`ContainerCleanup::runtimes_on_path`]).
    pub fn new(inner: &'a dyn Runner, runtimes: Vec<PathBuf>) -> Self {
        Self {
            inner,
            runtimes,
            installs: Mutex::new(Installs::default()),
            on_cleanup: None,
            generator: None,
        }
    }

    /// Also cleans after an install that exited by itself with an output `generator` reads
    /// as abandoning its container ([`Generator::abandons_container`]: tsuku's own container
    /// deadline), under the same rule (no other install ran meanwhile).
    #[must_use]
    pub fn with_generator(mut self, generator: &'a dyn Generator) -> Self {
        self.generator = Some(generator);
        self
    }

    /// Whether `out` left a container behind: killed at its timeout, or ended by the
    /// generator's own container deadline.
    fn abandoned(&self, out: &Output) -> bool {
        match out.exit {
            Exit::TimedOut(_) => true,
            Exit::Code(_) => self.generator.is_some_and(|g| g.abandons_container(out)),
            Exit::Signal(_) | Exit::Interrupted => false,
        }
    }

    /// Tells `f` about every cleanup step (for the log).
    #[must_use]
    pub fn on_cleanup(mut self, f: &'a (dyn Fn(&Cleanup) + Sync)) -> Self {
        self.on_cleanup = Some(f);
        self
    }

    /// Each of [`RUNTIMES`] found on `PATH` ([`find_program`]), in that order.
    pub fn runtimes_on_path() -> Vec<PathBuf> {
        RUNTIMES
            .iter()
            .filter_map(|r| find_program(Path::new(r)))
            .collect()
    }

    fn begin(&self) -> Ticket<'_> {
        let mut st = self.installs.lock().unwrap_or_else(|p| p.into_inner());
        st.started += 1;
        st.running += 1;
        Ticket {
            installs: &self.installs,
            seq: st.started,
            shared: st.running > 1,
        }
    }

    /// Whether the ticket's install has run alone so far: nothing was running when it started
    /// and nothing started since.
    fn alone(&self, t: &Ticket<'_>) -> bool {
        let st = self.installs.lock().unwrap_or_else(|p| p.into_inner());
        !t.shared && st.started == t.seq && st.running == 1
    }

    fn report(&self, install: &str, outcome: CleanupOutcome) {
        if let Some(f) = self.on_cleanup {
            f(&Cleanup {
                install: install.to_owned(),
                outcome,
            });
        }
    }

    /// Lists and removes the labelled containers after `ticket`'s install timed out. The
    /// check that it ran alone is repeated after the listing, so a sibling started meanwhile
    /// (whose container the listing may hold) stops the removal.
    async fn clean(&self, ticket: &Ticket<'_>, install: &str) {
        if self.runtimes.is_empty() {
            return self.report(install, CleanupOutcome::NoRuntime);
        }
        if !self.alone(ticket) {
            return self.report(install, CleanupOutcome::Shared);
        }
        for rt in &self.runtimes {
            let ps = runtime_command(rt, ["ps", "-q", "--filter", SANDBOX_LABEL_FILTER]);
            let ids = match self.inner.run(ps).await {
                Ok(out) if out.exit.success() => container_ids(&out.stdout),
                other => {
                    self.report(install, failed(rt, "ps", &other));
                    continue;
                }
            };
            if !ids.is_empty() {
                if !self.alone(ticket) {
                    return self.report(install, CleanupOutcome::Shared);
                }
                let mut args = vec!["rm".to_owned(), "-f".to_owned()];
                args.extend(ids.iter().cloned());
                let rm = self.inner.run(runtime_command(rt, args)).await;
                if !matches!(&rm, Ok(out) if out.exit.success()) {
                    self.report(install, failed(rt, "rm", &rm));
                    continue;
                }
            }
            self.report(
                install,
                CleanupOutcome::Removed {
                    runtime: rt.clone(),
                    ids,
                },
            );
        }
    }
}

#[async_trait::async_trait]
impl Runner for ContainerCleanup<'_> {
    async fn run(&self, cmd: Command) -> Result<Output, RunnerError> {
        let install = install_name(&cmd.args);
        let ticket = self.begin();
        let out = self.inner.run(cmd).await?;
        if self.abandoned(&out) {
            self.clean(&ticket, &install).await;
        }
        drop(ticket);
        Ok(out)
    }
}

/// `<runtime> <args>` with [`CLEANUP_TIMEOUT`], stdout and stderr apart.
fn runtime_command<S: Into<OsString>>(rt: &Path, args: impl IntoIterator<Item = S>) -> Command {
    Command {
        program: rt.to_owned(),
        args: args.into_iter().map(Into::into).collect(),
        env: Vec::new(),
        current_dir: None,
        timeout: CLEANUP_TIMEOUT,
        merge_output: false,
    }
}

/// The IDs `ps -q` printed, one a line. Anything that is not a plain hex/alphanumeric ID is
/// dropped, so no line can become an option of `rm`.
fn container_ids(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.len() <= 128 && l.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_owned)
        .collect()
}

/// A [`CleanupOutcome::Failed`] for a command that did not exit 0.
fn failed(rt: &Path, step: &'static str, r: &Result<Output, RunnerError>) -> CleanupOutcome {
    let reason = match r {
        Err(e) => e.to_string(),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line = stderr.lines().map(str::trim).find(|l| !l.is_empty());
            let how = match out.exit {
                Exit::Code(c) => format!("exit {c}"),
                Exit::Signal(s) => format!("signal {s}"),
                Exit::TimedOut(d) => format!("timed out after {}s", d.as_secs()),
                Exit::Interrupted => "interrupted".to_owned(),
            };
            match line {
                Some(l) => format!("{how}: {}", l.chars().take(200).collect::<String>()),
                None => how,
            }
        }
    };
    CleanupOutcome::Failed {
        runtime: rt.to_owned(),
        step,
        reason,
    }
}

/// `<recipe stem>[@<family>]` from an install's argv (`… --recipe PATH [--target-family F]`).
fn install_name(args: &[OsString]) -> String {
    let after = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let recipe = after("--recipe")
        .and_then(|p| Path::new(p).file_stem())
        .map_or_else(
            || "install".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
    match after("--target-family") {
        Some(f) => format!("{recipe}@{}", f.to_string_lossy()),
        None => recipe,
    }
}

#[cfg(test)]
#[path = "containers_tests.rs"]
mod tests;
