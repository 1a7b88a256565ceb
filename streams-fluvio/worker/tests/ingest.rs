//! The ingest node over a real Fluvio cluster named by `SELLOUT_FLUVIO` (each test
//! prints `skipped: no Fluvio cluster at $SELLOUT_FLUVIO (unset)` and passes when it is
//! unset). Topics carry a prefix of their own and are deleted at the end.
//!
//! - Records POSTed over HTTP land in the partition of their event, counts reconcile,
//!   bad records get their reason and land in the dead-letter topic; keys are checked.
//! - A catalog change POSTed to the node is applied there at once and reaches a
//!   worker's pipelines through the `catalog` topic.
//! - A batch re-sent after the node restarts is dropped as a re-send (4 partitions,
//!   the default window).

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use sellout_fluvio::{IngestNode, Keys, Namespaced, PartitionSet, Worker, WorkerConfig};
use sellout_ingest::deadletter::{self, DeadLetter};
use sellout_ingest::live_catalog::LiveCatalog;
use sellout_ingest::records::AnyRecord;
use sellout_pricing::auth::{KeyHash, KeyKind, hash_key};
use sellout_pricing::rate::RateLimits;
use sellout_streams::{ManualClock, Transport};
use sellout_streams_fluvio::routing::partition_of;
use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, FluvioTransport};
use serde_json::Value;
use tower::ServiceExt as _;

const PARTITIONS: u32 = 4;
const INGEST_KEY: &str = "so_ingest_test";
const ADMIN_KEY: &str = "so_admin_test";

fn cluster() -> Option<FluvioTransport> {
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
struct Topics {
    fluvio: FluvioTransport,
    prefix: String,
}

impl Topics {
    fn new(fluvio: &FluvioTransport, name: &str) -> Self {
        let prefix = format!("t-{name}-{}-", std::process::id());
        sellout_fluvio::catalog::open_topic(fluvio, &prefix).unwrap_or_else(|e| panic!("{e}"));
        Self {
            fluvio: fluvio.clone(),
            prefix,
        }
    }

    fn routed(&self) -> Arc<dyn Transport> {
        Arc::new(Namespaced::new(self.fluvio.clone(), self.prefix.clone()))
    }

    fn partition(&self, p: u32) -> Arc<dyn Transport> {
        Arc::new(Namespaced::new(
            self.fluvio.partition(p),
            self.prefix.clone(),
        ))
    }

    /// Every value of `topic` by partition.
    fn values(&self, topic: &str) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
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

    fn delete(self) {
        let names = self
            .fluvio
            .topics()
            .unwrap_or_else(|e| panic!("list topics: {e}"));
        for name in names.iter().filter(|n| n.starts_with(&self.prefix)) {
            self.fluvio
                .delete_topic(name)
                .unwrap_or_else(|e| panic!("delete {name}: {e}"));
        }
    }
}

/// A node over `topics` with one ingest and one admin key, its clock just after the
/// simulated records.
fn node(topics: &Topics) -> (IngestNode, Arc<LiveCatalog>) {
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
    let keys = Keys::new(&keys, RateLimits::default(), clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let routed = topics.routed();
    let live = sellout_fluvio::catalog::live(
        Arc::unwrap_or_clone(common::catalog()),
        routed.as_ref(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let parts: Vec<_> = (0..PARTITIONS).map(|p| topics.partition(p)).collect();
    let node = IngestNode::open(
        &config,
        routed,
        &parts,
        live.clone(),
        Arc::new(keys),
        clock,
    )
    .unwrap_or_else(|e| panic!("node: {e}"));
    (node, live)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Sends one request; the status and the JSON body (`Null` when not JSON).
fn call(
    rt: &tokio::runtime::Runtime,
    app: &Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type);
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    let req = req
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let resp = app
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    })
}

/// JSON Lines of `records`.
fn ndjson<'a>(records: impl IntoIterator<Item = &'a AnyRecord>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend(r.to_json().to_string().into_bytes());
        out.push(b'\n');
    }
    out
}

