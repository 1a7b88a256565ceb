//! `POST /v1/redemptions`: a stand reports a voucher it accepted. The code is verified
//! offline (signature, key, expiry) before the report is appended to the
//! `redemptions` topic; the runtime counts it once at its next poll (a second report
//! of the same code is refused there, not here, since replicas don't share memory).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use sellout_streams::{Clock, Transport};
use serde::Deserialize;

use super::append_redemption;
use crate::delivery::Redemption;
use crate::voucher::{self, VoucherError, VoucherKeys};

/// Largest request body.
const MAX_BODY: usize = 4 * 1024;

/// What the route needs.
#[derive(Clone)]
pub struct RedemptionsState {
    /// Where reports go.
    pub transport: Arc<dyn Transport>,
    /// The voucher keys (to verify offline).
    pub keys: VoucherKeys,
    /// "Now", when the report carries no time.
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    voucher_code: String,
    stand_id: String,
    #[serde(default)]
    time_ms: Option<i64>,
}

/// The route, ready to nest under authentication.
pub fn router(state: RedemptionsState) -> Router {
    Router::new()
        .route("/v1/redemptions", post(report))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn error(status: StatusCode, reason: &str, message: String) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": message, "reason": reason })),
    )
        .into_response()
}

async fn report(
    State(state): State<RedemptionsState>,
    body: Result<Json<Report>, JsonRejection>,
) -> Response {
    let Json(r) = match body {
        Ok(b) => b,
        Err(e) => return error(e.status(), "bad_request", e.body_text()),
    };
    if r.stand_id.is_empty() || r.stand_id.len() > 128 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_stand",
            "stand_id must be 1 to 128 characters".into(),
        );
    }
    let now = r.time_ms.unwrap_or_else(|| state.clock.now_ms());
    let claims = match voucher::verify(&r.voucher_code, &state.keys, now) {
        Ok(c) => c,
        Err(e) => {
            let reason = match e {
                VoucherError::Expired { .. } => "expired",
                VoucherError::UnknownKey(_) => "unknown_key",
                VoucherError::Tampered => "tampered",
                _ => "malformed",
            };
            return error(StatusCode::UNPROCESSABLE_ENTITY, reason, e.to_string());
        }
    };
    let redemption = Redemption {
        voucher_code: claims.code.clone(),
        time_ms: now,
        stand_id: r.stand_id,
    };
    let transport = state.transport.clone();
    match tokio::task::spawn_blocking(move || append_redemption(transport.as_ref(), &redemption))
        .await
    {
        Ok(Ok(())) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "accepted": true,
                "offer": { "kind": claims.kind, "percent": claims.percent },
                "expires_at_ms": claims.expires_at_ms,
            })),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(message = "Redemption not recorded.", error = %e);
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            )
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}
