//! The HTTP API: the auth matrix, shedding, limits, OpenAPI against the routes, quotes.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{ADMIN, PORTAL, harness};
use sellout_pricing::api::ROUTES;
use serde_json::json;

fn concrete(path: &str) -> String {
    path.replace("{event_id}", "e1")
        .replace("{category_id}", "c1")
        .replace("{venue_id}", "v1")
}

fn body_for(method: &str, path: &str) -> Option<serde_json::Value> {
    match (method, path) {
        ("post", "/v1/quotes") => {
            Some(json!({ "event_id": "e1", "category_id": "c1", "quantity": 2 }))
        }
        (_, p) if p.ends_with("/limits") => {
            Some(json!({ "floor_minor": 5_000, "cap_minor": 30_000, "published_range": null }))
        }
        (_, p) if p.ends_with("/freeze") => Some(json!({ "frozen": false })),
        (_, p) if p.ends_with("/capacity") => Some(json!({ "capacity": 900 })),
        (_, "/v1/admin/venues/{venue_id}") => {
            Some(serde_json::to_value(&common::catalog().venues[0]).expect("venue"))
        }
        (_, "/v1/admin/events/{event_id}") => {
            Some(serde_json::to_value(&common::catalog().events[0]).expect("event"))
        }
        (_, p) if p.ends_with("/override") => Some(json!({ "price_minor": null })),
        _ => None,
    }
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.to_uppercase().as_bytes()).expect("method")
}

#[tokio::test]
async fn auth_matrix_every_route_by_key_kind() {
    let h = harness();
    // A real quote for the verify route.
    let (_, _, quote) = h
        .call(
            Method::POST,
            "/v1/quotes",
            Some(PORTAL),
            body_for("post", "/v1/quotes"),
        )
        .await;
    for (m, path) in ROUTES {
        let needed = if path.starts_with("/v1/admin") {
            Some(ADMIN)
        } else if path.starts_with("/v1/") {
            Some(PORTAL)
        } else {
            None
        };
        let body = if *path == "/v1/quotes/verify" {
            Some(quote.clone())
        } else {
            body_for(m, path)
        };
        for key in [None, Some(PORTAL), Some(ADMIN), Some("not-a-key")] {
            let url = concrete(path);
            let status = if path.ends_with("/stream") && key == needed {
                // The stream never ends; check its head only.
                let router = h.router();
                let req = axum::http::Request::builder()
                    .uri(&url)
                    .header("authorization", format!("Bearer {PORTAL}"))
                    .body(axum::body::Body::empty())
                    .expect("request");
                tower::ServiceExt::oneshot(router, req)
                    .await
                    .expect("response")
                    .status()
            } else {
                h.call(method(m), &url, key, body.clone()).await.0
            };
            let expected = match (needed, key) {
                (None, _) => StatusCode::OK,
                (Some(_), None) | (Some(_), Some("not-a-key")) => StatusCode::UNAUTHORIZED,
                (Some(n), Some(k)) if n == k => {
                    if *path == "/v1/quotes" {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    }
                }
                (Some(_), Some(_)) => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, expected, "{m} {path} with {key:?}");
        }
    }
    let (_, headers, body) = h
        .call(Method::GET, "/v1/events/e1/prices", None, None)
        .await;
    assert_eq!(headers["www-authenticate"], "Bearer");
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn a_saturated_service_sheds_with_503_and_retry_after() {
    let h = harness();
    let slots = h.service.slots().clone();
    let held = slots
        .clone()
        .try_acquire_many_owned(h.service.config().max_in_flight as u32)
        .expect("all slots");
    let (status, headers, body) = h
        .call(Method::GET, "/v1/events/e1/prices", Some(PORTAL), None)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert!(body["error"].as_str().unwrap_or("").contains("saturated"));
    // Health and metrics still answer under saturation.
    assert_eq!(
        h.call(Method::GET, "/healthz", None, None).await.0,
        StatusCode::OK
    );
    let (_, _, metrics) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(
        metrics
            .as_str()
            .unwrap_or("")
            .contains("pricing_requests_shed_total 1")
    );
    drop(held);
    let (status, _, _) = h
        .call(Method::GET, "/v1/events/e1/prices", Some(PORTAL), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes() {
    let h = harness();
    let (status, _, doc) = h.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in item.as_object().expect("path item").keys() {
            documented.insert((m.clone(), path.clone()));
        }
    }
    let routed: BTreeSet<_> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routed);
    // Every route answers something other than the fallback's 404 or a 405.
    for (m, path) in ROUTES {
        if path.ends_with("/stream") {
            continue;
        }
        let key = if path.starts_with("/v1/admin") {
            ADMIN
        } else {
            PORTAL
        };
        let (status, _, body) = h
            .call(method(m), &concrete(path), Some(key), body_for(m, path))
            .await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        assert_ne!(body["error"], "no such route", "{m} {path}");
    }
    let (status, _, body) = h.call(Method::GET, "/v1/nothing", Some(PORTAL), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("no such route"))
    );
}

