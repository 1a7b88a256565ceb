//! Regression tests from fuzzing the log on hostile files (`fuzz/`, target
//! `log_segments`): each input once made the log panic instead of answering an error.

use std::path::Path;
use std::sync::Arc;

use super::format::FrameHeader;
use super::*;
use crate::clock::ManualClock;

fn open(dir: &Path) -> Result<EmbeddedLog, StreamError> {
    let config = LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    }
    .with_fsync(FsyncPolicy::Never);
    EmbeddedLog::open(dir, config, Arc::new(ManualClock::new(0)))
}

fn write_segment(dir: &Path, base: Offset, bytes: &[u8]) {
    let tdir = dir.join("topics/t");
    std::fs::create_dir_all(&tdir).expect("mkdir");
    std::fs::write(tdir.join(segment::file_name(base)), bytes).expect("write segment");
}

fn two_records() -> Batch {
    let mut batch = Batch::new();
    batch.push(b"k", 1, b"one");
    batch.push(b"k", 2, b"two");
    batch
}

#[test]
fn appending_past_the_largest_offset_is_an_error() {
    // An empty segment named for offset u64::MAX: the topic ends there, and an append
    // used to overflow numbering its records.
    let dir = tempfile::tempdir().expect("tempdir");
    write_segment(dir.path(), u64::MAX, b"");
    let log = open(dir.path()).expect("open");
    assert_eq!(log.offsets("t").expect("offsets").end, u64::MAX);
    let err = log.append("t", &two_records()).unwrap_err();
    assert!(
        matches!(&err, StreamError::Corrupt { detail, .. } if detail.contains("no room")),
        "{err}"
    );
    drop(log);
    let log = open(dir.path()).expect("reopen");
    assert_eq!(log.offsets("t").expect("offsets").end, u64::MAX);
}

#[test]
fn a_batch_numbered_past_the_largest_offset_is_cut_as_torn() {
    // A well-formed, checksummed frame whose offsets run past u64::MAX: scanning it on
    // open used to overflow; now it is a bad header, cut like any torn tail.
    let dir = tempfile::tempdir().expect("tempdir");
    let batch = two_records();
    let base = u64::MAX - 1;
    let header = FrameHeader::for_body(batch.bytes(), 2, base, 1, 2);
    let frame = [&header.encode()[..], batch.bytes()].concat();
    write_segment(dir.path(), base, &frame);
    let log = open(dir.path()).expect("open");
    let cut = log.recovery();
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].bytes_truncated, frame.len() as u64);
    assert!(
        cut[0].reason.contains("past the largest offset"),
        "{}",
        cut[0].reason
    );
    assert_eq!(log.offsets("t").expect("offsets").end, base);
    assert!(log.read("t", base, 1 << 20).expect("read").is_empty());
}
