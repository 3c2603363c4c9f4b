//! Wall-clock time as an injectable dependency, so backoff, breaker and file stamps can be
//! tested with a fixed clock. Monotonic waiting (rate limits, retry delays, timeouts) uses
//! tokio's clock instead, which tests pause and advance.

use std::sync::Mutex;

use jiff::Timestamp;

/// A source of the current UTC instant.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that returns a set instant until moved (tests, reproducible demos).
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    /// A clock stopped at `t`.
    pub fn new(t: Timestamp) -> Self {
        Self(Mutex::new(t))
    }

    /// Moves the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
