//! The OpenAPI 3.1 document of the API, built by hand from one table of operations.
//!
//! Hand-built rather than generated (utoipa) to keep the dependency set small; the
//! tests check that the documented operations and [`crate::api::ROUTES`] are the same
//! set and that each of them is routed.

use serde_json::{Value, json};

/// One documented operation.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// `portal`, `admin`, or `None` for open routes.
    security: Option<&'static str>,
    request: Option<&'static str>,
    ok_status: &'static str,
    ok: Value,
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn ops() -> Vec<Op> {
    let obj = json!({ "type": "object" });
    let op = |method, path, summary, security, request, ok_status, ok| Op {
        method,
        path,
        summary,
        security,
        request,
        ok_status,
        ok,
    };
    vec![
        op(
            "get",
            "/v1/events/{event_id}/prices",
            "Prices of all categories of an event",
            Some("portal"),
            None,
            "200",
            schema("EventPrices"),
        ),
        op(
            "get",
            "/v1/events/{event_id}/prices/stream",
            "Server-sent events: a `snapshot` event, then one `price` event per change (`lagged` when a slow client skipped some)",
            Some("portal"),
            None,
            "200",
            json!({ "type": "string", "contentMediaType": "text/event-stream" }),
        ),
        op(
            "get",
            "/v1/events/{event_id}/categories/{category_id}/price",
            "Price of one category",
            Some("portal"),
            None,
            "200",
            obj.clone(),
        ),
        op(
            "get",
            "/v1/events/{event_id}/categories/{category_id}/history",
            "Latest price changes of a category, newest first (`?limit=`)",
            Some("portal"),
            None,
            "200",
            obj.clone(),
        ),
        op(
            "post",
            "/v1/quotes",
            "Quote a price for seats: signed, honoured until it expires",
            Some("portal"),
            Some("QuoteRequest"),
            "201",
            schema("Quote"),
        ),
        op(
            "post",
            "/v1/quotes/verify",
            "Verify a quote's signature and expiry (422 with `reason` when invalid)",
            Some("portal"),
            Some("Quote"),
            "200",
            obj.clone(),
        ),
        op(
            "get",
            "/v1/admin/catalog",
            "Events, categories, capacity, limits, published ranges, freeze and override",
            Some("admin"),
            None,
            "200",
            obj.clone(),
        ),
        op(
            "put",
            "/v1/admin/venues/{venue_id}",
            "Add or replace a venue and its zones (appended to the `catalog` topic)",
            Some("admin"),
            Some("Venue"),
            "200",
            schema("Venue"),
        ),
        op(
            "put",
            "/v1/admin/events/{event_id}",
            "Add or replace an event and its categories; once on sale, categories may be added but not removed",
            Some("admin"),
            Some("Event"),
            "200",
            schema("Event"),
        ),
        op(
            "put",
            "/v1/admin/events/{event_id}/categories/{category_id}/capacity",
            "Set the sellable capacity of a category",
            Some("admin"),
            Some("CapacityRequest"),
            "200",
            schema("Event"),
        ),
        op(
            "put",
            "/v1/admin/events/{event_id}/categories/{category_id}/limits",
            "Set floor, cap and published range (range only before the sale opens: 409 after)",
            Some("admin"),
            Some("LimitsRequest"),
            "200",
            schema("Decision"),
        ),
        op(
            "put",
            "/v1/admin/events/{event_id}/categories/{category_id}/freeze",
            "Freeze or unfreeze repricing of a category",
            Some("admin"),
            Some("FreezeRequest"),
            "200",
            schema("Decision"),
        ),
        op(
            "put",
            "/v1/admin/events/{event_id}/categories/{category_id}/override",
            "Set (`price_minor`) or clear (`null`) a manual price",
            Some("admin"),
            Some("OverrideRequest"),
            "200",
            schema("Decision"),
        ),
        op(
            "get",
            "/v1/admin/audit",
            "Audited decisions, newest first (`event_id`, `category_id`, `guardrail`, `limit`)",
            Some("admin"),
            None,
            "200",
            obj.clone(),
        ),
        op(
            "get",
            "/healthz",
            "Liveness",
            None,
            None,
            "200",
            obj.clone(),
        ),
        op(
            "get",
            "/readyz",
            "Readiness: the book has caught up with the price topics",
            None,
            None,
            "200",
            obj.clone(),
        ),
        op(
            "get",
            "/metrics",
            "Prometheus metrics (text format)",
            None,
            None,
            "200",
            json!({ "type": "string" }),
        ),
        op(
            "get",
            "/openapi.json",
            "This document",
            None,
            None,
            "200",
            obj,
        ),
    ]
}

