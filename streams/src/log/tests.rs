//! Unit tests of the embedded log: round trips, rolls, reopen, retention, consumer
//! positions, validation, torn tails and failed writes.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::clock::ManualClock;

/// One record of the model: (offset, time, key, value).
type Rec = (Offset, i64, Vec<u8>, Vec<u8>);

fn config(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        ..LogConfig::default()
    }
    .with_fsync(FsyncPolicy::Never)
}

fn open(dir: &Path, config: LogConfig) -> EmbeddedLog {
    EmbeddedLog::open(dir, config, Arc::new(ManualClock::new(0))).expect("open")
}

/// A batch of `n` records whose content is derived from their offsets.
fn batch_at(first: Offset, n: u64, model: &mut Vec<Rec>) -> Batch {
    let mut batch = Batch::new();
    for o in first..first + n {
        let key = format!("k{}", o % 7).into_bytes();
        let value = vec![(o % 251) as u8; (o % 37) as usize * 3];
        batch.push(&key, o as i64 * 10, &value);
        model.push((o, o as i64 * 10, key, value));
    }
    batch
}

fn append_batches(log: &EmbeddedLog, topic: &str, sizes: &[u64], model: &mut Vec<Rec>) {
    for &n in sizes {
        let first = model.len() as u64;
        let ack = log
            .append(topic, &batch_at(first, n, model))
            .expect("append");
        assert_eq!(
            ack,
            AppendAck {
                base_offset: first,
                count: n as u32
            }
        );
    }
}

fn read_all(log: &EmbeddedLog, topic: &str, from: Offset, max_bytes: usize) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let fetched = log.read(topic, next, max_bytes).expect("read");
        if fetched.is_empty() {
            return out;
        }
        out.extend(
            fetched
                .records()
                .map(|r| (r.offset, r.time, r.key.to_vec(), r.value.to_vec())),
        );
        assert!(fetched.next_offset() > next);
        next = fetched.next_offset();
    }
}

fn segments(dir: &Path, topic: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("topics").join(topic))
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

#[test]
fn round_trip_across_rolls_from_every_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path(), config(600));
    let mut model = Vec::new();
    append_batches(
        &log,
        "sales",
        &[1, 5, 3, 8, 2, 1, 9, 4, 6, 7, 3, 2],
        &mut model,
    );
    assert!(
        segments(dir.path(), "sales").len() > 3,
        "small segments must roll"
    );
    assert_eq!(
        log.offsets("sales").expect("offsets"),
        TopicOffsets {
            start: 0,
            end: model.len() as u64
        }
    );
    for from in 0..model.len() as u64 {
        for max_bytes in [1, 100, 1 << 20] {
            assert_eq!(
                read_all(&log, "sales", from, max_bytes),
                model[from as usize..],
                "from {from} max {max_bytes}"
            );
        }
    }
    // A read starting mid-batch returns that whole batch but hides the records before `from`.
    let fetched = log.read("sales", 3, 1).expect("read");
    assert_eq!(
        (
            fetched.batches.len(),
            fetched.batches[0].base_offset,
            fetched.batches[0].count
        ),
        (1, 1, 5)
    );
    assert_eq!(fetched.records().next().map(|r| r.offset), Some(3));
    assert_eq!(fetched.next_offset(), 6);
    // At and past the end: empty.
    assert!(
        log.read("sales", model.len() as u64, 1 << 20)
            .expect("read")
            .is_empty()
    );
    assert!(log.read("sales", 10_000, 1 << 20).expect("read").is_empty());
    assert!(log.read("nothing", 0, 1 << 20).expect("read").is_empty());
    assert_eq!(log.topics().expect("topics"), vec!["sales".to_string()]);
}

