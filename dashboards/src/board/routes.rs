//! The board's HTTP routes: pages, JSON API, the live stream (SSE) and assets.
//!
//! The stream coalesces: a client gets its page's whole view once on connect, then
//! again after the board changed, at most every [`STREAM_INTERVAL_MS`]. Pacing uses
//! tokio time, which is about talking to browsers, never about event time.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde_json::Value;
use tokio::sync::watch;

use super::{Board, assets, views};

/// The shortest time between two updates of one live stream.
pub const STREAM_INTERVAL_MS: u64 = 250;

/// The board's routes, all under `/board`. Merge into the binary's router:
/// `app.merge(sellout_dashboards::board::router(board))`.
pub fn router(board: Arc<Board>) -> Router {
    Router::new()
        .route("/board", get(page))
        .route("/board/", get(page))
        .route("/board/events/{event_id}", get(page))
        .route("/board/venues/{venue_id}", get(page))
        .route("/board/alerts", get(page))
        .route("/board/api/board", get(api_board))
        .route("/board/api/events/{event_id}", get(api_event))
        .route("/board/api/venues/{venue_id}", get(api_venue))
        .route("/board/api/alerts", get(api_alerts))
        .route("/board/api/stream", get(api_stream))
        .route("/board/assets/{*file}", get(asset))
        .with_state(board)
}

/// Proof that the request may read the board (see [`super::BoardConfig`]).
struct Authorized;

impl FromRequestParts<Arc<Board>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, board: &Arc<Board>) -> Result<Self, Response> {
        if !board.config().require_key {
            return Ok(Authorized);
        }
        let header = parts
            .headers
            .get("x-board-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let query = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("key="))
                .map(str::to_string)
        });
        if board.config().allows(header.or(query).as_deref()) {
            Ok(Authorized)
        } else {
            Err((StatusCode::UNAUTHORIZED, "board key required\n").into_response())
        }
    }
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": format!("unknown {what}") })),
    )
        .into_response()
}

async fn page(_: Authorized) -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(assets::PAGE_HTML),
    )
        .into_response()
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::file(&file) {
        Some((ty, body)) => (
            [
                (header::CONTENT_TYPE, ty),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

async fn api_board(State(board): State<Arc<Board>>, _: Authorized) -> Json<Value> {
    Json(views::board_view(&board.read(), board.has_model()))
}

async fn api_event(
    State(board): State<Arc<Board>>,
    Path(event_id): Path<String>,
    _: Authorized,
) -> Response {
    match views::event_view(&board.read(), &event_id, board.has_model()) {
        Some(v) => Json(v).into_response(),
        None => not_found("event"),
    }
}

async fn api_venue(
    State(board): State<Arc<Board>>,
    Path(venue_id): Path<String>,
    _: Authorized,
) -> Response {
    match views::venue_view(&board.read(), &venue_id) {
        Some(v) => Json(v).into_response(),
        None => not_found("venue"),
    }
}

async fn api_alerts(State(board): State<Arc<Board>>, _: Authorized) -> Json<Value> {
    Json(views::alerts_view(&board.read()))
}

/// Which view a live stream carries.
#[derive(Debug, Clone, serde::Deserialize)]
struct StreamQuery {
    /// `board`, `event`, `venue` or `alerts`.
    page: String,
    /// The event or venue id, for those pages.
    #[serde(default)]
    id: Option<String>,
}

impl StreamQuery {
    /// The page's current view as JSON text, `None` when the page or id is unknown.
    fn render(&self, board: &Board) -> Option<String> {
        let state = board.read();
        let id = self.id.as_deref().unwrap_or_default();
        let view = match self.page.as_str() {
            "board" => Some(views::board_view(&state, board.has_model())),
            "event" => views::event_view(&state, id, board.has_model()),
            "venue" => views::venue_view(&state, id),
            "alerts" => Some(views::alerts_view(&state)),
            _ => None,
        }?;
        drop(state);
        Some(view.to_string())
    }
}

async fn api_stream(
    State(board): State<Arc<Board>>,
    Query(query): Query<StreamQuery>,
    _: Authorized,
) -> Response {
    let Some(first) = query.render(&board) else {
        return not_found("page");
    };
    let rx = board.subscribe();
    Sse::new(updates(board, rx, query, first))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The first view, then one whole view per change, no more often than the interval.
fn updates(
    board: Arc<Board>,
    mut rx: watch::Receiver<u64>,
    query: StreamQuery,
    first: String,
) -> impl Stream<Item = Result<Event, Infallible>> {
    rx.mark_unchanged();
    let start = (board, rx, query, Some(first));
    stream::unfold(start, |(board, mut rx, query, pending)| async move {
        let data = match pending {
            Some(data) => data,
            None => {
                tokio::time::sleep(Duration::from_millis(STREAM_INTERVAL_MS)).await;
                rx.changed().await.ok()?;
                rx.mark_unchanged();
                query.render(&board)?
            }
        };
        let event = Event::default().event("update").data(data);
        Some((Ok(event), (board, rx, query, None)))
    })
}
