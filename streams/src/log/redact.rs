//! Redaction of sealed segments: records a caller picks get a new key and value of the
//! same lengths, in place, so offsets, frame positions and the sparse index stay as
//! they were; each changed batch gets its CRC recomputed.
//!
//! A segment that changes is written whole to `<segment>.redact`, fsynced, renamed over
//! the segment and the directory fsynced: a crash leaves the old file or the new one
//! (a leftover `.redact` file is not a segment and is overwritten by the next pass).
//! Readers that planned a read before the swap finish it on the old file (their handle
//! keeps it), later reads use the new one. The active segment is never touched: its
//! records are redacted by the first pass after it is sealed. Redaction and retention
//! of one topic take turns, so retention can't delete a segment being rewritten.

use std::path::Path;
use std::sync::Arc;

use super::format::{FrameHeader, HEADER_LEN};
use super::segment::Segment;
use super::topic::{Topic, sync_dir};
use crate::batch::RecordView;
use crate::transport::{Offset, StreamError};

/// A caller's choice per record: `Some((key, value))` replaces it. A replacement whose
/// key or value length differs from the original is refused (counted, not written).
pub type Rewrite<'a> = dyn FnMut(&RecordView<'_>) -> Option<(Vec<u8>, Vec<u8>)> + 'a;

/// What one redaction pass over one topic did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactReport {
    /// Sealed segments read.
    pub segments_scanned: usize,
    /// Segments rewritten.
    pub segments_rewritten: usize,
    /// Records replaced.
    pub records_redacted: u64,
    /// Replacements refused because their lengths differed.
    pub refused: u64,
    /// The first offset not looked at: the active segment's base (for one topic; a
    /// later pass over the same rewrite may start there).
    pub sealed_end: Offset,
}

impl RedactReport {
    /// Adds `other` to this report.
    pub fn add(&mut self, other: RedactReport) {
        self.segments_scanned += other.segments_scanned;
        self.segments_rewritten += other.segments_rewritten;
        self.records_redacted += other.records_redacted;
        self.refused += other.refused;
        self.sealed_end = self.sealed_end.max(other.sealed_end);
    }
}

