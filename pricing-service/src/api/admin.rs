//! Admin handlers: catalog, limits, freeze, override, audit.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::audit::AuditQuery;
use crate::guardrails::Decision;
use crate::service::{LimitsRequest, PricingError, PricingService};

/// Runs a blocking admin write (it appends to the topics) off the async workers.
async fn blocking(
    state: AppState,
    f: impl FnOnce(&PricingService) -> Result<Decision, PricingError> + Send + 'static,
) -> Result<Response, ApiError> {
    let decision = tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("admin task failed: {e}"),
            )
        })??;
    Ok(Json(decision).into_response())
}

pub(super) async fn catalog(State(state): State<AppState>) -> Response {
    let snap = state.book().snapshot();
    let events: Vec<_> = state
        .catalog()
        .events
        .iter()
        .map(|e| {
            let categories = snap.event(&e.event_id).map(|p| p.categories.clone());
            serde_json::json!({
                "event_id": e.event_id,
                "name": e.name,
                "venue_id": e.venue_id,
                "on_sale": e.on_sale,
                "start": e.start,
                "capacity": e.capacity(),
                "categories": categories.unwrap_or_default(),
            })
        })
        .collect();
    Json(serde_json::json!({ "events": events })).into_response()
}

pub(super) async fn limits(
    State(state): State<AppState>,
    Path((event_id, category_id)): Path<(String, String)>,
    body: Result<Json<LimitsRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    blocking(state, move |s| s.set_limits(&event_id, &category_id, req)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FreezeRequest {
    frozen: bool,
}

pub(super) async fn freeze(
    State(state): State<AppState>,
    Path((event_id, category_id)): Path<(String, String)>,
    body: Result<Json<FreezeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    blocking(state, move |s| {
        s.set_freeze(&event_id, &category_id, req.frozen)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OverrideRequest {
    price_minor: Option<i64>,
}

pub(super) async fn override_price(
    State(state): State<AppState>,
    Path((event_id, category_id)): Path<(String, String)>,
    body: Result<Json<OverrideRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    blocking(state, move |s| {
        s.set_override(&event_id, &category_id, req.price_minor)
    })
    .await
}

pub(super) async fn audit(
    State(state): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let entries = state.audit().query(&q);
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}
