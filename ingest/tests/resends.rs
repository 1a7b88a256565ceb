//! Re-sent input is appended once: within a run, after a restart (the window refills
//! from the log), and after an append that failed half-way (the failed topic's claims
//! are released, the others' kept).

mod common;

use common::{NOW, catalog};

use std::sync::Arc;

use sellout_ingest::decode::{self, Format};
use sellout_ingest::ingestor::{IngestReport, Ingestor};
use sellout_ingest::records::{AnyRecord, Topic, wire};
use sellout_ingest::validate::{Limits, Validator};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::refusing::RefusingAppends;
use sellout_streams::{
    AppendAck, Batch, Fetched, ManualClock, Offset, StreamError, TopicOffsets, Transport,
};

/// CloudEvents JSON Lines: `sales` sales records (sessions `s-0..`) and `beacons`
/// sightings, one input mixing two topics.
fn input(sales: usize, beacons: usize, first: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in first..first + sales {
        out.push_str(&format!(
            r#"{{"specversion":"1.0","id":"s{i}","source":"t","type":"sellout.sale.v1","data":{{"kind":"cart_add","event_id":"evt-1","category_id":"cat-1","session_id":"s-{i}","quantity":2,"unit_price_minor":9500,"currency":"GBP","channel":"web","time":"2026-11-18T10:00:00Z"}}}}"#
        ));
        out.push('\n');
    }
    for i in first..first + beacons {
        out.push_str(&format!(
            r#"{{"specversion":"1.0","id":"b{i}","source":"t","type":"sellout.beacon.v1","data":{{"installation_id":"i-{i}","venue_id":"ven-1","zone_id":"food-1","beacon_id":"b-1","rssi":-60,"proximity":"near","time":"2026-11-18T10:00:00Z"}}}}"#
        ));
        out.push('\n');
    }
    out.into_bytes()
}

/// The embedded log, with appends to one topic refused while told to (a disk that
/// filled between two appends of one input).
type Flaky = RefusingAppends;

fn open(dir: &std::path::Path, fail_topic: &'static str, window: usize) -> (Arc<Flaky>, Ingestor) {
    let clock = Arc::new(ManualClock::new(NOW));
    let log = EmbeddedLog::open(dir, LogConfig::default(), clock.clone()).expect("open log");
    let flaky = Arc::new(RefusingAppends::new(Arc::new(log), fail_topic));
    let limits = Limits {
        dedup_window: window,
        ..Limits::default()
    };
    let validator = Validator::new(Arc::new(catalog()), limits);
    let ingestor = Ingestor::new(flaky.clone(), validator, clock).expect("ingestor");
    (flaky, ingestor)
}

fn ingest(ingestor: &Ingestor, bytes: &[u8]) -> Result<IngestReport, String> {
    let limits = ingestor.validator().limits().clone();
    let decoded = decode::decode(Format::JsonLines, None, bytes, &limits);
    ingestor
        .ingest(decoded, bytes, "test")
        .map_err(|e| e.to_string())
}

fn ends(t: &dyn Transport) -> (u64, u64) {
    let end = |topic| t.offsets(topic).map(|o| o.end).unwrap_or(0);
    (end("sales"), end("beacons"))
}

#[test]
fn a_resent_input_is_appended_once_even_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = input(50, 30, 0);
    {
        let (log, ingestor) = open(dir.path(), "none", 1000);
        let r = ingest(&ingestor, &first).expect("first");
        assert_eq!((r.received, r.accepted, r.duplicates), (80, 80, 0));
        let r = ingest(&ingestor, &first).expect("resent");
        assert_eq!((r.received, r.accepted, r.duplicates), (80, 0, 80));
        // An input overlapping the first: only the new records are appended.
        let r = ingest(&ingestor, &input(60, 30, 20)).expect("overlap");
        assert_eq!((r.accepted, r.duplicates), (30 + 20, 30 + 10));
        assert_eq!(ends(log.as_ref()), (80, 50));
        let total = ingestor.counters().snapshot().total();
        assert!(total.reconciles(), "{total:?}");
        assert_eq!(total.duplicates, 80 + 40);
        log.flush().expect("flush");
    }
    // A new process over the same log (the sender re-sends after a crash).
    let (log, ingestor) = open(dir.path(), "none", 1000);
    let r = ingest(&ingestor, &first).expect("after restart");
    assert_eq!((r.accepted, r.duplicates), (0, 80));
    assert_eq!(ends(log.as_ref()), (80, 50));
}

