//! A full disk under the log directory, for real: a 1 MiB tmpfs. Appends are refused
//! with an error naming the cause, HTTP ingest answers 503 with `Retry-After`, nothing
//! acknowledged is lost or corrupted, and ingest works again once space returns.
//!
//! Mounting needs root (CAP_SYS_ADMIN); without it the test says so and passes.

mod common;

use common::{NOW, catalog};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use sellout_ingest::http::{HttpIngestConfig, IngestService, router};
use sellout_ingest::ingestor::Ingestor;
use sellout_ingest::validate::{Limits, Validator};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{ManualClock, Transport};
use tower::ServiceExt as _;

/// A tmpfs of `size` mounted at a fresh directory; unmounted when dropped.
struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Self { _dir: dir, path })
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .expect("mount");
        assert!(status.success(), "remount");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// A JSON array of `n` sales of sessions `first..first + n`.
fn sales(first: usize, n: usize) -> String {
    let rows: Vec<String> = (first..first + n)
        .map(|i| {
            format!(
                r#"{{"kind":"cart_add","event_id":"evt-1","category_id":"cat-1","session_id":"session-{i:08}","quantity":2,"unit_price_minor":9500,"currency":"GBP","channel":"web","time":"2026-11-18T10:00:00Z"}}"#
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

fn open(dir: &Path) -> (Arc<EmbeddedLog>, Arc<IngestService>) {
    let clock = Arc::new(ManualClock::new(NOW));
    let config = LogConfig {
        segment_bytes: 256 << 10,
        ..LogConfig::default()
    };
    let log = Arc::new(EmbeddedLog::open(dir, config, clock.clone()).expect("open log"));
    let validator = Validator::new(Arc::new(catalog()), Limits::default());
    let ingestor = Arc::new(Ingestor::new(log.clone(), validator, clock).expect("ingestor"));
    (
        log,
        IngestService::new(ingestor, HttpIngestConfig::default()),
    )
}

async fn post(service: &Arc<IngestService>, body: String) -> (StatusCode, bool, String) {
    let request = Request::post("/v1/records/sales")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let response = router(service.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let retry = response.headers().contains_key("retry-after");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, retry, String::from_utf8_lossy(&bytes).into_owned())
}

/// Every session id in the `sales` topic, in offset order.
fn sessions(log: &EmbeddedLog) -> Vec<String> {
    let end = log.offsets("sales").expect("offsets").end;
    let mut out = Vec::new();
    let mut from = 0;
    while from < end {
        let fetched = log.read("sales", from, 1 << 20).expect("read");
        for r in fetched.records() {
            assert_eq!(r.offset, out.len() as u64, "contiguous offsets");
            let value = String::from_utf8_lossy(r.value);
            let start = value.find("session-").expect("a session id");
            out.push(value[start..start + 16].to_owned());
        }
        from = fetched.next_offset();
    }
    out
}

#[tokio::test]
async fn a_full_log_disk_refuses_with_503_loses_nothing_and_recovers() {
    let Some(fs) = Tmpfs::mount("1m") else {
        println!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let (log, service) = open(&fs.path);
    let mut acknowledged = 0usize;
    let mut refused = None;
    for round in 0..1000 {
        let (status, retry, body) = post(&service, sales(acknowledged, 200)).await;
        match status {
            StatusCode::OK => acknowledged += 200,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry, "503 carries Retry-After");
                refused = Some((round, body));
                break;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let (round, body) = refused.expect("the disk filled up");
    assert!(round > 0 && acknowledged > 0, "some input fitted first");
    assert!(
        body.contains("No space left") || body.contains("no space"),
        "the error names the cause: {body}"
    );
    // Refused again while full; nothing half-written becomes visible.
    assert_eq!(
        post(&service, sales(acknowledged, 200)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let expected: Vec<String> = (0..acknowledged)
        .map(|i| format!("session-{i:08}"))
        .collect();
    assert_eq!(sessions(&log), expected, "exactly what was acknowledged");

    // Reopened on the still-full disk: the same records, no torn tail.
    drop(service);
    log.flush().ok();
    drop(log);
    let (log, service) = open(&fs.path);
    assert_eq!(sessions(&log), expected);

    // Space returns: the refused input goes in, after the acknowledged records.
    fs.resize("8m");
    let (status, _, body) = post(&service, sales(acknowledged, 200)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut expected = expected;
    expected.extend((acknowledged..acknowledged + 200).map(|i| format!("session-{i:08}")));
    assert_eq!(sessions(&log), expected);
    drop(service);
    drop(log);
    let (log, _service) = open(&fs.path);
    assert_eq!(sessions(&log), expected, "and after a reopen");
}
