//! Error display at the binary edge: `error: <message>`, one `caused by:` line per source, and
//! a `hint:` with what to do.

use std::fmt;

use batch::control::ControlError;
use batch::queue::QueueError;
use batch::run::{EcosystemSetting, UnknownEcosystem};

/// A hint attached with `anyhow::Context`; printed last, prefixed `hint:`.
#[derive(Debug)]
pub struct Hint(pub &'static str);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A mistake in how the command was called that clap cannot see (it needs the queue, or
/// several flags together): printed like any error, but exits [`crate::exit::USAGE`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Renders an error chain for stderr.
pub fn render(err: &anyhow::Error) -> String {
    let explicit = err.downcast_ref::<Hint>().map(|h| h.0);
    let mut hint = explicit;
    let mut lines: Vec<String> = Vec::new();
    for cause in err.chain() {
        // The hint context is a link of the chain too; it is printed last, not as a cause.
        if explicit.is_some_and(|h| cause.to_string() == h) {
            continue;
        }
        if hint.is_none() {
            hint = default_hint(cause);
        }
        let text = cause.to_string();
        // A wrapper that shows its source's text (`SequenceError` shows its `RunError`'s)
        // would print the same line twice; print it once.
        if lines.last() != Some(&text) {
            lines.push(text);
        }
    }
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("error: {l}\n"));
        } else {
            out.push_str(&format!("  caused by: {l}\n"));
        }
    }
    if let Some(h) = hint {
        out.push_str(&format!("hint: {h}\n"));
    }
    out
}

fn default_hint(cause: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    // Each cause is its own link of the chain (library wrappers keep it as `source`).
    let queue = cause.downcast_ref::<QueueError>();
    let control = cause.downcast_ref::<ControlError>();
    if let Some(UnknownEcosystem { setting, .. }) = cause.downcast_ref::<UnknownEcosystem>() {
        return Some(match setting {
            EcosystemSetting::Filter => {
                "check the spelling of --ecosystem (BATCH_ECOSYSTEM); nothing was run or written"
            }
            EcosystemSetting::RateLimit => {
                "check the ECO of --rate-limit ECO=DURATION (BATCH_RATE_LIMIT); nothing was run or written"
            }
            EcosystemSetting::MaxInFlight => {
                "check the ECO of --max-in-flight ECO=N (BATCH_MAX_IN_FLIGHT); nothing was run or written"
            }
        });
    }
    match (queue, control) {
        (Some(QueueError::Missing { .. }), _) => Some(
            "check the --queue path; to start a new, empty queue there, pass --init-queue; nothing was created",
        ),
        (Some(QueueError::NotAQueue { .. }), _) | (_, Some(ControlError::QueueGiven { .. })) => {
            Some(
                "check that --queue and --control-file are not swapped; nothing was run or written",
            )
        }
        (_, Some(ControlError::UnknownBreakerState { .. })) => Some(
            "spell the state closed, open or half-open (lowercase), or remove it for closed; nothing was run or written",
        ),
        (Some(QueueError::Parse { .. }), _) => Some(
            "fix the queue at that position (or restore it from git); nothing was run or written",
        ),
        (Some(QueueError::Read { .. }), _) => {
            Some("check the --queue path and its permissions; nothing was written")
        }
        (Some(QueueError::Write { .. }), _) => {
            Some("check free space and permissions of the queue's directory, then run again")
        }
        (_, Some(ControlError::Parse { .. } | ControlError::Invalid { .. })) => Some(
            "fix or restore the control file; the run refuses to guess breaker states, so nothing was run or written",
        ),
        (_, Some(ControlError::Read { .. })) => {
            Some("check the --control-file path and its permissions")
        }
        _ => None,
    }
}