#[test]
fn max_bytes_bounds_a_read_but_always_returns_one_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path(), config(1 << 20));
    let mut batch = Batch::new();
    for i in 0..10 {
        batch.push(b"key", i, &[7u8; 20]);
    }
    for _ in 0..4 {
        log.append("t", &batch).expect("append");
    }
    let body = batch.bytes().len();
    assert_eq!(log.read("t", 0, 1).expect("read").batches.len(), 1);
    assert_eq!(
        log.read("t", 0, body * 2 + body / 2)
            .expect("read")
            .batches
            .len(),
        2
    );
    assert_eq!(log.read("t", 0, body * 2).expect("read").batches.len(), 2);
    assert_eq!(log.read("t", 15, body * 2).expect("read").batches.len(), 2);
    assert_eq!(log.read("t", 0, usize::MAX).expect("read").batches.len(), 4);
}

#[test]
fn reopen_keeps_everything_and_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut model = Vec::new();
    {
        let log = open(dir.path(), config(500));
        append_batches(&log, "a", &[3, 4, 5, 6, 7, 8], &mut model);
        log.flush().expect("flush");
    }
    let log = open(dir.path(), config(500));
    assert!(log.recovery().is_empty());
    assert_eq!(read_all(&log, "a", 0, 1 << 20), model);
    append_batches(&log, "a", &[2, 9], &mut model);
    assert_eq!(read_all(&log, "a", 0, 333), model);
    assert_eq!(
        log.stats("a").expect("stats").offsets.end,
        model.len() as u64
    );
}

