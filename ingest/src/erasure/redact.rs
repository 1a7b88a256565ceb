//! Redaction of erased installations in the embedded log's sealed segments.
//!
//! [`redact_log`] reads the id each record carries — a beacon's `installation_id`, a
//! delivery's `installation_id` (the notifier's JSON), the `installation_id` of a
//! dead letter's original JSON (top level or a CloudEvent's `data`) — and, when that
//! installation is erased, overwrites every occurrence of the id's bytes in the
//! record's key and value with [`REDACTED`] bytes. Lengths don't change, so the
//! record still decodes (with the id `****…`), and offsets, index and CRCs stay valid
//! ([`EmbeddedLog::redact`]). Readers treat a redacted id as erased
//! ([`Erasures::contains`]). The pipelines' `late` topic is read too (a late beacon
//! carries the beacon's bytes). When new erasures arrive, [`Redactor::run`] first seals
//! each of those topics' active segments ([`EmbeddedLog::seal_active`]), so the pass
//! reaches what they hold too. Not reached: dead letters whose original is not JSON;
//! those keep the id until retention.
//!
//! [`redact_log`] reads every sealed segment of those topics; [`Redactor::run`] does
//! only what is new (every segment after new erasures, else the newly sealed ones), so
//! it can run with each archive compaction.

use std::collections::BTreeMap;

use sellout_streams::log::{EmbeddedLog, RedactReport};
use sellout_streams::{Offset, RecordView, StreamError};

use super::{ErasureError, Erasures};
use crate::deadletter::{self, DeadLetter};
use crate::records::{AnyRecord, Topic, wire};

/// The byte an erased id's bytes become.
pub const REDACTED: u8 = b'*';
/// The notifier's outcomes topic (read by field name: nothing here depends on it).
const DELIVERIES: &str = "deliveries";

/// True when `id` is a redacted id (no installation id is made of `*` alone: the
/// notifier allows letters, digits, `_`, `.` and `-`).
pub fn is_redacted(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b == REDACTED)
}

/// How to read the installation id a record of a topic carries.
type IdOf = fn(&[u8]) -> Option<String>;

/// The pipelines' side output of late records (read by layout: nothing here depends
/// on the pipelines).
const LATE: &str = "late";

/// The topics redacted, with how each record's id is read.
const TOPICS: [(&str, IdOf); 4] = [
    ("beacons", beacon_id),
    (DELIVERIES, json_id),
    (deadletter::TOPIC, dead_letter_id),
    (LATE, late_id),
];

/// A record of the `late` topic: the layout of `sellout_pipelines::runner::LateRecord`
/// (the wire format is positional, so the fields follow it in order;
/// `pipelines/tests/erase.rs` checks that a late beacon is redacted).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Late {
    id: u64,
    topic: Topic,
    offset: Offset,
    watermark: i64,
    value: Vec<u8>,
}

fn late_id(value: &[u8]) -> Option<String> {
    let late: Late = wire::decode_value("late record", value).ok()?;
    if late.topic == Topic::Beacons {
        beacon_id(&late.value)
    } else {
        None
    }
}

/// Redacts erased installations from every sealed segment of `beacons`,
/// `deliveries`, `deadletter` and `late`; returns what the passes did, added up.
pub fn redact_log(log: &EmbeddedLog, erasures: &Erasures) -> Result<RedactReport, StreamError> {
    let mut report = RedactReport::default();
    for (topic, id_of) in TOPICS {
        report.add(redact_topic(log, topic, id_of, 0, erasures)?);
    }
    Ok(report)
}

fn redact_topic(
    log: &EmbeddedLog,
    topic: &'static str,
    id_of: IdOf,
    from: Offset,
    erasures: &Erasures,
) -> Result<RedactReport, StreamError> {
    if erasures.is_empty() {
        return log.redact(topic, from, &mut |_| None);
    }
    let pass = log.redact(topic, from, &mut |r: &RecordView<'_>| {
        let id = id_of(r.value)?;
        (!is_redacted(&id) && erasures.contains(&id)).then(|| redacted(r, id.as_bytes()))
    })?;
    if pass.records_redacted > 0 {
        tracing::info!(
            message = "Redacted erased installations from the log.",
            topic,
            records = pass.records_redacted,
            segments = pass.segments_rewritten
        );
    }
    Ok(pass)
}

/// Runs redaction passes that do only what is new: after new erasures every sealed
/// segment again, else only segments sealed since its last pass. Keep one per log
/// (in memory: a restart costs one full pass).
#[derive(Debug, Default)]
pub struct Redactor {
    erasures: Erasures,
    /// The erasures offset the segments below `clean` are redacted for.
    applied: Offset,
    /// Per topic, the offset below which sealed segments are clean.
    clean: BTreeMap<&'static str, Offset>,
}

impl Redactor {
    /// A redactor that has done nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads new erasures and redacts what is not clean yet.
    pub fn run(&mut self, log: &EmbeddedLog) -> Result<RedactReport, ErasureError> {
        self.erasures.catch_up(log, None)?;
        let fresh = self.erasures.end() != self.applied;
        if fresh {
            self.clean.clear();
        }
        let mut report = RedactReport::default();
        if self.erasures.is_empty() {
            return Ok(report);
        }
        if fresh {
            // What the active segments hold now is sealed, so this pass reaches it.
            for (topic, _) in TOPICS {
                log.seal_active(topic)?;
            }
        }
        for (topic, id_of) in TOPICS {
            let from = self.clean.get(topic).copied().unwrap_or(0);
            let pass = redact_topic(log, topic, id_of, from, &self.erasures)?;
            self.clean.insert(topic, pass.sealed_end);
            report.add(pass);
        }
        self.applied = self.erasures.end();
        Ok(report)
    }
}

/// The record's key and value with every occurrence of `id` overwritten.
fn redacted(r: &RecordView<'_>, id: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (overwrite(r.key, id), overwrite(r.value, id))
}

fn overwrite(bytes: &[u8], id: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if id.is_empty() {
        return out;
    }
    let mut at = 0;
    while at + id.len() <= out.len() {
        if &out[at..at + id.len()] == id {
            out[at..at + id.len()].fill(REDACTED);
            at += id.len();
        } else {
            at += 1;
        }
    }
    out
}

fn beacon_id(value: &[u8]) -> Option<String> {
    match wire::decode(Topic::Beacons, value).ok()? {
        AnyRecord::Beacons(b) => Some(b.installation_id.to_string()),
        _ => None,
    }
}

fn json_id(value: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(value).ok()?;
    let id = v
        .get("installation_id")
        .or_else(|| v.get("data").and_then(|d| d.get("installation_id")))?;
    id.as_str().map(str::to_owned)
}

fn dead_letter_id(value: &[u8]) -> Option<String> {
    json_id(&DeadLetter::decode(value).ok()?.original)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_overwritten_and_lengths_stay() {
        let out = overwrite(b"ab-ins-1-ins-1x", b"ins-1");
        assert_eq!(out, b"ab-*****-*****x");
        assert_eq!(overwrite(b"abc", b""), b"abc");
        assert!(is_redacted("*****") && !is_redacted("") && !is_redacted("a*"));
        let cloud = br#"{"type":"beacons","data":{"installation_id":"ins-9"}}"#;
        assert_eq!(json_id(cloud).as_deref(), Some("ins-9"));
        assert_eq!(json_id(b"not json"), None);
        assert_eq!(TOPICS[0].0, Topic::Beacons.as_str());
    }
}