#[test]
fn records_repeated_within_one_input_are_appended_once_in_first_seen_order() {
    // Re-sends are claimed a part (2,048 records) at a time: a repeat inside one part,
    // and repeats of an earlier part, must both be caught, and the kept records stay
    // in input order.
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, ingestor) = open(dir.path(), "none", 10_000);
    let once = input(3000, 0, 0);
    let mut bytes = Vec::new();
    for (i, line) in once.split_inclusive(|b| *b == b'\n').enumerate() {
        bytes.extend_from_slice(line);
        if i % 100 == 7 {
            bytes.extend_from_slice(line); // repeated at once, inside the part
        }
    }
    bytes.extend_from_slice(&once); // the whole input again: later parts repeat earlier ones
    let r = ingest(&ingestor, &bytes).expect("ingest");
    let repeats = 30 + 3000;
    assert_eq!(
        (r.received, r.accepted, r.duplicates),
        (3000 + repeats, 3000, repeats)
    );
    assert_eq!(ends(log.as_ref()), (3000, 0));
    let mut sessions = Vec::new();
    let mut from = 0;
    while from < 3000 {
        let fetched = log.read("sales", from, 1 << 20).expect("read");
        for rec in fetched.records() {
            match wire::decode(Topic::Sales, rec.value).expect("decode") {
                AnyRecord::Sales(s) => sessions.push(s.session_id.to_string()),
                other => panic!("not a sale: {other:?}"),
            }
        }
        from = fetched.next_offset();
    }
    let expected: Vec<String> = (0..3000).map(|i| format!("s-{i}")).collect();
    assert_eq!(sessions, expected);
    assert!(ingestor.counters().snapshot().total().reconciles());
}

#[test]
fn a_failed_append_releases_its_claims_so_the_retry_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, ingestor) = open(dir.path(), "beacons", 1000);
    let bytes = input(20, 10, 0);
    log.refuse(true);
    let err = ingest(&ingestor, &bytes).expect_err("beacons refused");
    assert!(err.contains("beacons") && err.contains("no space"), "{err}");
    // Sales went in before beacons failed; nothing was counted.
    assert_eq!(ends(log.as_ref()), (20, 0));
    assert_eq!(ingestor.counters().snapshot().total().received, 0);

    log.refuse(false);
    let r = ingest(&ingestor, &bytes).expect("retry");
    assert_eq!((r.accepted, r.duplicates), (10, 20), "{r:?}");
    assert_eq!(ends(log.as_ref()), (20, 10));
}

#[test]
fn a_failed_topic_does_not_stop_the_others_and_the_retry_appends_only_what_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, ingestor) = open(dir.path(), "sales", 1000);
    let bytes = input(20, 10, 0);
    log.refuse(true);
    let err = ingest(&ingestor, &bytes).expect_err("sales refused");
    assert!(err.contains("sales") && err.contains("no space"), "{err}");
    // Sales failed first; beacons, begun beside it, were still appended. Nothing was
    // counted.
    assert_eq!(ends(log.as_ref()), (0, 10));
    assert_eq!(ingestor.counters().snapshot().total().received, 0);

    log.refuse(false);
    let r = ingest(&ingestor, &bytes).expect("retry");
    assert_eq!((r.accepted, r.duplicates), (20, 10), "{r:?}");
    assert_eq!(ends(log.as_ref()), (20, 10));
    assert!(ingestor.counters().snapshot().total().reconciles());
}

