//! The [`Ingestor`]: decoded records → validation → appended batches, with counters.
//!
//! One call ingests one input (an HTTP body, a file, a demo batch). Valid records are
//! encoded into one append per topic, handed to the transport in parts as validation
//! goes on ([`crate::appends`]); rejected ones (by the decoder or the validator)
//! become [`DeadLetter`]s. Dead letters are appended first, then the topics' appends
//! are finished, and the counters move only after the appends are acknowledged, so
//! that at every moment `accepted + rejected == received` for what the log holds.
//!
//! If an append fails (disk full, say), the call returns an error and counts nothing;
//! the caller (HTTP: 503 with `Retry-After`) retries the whole input. A record
//! identical to one appended recently (a retried input, a sender re-sending after a
//! crash) is counted as a duplicate and not appended again ([`crate::dedup`]), so
//! `accepted + rejected + duplicates == received` and each record is in the log once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sellout_streams::{Batch, Clock, StreamError, Transport};
use serde::Serialize;

use crate::appends::TopicAppends;
use crate::deadletter::DeadLetter;
use crate::decode::Decoded;
use crate::dedup::Resends;
use crate::records::{Topic, wire};
use crate::validate::{Reason, Validator};

/// Most per-record rejections listed in one [`IngestReport`] (all are dead-lettered).
pub const MAX_LISTED_REJECTIONS: usize = 1000;

/// Why an input could not be ingested at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Appending to a stream failed; nothing of the input was counted.
    #[error("could not append to topic {topic}: {source}")]
    Append {
        /// The topic being appended to.
        topic: &'static str,
        /// The transport's error.
        #[source]
        source: StreamError,
    },
}

/// One rejected record, as reported back to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Position of the record in the input.
    pub index: usize,
    /// The topic it was meant for, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
    /// Stable reason code.
    pub code: &'static str,
    /// Human-readable reason.
    pub reason: String,
}

/// Offsets given to one topic's records by one ingest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Appended {
    /// First offset.
    pub first_offset: u64,
    /// Number of records.
    pub count: u32,
}

/// What became of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Records seen.
    pub received: u64,
    /// Records appended to their topics.
    pub accepted: u64,
    /// Records dead-lettered.
    pub rejected: u64,
    /// Records already in the log (sent before), not appended again.
    pub duplicates: u64,
    /// The rejections, in input order (at most [`MAX_LISTED_REJECTIONS`]).
    pub rejections: Vec<Rejection>,
    /// True when more rejections happened than are listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rejections_truncated: bool,
    /// Offsets per topic.
    pub appended: BTreeMap<&'static str, Appended>,
}

impl IngestReport {
    /// Adds another report's figures to this one (for multi-part inputs).
    pub fn absorb(&mut self, other: IngestReport) {
        self.received += other.received;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.duplicates += other.duplicates;
        for r in other.rejections {
            if self.rejections.len() < MAX_LISTED_REJECTIONS {
                self.rejections.push(r);
            } else {
                self.rejections_truncated = true;
            }
        }
        self.rejections_truncated |= other.rejections_truncated;
        for (topic, a) in other.appended {
            self.appended
                .entry(topic)
                .and_modify(|e| e.count += a.count)
                .or_insert(a);
        }
    }
}

/// Counters of one topic (or of records whose topic is unknown).
#[derive(Debug, Default)]
struct TopicCounters {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    duplicates: AtomicU64,
}

/// A point-in-time copy of the ingest counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    /// Per topic (`unknown` for records whose topic could not be told).
    pub topics: BTreeMap<&'static str, TopicFigures>,
    /// Rejections per reason code.
    pub rejected_by_reason: BTreeMap<&'static str, u64>,
}

/// Received, accepted, rejected and duplicate records of one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TopicFigures {
    /// Records seen.
    pub received: u64,
    /// Records appended.
    pub accepted: u64,
    /// Records dead-lettered.
    pub rejected: u64,
    /// Records re-sent and not appended again.
    pub duplicates: u64,
}

impl TopicFigures {
    /// True when every record received was accepted, rejected or a duplicate.
    pub fn reconciles(&self) -> bool {
        self.accepted + self.rejected + self.duplicates == self.received
    }
}

impl CountersSnapshot {
    /// Sum over all topics.
    pub fn total(&self) -> TopicFigures {
        self.topics
            .values()
            .fold(TopicFigures::default(), |a, t| TopicFigures {
                received: a.received + t.received,
                accepted: a.accepted + t.accepted,
                rejected: a.rejected + t.rejected,
                duplicates: a.duplicates + t.duplicates,
            })
    }
}

