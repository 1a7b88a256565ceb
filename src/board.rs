//! The live board in the binary: `[dashboards]` settings, the board and the feed that
//! fills it from the streams (with the newest trained model's sell-out probabilities
//! when the registry has one), and the InfluxDB sink when `[dashboards.influx]` is set.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use sellout_dashboards::{
    Board, BoardConfig, CatalogSource, Feed, SinkConfig, SinkHandle, SinkStats,
};
use sellout_ingest::catalog::Catalog;
use sellout_streams::Clock;
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// `[dashboards]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardsConfig {
    /// Who may read the live board (`/board`): open by default (loopback).
    pub board: BoardConfig,
    /// Write the figures to an InfluxDB v2 store as well (see `dashboards/grafana/`).
    pub influx: Option<InfluxSettings>,
}

/// `[dashboards.influx]`: where the sink writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfluxSettings {
    /// Base URL, e.g. `http://127.0.0.1:8086`.
    pub url: String,
    /// Organisation.
    #[serde(default = "sellout")]
    pub org: String,
    /// Bucket.
    #[serde(default = "sellout")]
    pub bucket: String,
    /// API token (a secret: set it with `SELLOUT__DASHBOARDS__INFLUX__TOKEN`).
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
    /// Where points wait on disk while the store is down (default
    /// `<data_dir>/influx-spill`).
    #[serde(default)]
    pub spill_dir: Option<PathBuf>,
}

fn sellout() -> String {
    "sellout".into()
}

/// A board over `catalog`.
pub fn board(config: &Config, catalog: &Catalog) -> Arc<Board> {
    Arc::new(Board::new(catalog, config.dashboards.board.clone()))
}

/// The feed into `board`, scoring with the newest trained model if there is one.
pub fn feed(
    config: &Config,
    board: Arc<Board>,
    catalog: impl Into<CatalogSource>,
    sink: Option<SinkHandle>,
) -> Feed {
    let mut feed = Feed::new(board, catalog);
    let registry = sellout_models::registry::Registry::new(config.registry_dir());
    match sellout_models::train::load(&registry, sellout_models::registry::Version::Newest) {
        Ok((bundle, meta)) => {
            tracing::info!(
                message = "The board scores with the trained model.",
                version = meta.version
            );
            feed = feed.with_model(Arc::new(bundle));
        }
        Err(error) => {
            tracing::debug!(message = "No trained model for the board.", %error);
        }
    }
    match sink {
        Some(s) => feed.with_sink(s),
        None => feed,
    }
}

/// Starts the InfluxDB sink when configured (call inside a tokio runtime).
pub fn sink(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<(SinkHandle, tokio::task::JoinHandle<SinkStats>)>> {
    let Some(influx) = &config.dashboards.influx else {
        return Ok(None);
    };
    let spill = influx
        .spill_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("influx-spill"));
    let mut sink = SinkConfig::new(influx.url.clone(), spill);
    sink.org.clone_from(&influx.org);
    sink.bucket.clone_from(&influx.bucket);
    sink.token = influx.token.clone().unwrap_or_default();
    let started =
        sellout_dashboards::spawn(&sink, clock).context("cannot start the InfluxDB sink")?;
    Ok(Some(started))
}

/// The feed following the streams on a thread of its own.
pub struct FeedThread {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<u64>,
}

impl FeedThread {
    /// Polls `transport` into the board, resting `idle` whenever it is caught up.
    pub fn start(
        mut feed: Feed,
        transport: Arc<dyn sellout_streams::Transport>,
        idle: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("board-feed".into())
            .spawn(move || {
                let mut records = 0;
                loop {
                    let rest = match feed.poll(transport.as_ref()) {
                        Ok(s) if s.total() > 0 => {
                            records += s.total();
                            std::time::Duration::ZERO
                        }
                        Ok(_) => idle,
                        Err(error) => {
                            tracing::warn!(message = "Board feed failed; will retry.", %error);
                            idle * 4
                        }
                    };
                    match stopped.recv_timeout(rest) {
                        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                            return records;
                        }
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    }
                }
            })
            .context("cannot start the board feed")?;
        Ok(Self { stop, thread })
    }

    /// Stops the feed; returns the records it read.
    pub fn stop(self) -> u64 {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or(0)
    }
}

/// The board served on its own thread while the demo runs.
pub struct BoardServer {
    /// The board's address, e.g. `http://127.0.0.1:40123/board`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BoardServer {
    /// Binds `listen` and serves `board` until [`BoardServer::stop`] (or drop).
    pub fn start(board: Arc<Board>, listen: std::net::SocketAddr) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen} for the board"))?;
        listener.set_nonblocking(true)?;
        let url = sellout_dashboards::board_url(listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("board-server".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let serve = axum::serve(listener, sellout_dashboards::router(board));
                    // Live streams never end on their own: stopping drops them.
                    tokio::select! {
                        result = serve => {
                            if let Err(error) = result {
                                tracing::warn!(message = "The board server stopped.", %error);
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })
            .context("cannot start the board server")?;
        Ok(Self {
            url,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops serving (open pages lose their live stream).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BoardServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
