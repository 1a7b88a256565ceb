//! [`IngestNode`]: `sellout serve`'s HTTP ingest on Fluvio (`sellout-fluvio serve
//! --listen ADDR`), so ingest nodes and pipeline workers can be separate processes.
//!
//! - The ingest routes of `sellout_ingest::http` (`POST /v1/records/{topic}`,
//!   `POST /v1/cloudevents`, `GET /v1/ingest/counters`) behind ingest keys, with
//!   `[http_ingest]` and `[limits]` as in `sellout serve`. Records are appended through
//!   the routed transport: each to the partition of its `event_id` (venue for beacons
//!   and queues); rejected ones to the `deadletter` topic, with their reason.
//! - The re-send window (`limits.dedup_window`) refilled from the tail of every
//!   partition: a re-sent record routes to the partition of its original.
//! - The catalog routes of the pricing API's admin part, behind admin keys:
//!   `GET /v1/admin/catalog`, `PUT /v1/admin/venues/{venue_id}`,
//!   `PUT /v1/admin/events/{event_id}` and
//!   `PUT /v1/admin/events/{event_id}/categories/{category_id}/capacity` (same bodies).
//!   A change is checked, appended to the one-partition `catalog` topic, and applied
//!   here at once (validation sees a new event for the next request); workers follow
//!   the topic ([`crate::catalog`]).
//! - `GET /healthz`, open.
//!
//! Time comes from the [`Clock`] it is handed.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use sellout_ingest::catalog::{Event, Venue};
use sellout_ingest::dedup::Resends;
use sellout_ingest::http::{self as ingest_http, ApiError, IngestService};
use sellout_ingest::ingestor::{CountersSnapshot, Ingestor};
use sellout_ingest::live_catalog::{CatalogChange, LiveCatalog, LiveCatalogError};
use sellout_ingest::validate::Validator;
use sellout_pricing::auth::KeyKind;
use sellout_streams::{Clock, StreamError, Transport};
use serde::Deserialize;

use crate::auth::{self, Keys};
use crate::config::WorkerConfig;

/// An ingest node over Fluvio topics.
pub struct IngestNode {
    service: Arc<IngestService>,
    ingestor: Arc<Ingestor>,
    admin: Arc<Admin>,
    keys: Arc<Keys>,
}

impl std::fmt::Debug for IngestNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestNode")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// What the catalog routes need.
struct Admin {
    catalog: Arc<LiveCatalog>,
    topics: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    retry_after_s: u32,
}

impl IngestNode {
    /// A node appending to `topics` (routed by key), its re-send window refilled from
    /// `partitions` (one transport per partition of the input topics), validating
    /// against `catalog` (whose topic `topics` also reaches), checking `keys`.
    pub fn open(
        config: &WorkerConfig,
        topics: Arc<dyn Transport>,
        partitions: &[Arc<dyn Transport>],
        catalog: Arc<LiveCatalog>,
        keys: Arc<Keys>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StreamError> {
        let parts: Vec<&dyn Transport> = partitions.iter().map(|p| p.as_ref()).collect();
        let resends = Resends::refill_parts(config.limits.dedup_window, &parts)?;
        let validator = Validator::new(catalog.clone(), config.limits.clone());
        let ingestor = Arc::new(Ingestor::with_resends(
            topics.clone(),
            validator,
            clock.clone(),
            resends,
        ));
        let service = IngestService::new(ingestor.clone(), config.http_ingest.clone());
        let admin = Arc::new(Admin {
            catalog,
            topics,
            clock,
            retry_after_s: config.http_ingest.retry_after_s,
        });
        Ok(Self {
            service,
            ingestor,
            admin,
            keys,
        })
    }

    /// The node's routes.
    pub fn router(&self) -> Router {
        let guard = |kind| middleware::from_fn_with_state((self.keys.clone(), kind), auth::require);
        let ingest = ingest_http::router(self.service.clone()).route_layer(guard(KeyKind::Ingest));
        let admin = Router::new()
            .route("/v1/admin/catalog", get(get_catalog))
            .route("/v1/admin/venues/{venue_id}", put(put_venue))
            .route("/v1/admin/events/{event_id}", put(put_event))
            .route(
                "/v1/admin/events/{event_id}/categories/{category_id}/capacity",
                put(put_capacity),
            )
            .with_state(self.admin.clone())
            .route_layer(guard(KeyKind::Admin));
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .merge(ingest)
            .merge(admin)
    }

    /// The ingest counters so far.
    pub fn counters(&self) -> CountersSnapshot {
        self.ingestor.counters().snapshot()
    }
}

/// Serves `app` on `listener` until `stop` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
}

