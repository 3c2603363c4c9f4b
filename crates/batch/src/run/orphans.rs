//! No orphans (issue #15): the generator processes of a run are recorded in its journal
//! ([`ProcessLog`]), and a run that finds the journal of a killed run stops every recorded
//! process group still alive before it starts anything (`stop_leftovers`).
//!
//! Process lines are written but not synced: they only matter when the orchestrator dies and
//! the machine does not (the page cache keeps a write of a killed process), and after a power
//! loss no generator survives anyway. Syncing twice per process would double the journal's
//! cost for nothing.
//!
//! A recorded group is "still alive" when its leader runs with the recorded pid *and* start
//! time (clock ticks since boot, `/proc/<pid>/stat`), or, once the leader is gone, when a
//! process that is not a zombie is still in that process group and started no earlier than
//! the leader. A pid now held by a process with another start time is a reused pid: the
//! kernel never hands out the id of a group that still has members, so that group is gone and
//! nothing is signalled.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::journal::{self, Journal, JournalError, Line, line_bytes};
use crate::runner::ProcessId;
use crate::runner::process::proc_stat;

/// Records generator processes in the run journal while one is attached: the
/// [`crate::runner::ProcessRunner::process_log`] of a runner, which
/// [`crate::sequence::MainRun::with_processes`] attaches to the run's journal.
#[derive(Debug, Default)]
pub struct ProcessLog {
    file: Mutex<Option<File>>,
}

impl ProcessLog {
    /// Records from now on into `journal` (a second handle on its file).
    ///
    /// # Errors
    /// [`JournalError::Io`] when the handle cannot be made.
    pub fn attach(&self, journal: &Journal) -> Result<(), JournalError> {
        let file = journal.try_clone_file()?;
        *self.file.lock().unwrap_or_else(|p| p.into_inner()) = Some(file);
        Ok(())
    }

    /// Stops recording.
    pub fn detach(&self) {
        *self.file.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn write(&self, line: &Line) {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = file.as_mut() {
            // A failed write only loses the record; the outcome append that follows reports
            // the journal's trouble and halts the run.
            let _ = f.write_all(&line_bytes(line));
        }
    }
}

impl ProcessLog {
    /// `process` was just spawned: a `process` line, when attached.
    pub fn started(&self, process: &ProcessId) {
        self.write(&Line::Process(*process));
    }

    /// `process` was reaped and its group signalled as the runner does on exit: a
    /// `process_ended` line, when attached.
    pub fn ended(&self, process: &ProcessId) {
        self.write(&Line::ProcessEnded(*process));
    }
}

/// The processes `lines` record as started and not ended.
pub(crate) fn recorded_running(lines: &[Line]) -> Vec<ProcessId> {
    let ended: BTreeSet<(u32, Option<u64>)> = lines
        .iter()
        .filter_map(|l| match l {
            Line::ProcessEnded(p) => Some((p.pid, p.start_time)),
            _ => None,
        })
        .collect();
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Process(p) if !ended.contains(&(p.pid, p.start_time)) => Some(*p),
            _ => None,
        })
        .collect()
}

/// Whether the group `p` recorded still has a live (not zombie) process: see the module
/// documentation. Never true without a recorded start time.
pub(crate) fn group_alive(p: &ProcessId) -> bool {
    let Some(started) = p.start_time else {
        return false;
    };
    match proc_stat(p.pid) {
        // The pid was reused: the recorded group is empty, or the kernel would not have
        // handed its id out again.
        Some(s) if s.start_time != started => return false,
        Some(s) if !matches!(s.state, 'Z' | 'X') => return true,
        // The leader is gone or a zombie: look for the rest of its group.
        _ => {}
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(proc_stat)
        .any(|s| s.pgrp == p.pgid && s.start_time >= started && !matches!(s.state, 'Z' | 'X'))
}

fn signal_group(p: &ProcessId, sig: Signal) {
    if let Ok(pgid) = i32::try_from(p.pgid) {
        // ESRCH: the group ended meanwhile.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), sig);
    }
}

/// How often the groups are checked while they are given time to exit.
const POLL: Duration = Duration::from_millis(50);
/// How long groups are waited for after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Stops the generator process groups a killed run recorded in the journal at `path` and
/// that are still alive: SIGTERM, then SIGKILL once `kill_grace` passed (zero: SIGKILL at
/// once). Returns the groups it found alive; an empty list when there is no journal.
///
/// # Errors
/// [`JournalError`] when the journal cannot be read or is corrupt.
pub(crate) async fn stop_leftovers(
    path: &Path,
    kill_grace: Duration,
) -> Result<Vec<ProcessId>, JournalError> {
    let Some(lines) = journal::read(path)? else {
        return Ok(Vec::new());
    };
    let alive: Vec<ProcessId> = recorded_running(&lines)
        .into_iter()
        .filter(group_alive)
        .collect();
    if alive.is_empty() {
        return Ok(alive);
    }
    let all_gone = || !alive.iter().any(group_alive);
    if !kill_grace.is_zero() {
        alive.iter().for_each(|p| signal_group(p, Signal::SIGTERM));
        wait_for(kill_grace, &all_gone).await;
    }
    for p in alive.iter().filter(|p| group_alive(p)) {
        signal_group(p, Signal::SIGKILL);
    }
    wait_for(AFTER_KILL, &all_gone).await;
    Ok(alive)
}

async fn wait_for(limit: Duration, done: &dyn Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_recorded_live_group_is_stopped_and_ended_or_reused_ones_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.json.journal");
        let mut j = Journal::create(&path, "2026-06-01T12:00:00Z".parse().unwrap()).unwrap();
        let log = ProcessLog::default();
        log.attach(&j).unwrap();
        let spawn = || {
            use std::os::unix::process::CommandExt as _;
            std::process::Command::new("sleep")
                .arg("30")
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let (mut live, mut ended) = (spawn(), spawn());
        let live_id = ProcessId::of(live.id());
        let ended_id = ProcessId::of(ended.id());
        log.started(&live_id);
        log.started(&ended_id);
        log.ended(&ended_id);
        // A live group leader recorded with another start time stands for a reused pid.
        let mut reused_child = spawn();
        let mut reused = ProcessId::of(reused_child.id());
        reused.start_time = reused.start_time.map(|t| t + 1);
        log.started(&reused);
        log.detach();
        j.append(&Line::Breakers {
            breakers: Default::default(),
        })
        .unwrap();
        assert!(group_alive(&live_id));
        assert_eq!(
            recorded_running(&journal::read(&path).unwrap().unwrap()),
            vec![live_id, reused]
        );
        assert!(!group_alive(&reused));
        let stopped = stop_leftovers(&path, Duration::from_secs(5)).await.unwrap();
        assert_eq!(stopped, vec![live_id]);
        let status = live.wait().unwrap();
        assert!(!status.success(), "stopped by a signal");
        assert!(!group_alive(&live_id));
        assert_eq!(
            ended.try_wait().unwrap(),
            None,
            "an ended record is not signalled"
        );
        assert_eq!(
            reused_child.try_wait().unwrap(),
            None,
            "a reused pid is not signalled"
        );
        for c in [&mut ended, &mut reused_child] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
