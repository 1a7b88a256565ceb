//! An ingest call hands each topic's records to the transport in parts while it still
//! validates ([`Transport::begin_append`]), and the transport sees one append per
//! topic: begun in the fixed topic order, dead letters appended before any topic is
//! finished, every record once and in input order.

mod common;

use common::{NOW, catalog};

use std::sync::{Arc, Mutex};

use sellout_ingest::decode::{self, Format};
use sellout_ingest::ingestor::Ingestor;
use sellout_ingest::records::{AnyRecord, Topic, wire};
use sellout_ingest::validate::{Limits, Validator};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{
    AppendAck, Appending, Batch, Collected, Fetched, ManualClock, Offset, StreamError,
    TopicOffsets, Transport,
};

/// What the transport was asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Begin(String),
    Push(String, u32),
    Finish(String),
    Append(String, u32),
}

/// The embedded log, noting every append, begin, push and finish.
struct Noting {
    log: EmbeddedLog,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Noting {
    fn note(&self, c: Call) {
        self.calls.lock().expect("calls").push(c);
    }
}

struct NotedAppend<'a> {
    topic: String,
    inner: Box<dyn Appending + 'a>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Appending for NotedAppend<'_> {
    fn push(&mut self, batch: Batch) -> Result<(), StreamError> {
        let call = Call::Push(self.topic.clone(), batch.len());
        self.calls.lock().expect("calls").push(call);
        self.inner.push(batch)
    }

    fn finish(self: Box<Self>) -> Result<AppendAck, StreamError> {
        let call = Call::Finish(self.topic.clone());
        self.calls.lock().expect("calls").push(call);
        self.inner.finish()
    }
}

impl Transport for Noting {
    fn append(&self, topic: &str, batch: &Batch) -> Result<AppendAck, StreamError> {
        self.note(Call::Append(topic.to_owned(), batch.len()));
        self.log.append(topic, batch)
    }
    fn begin_append<'a>(&'a self, topic: &str) -> Result<Box<dyn Appending + 'a>, StreamError> {
        self.note(Call::Begin(topic.to_owned()));
        Ok(Box::new(NotedAppend {
            topic: topic.to_owned(),
            inner: Box::new(Collected::new(&self.log, topic)),
            calls: self.calls.clone(),
        }))
    }
    fn read(&self, topic: &str, from: Offset, max_bytes: usize) -> Result<Fetched, StreamError> {
        self.log.read(topic, from, max_bytes)
    }
    fn offsets(&self, topic: &str) -> Result<TopicOffsets, StreamError> {
        self.log.offsets(topic)
    }
    fn commit(&self, topic: &str, consumer: &str, offset: Offset) -> Result<(), StreamError> {
        self.log.commit(topic, consumer, offset)
    }
    fn committed(&self, topic: &str, consumer: &str) -> Result<Option<Offset>, StreamError> {
        self.log.committed(topic, consumer)
    }
    fn flush(&self) -> Result<(), StreamError> {
        self.log.flush()
    }
    fn topics(&self) -> Result<Vec<String>, StreamError> {
        self.log.topics()
    }
}

/// JSON Lines sales (sessions `s-0..`), a beacon after every tenth, and one sale of
/// an unknown event (a dead letter) in the middle.
fn input(sales: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..sales {
        let event = if i == sales / 2 { "evt-404" } else { "evt-1" };
        out.push_str(&format!(
            r#"{{"specversion":"1.0","id":"s{i}","source":"t","type":"sellout.sale.v1","data":{{"kind":"cart_add","event_id":"{event}","category_id":"cat-1","session_id":"s-{i}","quantity":2,"unit_price_minor":9500,"currency":"GBP","channel":"web","time":"2026-11-18T10:00:00Z"}}}}"#
        ));
        out.push('\n');
        if i % 10 == 9 {
            out.push_str(&format!(
                r#"{{"specversion":"1.0","id":"b{i}","source":"t","type":"sellout.beacon.v1","data":{{"installation_id":"i-{i}","venue_id":"ven-1","zone_id":"food-1","beacon_id":"b-1","rssi":-60,"proximity":"near","time":"2026-11-18T10:00:00Z"}}}}"#
            ));
            out.push('\n');
        }
    }
    out.into_bytes()
}

#[test]
fn a_large_input_reaches_the_transport_in_parts_of_one_append_per_topic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(NOW));
    let log = EmbeddedLog::open(dir.path(), LogConfig::default(), clock.clone()).expect("log");
    let calls = Arc::new(Mutex::new(Vec::new()));
    let noting = Arc::new(Noting {
        log,
        calls: calls.clone(),
    });
    let validator = Validator::new(Arc::new(catalog()), Limits::default());
    let ingestor = Ingestor::new(noting.clone(), validator, clock).expect("ingestor");
    let sales = 10_000;
    let bytes = input(sales);
    let decoded = decode::decode(Format::JsonLines, None, &bytes, &Limits::default());
    let report = ingestor.ingest(decoded, &bytes, "test").expect("ingest");
    assert_eq!(
        (report.accepted, report.rejected),
        (sales as u64 - 1 + 1_000, 1)
    );

    let calls = calls.lock().expect("calls").clone();
    let begun: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c, Call::Begin(_)))
        .collect();
    let names = ["sales", "beacons", "social", "queues"];
    assert_eq!(
        begun,
        names
            .iter()
            .map(|t| Call::Begin((*t).to_owned()))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>(),
        "begun in the fixed topic order"
    );
    let pushed = |topic: &str| -> Vec<u32> {
        calls
            .iter()
            .filter_map(|c| match c {
                Call::Push(t, n) if t == topic => Some(*n),
                _ => None,
            })
            .collect()
    };
    let sales_parts = pushed("sales");
    assert!(
        sales_parts.len() > 2,
        "sales came in parts: {sales_parts:?}"
    );
    assert_eq!(sales_parts.iter().sum::<u32>(), sales as u32 - 1);
    assert_eq!(pushed("beacons").iter().sum::<u32>(), 1_000);
    assert!(pushed("social").is_empty() && pushed("queues").is_empty());
    // Every part went over before anything was finished; dead letters before the topics.
    let first_finish = calls
        .iter()
        .position(|c| matches!(c, Call::Finish(_)))
        .expect("a finish");
    let last_push = calls
        .iter()
        .rposition(|c| matches!(c, Call::Push(..)))
        .expect("a push");
    let dead = calls
        .iter()
        .position(|c| *c == Call::Append("deadletter".to_owned(), 1))
        .expect("the dead letter appended");
    assert!(last_push < dead && dead < first_finish, "{calls:?}");
    let finished: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c, Call::Finish(_)))
        .collect();
    assert_eq!(
        finished,
        vec![
            &Call::Finish("sales".to_owned()),
            &Call::Finish("beacons".to_owned())
        ]
    );

    // The log holds each topic as one append, in input order.
    let fetched = noting.read("sales", 0, 64 << 20).expect("read");
    assert_eq!(fetched.batches.len(), 1, "one append");
    let sessions: Vec<String> = fetched
        .records()
        .map(|r| match wire::decode(Topic::Sales, r.value) {
            Ok(AnyRecord::Sales(s)) => s.session_id.to_string(),
            other => panic!("not a sale: {other:?}"),
        })
        .collect();
    let expected: Vec<String> = (0..sales)
        .filter(|i| *i != sales / 2)
        .map(|i| format!("s-{i}"))
        .collect();
    assert_eq!(sessions, expected, "in input order");
    assert_eq!(report.appended["sales"].count, sales as u32 - 1);
    assert_eq!(report.appended["beacons"].count, 1_000);
}