/// The (method, path) pairs the document describes.
pub fn documented() -> Vec<(&'static str, &'static str)> {
    ops().iter().map(|o| (o.method, o.path)).collect()
}

fn operation(o: &Op) -> Value {
    let params: Vec<Value> = o
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    let error = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": schema("Error") } } });
    let mut responses = serde_json::Map::new();
    let media = if o.path == "/metrics" {
        "text/plain"
    } else if o.path.ends_with("/stream") {
        "text/event-stream"
    } else {
        "application/json"
    };
    responses.insert(
        o.ok_status.into(),
        json!({ "description": "Success", "content": { media: { "schema": o.ok } } }),
    );
    if o.request.is_some() {
        responses.insert("400".into(), error("The body is not valid JSON"));
        responses.insert("413".into(), error("The body exceeds the limit"));
        responses.insert("415".into(), error("The body is not `application/json`"));
    }
    if o.path.ends_with("/limits") {
        responses.insert(
            "409".into(),
            error("The published range can't change once the sale has opened"),
        );
    }
    if o.security.is_some() {
        responses.insert("401".into(), error("No key, or an unknown key"));
        responses.insert("403".into(), error("A key of the other kind"));
        responses.insert(
            "429".into(),
            error("Over this key's request rate: retry after `Retry-After` seconds"),
        );
        responses.insert("404".into(), error("Unknown event or category"));
        responses.insert("422".into(), error("A request the service can't accept"));
        responses.insert(
            "503".into(),
            error("Saturated or timed out: retry after `Retry-After` seconds"),
        );
    }
    let mut op = json!({
        "summary": o.summary,
        "operationId": format!("{}_{}", o.method, o.path.replace(['/', '{', '}', '.'], "_").trim_matches('_')),
        "parameters": params,
        "responses": responses,
    });
    match o.security {
        Some(kind) => op["security"] = json!([{ format!("{kind}Key"): [] }]),
        None => op["security"] = json!([]),
    }
    if let Some(req) = o.request {
        op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema(req) } } });
    }
    op
}

