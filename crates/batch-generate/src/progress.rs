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
use batch::generator::{Generator, Step};
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

    /// Handles one event; `generator` picks the line of a failure's message the log shows
    /// ([`Generator::headline`]).
    pub fn on_event(&self, ev: Event<'_>, generator: &dyn Generator) {
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
            Event::Unreachable { ecosystem, after } => {
                tracing::warn!(
                    "{}: {after} entries in a row exhausted their retries on the network code; no more {ecosystem} entries start in this run",
                    batch::run::unreachable_reason(ecosystem)
                );
            }
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
                    describe(result, exit, generator)
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
/// the line of its message `generator` picks ([`Generator::headline`]: tsuku skips its
/// `--yes` warning and notes, issue #22; issue #12).
pub fn describe(
    result: &EntryResult,
    last_exit: Option<Exit>,
    generator: &dyn Generator,
) -> String {
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
                let headline = generator.headline(&r.message).trim();
                let message = if headline.is_empty() {
                    String::new()
                } else {
                    format!(": {headline}")
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
    use batch::Config;
    use batch::generator::{Category, Job, Reading};
    use batch::records::FailureRecord;
    use batch::runner::{Command, Output};
    use batch::tsuku::Tsuku;

    use super::*;

    /// A generator whose headline skips lines starting with `Warning:`, as tsuku's does.
    struct SkipsWarnings;

    impl Generator for SkipsWarnings {
        fn command(&self, _: &Job<'_>) -> Command {
            unimplemented!("describe never runs anything")
        }
        fn read(&self, _: &Job<'_>, _: &Output, _: bool) -> Reading {
            unimplemented!("describe never reads anything")
        }
        fn headline<'m>(&self, message: &'m str) -> &'m str {
            message
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with("Warning:"))
                .unwrap_or("")
        }
    }

    /// The live line shows the generator's headline of the message, not its first line
    /// (issue #22): a `--yes` warning first is skipped.
    #[test]
    fn a_failure_shows_the_generators_headline() {
        let failed = EntryResult::Done {
            outcome: Outcome::Failed(FailureRecord {
                package_id: "homebrew:jq".into(),
                category: Category::GenerationFailed,
                subcategory: String::new(),
                blocked_by: Vec::new(),
                message: "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError: formula not found\n".into(),
                timestamp: String::new(),
            }),
            at: "2026-12-01T00:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            describe(&failed, Some(Exit::Code(6)), &SkipsWarnings),
            "failed (generation_failed, exit 6): Error: formula not found"
        );
        let not_run = EntryResult::NotRun {
            reason: batch::run::unreachable_reason("homebrew"),
        };
        assert_eq!(
            describe(&not_run, None, &SkipsWarnings),
            "not run: homebrew unreachable"
        );
    }

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
            describe(&failed, Some(Exit::Code(6)), &tsuku()),
            "failed (generation_failed, exit 6): no release assets found"
        );
        assert_eq!(
            describe(&failed, None, &tsuku()),
            "failed (generation_failed): no release assets found"
        );
    }

    fn tsuku() -> Tsuku {
        Tsuku::for_run(&Config::new())
    }
}
