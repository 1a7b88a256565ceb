//! The HTTP ingest routes in process: statuses, per-record rejections, dead letters,
//! counters that reconcile, and back-pressure.

mod common;

use common::{NOW, catalog};

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use sellout_ingest::deadletter::{self, DeadLetter};
use sellout_ingest::http::{HttpIngestConfig, IngestService, router};
use sellout_ingest::ingestor::Ingestor;
use sellout_ingest::live_catalog::{CatalogChange, LiveCatalog};
use sellout_ingest::validate::{Limits, Validator};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{ManualClock, Transport};
use tower::ServiceExt as _;

struct Harness {
    _dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
    live: Arc<LiveCatalog>,
    service: Arc<IngestService>,
}

fn harness(config: HttpIngestConfig) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(NOW));
    let log = Arc::new(
        EmbeddedLog::open(dir.path(), LogConfig::default(), clock.clone()).expect("open log"),
    );
    let live = Arc::new(LiveCatalog::new(catalog()));
    let validator = Validator::new(live.clone(), Limits::default());
    let ingestor = Arc::new(Ingestor::new(log.clone(), validator, clock).expect("ingestor"));
    Harness {
        live,
        _dir: dir,
        log,
        service: IngestService::new(ingestor, config),
    }
}

fn sale(event: &str, quantity: i64) -> String {
    format!(
        r#"{{"kind":"cart_add","event_id":"{event}","category_id":"cat-1","session_id":"s-1","quantity":{quantity},"unit_price_minor":9500,"currency":"GBP","channel":"web","time":"2026-11-18T10:00:00Z"}}"#
    )
}

async fn post(
    h: &Harness,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let request = Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .expect("request");
    let response = router(h.service.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

#[tokio::test]
async fn json_lines_with_bad_records_are_split_and_reconcile() {
    let h = harness(HttpIngestConfig::default());
    let body = [
        sale("evt-1", 2),
        sale("evt-nope", 2),
        "{not json".to_owned(),
        sale("evt-1", 11),
    ]
    .join("\n");
    let (status, _, report) = post(&h, "/v1/records/sales", "application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            report["received"].as_u64(),
            report["accepted"].as_u64(),
            report["rejected"].as_u64()
        ),
        (Some(4), Some(1), Some(3))
    );
    let codes: Vec<_> = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (1, "unknown_event".to_owned()),
            (2, "malformed".to_owned()),
            (3, "out_of_range".to_owned())
        ]
    );

    assert_eq!(h.log.offsets("sales").unwrap().end, 1);
    let dead = h.log.read(deadletter::TOPIC, 0, 1 << 20).unwrap();
    let letters: Vec<DeadLetter> = dead
        .records()
        .map(|r| DeadLetter::decode(r.value).unwrap())
        .collect();
    assert_eq!(letters.len(), 3);
    assert_eq!(letters[1].original, b"{not json");
    assert_eq!(letters[0].original, sale("evt-nope", 2).as_bytes());
    assert!(
        letters[2].reason.contains("quantity"),
        "{}",
        letters[2].reason
    );

    let request = Request::get("/v1/ingest/counters")
        .body(Body::empty())
        .unwrap();
    let response = router(h.service.clone()).oneshot(request).await.unwrap();
    let counters: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(counters["topics"]["sales"]["received"], 4);
    assert_eq!(counters["topics"]["sales"]["accepted"], 1);
    assert_eq!(counters["rejected_by_reason"]["malformed"], 1);
}

#[tokio::test]
async fn a_resent_body_is_200_with_its_records_counted_as_duplicates() {
    let h = harness(HttpIngestConfig::default());
    let body = format!("[{},{}]", sale("evt-1", 2), sale("evt-1", 3));
    let (status, _, first) = post(&h, "/v1/records/sales", "application/json", body.clone()).await;
    assert_eq!(
        (status, first["accepted"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    // The sender never saw the answer (a crash, a reset) and sends it again.
    let (status, _, again) = post(&h, "/v1/records/sales", "application/json", body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the records are in the log: {again}"
    );
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(h.log.offsets("sales").expect("offsets").end, 2);
}

#[tokio::test]
async fn all_rejected_is_422_and_wrong_topic_is_named() {
    let h = harness(HttpIngestConfig::default());
    let (status, _, report) = post(
        &h,
        "/v1/records/sales",
        "application/json",
        sale("evt-x", 1),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rejections"][0]["code"], "unknown_event");

    let beacon = r#"{"specversion":"1.0","id":"1","source":"test","type":"sellout.beacon.v1","data":{"installation_id":"i-1","venue_id":"ven-1","zone_id":"food-1","beacon_id":"b-1","rssi":-60,"proximity":"near","time":"2026-11-18T10:00:00Z"}}"#;
    let (status, _, report) = post(
        &h,
        "/v1/records/sales",
        "application/cloudevents+json",
        beacon,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rejections"][0]["code"], "wrong_topic");
    let (status, _, report) = post(
        &h,
        "/v1/cloudevents",
        "application/cloudevents+json",
        beacon,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(h.log.offsets("beacons").unwrap().end, 1);
}

#[tokio::test]
async fn limits_and_content_types_give_their_statuses() {
    let h = harness(HttpIngestConfig {
        max_body_bytes: 1024,
        ..HttpIngestConfig::default()
    });
    let big = vec![b' '; 4096];
    let (status, _, _) = post(&h, "/v1/records/sales", "application/json", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, err) = post(&h, "/v1/records/sales", "text/csv", "a,b").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(err["error"].as_str().unwrap().contains("text/csv"));
    let (status, _, _) = post(&h, "/v1/records/tickets", "application/json", "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = post(&h, "/v1/cloudevents", "application/x-ndjson", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing of the refused requests reached the streams.
    assert_eq!(h.log.offsets("sales").unwrap().end, 0);
    assert_eq!(h.log.offsets(deadletter::TOPIC).unwrap().end, 0);
}

#[tokio::test]
async fn saturated_ingest_answers_429_with_retry_after_and_recovers() {
    let h = harness(HttpIngestConfig {
        max_in_flight: 2,
        retry_after_s: 3,
        ..HttpIngestConfig::default()
    });
    let held = h
        .service
        .slots()
        .clone()
        .acquire_many_owned(2)
        .await
        .unwrap();
    let (status, headers, _) = post(
        &h,
        "/v1/records/sales",
        "application/json",
        sale("evt-1", 1),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers.get("retry-after").unwrap(), "3");
    drop(held);
    let (status, _, _) = post(
        &h,
        "/v1/records/sales",
        "application/json",
        sale("evt-1", 1),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.log.offsets("sales").unwrap().end, 1);
}

#[tokio::test]
async fn an_event_added_to_the_live_catalog_is_accepted_without_a_restart() {
    let h = harness(HttpIngestConfig::default());
    let (status, _, report) = post(
        &h,
        "/v1/records/sales",
        "application/x-ndjson",
        sale("evt-2", 2),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rejections"][0]["code"], "unknown_event", "{report}");
    let mut event = catalog().events[0].clone();
    event.event_id = "evt-2".into();
    let change = CatalogChange::UpsertEvent(event);
    h.live
        .change(h.log.as_ref(), change, NOW)
        .expect("change applies");
    let (status, _, report) = post(
        &h,
        "/v1/records/sales",
        "application/x-ndjson",
        sale("evt-2", 2),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"], 1);
    // A second live catalog over the same log (another process) rebuilds the same.
    let other = LiveCatalog::new(catalog());
    assert_eq!(other.catch_up(h.log.as_ref()).expect("catch up"), 1);
    assert_eq!(*other.load(), *h.live.load());
}