/// Up to `n` simulated sales, at most `n / 8` of each event (so they spread over partitions).
fn sales(n: usize) -> Vec<AnyRecord> {
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

fn n(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap_or_else(|| panic!("{field} in {v}"))
}

#[test]
fn posted_records_land_in_the_partition_of_their_event_and_bad_ones_in_deadletter() {
    let Some(t) = cluster() else { return };
    let topics = Topics::new(&t, "http");
    let (node, _) = node(&topics);
    let app = node.router();
    let rt = runtime();
    let good = sales(3_000);
    let mut body = ndjson(&good);
    body.extend_from_slice(b"{not json\n");
    let mut unknown = good[0].to_json();
    unknown["event_id"] = Value::from("evt-nowhere");
    body.extend(unknown.to_string().into_bytes());
    body.push(b'\n');
    let posted = good.len() as u64 + 2;

    let (status, _) = call(&rt, &app, "POST", "/v1/records/sales", None, "application/x-ndjson", body.clone());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&rt, &app, "POST", "/v1/records/sales", Some(ADMIN_KEY), "application/x-ndjson", body.clone());
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, report) = call(&rt, &app, "POST", "/v1/records/sales", Some(INGEST_KEY), "application/x-ndjson", body);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(n(&report, "received"), posted);
    assert_eq!(n(&report, "accepted") + n(&report, "rejected"), posted);
    assert_eq!(n(&report, "rejected"), 2, "{report}");
    let codes: Vec<&str> = report["rejections"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec!["malformed", "unknown_event"]);

    // Every sale sits in the partition its event routes to; none lost, none twice.
    let stored = topics.values("sales");
    let mut total = 0;
    for (p, records) in stored.iter().enumerate() {
        for (key, _) in records {
            assert_eq!(partition_of(key, PARTITIONS), p as u32, "key {key:?}");
        }
        total += records.len() as u64;
    }
    assert_eq!(total, n(&report, "accepted"));
    assert!(stored.iter().filter(|r| !r.is_empty()).count() > 1, "one partition only");

    // Both rejections are in the dead-letter topic with their reason and bytes.
    let dead: Vec<DeadLetter> = topics
        .values(deadletter::TOPIC)
        .into_iter()
        .flatten()
        .map(|(_, v)| DeadLetter::decode(&v).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(dead.len(), 2);
    let mut codes: Vec<&str> = dead.iter().map(|d| d.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, vec!["malformed", "unknown_event"]);
    assert!(
        dead.iter()
            .any(|d| d.code == "malformed" && d.original == b"{not json"),
        "{dead:?}"
    );
    let counters = node.counters().total();
    assert!(counters.reconciles(), "{counters:?}");
    assert_eq!(counters.received, posted);
    topics.delete();
}