#[test]
fn empty_batches_too_large_batches_and_bad_names_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(
        dir.path(),
        LogConfig {
            max_batch_bytes: 100,
            ..config(1 << 20)
        },
    );
    assert_eq!(
        log.append("t", &Batch::new()).expect("empty"),
        AppendAck {
            base_offset: 0,
            count: 0
        }
    );
    assert!(
        log.topics().expect("topics").is_empty(),
        "an empty batch must not create the topic"
    );
    let mut big = Batch::new();
    big.push(b"k", 1, &[0u8; 100]);
    assert!(matches!(
        log.append("t", &big),
        Err(StreamError::BatchTooLarge { limit: 100, .. })
    ));
    assert_eq!(log.offsets("t").expect("offsets"), TopicOffsets::default());
    for bad in ["", "Sales", "a/b", "..", "a.b", "sales!", &"x".repeat(65)] {
        assert!(
            matches!(log.append(bad, &big), Err(StreamError::InvalidTopic(_))),
            "{bad:?}"
        );
        assert!(
            matches!(log.read(bad, 0, 1), Err(StreamError::InvalidTopic(_))),
            "{bad:?}"
        );
    }
    for good in ["a", "dead-letter_2", &"x".repeat(64)] {
        assert!(validate_topic(good).is_ok(), "{good:?}");
    }
    for bad in ["", "a/b", "a b", &"c".repeat(65)] {
        assert!(
            matches!(
                log.commit("t", bad, 1),
                Err(StreamError::InvalidConsumer(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(
                log.committed("t", bad),
                Err(StreamError::InvalidConsumer(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        log.commit("T", "ok", 1),
        Err(StreamError::InvalidTopic(_))
    ));
}

#[test]
fn consumer_positions_persist_across_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let log = open(dir.path(), config(1 << 20));
        assert_eq!(
            log.committed("sales", "pricing.v1").expect("committed"),
            None
        );
        log.commit("sales", "pricing.v1", 7).expect("commit");
        log.commit("sales", "pricing.v1", 42).expect("commit");
        log.commit("sales", "Notifier", 3).expect("commit");
        log.commit("beacons", "pricing.v1", 9).expect("commit");
        assert_eq!(
            log.committed("sales", "pricing.v1").expect("committed"),
            Some(42)
        );
    }
    let log = open(dir.path(), config(1 << 20));
    assert_eq!(
        log.committed("sales", "pricing.v1").expect("committed"),
        Some(42)
    );
    assert_eq!(
        log.committed("sales", "Notifier").expect("committed"),
        Some(3)
    );
    assert_eq!(
        log.committed("beacons", "pricing.v1").expect("committed"),
        Some(9)
    );
    assert_eq!(
        log.committed("beacons", "Notifier").expect("committed"),
        None
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("consumers/sales"))
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn retention_by_size_deletes_oldest_sealed_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(400);
    let log = open(dir.path(), cfg.clone());
    let mut model = Vec::new();
    append_batches(&log, "t", &[5; 12], &mut model);
    let before = log.stats("t").expect("stats");
    assert!(before.segments >= 4);
    assert!(
        log.enforce_retention()
            .expect("no limits")
            .deleted
            .is_empty()
    );
    drop(log);

    cfg.retention_max_bytes = Some(before.bytes / 2);
    let log = open(dir.path(), cfg);
    let report = log.enforce_retention().expect("retention");
    assert!(!report.deleted.is_empty());
    assert!(
        report
            .deleted
            .iter()
            .all(|d| d.reason == RetentionReason::Size && !d.segment.exists())
    );
    let after = log.stats("t").expect("stats");
    assert!(after.bytes <= before.bytes / 2, "{after:?}");
    assert_eq!(after.bytes + report.bytes_deleted(), before.bytes);
    // It stopped as soon as the topic fit: one more segment back would have been over.
    let smallest_deleted_back = report.deleted.last().map(|d| d.bytes).unwrap_or(0);
    assert!(after.bytes + smallest_deleted_back > before.bytes / 2);
    let start = after.offsets.start;
    assert!(start > 0);
    assert_eq!(read_all(&log, "t", start, 1 << 20), model[start as usize..]);
    match log.read("t", start - 1, 1 << 20) {
        Err(StreamError::OffsetRetained {
            requested,
            start: s,
            ..
        }) => assert_eq!((requested, s), (start - 1, start)),
        other => panic!("expected OffsetRetained, got {other:?}"),
    }
    // Retention also runs on each roll: the topic stays near the limit while growing.
    append_batches(&log, "t", &[5; 12], &mut model);
    assert!(log.stats("t").expect("stats").bytes <= before.bytes / 2 + 400);
}

#[test]
fn retention_by_age_uses_the_given_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(0));
    let cfg = LogConfig {
        retention_max_age_s: Some(10),
        ..config(300)
    };
    let log = EmbeddedLog::open(dir.path(), cfg, clock.clone()).expect("open");
    // Batches at event times 1 s, 2 s, ... 20 s: one per segment (they are ~330 bytes).
    for i in 1..=20i64 {
        let mut batch = Batch::new();
        batch.push(b"k", i * 1000, &[0u8; 300]);
        log.append("t", &batch).expect("append");
    }
    let segs = log.stats("t").expect("stats").segments;
    assert_eq!(segs, 20);
    clock.set(15_000); // cutoff 5 s: segments whose newest record is before 5 s go.
    let report = log.enforce_retention().expect("retention");
    assert_eq!(report.deleted.len(), 4);
    assert!(
        report
            .deleted
            .iter()
            .all(|d| d.reason == RetentionReason::Age)
    );
    assert_eq!(log.offsets("t").expect("offsets").start, 4);
    // The clock jumps a year ahead: age is measured from the newest record (20 s),
    // so only what is 10 s older than it goes, not the whole topic.
    clock.set(365 * 86_400_000);
    let jumped = log.enforce_retention().expect("retention");
    assert_eq!(jumped.deleted.len(), 5, "segments of 5 s .. 9 s");
    assert_eq!(log.offsets("t").expect("offsets").start, 9);
    clock.set(15_000);
    // Reopened, sealed segments are scanned for their event times before judging them.
    drop(log);
    let log = EmbeddedLog::open(
        dir.path(),
        LogConfig {
            retention_max_age_s: Some(10),
            ..config(300)
        },
        clock.clone(),
    )
    .expect("open");
    // A record at 1,000 s arrives: everything before 990 s is old now.
    clock.set(1_000_000);
    let mut batch = Batch::new();
    batch.push(b"k", 1_000_000, &[0u8; 300]);
    log.append("t", &batch).expect("append");
    // (The append rolled a segment, which runs retention too.)
    log.enforce_retention().expect("retention");
    assert_eq!(
        log.offsets("t").expect("offsets"),
        TopicOffsets { start: 20, end: 21 },
        "everything but the active segment"
    );
    assert_eq!(read_all(&log, "t", 20, 1 << 20).len(), 1);
}

/// Ways a crash (or a disk) can damage the tail of the last segment.
#[derive(Debug, Clone, Copy)]
enum Damage {
    MidHeader,
    MidBody,
    FlipLastByte,
    FlipHeaderByte,
    Garbage,
    ZeroTail,
}

#[test]
fn torn_tails_are_cut_and_appends_continue() {
    for damage in [
        Damage::MidHeader,
        Damage::MidBody,
        Damage::FlipLastByte,
        Damage::FlipHeaderByte,
        Damage::Garbage,
        Damage::ZeroTail,
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut model = Vec::new();
        {
            let log = open(dir.path(), config(700));
            append_batches(&log, "t", &[4, 6, 5, 3, 7, 2, 5, 6], &mut model);
        }
        let segs = segments(dir.path(), "t");
        let last = segs.last().expect("a segment").clone();
        let len = std::fs::metadata(&last).expect("meta").len();
        // The last batch of the last segment: find its frame start by reading back.
        let log = open(dir.path(), config(700));
        let last_batch = log
            .read("t", model.len() as u64 - 1, 1)
            .expect("read")
            .batches
            .remove(0);
        drop(log);
        let frame = (format::HEADER_LEN + last_batch.bytes.len()) as u64;
        let last_frame_at = len - frame;
        let mut keep = model.len() - last_batch.count as usize;
        let mut bytes = std::fs::read(&last).expect("read");
        match damage {
            Damage::MidHeader => bytes.truncate(last_frame_at as usize + 20),
            Damage::MidBody => bytes.truncate(len as usize - 3),
            Damage::FlipLastByte => *bytes.last_mut().expect("byte") ^= 0x01,
            Damage::FlipHeaderByte => bytes[last_frame_at as usize + 13] ^= 0x80,
            Damage::Garbage => {
                bytes.extend_from_slice(
                    b"\x00garbage that is not a frame at all, long enough to hold a header",
                );
                keep = model.len();
            }
            Damage::ZeroTail => {
                bytes.extend_from_slice(&[0u8; 4096]);
                keep = model.len();
            }
        }
        std::fs::write(&last, &bytes).expect("write");
        let log = open(dir.path(), config(700));
        assert_eq!(log.recovery().len(), 1, "{damage:?}");
        let rec = &log.recovery()[0];
        assert_eq!(
            (rec.topic.as_str(), &rec.segment),
            ("t", &last),
            "{damage:?}"
        );
        let expected_len = if keep == model.len() {
            len
        } else {
            last_frame_at
        };
        assert_eq!(
            rec.bytes_truncated,
            bytes.len() as u64 - expected_len,
            "{damage:?}"
        );
        assert_eq!(
            std::fs::metadata(&last).expect("meta").len(),
            expected_len,
            "{damage:?}"
        );
        model.truncate(keep);
        assert_eq!(read_all(&log, "t", 0, 1 << 20), model, "{damage:?}");
        assert_eq!(
            log.offsets("t").expect("offsets").end,
            keep as u64,
            "{damage:?}"
        );
        append_batches(&log, "t", &[3, 4], &mut model);
        drop(log);
        let log = open(dir.path(), config(700));
        assert!(log.recovery().is_empty(), "{damage:?}");
        assert_eq!(read_all(&log, "t", 0, 1 << 20), model, "{damage:?}");
    }
}

#[test]
fn corruption_in_a_sealed_segment_is_an_error_not_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut model = Vec::new();
    {
        let log = open(dir.path(), config(500));
        append_batches(&log, "t", &[5; 10], &mut model);
    }
    let first = segments(dir.path(), "t")[0].clone();
    let mut bytes = std::fs::read(&first).expect("read");
    let at = bytes.len() - 2;
    bytes[at] ^= 0xff;
    std::fs::write(&first, &bytes).expect("write");
    let log = open(dir.path(), config(500));
    assert!(log.recovery().is_empty(), "only the last segment is cut");
    assert!(matches!(
        log.read("t", 0, 1 << 20),
        Err(StreamError::Corrupt { .. })
    ));
    // Batches after the damage are still readable.
    let later = model.len() as u64 - 1;
    assert_eq!(read_all(&log, "t", later, 1 << 20), model[later as usize..]);

    // A sealed segment with a broken structure (cut short) is caught when indexed.
    drop(log);
    std::fs::write(&first, &bytes[..bytes.len() / 2]).expect("write");
    let log = open(dir.path(), config(500));
    assert!(matches!(
        log.read("t", 0, 1 << 20),
        Err(StreamError::Corrupt { .. })
    ));
}

