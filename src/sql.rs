//! `sellout sql` and `sellout archive`: the analyst surface over a data directory,
//! and the `POST /v1/sql` route `sellout serve` offers to admin keys.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sellout_analyst::{Archive, Format, SqlError, SqlLimits, SqlSession, render};
use sellout_streams::{ManualClock, Transport};
use serde::Deserialize;

use crate::cli::SqlArgs;
use crate::config::Config;
use crate::wiring;

pub fn archive_of(config: &Config) -> Archive {
    Archive::new(config.archive_dir(), config.archive.clone())
}

pub fn run(config: &Config, args: SqlArgs) -> anyhow::Result<()> {
    // Reading needs no clock; retention by age is not run here.
    let log = wiring::open_log(config, Arc::new(ManualClock::new(0)))?;
    let archive = archive_of(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let limits = SqlLimits {
        max_rows: args.max_rows,
        ..SqlLimits::default()
    };
    let result = runtime.block_on(async {
        let session = SqlSession::open(&archive, log.as_ref()).await?;
        session.query(&args.query, limits).await
    });
    let result = match result {
        Ok(r) => r,
        Err(SqlError::Query(message)) => anyhow::bail!("invalid query: {message}"),
        Err(e) => return Err(e.into()),
    };
    print!("{}", render(&result, args.format)?);
    if args.format == Format::Table {
        println!();
    }
    if result.truncated {
        eprintln!(
            "note: the result was cut at {} rows (--max-rows)",
            args.max_rows
        );
    }
    Ok(())
}

pub fn archive(config: &Config) -> anyhow::Result<()> {
    let log = wiring::open_log(config, Arc::new(ManualClock::new(0)))?;
    let reports = archive_of(config)
        .compact_all(log.as_ref(), None)
        .context("compaction failed")?;
    // Erased installations leave the log's sealed segments too (see the README).
    sellout_ingest::erasure::Redactor::new()
        .run(&log)
        .context("redacting erased installations from the log failed")?;
    println!("{}", serde_json::json!({ "archived": reports }));
    Ok(())
}

/// What `POST /v1/sql` needs.
#[derive(Clone)]
pub struct SqlRoute {
    pub archive: Archive,
    pub transport: Arc<dyn Transport>,
    pub limits: SqlLimits,
    /// One query at a time: a query runs on a blocking thread that can't be stopped,
    /// so a second one while it runs (or after its time limit) is answered 503.
    pub running: Arc<tokio::sync::Semaphore>,
}

impl SqlRoute {
    /// The route over `archive` and `transport`, with `limits`.
    pub fn new(archive: Archive, transport: Arc<dyn Transport>, limits: SqlLimits) -> Self {
        Self {
            archive,
            transport,
            limits,
            running: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// The query.
    sql: String,
}

/// `POST /v1/sql {"sql": "..."}` → `{"rows": [...], "truncated": bool}`. Admin key only
/// (the router adds the check); read-only, with the configured row and time limits.
pub async fn post_sql(
    State(route): State<SqlRoute>,
    body: Result<Json<SqlRequest>, JsonRejection>,
) -> Response {
    let error = |status: StatusCode, message: String| {
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    };
    let request = match body {
        Ok(Json(r)) => r,
        Err(e) => return error(e.status(), e.body_text()),
    };
    let SqlRoute {
        archive,
        transport,
        limits,
        running,
    } = route;
    let Ok(permit) = running.try_acquire_owned() else {
        let mut busy = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "another query is running; retry shortly".into(),
        );
        busy.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(1),
        );
        return busy;
    };
    // The time limit is kept here too: a query busy in one long computation can't
    // notice its own timer, and its client must not wait for it.
    let deadline = Duration::from_millis(limits.timeout_ms.saturating_add(1_000));
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| SqlError::Engine(e.to_string()))?;
        runtime.block_on(async {
            let session = SqlSession::open_with(&archive, transport.as_ref(), limits).await?;
            let result = session.query(&request.sql, limits).await?;
            let json =
                render(&result, Format::Json).map_err(|e| SqlError::Engine(e.to_string()))?;
            Ok::<_, SqlError>((json, result.truncated))
        })
    });
    let Ok(ran) = tokio::time::timeout(deadline, task).await else {
        tracing::warn!(
            message = "A SQL query ran past its limit; it finishes in the background.",
            limit_ms = limits.timeout_ms
        );
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the query ran past its limit of {} ms", limits.timeout_ms),
        );
    };
    match ran {
        Ok(Ok((rows, truncated))) => {
            let rows: serde_json::Value = serde_json::from_str(&rows).unwrap_or_default();
            Json(serde_json::json!({ "rows": rows, "truncated": truncated })).into_response()
        }
        Ok(Err(SqlError::Query(message))) => error(StatusCode::BAD_REQUEST, message),
        Ok(Err(SqlError::Timeout(ms))) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the query ran past its limit of {ms} ms"),
        ),
        Ok(Err(e)) => {
            tracing::error!(message = "SQL failed.", error = %e);
            error(StatusCode::INTERNAL_SERVER_ERROR, "the query failed".into())
        }
        Err(e) => {
            tracing::error!(message = "SQL task failed.", error = %e);
            error(StatusCode::INTERNAL_SERVER_ERROR, "the query failed".into())
        }
    }
}

/// The OpenAPI description of `POST /v1/sql`, merged into `/openapi.json`.
pub fn openapi_fragment() -> serde_json::Value {
    let error = |d: &str| serde_json::json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    serde_json::json!({
        "paths": { "/v1/sql": { "post": {
            "summary": "Read-only SQL over the archive and the live tail (tables sales, beacons, social, queues, signals, features, prices, deliveries), with time and row limits",
            "operationId": "post_v1_sql",
            "security": [{ "adminKey": [] }],
            "parameters": [],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "properties": { "sql": { "type": "string" } }, "required": ["sql"] } } } },
            "responses": {
                "200": { "description": "Rows as JSON objects; `truncated` when the row limit cut them", "content": { "application/json": { "schema": {
                    "type": "object", "properties": { "rows": { "type": "array", "items": { "type": "object" } }, "truncated": { "type": "boolean" } } } } } },
                "400": error("Bad SQL, with the position; a statement that is not a read; an error while running (division by zero, a bad cast); over its memory; or a malformed body"),
                "415": error("The body is not JSON"),
                "422": error("The JSON body has no `sql` string"),
                "401": error("No key, or an unknown key"),
                "403": error("A key of another kind"),
                "413": error("The body exceeds the limit"),
                "503": error("The query ran past its time limit, or another query is running (`Retry-After`)"),
            },
        }}},
    })
}
