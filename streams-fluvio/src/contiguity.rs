//! Offset contiguity: every record handed on has exactly the next expected offset.
//!
//! fluvio 0.50.1 consumers were seen skipping records at fetch boundaries without any
//! error (NOTES.md). A read here assembles fetched records through an [`Assembler`]:
//! offsets below the expected one are dropped (the head of the first stored batch, or
//! a repeat after a reconnect), the expected one is taken, and a higher one is a gap.
//! [`fetch_contiguous`] answers a gap by fetching again from the expected offset, a
//! bounded number of times, then fails with [`FluvioError::Gap`] naming the topic, the
//! partition and the missing range. A record is never skipped.
//!
//! Nothing here touches the network: the fetch is a closure, so the logic is tested
//! with synthetic fetch results.

use std::future::Future;

use sellout_streams::Offset;

use crate::codec;
use crate::error::FluvioError;

/// Records of one partition gathered in offset order, in the batch layout.
#[derive(Debug)]
pub struct Assembler {
    from: Offset,
    expected: Offset,
    bytes: Vec<u8>,
    refetches: u32,
}

/// What absorbing one fetch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absorbed {
    /// Every fetched record continued the sequence (or repeated earlier ones).
    Contiguous,
    /// A record arrived with offset `found` while `expected` was still missing.
    Gap {
        /// The missing offset.
        expected: Offset,
        /// The offset that arrived instead.
        found: Offset,
    },
}

impl Assembler {
    /// An assembler expecting `from` first.
    pub fn new(from: Offset) -> Self {
        Self {
            from,
            expected: from,
            bytes: Vec::new(),
            refetches: 0,
        }
    }

    /// The next offset it expects.
    pub fn expected(&self) -> Offset {
        self.expected
    }

    /// Gaps answered by a re-fetch while gathering.
    pub fn refetches(&self) -> u32 {
        self.refetches
    }

    /// Number of records gathered.
    pub fn count(&self) -> u64 {
        self.expected - self.from
    }

    /// Takes fetched `(offset, value)` records in the order they came; stops at a gap.
    /// `check` vets each value before it is kept.
    pub fn absorb<V: AsRef<[u8]>>(
        &mut self,
        records: impl IntoIterator<Item = (Offset, V)>,
        mut check: impl FnMut(Offset, &[u8]) -> Result<(), FluvioError>,
    ) -> Result<Absorbed, FluvioError> {
        for (offset, value) in records {
            if offset < self.expected {
                continue;
            }
            if offset > self.expected {
                return Ok(Absorbed::Gap {
                    expected: self.expected,
                    found: offset,
                });
            }
            let value = value.as_ref();
            check(offset, value)?;
            self.bytes.extend_from_slice(value);
            self.expected += 1;
        }
        Ok(Absorbed::Contiguous)
    }

    /// The first offset, the record count and the concatenated records.
    pub fn into_parts(self) -> (Offset, u64, Vec<u8>) {
        (self.from, self.expected - self.from, self.bytes)
    }
}

