//! Run progress on stderr: an indicatif bar when stderr is a terminal outside CI, plain log
//! lines otherwise. Consumes the orchestrator's [`Event`]s.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use batch::records::Outcome;
use batch::run::{EntryResult, Event};
use batch::runner::classify::{Exit, Step};
use indicatif::{ProgressBar, ProgressStyle};

/// Progress display for one run of `total` candidates.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
    /// The last process exit of each candidate still running, by position.
    exits: Mutex<HashMap<usize, Exit>>,
}

impl Progress {
    /// A bar when `allow_bar`, stderr is a terminal and `CI` is unset; plain lines otherwise.
    pub fn new(total: usize, allow_bar: bool) -> Self {
        let bar = (allow_bar
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none())
        .then(|| {
            let b = ProgressBar::new(total as u64);
            b.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            b
        });
        Self {
            bar,
            total,
            done: AtomicUsize::new(0),
            exits: Mutex::new(HashMap::new()),
        }
    }

    /// Handles one event.
    pub fn on_event(&self, ev: Event<'_>) {
        match ev {
            Event::StepStarted {
                name, step, retry, ..
            } => {
                tracing::debug!("{} {name}{}", step_name(step), retry_note(retry));
                if let Some(b) = &self.bar {
                    b.set_message(format!("{} {name}", step_name(step)));
                }
            }
            Event::Retrying {
                name,
                step,
                retry,
                delay,
                ..
            } => {
                tracing::info!(
                    "{} {name} exited with the network code; retry {retry}/3 in {}s",
                    step_name(step),
                    delay.as_secs_f64()
                );
            }
            Event::StepFinished {
                position,
                exit: Some(exit),
                ..
            } => {
                self.exits
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(position, exit);
            }
            Event::StepFinished { exit: None, .. } => {}
            Event::Finished {
                position,
                name,
                ecosystem,
                result,
            } => {
                let k = self.done.fetch_add(1, Ordering::SeqCst) + 1;
                let exit = self
                    .exits
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&position);
                let line = format!(
                    "[{k}/{}] {ecosystem} {name}: {}",
                    self.total,
                    describe(result, exit)
                );
                match &self.bar {
                    Some(b) => {
                        b.println(line);
                        b.inc(1);
                    }
                    None => tracing::info!("{line}"),
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Create => "create",
        Step::Install => "install",
    }
}

fn retry_note(retry: u32) -> String {
    if retry == 0 {
        String::new()
    } else {
        format!(" (retry {retry})")
    }
}

/// One-line description of a candidate's result; a failure names the last process's exit and
/// the first line of its message (issue #12).
pub fn describe(result: &EntryResult, last_exit: Option<Exit>) -> String {
    match result {
        EntryResult::Done { outcome, .. } => match outcome {
            Outcome::Succeeded { .. } => "succeeded".to_owned(),
            Outcome::Failed(r) => {
                let sub = if r.subcategory.is_empty() {
                    String::new()
                } else {
                    format!("/{}", r.subcategory)
                };
                let exit = last_exit.map(exit_note).unwrap_or_default();
                let first = r.message.lines().next().unwrap_or_default().trim();
                let message = if first.is_empty() {
                    String::new()
                } else {
                    format!(": {first}")
                };
                format!("failed ({}{sub}{exit}){message}", r.category.as_str())
            }
            Outcome::Blocked(r) if r.blocked_by.is_empty() => {
                format!("blocked ({})", r.category.as_str())
            }
            Outcome::Blocked(r) => format!("blocked by [{}]", r.blocked_by.join(" ")),
        },
        EntryResult::NotRun { reason } => format!("not run: {reason}"),
    }
}

/// `, exit 6`, `, killed by SIGKILL`, `, timed out after 900s`.
fn exit_note(exit: Exit) -> String {
    match exit {
        Exit::Code(c) => format!(", exit {c}"),
        Exit::Signal(s) => format!(", killed by {}", crate::signal::name(s)),
        Exit::TimedOut(d) => format!(", timed out after {}s", d.as_secs()),
        Exit::Interrupted => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use batch::records::FailureRecord;
    use batch::runner::Category;

    use super::*;

    #[test]
    fn a_failure_names_its_exit_and_first_message_line() {
        let failed = EntryResult::Done {
            outcome: Outcome::Failed(FailureRecord {
                package_id: "github:github/hub".into(),
                category: Category::GenerationFailed,
                subcategory: String::new(),
                blocked_by: Vec::new(),
                message: "no release assets found\nsecond line".into(),
                timestamp: String::new(),
            }),
            at: "2026-12-01T00:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            describe(&failed, Some(Exit::Code(6))),
            "failed (generation_failed, exit 6): no release assets found"
        );
        assert_eq!(
            describe(&failed, None),
            "failed (generation_failed): no release assets found"
        );
    }
}
