//! Running one generator command: the [`Runner`] trait the orchestrator calls, and
//! [`ProcessRunner`], its tokio::process implementation (own process group, timeout that
//! signals the whole group, concurrent bounded capture of stdout and stderr). Each process it
//! starts is reported to its [`ProcessLog`] (the run journal records it, issue #15) and, on
//! Linux, gets a parent-death signal through `setpriv` ([`parent_death_helper`]).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::exit::Exit;
use crate::run::orphans::ProcessLog;

/// One generator invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The program (`--generator`).
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<OsString>,
    /// Variables added to the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory; `None` inherits ours.
    pub current_dir: Option<PathBuf>,
    /// Wall-time limit of the process.
    pub timeout: Duration,
    /// Capture stdout and stderr into one buffer in write order (`create`, spec §4.2) instead
    /// of two (`install`, spec §4.3).
    pub merge_output: bool,
}

/// What a finished command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub exit: Exit,
    /// Captured stdout (with `merge_output`, stdout and stderr interleaved).
    pub stdout: Vec<u8>,
    /// Captured stderr (empty with `merge_output`).
    pub stderr: Vec<u8>,
}

/// The command could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// Spawning failed: the program is missing or not executable.
    #[error("failed to start generator `{program}`")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Setting up pipes or waiting for the process failed.
    #[error("i/o error while running generator `{program}`")]
    Io {
        /// The program.
        program: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// How far a run is asked to stop (issue #4 signals). Sent through a
/// `tokio::sync::watch` channel to the runner and the orchestrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Stop {
    /// Keep going.
    #[default]
    Running,
    /// First SIGINT/SIGTERM: start nothing new; SIGTERM running generators' process groups,
    /// SIGKILL them after the grace period.
    Graceful,
    /// Second signal: SIGKILL running generators now.
    Immediate,
}

/// Waits until `stop` reaches at least `level`; never returns when there is no channel or
/// its sender is gone without reaching it.
pub(crate) async fn stop_reached(stop: Option<&tokio::sync::watch::Receiver<Stop>>, level: Stop) {
    let Some(rx) = stop else {
        return std::future::pending().await;
    };
    let mut rx = rx.clone();
    if rx.wait_for(|s| *s >= level).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs one generator command. Implementations must enforce `timeout` and never fail for a
/// non-zero exit: that is data in [`Output::exit`].
#[cfg_attr(test, mockall::automock)]
#[async_trait::async_trait]
pub trait Runner: Send + Sync {
    /// Runs `cmd` to completion (or timeout).
    ///
    /// # Errors
    /// [`RunnerError`] only when the process could not be started or observed.
    async fn run(&self, cmd: Command) -> Result<Output, RunnerError>;
}

/// Keeps the first and last `limit / 2` bytes of a stream and counts what fell in between.
#[derive(Debug)]
struct Bounded {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    half: usize,
    dropped: u64,
}

impl Bounded {
    fn new(limit: usize) -> Self {
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            half: limit / 2,
            dropped: 0,
        }
    }

    fn push(&mut self, mut chunk: &[u8]) {
        let room = self.half.saturating_sub(self.head.len());
        let take = room.min(chunk.len());
        self.head.extend_from_slice(&chunk[..take]);
        chunk = &chunk[take..];
        if chunk.len() > self.half {
            let skip = chunk.len() - self.half;
            self.dropped += (self.tail.len() + skip) as u64;
            self.tail.clear();
            chunk = &chunk[skip..];
        }
        let overflow = (self.tail.len() + chunk.len()).saturating_sub(self.half);
        self.dropped += overflow as u64;
        self.tail.drain(..overflow);
        self.tail.extend(chunk);
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut out = self.head;
        if self.dropped > 0 {
            out.extend_from_slice(
                format!("\n[... {} bytes dropped ...]\n", self.dropped).as_bytes(),
            );
        }
        out.extend(self.tail);
        out
    }
}

async fn drain<R: AsyncRead + Unpin>(mut r: R, limit: usize) -> Vec<u8> {
    let mut buf = Bounded::new(limit);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.push(&chunk[..n]),
        }
    }
    buf.into_bytes()
}

/// A generator process as the run journal records it: enough to find its process group again
/// after the orchestrator was killed, and never to mistake a reused pid for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessId {
    /// Process id of the group leader (the generator itself).
    pub pid: u32,
    /// Its process-group id (the same number: each generator leads its own group).
    pub pgid: u32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22); `None` where
    /// there is no `/proc` (such a process is never signalled by a later run).
    pub start_time: Option<u64>,
}

impl ProcessId {
    /// The identity of the live process `pid`, leading its own group.
    pub fn of(pid: u32) -> Self {
        Self {
            pid,
            pgid: pid,
            start_time: proc_stat(pid).map(|s| s.start_time),
        }
    }
}

