//! The installations HTTP API, end to end through `tower::ServiceExt::oneshot`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use sellout_ingest::erasure::{self, Erasures};
use sellout_notifier::api::{InstallationsState, router};
use sellout_notifier::{EmbeddedOptions, EmbeddedStore};
use sellout_streams::Transport;
use sellout_streams::clock::ManualClock;
use sellout_streams::log::{EmbeddedLog, LogConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

struct App {
    router: axum::Router,
    log: Arc<EmbeddedLog>,
    _dir: tempfile::TempDir,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("store"), EmbeddedOptions::default()).unwrap();
    let clock = Arc::new(ManualClock::new(1_795_478_400_000)); // 2026-11-24T00:00:00Z
    let log = Arc::new(
        EmbeddedLog::open(&dir.path().join("log"), LogConfig::default(), clock.clone()).unwrap(),
    );
    let state = InstallationsState {
        store: Arc::new(store),
        clock,
        erasures: log.clone(),
    };
    App {
        router: router(state),
        log,
        _dir: dir,
    }
}

async fn call(app: &App, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = Request::builder().method(method).uri(uri);
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, v)
}

fn body(id: &str, token: &str, tags: &[&str]) -> Value {
    json!({"installationId": id, "platform": "fcm", "pushChannel": token, "locale": "fr-CA", "tags": tags})
}