fn components() -> Value {
    let money = json!({ "type": "integer", "format": "int64", "description": "minor units" });
    let range = json!({ "type": ["object", "null"], "properties": { "min_minor": money, "max_minor": money }, "required": ["min_minor", "max_minor"] });
    json!({
        "securitySchemes": {
            "portalKey": { "type": "http", "scheme": "bearer", "description": "Portal API key (or X-Api-Key)" },
            "ingestKey": { "type": "http", "scheme": "bearer", "description": "Ingest API key (or X-Api-Key)" },
            "adminKey": { "type": "http", "scheme": "bearer", "description": "Admin API key (or X-Api-Key)" },
        },
        "schemas": {
            "Error": { "type": "object", "properties": { "error": { "type": "string" } }, "required": ["error"] },
            "EventPrices": { "type": "object", "properties": { "event_id": { "type": "string" }, "categories": { "type": "array", "items": { "type": "object" } } } },
            "QuoteRequest": { "type": "object", "properties": { "event_id": { "type": "string" }, "category_id": { "type": "string" }, "quantity": { "type": "integer", "minimum": 1 } }, "required": ["event_id", "category_id", "quantity"] },
            "Quote": { "type": "object", "properties": {
                "id": { "type": "string" }, "event_id": { "type": "string" }, "category_id": { "type": "string" },
                "quantity": { "type": "integer" }, "unit_price_minor": money, "total_minor": money,
                "currency": { "type": "string" }, "issued_at": { "type": "integer" }, "expires_at": { "type": "integer" },
                "key_id": { "type": "string" }, "signature": { "type": "string", "description": "HMAC-SHA256, hex" } },
                "required": ["id", "event_id", "category_id", "quantity", "unit_price_minor", "total_minor", "currency", "issued_at", "expires_at", "key_id", "signature"] },
            "LimitsRequest": { "type": "object", "properties": { "floor_minor": money, "cap_minor": money, "published_range": range }, "required": ["floor_minor", "cap_minor"] },
            "CapacityRequest": { "type": "object", "properties": { "capacity": { "type": "integer", "minimum": 0 } }, "required": ["capacity"] },
            "Venue": { "type": "object", "description": "As in the catalog file: venue_id, name, kind (stadium|arena|club), city, country, zones [{zone_id, name, kind, capacity, beacons, ...}]", "required": ["venue_id", "name", "kind", "city", "country", "zones"] },
            "Event": { "type": "object", "description": "As in the catalog file: event_id, name, venue_id, on_sale and start (RFC 3339), tags, categories [{category_id, name, capacity, list_price_minor, floor_minor, cap_minor, currency}]", "required": ["event_id", "name", "venue_id", "on_sale", "start", "categories"] },
            "FreezeRequest": { "type": "object", "properties": { "frozen": { "type": "boolean" } }, "required": ["frozen"] },
            "OverrideRequest": { "type": "object", "properties": { "price_minor": { "type": ["integer", "null"] } }, "required": ["price_minor"] },
            "Decision": { "type": "object", "properties": {
                "outcome": { "enum": ["changed", "no_change"] }, "guardrail": { "type": ["string", "null"] },
                "proposed_minor": money, "reason": { "type": "string", "description": "why no change" }, "proposal_reason": { "type": "string" }, "model_version": { "type": "string" }, "time": { "type": "integer" } } },
        },
    })
}

/// Adds `fragment`'s paths, schemas and security schemes to `doc` (other components
/// served beside this API describe their routes this way).
pub fn merge(doc: &mut Value, fragment: &Value) {
    for (section, keys) in [
        ("paths", &fragment["paths"]),
        ("schemas", &fragment["components"]["schemas"]),
        (
            "securitySchemes",
            &fragment["components"]["securitySchemes"],
        ),
    ] {
        let Some(keys) = keys.as_object() else {
            continue;
        };
        let target = match section {
            "paths" => &mut doc["paths"],
            s => &mut doc["components"][s],
        };
        if !target.is_object() {
            *target = json!({});
        }
        if let Some(target) = target.as_object_mut() {
            for (k, v) in keys {
                match (target.get_mut(k), v.as_object()) {
                    // Two fragments may document different methods of one path.
                    (Some(Value::Object(existing)), Some(more)) => {
                        existing.extend(more.iter().map(|(m, o)| (m.clone(), o.clone())));
                    }
                    _ => {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    document_rate_limits(doc);
}

/// Every keyed operation of `doc` documents the per-key rate limit's 429 (fragments
/// merged from other components included).
fn document_rate_limits(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for op in ops.values_mut() {
            let keyed = op["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
            });
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            if keyed && !responses.contains_key("429") {
                let mut answer = json!({
                    "description": "Over this key's request rate: retry after `Retry-After` seconds"
                });
                if let Some(content) = responses.get("401").and_then(|r| r.get("content")) {
                    answer["content"] = content.clone();
                }
                responses.insert("429".into(), answer);
            }
        }
    }
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for o in ops() {
        let item = paths.entry(o.path).or_insert_with(|| json!({}));
        item[o.method] = operation(&o);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sellout pricing",
            "version": "1",
            "description": "Live prices, signed quotes and price administration for the sales portal.",
        },
        "paths": paths,
        "components": components(),
    })
}