/// The fields of `/proc/<pid>/stat` this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// State letter (`R`, `S`, `Z`, …).
    pub(crate) state: char,
    /// Process-group id (field 5).
    pub(crate) pgrp: u32,
    /// Start time in clock ticks since boot (field 22).
    pub(crate) start_time: u64,
}

/// Reads `/proc/<pid>/stat`; `None` when the process is gone or there is no `/proc`.
pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid pgrp ..."; comm may hold spaces and parentheses: split after the
    // last ')'. Fields from the state on are then numbered from 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// The `setpriv` that gives generators a parent-death signal (`--pdeathsig KILL`), when this
/// is Linux and a `setpriv` on `PATH` supports it; `None` otherwise. Probed once per call (one
/// short process), so call it once per run.
pub fn parent_death_helper() -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let setpriv = find_program(Path::new("setpriv"))?;
    let works = std::process::Command::new(&setpriv)
        .args(["--pdeathsig", "KILL", "--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(setpriv)
}

/// Runs generators as real processes with tokio.
///
/// Each process gets stdin from the null device and its own process group, so a timeout can
/// signal every descendant: SIGTERM to the group, then SIGKILL after `kill_grace`. Output is
/// drained concurrently while the process runs (no full-pipe deadlock) and at most
/// `max_output` bytes of each stream are kept (head and tail, with a marker).
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    /// SIGTERM → SIGKILL grace period on timeout or interruption (zero kills at once).
    pub kill_grace: Duration,
    /// Bytes kept per stream.
    pub max_output: usize,
    /// Interruption requests; `None` runs every process to its end or timeout.
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
    /// `setpriv` ([`parent_death_helper`]): each generator is started through it with
    /// `--pdeathsig KILL`, so the kernel kills it when the thread that spawned it dies.
    /// `None` starts generators directly.
    pub parent_death: Option<PathBuf>,
    /// Told about every process started and reaped. It records them only while a main run
    /// has attached its journal ([`crate::sequence::MainRun::with_processes`] takes it from
    /// here, issue #15); the default records nothing.
    pub process_log: Arc<ProcessLog>,
}

impl Default for ProcessRunner {
    fn default() -> Self {
        Self {
            kill_grace: Duration::from_secs(10),
            max_output: 1 << 20,
            stop: None,
            parent_death: None,
            process_log: Arc::default(),
        }
    }
}

/// How long the pipes may stay open after the process exits before the group is killed
/// (a grandchild holding them would otherwise hang the run).
const LEAK_WINDOW: Duration = Duration::from_millis(500);

#[cfg(unix)]
fn signal_group(pgid: Option<u32>, sig: nix::sys::signal::Signal) {
    if let Some(pid) = pgid.and_then(|p| i32::try_from(p).ok()) {
        // ESRCH (the group is already gone) is the expected race; nothing to do about others.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), sig);
    }
}

/// Kills the process group when dropped unless disarmed: a cancelled run never leaves a
/// generator behind.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

