//! Redacting erased installations from the embedded log: beacons, deliveries and dead
//! letters of the erased installation lose its id in every sealed segment, at the same
//! offsets and lengths, still decodable; the others keep theirs; a second pass finds
//! nothing; the id's bytes are gone from the sealed segment files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sellout_ingest::deadletter::{self, DeadLetter};
use sellout_ingest::erasure::{self, Erasures, Redactor, redact_log};
use sellout_ingest::records::{AnyRecord, BeaconRecord, Proximity, Topic, wire};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const VICTIM: &str = "ins-victim-4b1d";
const OTHER: &str = "ins-other-77aa";

fn beacon(id: &str, i: i64) -> Vec<u8> {
    let record = AnyRecord::Beacons(BeaconRecord {
        installation_id: id.into(),
        venue_id: "ven-1".into(),
        zone_id: "gate-1".into(),
        beacon_id: "b-1".into(),
        rssi: -60,
        proximity: Proximity::Near,
        time: i,
    });
    let mut value = Vec::new();
    wire::encode_any_into(&record, &mut value);
    value
}

fn delivery(id: &str, i: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "notification_id": format!("n-{i}"), "campaign_id": "food", "installation_id": id,
        "outcome": "delivered", "time_ms": i,
    }))
    .expect("json")
}

fn dead_letter(id: &str, i: i64) -> Vec<u8> {
    let original = format!(r#"{{"topic":"beacons","installation_id":"{id}","rssi":"loud"}}"#);
    let dl = DeadLetter {
        topic: Some(Topic::Beacons),
        source: "http".into(),
        index: i as u64,
        code: "bad_field".into(),
        reason: "rssi is not a number".into(),
        received: i,
        original: original.into_bytes(),
    };
    let mut value = Vec::new();
    dl.encode_into(&mut value);
    value
}

type Maker = fn(&str, i64) -> Vec<u8>;

fn append_all(log: &EmbeddedLog, topics: &[(&str, Maker)], range: std::ops::Range<i64>) {
    for i in range {
        for (topic, make) in topics {
            let id = if i % 2 == 0 { VICTIM } else { OTHER };
            let mut batch = Batch::new();
            let key = if *topic == "deliveries" { id } else { "ven-1" };
            batch.push(key.as_bytes(), i, &make(id, i));
            log.append(topic, &batch).expect("append");
        }
    }
}

fn segments(dir: &Path, topic: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("topics").join(topic))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

fn holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).expect("read");
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn sealed_segments_lose_the_erased_id_and_keep_everything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        segment_bytes: 2048,
        ..LogConfig::default()
    };
    let log = Arc::new(
        EmbeddedLog::open(dir.path(), config, Arc::new(ManualClock::new(0))).expect("log"),
    );
    let topics: [(&str, Maker); 3] = [
        ("beacons", beacon),
        ("deliveries", delivery),
        (deadletter::TOPIC, dead_letter),
    ];
    append_all(&log, &topics, 0..120);
    let before: Vec<_> = topics
        .iter()
        .map(|(t, _)| log.read(t, 0, usize::MAX).expect("read"))
        .collect();
    for (topic, _) in topics {
        let files = segments(dir.path(), topic);
        assert!(files.len() > 2, "{topic}: {files:?}");
        assert!(
            files.iter().all(|f| holds(f, VICTIM)),
            "{topic}: the grep sees it first"
        );
    }

    // Nothing erased: nothing to do. Then the erase.
    let report = redact_log(&log, &Erasures::load(log.as_ref()).expect("e")).expect("redact");
    assert_eq!(report.records_redacted, 0);
    erasure::append(log.as_ref(), VICTIM, 1).expect("erase");
    let erasures = Erasures::load(log.as_ref()).expect("erasures");
    let mut redactor = Redactor::new();
    let report = redactor.run(&log).expect("redact");
    assert!(
        report.records_redacted > 0 && report.refused == 0,
        "{report:?}"
    );

    for ((topic, _), before) in topics.iter().zip(&before) {
        let files = segments(dir.path(), topic);
        let (sealed, active) = files.split_at(files.len() - 1);
        for f in sealed {
            assert!(!holds(f, VICTIM), "{} still holds it", f.display());
            assert!(holds(f, OTHER), "{} lost the other id", f.display());
        }
        // The new erasure sealed the active segment, so it was redacted too.
        assert_eq!(
            std::fs::metadata(&active[0]).expect("active").len(),
            0,
            "a fresh active segment"
        );
        let after = log.read(topic, 0, usize::MAX).expect("read");
        let pairs: Vec<_> = after.records().zip(before.records()).collect();
        assert_eq!(pairs.len(), 120);
        for (a, b) in pairs {
            assert_eq!(
                (a.offset, a.time, a.value.len()),
                (b.offset, b.time, b.value.len())
            );
            let redacted = a.value != b.value;
            if redacted {
                assert!(String::from_utf8_lossy(b.value).contains(VICTIM) || *topic == "beacons");
            }
            if *topic == "beacons" {
                let AnyRecord::Beacons(r) = wire::decode(Topic::Beacons, a.value).expect("decodes")
                else {
                    panic!("not a beacon");
                };
                let id = r.installation_id.as_str();
                assert!(
                    [OTHER, VICTIM].contains(&id) || erasure::is_redacted(id),
                    "{id}"
                );
                assert_eq!(erasure::is_redacted(id), redacted);
                // Readers drop redacted rows as they drop the erased id itself.
                assert_eq!(erasures.contains(id), id != OTHER);
            }
        }
    }
    let again = redact_log(&log, &erasures).expect("again");
    assert_eq!(
        again.records_redacted, 0,
        "a second full pass finds nothing new"
    );
    let idle = redactor.run(&log).expect("idle");
    assert_eq!(
        idle.segments_scanned, 0,
        "nothing new erased, nothing sealed since"
    );

    // Without a new erasure the active segment is not sealed early: it waits.
    append_all(&log, &topics, 120..130);
    redactor.run(&log).expect("idle");
    let active = |t: &str| segments(dir.path(), t).pop().expect("active");
    assert!(holds(&active("beacons"), VICTIM), "waits until sealed");

    // Segments sealed later are redacted by the next run, and only they are read.
    let sealed = || -> usize {
        topics
            .iter()
            .map(|(t, _)| segments(dir.path(), t).len() - 1)
            .sum()
    };
    let sealed_before = sealed();
    append_all(&log, &topics, 130..240);
    let later = redactor.run(&log).expect("later");
    assert!(later.records_redacted > 0);
    assert_eq!(
        later.segments_scanned,
        sealed() - sealed_before,
        "{later:?}"
    );
    for (topic, _) in topics {
        let files = segments(dir.path(), topic);
        for f in &files[..files.len() - 1] {
            assert!(!holds(f, VICTIM), "{} still holds it", f.display());
        }
    }
}
