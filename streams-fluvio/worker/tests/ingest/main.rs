//! The ingest node over a real Fluvio cluster named by `SELLOUT_FLUVIO` (each test
//! prints `skipped: no Fluvio cluster at $SELLOUT_FLUVIO (unset)` and passes when it is
//! unset). Topics carry a prefix of their own and are deleted when a test ends.
//!
//! - Records POSTed over HTTP land in the partition of their event, counts reconcile,
//!   bad records get their reason and land in the dead-letter topic; keys are checked.
//! - A catalog change POSTed to the node is applied there at once and reaches a
//!   worker's pipelines through the `catalog` topic.
//! - A batch re-sent after the node restarts is dropped as a re-send (4 partitions,
//!   the default window).

#[path = "../common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use sellout_fluvio::{Namespaced, PartitionSet, Worker};
use sellout_ingest::deadletter::{self, DeadLetter};
use sellout_ingest::records::AnyRecord;
use sellout_streams::Transport;
use sellout_streams_fluvio::FluvioTransport;
use sellout_streams_fluvio::routing::partition_of;
use serde_json::Value;

use support::{
    ADMIN_KEY, Client, INGEST_KEY, PARTITIONS, Topics, cluster, n, ndjson, node, runtime, sales,
};

#[test]
fn posted_records_land_in_the_partition_of_their_event_and_bad_ones_in_deadletter() {
    let Some(t) = cluster() else { return };
    let topics = Topics::new(&t, "http");
    let (node, _) = node(&topics);
    let rt = runtime();
    let client = Client::new(&rt, node.router());
    let good = sales(3_000);
    let mut body = ndjson(&good);
    body.extend_from_slice(b"{not json\n");
    let mut unknown = good[0].to_json();
    unknown["event_id"] = Value::from("evt-nowhere");
    body.extend(unknown.to_string().into_bytes());
    body.push(b'\n');
    let posted = good.len() as u64 + 2;

    let (status, _) = client.send("POST", "/v1/records/sales", None, body.clone());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = client.send("POST", "/v1/records/sales", Some(ADMIN_KEY), body.clone());
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, report) = client.send("POST", "/v1/records/sales", Some(INGEST_KEY), body);
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
    assert!(
        stored.iter().filter(|r| !r.is_empty()).count() > 1,
        "one partition only"
    );

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
}

#[test]
fn a_catalog_change_posted_to_the_node_reaches_a_workers_pipelines() {
    let Some(t) = cluster() else { return };
    let topics = Topics::new(&t, "catalog");
    let (node, live) = node(&topics);
    let rt = runtime();
    let client = Client::new(&rt, node.router());
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

    let (status, report) = client.send("POST", "/v1/records/sales", Some(INGEST_KEY), body.clone());
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let event_json = serde_json::to_vec(&event).unwrap_or_else(|e| panic!("{e}"));
    let (status, _) = client.send(
        "PUT",
        "/v1/admin/events/evt-fresh",
        Some(INGEST_KEY),
        event_json.clone(),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = client.send(
        "PUT",
        "/v1/admin/events/evt-fresh",
        Some(ADMIN_KEY),
        event_json,
    );
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["event_id"], "evt-fresh");
    assert!(live.load().event("evt-fresh").is_some());
    // Validation on the node sees it at once.
    let (status, report) = client.send("POST", "/v1/records/sales", Some(INGEST_KEY), body);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(n(&report, "accepted"), renamed.len() as u64);
    // A change that does not apply is refused with its reason.
    let (status, answer) = client.send(
        "PUT",
        "/v1/admin/events/evt-none/categories/x/capacity",
        Some(ADMIN_KEY),
        br#"{"capacity":5}"#.to_vec(),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("evt-none")),
        "{answer}"
    );

    // A worker in another process: its own connection, catalog.json without the event.
    let other = FluvioTransport::connect(t.config().clone()).unwrap_or_else(|e| panic!("{e}"));
    let theirs = Namespaced::new(other.clone(), topics.prefix.clone());
    let worker_catalog =
        sellout_fluvio::catalog::live(Arc::unwrap_or_clone(common::catalog()), &theirs)
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
        features.first().map(|(k, v)| (
            String::from_utf8_lossy(k).into_owned(),
            String::from_utf8_lossy(v).into_owned()
        ))
    );
}

#[test]
fn a_batch_re_sent_after_the_node_restarts_is_dropped_as_a_re_send() {
    let Some(t) = cluster() else { return };
    let topics = Topics::new(&t, "resend");
    let rt = runtime();
    let batch = ndjson(&sales(2_000));
    let accepted = {
        let (node, _) = node(&topics);
        let (status, report) = Client::new(&rt, node.router()).send(
            "POST",
            "/v1/records/sales",
            Some(INGEST_KEY),
            batch.clone(),
        );
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(n(&report, "duplicates"), 0);
        n(&report, "accepted")
    };
    let ends = |topics: &Topics| -> Vec<u64> {
        (0..PARTITIONS)
            .map(|p| {
                topics
                    .partition(p)
                    .offsets("sales")
                    .map(|o| o.end)
                    .unwrap_or(0)
            })
            .collect()
    };
    let before = ends(&topics);
    assert_eq!(before.iter().sum::<u64>(), accepted);
    // A new node (the old one crashed), the default window refilled from 4 partitions.
    let (node, _) = node(&topics);
    let (status, report) =
        Client::new(&rt, node.router()).send("POST", "/v1/records/sales", Some(INGEST_KEY), batch);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (n(&report, "accepted"), n(&report, "duplicates")),
        (0, accepted),
        "{report}"
    );
    assert_eq!(ends(&topics), before);
}
