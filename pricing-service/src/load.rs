//! The [`LagMonitor`]: how late the async runtime runs its tasks, to shed on a busy CPU.
//!
//! Counting requests in flight catches requests that wait inside the service (on a
//! lock, on I/O), not a CPU that is saturated: then requests wait *before* the service
//! sees them, in sockets and in the runtime's run queues, and their latency grows with
//! the load while the in-flight count stays low. The monitor measures that wait
//! directly: a task asks to wake every [`TICK`] and records how much later than asked it
//! ran. The lag is the smallest of the last [`SUSTAINED`] measurements, so one hiccup
//! (the process scheduled out once) is not overload. While that lag is above
//! `max_scheduling_lag_ms`, the API sheds new requests with 503 and `Retry-After` (a
//! cheap answer), so the requests it does admit stay fast, and it admits again as soon
//! as one measurement is back under the bound.
//!
//! Wall time is read here on purpose: scheduling lag is a property of the machine, not
//! of event time, like a network timeout.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How often the monitor asks to wake.
pub const TICK: Duration = Duration::from_millis(10);
/// Measurements in a row that must all be late for the lag to read late.
pub const SUSTAINED: usize = 3;

/// The sustained scheduling lag, measured by a task of the runtime serving requests.
#[derive(Debug, Default)]
pub struct LagMonitor {
    recent_us: [AtomicU64; SUSTAINED],
    next: AtomicUsize,
    started: AtomicBool,
}

impl LagMonitor {
    /// Starts the measuring task on the current runtime, once (later calls do nothing;
    /// outside a runtime nothing is started and the lag reads 0).
    pub fn ensure_started(self: &std::sync::Arc<Self>) {
        if self.started.load(Ordering::Relaxed) || self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.started.store(false, Ordering::Release);
            return;
        };
        let weak = std::sync::Arc::downgrade(self);
        handle.spawn(async move {
            loop {
                let asked = Instant::now();
                tokio::time::sleep(TICK).await;
                let late = asked.elapsed().saturating_sub(TICK);
                let Some(monitor) = weak.upgrade() else { break };
                monitor.record(late);
            }
        });
    }

    /// Records one measurement (only the measuring task calls this).
    pub fn record(&self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let i = self.next.fetch_add(1, Ordering::Relaxed) % SUSTAINED;
        self.recent_us[i].store(us, Ordering::Relaxed);
    }

    /// The sustained lag (the smallest of the last measurements), in milliseconds.
    pub fn lag_ms(&self) -> u64 {
        let min = self
            .recent_us
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .min();
        min.unwrap_or(0) / 1000
    }

    /// True when the lag is above `max_ms` (never with `max_ms == 0`: off).
    pub fn overloaded(&self, max_ms: u64) -> bool {
        max_ms > 0 && self.lag_ms() > max_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sustained_lag_is_overload_and_one_quick_tick_ends_it() {
        let m = LagMonitor::default();
        assert!(!m.overloaded(50));
        m.record(Duration::from_millis(400));
        assert!(!m.overloaded(50), "one hiccup is not overload");
        m.record(Duration::from_millis(300));
        m.record(Duration::from_millis(120));
        assert_eq!(m.lag_ms(), 120);
        assert!(m.overloaded(50));
        assert!(!m.overloaded(0), "0 turns shedding on lag off");
        m.record(Duration::from_millis(1));
        assert!(!m.overloaded(50), "admits again at once");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_blocked_runtime_shows_as_lag() {
        let m = std::sync::Arc::new(LagMonitor::default());
        m.ensure_started();
        tokio::task::yield_now().await;
        // Hold the only worker thread, several times: each tick fires late.
        for _ in 0..SUSTAINED + 1 {
            std::thread::sleep(Duration::from_millis(120));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(m.lag_ms() >= 80, "lag {} ms", m.lag_ms());
        assert!(m.overloaded(50));
    }
}