const REASON_CODES: [&str; 13] = [
    "malformed",
    "missing_field",
    "invalid_field",
    "out_of_range",
    "unknown_event",
    "unknown_category",
    "unknown_venue",
    "currency_mismatch",
    "time_in_future",
    "time_in_past",
    "oversized",
    "cloudevent",
    "wrong_topic",
];

/// The ingest counters: received, accepted, rejected per topic and rejections per reason.
#[derive(Debug, Default)]
pub struct Counters {
    topics: [TopicCounters; 5],
    by_reason: [AtomicU64; REASON_CODES.len()],
}

impl Counters {
    fn slot(topic: Option<Topic>) -> usize {
        match topic {
            Some(Topic::Sales) => 0,
            Some(Topic::Beacons) => 1,
            Some(Topic::Social) => 2,
            Some(Topic::Queues) => 3,
            None => 4,
        }
    }

    fn name(slot: usize) -> &'static str {
        Topic::ALL
            .get(slot)
            .map(|t| t.as_str())
            .unwrap_or("unknown")
    }

    /// A copy of the counters now.
    pub fn snapshot(&self) -> CountersSnapshot {
        let mut snap = CountersSnapshot::default();
        for (i, t) in self.topics.iter().enumerate() {
            snap.topics.insert(
                Self::name(i),
                TopicFigures {
                    received: t.received.load(Ordering::Acquire),
                    accepted: t.accepted.load(Ordering::Acquire),
                    rejected: t.rejected.load(Ordering::Acquire),
                    duplicates: t.duplicates.load(Ordering::Acquire),
                },
            );
        }
        for (code, n) in REASON_CODES.iter().zip(&self.by_reason) {
            let n = n.load(Ordering::Acquire);
            if n > 0 {
                snap.rejected_by_reason.insert(code, n);
            }
        }
        snap
    }
}

/// What one ingest call has seen so far, before anything is appended.
struct Tally<'a> {
    source: &'a str,
    now: i64,
    /// Dead letters with the input index they came from, put in input order at the end.
    dead: Vec<(usize, DeadLetter)>,
    report: IngestReport,
    received: [u64; 5],
    rejected: [u64; 5],
    duplicates: [u64; 5],
    by_reason: [u64; REASON_CODES.len()],
}

impl<'a> Tally<'a> {
    fn new(source: &'a str, now: i64) -> Self {
        Self {
            source,
            now,
            dead: Vec::new(),
            report: IngestReport::default(),
            received: [0; 5],
            rejected: [0; 5],
            duplicates: [0; 5],
            by_reason: [0; REASON_CODES.len()],
        }
    }

    fn reject(&mut self, topic: Option<Topic>, index: usize, reason: Reason, original: Vec<u8>) {
        let dl = DeadLetter::new(
            topic,
            self.source,
            index as u64,
            &reason,
            self.now,
            original,
        );
        self.dead.push((index, dl));
        let slot = Counters::slot(topic);
        self.received[slot] += 1;
        self.rejected[slot] += 1;
        if let Some(i) = REASON_CODES.iter().position(|c| *c == reason.code()) {
            self.by_reason[i] += 1;
        }
        if self.report.rejections.len() < MAX_LISTED_REJECTIONS {
            self.report.rejections.push(Rejection {
                index,
                topic,
                code: reason.code(),
                reason: reason.to_string(),
            });
        } else {
            self.report.rejections_truncated = true;
        }
    }
}