#[tokio::test]
async fn round_trip() {
    let app = app();
    let (s, v) = call(
        &app,
        Method::PUT,
        "/v1/installations/i1",
        Some(body("i1", "secret-token-1", &["sport:rugby", "cc:UK"])),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/installations/i2",
        Some(body("i2", "secret-token-2", &["sport:tennis", "cc:US"])),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut expired = body("i3", "secret-token-3", &["sport:rugby"]);
    expired["expirationTime"] = json!("2026-01-01T00:00:00Z");
    call(&app, Method::PUT, "/v1/installations/i3", Some(expired)).await;

    let (s, v) = call(&app, Method::GET, "/v1/installations/i1", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["pushChannel"], "secret-token-1");
    assert_eq!(v["tags"], json!(["sport:rugby", "cc:UK"]));

    let patch = json!([
        {"op": "add", "path": "/tags", "value": "fan:gold"},
        {"op": "remove", "path": "/tags/cc:UK"},
        {"op": "replace", "path": "/locale", "value": "en-GB"}
    ]);
    let (s, v) = call(&app, Method::PATCH, "/v1/installations/i1", Some(patch)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tags"], json!(["sport:rugby", "fan:gold"]));
    assert_eq!(v["locale"], "en-GB");

    // Who would get it: i1 (i3 matches but has expired).
    let (s, v) = call(
        &app,
        Method::GET,
        "/v1/installations?tag_expression=sport%3Arugby%20%7C%7C%20cc%3AUS&limit=5",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 2);
    let mut sample: Vec<String> = serde_json::from_value(v["sample"].clone()).unwrap();
    sample.sort();
    assert_eq!(sample, ["i1", "i2"]);
    assert!(!v.to_string().contains("secret-token"));
    let (_, v) = call(
        &app,
        Method::GET,
        "/v1/installations?tag_expression=!fan%3Agold",
        None,
    )
    .await;
    assert_eq!(v["count"], 1);
    let (_, v) = call(&app, Method::GET, "/v1/installations", None).await;
    assert_eq!(v["count"], 2);

    assert_eq!(app.log.offsets(erasure::TOPIC).unwrap().end, 0);
    let (s, _) = call(&app, Method::DELETE, "/v1/installations/i1", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(&app, Method::GET, "/v1/installations/i1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "installation not found");
    let (s, _) = call(&app, Method::DELETE, "/v1/installations/i1", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Each erase is recorded (by digest, with the clock's time); twice is one erasure.
    let erased = Erasures::load(app.log.as_ref()).unwrap();
    assert_eq!((erased.end(), erased.len()), (2, 1));
    assert!(erased.contains("i1") && !erased.contains("i2"));
    let fetched = app.log.read(erasure::TOPIC, 0, 1 << 20).unwrap();
    let first = fetched.records().next().unwrap();
    let record: erasure::ErasureRecord = serde_json::from_slice(first.value).unwrap();
    assert_eq!(record.time_ms, 1_795_478_400_000);
    assert_eq!(
        record.installation_digest,
        erasure::Digest::of("i1").to_hex()
    );
    let (s, _) = call(&app, Method::PATCH, "/v1/installations/i1", Some(json!([]))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn errors_are_json_and_name_the_field() {
    let app = app();
    let put = |b: Value| call(&app, Method::PUT, "/v1/installations/i1", Some(b));
    let mut b = body("i1", "tok", &["bad tag"]);
    let (s, v) = put(b.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "tags");
    b["tags"] = json!([]);
    b["platform"] = json!("apns");
    let (_, v) = put(b.clone()).await;
    assert_eq!(v["field"], "pushChannel");
    b["platform"] = json!("wns");
    let (s, v) = put(b.clone()).await;
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("platform"))
    );
    let (_, v) = put(json!({"installationId": "i1", "platform": "fcm", "pushChannel": "t"})).await;
    assert_eq!(v["field"], "locale");
    assert!(v["error"].as_str().unwrap().contains("missing field"));
    let mut b = body("i1", "tok", &[]);
    b["colour"] = json!("red");
    assert_eq!(put(b).await.1["field"], "colour");
    let mut b = body("i1", "tok", &[]);
    b["expirationTime"] = json!("next week");
    assert_eq!(put(b).await.1["field"], "expirationTime");
    let (s, v) = put(body("other", "tok", &[])).await;
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("installationId"))
    );
    let (s, v) = call(
        &app,
        Method::PUT,
        "/v1/installations/bad%20id",
        Some(body("bad id", "t", &[])),
    )
    .await;
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("installationId"))
    );

    let huge = body("i1", &"x".repeat(70 * 1024), &[]);
    let (s, v) = put(huge).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(v["error"].is_string());

    let (s, v) = call(
        &app,
        Method::GET,
        "/v1/installations?tag_expression=(a%20%7C%7C%20",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "tag_expression");
    assert_eq!(v["error"], "expected a tag or '(' at position 6");
    let (_, v) = call(&app, Method::GET, "/v1/installations?limit=5000", None).await;
    assert_eq!(v["field"], "limit");
    let (s, v) = call(&app, Method::GET, "/v1/installations?limit=x", None).await;
    assert_eq!(
        (s, v["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("query"))
    );
}

/// A transport whose appends fail (a full disk under the erasures topic).
struct Refusing;

impl sellout_streams::Transport for Refusing {
    fn append(
        &self,
        _: &str,
        _: &sellout_streams::Batch,
    ) -> Result<sellout_streams::AppendAck, sellout_streams::StreamError> {
        Err(sellout_streams::StreamError::Unavailable(
            "disk full".into(),
        ))
    }
    fn read(
        &self,
        _: &str,
        from: u64,
        _: usize,
    ) -> Result<sellout_streams::Fetched, sellout_streams::StreamError> {
        Ok(sellout_streams::Fetched {
            from,
            batches: Vec::new(),
        })
    }
    fn offsets(
        &self,
        _: &str,
    ) -> Result<sellout_streams::TopicOffsets, sellout_streams::StreamError> {
        Ok(sellout_streams::TopicOffsets::default())
    }
    fn commit(&self, _: &str, _: &str, _: u64) -> Result<(), sellout_streams::StreamError> {
        Ok(())
    }
    fn committed(&self, _: &str, _: &str) -> Result<Option<u64>, sellout_streams::StreamError> {
        Ok(None)
    }
    fn flush(&self) -> Result<(), sellout_streams::StreamError> {
        Ok(())
    }
    fn topics(&self) -> Result<Vec<String>, sellout_streams::StreamError> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn an_erase_that_cannot_be_recorded_is_a_503_and_a_retry_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap());
    let clock = Arc::new(ManualClock::new(1_795_478_400_000));
    let refusing = App {
        router: router(InstallationsState {
            store: store.clone(),
            clock: clock.clone(),
            erasures: Arc::new(Refusing),
        }),
        log: Arc::new(
            EmbeddedLog::open(&dir.path().join("log"), LogConfig::default(), clock.clone())
                .unwrap(),
        ),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (s, _) = call(
        &refusing,
        Method::PUT,
        "/v1/installations/i1",
        Some(body("i1", "tok", &[])),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(&refusing, Method::DELETE, "/v1/installations/i1", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(v["error"].as_str().unwrap().contains("retry"), "{v}");
    assert!(!v.to_string().contains("i1"), "{v}");
    // The client retries against a working log: 204, and the erasure is recorded.
    let working = App {
        router: router(InstallationsState {
            store,
            clock,
            erasures: refusing.log.clone(),
        }),
        log: refusing.log.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (s, _) = call(&working, Method::DELETE, "/v1/installations/i1", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(Erasures::load(working.log.as_ref()).unwrap().contains("i1"));
}