impl Topic {
    /// Applies `rewrite` to every record of the sealed segments holding offsets at or
    /// after `from`.
    pub fn redact_sealed(
        &self,
        from: Offset,
        rewrite: &mut Rewrite<'_>,
    ) -> Result<RedactReport, StreamError> {
        let _turn = self.maintenance()?;
        let (sealed, active) = self.sealed_segments()?;
        let mut report = RedactReport {
            sealed_end: active.max(from),
            ..RedactReport::default()
        };
        for (seg, _) in sealed.into_iter().filter(|(_, end)| *end > from) {
            report.segments_scanned += 1;
            let (bytes, redacted, refused) = redact_file(&seg.path, rewrite)?;
            report.refused += refused;
            if redacted == 0 {
                continue;
            }
            let tmp = seg.path.with_extension("log.redact");
            write_synced(&tmp, &bytes)?;
            std::fs::rename(&tmp, &seg.path)
                .map_err(|e| StreamError::io(format!("renaming {}", tmp.display()), e))?;
            if let Some(dir) = seg.path.parent() {
                sync_dir(dir)?;
            }
            self.replace_segment(Arc::new(Segment::open(seg.path.clone(), seg.base)?))?;
            report.segments_rewritten += 1;
            report.records_redacted += redacted;
        }
        Ok(report)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StreamError> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)
        .map_err(|e| StreamError::io(format!("creating {}", path.display()), e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| StreamError::io(format!("writing {}", path.display()), e))
}

/// The segment's bytes with `rewrite` applied, how many records changed, and how many
/// replacements were refused. Every batch's CRC is checked first: a damaged segment is
/// an error, never rewritten with a fresh CRC over the damage.
fn redact_file(path: &Path, rewrite: &mut Rewrite<'_>) -> Result<(Vec<u8>, u64, u64), StreamError> {
    let corrupt = |detail: String| StreamError::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    let mut bytes = std::fs::read(path)
        .map_err(|e| StreamError::io(format!("reading segment {}", path.display()), e))?;
    let (mut redacted, mut refused) = (0, 0);
    let mut pos = 0usize;
    while pos < bytes.len() {
        let raw: [u8; HEADER_LEN] = bytes
            .get(pos..pos + HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| corrupt(format!("incomplete header at byte {pos}")))?;
        let header = FrameHeader::decode(&raw).map_err(|d| corrupt(format!("byte {pos}: {d}")))?;
        let start = pos + HEADER_LEN;
        let end = start + header.body_len as usize;
        let body = bytes
            .get_mut(start..end)
            .ok_or_else(|| corrupt(format!("incomplete batch at byte {pos}")))?;
        if !header.verify(body) {
            return Err(corrupt(format!("checksum mismatch in batch at byte {pos}")));
        }
        let (changed, no) = redact_body(body, header.base_offset, header.count, rewrite)
            .map_err(|d| corrupt(format!("batch at byte {pos}: {d}")))?;
        refused += no;
        if changed > 0 {
            redacted += changed;
            let fresh = FrameHeader::for_body(
                body,
                header.count,
                header.base_offset,
                header.min_time,
                header.max_time,
            );
            bytes[pos..start].copy_from_slice(&fresh.encode());
        }
        pos = end;
    }
    Ok((bytes, redacted, refused))
}

/// Applies `rewrite` to the records of one batch body in place.
fn redact_body(
    body: &mut [u8],
    base: Offset,
    count: u32,
    rewrite: &mut Rewrite<'_>,
) -> Result<(u64, u64), String> {
    let (mut changed, mut refused) = (0, 0);
    let mut at = 0usize;
    for i in 0..u64::from(count) {
        let field = |from: usize, len: usize| {
            body.get(from..from + len)
                .ok_or_else(|| format!("record {i} runs past the batch"))
        };
        let time = i64::from_le_bytes(field(at, 8)?.try_into().map_err(|_| "time")?);
        let key_len = u16::from_le_bytes(field(at + 8, 2)?.try_into().map_err(|_| "key")?);
        let key_at = at + 10;
        let key_len = usize::from(key_len);
        let len_at = key_at + key_len;
        let value_len = u32::from_le_bytes(field(len_at, 4)?.try_into().map_err(|_| "len")?);
        let value_at = len_at + 4;
        let value_len = value_len as usize;
        field(value_at, value_len)?;
        let view = RecordView {
            offset: base + i,
            time,
            key: &body[key_at..key_at + key_len],
            value: &body[value_at..value_at + value_len],
        };
        if let Some((key, value)) = rewrite(&view) {
            if key.len() == key_len && value.len() == value_len {
                body[key_at..key_at + key_len].copy_from_slice(&key);
                body[value_at..value_at + value_len].copy_from_slice(&value);
                changed += 1;
            } else {
                refused += 1;
            }
        }
        at = value_at + value_len;
    }
    Ok((changed, refused))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::super::{EmbeddedLog, FsyncPolicy, LogConfig};
    use crate::batch::Batch;
    use crate::clock::ManualClock;
    use crate::transport::Transport;

    fn open(dir: &std::path::Path) -> EmbeddedLog {
        let config = LogConfig {
            segment_bytes: 1024,
            ..LogConfig::default()
        }
        .with_fsync(FsyncPolicy::Never);
        EmbeddedLog::open(dir, config, Arc::new(ManualClock::new(0))).expect("open")
    }

    /// (offset, key, value) of every record.
    fn all(log: &EmbeddedLog) -> Vec<(u64, Vec<u8>, Vec<u8>)> {
        let fetched = log.read("t", 0, usize::MAX).expect("read");
        fetched
            .records()
            .map(|r| (r.offset, r.key.to_vec(), r.value.to_vec()))
            .collect()
    }

    fn segment_files(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("topics/t"))
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn sealed_segments_are_redacted_in_place_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = open(dir.path());
        for chunk in 0..20u64 {
            let mut batch = Batch::new();
            for i in chunk * 10..chunk * 10 + 10 {
                let secret = i % 3 == 0;
                let key = if secret { "who-alice" } else { "who-bob00" };
                let value = format!("{}-{i:04}", if secret { "secret" } else { "public" });
                batch.push(key.as_bytes(), i as i64, value.as_bytes());
            }
            log.append("t", &batch).expect("append");
        }
        let before = all(&log);
        let sealed_end = {
            let files = segment_files(dir.path());
            assert!(files.len() > 3, "{files:?}");
            let last = files.last().and_then(|p| p.file_stem()).expect("name");
            last.to_string_lossy().parse::<u64>().expect("base")
        };
        let mut calls = 0;
        let report = log
            .redact("t", 0, &mut |r| {
                calls += 1;
                (r.key == b"who-alice")
                    .then(|| (vec![b'*'; r.key.len()], vec![b'#'; r.value.len()]))
            })
            .expect("redact");
        assert_eq!(calls as u64, sealed_end, "every sealed record seen once");
        let secret_sealed = (0..sealed_end).filter(|i| i % 3 == 0).count() as u64;
        assert_eq!(report.records_redacted, secret_sealed);
        assert_eq!(report.refused, 0);
        assert!(report.segments_rewritten > 0);
        assert_eq!(report.sealed_end, sealed_end);
        let mut later = 0;
        let again = log
            .redact("t", report.sealed_end, &mut |_| {
                later += 1;
                None
            })
            .expect("again");
        assert_eq!(
            (later, again.segments_scanned),
            (0, 0),
            "nothing sealed since"
        );

        let check = |log: &EmbeddedLog| {
            let after = all(log);
            assert_eq!(after.len(), before.len());
            for ((o, k, v), (bo, bk, bv)) in after.iter().zip(&before) {
                assert_eq!(o, bo);
                if *o < sealed_end && bk == b"who-alice" {
                    assert!(k.iter().all(|&b| b == b'*') && v.iter().all(|&b| b == b'#'));
                    assert_eq!((k.len(), v.len()), (bk.len(), bv.len()));
                } else {
                    assert_eq!((k, v), (bk, bv), "offset {o} untouched");
                }
            }
        };
        check(&log);
        // Reads from the middle still find their records through the index.
        let mid = log.read("t", 101, 64).expect("read");
        assert_eq!(mid.records().next().map(|r| r.offset), Some(101));
        drop(log);
        let log = open(dir.path());
        check(&log);
        for path in segment_files(dir.path()) {
            let bytes = std::fs::read(&path).expect("read");
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .to_string();
            let sealed = name.parse::<u64>().is_ok_and(|b| b < sealed_end);
            let holds = bytes.windows(6).any(|w| w == b"secret");
            assert!(
                !(sealed && holds),
                "{} still holds a secret",
                path.display()
            );
        }
        assert!(
            segment_files(dir.path())
                .iter()
                .all(|p| p.extension().is_some_and(|x| x == "log")),
            "no temporary file left"
        );
        // Appending still works after the swap.
        let mut batch = Batch::new();
        batch.push(b"k", 1, b"v");
        assert_eq!(log.append("t", &batch).expect("append").base_offset, 200);
    }