#[test]
fn a_catalog_change_posted_to_the_node_reaches_a_workers_pipelines() {
    let Some(t) = cluster() else { return };
    let topics = Topics::new(&t, "catalog");
    let (node, live) = node(&topics);
    let app = node.router();
    let rt = runtime();
    // A new event: a copy of the first one under a new id, and its sales renamed.
    let base = common::catalog();
    let mut event = base.events[0].clone();
    let original = event.event_id.clone();
    event.event_id = "evt-fresh".into();
    let renamed: Vec<AnyRecord> = common::records()
        .into_iter()
        .filter_map(|r| match r {
            AnyRecord::Sales(mut s) if s.event_id == original => {
                s.event_id = "evt-fresh".into();
                Some(AnyRecord::Sales(s))
            }
            _ => None,
        })
        .take(2_000)
        .collect();
    assert!(renamed.len() > 100, "{} sales of {original}", renamed.len());
    let body = ndjson(&renamed);

    let (status, report) = call(&rt, &app, "POST", "/v1/records/sales", Some(INGEST_KEY), "application/x-ndjson", body.clone());
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let event_json = serde_json::to_vec(&event).unwrap_or_else(|e| panic!("{e}"));
    let (status, _) = call(&rt, &app, "PUT", "/v1/admin/events/evt-fresh", Some(INGEST_KEY), "application/json", event_json.clone());
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = call(&rt, &app, "PUT", "/v1/admin/events/evt-fresh", Some(ADMIN_KEY), "application/json", event_json);
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["event_id"], "evt-fresh");
    assert!(live.load().event("evt-fresh").is_some());
    // Validation on the node sees it at once.
    let (status, report) = call(&rt, &app, "POST", "/v1/records/sales", Some(INGEST_KEY), "application/x-ndjson", body);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(n(&report, "accepted"), renamed.len() as u64);
    // A change that does not apply is refused with its reason.
    let (status, answer) = call(
        &rt,
        &app,
        "PUT",
        "/v1/admin/events/evt-none/categories/x/capacity",
        Some(ADMIN_KEY),
        "application/json",
        br#"{"capacity":5}"#.to_vec(),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("evt-none")), "{answer}");

    // A worker in another process: its own connection, catalog.json without the event.
    let other = FluvioTransport::connect(t.config().clone()).unwrap_or_else(|e| panic!("{e}"));
    let theirs = Topics {
        fluvio: other.clone(),
        prefix: topics.prefix.clone(),
    };
    let worker_catalog = sellout_fluvio::catalog::live(
        Arc::unwrap_or_clone(common::catalog()),
        theirs.routed().as_ref(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(worker_catalog.load().event("evt-fresh").is_some());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let prefix = topics.prefix.clone();
    // Features every minute of event time: the renamed sales span a few minutes.
    let mut pipelines = common::pipelines();
    pipelines.features.interval_minutes = 1;
    let worker = Worker::new(
        pipelines,
        dir.path().to_owned(),
        worker_catalog,
        PartitionSet::all(PARTITIONS),
        Arc::new(move |p| {
            Arc::new(Namespaced::new(other.partition(p), prefix.clone())) as Arc<dyn Transport>
        }),
    );
    let end = worker
        .input_end(PARTITIONS)
        .unwrap_or_else(|e| panic!("{e}"));
    worker.drain(end).unwrap_or_else(|e| panic!("{e}"));
    let features: Vec<_> = topics.values("features").into_iter().flatten().collect();
    let fresh_features = features
        .iter()
        .filter(|(_, v)| v.windows(9).any(|w| w == b"evt-fresh"))
        .count();
    let span = renamed.iter().map(AnyRecord::time).max().unwrap_or(0)
        - renamed.iter().map(AnyRecord::time).min().unwrap_or(0);
    assert!(
        fresh_features > 0,
        "no features of the new event among {} ({} ms of sales); first: {:?}",
        features.len(),
        span,
        features.first().map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
    );
    topics.delete();
}

#[test]
fn a_batch_re_sent_after_the_node_restarts_is_dropped_as_a_re_send() {
    let Some(t) = cluster() else { return };
    let topics = Topics::new(&t, "resend");
    let rt = runtime();
    let batch = ndjson(&sales(2_000));
    let accepted = {
        let (node, _) = node(&topics);
        let (status, report) = call(&rt, &node.router(), "POST", "/v1/records/sales", Some(INGEST_KEY), "application/x-ndjson", batch.clone());
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(n(&report, "duplicates"), 0);
        n(&report, "accepted")
    };
    let ends = |topics: &Topics| -> Vec<u64> {
        (0..PARTITIONS)
            .map(|p| topics.partition(p).offsets("sales").map(|o| o.end).unwrap_or(0))
            .collect()
    };
    let before = ends(&topics);
    assert_eq!(before.iter().sum::<u64>(), accepted);
    // A new node (the old one crashed), the default window refilled from 4 partitions.
    let (node, _) = node(&topics);
    let (status, report) = call(&rt, &node.router(), "POST", "/v1/records/sales", Some(INGEST_KEY), "application/x-ndjson", batch);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((n(&report, "accepted"), n(&report, "duplicates")), (0, accepted), "{report}");
    assert_eq!(ends(&topics), before);
    topics.delete();
}