#[test]
fn the_window_forgets_beyond_its_capacity_and_can_be_turned_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, ingestor) = open(dir.path(), "none", 10);
    ingest(&ingestor, &input(30, 0, 0)).expect("first");
    // The last 10 sales are remembered, the first 20 are not.
    let r = ingest(&ingestor, &input(10, 0, 20)).expect("the last ten again");
    assert_eq!((r.accepted, r.duplicates), (0, 10));
    let r = ingest(&ingestor, &input(10, 0, 0)).expect("the first ten again");
    assert_eq!((r.accepted, r.duplicates), (10, 0));
    assert_eq!(ends(log.as_ref()).0, 40);

    let off = tempfile::tempdir().expect("tempdir");
    let (log, ingestor) = open(off.path(), "none", 0);
    ingest(&ingestor, &input(5, 0, 0)).expect("first");
    let r = ingest(&ingestor, &input(5, 0, 0)).expect("again");
    assert_eq!((r.accepted, r.duplicates), (5, 0));
    assert_eq!(ends(log.as_ref()).0, 10);
}

/// Two logs standing for two partitions of one topic: an ingestor appending each
/// record to a partition chosen by a stable function of the record (Fluvio routes by
/// its key; here by its bytes, so that one event's sales spread over both), then a new
/// ingestor refilled from both partitions' tails.
#[test]
fn the_window_refills_from_each_partition_of_a_partitioned_topic() {
    use sellout_ingest::dedup::Resends;

    struct Routed([Arc<EmbeddedLog>; 2]);
    impl Routed {
        fn part(&self, value: &[u8]) -> &EmbeddedLog {
            let p = value.iter().map(|b| usize::from(*b)).sum::<usize>() % 2;
            &self.0[p]
        }
    }
    impl Transport for Routed {
        fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
            let mut ack = AppendAck {
                base_offset: 0,
                count: 0,
            };
            for r in batch.iter(0) {
                let mut one = Batch::new();
                one.push(r.key, r.time, r.value);
                ack.count += self.part(r.value).append(topic, &one)?.count;
            }
            Ok(ack)
        }
        fn read(&self, _: &str, _: Offset, _: usize) -> Result<Fetched, StreamError> {
            Err(StreamError::io(
                "read",
                std::io::Error::other("partitioned"),
            ))
        }
        fn offsets(&self, _: &str) -> Result<TopicOffsets, StreamError> {
            Err(StreamError::io(
                "offsets",
                std::io::Error::other("partitioned"),
            ))
        }
        fn commit(&self, _: &str, _: &str, _: Offset) -> Result<(), StreamError> {
            Ok(())
        }
        fn committed(&self, _: &str, _: &str) -> Result<Option<Offset>, StreamError> {
            Ok(None)
        }
        fn flush(&self) -> Result<(), StreamError> {
            Ok(())
        }
        fn topics(&self) -> Result<Vec<String>, StreamError> {
            Ok(Vec::new())
        }
    }

    let dirs = [
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    ];
    let clock = Arc::new(ManualClock::new(NOW));
    let parts = dirs.each_ref().map(|d| {
        Arc::new(EmbeddedLog::open(d.path(), LogConfig::default(), clock.clone()).expect("log"))
    });
    let routed = Arc::new(Routed(parts.clone()));
    let limits = Limits {
        dedup_window: 1000,
        ..Limits::default()
    };
    let open = |resends: Resends| {
        let validator = Validator::new(Arc::new(catalog()), limits.clone());
        Ingestor::with_resends(routed.clone(), validator, clock.clone(), resends)
    };
    // A topic-wide refill is refused by a partitioned transport.
    assert!(Resends::refill(1000, routed.as_ref()).is_err());
    let first = input(40, 20, 0);
    let r = ingest(&open(Resends::new(1000)), &first).expect("first");
    assert_eq!((r.accepted, r.duplicates), (60, 0));
    let sales_in = |p: usize| parts[p].offsets("sales").map(|o| o.end).unwrap_or(0);
    assert!(
        sales_in(0) > 0 && sales_in(1) > 0,
        "both partitions hold sales"
    );

    // After a restart, the window refilled from both tails drops the whole re-send.
    let refs: Vec<&dyn Transport> = parts.iter().map(|p| p.as_ref() as &dyn Transport).collect();
    let again = open(Resends::refill_parts(1000, &refs).expect("refill"));
    let r = ingest(&again, &first).expect("re-sent");
    assert_eq!((r.accepted, r.duplicates), (0, 60), "{r:?}");
    assert_eq!(sales_in(0) + sales_in(1), 40);
    // New records still go in.
    let r = ingest(&again, &input(5, 0, 100)).expect("new");
    assert_eq!((r.accepted, r.duplicates), (5, 0));
}
