//! `sellout serve`: everything a node does, until Ctrl-C or SIGTERM: the HTTP routes
//! (ingest, the pricing API under `/v1`, `POST /v1/sql` for admin keys, the notifier's
//! installations, campaigns and redemptions), the pipelines following the streams, the
//! pricing replica following the price topics, the repricer (unless `--no-repricer`),
//! the notifier (unless `--no-notifier`) and the archive compacting in the background.
//!
//! Stopping is orderly: the server stops accepting, in-flight requests finish, the
//! background tasks stop, the pipelines process what was ingested and take a
//! checkpoint, the log is flushed, and the last line printed is a JSON summary.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::post;
use sellout_analyst::{Archive, SqlLimits};
use sellout_ingest::http::{self as ingest_http, IngestService};
use sellout_ingest::live_catalog::{IntoLiveCatalog as _, LiveCatalog};
use sellout_pipelines::{RunReport, Runner};
use sellout_pricing::PricingService;
use sellout_streams::log::EmbeddedLog;
use sellout_streams::{Clock, SystemClock, Transport as _};

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::sql::{SqlRoute, post_sql};
use crate::wiring;

/// How long requests in flight may finish after SIGTERM before the rest are closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Log bytes of the embedded installations store before it is compacted.
const INSTALLATIONS_LOG_BUDGET: u64 = 64 << 20;

/// Largest SQL request body.
const SQL_BODY_BYTES: usize = 64 * 1024;

/// Records one poll processes at most before it looks for a stop request.
const POLL_RECORDS: usize = 50_000;

pub fn run(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let log = wiring::open_log(config, clock.clone())?;
    // One live catalog for every component: the pricing replica's follow loop keeps it
    // caught up with the `catalog` topic (admin edits), ingest and pipelines read it.
    let catalog = wiring::load_catalog(config)?.into_live();
    let pipelines = if args.no_pipelines {
        None
    } else {
        Some(LivePipelines::start(
            config,
            log.clone(),
            catalog.clone(),
            clock.clone(),
        )?)
    };
    let pricing = wiring::pricing(config, log.clone(), catalog.clone(), clock.clone())?;
    let ingestor = Arc::new(wiring::ingestor(
        config,
        log.clone(),
        catalog.clone(),
        clock.clone(),
    )?);
    let service = IngestService::new(ingestor, config.http_ingest.clone());
    let sql = SqlRoute::new(
        crate::sql::archive_of(config),
        log.clone(),
        SqlLimits::default(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let notifier = if config.notifier.enabled && !args.no_notifier {
        Some(LiveNotifier::open(
            config,
            &runtime,
            log.clone(),
            clock.clone(),
        )?)
    } else {
        None
    };
    let routes = notifier
        .as_ref()
        .map(|n| n.routes(log.clone(), clock.clone()));
    // The live board, its feed, and the InfluxDB sink when configured.
    let board = crate::board::board(config, &catalog.load());
    let sink = {
        let _inside = runtime.enter();
        crate::board::sink(config, clock.clone())?
    };
    let feed = crate::board::feed(
        config,
        board.clone(),
        catalog.clone(),
        sink.as_ref().map(|(handle, _)| handle.clone()),
    );
    let feed = crate::board::FeedThread::start(feed, log.clone(), Duration::from_millis(250))?;
    let app =
        app(service, pricing.clone(), sql.clone(), routes).merge(sellout_dashboards::router(board));
    let listen = args.listen.unwrap_or(config.server.listen);
    let (stop_tasks, stopping) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stopping = stopping.clone();
        async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        }
    };
    let poll = Duration::from_millis(config.pricing.follow_poll_ms.max(1));
    let mut tasks = vec![runtime.spawn(pricing.clone().follow(stopped()))];
    if !args.no_repricer {
        let repricer = wiring::repricer(config, pricing.clone(), &catalog.load())?;
        tasks.push(runtime.spawn(repricer.run(poll, stopped())));
    }
    if let Some(notifier) = notifier {
        let every = Duration::from_millis(config.notifier.poll_interval_ms.max(1));
        tasks.push(runtime.spawn(notifier.run(clock.clone(), every, stopped())));
    }
    tasks.push(runtime.spawn(compact_in_background(
        sql.archive.clone(),
        log.clone(),
        Duration::from_secs(config.archive.interval_s.max(1)),
        stopped(),
    )));
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        tracing::info!(message = "Serving.", address = %local);
        // The one line a script waits for before it sends requests.
        println!(
            "{}",
            serde_json::json!({
                "serve": format!("http://{local}"),
                "board": sellout_dashboards::board_url(local),
            })
        );
        let (signalled, signal) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            sellout_pricing::api::shutdown_signal().await;
            let _ = signalled.send(true);
        });
        let wait = |mut signal: tokio::sync::watch::Receiver<bool>| async move {
            let _ = signal.wait_for(|s| *s).await;
        };
        let listener = sellout_pricing::api::limited(&pricing, listener);
        let graceful = axum::serve(listener, app).with_graceful_shutdown(wait(signal.clone()));
        // Live streams (prices, the board) never end on their own: give requests in
        // flight a few seconds, then close what is still open.
        let served = tokio::select! {
            served = graceful => served.context("server failed"),
            () = async {
                wait(signal).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!(message = "Closing connections still open after the grace period.");
                Ok(())
            }
        };
        let _ = stop_tasks.send(true);
        for task in tasks {
            let _ = task.await;
        }
        served
    });
    let report = pipelines.map(LivePipelines::stop).transpose();
    let board_records = feed.stop();
    let sink_stats = sink.and_then(|(handle, task)| {
        drop(handle);
        runtime.block_on(task).ok()
    });
    log.flush()?;
    served?;
    let report = report?;
    tracing::info!(message = "Stopped; the log is flushed.");
    println!(
        "{}",
        serde_json::json!({ "stopped": {
            "pipelines": report,
            "board_records": board_records,
            "influx": sink_stats,
        } })
    );
    Ok(())
}

