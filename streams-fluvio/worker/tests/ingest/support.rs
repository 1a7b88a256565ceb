//! What the ingest node tests share: the cluster, a test's topics, a node over them,
//! requests to its router, and simulated input.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sellout_fluvio::{IngestNode, Keys, Namespaced, WorkerConfig};
use sellout_ingest::live_catalog::LiveCatalog;
use sellout_ingest::records::AnyRecord;
use sellout_pricing::auth::{KeyHash, KeyKind, hash_key};
use sellout_pricing::rate::RateLimits;
use sellout_streams::{ManualClock, Transport};
use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, FluvioTransport};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::common;

/// Partitions of every topic.
pub const PARTITIONS: u32 = 4;
/// The node's ingest key.
pub const INGEST_KEY: &str = "so_ingest_test";
/// The node's admin key.
pub const ADMIN_KEY: &str = "so_admin_test";

/// The cluster, or `None` (with the skip line printed) when `SELLOUT_FLUVIO` is unset.
pub fn cluster() -> Option<FluvioTransport> {
    match std::env::var(CLUSTER_ENV) {
        Ok(endpoint) if !endpoint.is_empty() => {
            let mut cfg = FluvioConfig::at(endpoint);
            cfg.topic.partitions = PARTITIONS;
            Some(FluvioTransport::connect(cfg).unwrap_or_else(|e| panic!("connect: {e}")))
        }
        _ => {
            println!("skipped: no Fluvio cluster at ${CLUSTER_ENV} (unset)");
            None
        }
    }
}

/// The topics of one test, under its own prefix.
pub struct Topics {
    /// The connection they are reached through.
    pub fluvio: FluvioTransport,
    /// Their name prefix.
    pub prefix: String,
}

impl Topics {
    pub fn new(fluvio: &FluvioTransport, name: &str) -> Self {
        let prefix = format!("t-{name}-{}-", std::process::id());
        sellout_fluvio::catalog::open_topic(fluvio, &prefix).unwrap_or_else(|e| panic!("{e}"));
        Self {
            fluvio: fluvio.clone(),
            prefix,
        }
    }

    pub fn routed(&self) -> Arc<dyn Transport> {
        Arc::new(Namespaced::new(self.fluvio.clone(), self.prefix.clone()))
    }

    pub fn partition(&self, p: u32) -> Arc<dyn Transport> {
        Arc::new(Namespaced::new(
            self.fluvio.partition(p),
            self.prefix.clone(),
        ))
    }

    /// Every value of `topic` by partition.
    pub fn values(&self, topic: &str) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        (0..PARTITIONS)
            .map(|p| {
                let view = self.partition(p);
                let mut out = Vec::new();
                let end = view.offsets(topic).map(|o| o.end).unwrap_or(0);
                let mut next = 0;
                while next < end {
                    let f = view
                        .read(topic, next, 1 << 20)
                        .unwrap_or_else(|e| panic!("read {topic}/{p}: {e}"));
                    for r in f.records() {
                        out.push((r.key.to_vec(), r.value.to_vec()));
                    }
                    next = f.next_offset();
                }
                out
            })
            .collect()
    }
}

/// The topics are deleted when the test ends, passed or failed (best effort: a
/// leftover only costs disk on a test cluster).
impl Drop for Topics {
    fn drop(&mut self) {
        if let Err(e) = self.fluvio.delete_prefixed(&self.prefix) {
            eprintln!("topics {}* not deleted: {e}", self.prefix);
        }
    }
}

/// A node over `topics` with one ingest and one admin key, its clock just after the
/// simulated records.
pub fn node(topics: &Topics) -> (IngestNode, Arc<LiveCatalog>) {
    let config = WorkerConfig::default();
    let now = common::records()
        .iter()
        .map(AnyRecord::time)
        .max()
        .unwrap_or(0)
        + 60_000;
    let clock = Arc::new(ManualClock::new(now));
    let keys = [
        KeyHash {
            kind: KeyKind::Ingest,
            sha256: hash_key(INGEST_KEY),
        },
        KeyHash {
            kind: KeyKind::Admin,
            sha256: hash_key(ADMIN_KEY),
        },
    ];
    let keys =
        Keys::new(&keys, RateLimits::default(), clock.clone()).unwrap_or_else(|e| panic!("{e}"));
    let routed = topics.routed();
    let live =
        sellout_fluvio::catalog::live(Arc::unwrap_or_clone(common::catalog()), routed.as_ref())
            .unwrap_or_else(|e| panic!("{e}"));
    let parts: Vec<_> = (0..PARTITIONS).map(|p| topics.partition(p)).collect();
    let node = IngestNode::open(&config, routed, &parts, live.clone(), Arc::new(keys), clock)
        .unwrap_or_else(|e| panic!("node: {e}"));
    (node, live)
}

/// A runtime for the router's requests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Requests to a node's router.
pub struct Client<'a> {
    rt: &'a tokio::runtime::Runtime,
    app: Router,
}

impl<'a> Client<'a> {
    /// A client of `app` running on `rt`.
    pub fn new(rt: &'a tokio::runtime::Runtime, app: Router) -> Self {
        Self { rt, app }
    }

    /// Sends one request (JSON Lines to the record routes, JSON elsewhere) with `key`;
    /// the status and the JSON body (`Null` when not JSON).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let content_type = if path.starts_with("/v1/records/") {
            "application/x-ndjson"
        } else {
            "application/json"
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type);
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        let req = req.body(Body::from(body)).unwrap_or_else(|e| panic!("{e}"));
        self.rt.block_on(async {
            let resp = self
                .app
                .clone()
                .oneshot(req)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = resp.status();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        })
    }
}

/// JSON Lines of `records`.
pub fn ndjson<'a>(records: impl IntoIterator<Item = &'a AnyRecord>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend(r.to_json().to_string().into_bytes());
        out.push(b'\n');
    }
    out
}

/// Up to `n` simulated sales, at most `n / 8` of each event (so they spread over partitions).
pub fn sales(n: usize) -> Vec<AnyRecord> {
    let mut per_event = std::collections::HashMap::new();
    common::records()
        .into_iter()
        .filter(|r| match r {
            AnyRecord::Sales(s) => {
                let seen = per_event.entry(s.event_id.clone()).or_insert(0);
                *seen += 1;
                *seen <= n / 8
            }
            _ => false,
        })
        .take(n)
        .collect()
}

/// The count `field` of a JSON report.
pub fn n(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}
