//! The container a Linux install leaves when our `--timeout` guard kills it (issue #22).
//!
//! tsuku runs each sandboxed install as `docker|podman run --rm … --label io.tsuku.sandbox=true`
//! (tsuku `internal/sandbox/executor.go`, `internal/validate/runtime.go` `buildArgs`). Killing
//! the tsuku client's process group kills the `docker run` client too, but not the container:
//! it belongs to the daemon and runs on. [`ContainerCleanup`] wraps the job's [`Runner`]; after
//! an install it ran ended in [`Exit::TimedOut`], it lists the labelled containers with each
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
//! asked), nor are containers tsuku itself abandons when its own 15-minute limit kills its
//! `docker run` client: that install is not [`Exit::TimedOut`] here; both are left to the
//! runner's teardown.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

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

/// A [`Runner`] that removes the sandbox containers of an install it saw time out; see the
/// module docs. Every other call passes through unchanged, and the install's own
/// [`Output`] is returned as it was (the row still records the timeout).
pub struct ContainerCleanup<'a> {
    inner: &'a dyn Runner,
    runtimes: Vec<PathBuf>,
    installs: Mutex<Installs>,
    on_cleanup: Option<&'a (dyn Fn(&Cleanup) + Sync)>,
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

    /// Lists and removes the labelled containers after `ticket`'s install was killed. The
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
        if matches!(out.exit, Exit::TimedOut(_)) {
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
mod tests {
    use std::sync::Arc;

    use super::*;

    const SECS: fn(u64) -> Duration = Duration::from_secs;

    type Script = dyn Fn(&str) -> (Exit, &'static str, &'static str, Duration) + Send + Sync;

    /// Records `<program file name> <args>` of every call and answers from its script:
    /// (exit, stdout, stderr, after) in tokio time.
    struct Fake {
        calls: Mutex<Vec<String>>,
        script: Box<Script>,
    }

    impl Fake {
        fn new(
            script: impl Fn(&str) -> (Exit, &'static str, &'static str, Duration)
            + Send
            + Sync
            + 'static,
        ) -> Self {
            Self {
                calls: Mutex::new(Vec::new()),
                script: Box::new(script),
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[async_trait::async_trait]
    impl Runner for Fake {
        async fn run(&self, cmd: Command) -> Result<Output, RunnerError> {
            let mut line = cmd
                .program
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            for a in &cmd.args {
                line.push(' ');
                line.push_str(&a.to_string_lossy());
            }
            if line.starts_with("podman") || line.starts_with("docker") {
                assert_eq!(cmd.timeout, CLEANUP_TIMEOUT, "{line}");
            }
            self.calls.lock().unwrap().push(line.clone());
            let (exit, stdout, stderr, after) = (self.script)(&line);
            tokio::time::sleep(after).await;
            Ok(Output {
                exit,
                stdout: stdout.into(),
                stderr: stderr.into(),
            })
        }
    }

    fn install(recipe: &str) -> Command {
        Command {
            program: PathBuf::from("/bin/tsuku"),
            args: [
                "install",
                "--json",
                "--force",
                "--recipe",
                &format!("/r/{}/{recipe}.toml", &recipe[..1]),
                "--sandbox",
                "--target-family",
                "debian",
            ]
            .into_iter()
            .map(OsString::from)
            .collect(),
            env: Vec::new(),
            current_dir: None,
            timeout: SECS(1800),
            merge_output: false,
        }
    }

    fn runtimes() -> Vec<PathBuf> {
        vec![
            PathBuf::from("/usr/bin/podman"),
            PathBuf::from("/usr/bin/docker"),
        ]
    }

    const PS: &str = "ps -q --filter label=io.tsuku.sandbox=true";

    /// Installs named `slow*` time out after 10 s, `long*` exit 0 after 20 s, `quick*` exit 6
    /// after 2 s, others exit 6 at once; podman cannot reach its service; docker lists two containers after `ps_after`.
    fn script(ps_after: Duration) -> impl Fn(&str) -> (Exit, &'static str, &'static str, Duration) {
        move |line: &str| {
            if line.starts_with("podman") {
                (
                    Exit::Code(125),
                    "",
                    "\nError: unable to connect to Podman socket\n",
                    SECS(0),
                )
            } else if line == format!("docker {PS}") {
                (Exit::Code(0), "0123abcd\n\n  4567ef01 \n", "", ps_after)
            } else if line.starts_with("docker rm") {
                (Exit::Code(0), "0123abcd\n4567ef01\n", "", SECS(0))
            } else if line.contains("/slow") {
                (Exit::TimedOut(SECS(10)), "", "", SECS(10))
            } else if line.contains("/long") {
                (Exit::Code(0), "", "", SECS(20))
            } else if line.contains("/quick") {
                (Exit::Code(6), "", "", SECS(2))
            } else {
                (Exit::Code(6), "", "", SECS(0))
            }
        }
    }

    fn collect() -> (Arc<Mutex<Vec<Cleanup>>>, impl Fn(&Cleanup) + Sync) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        (seen, move |c: &Cleanup| s.lock().unwrap().push(c.clone()))
    }

    #[tokio::test(start_paused = true)]
    async fn an_install_killed_alone_has_its_containers_removed_by_each_runtime() {
        let fake = Fake::new(script(SECS(0)));
        let (seen, f) = collect();
        let runner = ContainerCleanup::new(&fake, runtimes()).on_cleanup(&f);
        // A failure that is not a timeout leaves the containers to tsuku's `--rm`.
        let out = runner.run(install("bat")).await.unwrap();
        assert_eq!(out.exit, Exit::Code(6));
        assert_eq!(fake.calls().len(), 1);
        assert!(seen.lock().unwrap().is_empty());

        let out = runner.run(install("slow")).await.unwrap();
        // The row still sees the timeout.
        assert_eq!(out.exit, Exit::TimedOut(SECS(10)));
        assert_eq!(
            fake.calls()[1..],
            [
                "tsuku install --json --force --recipe /r/s/slow.toml --sandbox --target-family debian"
                    .to_owned(),
                format!("podman {PS}"),
                format!("docker {PS}"),
                "docker rm -f 0123abcd 4567ef01".to_owned(),
            ]
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [
                Cleanup {
                    install: "slow@debian".into(),
                    outcome: CleanupOutcome::Failed {
                        runtime: "/usr/bin/podman".into(),
                        step: "ps",
                        reason: "exit 125: Error: unable to connect to Podman socket".into(),
                    },
                },
                Cleanup {
                    install: "slow@debian".into(),
                    outcome: CleanupOutcome::Removed {
                        runtime: "/usr/bin/docker".into(),
                        ids: vec!["0123abcd".into(), "4567ef01".into()],
                    },
                },
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn containers_are_left_when_another_install_ran_at_the_same_time() {
        let fake = Fake::new(script(SECS(0)));
        let (seen, f) = collect();
        let runner = ContainerCleanup::new(&fake, runtimes()).on_cleanup(&f);
        // slow (0-10 s) overlaps long (0-20 s); slow2 (0-10 s) then times out while long is
        // still running, and slow3 started after long ended, alone.
        let (a, b) = tokio::join!(runner.run(install("slow")), runner.run(install("long")));
        assert_eq!(a.unwrap().exit, Exit::TimedOut(SECS(10)));
        assert_eq!(b.unwrap().exit, Exit::Code(0));
        assert!(fake.calls().iter().all(|c| c.starts_with("tsuku")));
        let shared = |i: &str| Cleanup {
            install: i.into(),
            outcome: CleanupOutcome::Shared,
        };
        assert_eq!(*seen.lock().unwrap(), [shared("slow@debian")]);

        // An install that started while another ran stays shared after the other ended.
        let (a, b) = tokio::join!(runner.run(install("quick")), runner.run(install("slow2")));
        assert_eq!(
            (a.unwrap().exit, b.unwrap().exit),
            (Exit::Code(6), Exit::TimedOut(SECS(10)))
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
        assert_eq!(seen.lock().unwrap()[1], shared("slow2@debian"));
        assert!(fake.calls().iter().all(|c| c.starts_with("tsuku")));

        runner.run(install("slow3")).await.unwrap();
        assert_eq!(
            fake.calls().last().unwrap(),
            "docker rm -f 0123abcd 4567ef01"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sibling_started_during_the_listing_stops_the_removal() {
        let fake = Fake::new(script(SECS(5)));
        let (seen, f) = collect();
        let runner = ContainerCleanup::new(&fake, runtimes()).on_cleanup(&f);
        let late = async {
            // slow times out at 10 s; docker's listing runs from 10 s to 15 s.
            tokio::time::sleep(SECS(12)).await;
            runner.run(install("bat")).await
        };
        let (a, _) = tokio::join!(runner.run(install("slow")), late);
        assert_eq!(a.unwrap().exit, Exit::TimedOut(SECS(10)));
        assert!(
            !fake.calls().iter().any(|c| c.starts_with("docker rm")),
            "{:?}",
            fake.calls()
        );
        let outcomes: Vec<CleanupOutcome> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.outcome.clone())
            .collect();
        assert!(matches!(
            outcomes[0],
            CleanupOutcome::Failed { step: "ps", .. }
        ));
        assert_eq!(outcomes[1..], [CleanupOutcome::Shared]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_runtime_the_cleanup_says_so_and_a_failed_removal_is_reported() {
        let fake = Fake::new(script(SECS(0)));
        let (seen, f) = collect();
        ContainerCleanup::new(&fake, Vec::new())
            .on_cleanup(&f)
            .run(install("slow"))
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap()[0].outcome, CleanupOutcome::NoRuntime);
        assert_eq!(fake.calls().len(), 1);

        let stuck = Fake::new(|line: &str| {
            if line.starts_with("docker rm") {
                (Exit::TimedOut(CLEANUP_TIMEOUT), "", "", CLEANUP_TIMEOUT)
            } else {
                script(SECS(0))(line)
            }
        });
        let (seen, f) = collect();
        ContainerCleanup::new(&stuck, vec![PathBuf::from("/usr/bin/docker")])
            .on_cleanup(&f)
            .run(install("slow"))
            .await
            .unwrap();
        assert_eq!(
            seen.lock().unwrap()[0].outcome,
            CleanupOutcome::Failed {
                runtime: "/usr/bin/docker".into(),
                step: "rm",
                reason: "timed out after 30s".into(),
            }
        );
    }

    #[test]
    fn only_plain_ids_are_passed_to_rm_and_installs_are_named_by_recipe_and_family() {
        assert_eq!(
            container_ids(b"abc123\n--all\n\n  DEF456  \n$(x)\nid with space\n"),
            ["abc123", "DEF456"]
        );
        assert!(container_ids(b"").is_empty());
        assert_eq!(install_name(&install("bat").args), "bat@debian");
        let mac: Vec<OsString> = ["install", "--json", "--force", "--recipe", "/r/j/jq.toml"]
            .into_iter()
            .map(OsString::from)
            .collect();
        assert_eq!(install_name(&mac), "jq");
        assert_eq!(install_name(&[]), "install");
    }
}