/// Every route the binary serves. `/healthz`, `/readyz`, `/metrics` and
/// `/openapi.json` come with the pricing API; the document there describes the ingest
/// and SQL routes too.
pub fn app(
    ingest: Arc<IngestService>,
    pricing: Arc<PricingService>,
    sql: SqlRoute,
    notifier: Option<NotifierRoutes>,
) -> Router {
    pricing.extend_openapi(&sellout_ingest::openapi::fragment());
    pricing.extend_openapi(&crate::sql::openapi_fragment());
    let notifier = match notifier {
        Some(n) => {
            pricing.extend_openapi(&sellout_notifier::openapi::fragment());
            let for_apps =
                n.installations
                    .merge(n.redemptions)
                    .route_layer(middleware::from_fn_with_state(
                        pricing.clone(),
                        sellout_pricing::api::require_ingest,
                    ));
            let for_admins = n.campaigns.route_layer(middleware::from_fn_with_state(
                pricing.clone(),
                sellout_pricing::api::require_admin,
            ));
            for_apps.merge(for_admins)
        }
        None => Router::new(),
    };
    let sql = Router::new()
        .route("/v1/sql", post(post_sql))
        .with_state(sql)
        .layer(DefaultBodyLimit::max(SQL_BODY_BYTES))
        .route_layer(middleware::from_fn_with_state(
            pricing.clone(),
            sellout_pricing::api::require_admin,
        ));
    let ingest = ingest_http::router(ingest).route_layer(middleware::from_fn_with_state(
        pricing.clone(),
        sellout_pricing::api::require_ingest,
    ));
    Router::new()
        .merge(ingest)
        .merge(sellout_pricing::router(pricing))
        .merge(sql)
        .merge(notifier)
}

/// The notifier's routes, each still to be put behind its kind of key.
pub struct NotifierRoutes {
    /// Installations (the app backend: ingest key).
    installations: Router,
    /// Redemptions (stands: ingest key).
    redemptions: Router,
    /// Campaigns (admin key).
    campaigns: Router,
}

/// The notifier following the streams: its runtime and, when configured, the local
/// endpoints it sends to.
struct LiveNotifier {
    runtime: sellout_notifier::runtime::Runtime,
    keys: sellout_notifier::voucher::VoucherKeys,
    _endpoints: Option<crate::notify::LocalEndpoints>,
}

impl LiveNotifier {
    fn open(
        config: &Config,
        tokio: &tokio::runtime::Runtime,
        log: Arc<EmbeddedLog>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let (senders, endpoints) = tokio.block_on(crate::notify::senders(
            &config.notifier,
            Some(
                config
                    .data_dir
                    .join("keys")
                    .join("apns-provider-token.json"),
            ),
            clock.clone(),
        ))?;
        if senders.apns.is_none() && senders.fcm.is_none() {
            tracing::warn!(
                message = "No APNs or FCM credentials: notifications will fail with no_sender. Set [notifier.apns] / [notifier.fcm], or notifier.local_endpoints = true."
            );
        }
        let campaigns = crate::notify::campaigns(config)?;
        tracing::info!(message = "Notifier ready.", campaigns = campaigns.len());
        let directory = tokio.block_on(crate::notify::directory(config))?;
        let runtime = crate::notify::runtime(
            config,
            directory,
            log,
            senders,
            campaigns,
            u64::from(std::process::id()),
            sellout_notifier::EngineConfig::default(),
        )?
        .replay_lag(config.notifier.replay_lag_ms);
        Ok(Self {
            runtime,
            keys: crate::keys::voucher_keys(config)?,
            _endpoints: endpoints,
        })
    }

    fn routes(&self, log: Arc<EmbeddedLog>, clock: Arc<dyn Clock>) -> NotifierRoutes {
        use sellout_notifier::api::{InstallationsState, router};
        use sellout_notifier::runtime::http::{RedemptionsState, router as redemptions};
        NotifierRoutes {
            installations: router(InstallationsState {
                store: self.runtime.directory().store(),
                clock: clock.clone(),
                erasures: log.clone(),
            }),
            redemptions: redemptions(RedemptionsState {
                transport: log,
                keys: self.keys.clone(),
                clock,
            }),
            campaigns: sellout_notifier::campaigns_router(self.runtime.engine().clone()),
        }
    }