#[async_trait::async_trait]
impl Runner for ProcessRunner {
    async fn run(&self, cmd: Command) -> Result<Output, RunnerError> {
        use nix::sys::signal::Signal;
        if self
            .stop
            .as_ref()
            .is_some_and(|s| *s.borrow() != Stop::Running)
        {
            return Ok(Output {
                exit: Exit::Interrupted,
                stdout: Vec::new(),
                stderr: Vec::new(),
            });
        }
        let io_err = |source| RunnerError::Io {
            program: cmd.program.clone(),
            source,
        };
        let mut c = match &self.parent_death {
            Some(setpriv) => {
                // A missing generator must still fail the spawn, not become setpriv's exit 127.
                if find_program(&cmd.program).is_none() {
                    return Err(RunnerError::Spawn {
                        program: cmd.program.clone(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no such executable file",
                        ),
                    });
                }
                let mut c = tokio::process::Command::new(setpriv);
                c.args(["--pdeathsig", "KILL", "--"]).arg(&cmd.program);
                c
            }
            None => tokio::process::Command::new(&cmd.program),
        };
        c.args(&cmd.args)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(d) = &cmd.current_dir {
            c.current_dir(d);
        }
        let merged = if cmd.merge_output {
            let (reader, writer) = std::io::pipe().map_err(io_err)?;
            c.stdout(writer.try_clone().map_err(io_err)?).stderr(writer);
            Some(reader)
        } else {
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            None
        };
        let spawned = c.spawn();
        // The Command holds our copies of the pipe's write end; drop it so EOF arrives when
        // the process group closes its copies.
        drop(c);
        let mut child = spawned.map_err(|source| RunnerError::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        let pgid = child.id();
        let mut guard = GroupGuard(pgid);
        let process = pgid.map(ProcessId::of);
        if let Some(p) = &process {
            self.process_log.started(p);
        }

        let limit = self.max_output;
        let (out_task, err_task) = match merged {
            Some(reader) => {
                let rx = tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into())
                    .map_err(io_err)?;
                (tokio::spawn(drain(rx, limit)), None)
            }
            None => {
                let out = child.stdout.take().expect("stdout is piped");
                let err = child.stderr.take().expect("stderr is piped");
                (
                    tokio::spawn(drain(out, limit)),
                    Some(tokio::spawn(drain(err, limit))),
                )
            }
        };

        let stop = self.stop.as_ref();
        let exit = tokio::select! {
            waited = tokio::time::timeout(cmd.timeout, child.wait()) => match waited {
                Ok(status) => exit_of(status.map_err(io_err)?),
                Err(_) => {
                    self.terminate(pgid, &mut child).await.map_err(io_err)?;
                    Exit::TimedOut(cmd.timeout)
                }
            },
            () = stop_reached(stop, Stop::Graceful) => {
                self.terminate(pgid, &mut child).await.map_err(io_err)?;
                Exit::Interrupted
            }
        };

        let collect = async {
            let out = out_task.await.unwrap_or_default();
            let err = match err_task {
                Some(t) => t.await.unwrap_or_default(),
                None => Vec::new(),
            };
            (out, err)
        };
        tokio::pin!(collect);
        let (stdout, stderr) = match tokio::time::timeout(LEAK_WINDOW, &mut collect).await {
            Ok(v) => v,
            Err(_) => {
                // A descendant still holds the pipes: kill the group and take what was read.
                signal_group(pgid, Signal::SIGKILL);
                collect.await
            }
        };
        guard.0 = None;
        if let Some(p) = &process {
            self.process_log.ended(p);
        }
        Ok(Output {
            exit,
            stdout,
            stderr,
        })
    }
}

/// Resolves a generator the way the spawn will: a name without `/` is looked up in `PATH`
/// (absolute entries only, as Go did), a path is checked directly. Returns the executable
/// file found, or `None`.
pub fn find_program(program: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return executable(program).then(|| program.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

impl ProcessRunner {
    /// SIGTERM to the group, up to `kill_grace` (cut short by an immediate stop) for the leader
    /// to exit, then SIGKILL to the group so no descendant outlives it; reaps the leader.
    async fn terminate(
        &self,
        pgid: Option<u32>,
        child: &mut tokio::process::Child,
    ) -> std::io::Result<()> {
        use nix::sys::signal::Signal;
        let immediate = self
            .stop
            .as_ref()
            .is_some_and(|s| *s.borrow() == Stop::Immediate);
        if !immediate && !self.kill_grace.is_zero() {
            signal_group(pgid, Signal::SIGTERM);
            tokio::select! {
                _ = tokio::time::timeout(self.kill_grace, child.wait()) => {}
                () = stop_reached(self.stop.as_ref(), Stop::Immediate) => {}
            }
        }
        signal_group(pgid, Signal::SIGKILL);
        child.wait().await.map(|_| ())
    }
}

fn exit_of(status: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keeps_head_and_tail() {
        let mut b = Bounded::new(8);
        b.push(b"abcdefghij");
        b.push(b"klmnop");
        let out = String::from_utf8(b.into_bytes()).unwrap();
        assert_eq!(out, "abcd\n[... 8 bytes dropped ...]\nmnop");
        let mut small = Bounded::new(100);
        small.push(b"hello");
        assert_eq!(small.into_bytes(), b"hello");
    }

    #[test]
    fn find_program_checks_paths_and_path_var() {
        assert!(find_program(Path::new("sh")).is_some(), "sh is on PATH");
        assert!(find_program(Path::new("/bin/sh")).is_some());
        assert!(find_program(Path::new("no-such-generator-xyz")).is_none());
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        assert!(find_program(&plain).is_none(), "not executable");
        assert!(find_program(Path::new("/")).is_none(), "a directory");
    }

    #[test]
    fn proc_stat_reads_our_own_process() {
        let me = std::process::id();
        let s = proc_stat(me).expect("/proc/self/stat");
        assert!(matches!(s.state, 'R' | 'S'), "{s:?}");
        assert_eq!(s.pgrp, nix::unistd::getpgrp().as_raw().cast_unsigned());
        assert!(s.start_time > 0);
        assert_eq!(ProcessId::of(me).start_time, Some(s.start_time));
        assert!(proc_stat(u32::MAX).is_none());
    }

    #[test]
    fn bounded_many_small_chunks() {
        let mut b = Bounded::new(4);
        for c in b"0123456789".chunks(1) {
            b.push(c);
        }
        assert_eq!(
            String::from_utf8(b.into_bytes()).unwrap(),
            "01\n[... 6 bytes dropped ...]\n89"
        );
    }
}
