//! `--joblog FILE` (issue #12): one tab-separated line per generator process, appended as each
//! one ends, in GNU parallel's `--joblog` layout (`Seq Host Starttime JobRuntime Send Receive
//! Exitval Signal Command`) followed by our columns (`Entry Ecosystem Step Attempt Outcome`).
//! `Outcome` is `ok`, `exit N`, `exit N: <headline>` for a failure (issue #22), `timed out
//! after Ns`, `killed by SIGNAME` or `not started`.
//! A new or empty file gets the header line first. Times are seconds with millisecond
//! precision (`Starttime` since the Unix epoch), as parallel writes them.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use batch::generator::Generator;
use batch::run::Event;
use batch::runner::{Command, Exit};

use crate::render::text::{exit_words, shell_quote};

/// The header line.
pub const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\tEntry\tEcosystem\tStep\tAttempt\tOutcome";

/// An append-only job log, opened on its first line so a run refused before it starts anything
/// creates no file.
pub struct JobLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
    seq: AtomicU64,
    warned: AtomicBool,
}

impl JobLog {
    /// A job log at `path` (not opened yet).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            file: Mutex::new(None),
            seq: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        }
    }

    /// Appends the line of a `StepFinished` event; other events are ignored. A write error is
    /// logged once and does not stop the run. `generator` picks the line of a failure's
    /// message the `Outcome` column shows ([`Generator::headline`]).
    pub fn record(&self, ev: &Event<'_>, generator: &dyn Generator) {
        let Event::StepFinished {
            name,
            ecosystem,
            step,
            retry,
            started,
            took,
            exit,
            command,
            failure,
            ..
        } = ev
        else {
            return;
        };
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let (exitval, signal) = match exit {
            Some(Exit::Code(c)) => (*c, 0),
            Some(Exit::Signal(s)) => (-1, *s),
            Some(Exit::TimedOut(_) | Exit::Interrupted) | None => (-1, 0),
        };
        let line = [
            seq.to_string(),
            ":".to_owned(),
            format!("{:.3}", started.as_millisecond() as f64 / 1000.0),
            format!("{:.3}", took.as_secs_f64()),
            "0".to_owned(),
            "0".to_owned(),
            exitval.to_string(),
            signal.to_string(),
            command_line(command),
            clean(name),
            clean(ecosystem),
            format!("{step:?}").to_lowercase(),
            (retry + 1).to_string(),
            outcome(*exit, failure.map(|m| generator.headline(m))),
        ]
        .join("\t");
        if let Err(e) = self.append(&line)
            && !self.warned.swap(true, Ordering::SeqCst)
        {
            tracing::warn!("cannot write the job log `{}`: {e}", self.path.display());
        }
    }

    fn append(&self, line: &str) -> std::io::Result<()> {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            if f.metadata()?.len() == 0 {
                writeln!(f, "{HEADER}")?;
            }
            *guard = Some(f);
        }
        let f = guard.as_mut().expect("opened above");
        writeln!(f, "{line}")
    }
}

/// Longest failure headline in the `Outcome` column, in characters; longer ones are cut and
/// end with `…`.
pub const MAX_HEADLINE_CHARS: usize = 200;

/// How the process ended, in words; a process that exited with a code and failed adds its
/// failure's headline (issue #22): `exit 6: <headline>`, tabs and line breaks as spaces, cut
/// to [`MAX_HEADLINE_CHARS`]. Timeouts and signals keep their words alone.
fn outcome(exit: Option<Exit>, headline: Option<&str>) -> String {
    let words = exit.map_or_else(|| "not started".to_owned(), exit_words);
    match (exit, headline.map(str::trim)) {
        (Some(Exit::Code(_)), Some(h)) if !h.is_empty() => {
            let cut = batch::text::cut_chars(&clean(h), MAX_HEADLINE_CHARS);
            format!("{words}: {cut}")
        }
        _ => words,
    }
}

