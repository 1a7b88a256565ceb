//! The campaign routes: read, create or replace, delete a campaign, and read its
//! counters. Bodies are the same [`CampaignSpec`] the TOML file holds, as JSON, and
//! go through the same validation (templates included) before the engine sees them.
//!
//! Authentication is the wiring's concern: mount this router behind the admin-key
//! layer the installations API uses.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::engine::Engine;
use super::rules::{Campaign, CampaignSpec, RuleError};
use crate::delivery::CampaignStats;

/// The engine shared by the routes and the planner.
pub type SharedEngine = Arc<Mutex<Engine>>;

/// An error answer: a status and `{"error": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// The routes under `/v1/campaigns`.
pub fn router(engine: SharedEngine) -> Router {
    Router::new()
        .route("/v1/campaigns", get(list))
        .route("/v1/campaigns/{id}", get(read).put(put).delete(delete))
        .route("/v1/campaigns/{id}/stats", get(stats))
        .with_state(engine)
}

fn lock(engine: &SharedEngine) -> MutexGuard<'_, Engine> {
    // A panic elsewhere while holding the lock leaves the engine consistent enough to
    // serve reads: every mutation is a single map operation.
    engine
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Serialize)]
struct CampaignList {
    campaigns: Vec<CampaignSpec>,
}

async fn list(State(engine): State<SharedEngine>) -> Json<CampaignList> {
    let campaigns = lock(&engine).campaigns().map(|c| c.spec.clone()).collect();
    Json(CampaignList { campaigns })
}

async fn read(
    State(engine): State<SharedEngine>,
    Path(id): Path<String>,
) -> Result<Json<CampaignSpec>, ApiError> {
    lock(&engine)
        .campaign(&id)
        .map(|c| Json(c.spec.clone()))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no campaign {id:?}")))
}

async fn put(
    State(engine): State<SharedEngine>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<CampaignSpec>), ApiError> {
    let spec = CampaignSpec::from_json(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    if spec.id != id {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body id {:?} differs from path id {id:?}", spec.id),
        ));
    }
    let campaign = Campaign::compile(spec).map_err(|e| {
        let status = match e {
            RuleError::Json { .. } | RuleError::Toml(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.to_string())
    })?;
    let spec = campaign.spec.clone();
    let created = lock(&engine).upsert(campaign);
    tracing::info!(message = "Campaign stored.", campaign = %id, created);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(spec)))
}

async fn delete(
    State(engine): State<SharedEngine>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match lock(&engine).remove(&id) {
        Some(_) => {
            tracing::info!(message = "Campaign deleted.", campaign = %id);
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no campaign {id:?}"),
        )),
    }
}

#[derive(Serialize)]
struct StatsAnswer {
    campaign_id: String,
    #[serde(flatten)]
    stats: CampaignStats,
    pending: u64,
    reconciles: bool,
}

async fn stats(
    State(engine): State<SharedEngine>,
    Path(id): Path<String>,
) -> Result<Json<StatsAnswer>, ApiError> {
    let engine = lock(&engine);
    let stats = engine.stats(&id);
    if engine.campaign(&id).is_none() && stats == CampaignStats::default() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no campaign {id:?}"),
        ));
    }
    Ok(Json(StatsAnswer {
        campaign_id: id,
        pending: stats.pending(),
        reconciles: stats.reconciles(),
        stats,
    }))
}
