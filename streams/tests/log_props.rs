//! Property tests of the embedded log against a model: random batches (keys, values,
//! times) with segments small enough to roll often, read back from random offsets; and
//! a last segment truncated at a random length, which must reopen as exactly a prefix
//! of whole batches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use sellout_streams::log::{EmbeddedLog, FsyncPolicy, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

/// (key, time, value)
type Rec = (Vec<u8>, i64, Vec<u8>);

/// Bytes of a stored frame's header (the frame is header + batch body).
const FRAME_HEADER: u64 = 44;

fn record() -> impl Strategy<Value = Rec> {
    (
        vec(any::<u8>(), 0..12),
        any::<i64>(),
        vec(any::<u8>(), 0..120),
    )
}

fn batches() -> impl Strategy<Value = Vec<Vec<Rec>>> {
    vec(vec(record(), 1..8), 1..25)
}

fn open(dir: &Path, segment_bytes: u64) -> EmbeddedLog {
    let config = LogConfig {
        segment_bytes,
        ..LogConfig::default()
    }
    .with_fsync(FsyncPolicy::Never);
    EmbeddedLog::open(dir, config, Arc::new(ManualClock::new(0))).expect("open")
}

fn to_batch(records: &[Rec]) -> Batch {
    let mut batch = Batch::new();
    for (key, time, value) in records {
        batch.push(key, *time, value);
    }
    batch
}

/// Every record from `from` to the end, read `max_bytes` at a time.
fn read_from(log: &EmbeddedLog, from: u64, max_bytes: usize) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let fetched = log.read("t", next, max_bytes).expect("read");
        if fetched.is_empty() {
            return out;
        }
        for r in fetched.records() {
            assert_eq!(r.offset, next, "offsets are contiguous");
            next += 1;
            out.push((r.key.to_vec(), r.time, r.value.to_vec()));
        }
    }
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("topics/t"))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files.pop().expect("a segment")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn appended_batches_read_back_from_any_offset(
        batches in batches(),
        segment_bytes in 64u64..3000,
        reads in vec((any::<prop::sample::Index>(), 1usize..4000), 1..8),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut model: Vec<Rec> = Vec::new();
        {
            let log = open(dir.path(), segment_bytes);
            for records in &batches {
                let ack = log.append("t", &to_batch(records)).expect("append");
                prop_assert_eq!(ack.base_offset, model.len() as u64);
                prop_assert_eq!(ack.count as usize, records.len());
                model.extend(records.iter().cloned());
            }
            for (at, max_bytes) in &reads {
                let from = at.index(model.len() + 1) as u64;
                prop_assert_eq!(&read_from(&log, from, *max_bytes), &model[from as usize..]);
            }
        }
        let log = open(dir.path(), segment_bytes);
        prop_assert!(log.recovery().is_empty());
        for (at, max_bytes) in &reads {
            let from = at.index(model.len() + 1) as u64;
            prop_assert_eq!(&read_from(&log, from, *max_bytes), &model[from as usize..]);
        }
    }

    #[test]
    fn a_truncated_last_segment_reopens_as_a_prefix_of_whole_batches(
        batches in batches(),
        segment_bytes in 64u64..3000,
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut model: Vec<Rec> = Vec::new();
        // (first offset, frame bytes) of each batch.
        let mut frames = Vec::new();
        {
            let log = open(dir.path(), segment_bytes);
            for records in &batches {
                let batch = to_batch(records);
                frames.push((model.len() as u64, FRAME_HEADER + batch.bytes().len() as u64));
                log.append("t", &batch).expect("append");
                model.extend(records.iter().cloned());
            }
        }
        let last = last_segment(dir.path());
        let base: u64 = last
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .expect("segment name");
        let len = std::fs::metadata(&last).expect("meta").len();
        let keep = cut.index(len as usize + 1) as u64;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&last)
            .and_then(|f| f.set_len(keep))
            .expect("truncate");

        // The batches of the last segment that fit whole in `keep` bytes survive.
        let mut end = base;
        let mut used = 0;
        for &(first, frame) in frames.iter().filter(|(first, _)| *first >= base) {
            if used + frame > keep {
                break;
            }
            used += frame;
            end = frames
                .iter()
                .find(|(f, _)| *f > first)
                .map(|(f, _)| *f)
                .unwrap_or(model.len() as u64);
        }
        let log = open(dir.path(), segment_bytes);
        prop_assert_eq!(log.offsets("t").expect("offsets").end, end);
        prop_assert_eq!(&read_from(&log, 0, 1 << 20), &model[..end as usize]);
        let cut_bytes: u64 = log.recovery().iter().map(|r| r.bytes_truncated).sum();
        prop_assert_eq!(cut_bytes, keep - used);

        // Appends continue right after the surviving prefix.
        let extra = vec![(b"k".to_vec(), 1, b"v".to_vec())];
        let ack = log.append("t", &to_batch(&extra)).expect("append");
        prop_assert_eq!(ack.base_offset, end);
        let mut expected = model[..end as usize].to_vec();
        expected.extend(extra);
        prop_assert_eq!(&read_from(&log, 0, 1000), &expected);
    }
}
