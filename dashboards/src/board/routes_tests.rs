use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use sellout_ingest::records::SaleKind;
use tower::ServiceExt as _;

use super::*;
use crate::feed::Feed;
use crate::fixtures::*;

fn fed_board(config: BoardConfig) -> (tempfile::TempDir, Arc<Board>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log(dir.path());
    let catalog = catalog();
    let board = Arc::new(Board::new(&catalog, config));
    write_sales(&*log, &[sale(SaleKind::Purchase, "cat-a", 3, T0)]);
    write_features(&*log, &[occupancy("z-gate", 5, T0)]);
    let mut feed = Feed::new(board.clone(), catalog);
    feed.poll(&*log).expect("poll");
    (dir, board)
}

async fn get(board: &Arc<Board>, uri: &str) -> (StatusCode, String, String) {
    let response = router(board.clone())
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let ty = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, ty, String::from_utf8_lossy(&body).into_owned())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("json")
}

#[tokio::test]
async fn json_apis_have_their_shapes() {
    let (_dir, board) = fed_board(BoardConfig::default());
    let (status, ty, body) = get(&board, "/board/api/board").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ty.starts_with("application/json"), "{ty}");
    let v = json(&body);
    assert_eq!(v["events"][0]["event_id"], "ev-1");
    assert_eq!(v["events"][0]["sold"], 3);
    for key in [
        "sold_pct",
        "p_14d",
        "p_by_start",
        "expected_ms",
        "trend",
        "categories",
        "booking",
    ] {
        assert!(v["events"][0].get(key).is_some(), "board row lacks {key}");
    }
    for key in ["abandonment_pct", "delivery_failure_pct", "deadletter_pct"] {
        assert!(v["kpis"].get(key).is_some(), "kpis lack {key}");
    }

    let v = json(&get(&board, "/board/api/events/ev-1").await.2);
    for key in [
        "event",
        "booking",
        "categories",
        "abandoned",
        "buzz",
        "signals",
    ] {
        assert!(v.get(key).is_some(), "event view lacks {key}");
    }
    assert_eq!(v["booking"]["sold"][0], 3.0);

    let v = json(&get(&board, "/board/api/venues/v-1").await.2);
    assert_eq!(v["zones"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["cells"][0][0], 5.0);
    assert_eq!(v["vouchers"]["redeemed"], 0);

    let v = json(&get(&board, "/board/api/alerts").await.2);
    assert!(v["alerts"].is_array());

    assert_eq!(
        get(&board, "/board/api/events/nope").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&board, "/board/api/venues/nope").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&board, "/board/api/stream?page=event&id=nope").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn pages_and_assets_are_served_from_the_binary() {
    let (_dir, board) = fed_board(BoardConfig::default());
    for page in [
        "/board",
        "/board/events/ev-1",
        "/board/venues/v-1",
        "/board/alerts",
    ] {
        let (status, ty, body) = get(&board, page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(ty.starts_with("text/html"), "{page}: {ty}");
        assert!(body.contains("/board/assets/board.js"));
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no CDN"
        );
    }
    let (status, ty, body) = get(&board, "/board/assets/uPlot.iife.min.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ty.starts_with("text/javascript"));
    assert!(body.contains("uPlot"));
    assert_eq!(
        get(&board, "/board/assets/nope.js").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_stream_starts_with_the_page_view() {
    let (_dir, board) = fed_board(BoardConfig::default());
    let response = router(board.clone())
        .oneshot(
            Request::get("/board/api/stream?page=venue&id=v-1")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let ty = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default();
    assert!(ty.starts_with("text/event-stream"), "{ty}");
    let mut body = response.into_body();
    let frame = body.frame().await.expect("frame").expect("ok");
    let text = String::from_utf8_lossy(frame.data_ref().expect("data")).into_owned();
    assert!(text.starts_with("event: update\ndata: {"), "{text}");
    assert!(text.contains("\"venue_id\":\"v-1\""));
}

#[tokio::test]
async fn a_key_can_be_required() {
    let config = BoardConfig {
        require_key: true,
        keys: vec!["k-123".into()],
    };
    let (_dir, board) = fed_board(config);
    assert_eq!(get(&board, "/board").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&board, "/board/api/board").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&board, "/board/api/board?key=wrong").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&board, "/board/api/board?key=k-123").await.0,
        StatusCode::OK
    );
    let response = router(board.clone())
        .oneshot(
            Request::get("/board/api/alerts")
                .header("x-board-key", "k-123")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    // Assets carry no data and stay open, so the login-less page shell can load.
    assert_eq!(
        get(&board, "/board/assets/board.js").await.0,
        StatusCode::OK
    );
}
