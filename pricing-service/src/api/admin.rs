//! Admin handlers: catalog and its edits, limits, freeze, override, audit.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sellout_ingest::catalog::{Event, Venue};
use sellout_ingest::live_catalog::CatalogChange;
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::audit::AuditQuery;
use crate::service::{LimitsRequest, PricingError, PricingService};

/// Runs a blocking admin write (it appends to the topics) off the async workers.
async fn blocking<T: serde::Serialize + Send + 'static>(
    state: AppState,
    f: impl FnOnce(&PricingService) -> Result<T, PricingError> + Send + 'static,
) -> Result<Response, ApiError> {
    let answer = tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("admin task failed: {e}"),
            )
        })??;
    Ok(Json(answer).into_response())
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

pub(super) async fn put_venue(
    State(state): State<AppState>,
    Path(venue_id): Path<String>,
    body: Result<Json<Venue>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(venue) = body?;
    same_id("venue_id", &venue_id, &venue.venue_id)?;
    blocking(state, move |s| {
        let catalog = s.change_catalog(CatalogChange::UpsertVenue(venue))?;
        Ok(catalog.venue(&venue_id).cloned())
    })
    .await
}

pub(super) async fn put_event(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    body: Result<Json<Event>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(event) = body?;
    same_id("event_id", &event_id, &event.event_id)?;
    blocking(state, move |s| {
        let catalog = s.change_catalog(CatalogChange::UpsertEvent(event))?;
        Ok(catalog.event(&event_id).cloned())
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CapacityRequest {
    capacity: u32,
}

pub(super) async fn capacity(
    State(state): State<AppState>,
    Path((event_id, category_id)): Path<(String, String)>,
    body: Result<Json<CapacityRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    blocking(state, move |s| {
        let change = CatalogChange::SetCapacity {
            event_id: event_id.as_str().into(),
            category_id: category_id.as_str().into(),
            capacity: req.capacity,
        };
        let catalog = s.change_catalog(change)?;
        Ok(catalog.event(&event_id).cloned())
    })
    .await
}

/// The id in the path and the one in the body must agree.
fn same_id(field: &str, path: &str, body: &str) -> Result<(), ApiError> {
    if path == body {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("{field} {body:?} in the body differs from {path:?} in the path"),
    ))
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
