//! The OpenAPI description of the notifier's routes (installations, campaigns,
//! redemptions), as a fragment the binary merges into its `/openapi.json`.

use serde_json::{Value, json};

/// Every notifier route as (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/installations"),
    ("put", "/v1/installations/{id}"),
    ("patch", "/v1/installations/{id}"),
    ("get", "/v1/installations/{id}"),
    ("delete", "/v1/installations/{id}"),
    ("get", "/v1/campaigns"),
    ("get", "/v1/campaigns/{id}"),
    ("put", "/v1/campaigns/{id}"),
    ("delete", "/v1/campaigns/{id}"),
    ("get", "/v1/campaigns/{id}/stats"),
    ("post", "/v1/redemptions"),
];

fn summary(method: &str, path: &str) -> (&'static str, &'static str) {
    match (method, path) {
        ("get", "/v1/installations") => (
            "Count and sample the installations a tag expression selects (`tag_expression`, `limit`); never returns push tokens",
            "ingestKey",
        ),
        ("put", _) if path.starts_with("/v1/installations") => (
            "Create or replace an installation (platform, pushChannel, locale, tags ≤ 60, customerId, expirationTime)",
            "ingestKey",
        ),
        ("patch", _) => (
            "JSON Patch subset: add/remove tags, replace pushChannel, locale, customerId, expirationTime",
            "ingestKey",
        ),
        ("get", "/v1/installations/{id}") => (
            "One installation, push token included (its owner asking)",
            "ingestKey",
        ),
        ("delete", "/v1/installations/{id}") => (
            "Erase an installation everywhere (privacy request): store, tag and zone indexes at once; an erasure on the `erasures` topic removes it from SQL at once and from the Parquet archive at its next compaction",
            "ingestKey",
        ),
        ("get", "/v1/campaigns") => ("Every campaign", "adminKey"),
        ("get", "/v1/campaigns/{id}") => ("One campaign", "adminKey"),
        ("put", _) => (
            "Create (201) or replace (200) a campaign: trigger, audience, offer, validity, caps, quiet hours, templates",
            "adminKey",
        ),
        ("delete", _) => ("Delete a campaign", "adminKey"),
        ("get", "/v1/campaigns/{id}/stats") => (
            "Counters: targeted, sent, delivered, failed by reason, pruned, suppressed, redeemed",
            "adminKey",
        ),
        _ => (
            "A stand reports a redeemed voucher (verified offline, counted once): 202, or 422 with `reason`",
            "ingestKey",
        ),
    }
}

/// Paths of the notifier's routes.
pub fn fragment() -> Value {
    let error = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut paths = serde_json::Map::new();
    for (method, path) in ROUTES {
        let (text, key) = summary(method, path);
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": text,
            "operationId": format!("{}_{}", method, path.replace(['/', '{', '}'], "_").trim_matches('_')),
            "security": [{ key: [] }],
            "parameters": params,
            "responses": {
                "200": { "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } },
                "400": error("Malformed request"),
                "401": error("No key, or an unknown key"),
                "403": error("A key of another kind"),
                "404": error("Not found"),
                "413": error("The body exceeds the limit"),
                "422": error("Refused, with the field or reason"),
            },
        });
        if matches!(*method, "put" | "patch" | "post") {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "type": "object" } } } });
            op["responses"]["415"] = error("The body is not `application/json`");
        }
        match (*method, *path) {
            ("delete", "/v1/installations/{id}") => {
                op["responses"]["204"] = json!({ "description": "Erased (or already absent)" });
                op["responses"]["503"] =
                    error("The store or the erasure log is unavailable; retry");
            }
            ("delete", _) => {
                op["responses"]["204"] = json!({ "description": "Erased (or already absent)" })
            }
            ("put", "/v1/campaigns/{id}") => {
                op["responses"]["201"] = json!({ "description": "Created", "content": { "application/json": { "schema": { "type": "object" } } } });
            }
            ("post", "/v1/redemptions") => {
                op["responses"]["202"] = json!({ "description": "Verified and recorded; counted once at the notifier's next poll", "content": { "application/json": { "schema": { "type": "object" } } } });
                op["responses"]["503"] = error("The report could not be recorded; retry");
            }
            _ => {}
        }
        let item = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        item[*method] = op;
    }
    json!({ "paths": paths })
}
