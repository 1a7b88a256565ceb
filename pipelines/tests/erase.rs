//! Privacy erasure in the pipelines: the venue job's per-installation presence loses an
//! erased installation, so the next checkpoint no longer holds its id (also when the
//! runner restarts from a checkpoint saved before the erase), later sightings of it
//! are skipped, and the other installations stay.

use std::path::Path;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::erasure;
use sellout_ingest::records::{AnyRecord, wire};
use sellout_pipelines::{PipelinesConfig, Runner};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const VICTIM: &str = "i-victim-9f2c";

fn catalog() -> Arc<Catalog> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/catalog.json");
    Arc::new(Catalog::load(&path).expect("catalog"))
}

fn sighting(log: &EmbeddedLog, installation: &str, second: u32) {
    let json = format!(
        r#"{{"topic": "beacons", "installation_id": "{installation}", "venue_id": "ven-1", "zone_id": "gate-1", "beacon_id": "b", "rssi": -60, "proximity": "near", "time": "2026-11-01T18:00:{second:02}.000Z"}}"#
    );
    let record: AnyRecord = serde_json::from_str(&json).expect("record");
    let mut batch = Batch::new();
    batch.push_with(record.key().as_bytes(), record.time(), |buf| {
        wire::encode_any_into(&record, buf)
    });
    log.append(record.topic().as_str(), &batch).expect("append");
}

fn open(dir: &Path, log: &Arc<EmbeddedLog>, checkpoint: &str) -> Runner {
    let config = PipelinesConfig {
        jobs: vec!["venue".into()],
        ..PipelinesConfig::default()
    };
    Runner::open(config, catalog(), log.clone(), dir.join(checkpoint)).expect("runner")
}

fn holds(path: &Path, id: &str) -> bool {
    let bytes = std::fs::read(path).expect("checkpoint");
    bytes.windows(id.len()).any(|w| w == id.as_bytes())
}

#[test]
fn an_erased_installation_leaves_the_venue_state_and_its_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        EmbeddedLog::open(
            &dir.path().join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    for (i, id) in ["i-1", VICTIM, "i-2"].into_iter().enumerate() {
        sighting(&log, id, 5 + i as u32);
    }
    let mut runner = open(dir.path(), &log, "checkpoint.bin");
    runner.run_bounded(usize::MAX).expect("run");
    runner.checkpoint().expect("checkpoint");
    let checkpoint = dir.path().join("checkpoint.bin");
    assert!(holds(&checkpoint, VICTIM), "the grep must see the id first");
    std::fs::copy(&checkpoint, dir.path().join("before.bin")).expect("copy");

    erasure::append(log.as_ref(), VICTIM, 1_793_556_100_000).expect("erase");
    sighting(&log, VICTIM, 30);
    sighting(&log, "i-1", 31);
    // Live input now: a bounded run treats topics read to their end as finished.
    runner.poll(1_000, usize::MAX).expect("poll");
    runner.checkpoint().expect("checkpoint");
    assert!(!holds(&checkpoint, VICTIM));
    assert!(holds(&checkpoint, "i-1") && holds(&checkpoint, "i-2"));
    let report = runner.report();
    assert_eq!(report.erased_skipped, 1);
    assert_eq!(
        report.positions["beacons"], 5,
        "the skipped sighting is consumed"
    );

    // A runner restarting from a checkpoint saved before the erase forgets it too.
    let mut restarted = open(dir.path(), &log, "before.bin");
    restarted.checkpoint().expect("checkpoint");
    let before = dir.path().join("before.bin");
    assert!(!holds(&before, VICTIM));
    assert!(holds(&before, "i-1") && holds(&before, "i-2"));
}

/// A beacon that arrived too late sits on the `late` topic inside the pipelines' own
/// record: the log's redaction reads that layout and overwrites the id there too.
#[test]
fn a_late_beacon_of_an_erased_installation_is_redacted_on_the_late_topic() {
    use sellout_ingest::records::Topic;
    use sellout_pipelines::runner::LateRecord;

    let dir = tempfile::tempdir().expect("tempdir");
    let log = Arc::new(
        EmbeddedLog::open(
            dir.path(),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    let beacon = |installation: &str| {
        let json = format!(
            r#"{{"topic": "beacons", "installation_id": "{installation}", "venue_id": "ven-1", "zone_id": "gate-1", "beacon_id": "b", "rssi": -60, "proximity": "near", "time": "2026-11-01T18:00:00.000Z"}}"#
        );
        let record: AnyRecord = serde_json::from_str(&json).expect("record");
        let mut value = Vec::new();
        wire::encode_any_into(&record, &mut value);
        value
    };
    let mut batch = Batch::new();
    for (offset, who) in [VICTIM, "i-other-1"].into_iter().enumerate() {
        let late = LateRecord {
            id: offset as u64,
            topic: Topic::Beacons,
            offset: offset as u64,
            watermark: 1,
            value: beacon(who),
        };
        batch.push_with(b"ven-1", 0, |buf| wire::encode_into(&late, buf));
    }
    log.append("late", &batch).expect("append");
    erasure::append(log.as_ref(), VICTIM, 1).expect("erase");

    let report = erasure::Redactor::new().run(&log).expect("redact");
    assert_eq!(report.records_redacted, 1, "{report:?}");
    let fetched = log.read("late", 0, usize::MAX).expect("read");
    let ids: Vec<String> = fetched
        .records()
        .map(|r| {
            let late: LateRecord = wire::decode_value("late", r.value).expect("still decodes");
            match wire::decode(Topic::Beacons, &late.value).expect("beacon") {
                AnyRecord::Beacons(b) => b.installation_id.to_string(),
                other => panic!("not a beacon: {other:?}"),
            }
        })
        .collect();
    assert!(erasure::is_redacted(&ids[0]), "{ids:?}");
    assert_eq!(ids[1], "i-other-1");
}
