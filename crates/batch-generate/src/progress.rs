//! Run progress on stderr: an indicatif bar when stderr is a terminal outside CI, plain log
//! lines otherwise. Consumes the orchestrator's [`Event`]s. The bar is coloured only when
//! `--color` and `NO_COLOR` allow it: `crate::logging` sets `console`'s colour switch for
//! stderr, through which indicatif styles the bar.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use batch::records::Outcome;
use batch::run::{EntryResult, Event};
use batch::runner::classify::Step;
use indicatif::{ProgressBar, ProgressStyle};

/// The bar's layout; its colours show only when colour is on for stderr.
const TEMPLATE: &str = "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg}";

/// Progress display for one run of `total` candidates.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    /// A bar when `allow_bar`, stderr is a terminal and `CI` is unset; plain lines otherwise.
    pub fn new(total: usize, allow_bar: bool) -> Self {
        let bar =
            (allow_bar && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none())
                .then(|| {
                    let b = ProgressBar::new(total as u64);
                    b.set_style(
                        ProgressStyle::with_template(TEMPLATE)
                            .expect("static template")
                            .progress_chars("=> "),
                    );
                    b
                });
        Self {
            bar,
            total,
            done: AtomicUsize::new(0),
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
            Event::Finished {
                name,
                ecosystem,
                result,
                ..
            } => {
                let k = self.done.fetch_add(1, Ordering::SeqCst) + 1;
                let line = format!(
                    "[{k}/{}] {ecosystem} {name}: {}",
                    self.total,
                    describe(result)
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

/// One-line description of a candidate's result.
pub fn describe(result: &EntryResult) -> String {
    match result {
        EntryResult::Done { outcome, .. } => match outcome {
            Outcome::Succeeded { .. } => "succeeded".to_owned(),
            Outcome::Failed(r) => {
                let sub = if r.subcategory.is_empty() {
                    String::new()
                } else {
                    format!("/{}", r.subcategory)
                };
                format!("failed ({}{sub})", r.category.as_str())
            }
            Outcome::Blocked(r) if r.blocked_by.is_empty() => {
                format!("blocked ({})", r.category.as_str())
            }
            Outcome::Blocked(r) => format!("blocked by [{}]", r.blocked_by.join(" ")),
        },
        EntryResult::NotRun { reason } => format!("not run: {reason}"),
    }
}