#[test]
fn a_failed_write_is_cut_back_and_the_next_append_lands_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut model = Vec::new();
    let log = open(dir.path(), config(1 << 20));
    append_batches(&log, "t", &[3, 4], &mut model);
    let topic = log.inner.topic("t").expect("lock").expect("topic");
    topic
        .fail_next_write
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut scratch = Vec::new();
    let err = log
        .append("t", &batch_at(7, 5, &mut scratch))
        .expect_err("injected failure");
    assert!(matches!(err, StreamError::Io { .. }), "{err}");
    assert_eq!(log.offsets("t").expect("offsets").end, 7);
    append_batches(&log, "t", &[5], &mut model);
    assert_eq!(read_all(&log, "t", 0, 1 << 20), model);
    drop(topic);
    drop(log);
    let log = open(dir.path(), config(1 << 20));
    assert!(
        log.recovery().is_empty(),
        "the failed write left nothing behind"
    );
    assert_eq!(read_all(&log, "t", 0, 1 << 20), model);
}

#[test]
fn readers_never_see_a_partial_batch_while_appending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path(), config(2000));
    let total = 300u64;
    std::thread::scope(|s| {
        let log = &log;
        for _ in 0..2 {
            s.spawn(move || {
                let mut next = 0;
                while next < total {
                    let fetched = log.read("t", next, 700).expect("read");
                    for r in fetched.records() {
                        assert_eq!(r.offset, next, "contiguous");
                        assert_eq!(r.time, next as i64 * 10);
                        assert_eq!(r.value, vec![(next % 251) as u8; (next % 37) as usize * 3]);
                        next += 1;
                    }
                    if fetched.is_empty() {
                        std::thread::yield_now();
                    }
                }
            });
        }
        let mut model = Vec::new();
        while (model.len() as u64) < total {
            let first = model.len() as u64;
            let n = (first % 5 + 1).min(total - first);
            log.append("t", &batch_at(first, n, &mut model))
                .expect("append");
        }
    });
}

