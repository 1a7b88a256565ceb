//! The `/v1/campaigns` routes, called in-process with `oneshot`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sellout_notifier::campaign::CampaignsFile;
use sellout_notifier::voucher::VoucherKeys;
use sellout_notifier::{
    Engine, EngineConfig, Platform, Recipient, SharedEngine, Trigger, TriggerKind, campaigns_router,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const EXAMPLE: &str = include_str!("../campaigns.example.toml");
const T0: i64 = 1_764_000_000_000;

fn shared() -> SharedEngine {
    let keys = VoucherKeys::new(1, &[5u8; 32]).unwrap_or_else(|e| panic!("{e}"));
    let campaigns = CampaignsFile::parse_toml(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(Mutex::new(Engine::new(
        campaigns,
        keys,
        EngineConfig::default(),
    )))
}

async fn call(
    engine: &SharedEngine,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = campaigns_router(engine.clone())
        .oneshot(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    (status, value)
}

fn drinks() -> Value {
    json!({
        "id": "drinks-happy-hour",
        "trigger": { "kind": "queue_short", "zone": "bar-south", "at_most": 4 },
        "offer": { "kind": "drink", "percent": 15 },
        "default_locale": "en",
        "templates": { "en": { "title": "$(offer.percent)% off drinks", "body": "Code $(voucher.code)" } }
    })
}

#[tokio::test]
async fn get_put_delete_and_list() {
    let engine = shared();
    let (status, body) = call(&engine, "GET", "/v1/campaigns/food-short-queue", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["offer"]["percent"], 20);
    assert_eq!(body["validity_minutes"], 5);
    assert_eq!(
        call(&engine, "GET", "/v1/campaigns/nope", None).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, body) = call(
        &engine,
        "PUT",
        "/v1/campaigns/drinks-happy-hour",
        Some(drinks()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["validity_minutes"], 5,
        "the default validity is filled in"
    );
    let mut changed = drinks();
    changed["offer"]["percent"] = json!(25);
    let (status, _) = call(
        &engine,
        "PUT",
        "/v1/campaigns/drinks-happy-hour",
        Some(changed),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = call(&engine, "GET", "/v1/campaigns/drinks-happy-hour", None).await;
    assert_eq!(body["offer"]["percent"], 25);
    let (_, list) = call(&engine, "GET", "/v1/campaigns", None).await;
    assert_eq!(list["campaigns"].as_array().map(Vec::len), Some(5));

    assert_eq!(
        call(&engine, "DELETE", "/v1/campaigns/drinks-happy-hour", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&engine, "DELETE", "/v1/campaigns/drinks-happy-hour", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&engine, "GET", "/v1/campaigns/drinks-happy-hour", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn put_refuses_bad_campaigns_with_clear_errors() {
    let engine = shared();
    let mut typo = drinks();
    typo["validty_minutes"] = json!(5);
    let (status, body) = call(
        &engine,
        "PUT",
        "/v1/campaigns/drinks-happy-hour",
        Some(typo),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("validty_minutes")),
        "{body}"
    );

    let mut unknown = drinks();
    unknown["templates"]["en"]["body"] = json!("Code $(voucher.cod)");
    let (status, body) = call(
        &engine,
        "PUT",
        "/v1/campaigns/drinks-happy-hour",
        Some(unknown),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("voucher.cod") && e.contains("en.body")),
        "{body}"
    );

    let (status, _) = call(&engine, "PUT", "/v1/campaigns/other-id", Some(drinks())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        call(&engine, "GET", "/v1/campaigns/drinks-happy-hour", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn stats_follow_the_engine() {
    let engine = shared();
    let people: Vec<Recipient> = ["a", "b", "c"]
        .iter()
        .map(|id| Recipient {
            installation_id: (*id).to_owned(),
            platform: Platform::Fcm,
            locale: "fr".into(),
            customer_id: None,
            properties: BTreeMap::new(),
        })
        .collect();
    let trigger = Trigger {
        id: 1,
        kind: TriggerKind::QueueShort,
        time_ms: T0,
        event_id: None,
        venue_id: Some("stade-de-france".into()),
        zone_id: Some("food-court-north".into()),
        category_id: None,
        value: 1.0,
        customer_id: None,
        properties: BTreeMap::new(),
    };
    {
        let mut e = engine.lock().unwrap_or_else(|p| p.into_inner());
        let plan = e.plan(&trigger, &people, T0);
        let delivered = plan.notifications[0].record.with_outcome(
            sellout_notifier::Outcome::Delivered,
            None,
            1,
            T0 + 10,
        );
        e.record_outcome(&delivered);
        e.plan(&trigger, &people, T0 + 20);
    }
    let (status, body) = call(&engine, "GET", "/v1/campaigns/food-short-queue/stats", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["targeted"], 3);
    assert_eq!(body["planned"], 3);
    assert_eq!(body["delivered"], 1);
    assert_eq!(body["pending"], 2);
    assert_eq!(body["suppressed_dedup"], 3);
    assert_eq!(body["reconciles"], true);
    let (status, body) = call(&engine, "GET", "/v1/campaigns/merch-nearby/stats", None).await;
    assert_eq!(
        (status, body["targeted"].clone()),
        (StatusCode::OK, json!(0))
    );
    assert_eq!(
        call(&engine, "GET", "/v1/campaigns/nope/stats", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