    /// Polls every `every` until `stopped`, then once more. The embedded installations
    /// store is compacted whenever its log passes [`INSTALLATIONS_LOG_BUDGET`] (so erased
    /// installations leave the files while serving, not only at the next restart), and
    /// at the end.
    async fn run(
        mut self,
        clock: Arc<dyn Clock>,
        every: Duration,
        stopped: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stopped);
        loop {
            let done = tokio::select! {
                biased;
                () = &mut stopped => true,
                () = tokio::time::sleep(every) => false,
            };
            if let Err(e) = self.runtime.poll(clock.now_ms()).await {
                tracing::error!(message = "Notifier poll failed; will retry.", error = %e);
            }
            self.compact(done).await;
            if done {
                break;
            }
        }
        tracing::info!(message = "Notifier stopped.", totals = ?self.runtime.totals());
    }

    /// Compacts the embedded store when its log is over budget, or `always`.
    async fn compact(&self, always: bool) {
        let sellout_notifier::runtime::Directory::Embedded(store) =
            self.runtime.directory().as_ref()
        else {
            return;
        };
        if !always && store.log_bytes() <= INSTALLATIONS_LOG_BUDGET {
            return;
        }
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.compact()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(message = "Installations store compaction failed.", error = %e);
            }
            Err(e) => tracing::error!(message = "The compaction task failed.", error = %e),
        }
    }
}

/// Compacts the streams into the archive every `every` until `stopped` resolves, then
/// redacts erased installations from the log's sealed segments (only what is new).
/// Runs on a blocking thread, so requests and the pipelines are not held up.
async fn compact_in_background(
    archive: Archive,
    log: Arc<EmbeddedLog>,
    every: Duration,
    stopped: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let mut redactor = Some(sellout_ingest::erasure::Redactor::new());
    loop {
        tokio::select! {
            biased;
            () = &mut stopped => return,
            () = tokio::time::sleep(every) => {}
        }
        let (archive, log) = (archive.clone(), log.clone());
        let mut r = redactor.take().unwrap_or_default();
        let task = tokio::task::spawn_blocking(move || {
            let archived = archive.compact_all(log.as_ref(), None);
            let redacted = r.run(&log);
            (archived, redacted, r)
        });
        match task.await {
            Ok((archived, redacted, r)) => {
                redactor = Some(r);
                if let Err(e) = archived {
                    tracing::warn!(message = "Archiving failed; will retry.", error = %e);
                }
                if let Err(e) = redacted {
                    tracing::warn!(message = "Redacting erased installations failed; will retry.", error = %e);
                }
            }
            Err(e) => tracing::error!(message = "The archive task failed.", error = %e),
        }
    }
}

/// The pipelines following the streams on a thread of their own.
struct LivePipelines {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<anyhow::Result<RunReport>>,
}

impl LivePipelines {
    fn start(
        config: &Config,
        log: Arc<EmbeddedLog>,
        catalog: Arc<LiveCatalog>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let mut runner = wiring::pipelines(config, log, catalog)?;
        let idle = Duration::from_millis(config.pipelines.poll_interval_ms.max(1));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pipelines".into())
            .spawn(move || {
                let result = follow(&mut runner, clock.as_ref(), idle, &stopped);
                if let Err(e) = &result {
                    // Ingest goes on (records wait in the log); the operator must know.
                    tracing::error!(message = "The pipelines stopped.", error = %format!("{e:#}"));
                }
                result
            })
            .context("cannot start the pipelines thread")?;
        tracing::info!(message = "Pipelines follow the streams.");
        Ok(Self { stop, thread })
    }

    /// Stops the pipelines after they processed everything ingested so far.
    fn stop(self) -> anyhow::Result<RunReport> {
        // A send fails only when the thread already ended, with an error to report.
        let _ = self.stop.send(());
        match self.thread.join() {
            Ok(result) => result.context("the pipelines failed"),
            Err(_) => anyhow::bail!("the pipelines thread panicked"),
        }
    }
}

/// Polls the runner until a stop request, waiting `idle` whenever it caught up; then
/// processes what was ingested before the stop and takes a checkpoint.
fn follow(
    runner: &mut Runner,
    clock: &dyn Clock,
    idle: Duration,
    stopped: &mpsc::Receiver<()>,
) -> anyhow::Result<RunReport> {
    loop {
        let processed = runner.poll(clock.now_ms(), POLL_RECORDS)?;
        let wait = if processed == 0 { idle } else { Duration::ZERO };
        match stopped.recv_timeout(wait) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    while runner.poll(clock.now_ms(), POLL_RECORDS)? > 0 {}
    runner.checkpoint()?;
    Ok(runner.report())
}
