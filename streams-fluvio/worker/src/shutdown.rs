//! [`Shutdown`]: a stop flag that sleeping threads wake up for.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A one-way stop signal shared by the worker's threads.
#[derive(Debug, Default)]
pub struct Shutdown {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Shutdown {
    /// A signal not yet given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the signal and wakes every waiting thread.
    pub fn stop(&self) {
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        *stopped = true;
        self.wake.notify_all();
    }

    /// True once the signal was given.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits up to `timeout` for the signal; true when it was given.
    pub fn wait(&self, timeout: Duration) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        let (stopped, _) = self
            .wake
            .wait_timeout_while(stopped, timeout, |s| !*s)
            .unwrap_or_else(|p| p.into_inner());
        *stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_waiting_thread_wakes_when_stopped() {
        let s = Arc::new(Shutdown::new());
        assert!(!s.wait(Duration::from_millis(1)));
        let waiter = {
            let s = s.clone();
            std::thread::spawn(move || s.wait(Duration::from_secs(600)))
        };
        s.stop();
        assert_eq!(waiter.join().ok(), Some(true));
        assert!(s.is_stopped());
    }
}
