//! Catalog edits at run time: admin routes append to the `catalog` topic, and the
//! writing replica, a second replica and any component sharing a live catalog take
//! them in; edits that would break what fans were shown are refused.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::{ADMIN, PORTAL, T0, config, harness, harness_with};
use sellout_ingest::live_catalog::{CATALOG_TOPIC, LiveCatalog};
use sellout_pricing::memory::MemoryTransport;
use sellout_streams::Transport as _;
use serde_json::json;

fn new_event(id: &str) -> serde_json::Value {
    let mut e = serde_json::to_value(&common::catalog().events[0]).expect("event");
    e["event_id"] = json!(id);
    e["name"] = json!("Added at run time");
    e
}

#[tokio::test]
async fn an_event_added_by_an_admin_is_priced_and_quotable_on_every_replica() {
    let transport = Arc::new(MemoryTransport::new());
    let a = harness_with(config(), transport.clone());
    let b = harness_with(config(), transport.clone());
    let (status, _, body) = a
        .call(
            Method::PUT,
            "/v1/admin/events/e9",
            Some(ADMIN),
            Some(new_event("e9")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["event_id"], "e9");
    // The writer sees it at once, at the list prices.
    let (status, _, prices) = a
        .call(Method::GET, "/v1/events/e9/prices", Some(PORTAL), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(prices["categories"][0]["price_minor"], 10_000);
    // The other replica learns it from the topic, not from a restart.
    let (status, _, _) = b
        .call(Method::GET, "/v1/events/e9/prices", Some(PORTAL), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    b.service.catch_up().expect("catch up");
    let (status, _, prices_b) = b
        .call(Method::GET, "/v1/events/e9/prices", Some(PORTAL), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(prices_b, prices);
    let quote = json!({ "event_id": "e9", "category_id": "c2", "quantity": 2 });
    let (status, _, q) = b
        .call(Method::POST, "/v1/quotes", Some(PORTAL), Some(quote))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{q}");
    assert_eq!(q["unit_price_minor"], 5_000);
    // The edit is audited.
    let (_, _, audit) = a
        .call(
            Method::GET,
            "/v1/admin/audit?event_id=e9",
            Some(ADMIN),
            None,
        )
        .await;
    let entries = audit["entries"].as_array().expect("entries");
    assert!(entries.iter().any(|e| e["action"] == "catalog"), "{audit}");
}

#[tokio::test]
async fn a_shared_live_catalog_follows_the_topic() {
    // What ingest validation and the pipelines hold in `sellout serve`.
    let transport = Arc::new(MemoryTransport::new());
    let live = Arc::new(LiveCatalog::new(common::catalog()));
    let clock = Arc::new(sellout_streams::ManualClock::new(common::BEFORE_SALE));
    let service =
        sellout_pricing::PricingService::new(config(), live.clone(), transport.clone(), clock)
            .expect("service");
    let other = harness_with(config(), transport.clone());
    let version = live.version();
    let (status, _, _) = other
        .call(
            Method::PUT,
            "/v1/admin/events/e7",
            Some(ADMIN),
            Some(new_event("e7")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(live.load().event("e7").is_none());
    service.catch_up().expect("catch up");
    assert!(live.load().event("e7").is_some());
    assert!(live.version() > version);
    assert_eq!(transport.offsets(CATALOG_TOPIC).expect("offsets").end, 1);
}

#[tokio::test]
async fn capacity_changes_reach_the_book() {
    let h = harness();
    let (status, _, event) = h
        .call(
            Method::PUT,
            "/v1/admin/events/e1/categories/c2/capacity",
            Some(ADMIN),
            Some(json!({ "capacity": 750 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{event}");
    assert_eq!(event["categories"][1]["capacity"], 750);
    let (_, _, c) = h
        .call(
            Method::GET,
            "/v1/events/e1/categories/c2/price",
            Some(PORTAL),
            None,
        )
        .await;
    assert_eq!(c["category"]["capacity"], 750, "{c}");
    let (status, _, body) = h
        .call(
            Method::PUT,
            "/v1/admin/events/e1/categories/nope/capacity",
            Some(ADMIN),
            Some(json!({ "capacity": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("unknown category nope"),
        "{body}"
    );
}

#[tokio::test]
async fn edits_that_would_break_an_open_sale_or_the_catalog_are_refused() {
    let h = harness();
    h.clock.set(T0 + 1);
    // Removing a category of an event on sale.
    let mut fewer = serde_json::to_value(&common::catalog().events[0]).expect("event");
    fewer["categories"]
        .as_array_mut()
        .expect("categories")
        .pop();
    let (status, _, body) = h
        .call(Method::PUT, "/v1/admin/events/e1", Some(ADMIN), Some(fewer))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("can't be removed"),
        "{body}"
    );
    // A list price below its floor.
    let mut bad = new_event("e8");
    bad["categories"][0]["list_price_minor"] = json!(1);
    let (status, _, body) = h
        .call(Method::PUT, "/v1/admin/events/e8", Some(ADMIN), Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"].as_str().unwrap_or("").contains("floor"),
        "{body}"
    );
    // An unknown venue, and ids that disagree.
    let mut nowhere = new_event("e8");
    nowhere["venue_id"] = json!("atlantis");
    let (status, _, _) = h
        .call(
            Method::PUT,
            "/v1/admin/events/e8",
            Some(ADMIN),
            Some(nowhere),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, body) = h
        .call(
            Method::PUT,
            "/v1/admin/events/e5",
            Some(ADMIN),
            Some(new_event("e6")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"].as_str().unwrap_or("").contains("differs"),
        "{body}"
    );
    // Nothing refused reached the topic; adding a category while on sale is fine.
    assert_eq!(
        h.transport
            .offsets(CATALOG_TOPIC)
            .map(|o| o.end)
            .unwrap_or(0),
        0
    );
    let mut more = serde_json::to_value(&common::catalog().events[0]).expect("event");
    let mut extra = more["categories"][1].clone();
    extra["category_id"] = json!("c3");
    more["categories"]
        .as_array_mut()
        .expect("categories")
        .push(extra);
    let (status, _, body) = h
        .call(Method::PUT, "/v1/admin/events/e1", Some(ADMIN), Some(more))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, prices) = h
        .call(Method::GET, "/v1/events/e1/prices", Some(PORTAL), None)
        .await;
    assert_eq!(prices["categories"].as_array().map(Vec::len), Some(3));
}
