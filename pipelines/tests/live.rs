//! Following live input with [`Runner::poll`]: records appended after the runner
//! started are processed, a silent source stops holding the watermark back once the
//! processing clock passed its idle timeout, late records land on the side output,
//! and a restarted runner adds nothing twice.

use std::path::Path;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, wire};
use sellout_pipelines::output::{self, LATE_TOPIC, SIGNALS_TOPIC};
use sellout_pipelines::{PipelinesConfig, Runner, Signal, SignalKind};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const T0: &str = "2026-11-01T10:00:00.000Z";

fn catalog() -> Arc<Catalog> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/catalog.json");
    Arc::new(Catalog::load(&path).expect("catalog"))
}

fn append(log: &EmbeddedLog, json: &str) {
    let record: AnyRecord = serde_json::from_str(json).expect("record");
    let mut batch = Batch::new();
    batch.push_with(record.key().as_bytes(), record.time(), |buf| {
        wire::encode_any_into(&record, buf)
    });
    log.append(record.topic().as_str(), &batch).expect("append");
}

fn cart_add(session: &str, time: &str) -> String {
    format!(
        r#"{{"topic": "sales", "kind": "cart_add", "event_id": "ev-1", "category_id": "cat-1", "session_id": "{session}", "quantity": 2, "unit_price_minor": 5000, "currency": "GBP", "channel": "web", "time": "{time}"}}"#
    )
}

fn post(time: &str) -> String {
    format!(
        r#"{{"topic": "social", "source": "x", "text": "Who else is going?", "language": "en", "author_reach": 10, "event_ids": ["ev-1"], "time": "{time}"}}"#
    )
}

fn signals(log: &EmbeddedLog) -> Vec<Signal> {
    let fetched = log.read(SIGNALS_TOPIC, 0, usize::MAX).expect("read");
    fetched
        .records()
        .map(|r| output::decode_signal(r.value).expect("signal"))
        .collect()
}

fn count(log: &EmbeddedLog, topic: &str) -> u64 {
    log.offsets(topic).expect("offsets").end
}

fn open(dir: &Path, log: &Arc<EmbeddedLog>) -> Runner {
    let config = PipelinesConfig {
        jobs: vec!["carts".into(), "buzz".into()],
        ..PipelinesConfig::default()
    };
    Runner::open(config, catalog(), log.clone(), dir.join("checkpoint.bin")).expect("runner")
}

#[test]
fn poll_follows_live_input_and_an_idle_source_releases_the_watermark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        EmbeddedLog::open(
            &dir.path().join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    let idle = PipelinesConfig::default().watermark.idle_timeout_ms;
    let mut runner = open(dir.path(), &log);

    assert_eq!(
        runner.poll(1_000, usize::MAX).expect("poll"),
        0,
        "nothing yet"
    );
    append(&log, &cart_add("s-1", T0));
    assert_eq!(runner.poll(1_000, usize::MAX).expect("poll"), 1);

    // The social feed moves twelve minutes on; the sales feed is silent but not yet
    // idle, so it holds the watermark before the cart's hold expires.
    append(&log, &post("2026-11-01T10:12:00.000Z"));
    assert_eq!(runner.poll(2_000, usize::MAX).expect("poll"), 1);
    assert!(signals(&log).is_empty(), "sales still hold the watermark");
    runner.poll(1_000 + idle - 1, usize::MAX).expect("poll");
    assert!(signals(&log).is_empty(), "not idle a millisecond early");

    // Once sales have been silent for the idle timeout, the cart is abandoned
    // without a single new record.
    assert_eq!(runner.poll(1_000 + idle, usize::MAX).expect("poll"), 0);
    let found = signals(&log);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, SignalKind::CartAbandoned);

    // A crash before the first checkpoint: the restarted runner replays both records,
    // regenerates the same signal once the sales go idle again, and skips it.
    drop(runner);
    let mut runner = open(dir.path(), &log);
    assert_eq!(runner.poll(100_000, usize::MAX).expect("poll"), 2);
    runner.poll(100_000 + idle, usize::MAX).expect("poll");
    assert_eq!(signals(&log).len(), 1, "nothing twice");
    assert_eq!(runner.report().replayed_skipped, 1);

    // A cart add from eleven minutes ago is beyond the allowed lateness now: it goes
    // to the side output, and the sales source is active again.
    append(&log, &cart_add("s-2", "2026-11-01T10:01:00.000Z"));
    assert_eq!(runner.poll(200_000, usize::MAX).expect("poll"), 1);
    assert_eq!(count(&log, LATE_TOPIC), 1);

    // A checkpoint, a restart, and the runner goes on from its positions.
    runner.checkpoint().expect("checkpoint");
    drop(runner);
    let mut restarted = open(dir.path(), &log);
    append(&log, &cart_add("s-3", "2026-11-01T10:12:30.000Z"));
    assert_eq!(restarted.poll(300_000, usize::MAX).expect("poll"), 1);
    assert_eq!(signals(&log).len(), 1);
    assert_eq!(count(&log, LATE_TOPIC), 1);
    let report = restarted.report();
    assert_eq!(report.positions["sales"], 3);
    assert_eq!(report.positions["social"], 1);
    assert_eq!(
        report.positions["beacons"], 0,
        "no configured job reads beacons"
    );
}