/// Fetches records of `topic`/`partition` from `from` with `fetch(offset)`, re-fetching
/// from the expected offset after a gap. A gap at the same missing offset is re-fetched
/// at most `refetches` times, then the read fails; a re-fetch that gets past it resets
/// the count (the client drops records at fetch boundaries, so one long read may meet
/// several different gaps). Errors of `fetch` pass through unchanged.
pub async fn fetch_contiguous<F, Fut, V, E>(
    topic: &str,
    partition: u32,
    from: Offset,
    refetches: u32,
    mut fetch: F,
) -> Result<Assembler, E>
where
    F: FnMut(Offset) -> Fut,
    Fut: Future<Output = Result<Vec<(Offset, V)>, E>>,
    V: AsRef<[u8]>,
    E: From<FluvioError>,
{
    let mut asm = Assembler::new(from);
    // Fetches that ended in a gap at `stuck_at`.
    let mut fetches = 0u32;
    let mut stuck_at = None;
    loop {
        let records = fetch(asm.expected()).await?;
        let checked = asm.absorb(records, |offset, value| {
            codec::check_one(value).map_err(|detail| FluvioError::Corrupt {
                topic: topic.to_owned(),
                partition,
                offset,
                detail,
            })
        })?;
        match checked {
            Absorbed::Contiguous => return Ok(asm),
            Absorbed::Gap { expected, found } => {
                if stuck_at != Some(expected) {
                    stuck_at = Some(expected);
                    fetches = 0;
                }
                fetches += 1;
                if fetches > refetches {
                    return Err(FluvioError::Gap {
                        topic: topic.to_owned(),
                        partition,
                        missing_from: expected,
                        missing_to: found,
                        attempts: fetches,
                    }
                    .into());
                }
                asm.refetches += 1;
                tracing::warn!(
                    message = "Offset gap in a fetch; fetching again from the expected offset.",
                    topic,
                    partition,
                    expected,
                    found
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sellout_streams::RecordView;

    /// A stored partition of `n` records whose values encode their own offset.
    fn stored(n: u64) -> Vec<(Offset, Vec<u8>)> {
        (0..n)
            .map(|o| {
                let mut v = Vec::new();
                let payload = o.to_le_bytes();
                codec::encode_into(
                    &mut v,
                    &RecordView {
                        offset: o,
                        time: o as i64,
                        key: b"evt",
                        value: &payload,
                    },
                );
                (o, v)
            })
            .collect()
    }

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(rt) => rt.block_on(f),
            Err(e) => panic!("test runtime: {e}"),
        }
    }

    fn offsets_of(asm: Assembler) -> Vec<Offset> {
        let (from, count, bytes) = asm.into_parts();
        let got: Vec<Offset> = sellout_streams::batch::RecordIter::new(&bytes, from, count as u32)
            .map(|r| {
                let mut b = [0u8; 8];
                b.copy_from_slice(r.value);
                assert_eq!(u64::from_le_bytes(b), r.offset, "value matches offset");
                r.offset
            })
            .collect();
        got
    }

    #[test]
    fn contiguous_fetch_is_taken_whole_and_earlier_offsets_dropped() {
        let all = stored(10);
        let asm = block_on(fetch_contiguous("sales", 2, 3, 3, |_| {
            let all = all.clone();
            async move { Ok::<_, FluvioError>(all) }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(offsets_of(asm), (3..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_gap_is_refetched_from_the_expected_offset_and_filled() {
        let all = stored(10);
        let mut asked = Vec::new();
        let asm = block_on(fetch_contiguous("sales", 1, 0, 3, |from| {
            asked.push(from);
            // The first fetch loses offsets 4 and 5 at its boundary; a re-fetch is whole.
            let got: Vec<_> = if asked.len() == 1 {
                all.iter()
                    .filter(|(o, _)| *o != 4 && *o != 5)
                    .cloned()
                    .collect()
            } else {
                all.iter().filter(|(o, _)| *o >= from).cloned().collect()
            };
            async move { Ok::<_, FluvioError>(got) }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asked, vec![0, 4]);
        assert_eq!(asm.refetches(), 1);
        assert_eq!(offsets_of(asm), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_persistent_gap_fails_naming_topic_partition_and_range() {
        let all = stored(10);
        let mut fetches = 0;
        let err = block_on(fetch_contiguous("beacons", 3, 0, 2, |from| {
            fetches += 1;
            let got: Vec<_> = all
                .iter()
                .filter(|(o, _)| *o >= from && !(6..8).contains(o))
                .cloned()
                .collect();
            async move { Ok::<_, FluvioError>(got) }
        }));
        match err {
            Err(FluvioError::Gap {
                topic,
                partition,
                missing_from,
                missing_to,
                attempts,
            }) => {
                assert_eq!((topic.as_str(), partition), ("beacons", 3));
                assert_eq!((missing_from, missing_to, attempts), (6, 8, 3));
                let msg = FluvioError::Gap {
                    topic,
                    partition,
                    missing_from,
                    missing_to,
                    attempts,
                }
                .to_string();
                assert!(
                    msg.contains("beacons") && msg.contains("partition 3") && msg.contains("6..8")
                );
            }
            other => panic!("expected a gap error, got {other:?}"),
        }
        assert_eq!(fetches, 3);
    }

    #[test]
    fn gaps_at_different_offsets_each_get_their_own_refetches() {
        let all = stored(100);
        let mut asked = Vec::new();
        // Every fetch returns 10 records, then drops one (as at a fetch boundary).
        let asm = block_on(fetch_contiguous("sales", 0, 0, 1, |from| {
            asked.push(from);
            let got: Vec<_> = all
                .iter()
                .filter(|(o, _)| *o >= from && *o != from + 10)
                .cloned()
                .collect();
            async move { Ok::<_, FluvioError>(got) }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(offsets_of(asm), (0..100).collect::<Vec<_>>());
        assert_eq!(asked, (0..10).map(|k| k * 10).collect::<Vec<_>>());
    }

    #[test]
    fn a_gap_at_the_very_first_offset_is_a_gap_too() {
        let all = stored(5);
        let err = block_on(fetch_contiguous("sales", 0, 0, 0, |_| {
            let got: Vec<_> = all[2..].to_vec();
            async move { Ok::<_, FluvioError>(got) }
        }));
        assert!(matches!(
            err,
            Err(FluvioError::Gap {
                missing_from: 0,
                missing_to: 2,
                ..
            })
        ));
    }

    #[test]
    fn repeated_records_after_a_reconnect_are_not_doubled() {
        let all = stored(6);
        let mut asm = Assembler::new(0);
        let first: Vec<_> = all[..4].to_vec();
        let again: Vec<_> = all[2..].to_vec();
        let ok = |_: Offset, _: &[u8]| Ok(());
        assert_eq!(asm.absorb(first, ok).ok(), Some(Absorbed::Contiguous));
        assert_eq!(asm.absorb(again, ok).ok(), Some(Absorbed::Contiguous));
        assert_eq!(offsets_of(asm), (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn a_corrupt_value_fails_with_its_offset() {
        let mut all = stored(3);
        all[1].1.pop();
        let err = block_on(fetch_contiguous("sales", 0, 0, 1, |_| {
            let got = all.clone();
            async move { Ok::<_, FluvioError>(got) }
        }));
        assert!(matches!(err, Err(FluvioError::Corrupt { offset: 1, .. })));
    }
}