/// The command as one shell-quoted line (tabs and newlines cannot break the columns).
fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.program.as_os_str())
        .chain(cmd.args.iter().map(|a| a.as_os_str()))
        .map(|a| clean(&shell_quote(&a.to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A field without tabs or line breaks.
fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use batch::generator::Step;

    use super::*;

    fn command() -> Command {
        Command {
            program: "/usr/bin/tsuku".into(),
            args: vec![
                "create".into(),
                "hub".into(),
                "--from".into(),
                "github:github/hub".into(),
            ],
            env: Vec::new(),
            current_dir: None,
            timeout: Duration::from_secs(900),
            merge_output: true,
        }
    }

    fn tsuku() -> batch::tsuku::Tsuku {
        batch::tsuku::Tsuku::for_run(&batch::Config::new())
    }

    /// Issue #22: a failed process's `Outcome` adds the generator's headline of its failure
    /// (tsuku's: the `--yes` warning skipped), tabs as spaces, cut at 200 characters.
    #[test]
    fn a_failure_adds_its_headline_to_the_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.tsv");
        let log = JobLog::new(&path);
        let cmd = command();
        let long = format!("Error: {}", "é".repeat(300));
        for message in [
            "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError:\tno release\nsecond line\n",
            long.as_str(),
        ] {
            log.record(
                &Event::StepFinished {
                    position: 0,
                    name: "hub",
                    ecosystem: "github",
                    step: Step::Create,
                    retry: 0,
                    started: jiff::Timestamp::UNIX_EPOCH,
                    took: Duration::ZERO,
                    exit: Some(Exit::Code(6)),
                    command: &cmd,
                    failure: Some(message),
                },
                &tsuku(),
            );
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let outcomes: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split('\t').nth(13).unwrap())
            .collect();
        assert_eq!(outcomes[0], "exit 6: Error: no release");
        let want = format!("exit 6: Error: {}…", "é".repeat(193));
        assert_eq!(outcomes[1], want);
        assert!(text.lines().all(|l| l.split('\t').count() == 14));
    }

    #[test]
    fn lines_follow_parallels_layout_then_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.tsv");
        let log = JobLog::new(&path);
        let cmd = command();
        let started: jiff::Timestamp = "2026-12-01T10:00:00.25Z".parse().unwrap();
        for (retry, exit) in [
            (0, Some(Exit::Code(5))),
            (1, Some(Exit::Code(0))),
            (0, None),
        ] {
            log.record(
                &Event::StepFinished {
                    position: 0,
                    name: "hub",
                    ecosystem: "github",
                    step: Step::Create,
                    retry,
                    started,
                    took: Duration::from_millis(1500),
                    exit,
                    command: &cmd,
                    failure: None,
                },
                &tsuku(),
            );
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "1\t:\t1796119200.250\t1.500\t0\t0\t5\t0\t/usr/bin/tsuku create hub --from github:github/hub\thub\tgithub\tcreate\t1\texit 5"
        );
        assert!(
            lines[2].starts_with("2\t") && lines[2].ends_with("\tcreate\t2\tok"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("\t-1\t0\t") && lines[3].ends_with("\tnot started"),
            "{}",
            lines[3]
        );
        assert!(lines.iter().all(|l| l.split('\t').count() == 14));

        // A second log on the same file appends without a second header.
        JobLog::new(&path).record(
            &Event::StepFinished {
                position: 0,
                name: "a\tb",
                ecosystem: "npm",
                step: Step::Install,
                retry: 0,
                started,
                took: Duration::ZERO,
                exit: Some(Exit::TimedOut(Duration::from_secs(900))),
                command: &cmd,
                failure: Some("timed out after 900s: Warning: x"),
            },
            &tsuku(),
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("Seq\tHost").count(), 1);
        let last = text.lines().last().unwrap();
        assert!(
            last.ends_with("\ta b\tnpm\tinstall\t1\ttimed out after 900s"),
            "{last}"
        );
    }
}
