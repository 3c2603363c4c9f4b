//! A dead upstream ends its ecosystem's part of the run (issue #22): when K entries of one
//! ecosystem in a row exhausted their retries on the network code, with no entry of that
//! ecosystem succeeding or failing for another reason in between (in the order entries
//! finish), the ecosystem is declared unreachable and no `create` of it starts any more.
//!
//! This module only keeps the streaks and the set of ecosystems declared; the executor
//! (`execute.rs`) feeds it each finished entry and stops waiting for that ecosystem's permits
//! at once. The batch-level breaker is not touched here: the K failures count as usual.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use tokio::sync::watch;

/// The default of `--unreachable-after`: 3 entries in a row (12 `create` processes with the
/// default 3 retries, at least 7 s of backoff each, and one rate-limit permit per process)
/// that all exhausted their retries on the network code. Small on purpose: an entry left out
/// this way is unchanged and simply runs in the next batch, while each further entry of a
/// dead upstream costs 4 more permits (and, when its registry answers with errors rather than
/// failing to connect, the adaptive slowdown's longer periods; docs/PERFORMANCE.md "Offline
/// run").
pub const DEFAULT_UNREACHABLE_AFTER: u32 = 3;

/// The suffix of the [`EntryResult::NotRun`](super::EntryResult::NotRun) reason of an entry
/// left out because its ecosystem was declared unreachable: `<eco> unreachable`.
const SUFFIX: &str = " unreachable";

/// The not-run reason of an entry of `ecosystem` once it is unreachable:
/// `"<ecosystem> unreachable"`.
pub fn unreachable_reason(ecosystem: &str) -> String {
    format!("{ecosystem}{SUFFIX}")
}

/// The ecosystem a not-run `reason` made by [`unreachable_reason`] names; `None` for any other
/// reason. An ecosystem name is one word, so an error text that happens to end with
/// "unreachable" is not mistaken for one.
pub fn unreachable_ecosystem(reason: &str) -> Option<&str> {
    reason
        .strip_suffix(SUFFIX)
        .filter(|eco| !eco.is_empty() && !eco.contains(char::is_whitespace))
}

/// How an entry of an ecosystem ended, as far as its upstream is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Its last step exhausted its retries on the network code.
    NetworkExhausted,
    /// The upstream answered: it succeeded, was blocked, or failed for another reason.
    Answered,
}

/// The streaks of one run and the ecosystems declared unreachable.
pub(crate) struct Unreachable {
    /// K; 0 never declares anything.
    after: u32,
    streaks: Mutex<HashMap<String, u32>>,
    down: watch::Sender<BTreeSet<String>>,
}

impl Unreachable {
    /// Declares an ecosystem unreachable after `after` network-exhausted entries in a row
    /// (0: never).
    pub fn new(after: u32) -> Self {
        Self {
            after,
            streaks: Mutex::new(HashMap::new()),
            down: watch::Sender::new(BTreeSet::new()),
        }
    }

    /// Records how an entry of `ecosystem` ended; returns the streak length when this entry
    /// declares the ecosystem unreachable (once per ecosystem).
    pub fn record(&self, ecosystem: &str, ending: Ending) -> Option<u32> {
        if self.after == 0 {
            return None;
        }
        // Every declaration happens under this lock, so one ecosystem is declared once.
        let mut streaks = self.streaks.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_down(ecosystem) {
            return None;
        }
        let streak = streaks.entry(ecosystem.to_owned()).or_insert(0);
        match ending {
            Ending::Answered => {
                *streak = 0;
                None
            }
            Ending::NetworkExhausted => {
                *streak += 1;
                if *streak < self.after {
                    return None;
                }
                let n = *streak;
                self.down.send_modify(|d| {
                    d.insert(ecosystem.to_owned());
                });
                Some(n)
            }
        }
    }

    /// Whether `ecosystem` was declared unreachable.
    pub fn is_down(&self, ecosystem: &str) -> bool {
        self.down.borrow().contains(ecosystem)
    }

    /// Resolves once `ecosystem` is declared unreachable; never when it is not.
    pub async fn wait(&self, ecosystem: &str) {
        let mut rx = self.down.subscribe();
        if rx.wait_for(|d| d.contains(ecosystem)).await.is_err() {
            // The sender lives as long as `self`: this cannot happen while we borrow it.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ending::{Answered, NetworkExhausted as Net};

    #[test]
    fn k_in_a_row_declare_the_ecosystem_once() {
        let u = Unreachable::new(3);
        assert_eq!(u.record("pypi", Net), None);
        assert_eq!(u.record("pypi", Net), None);
        assert!(!u.is_down("pypi"));
        assert_eq!(u.record("pypi", Net), Some(3));
        assert!(u.is_down("pypi"));
        assert_eq!(u.record("pypi", Net), None, "declared once");
        assert!(!u.is_down("npm"));
    }

    #[test]
    fn an_answer_restarts_the_streak_and_ecosystems_count_apart() {
        let u = Unreachable::new(2);
        u.record("pypi", Net);
        u.record("npm", Net);
        u.record("pypi", Answered);
        assert_eq!(u.record("pypi", Net), None);
        assert_eq!(u.record("npm", Net), Some(2));
        assert_eq!(u.record("pypi", Net), Some(2));
    }

    #[test]
    fn zero_never_declares() {
        let u = Unreachable::new(0);
        for _ in 0..100 {
            assert_eq!(u.record("pypi", Net), None);
        }
        assert!(!u.is_down("pypi"));
    }

    #[test]
    fn reasons_round_trip_and_other_texts_are_not_read_as_one() {
        assert_eq!(unreachable_reason("homebrew"), "homebrew unreachable");
        assert_eq!(
            unreachable_ecosystem(&unreachable_reason("homebrew")),
            Some("homebrew")
        );
        assert_eq!(unreachable_ecosystem("budget reached"), None);
        assert_eq!(unreachable_ecosystem("spawn: network is unreachable"), None);
        assert_eq!(unreachable_ecosystem(" unreachable"), None);
    }

    #[tokio::test]
    async fn wait_resolves_when_declared() {
        let u = std::sync::Arc::new(Unreachable::new(1));
        let w = {
            let u = u.clone();
            tokio::spawn(async move { u.wait("go").await })
        };
        tokio::task::yield_now().await;
        assert!(!w.is_finished());
        u.record("go", Net);
        w.await.unwrap();
        // Already declared: resolves at once.
        u.wait("go").await;
    }
}
