//! Shared fixtures: a small catalog, keys, a service on an in-memory transport and a
//! manual clock, and a one-shot request helper.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use sellout_ingest::catalog::{Catalog, Category, Event, Venue, VenueKind};
use sellout_pricing::auth::{KeyHash, KeyKind, hash_key};
use sellout_pricing::config::PricingConfig;
use sellout_pricing::memory::MemoryTransport;
use sellout_pricing::quotes::QuoteKey;
use sellout_pricing::service::PricingService;
use sellout_streams::{ManualClock, Transport};
use tower::ServiceExt;

pub const PORTAL: &str = "portal-test-key";
pub const ADMIN: &str = "admin-test-key";
/// Sale opens at T0; tests start an hour earlier.
pub const T0: i64 = 1_800_000_000_000;
pub const BEFORE_SALE: i64 = T0 - 3_600_000;

pub fn catalog() -> Catalog {
    let category = |id: &str, list: i64| Category {
        category_id: id.into(),
        name: format!("Category {id}"),
        capacity: 1_000,
        list_price_minor: list,
        floor_minor: list / 2,
        cap_minor: list * 3,
        currency: "GBP".into(),
    };
    let event = |id: &str| Event {
        event_id: id.into(),
        name: format!("Event {id}"),
        venue_id: "v1".into(),
        on_sale: T0,
        start: T0 + 30 * 86_400_000,
        tags: vec![],
        categories: vec![category("c1", 10_000), category("c2", 5_000)],
    };
    let venue = Venue {
        venue_id: "v1".into(),
        name: "Stadium".into(),
        kind: VenueKind::Stadium,
        city: "London".into(),
        country: "GB".into(),
        zones: vec![],
    };
    Catalog::new(vec![venue], vec![event("e1"), event("e2")]).expect("valid catalog")
}

pub fn quote_key(id: &str, byte: u8) -> QuoteKey {
    QuoteKey {
        id: id.into(),
        secret_hex: sellout_pricing::auth::to_hex(&[byte; 32]),
    }
}

pub fn config() -> PricingConfig {
    PricingConfig {
        api_keys: vec![
            KeyHash {
                kind: KeyKind::Portal,
                sha256: hash_key(PORTAL),
            },
            KeyHash {
                kind: KeyKind::Admin,
                sha256: hash_key(ADMIN),
            },
        ],
        active_quote_key: "k1".into(),
        quote_keys: vec![quote_key("k1", 7)],
        ..PricingConfig::default()
    }
}

pub struct Harness {
    pub service: Arc<PricingService>,
    pub clock: Arc<ManualClock>,
    pub transport: Arc<dyn Transport>,
}

pub fn harness_with(config: PricingConfig, transport: Arc<dyn Transport>) -> Harness {
    let clock = Arc::new(ManualClock::new(BEFORE_SALE));
    let service = PricingService::new(config, catalog(), transport.clone(), clock.clone())
        .expect("service builds");
    service.catch_up().expect("catches up");
    Harness {
        service,
        clock,
        transport,
    }
}

pub fn harness() -> Harness {
    harness_with(config(), Arc::new(MemoryTransport::new()))
}

impl Harness {
    pub fn router(&self) -> axum::Router {
        sellout_pricing::api::router(self.service.clone())
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, HeaderMap, serde_json::Value) {
        call(self.router(), method, path, key, body).await
    }
}

pub async fn call(
    router: axum::Router,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .oneshot(req.body(body).expect("request"))
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
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, json)
}