    #[test]
    fn replacements_of_another_length_are_refused_and_nothing_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = open(dir.path());
        for i in 0..40u64 {
            let mut batch = Batch::new();
            batch.push(b"key", i as i64, format!("value-{i:040}").as_bytes());
            log.append("t", &batch).expect("append");
        }
        let files = segment_files(dir.path());
        let bytes: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).expect("r")).collect();
        let report = log
            .redact("t", 0, &mut |r| Some((r.key.to_vec(), b"short".to_vec())))
            .expect("redact");
        assert!(report.refused > 0);
        assert_eq!((report.records_redacted, report.segments_rewritten), (0, 0));
        let again: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).expect("r")).collect();
        assert_eq!(bytes, again);
        assert_eq!(
            log.redact("nope", 7, &mut |_| None).expect("unknown topic"),
            super::RedactReport {
                sealed_end: 7,
                ..super::RedactReport::default()
            }
        );
    }

    #[test]
    fn a_damaged_sealed_segment_is_an_error_not_a_fresh_checksum() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = open(dir.path());
        for i in 0..40u64 {
            let mut batch = Batch::new();
            batch.push(b"key", i as i64, format!("value-{i:040}").as_bytes());
            log.append("t", &batch).expect("append");
        }
        let first = segment_files(dir.path())[0].clone();
        let mut bytes = std::fs::read(&first).expect("read");
        let at = bytes.len() / 2;
        bytes[at] ^= 0x55;
        std::fs::write(&first, &bytes).expect("write");
        let err = log
            .redact("t", 0, &mut |r| Some((r.key.to_vec(), r.value.to_vec())))
            .expect_err("damage");
        assert!(matches!(err, crate::StreamError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read(&first).expect("read"), bytes);
    }
}
