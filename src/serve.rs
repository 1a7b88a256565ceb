//! `sellout serve`: the HTTP routes over the data directory until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use sellout_ingest::http::{self as ingest_http, IngestService};
use sellout_streams::{SystemClock, Transport as _};

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::wiring;

pub fn run(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let log = wiring::open_log(config, clock.clone())?;
    let catalog = wiring::load_catalog(config)?;
    let ingestor = Arc::new(wiring::ingestor(config, log.clone(), catalog, clock));
    let service = IngestService::new(ingestor, config.http_ingest.clone());
    let app = app(service);
    let listen = args.listen.unwrap_or(config.server.listen);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        tracing::info!(message = "Serving.", address = %local);
        // The one line a script waits for before it sends requests.
        println!(
            "{}",
            serde_json::json!({ "serve": format!("http://{local}") })
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server failed")
    })?;
    log.flush()?;
    tracing::info!(message = "Stopped; the log is flushed.");
    Ok(())
}

/// Every route the binary serves.
pub fn app(ingest: Arc<IngestService>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(ingest_http::router(ingest))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(message = "Cannot listen for Ctrl-C.", error = %e);
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(message = "Cannot listen for SIGTERM.", error = %e);
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
