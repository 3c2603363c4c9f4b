//! `store health`: a probe that finishes within a set time whatever the network does, so a
//! workflow can decide to skip the store steps with a warning instead of failing.

use std::time::Duration;

use serde::Serialize;

use crate::error::humantime;
use crate::store::Store;

/// Options of [`probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    /// Upper bound of the whole probe, retries and waits included.
    pub total: Duration,
    /// Probe requests at most (each bounded by the store's call timeout and by what is left
    /// of `total`).
    pub attempts: u32,
    /// Wait between failed attempts (cut short by `total`).
    pub retry_delay: Duration,
}

impl Default for HealthOptions {
    /// 30 s in total, 3 attempts, 1 s apart.
    fn default() -> Self {
        Self {
            total: Duration::from_secs(30),
            attempts: 3,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// Result of [`probe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// The store as shown in messages.
    pub store: String,
    /// Whether one probe request succeeded.
    pub healthy: bool,
    /// Probe requests made.
    pub attempts: u32,
    /// Time the probe took, in milliseconds (tokio's clock).
    pub elapsed_ms: u64,
    /// Why the last attempt failed, with its causes; `None` when healthy.
    pub reason: Option<String>,
}

/// Probes `store` with [`Store::ping`] (a delimited listing of the prefix: the bucket must
/// exist and the credentials be accepted) until one succeeds, `opts.attempts` failed, or
/// `opts.total` ran out. Never fails: an unreachable store is a report with `healthy: false`.
pub async fn probe(store: &Store, opts: &HealthOptions) -> HealthReport {
    let start = tokio::time::Instant::now();
    let deadline = start + opts.total;
    let mut attempts = 0;
    let mut reason = None;
    while attempts < opts.attempts.max(1) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        attempts += 1;
        match tokio::time::timeout(left, store.ping()).await {
            Ok(Ok(())) => {
                reason = None;
                break;
            }
            Ok(Err(e)) => reason = Some(chain(&e)),
            Err(_) => {
                reason = Some(format!(
                    "no answer within the {} probe limit",
                    humantime(opts.total)
                ));
                break;
            }
        }
        if attempts < opts.attempts {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(opts.retry_delay.min(left)).await;
        }
    }
    let healthy = attempts > 0 && reason.is_none();
    HealthReport {
        store: store.url().to_owned(),
        healthy,
        attempts,
        elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        reason: if healthy {
            None
        } else {
            Some(reason.unwrap_or_else(|| "no probe attempt fitted in the time limit".into()))
        },
    }
}

/// The error and its root cause on one line, `a: root`. object_store's intermediate
/// messages repeat the URL and retry counts several times; the first line names our
/// operation and key, the last one what actually went wrong.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let top = e.to_string();
    let mut root = None;
    let mut cur = e.source();
    while let Some(s) = cur {
        root = Some(s.to_string());
        cur = s.source();
    }
    match root {
        Some(r) if r != top => format!("{top}: {r}"),
        _ => top,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::config::Timeouts;
    use crate::store::Capabilities;

    #[tokio::test(start_paused = true)]
    async fn healthy_store_answers_on_the_first_attempt() {
        let store = Store::from_object_store(
            Arc::new(InMemory::new()),
            "memory://",
            "p",
            Capabilities {
                conditional_update: true,
                metadata: true,
            },
            Timeouts::default(),
        );
        let r = probe(&store, &HealthOptions::default()).await;
        assert!(r.healthy, "{r:?}");
        assert_eq!((r.attempts, r.reason), (1, None));
    }
}
