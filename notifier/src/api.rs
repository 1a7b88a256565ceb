//! The installations HTTP API (the caller adds authentication):
//!
//! - `PUT /v1/installations/{id}`: create or replace (body: an [`Installation`]).
//! - `PATCH /v1/installations/{id}`: a JSON Patch subset ([`PatchOp`] array).
//! - `GET /v1/installations/{id}`: one installation, push token included: the caller
//!   is its owner (the app), so the token goes back to where it came from.
//! - `DELETE /v1/installations/{id}`: privacy erase; `204` whether or not it existed.
//!   After the store has forgotten the installation, one erasure naming a digest of
//!   its id is appended to the `erasures` topic ([`sellout_ingest::erasure`]), which
//!   the archive, SQL and the pipelines apply to everything else that holds the id.
//!   If that append fails the answer is `503` and the client retries (erasing again is
//!   harmless).
//! - `GET /v1/installations?tag_expression=…&limit=…`: "who would get this": the count
//!   and a sample of installation ids (never push tokens).
//!
//! Bodies are capped at [`MAX_BODY`]; every error is JSON `{"error": …, "field": …}`.
//! Handlers never log tokens or installation contents.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use sellout_streams::{Clock, Transport};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::installation::{Installation, PatchOp, ValidationError, validate_id};
use crate::store::{InstallationStore, StoreError};
use crate::tags::TagExpr;

/// Largest request body accepted, in bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest `limit` on the audience preview.
pub const MAX_SAMPLE: usize = 1000;

/// What the routes need.
#[derive(Clone)]
pub struct InstallationsState {
    /// Where installations live.
    pub store: Arc<dyn InstallationStore>,
    /// "Now", for expiry and erasure times.
    pub clock: Arc<dyn Clock>,
    /// Where erasures are appended (the `erasures` topic).
    pub erasures: Arc<dyn Transport>,
}

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<String>,
}

impl ApiError {
    fn bad(field: &str, error: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: error.into(),
            field: Some(field.to_string()),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::bad(&e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => v.into(),
            StoreError::NotFound => Self {
                status: StatusCode::NOT_FOUND,
                error: "installation not found".into(),
                field: None,
            },
            other => {
                tracing::error!(message = "Installation store failed.", error = %other);
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "installation store unavailable".into(),
                    field: None,
                }
            }
        }
    }
}

fn unavailable(error: &str) -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        error: error.into(),
        field: None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error, "field": self.field });
        (self.status, Json(body)).into_response()
    }
}

/// The installation routes, ready to nest under authentication.
pub fn router(state: InstallationsState) -> Router {
    Router::new()
        .route("/v1/installations", get(list))
        .route(
            "/v1/installations/{id}",
            put(put_one)
                .patch(patch_one)
                .get(get_one)
                .delete(delete_one),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|r| ApiError {
        status: r.status(),
        error: format!("request body rejected: at most {MAX_BODY} bytes of JSON"),
        field: None,
    })
}

/// Decodes JSON, naming the field that failed.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        let field = if path == "." {
            // Missing or unknown fields report at the root: name them from the message.
            msg.split('`').nth(1).unwrap_or("body").to_string()
        } else {
            path.split(['.', '[']).next().unwrap_or("body").to_string()
        };
        ApiError::bad(&field, msg)
    })
}

async fn put_one(
    State(s): State<InstallationsState>,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<Installation>, ApiError> {
    validate_id(&id)?;
    let inst: Installation = decode(&body(b)?)?;
    if inst.installation_id != id {
        return Err(ApiError::bad(
            "installationId",
            "must equal the id in the path",
        ));
    }
    s.store.upsert(inst.clone()).await?;
    tracing::debug!(
        message = "Installation stored.",
        platform = inst.platform.as_str()
    );
    Ok(Json(inst))
}

async fn patch_one(
    State(s): State<InstallationsState>,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Json<Installation>, ApiError> {
    validate_id(&id)?;
    let ops: Vec<PatchOp> = decode(&body(b)?)?;
    Ok(Json(s.store.patch(&id, &ops).await?))
}

async fn get_one(
    State(s): State<InstallationsState>,
    Path(id): Path<String>,
) -> Result<Json<Installation>, ApiError> {
    validate_id(&id)?;
    match s.store.get(&id).await? {
        Some(i) => Ok(Json(i)),
        None => Err(StoreError::NotFound.into()),
    }
}

async fn delete_one(
    State(s): State<InstallationsState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    validate_id(&id)?;
    s.store.erase(&id).await?;
    let now_ms = s.clock.now_ms();
    let transport = s.erasures.clone();
    let appended = tokio::task::spawn_blocking(move || {
        sellout_ingest::erasure::append(transport.as_ref(), &id, now_ms)
    })
    .await;
    match appended {
        Ok(Ok(_)) => Ok(StatusCode::NO_CONTENT),
        Ok(Err(e)) => {
            tracing::error!(message = "Erasure not recorded.", error = %e);
            Err(unavailable("erasure log unavailable; retry the erase"))
        }
        Err(e) => {
            tracing::error!(message = "Erasure task failed.", error = %e);
            Err(unavailable("erasure log unavailable; retry the erase"))
        }
    }
}

/// Query of the audience preview.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// A tag expression; all targetable installations when absent.
    pub tag_expression: Option<String>,
    /// How many sample ids (default 10, at most [`MAX_SAMPLE`]).
    pub limit: Option<usize>,
}

async fn list(
    State(s): State<InstallationsState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<crate::store::Selection>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad("query", e.body_text()))?;
    let limit = q.limit.unwrap_or(10);
    if limit > MAX_SAMPLE {
        return Err(ApiError::bad("limit", format!("at most {MAX_SAMPLE}")));
    }
    let expr = match q.tag_expression.as_deref() {
        None => None,
        Some(src) => {
            Some(TagExpr::parse(src).map_err(|e| ApiError::bad("tag_expression", e.to_string()))?)
        }
    };
    let sel = s
        .store
        .select(expr.as_ref(), s.clock.now_ms(), limit)
        .await?;
    Ok(Json(sel))
}