/// Validates decoded input and appends it to the streams.
pub struct Ingestor {
    transport: Arc<dyn Transport>,
    validator: Validator,
    clock: Arc<dyn Clock>,
    counters: Counters,
    resends: Resends,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Ingestor {
    /// An ingestor appending to `transport`, checking with `validator` against `clock`.
    /// The window of re-sent records ([`Limits::dedup_window`](crate::validate::Limits))
    /// starts from the tail of each topic.
    pub fn new(
        transport: Arc<dyn Transport>,
        validator: Validator,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StreamError> {
        let resends = Resends::refill(validator.limits().dedup_window, transport.as_ref())?;
        Ok(Self::with_resends(transport, validator, clock, resends))
    }

    /// An ingestor appending to `transport` (a partitioned one routes each record by
    /// its key) with a window of re-sent records filled by the caller, e.g. from each
    /// partition's tail ([`Resends::refill_parts`]).
    pub fn with_resends(
        transport: Arc<dyn Transport>,
        validator: Validator,
        clock: Arc<dyn Clock>,
        resends: Resends,
    ) -> Self {
        Self {
            transport,
            validator,
            clock,
            counters: Counters::default(),
            resends,
        }
    }

    /// The validator (its limits bound decoders too).
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The transport records are appended to.
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Decodes each topic's JSON Lines (`lines` in [`Topic::ALL`] order; empty ones are
    /// skipped) and ingests them as [`Self::ingest`] does, naming `source` in dead
    /// letters. The demos feed the simulator's chunks through this.
    pub fn ingest_json_lines(&self, lines: &[Vec<u8>; 4], source: &str) -> Result<(), IngestError> {
        let limits = self.validator.limits().clone();
        for (topic, bytes) in Topic::ALL.into_iter().zip(lines) {
            if bytes.is_empty() {
                continue;
            }
            let decoded = crate::decode::decode(
                crate::decode::Format::JsonLines,
                Some(topic),
                bytes,
                &limits,
            );
            self.ingest(decoded, bytes, source)?;
        }
        Ok(())
    }

    /// Validates `decoded` (decoded from `input`), appends what passes and dead-letters
    /// the rest. `source` names the input in dead letters (`http`, a file name, ...).
    pub fn ingest(
        &self,
        decoded: Decoded,
        input: &[u8],
        source: &str,
    ) -> Result<IngestReport, IngestError> {
        let now = self.clock.now_ms();
        let mut appends = TopicAppends::begin(self.transport.as_ref(), &self.resends)?;
        let mut value = Vec::new();
        let mut tally = Tally::new(source, now);
        for r in decoded.rejected {
            tally.reject(r.topic, r.index, r.reason, r.original);
        }
        for d in decoded.records {
            let topic = d.record.topic();
            match self.validator.check(&d.record, now) {
                Ok(()) => {
                    let slot = Counters::slot(Some(topic));
                    tally.received[slot] += 1;
                    value.clear();
                    wire::encode_any_into(&d.record, &mut value);
                    let key = d.record.key();
                    let time = d.record.time();
                    let fingerprint = self.resends.fingerprint(key.as_bytes(), time, &value);
                    appends.add(slot, key.as_bytes(), time, &value, fingerprint);
                }
                Err(reason) => {
                    let original = match &d.span {
                        Some(span) => input.get(span.clone()).unwrap_or_default().to_vec(),
                        None => serde_json::to_vec(&d.record.to_json()).unwrap_or_default(),
                    };
                    tally.reject(Some(topic), d.index, reason, original);
                }
            }
        }
        let Tally {
            mut dead,
            mut report,
            received,
            rejected,
            mut duplicates,
            by_reason,
            ..
        } = tally;
        report.rejections.sort_by_key(|r| r.index);
        // Decoding and validation reject in two passes; the dead-letter stream keeps
        // the input's order, as a reader of it expects.
        dead.sort_by_key(|(index, _)| *index);
        let mut dead_batch = Batch::new();
        for (_, dl) in &dead {
            dead_batch.push_with(dl.key().as_bytes(), now, |buf| dl.encode_into(buf));
        }
        // On a failed append the claims of what was not appended are released, so a
        // retry of the input is accepted; nothing is counted.
        let (appended, resent) = appends.finish(self.transport.as_ref(), &dead_batch)?;
        report.appended = appended;
        for (slot, n) in resent.into_iter().enumerate() {
            duplicates[slot] += n;
        }

        for slot in 0..5 {
            let accepted = received[slot] - rejected[slot] - duplicates[slot];
            let c = &self.counters.topics[slot];
            // Accepted, rejected and duplicates move before received, so a reader never
            // sees received > accepted + rejected + duplicates for work that is done.
            c.accepted.fetch_add(accepted, Ordering::AcqRel);
            c.rejected.fetch_add(rejected[slot], Ordering::AcqRel);
            c.duplicates.fetch_add(duplicates[slot], Ordering::AcqRel);
            c.received.fetch_add(received[slot], Ordering::AcqRel);
            report.received += received[slot];
            report.accepted += accepted;
            report.rejected += rejected[slot];
            report.duplicates += duplicates[slot];
        }
        for (counter, n) in self.counters.by_reason.iter().zip(by_reason) {
            if n > 0 {
                counter.fetch_add(n, Ordering::AcqRel);
            }
        }
        Ok(report)
    }
}
