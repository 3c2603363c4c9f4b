//! SIGINT/SIGTERM handling for runs (issue #4): the first signal asks for a graceful stop
//! (start nothing new, let running generators finish), the second for an immediate one. The
//! first signal's number decides the exit code (128 + N).

use anyhow::Context as _;
use batch::runner::Stop;
use tokio::sync::watch;

/// Forwards SIGINT/SIGTERM to the run: the first asks for a graceful stop, the second for an
/// immediate one. Remembers the first signal's number for the exit code.
pub struct SignalState {
    first: std::sync::Arc<std::sync::atomic::AtomicI32>,
}

impl SignalState {
    /// Installs the handlers; the first signal sends [`Stop::Graceful`], the next
    /// [`Stop::Immediate`].
    ///
    /// # Errors
    /// A handler cannot be installed.
    pub fn listen(stop: watch::Sender<Stop>) -> anyhow::Result<Self> {
        use std::sync::atomic::Ordering;
        use tokio::signal::unix::{SignalKind, signal};
        let mut int =
            signal(SignalKind::interrupt()).context("failed to install the SIGINT handler")?;
        let mut term =
            signal(SignalKind::terminate()).context("failed to install the SIGTERM handler")?;
        let first = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let seen = first.clone();
        tokio::spawn(async move {
            loop {
                let sig = tokio::select! {
                    Some(()) = int.recv() => 2,
                    Some(()) = term.recv() => 15,
                    else => return,
                };
                if seen
                    .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    tracing::warn!(
                        "received {}: finishing running generators, starting nothing new (send it again to kill them now)",
                        name(sig)
                    );
                    let _ = stop.send(Stop::Graceful);
                } else {
                    tracing::warn!("received {} again: killing running generators", name(sig));
                    let _ = stop.send(Stop::Immediate);
                }
            }
        });
        Ok(Self { first })
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.first.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

/// The conventional name of a signal number (`SIGINT`, `SIGTERM`), or `signal N`.
pub fn name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map_or_else(|_| format!("signal {sig}"), |s| s.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn signals_are_named() {
        assert_eq!(super::name(2), "SIGINT");
        assert_eq!(super::name(15), "SIGTERM");
        assert_eq!(super::name(999), "signal 999");
    }
}
