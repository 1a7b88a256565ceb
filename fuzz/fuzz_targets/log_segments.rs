//! The embedded log on corrupted files: arbitrary bytes as segment files (and a
//! consumer position), then open, read everything, append, reopen and read again. Must
//! return errors or cut the torn tail; never panic, hang or allocate without bound, and
//! an acknowledged append must survive the reopen.
//!
//! Input: a flags byte, then parts separated by [`PART_SEPARATOR`]; each part is a
//! base-offset byte (`0..=239` as is, `240..=255` the last 16 offsets below `u64::MAX`)
//! and the segment's bytes. Flags: bit 0 fixes the frames' CRCs (so mutated bodies get
//! past the checksum), bit 1 makes the last part a consumer position file instead,
//! bits 2-3 pick the read budget, bit 4 sets a one-byte retention limit.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sellout_fuzz::segments::{PART_SEPARATOR, fix_crcs};
use sellout_fuzz::split_selector;
use sellout_streams::log::{EmbeddedLog, FsyncMode, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const TOPIC: &str = "t";
const CONSUMER: &str = "c";

fn base_offset(selector: u8) -> u64 {
    if selector < 240 {
        u64::from(selector)
    } else {
        u64::MAX - u64::from(255 - selector)
    }
}

/// Reads the whole topic in `max_bytes` steps; every step must make progress.
fn read_all(log: &EmbeddedLog, max_bytes: usize) {
    let Ok(offsets) = log.offsets(TOPIC) else {
        return;
    };
    let mut from = offsets.start;
    while from < offsets.end {
        let Ok(fetched) = log.read(TOPIC, from, max_bytes) else {
            return;
        };
        if fetched.is_empty() {
            return;
        }
        for record in fetched.records() {
            std::hint::black_box(record);
        }
        let next = fetched.next_offset();
        assert!(next > from, "a read from {from} made no progress");
        from = next;
    }
}

fn config(retention: bool) -> LogConfig {
    LogConfig {
        fsync: FsyncMode::Never,
        segment_bytes: 4096,
        retention_max_bytes: retention.then_some(1),
        ..LogConfig::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = split_selector(data);
    let mut parts: Vec<&[u8]> = sellout_fuzz::split_on(rest, PART_SEPARATOR);
    let position = if flags & 2 != 0 { parts.pop() } else { None };
    let max_bytes = [1usize, 64, 4096, 1 << 20][usize::from((flags >> 2) & 3)];
    let retention = flags & 16 != 0;

    // In memory where there is a tmpfs: the log fsyncs what it repairs, and a disk makes
    // that the whole cost of a run.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    };
    let Ok(dir) = dir else {
        return;
    };
    let topic_dir = dir.path().join("topics").join(TOPIC);
    let consumer_dir = dir.path().join("consumers").join(TOPIC);
    if std::fs::create_dir_all(&topic_dir).is_err()
        || std::fs::create_dir_all(&consumer_dir).is_err()
    {
        return;
    }
    for part in parts.iter().take(4) {
        let (selector, bytes) = split_selector(part);
        let mut bytes = bytes.to_vec();
        if flags & 1 != 0 {
            fix_crcs(&mut bytes);
        }
        let name = format!("{:020}.log", base_offset(selector));
        if std::fs::write(topic_dir.join(name), &bytes).is_err() {
            return;
        }
    }
    if let Some(position) = position
        && std::fs::write(consumer_dir.join(format!("{CONSUMER}.pos")), position).is_err()
    {
        return;
    }

    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let ack = {
        let Ok(log) = EmbeddedLog::open(dir.path(), config(retention), clock.clone()) else {
            return;
        };
        read_all(&log, max_bytes);
        let _ = log.committed(TOPIC, CONSUMER);
        if let Ok(offsets) = log.offsets(TOPIC) {
            let _ = log.commit(TOPIC, CONSUMER, offsets.end);
        }
        if retention {
            let _ = log.enforce_retention();
        }
        let _ = log.stats(TOPIC);
        let mut batch = Batch::new();
        batch.push(b"key", 7, b"appended after recovery");
        log.append(TOPIC, &batch).ok()
    };

    let Ok(log) = EmbeddedLog::open(dir.path(), config(retention), clock) else {
        assert!(
            ack.is_none(),
            "an acknowledged append made the log unopenable"
        );
        return;
    };
    read_all(&log, max_bytes);
    if let Some(ack) = ack
        && !retention
    {
        let fetched = log.read(TOPIC, ack.base_offset, 1 << 20);
        let found = fetched.as_ref().ok().and_then(|f| {
            f.records()
                .find(|r| r.offset == ack.base_offset)
                .map(|r| r.value.to_vec())
        });
        assert_eq!(
            found.as_deref(),
            Some(&b"appended after recovery"[..]),
            "the append acknowledged at {} was lost on reopen ({:?})",
            ack.base_offset,
            fetched.map(|f| f.batches.len())
        );
    }
});
