//! The ingest node's HTTP server without a cluster: [`RunningNode`] over an embedded
//! log, bound to `127.0.0.1:0`, answering a real HTTP/1.1 request, then stopping on the
//! shutdown signal with its counters.

mod common;

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use sellout_fluvio::node::RunningNode;
use sellout_fluvio::{IngestNode, Keys, Shutdown, WorkerConfig};
use sellout_ingest::records::AnyRecord;
use sellout_pricing::auth::{KeyHash, KeyKind, hash_key};
use sellout_pricing::rate::RateLimits;
use sellout_streams::{ManualClock, Transport};

/// One HTTP/1.1 request to `url` (`http://ip:port`); the whole answer as text.
fn request(url: &str, path: &str, key: &str, body: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body.as_bytes()))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("{e}"));
    answer
}

#[test]
fn a_running_node_answers_over_tcp_and_stops_with_its_counters() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log: Arc<dyn Transport> = common::open_log(dir.path());
    let records: Vec<AnyRecord> = common::records()
        .into_iter()
        .filter(|r| matches!(r, AnyRecord::Sales(_)))
        .take(10)
        .collect();
    let now = records.iter().map(AnyRecord::time).max().unwrap_or(0) + 60_000;
    let clock = Arc::new(ManualClock::new(now));
    let keys = Keys::new(
        &[KeyHash {
            kind: KeyKind::Ingest,
            sha256: hash_key("k-ingest"),
        }],
        RateLimits::default(),
        clock.clone(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let node = IngestNode::open(
        &WorkerConfig::default(),
        log.clone(),
        std::slice::from_ref(&log),
        Arc::new(sellout_ingest::live_catalog::LiveCatalog::new(
            Arc::unwrap_or_clone(common::catalog()),
        )),
        Arc::new(keys),
        clock,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let shutdown = Arc::new(Shutdown::new());
    let running = RunningNode::start(node, ([127, 0, 0, 1], 0).into(), 1, shutdown.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let body: String = records
        .iter()
        .map(|r| format!("{}\n", r.to_json()))
        .collect();

    let answer = request(running.url(), "/v1/records/sales", "k-ingest", &body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"accepted\":10"), "{answer}");
    let refused = request(running.url(), "/v1/records/sales", "wrong", &body);
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    shutdown.stop();
    let counters = running.join().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counters.total().accepted, 10);
    assert_eq!(log.offsets("sales").map(|o| o.end).ok(), Some(10));
}