async fn get_catalog(State(admin): State<Arc<Admin>>) -> Response {
    Json(admin.catalog.load().as_ref().clone()).into_response()
}

/// Applies `change` off the async workers (it appends to the cluster); answers `answer`
/// of the new catalog.
async fn change<T: serde::Serialize>(
    admin: Arc<Admin>,
    change: CatalogChange,
    answer: impl FnOnce(&sellout_ingest::catalog::Catalog) -> T,
) -> Result<Response, ApiError> {
    let a = admin.clone();
    let applied = tokio::task::spawn_blocking(move || {
        a.catalog
            .change(a.topics.as_ref(), change, a.clock.now_ms())
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("catalog task failed: {e}"),
        )
    })?;
    match applied {
        Ok(catalog) => Ok(Json(answer(&catalog)).into_response()),
        Err(LiveCatalogError::Rejected(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
        )),
        Err(LiveCatalogError::Stream(e)) => {
            tracing::warn!(message = "Catalog change not appended.", error = %e);
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("catalog topic: {e}"),
            )
            .retry(admin.retry_after_s))
        }
    }
}

/// The body's JSON, or a 400 naming what is wrong with it.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(t)| t)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

/// The id in the path and the one in the body must agree.
fn same_id(field: &str, path: &str, body: &str) -> Result<(), ApiError> {
    if path == body {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        format!("{field} {body:?} in the body differs from {path:?} in the path"),
    ))
}

async fn put_venue(
    State(admin): State<Arc<Admin>>,
    Path(venue_id): Path<String>,
    venue: Result<Json<Venue>, JsonRejection>,
) -> Result<Response, ApiError> {
    let venue = body(venue)?;
    same_id("venue_id", &venue_id, &venue.venue_id)?;
    change(admin, CatalogChange::UpsertVenue(venue), move |c| {
        c.venue(&venue_id).cloned()
    })
    .await
}

async fn put_event(
    State(admin): State<Arc<Admin>>,
    Path(event_id): Path<String>,
    event: Result<Json<Event>, JsonRejection>,
) -> Result<Response, ApiError> {
    let event = body(event)?;
    same_id("event_id", &event_id, &event.event_id)?;
    change(admin, CatalogChange::UpsertEvent(event), move |c| {
        c.event(&event_id).cloned()
    })
    .await
}

/// The body of a capacity change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityRequest {
    capacity: u32,
}

async fn put_capacity(
    State(admin): State<Arc<Admin>>,
    Path((event_id, category_id)): Path<(String, String)>,
    req: Result<Json<CapacityRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let req = body(req)?;
    let capacity = CatalogChange::SetCapacity {
        event_id: event_id.as_str().into(),
        category_id: category_id.as_str().into(),
        capacity: req.capacity,
    };
    change(admin, capacity, move |c| c.event(&event_id).cloned()).await
}

/// A node serving on its own runtime until the [`Shutdown`](crate::Shutdown) it was
/// started with is given.
pub struct RunningNode {
    runtime: tokio::runtime::Runtime,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    node: Arc<IngestNode>,
    url: String,
}

impl RunningNode {
    /// Binds `addr` and serves `node` on a runtime of `threads` threads until `shutdown`.
    pub fn start(
        node: IngestNode,
        addr: std::net::SocketAddr,
        threads: usize,
        shutdown: Arc<crate::Shutdown>,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("ingest-http")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let url = format!("http://{}", listener.local_addr()?);
        let node = Arc::new(node);
        let app = node.router();
        let stop = async move {
            // The stop flag is a condvar; one blocking thread waits on it.
            let _ = tokio::task::spawn_blocking(move || {
                while !shutdown.wait(std::time::Duration::from_secs(3600)) {}
            })
            .await;
        };
        let server = runtime.spawn(serve(listener, app, stop));
        Ok(Self {
            runtime,
            server,
            node,
            url,
        })
    }

    /// `http://ip:port` it listens on.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits for the server to finish (after the shutdown signal) and returns the
    /// ingest counters.
    pub fn join(self) -> std::io::Result<CountersSnapshot> {
        match self.runtime.block_on(self.server) {
            Ok(result) => result?,
            Err(e) => return Err(std::io::Error::other(format!("HTTP server task: {e}"))),
        }
        Ok(self.node.counters())
    }
}
