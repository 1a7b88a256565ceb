//! The HTTP API (axum), versioned under `/v1`, described at `/openapi.json`.
//!
//! - Portal routes (portal key): prices of an event, of one category, history,
//!   quotes and their verification, and a server-sent-events stream of changes.
//! - Admin routes (admin key): catalog with limits and policy, catalog edits (venues,
//!   events, categories, capacity: appended to the `catalog` topic so every replica and
//!   component takes them in), limits (floor, cap, published range), freeze, override,
//!   audit query.
//! - Open: `/healthz`, `/readyz`, `/metrics` (Prometheus), `/openapi.json`.
//!
//! Keys come in `Authorization: Bearer <key>` or `X-Api-Key`; 401 without a known
//! key, 403 with the other kind. Errors are JSON `{"error": "..."}`.
//!
//! Peak protection: every `/v1` request takes a slot from a semaphore *before* any
//! work and without waiting; no slot means 503 with `Retry-After`, never a queue. A
//! slot is held until the response head is ready, so it also bounds the memory of
//! bodies in flight (each at most `max_body_bytes`). Live streams take a slot from
//! their own, separate semaphore for as long as they are open. Each request has a
//! time limit (503 with `Retry-After` past it); an admin write that timed out may
//! still land, so read the catalog or audit before retrying it.

mod admin;
mod portal;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};

use sellout_ingest::live_catalog::LiveCatalogError;

use crate::auth::KeyKind;
use crate::quotes::QuoteError;
use crate::service::{PricingError, PricingService};

/// The state every handler shares: one replica of the service.
pub type AppState = Arc<PricingService>;

/// Every route as (method, path), for the OpenAPI check.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/events/{event_id}/prices"),
    ("get", "/v1/events/{event_id}/prices/stream"),
    (
        "get",
        "/v1/events/{event_id}/categories/{category_id}/price",
    ),
    (
        "get",
        "/v1/events/{event_id}/categories/{category_id}/history",
    ),
    ("post", "/v1/quotes"),
    ("post", "/v1/quotes/verify"),
    ("get", "/v1/admin/catalog"),
    ("put", "/v1/admin/venues/{venue_id}"),
    ("put", "/v1/admin/events/{event_id}"),
    (
        "put",
        "/v1/admin/events/{event_id}/categories/{category_id}/capacity",
    ),
    (
        "put",
        "/v1/admin/events/{event_id}/categories/{category_id}/limits",
    ),
    (
        "put",
        "/v1/admin/events/{event_id}/categories/{category_id}/freeze",
    ),
    (
        "put",
        "/v1/admin/events/{event_id}/categories/{category_id}/override",
    ),
    ("get", "/v1/admin/audit"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// The whole API over `state`.
pub fn router(state: AppState) -> Router {
    let portal = Router::new()
        .route("/v1/events/{event_id}/prices", get(portal::event_prices))
        .route("/v1/events/{event_id}/prices/stream", get(portal::stream))
        .route(
            "/v1/events/{event_id}/categories/{category_id}/price",
            get(portal::category_price),
        )
        .route(
            "/v1/events/{event_id}/categories/{category_id}/history",
            get(portal::history),
        )
        .route("/v1/quotes", post(portal::quote))
        .route("/v1/quotes/verify", post(portal::verify))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_portal,
        ));
    let admin = Router::new()
        .route("/v1/admin/catalog", get(admin::catalog))
        .route("/v1/admin/venues/{venue_id}", put(admin::put_venue))
        .route("/v1/admin/events/{event_id}", put(admin::put_event))
        .route(
            "/v1/admin/events/{event_id}/categories/{category_id}/capacity",
            put(admin::capacity),
        )
        .route(
            "/v1/admin/events/{event_id}/categories/{category_id}/limits",
            put(admin::limits),
        )
        .route(
            "/v1/admin/events/{event_id}/categories/{category_id}/freeze",
            put(admin::freeze),
        )
        .route(
            "/v1/admin/events/{event_id}/categories/{category_id}/override",
            put(admin::override_price),
        )
        .route("/v1/admin/audit", get(admin::audit))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    let open = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi));
    let max_body = state.config.max_body_bytes;
    portal
        .merge(admin)
        .route_layer(middleware::from_fn_with_state(state.clone(), shed_and_time))
        .merge(open)
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in
/// flight finish (graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// `listener` bounded to the service's `max_connections` (see [`crate::connections`]);
/// refused connections count as shed in the metrics.
pub fn limited(
    state: &AppState,
    listener: tokio::net::TcpListener,
) -> crate::connections::LimitedListener {
    crate::connections::LimitedListener::new(
        listener,
        state.config.max_connections,
        state.config.retry_after_s,
        state.metrics().refused_connections.clone(),
    )
}