#[test]
fn clock_jumps_and_far_out_of_order_records_lose_nothing_and_emit_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        EmbeddedLog::open(
            &dir.path().join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    let day = 86_400_000;
    let mut runner = open(dir.path(), &log);
    append(&log, &cart_add("s-1", T0));
    append(&log, &post(T0));
    assert_eq!(runner.poll(1_000, usize::MAX).expect("poll"), 2);

    // The processing clock steps back an hour (a bad NTP step): nothing breaks and
    // nothing is released early.
    append(&log, &cart_add("s-2", "2026-11-01T10:01:00.000Z"));
    assert_eq!(runner.poll(1_000 - 3_600_000, usize::MAX).expect("poll"), 1);
    assert!(signals(&log).is_empty(), "carts still held");

    // Then a day ahead: every source is idle, yet event time has not moved past the
    // carts' holds, so a jump of the processing clock fires nothing early.
    runner.poll(1_000 + day, usize::MAX).expect("poll");
    assert!(
        signals(&log).is_empty(),
        "event time, not the clock, expires carts"
    );
    // Event time moves on (a post at 10:15): both carts are abandoned, once each.
    append(&log, &post("2026-11-01T10:15:00.000Z"));
    runner.poll(1_500 + day, usize::MAX).expect("poll");
    let found = signals(&log);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|s| s.kind == SignalKind::CartAbandoned));

    // A record two hours older than anything seen: kept on the late side output,
    // never dropped in silence and never a signal.
    append(&log, &cart_add("s-3", "2026-11-01T08:00:00.000Z"));
    assert_eq!(runner.poll(2_000 + day, usize::MAX).expect("poll"), 1);
    assert_eq!(count(&log, LATE_TOPIC), 1);

    // Back again, and a restart from the checkpoint: the same two signals, no more.
    runner.checkpoint().expect("checkpoint");
    runner.poll(0, usize::MAX).expect("poll");
    drop(runner);
    let mut restarted = open(dir.path(), &log);
    append(&log, &cart_add("s-4", "2026-11-01T10:20:00.000Z"));
    assert_eq!(restarted.poll(-day, usize::MAX).expect("poll"), 1);
    restarted.poll(3 * day, usize::MAX).expect("poll");
    let again = signals(&log);
    assert_eq!(&again[..2], &found[..], "nothing re-emitted");
    let ids: std::collections::HashSet<_> = again.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), again.len(), "ids unique");
    let report = restarted.report();
    assert_eq!(report.positions["sales"], 4, "every record read");
}
