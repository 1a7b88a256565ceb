//! The HTTP ingest routes (axum).
//!
//! - `POST /v1/records/{sales|beacons|social|queues}`: a body in any accepted format
//!   (chosen by `Content-Type`, see [`Format`]).
//! - `POST /v1/cloudevents`: CloudEvents in structured, batch or binary mode (binary
//!   when a `ce-specversion` header is present).
//! - `GET /v1/ingest/counters`: received, accepted and rejected per topic.
//!
//! Answers: `200` with an [`IngestReport`] (per-record rejections with reasons) when at
//! least one record was accepted or none was sent; `422` with the same report when every
//! record was rejected; `413` when the body exceeds the limit; `415` for an unsupported
//! content type; `429` with `Retry-After` when all ingest slots are busy (the log can't
//! keep up); `503` with `Retry-After` when the log refuses writes (disk full).
//!
//! Memory stays bounded: a request takes an ingest slot *before* its body is read, and
//! at most `max_in_flight` bodies of at most `max_body_bytes` are held at once.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::decode::{self, DecodeRejection, Decoded, Format};
use crate::ingestor::{IngestReport, Ingestor};
use crate::records::Topic;
use crate::validate::Reason;

/// Settings of the HTTP ingest routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpIngestConfig {
    /// Largest request body accepted, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Requests decoded and appended at once; more get 429 (bounds memory).
    pub max_in_flight: usize,
    /// Seconds a client is told to wait in `Retry-After` on 429 and 503.
    pub retry_after_s: u32,
}

impl Default for HttpIngestConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            max_in_flight: 4,
            retry_after_s: 1,
        }
    }
}

/// Shared state of the ingest routes.
#[derive(Debug)]
pub struct IngestService {
    ingestor: Arc<Ingestor>,
    slots: Arc<Semaphore>,
    config: HttpIngestConfig,
}

impl IngestService {
    /// Routes over `ingestor` with `config`.
    pub fn new(ingestor: Arc<Ingestor>, config: HttpIngestConfig) -> Arc<Self> {
        Arc::new(Self {
            ingestor,
            slots: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            config,
        })
    }

    /// The ingest slots; holding them all makes the routes answer 429 (used by tests).
    pub fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }
}

/// The ingest routes, ready to be merged into the binary's router.
pub fn router(service: Arc<IngestService>) -> Router {
    Router::new()
        .route("/v1/records/{topic}", post(post_records))
        .route("/v1/cloudevents", post(post_cloudevents))
        .route("/v1/ingest/counters", get(get_counters))
        .with_state(service)
}

/// An error answer: a status, a JSON `{"error": ...}` body, and maybe `Retry-After`
/// (the ingest routes', here and on the Fluvio ingest node).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after_s: Option<u32>,
}

impl ApiError {
    /// An answer with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_s: None,
        }
    }

    /// The same answer with `Retry-After: seconds`.
    pub fn retry(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

async fn post_records(
    State(service): State<Arc<IngestService>>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let topic: Topic = topic
        .parse()
        .map_err(|e: String| ApiError::new(StatusCode::NOT_FOUND, e))?;
    let format = content_format(&headers)?;
    let permit = take_slot(&service)?;
    let bytes = read_body(&service, &headers, body).await?;
    let limits = service.ingestor.validator().limits().clone();
    run_ingest(service, permit, bytes, move |input| {
        let decoded = decode::decode(format, Some(topic), input, &limits);
        keep_topic(decoded, topic, input)
    })
    .await
}

async fn post_cloudevents(
    State(service): State<Arc<IngestService>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let binary = headers.contains_key("ce-specversion");
    let format = if binary {
        None
    } else {
        Some(content_format(&headers)?)
    };
    if let Some(f) = format
        && !matches!(f, Format::CloudEvent | Format::CloudEventBatch)
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "CloudEvents need Content-Type application/cloudevents+json or application/cloudevents-batch+json, \
             or binary mode with ce-* headers",
        ));
    }
    let permit = take_slot(&service)?;
    let bytes = read_body(&service, &headers, body).await?;
    let limits = service.ingestor.validator().limits().clone();
    run_ingest(service, permit, bytes, move |input| match format {
        Some(f) => decode::decode(f, None, input, &limits),
        None => decode::cloudevents::decode_binary(&headers, input, &limits),
    })
    .await
}

async fn get_counters(State(service): State<Arc<IngestService>>) -> Response {
    Json(service.ingestor.counters().snapshot()).into_response()
}

fn content_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "missing Content-Type"))?;
    Format::from_content_type(ct).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported Content-Type {ct:?}: use application/json, application/x-ndjson, \
                 application/cloudevents+json, application/cloudevents-batch+json, \
                 application/vnd.apache.arrow.stream, application/vnd.apache.arrow.file \
                 or application/vnd.apache.parquet"
            ),
        )
    })
}

fn take_slot(service: &IngestService) -> Result<OwnedSemaphorePermit, ApiError> {
    service.slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ingest is saturated: retry later",
        )
        .retry(service.config.retry_after_s)
    })
}

async fn read_body(
    service: &IngestService,
    headers: &HeaderMap,
    body: Body,
) -> Result<bytes::Bytes, ApiError> {
    let limit = service.config.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("could not read the request body: {e}"),
        )),
    }
}

async fn run_ingest(
    service: Arc<IngestService>,
    permit: OwnedSemaphorePermit,
    bytes: bytes::Bytes,
    decode: impl FnOnce(&[u8]) -> Decoded + Send + 'static,
) -> Result<Response, ApiError> {
    let retry_after = service.config.retry_after_s;
    let ingestor = service.ingestor.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let decoded = decode(&bytes);
        ingestor.ingest(decoded, &bytes, "http")
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("ingest task failed: {e}"),
        )
    })?;
    match outcome {
        Ok(report) => Ok(report_response(report)),
        Err(e) => {
            tracing::warn!(message = "Ingest append failed.", error = %e);
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).retry(retry_after))
        }
    }
}

/// 422 only when every record was rejected: a re-sent input whose records are all
/// already in the log (duplicates) succeeded the first time, so it is a 200.
fn report_response(report: IngestReport) -> Response {
    let status = if report.received > 0 && report.accepted == 0 && report.duplicates == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, Json(report)).into_response()
}

/// Moves records of other topics than the route's into the rejections.
fn keep_topic(mut decoded: Decoded, topic: Topic, input: &[u8]) -> Decoded {
    if decoded.records.iter().all(|r| r.record.topic() == topic) {
        return decoded;
    }
    let (keep, wrong): (Vec<_>, Vec<_>) = decoded
        .records
        .into_iter()
        .partition(|r| r.record.topic() == topic);
    decoded.records = keep;
    decoded.rejected.extend(wrong.into_iter().map(|r| {
        DecodeRejection {
            index: r.index,
            topic: Some(r.record.topic()),
            reason: Reason::WrongTopic {
                expected: topic,
                found: r.record.topic(),
            },
            original: r
                .span
                .and_then(|s| input.get(s).map(<[u8]>::to_vec))
                .unwrap_or_else(|| serde_json::to_vec(&r.record.to_json()).unwrap_or_default()),
        }
    }));
    decoded
}