#[test]
fn every_policy_appends_and_flushes() {
    for policy in [
        FsyncPolicy::Always,
        FsyncPolicy::Interval { ms: 1 },
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut model = Vec::new();
        {
            let log = open(dir.path(), config(300).with_fsync(policy));
            append_batches(&log, "t", &[4, 4, 4, 4, 4], &mut model);
            log.flush().expect("flush");
            assert_eq!(log.config().fsync_policy(), policy);
        }
        let log = open(dir.path(), config(300));
        assert_eq!(read_all(&log, "t", 0, 1 << 20), model, "{policy:?}");
    }
}

#[test]
fn config_is_flat_defaulted_and_strict() {
    let cfg: LogConfig = serde_json::from_str("{}").expect("defaults");
    assert_eq!(cfg, LogConfig::default());
    assert_eq!(cfg.fsync_policy(), FsyncPolicy::Interval { ms: 100 });
    assert_eq!(
        (cfg.segment_bytes, cfg.max_batch_bytes),
        (64 << 20, 16 << 20)
    );
    let cfg: LogConfig = serde_json::from_str(
        r#"{"fsync":"always","segment_bytes":1024,"retention_max_bytes":5000,"retention_max_age_s":60}"#,
    )
    .expect("parse");
    assert_eq!(cfg.fsync_policy(), FsyncPolicy::Always);
    assert_eq!(
        cfg.retention(),
        Retention {
            max_bytes: Some(5000),
            max_age_ms: Some(60_000)
        }
    );
    assert!(serde_json::from_str::<LogConfig>(r#"{"fsynk":"always"}"#).is_err());
    assert!(serde_json::from_str::<LogConfig>(r#"{"fsync":"sometimes"}"#).is_err());
    let json = serde_json::to_value(LogConfig::default()).expect("serialise");
    assert_eq!(json["fsync"], "interval");
    assert!(json.get("retention_max_bytes").is_none());
}

#[test]
fn bench_runs_and_reads_back_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let figures = bench::run(dir.path(), 200_000, 200, 100).expect("bench");
    assert_eq!((figures.records, figures.bytes), (1000, 200_000));
    assert!(
        figures.append_mb_per_sec > 0.0
            && figures.read_mb_per_sec > 0.0
            && figures.raw_write_mb_per_sec > 0.0
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "the bench cleans up"
    );
}

#[test]
fn a_topic_whose_only_segment_is_empty_opens_at_its_base() {
    // A topic directory whose only segment is empty (a crash right after a roll or
    // topic creation) opens at its base offset.
    let dir = tempfile::tempdir().expect("tempdir");
    let tdir = dir.path().join("topics/t");
    std::fs::create_dir_all(&tdir).expect("mkdir");
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(tdir.join(segment::file_name(0)))
        .and_then(|mut f| f.write_all(b""))
        .expect("create");
    let log = open(dir.path(), config(1 << 20));
    assert_eq!(log.offsets("t").expect("offsets"), TopicOffsets::default());
    let mut model = Vec::new();
    append_batches(&log, "t", &[2], &mut model);
    assert_eq!(read_all(&log, "t", 0, 1), model);
}

#[test]
fn the_interval_flusher_syncs_dirty_topics_and_the_log_is_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<EmbeddedLog>();

    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(
        dir.path(),
        config(1 << 20).with_fsync(FsyncPolicy::Interval { ms: 1 }),
    );
    let mut model = Vec::new();
    append_batches(&log, "t", &[3], &mut model);
    let topic = log.inner.topic("t").expect("lock").expect("topic");
    // Wait for the flusher's pass (bounded, so a dead flusher fails instead of hanging).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while topic.is_dirty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the flusher never synced the topic"
        );
        std::thread::yield_now();
    }
    // Under `never`, nothing marks topics for the flusher (there is none).
    let dir = tempfile::tempdir().expect("tempdir");
    let log = open(dir.path(), config(1 << 20));
    append_batches(&log, "t", &[3], &mut Vec::new());
    assert!(
        !log.inner
            .topic("t")
            .expect("lock")
            .expect("topic")
            .is_dirty()
    );
}

#[test]
fn a_second_open_of_the_same_log_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(0));
    let first = EmbeddedLog::open(dir.path(), LogConfig::default(), clock.clone()).expect("open");
    match EmbeddedLog::open(dir.path(), LogConfig::default(), clock.clone()) {
        Err(StreamError::Unavailable(message)) => {
            assert!(message.contains("another process"), "{message}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    drop(first);
    EmbeddedLog::open(dir.path(), LogConfig::default(), clock).expect("open again");
}
