//! `sellout sql` and `sellout archive`: the analyst surface over a data directory,
//! and the `POST /v1/sql` route `sellout serve` offers to admin keys.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Json;
use axum::extract::State;
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
    println!("{}", serde_json::json!({ "archived": reports }));
    Ok(())
}

/// What `POST /v1/sql` needs.
#[derive(Clone)]
pub struct SqlRoute {
    pub archive: Archive,
    pub transport: Arc<dyn Transport>,
    pub limits: SqlLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// The query.
    sql: String,
}

/// `POST /v1/sql {"sql": "..."}` → `{"rows": [...], "truncated": bool}`. Admin key only
/// (the router adds the check); read-only, with the configured row and time limits.
pub async fn post_sql(State(route): State<SqlRoute>, Json(request): Json<SqlRequest>) -> Response {
    let SqlRoute {
        archive,
        transport,
        limits,
    } = route;
    let ran = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| SqlError::Engine(e.to_string()))?;
        runtime.block_on(async {
            let session = SqlSession::open(&archive, transport.as_ref()).await?;
            let result = session.query(&request.sql, limits).await?;
            let json =
                render(&result, Format::Json).map_err(|e| SqlError::Engine(e.to_string()))?;
            Ok::<_, SqlError>((json, result.truncated))
        })
    })
    .await;
    let error = |status: StatusCode, message: String| {
        (status, Json(serde_json::json!({ "error": message }))).into_response()
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
                "400": error("Bad SQL, with the position, or a statement that is not a read"),
                "401": error("No key, or an unknown key"),
                "403": error("A key of another kind"),
                "413": error("The body exceeds the limit"),
                "503": error("The query ran past its time limit"),
            },
        }}},
    })
}
