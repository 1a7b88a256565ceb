//! The sync ↔ async bridge: the streams trait is synchronous, the `fluvio` client is
//! async. The transport owns a private tokio runtime; a trait method spawns its future
//! there and waits on a plain channel for the answer.
//!
//! Waiting on a channel (not `Runtime::block_on`) is what makes the trait callable from
//! anywhere, a tokio worker thread of the caller's own runtime included: `block_on`
//! inside a runtime panics, a blocked `recv` only occupies the thread, like any other
//! synchronous I/O the trait already does. Dropping happens through
//! `shutdown_background`, which is also legal inside an async context.

use std::future::Future;
use std::sync::mpsc;

use tokio::runtime::{Builder, Runtime};

use crate::error::FluvioError;

/// A private runtime that runs the client's futures to completion for sync callers.
#[derive(Debug)]
pub(crate) struct Bridge {
    rt: Option<Runtime>,
}

impl Bridge {
    /// Starts the runtime with `threads` worker threads.
    pub(crate) fn new(threads: usize) -> Result<Self, FluvioError> {
        let rt = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("sellout-fluvio")
            .enable_all()
            .build()
            .map_err(|e| FluvioError::Runtime(e.to_string()))?;
        Ok(Self { rt: Some(rt) })
    }

    /// Runs `fut` on the runtime and waits for its answer.
    pub(crate) fn run<F, T>(&self, fut: F) -> Result<T, FluvioError>
    where
        F: Future<Output = Result<T, FluvioError>> + Send + 'static,
        T: Send + 'static,
    {
        answer(&self.start(fut)?)
    }

    /// Starts `fut` on the runtime and returns at once: its answer arrives on the
    /// receiver ([`answer`] waits for it).
    pub(crate) fn start<F, T>(&self, fut: F) -> Result<Pending<T>, FluvioError>
    where
        F: Future<Output = Result<T, FluvioError>> + Send + 'static,
        T: Send + 'static,
    {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| FluvioError::Runtime("already shut down".to_owned()))?;
        let (tx, rx) = mpsc::sync_channel(1);
        rt.spawn(async move {
            // The receiver only disappears if the caller is gone; nothing to tell then.
            let _ = tx.send(fut.await);
        });
        Ok(rx)
    }
}

/// The answer of a future [`Bridge::start`]ed.
pub(crate) type Pending<T> = mpsc::Receiver<Result<T, FluvioError>>;

/// Waits for the answer of a started future.
pub(crate) fn answer<T>(pending: &Pending<T>) -> Result<T, FluvioError> {
    pending.recv().map_err(|_| {
        FluvioError::Runtime("the operation's task ended without an answer".to_owned())
    })?
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_futures_from_a_plain_thread_and_from_inside_another_runtime() {
        let bridge = std::sync::Arc::new(Bridge::new(1).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(bridge.run(async { Ok(7) }).ok(), Some(7));
        let outer = Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let b = bridge.clone();
        let got = outer.block_on(async move {
            tokio::spawn(async move { b.run(async { Ok(11) }).ok() }).await
        });
        assert_eq!(got.ok().flatten(), Some(11));
        // Dropping the bridge inside an async context must not panic either.
        outer.block_on(async move { drop(bridge) });
    }

    #[test]
    fn errors_come_back_as_errors() {
        let bridge = Bridge::new(1).unwrap_or_else(|e| panic!("{e}"));
        let r: Result<(), _> = bridge.run(async { Err(FluvioError::Config("x".to_owned())) });
        assert!(matches!(r, Err(FluvioError::Config(_))));
    }
}
