//! Portal handlers: prices, history, quotes, and the live stream of changes.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, AppState};
use crate::change::PriceChange;
use crate::quotes::Quote;
use crate::service::{PricingError, QuoteRequest};

pub(super) async fn event_prices(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    let snap = state.book().snapshot();
    let event = snap
        .event(&event_id)
        .ok_or_else(|| PricingError::UnknownEvent(event_id.clone()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        event.json.clone(),
    )
        .into_response())
}

pub(super) async fn category_price(
    State(state): State<AppState>,
    Path((event_id, category_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let cat = state.category(&event_id, &category_id)?;
    Ok(Json(serde_json::json!({ "event_id": event_id, "category": cat })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    limit: Option<usize>,
}

pub(super) async fn history(
    State(state): State<AppState>,
    Path((event_id, category_id)): Path<(String, String)>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query?;
    let cat = state.category(&event_id, &category_id)?;
    let limit = q.limit.unwrap_or(usize::MAX);
    let changes: Vec<&PriceChange> = cat.history.iter().rev().take(limit).collect();
    Ok(Json(serde_json::json!({
        "event_id": event_id,
        "category_id": category_id,
        "price_minor": cat.price_minor,
        "currency": cat.currency,
        "changes": changes,
    }))
    .into_response())
}

pub(super) async fn quote(
    State(state): State<AppState>,
    body: Result<Json<QuoteRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body?;
    let quote = state.issue_quote(&req)?;
    Ok((StatusCode::CREATED, Json(quote)).into_response())
}

pub(super) async fn verify(
    State(state): State<AppState>,
    body: Result<Json<Quote>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(quote) = body?;
    state.verify_quote(&quote)?;
    let current = state
        .category(&quote.event_id, &quote.category_id)
        .map(|c| c.price_minor)
        .ok();
    Ok(Json(serde_json::json!({
        "valid": true,
        "honoured_unit_price_minor": quote.unit_price_minor,
        "honoured_total_minor": quote.total_minor,
        "current_unit_price_minor": current,
        "expires_at": quote.expires_at,
    }))
    .into_response())
}

/// Counts an open stream while it lives, and holds its stream slot.
struct StreamGuard {
    state: AppState,
    _permit: OwnedSemaphorePermit,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.state
            .metrics()
            .streams_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

pub(super) async fn stream(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    let snap = state.book().snapshot();
    let event = snap
        .event(&event_id)
        .ok_or_else(|| PricingError::UnknownEvent(event_id.clone()))?
        .clone();
    let Ok(permit) = state.streams.clone().try_acquire_owned() else {
        state.metrics().shed.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many open price streams",
        )
        .retry(state.config.retry_after_s));
    };
    state.metrics().streams_open.fetch_add(1, Ordering::Relaxed);
    let guard = StreamGuard {
        state: state.clone(),
        _permit: permit,
    };
    let rx = state.book().subscribe();
    let first = String::from_utf8_lossy(&event.json).into_owned();
    let initial = Event::default().event("snapshot").data(first);
    let live =
        futures_util::stream::unfold((rx, guard, event_id), |(mut rx, guard, id)| async move {
            loop {
                let event = match rx.recv().await {
                    Ok(change) if change.event_id == id => change_event(&change),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(n)) => Event::default()
                        .event("lagged")
                        .data(format!("{{\"skipped\":{n}}}")),
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok::<_, Infallible>(event), (rx, guard, id)));
            }
        });
    let stream = futures_util::stream::StreamExt::chain(
        futures_util::stream::once(async move { Ok(initial) }),
        live,
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn change_event(change: &Arc<PriceChange>) -> Event {
    let data = serde_json::to_string(change.as_ref()).unwrap_or_default();
    Event::default()
        .event("price")
        .id(change.id.to_string())
        .data(data)
}