#[tokio::test]
async fn bodies_over_the_limit_and_bad_json_are_clear_errors() {
    let h = harness();
    let big = json!({ "event_id": "x".repeat(70 * 1024), "category_id": "c1", "quantity": 1 });
    let (status, _, _) = h
        .call(Method::POST, "/v1/quotes", Some(PORTAL), Some(big))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let bad = json!({ "event_id": "e1", "category_id": "c1", "quantity": "two" });
    let (status, _, body) = h
        .call(Method::POST, "/v1/quotes", Some(PORTAL), Some(bad))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("invalid request body")
    );
    let zero = json!({ "event_id": "e1", "category_id": "c1", "quantity": 0 });
    assert_eq!(
        h.call(Method::POST, "/v1/quotes", Some(PORTAL), Some(zero))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown = json!({ "event_id": "e9", "category_id": "c1", "quantity": 1 });
    assert_eq!(
        h.call(Method::POST, "/v1/quotes", Some(PORTAL), Some(unknown))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn quotes_verify_then_fail_when_tampered_or_expired() {
    let h = harness();
    let req = json!({ "event_id": "e1", "category_id": "c1", "quantity": 3 });
    let (status, _, quote) = h
        .call(Method::POST, "/v1/quotes", Some(PORTAL), Some(req))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(quote["unit_price_minor"], 10_000);
    assert_eq!(quote["total_minor"], 30_000);
    assert_eq!(quote["expires_at"], common::BEFORE_SALE + 600_000);
    let (status, _, ok) = h
        .call(
            Method::POST,
            "/v1/quotes/verify",
            Some(PORTAL),
            Some(quote.clone()),
        )
        .await;
    assert_eq!((status, &ok["valid"]), (StatusCode::OK, &json!(true)));

    let mut tampered = quote.clone();
    tampered["unit_price_minor"] = json!(1);
    let (status, _, err) = h
        .call(
            Method::POST,
            "/v1/quotes/verify",
            Some(PORTAL),
            Some(tampered),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["valid"].clone(), err["reason"].clone()),
        (json!(false), json!("bad_signature"))
    );

    h.clock.advance(600_000);
    let (status, _, err) = h
        .call(Method::POST, "/v1/quotes/verify", Some(PORTAL), Some(quote))
        .await;
    assert_eq!(
        (status, err["reason"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("expired"))
    );
}

#[tokio::test]
async fn readiness_and_metrics() {
    let h = harness();
    assert_eq!(
        h.call(Method::GET, "/readyz", None, None).await.0,
        StatusCode::OK
    );
    h.call(Method::GET, "/v1/events/e1/prices", Some(PORTAL), None)
        .await;
    let (_, headers, metrics) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    let text = metrics.as_str().unwrap_or("");
    assert!(
        text.contains("route=\"/v1/events/{event_id}/prices\",status=\"2xx\"} 1"),
        "{text}"
    );
}

/// A transport whose appends block until released: a stuck disk.
struct StuckTransport {
    inner: sellout_pricing::memory::MemoryTransport,
    release: std::sync::Mutex<bool>,
    wake: std::sync::Condvar,
}

impl sellout_streams::Transport for StuckTransport {
    fn append(
        &self,
        topic: &str,
        batch: &sellout_streams::Batch,
    ) -> Result<sellout_streams::AppendAck, sellout_streams::StreamError> {
        let mut released = self.release.lock().expect("lock");
        while !*released {
            released = self.wake.wait(released).expect("wait");
        }
        self.inner.append(topic, batch)
    }
    fn read(
        &self,
        topic: &str,
        from: u64,
        max_bytes: usize,
    ) -> Result<sellout_streams::Fetched, sellout_streams::StreamError> {
        self.inner.read(topic, from, max_bytes)
    }
    fn offsets(
        &self,
        topic: &str,
    ) -> Result<sellout_streams::TopicOffsets, sellout_streams::StreamError> {
        self.inner.offsets(topic)
    }
    fn commit(
        &self,
        topic: &str,
        consumer: &str,
        offset: u64,
    ) -> Result<(), sellout_streams::StreamError> {
        self.inner.commit(topic, consumer, offset)
    }
    fn committed(
        &self,
        topic: &str,
        consumer: &str,
    ) -> Result<Option<u64>, sellout_streams::StreamError> {
        self.inner.committed(topic, consumer)
    }
    fn flush(&self) -> Result<(), sellout_streams::StreamError> {
        Ok(())
    }
    fn topics(&self) -> Result<Vec<String>, sellout_streams::StreamError> {
        self.inner.topics()
    }
}

#[tokio::test]
async fn a_request_past_its_time_limit_is_answered_503() {
    let stuck = std::sync::Arc::new(StuckTransport {
        inner: sellout_pricing::memory::MemoryTransport::new(),
        release: std::sync::Mutex::new(false),
        wake: std::sync::Condvar::new(),
    });
    let config = sellout_pricing::PricingConfig {
        request_timeout_ms: 50,
        ..common::config()
    };
    let h = common::harness_with(config, stuck.clone());
    let body = json!({ "frozen": true });
    let (status, headers, err) = h
        .call(
            Method::PUT,
            "/v1/admin/events/e1/categories/c1/freeze",
            Some(ADMIN),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(err["error"], "request timed out");
    *stuck.release.lock().expect("lock") = true;
    stuck.wake.notify_all();
}

#[tokio::test]
async fn the_key_may_come_as_x_api_key() {
    let h = harness();
    for (key, expected) in [
        (PORTAL, StatusCode::OK),
        (ADMIN, StatusCode::FORBIDDEN),
        ("nope", StatusCode::UNAUTHORIZED),
    ] {
        let req = axum::http::Request::builder()
            .uri("/v1/events/e1/prices")
            .header("x-api-key", key)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = tower::ServiceExt::oneshot(h.router(), req)
            .await
            .expect("response");
        assert_eq!(response.status(), expected, "{key}");
    }
}

#[tokio::test]
async fn each_key_has_its_own_rate_limit_answered_429_with_retry_after() {
    use sellout_pricing::auth::{KeyHash, KeyKind, hash_key};
    use sellout_pricing::rate::{RateLimit, RateLimits};
    const OTHER: &str = "portal-key-of-another-partner";
    let mut config = common::config();
    config.api_keys.push(KeyHash {
        kind: KeyKind::Portal,
        sha256: hash_key(OTHER),
    });
    config.rate_limits = RateLimits {
        portal: Some(RateLimit {
            per_second: 2.0,
            burst: 3.0,
        }),
        ..RateLimits::default()
    };
    let h = common::harness_with(
        config,
        std::sync::Arc::new(sellout_pricing::memory::MemoryTransport::new()),
    );
    let path = concrete("/v1/events/{event_id}/prices");
    let get = |key: &'static str| {
        let path = path.clone();
        let h = &h;
        async move { h.call(Method::GET, &path, Some(key), None).await }
    };
    for _ in 0..3 {
        assert_eq!(get(PORTAL).await.0, StatusCode::OK);
    }
    let (status, headers, body) = get(PORTAL).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or("")
            .contains("2 requests per second"),
        "{body}"
    );
    // The other partner's key is not slowed by the first one.
    assert_eq!(get(OTHER).await.0, StatusCode::OK);
    // Admin keys keep their own (default) budget.
    assert_eq!(
        h.call(Method::GET, "/v1/admin/catalog", Some(ADMIN), None)
            .await
            .0,
        StatusCode::OK
    );
    // Half a second later one request is back.
    h.clock.set(common::BEFORE_SALE + 500);
    assert_eq!(get(PORTAL).await.0, StatusCode::OK);
    assert_eq!(get(PORTAL).await.0, StatusCode::TOO_MANY_REQUESTS);
    // The document lists the 429 for keyed routes.
    let (_, _, doc) = h.call(Method::GET, "/openapi.json", None, None).await;
    assert!(doc["paths"]["/v1/events/{event_id}/prices"]["get"]["responses"]["429"].is_object());
}
