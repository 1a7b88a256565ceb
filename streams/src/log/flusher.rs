//! The background flusher of the `interval` fsync policy: a thread that wakes every
//! interval and fsyncs the topics appended to since its last pass.
//!
//! It reads processing time (a `Condvar` timeout) only to pace durability work; no
//! decision about records depends on it.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Inner;
use crate::transport::StreamError;

/// A running flusher; stopping it (or dropping it) joins the thread.
#[derive(Debug)]
pub(crate) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts a thread that calls [`Inner::sync_dirty`] every `every`.
    pub fn start(inner: Arc<Inner>, every: Duration) -> Result<Self, StreamError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("sellout-log-flusher".to_string())
            .spawn(move || run(&inner, &signal, every))
            .map_err(|e| StreamError::io("starting the log's flusher thread", e))?;
        Ok(Self {
            stop,
            handle: Some(handle),
        })
    }

    /// Asks the thread to stop and waits for it.
    pub fn stop(&mut self) {
        let (lock, cvar) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        cvar.notify_all();
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!(message = "The log's flusher thread panicked.");
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(inner: &Inner, stop: &(Mutex<bool>, Condvar), every: Duration) {
    let (lock, cvar) = stop;
    loop {
        let Ok(guard) = lock.lock() else { return };
        let Ok((guard, _)) = cvar.wait_timeout_while(guard, every, |stopped| !*stopped) else {
            return;
        };
        if *guard {
            return;
        }
        drop(guard);
        inner.sync_dirty();
    }
}
