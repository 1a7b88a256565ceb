//! The live web board marketing looks at: a shared [`Board`] (the folded
//! [`BoardState`] plus a change counter), its JSON views, and [`router`] serving the
//! pages, the JSON API, the live stream and the embedded assets.
//!
//! Only the [`Feed`](crate::feed::Feed) writes the board; HTTP handlers only read it.
//! Clients never see single records: the live stream sends each page's whole view at
//! most every [`STREAM_INTERVAL_MS`], however fast records arrive, so a burst of
//! thousands of records per second costs the browser four small repaints a second.
//!
//! Access: read-only, open by default (`BoardConfig::default()`), meant for loopback.
//! With `require_key`, every board route wants one of `keys`, in the `x-board-key`
//! header or the `key` query parameter (pages pass it on to their API calls and
//! stream, since `EventSource` cannot send headers; keep such links private).

mod apply;
mod assets;
mod routes;
pub mod series;
pub mod state;
mod text;
pub mod views;

use std::net::SocketAddr;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use sellout_ingest::catalog::Catalog;
use tokio::sync::watch;

pub use apply::DeliveryView;
pub use routes::{STREAM_INTERVAL_MS, router};
pub use state::BoardState;
pub use text::money;

/// Who may read the board.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoardConfig {
    /// When true, every board route wants one of `keys` (`x-board-key` header or
    /// `key` query parameter); when false (the default) the board is open: serve it
    /// on loopback or behind a proxy that authenticates.
    pub require_key: bool,
    /// The accepted keys (secrets: never logged, never shown, never written back).
    #[serde(skip_serializing)]
    pub keys: Vec<String>,
}

impl BoardConfig {
    /// True when `given` opens the board under this config.
    pub fn allows(&self, given: Option<&str>) -> bool {
        if !self.require_key {
            return true;
        }
        let Some(given) = given else { return false };
        self.keys
            .iter()
            .any(|k| constant_time_eq(k.as_bytes(), given.as_bytes()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The board's URL when its router is served at `addr`.
pub fn board_url(addr: SocketAddr) -> String {
    format!("http://{addr}/board")
}

/// The shared board: state, change notifications and access config.
#[derive(Debug)]
pub struct Board {
    state: RwLock<BoardState>,
    changed: watch::Sender<u64>,
    config: BoardConfig,
    has_model: std::sync::atomic::AtomicBool,
}

impl Board {
    /// A board showing the catalog's events and venues, nothing sold yet.
    pub fn new(catalog: &Catalog, config: BoardConfig) -> Self {
        Self {
            state: RwLock::new(BoardState::new(catalog)),
            changed: watch::Sender::new(0),
            config,
            has_model: false.into(),
        }
    }

    /// Reads the state (a poisoned lock is still read: the state is plain data).
    pub fn read(&self) -> RwLockReadGuard<'_, BoardState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state and tells live streams (once per call, whatever changed).
    pub fn update<R>(&self, f: impl FnOnce(&mut BoardState) -> R) -> R {
        let result = {
            let mut guard: RwLockWriteGuard<'_, BoardState> =
                self.state.write().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        };
        self.changed.send_modify(|v| *v += 1);
        result
    }

    /// How many updates the board has had.
    pub fn version(&self) -> u64 {
        *self.changed.borrow()
    }

    /// A receiver that wakes on every update.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The access config.
    pub fn config(&self) -> &BoardConfig {
        &self.config
    }

    /// Records whether forecasts come from a model (shown as the basis of dates).
    pub fn set_has_model(&self, yes: bool) {
        self.has_model
            .store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    /// True when forecasts come from a model.
    pub fn has_model(&self) -> bool {
        self.has_model.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod routes_tests;
