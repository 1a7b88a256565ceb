//! The OpenAPI 3.1 description of the HTTP ingest routes ([`crate::http`]), as a
//! fragment (paths and schemas) that the binary merges into the document it serves at
//! `/openapi.json`. [`ROUTES`] lists what [`crate::http::router`] routes, so a test can
//! check the two agree.

use serde_json::{Value, json};

/// Every ingest route as (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/records/{topic}"),
    ("post", "/v1/cloudevents"),
    ("get", "/v1/ingest/counters"),
];

/// The media types a record body may be sent in.
const FORMATS: &[&str] = &[
    "application/json",
    "application/x-ndjson",
    "application/vnd.apache.arrow.stream",
    "application/vnd.apache.arrow.file",
    "application/vnd.apache.parquet",
];

/// Paths and schemas of the ingest routes (security scheme `ingestKey`).
pub fn fragment() -> Value {
    let error = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let report = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/IngestReport" } } } });
    let mut answers = json!({
        "401": error("No key, or an unknown key"),
        "403": error("A key of another kind"),
        "413": error("The body exceeds the limit"),
        "415": error("Unsupported Content-Type"),
        "429": error("Every ingest slot is busy: retry after `Retry-After` seconds"),
        "503": error("The log refuses writes (e.g. disk full): retry after `Retry-After` seconds"),
    });
    answers["200"] = json!({ "description": "At least one record accepted (or none sent); rejections listed with reasons", "content": report["content"] });
    answers["422"] = json!({ "description": "Every record was rejected; each with its reason", "content": report["content"] });
    let body = |types: &[&str]| {
        let content: serde_json::Map<String, Value> = types
            .iter()
            .map(|t| ((*t).to_string(), json!({ "schema": {} })))
            .collect();
        json!({ "required": true, "content": content })
    };
    let mut records_answers = answers.clone();
    records_answers["404"] = error("Unknown topic");
    json!({
        "paths": {
            "/v1/records/{topic}": { "post": {
                "summary": "Ingest records of one input topic (sales, beacons, social, queues) in JSON, JSON Lines, Arrow IPC or Parquet",
                "operationId": "post_v1_records_topic",
                "security": [{ "ingestKey": [] }],
                "parameters": [{ "name": "topic", "in": "path", "required": true, "schema": { "enum": ["sales", "beacons", "social", "queues"] } }],
                "requestBody": body(FORMATS),
                "responses": records_answers,
            }},
            "/v1/cloudevents": { "post": {
                "summary": "Ingest CloudEvents in structured, batch or binary mode (binary when `ce-specversion` is set)",
                "operationId": "post_v1_cloudevents",
                "security": [{ "ingestKey": [] }],
                "parameters": [],
                "requestBody": body(&["application/cloudevents+json", "application/cloudevents-batch+json", "application/json", "application/x-ndjson"]),
                "responses": answers,
            }},
            "/v1/ingest/counters": { "get": {
                "summary": "Records received, accepted and rejected per topic since start",
                "operationId": "get_v1_ingest_counters",
                "security": [{ "ingestKey": [] }],
                "parameters": [],
                "responses": {
                    "200": { "description": "Counters", "content": { "application/json": { "schema": { "type": "object" } } } },
                    "401": error("No key, or an unknown key"),
                    "403": error("A key of another kind"),
                },
            }},
        },
        "components": {
            "schemas": {
                "IngestReport": { "type": "object", "description": "received, accepted, rejected, duplicates, and per rejected record its index and reason", "properties": {
                    "received": { "type": "integer" }, "accepted": { "type": "integer" }, "rejected": { "type": "integer" },
                    "duplicates": { "type": "integer", "description": "records identical to ones appended recently (a re-send), not appended again" },
                    "rejections": { "type": "array", "items": { "type": "object" } } } },
            },
            "securitySchemes": {
                "ingestKey": { "type": "http", "scheme": "bearer", "description": "Ingest API key (or X-Api-Key)" },
            },
        },
    })
}
