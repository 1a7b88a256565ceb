//! Time, passed in: the [`Clock`] trait and its implementations.
//!
//! Every timestamp in sellout is event time in milliseconds since the Unix epoch (UTC).
//! Logic that needs "now" (validation windows, retention by age, cart-hold expiry in
//! the simulator) takes a `&dyn Clock`, so tests and the demo can run on a manual or
//! compressed clock.

use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// A source of "now", in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync {
    /// The current time according to this clock.
    fn now_ms(&self) -> Timestamp;
}

/// The operating system's wall clock. Only the binary's wiring should create one.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Timestamp {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to: for tests and simulated time.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `now_ms`.
    pub fn new(now_ms: Timestamp) -> Self {
        Self {
            now: AtomicI64::new(now_ms),
        }
    }

    /// Moves the clock to `now_ms` (it may go backwards: clock jumps are a test case).
    pub fn set(&self, now_ms: Timestamp) {
        self.now.store(now_ms, Ordering::Release);
    }

    /// Moves the clock forward by `delta_ms`.
    pub fn advance(&self, delta_ms: i64) {
        self.now.fetch_add(delta_ms, Ordering::AcqRel);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Timestamp {
        self.now.load(Ordering::Acquire)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_ms(&self) -> Timestamp {
        (**self).now_ms()
    }
}
