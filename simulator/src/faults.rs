//! Fault injection: turning valid JSON record lines into invalid ones of known kinds.
//!
//! The demo corrupts a share of its input on purpose so that dead-lettering shows, and
//! the counts reconcile: each corrupted line comes with the [`Reason::code`] the ingest
//! validator must reject it with. Kinds: `malformed` (truncated JSON), `missing_field`
//! (no `time`), `unknown_event` (sales and social) or `unknown_venue` (beacons and
//! queues), `out_of_range` (a quantity of 99, an RSSI of +50 dBm, a queue of 20,000, a
//! reach of 10^11), and `time_in_future` (the time pushed 30 days ahead).
//!
//! [`Reason::code`]: sellout_ingest::validate::Reason::code

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sellout_ingest::records::{Topic, time};
use serde_json::Value;

use crate::random;

/// How far ahead `time_in_future` pushes a record.
const FUTURE_MS: i64 = 30 * 24 * 3_600_000;

/// Corrupts JSON record lines with a seeded probability.
#[derive(Debug, Clone)]
pub struct FaultInjector {
    rng: ChaCha8Rng,
    rate: f64,
    injected: BTreeMap<&'static str, u64>,
}

impl Default for FaultInjector {
    /// Seed 0, rate 0: never corrupts.
    fn default() -> Self {
        Self::new(0, 0.0)
    }
}

impl FaultInjector {
    /// An injector corrupting each line with probability `rate` (clamped to 0..=1).
    pub fn new(seed: u64, rate: f64) -> Self {
        Self {
            rng: random::stream(seed, 0xfa17),
            rate: if rate.is_finite() {
                rate.clamp(0.0, 1.0)
            } else {
                0.0
            },
            injected: BTreeMap::new(),
        }
    }

    /// The probability of corrupting a line.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Lines corrupted so far, by reason code.
    pub fn injected(&self) -> &BTreeMap<&'static str, u64> {
        &self.injected
    }

    /// With probability `rate`, a corrupted line and the reason code it must be
    /// rejected with; otherwise the line unchanged and `None`.
    pub fn maybe_corrupt(
        &mut self,
        topic: Topic,
        json_line: Vec<u8>,
    ) -> (Vec<u8>, Option<&'static str>) {
        if self.rate <= 0.0 || random::unit(&mut self.rng) >= self.rate {
            return (json_line, None);
        }
        let (line, code) = self.corrupt(topic, json_line);
        (line, Some(code))
    }

    /// Always corrupts `json_line` (one record of `topic` as a JSON object) with a kind
    /// chosen at random; returns the line and the reason code.
    pub fn corrupt(&mut self, topic: Topic, json_line: Vec<u8>) -> (Vec<u8>, &'static str) {
        let kind = KINDS[self.rng.random_range(0..KINDS.len())];
        let (line, code) = corrupt_as(kind, topic, json_line);
        *self.injected.entry(code).or_default() += 1;
        (line, code)
    }
}

/// The kinds of corruption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Malformed,
    MissingField,
    UnknownId,
    OutOfRange,
    Future,
}

const KINDS: [Kind; 5] = [
    Kind::Malformed,
    Kind::MissingField,
    Kind::UnknownId,
    Kind::OutOfRange,
    Kind::Future,
];

fn corrupt_as(kind: Kind, topic: Topic, line: Vec<u8>) -> (Vec<u8>, &'static str) {
    if kind == Kind::Malformed {
        return (truncate(line), "malformed");
    }
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&line) else {
        // Not a JSON object to begin with: truncating keeps it invalid.
        return (truncate(line), "malformed");
    };
    let code = match kind {
        Kind::Malformed => unreachable!("handled above"),
        Kind::MissingField => {
            map.remove("time");
            "missing_field"
        }
        Kind::UnknownId => match topic {
            Topic::Sales => {
                map.insert("event_id".into(), Value::from("ev-no-such-event"));
                "unknown_event"
            }
            Topic::Social => {
                map.insert("event_ids".into(), Value::from(vec!["ev-no-such-event"]));
                "unknown_event"
            }
            Topic::Beacons | Topic::Queues => {
                map.insert("venue_id".into(), Value::from("no-such-venue"));
                "unknown_venue"
            }
        },
        Kind::OutOfRange => {
            let (field, value) = match topic {
                Topic::Sales => ("quantity", Value::from(99)),
                Topic::Beacons => ("rssi", Value::from(50)),
                Topic::Queues => ("length", Value::from(20_000)),
                Topic::Social => ("author_reach", Value::from(100_000_000_000u64)),
            };
            map.insert(field.into(), value);
            "out_of_range"
        }
        Kind::Future => {
            let Some(t) = map.get("time").and_then(record_time) else {
                return (truncate(line), "malformed");
            };
            map.insert("time".into(), Value::from(time::to_rfc3339(t + FUTURE_MS)));
            "time_in_future"
        }
    };
    (
        serde_json::to_vec(&Value::Object(map)).unwrap_or_else(|_| truncate(line)),
        code,
    )
}

fn record_time(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => time::parse_rfc3339(s).ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Cuts a JSON object in half (on a character boundary): its closing brace is gone, so
/// it can't parse.
fn truncate(mut line: Vec<u8>) -> Vec<u8> {
    let mut cut = line.len() / 2;
    while cut > 0 && (line[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    line.truncate(cut.max(1));
    if line.iter().all(u8::is_ascii_whitespace) || line == b"}" {
        return b"{\"".to_vec();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALE: &str = r#"{"kind":"cart_add","event_id":"ev-001","category_id":"cat-1","session_id":"s-1","quantity":2,"unit_price_minor":9500,"currency":"GBP","channel":"web","time":"2026-11-23T09:00:00.000Z"}"#;

    #[test]
    fn every_kind_says_what_it_did() {
        for kind in KINDS {
            let (line, code) = corrupt_as(kind, Topic::Sales, SALE.as_bytes().to_vec());
            let parsed = serde_json::from_slice::<Value>(&line);
            match code {
                "malformed" => assert!(parsed.is_err()),
                "missing_field" => assert!(parsed.unwrap().get("time").is_none()),
                "unknown_event" => assert_eq!(parsed.unwrap()["event_id"], "ev-no-such-event"),
                "out_of_range" => assert_eq!(parsed.unwrap()["quantity"], 99),
                "time_in_future" => assert_eq!(parsed.unwrap()["time"], "2026-12-23T09:00:00.000Z"),
                other => panic!("unexpected code {other}"),
            }
        }
    }

    #[test]
    fn rate_zero_never_corrupts_and_rate_one_always_does() {
        let mut none = FaultInjector::default();
        let mut all = FaultInjector::new(3, 1.0);
        for _ in 0..100 {
            assert_eq!(none.maybe_corrupt(Topic::Sales, SALE.into()).1, None);
            assert!(all.maybe_corrupt(Topic::Sales, SALE.into()).1.is_some());
        }
        assert_eq!(all.injected().values().sum::<u64>(), 100);
        assert!(truncate(b"{}".to_vec()) != b"{}");
        assert!(serde_json::from_slice::<Value>(&truncate(b"{}".to_vec())).is_err());
    }
}
