//! Run progress on stderr: a live indicatif display when stderr is a terminal outside CI
//! (computed by [`crate::status`]), plain log lines otherwise. Consumes the orchestrator's
//! [`Event`]s. The bar is coloured only when `--color` and `NO_COLOR` allow it:
//! `crate::logging` sets `console`'s colour switch for stderr, through which indicatif styles
//! the bar.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use batch::RateLimit;
use batch::generator::Step;
use batch::records::Outcome;
use batch::run::{EntryResult, Event};
use batch::runner::Exit;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::render::text::exit_words;
use crate::status::Status;

/// The bar's layout; its colours show only when colour is on for stderr.
const TEMPLATE: &str = "[{bar:30.cyan/blue}] {msg}";

/// Progress display for one run: the per-entry lines, and on a terminal a live display (see
/// [`Status`]): the overall bar with done/total, the counts, the elapsed time and an ETA, and
/// one line per ecosystem that still has work, refreshed four times a second.
pub struct Progress {
    live: Option<Arc<Live>>,
    total: usize,
    done: AtomicUsize,
    /// The last process exit of each candidate still running, by position.
    exits: Mutex<HashMap<usize, Exit>>,
}

/// The terminal display.
struct Live {
    _multi: MultiProgress,
    bar: ProgressBar,
    ecosystems: ProgressBar,
    status: Mutex<Status>,
    stopped: AtomicBool,
}

impl Live {
    fn refresh(&self) {
        let now = Instant::now();
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        self.bar.set_position(status.done() as u64);
        self.bar.set_message(status.headline(now));
        self.ecosystems
            .set_message(status.ecosystem_lines(now).join("\n"));
    }
}

impl Progress {
    /// The display of a run of `per_ecosystem` candidates under `rate` with `jobs` slots: live
    /// when `allow_bar`, stderr is a terminal and `CI` is unset; plain lines otherwise.
    pub fn new<'a>(
        per_ecosystem: impl IntoIterator<Item = (&'a str, usize)>,
        rate: RateLimit,
        jobs: usize,
        allow_bar: bool,
    ) -> Self {
        let status = Status::new(per_ecosystem, rate, jobs, Instant::now());
        let total = status.total();
        let live = (allow_bar
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none())
        .then(|| {
            let multi = MultiProgress::new();
            let bar = multi.add(ProgressBar::new(total as u64));
            bar.set_style(
                ProgressStyle::with_template(TEMPLATE)
                    .expect("static template")
                    .progress_chars("=> "),
            );
            let ecosystems = multi.add(ProgressBar::no_length());
            ecosystems.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
            let live = Arc::new(Live {
                _multi: multi,
                bar,
                ecosystems,
                status: Mutex::new(status.clone()),
                stopped: AtomicBool::new(false),
            });
            live.refresh();
            let ticker = Arc::clone(&live);
            std::thread::spawn(move || {
                while !ticker.stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(250));
                    ticker.refresh();
                }
            });
            live
        });
        Self {
            live,
            total,
            done: AtomicUsize::new(0),
            exits: Mutex::new(HashMap::new()),
        }
    }

    /// Handles one event.
    pub fn on_event(&self, ev: Event<'_>) {
        if let Some(live) = &self.live {
            live.status
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .on_event(&ev, Instant::now());
        }
        match ev {
            Event::StepStarted {
                name, step, retry, ..
            } => {
                tracing::debug!("{} {name}{}", step_name(step), retry_note(retry));
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
            // Logged by `crate::pacing`.
            Event::StepFinished { exit: None, .. } | Event::PaceChanged { .. } => {}
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
                match &self.live {
                    Some(live) => {
                        live.bar.println(line);
                        live.refresh();
                    }
                    None => tracing::info!("{line}"),
                }
            }
        }
    }

    /// Removes the live display.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            live.stopped.store(true, Ordering::SeqCst);
            live.ecosystems.finish_and_clear();
            live.bar.finish_and_clear();
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
        Exit::Interrupted => String::new(),
        e => format!(", {}", exit_words(e)),
    }
}

#[cfg(test)]
mod tests {
    use batch::generator::Category;
    use batch::records::FailureRecord;

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
