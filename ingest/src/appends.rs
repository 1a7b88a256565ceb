//! The append stage of one ingest call ([`TopicAppends`]): each input topic's accepted
//! records handed to the transport in parts while validation goes on, then all of it
//! acknowledged, with the re-send claims of whatever could not be appended released.
//!
//! Parts of [`PART_RECORDS`] validated records go to one [`Appending`] per topic
//! ([`Transport::begin_append`]). A part's records are claimed in the re-send window
//! together, just before it is handed over; re-sends found then leave the part. On
//! Fluvio the first parts are on their way while later ones are validated; on the
//! embedded log they are collected and written at the end, as one batch per topic as
//! before. Dead letters are appended first, then each
//! topic's append is finished, in the fixed order of [`Topic::ALL`].
//!
//! A failed topic does not stop the others: what was handed over may be on its way
//! already, and finishing it keeps its claims truthful. The claims of a topic that
//! failed are released, so the caller's retry of the whole input appends exactly those
//! records and counts the rest as re-sends.

use std::collections::BTreeMap;

use sellout_streams::{Appending, Batch, StreamError, Transport};

use crate::deadletter;
use crate::dedup::Resends;
use crate::ingestor::{Appended, IngestError};
use crate::records::Topic;

/// Validated records per topic between two hand-overs: large enough that a hand-over
/// costs little, small enough that a networked transport starts sending early.
pub(crate) const PART_RECORDS: usize = 2_048;

/// The appends of one ingest call, one per input topic.
pub(crate) struct TopicAppends<'a> {
    resends: &'a Resends,
    /// Per topic (in [`Topic::ALL`] order): the append, or why it failed.
    appends: [Result<Box<dyn Appending + 'a>, StreamError>; 4],
    /// Records not yet handed over, per topic.
    parts: [Batch; 4],
    /// Fingerprints of each topic's part, not yet claimed.
    unclaimed: [Vec<u64>; 4],
    /// Fingerprints claimed for each topic's records, to release on failure.
    claimed: [Vec<u64>; 4],
    /// Re-sends found per topic: counted, not appended.
    resent: [u64; 4],
    /// Records added since the last hand-over.
    pending: usize,
}

impl<'a> TopicAppends<'a> {
    /// Begins one append per input topic, in the fixed order of [`Topic::ALL`].
    pub(crate) fn begin(
        transport: &'a dyn Transport,
        resends: &'a Resends,
    ) -> Result<Self, IngestError> {
        let begin = |topic: Topic| {
            transport
                .begin_append(topic.as_str())
                .map_err(|source| IngestError::Append {
                    topic: topic.as_str(),
                    source,
                })
        };
        let [a, b, c, d] = Topic::ALL;
        Ok(Self {
            resends,
            appends: [Ok(begin(a)?), Ok(begin(b)?), Ok(begin(c)?), Ok(begin(d)?)],
            parts: Default::default(),
            unclaimed: Default::default(),
            claimed: Default::default(),
            resent: [0; 4],
            pending: 0,
        })
    }

    /// Adds one valid record of topic `slot` (its index in [`Topic::ALL`]); it is
    /// claimed in the re-send window with the rest of its part ([`Self::hand_over`]).
    pub(crate) fn add(
        &mut self,
        slot: usize,
        key: &[u8],
        time: i64,
        value: &[u8],
        fingerprint: u64,
    ) {
        let (Some(part), Some(unclaimed)) =
            (self.parts.get_mut(slot), self.unclaimed.get_mut(slot))
        else {
            return;
        };
        part.push(key, time, value);
        unclaimed.push(fingerprint);
        self.pending += 1;
        if self.pending >= PART_RECORDS {
            self.hand_over(false);
        }
    }

    /// Hands every topic's part to its append (`last`: no more parts follow).
    fn hand_over(&mut self, last: bool) {
        for (slot, topic) in Topic::ALL.into_iter().enumerate() {
            let part = &mut self.parts[slot];
            if part.is_empty() {
                continue;
            }
            // The next part starts with room for as many bytes: no regrowing.
            let room = if last { 0 } else { part.bytes().len() };
            let mut part = std::mem::replace(part, Batch::with_capacity(room));
            let prints = std::mem::take(&mut self.unclaimed[slot]);
            let resent = self.resends.claim_all(topic, &prints);
            if !resent.is_empty() {
                part = without(&part, &resent);
                self.resent[slot] += resent.len() as u64;
            }
            let claimed = &mut self.claimed[slot];
            let mut skip = resent.iter().peekable();
            for (i, f) in prints.into_iter().enumerate() {
                if skip.next_if_eq(&&i).is_none() {
                    claimed.push(f);
                }
            }
            let append = &mut self.appends[slot];
            if part.is_empty() {
                continue;
            }
            if let Ok(a) = append
                && let Err(e) = a.push(part)
            {
                *append = Err(e);
            }
        }
        self.pending = 0;
    }

    /// Appends `dead` to the dead-letter topic, then finishes every topic's append.
    /// The offsets of each topic appended to and the re-sends found per topic (in
    /// [`Topic::ALL`] order), or the first failure (with the claims of every topic not
    /// appended released).
    pub(crate) fn finish(
        mut self,
        transport: &dyn Transport,
        dead: &Batch,
    ) -> Result<(BTreeMap<&'static str, Appended>, [u64; 4]), IngestError> {
        self.hand_over(true);
        let mut first_error = transport
            .append(deadletter::TOPIC, dead)
            .err()
            .map(|source| IngestError::Append {
                topic: deadletter::TOPIC,
                source,
            });
        let mut appended = BTreeMap::new();
        let Self {
            resends,
            appends,
            claimed,
            resent,
            ..
        } = self;
        for ((topic, append), claimed) in Topic::ALL.into_iter().zip(appends).zip(claimed) {
            if claimed.is_empty() {
                // Nothing handed over: dropping the append abandons nothing.
                continue;
            }
            match append.and_then(|a| a.finish()) {
                Ok(ack) => {
                    appended.insert(
                        topic.as_str(),
                        Appended {
                            first_offset: ack.base_offset,
                            count: ack.count,
                        },
                    );
                }
                Err(source) => {
                    resends.release(topic, &claimed);
                    first_error.get_or_insert(IngestError::Append {
                        topic: topic.as_str(),
                        source,
                    });
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok((appended, resent)),
        }
    }
}

/// `part` without the records at `positions` (ascending).
fn without(part: &Batch, positions: &[usize]) -> Batch {
    let mut kept = Batch::with_capacity(part.bytes().len());
    let mut skip = positions.iter().peekable();
    for (i, r) in part.iter(0).enumerate() {
        if skip.next_if_eq(&&i).is_none() {
            kept.push(r.key, r.time, r.value);
        }
    }
    kept
}