/// Resolves on Ctrl-C or SIGTERM: pass it to [`serve`] for a graceful shutdown.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(message = "Could not listen for Ctrl-C.", %error);
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(error) => {
                tracing::warn!(message = "Could not listen for SIGTERM.", %error);
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

/// An error answer: a status, a JSON `{"error": ...}` body, maybe `Retry-After`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after_s: Option<u32>,
    extra: Option<serde_json::Value>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_s: None,
            extra: None,
        }
    }

    fn retry(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let (Some(serde_json::Value::Object(extra)), Some(map)) =
            (self.extra, body.as_object_mut())
        {
            map.extend(extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

impl From<PricingError> for ApiError {
    fn from(e: PricingError) -> Self {
        let status = match &e {
            PricingError::UnknownEvent(_) | PricingError::UnknownCategory { .. } => {
                StatusCode::NOT_FOUND
            }
            PricingError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PricingError::Conflict(_) => StatusCode::CONFLICT,
            PricingError::Catalog(LiveCatalogError::Rejected(_)) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            PricingError::Stream(_)
            | PricingError::Book(_)
            | PricingError::Checkpoint(_)
            | PricingError::Catalog(LiveCatalogError::Stream(_)) => {
                tracing::warn!(message = "Pricing write failed.", error = %e);
                return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).retry(1);
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<QuoteError> for ApiError {
    fn from(e: QuoteError) -> Self {
        let reason = match e {
            QuoteError::UnknownKey(_) => "unknown_key",
            QuoteError::BadSignature => "bad_signature",
            QuoteError::Expired { .. } => "expired",
        };
        let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
        err.extra = Some(serde_json::json!({ "valid": false, "reason": reason }));
        err
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::new(
            e.status(),
            format!("invalid request body: {}", e.body_text()),
        )
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("invalid query: {}", e.body_text()),
        )
    }
}

fn authorise(state: &PricingService, headers: &HeaderMap, needed: KeyKind) -> Result<(), ApiError> {
    match crate::auth::presented_key(headers).and_then(|k| state.api_keys.lookup(k)) {
        Some((index, kind)) if kind == needed => state
            .rates
            .take(index, kind, state.clock().now_ms())
            .map_err(|wait_s| {
                let limit = state.rates.limit_of(kind).map_or(0.0, |l| l.per_second);
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("over this key's limit of {limit} requests per second"),
                )
                .retry(u32::try_from(wait_s).unwrap_or(u32::MAX))
            }),
        Some((_, _)) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("this route needs a {needed:?} key").to_lowercase(),
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing or unknown API key",
        )),
    }
}

/// The rejection of a request without the `needed` key kind, if it is one.
fn rejected(state: &PricingService, req: &Request, needed: KeyKind) -> Option<Response> {
    let e = authorise(state, req.headers(), needed).err()?;
    let unauthorised = e.status == StatusCode::UNAUTHORIZED;
    let mut response = e.into_response();
    if unauthorised {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    Some(response)
}

async fn require_portal(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match rejected(&state, &req, KeyKind::Portal) {
        Some(response) => response,
        None => next.run(req).await,
    }
}

/// Lets requests with an ingest key through (401 without a key, 403 with another
/// kind); for the ingest routes the binary serves beside this API.
pub async fn require_ingest(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match rejected(&state, &req, KeyKind::Ingest) {
        Some(response) => response,
        None => next.run(req).await,
    }
}

/// Lets requests with an admin key through (401 without a key, 403 with a portal
/// key); for routes the binary adds beside this API, such as `POST /v1/sql`.
pub async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match rejected(&state, &req, KeyKind::Admin) {
        Some(response) => response,
        None => next.run(req).await,
    }
}

/// Sheds without waiting when every slot is busy or the runtime runs late (see
/// [`crate::load`]); bounds each request's time.
async fn shed_and_time(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let retry = state.config.retry_after_s;
    state.lag.ensure_started();
    if state.lag.overloaded(state.config.max_scheduling_lag_ms) {
        state.metrics().shed.fetch_add(1, Ordering::Relaxed);
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "service busy: retry later")
            .retry(retry)
            .into_response();
    }
    let Ok(_permit) = state.slots.clone().try_acquire_owned() else {
        state.metrics().shed.fetch_add(1, Ordering::Relaxed);
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service saturated: retry later",
        )
        .retry(retry)
        .into_response();
    };
    let limit = Duration::from_millis(state.config.request_timeout_ms.max(1));
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics().timeouts.fetch_add(1, Ordering::Relaxed);
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "request timed out")
                .retry(retry)
                .into_response()
        }
    }
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    if let Some(route) = route {
        state.metrics().request(
            route.as_str(),
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.book().is_ready() {
        Json(serde_json::json!({ "status": "ready" })).into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "price book not caught up yet",
        )
        .retry(state.config.retry_after_s)
        .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let (applied, skipped) = state.book().counts();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(applied, skipped),
    )
        .into_response()
}

async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json(),
    )
        .into_response()
}
