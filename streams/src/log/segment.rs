//! One segment file (`<base_offset:020>.log`): its name, its sparse offset index, the
//! scans that check it on open, and positional reads of its batches.
//!
//! A segment is a run of frames (see [`super::format`]) whose offsets are contiguous
//! from the base offset in the file name. Reads use `read_at` on a read-only handle,
//! so they never move a cursor the appender depends on and never wait for it.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::format::{FrameHeader, HEADER_LEN};
use crate::clock::Timestamp;
use crate::transport::{Fetched, FetchedBatch, Offset, StreamError};

/// File bytes between two entries of the sparse index.
pub(crate) const INDEX_INTERVAL: u64 = 4096;

/// The file name of the segment starting at `base`.
pub(crate) fn file_name(base: Offset) -> String {
    format!("{base:020}.log")
}

/// The base offset encoded in a segment file name, if it is one.
pub(crate) fn parse_file_name(name: &str) -> Option<Offset> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment file opened for positional reads.
#[derive(Debug)]
pub(crate) struct Segment {
    pub base: Offset,
    pub path: PathBuf,
    file: File,
}

impl Segment {
    /// Opens the segment at `path` for reading.
    pub fn open(path: PathBuf, base: Offset) -> Result<Self, StreamError> {
        let file = File::open(&path).map_err(|e| {
            StreamError::io(format!("opening segment {} for reading", path.display()), e)
        })?;
        Ok(Self { base, path, file })
    }

    fn corrupt(&self, detail: impl Into<String>) -> StreamError {
        StreamError::Corrupt {
            path: self.path.display().to_string(),
            detail: detail.into(),
        }
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> Result<(), StreamError> {
        self.file.read_exact_at(buf, pos).map_err(|e| {
            StreamError::io(
                format!(
                    "reading {} bytes at {pos} of segment {}",
                    buf.len(),
                    self.path.display()
                ),
                e,
            )
        })
    }

    /// Appends to `out` the batches holding records at or after `from` (the read's
    /// start, or where it continues after an earlier segment), scanning from
    /// the frame at `pos` (holding offset `offset`) up to the committed length `len`.
    /// `seg_end` is the offset the segment must end at when read to `len`.
    ///
    /// Stops before a batch that would take `used` past `max_bytes` (unless `out` is
    /// still empty). Returns the offset after the last batch looked at and whether the
    /// budget stopped the read.
    #[allow(clippy::too_many_arguments)]
    pub fn read_batches(
        &self,
        mut pos: u64,
        mut offset: Offset,
        from: Offset,
        len: u64,
        seg_end: Offset,
        out: &mut Fetched,
        used: &mut usize,
        max_bytes: usize,
    ) -> Result<(Offset, bool), StreamError> {
        // The header after a body is read together with it: one syscall per batch.
        let mut prefetched: Option<[u8; HEADER_LEN]> = None;
        while pos < len {
            let raw = match prefetched.take() {
                Some(raw) => raw,
                None => {
                    if len - pos < HEADER_LEN as u64 {
                        return Err(self.corrupt(format!("incomplete header at byte {pos}")));
                    }
                    let mut raw = [0u8; HEADER_LEN];
                    self.read_exact_at(&mut raw, pos)?;
                    raw
                }
            };
            let header = FrameHeader::decode(&raw)
                .map_err(|d| self.corrupt(format!("at byte {pos}: {d}")))?;
            if header.base_offset != offset {
                return Err(self.corrupt(format!(
                    "at byte {pos}: batch starts at offset {} where {offset} was expected",
                    header.base_offset
                )));
            }
            let body_at = pos + HEADER_LEN as u64;
            let body_end = pos + header.frame_len();
            if body_end > len {
                return Err(self.corrupt(format!(
                    "at byte {pos}: batch runs past the end of the segment"
                )));
            }
            if header.next_offset() <= from {
                pos = body_end;
                offset = header.next_offset();
                continue;
            }
            let body_len = header.body_len as usize;
            if !out.batches.is_empty() && used.saturating_add(body_len) > max_bytes {
                return Ok((offset, true));
            }
            let extra = if len - body_end >= HEADER_LEN as u64 {
                HEADER_LEN
            } else {
                0
            };
            let mut bytes = vec![0u8; body_len + extra];
            self.read_exact_at(&mut bytes, body_at)?;
            if extra > 0 {
                let mut next = [0u8; HEADER_LEN];
                next.copy_from_slice(&bytes[body_len..]);
                prefetched = Some(next);
                bytes.truncate(body_len);
            }
            if !header.verify(&bytes) {
                return Err(self.corrupt(format!(
                    "at byte {pos}: checksum mismatch in batch at offset {offset}"
                )));
            }
            out.batches.push(FetchedBatch {
                base_offset: header.base_offset,
                count: header.count,
                bytes,
            });
            *used = used.saturating_add(body_len);
            pos = body_end;
            offset = header.next_offset();
            if *used >= max_bytes {
                return Ok((offset, true));
            }
        }
        if offset != seg_end {
            return Err(self.corrupt(format!(
                "segment ends at offset {offset} but the next one starts at {seg_end}"
            )));
        }
        Ok((offset, false))
    }
}

/// One entry of the sparse index: the frame at file position `pos` starts at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub offset: Offset,
    pub pos: u64,
}

/// A sparse offset → file position index: one entry every [`INDEX_INTERVAL`] bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseIndex {
    entries: Vec<IndexEntry>,
}

impl SparseIndex {
    /// Notes the frame at `pos` starting at `offset` (frames must be noted in order).
    pub fn note(&mut self, offset: Offset, pos: u64) {
        match self.entries.last() {
            Some(last) if pos < last.pos + INDEX_INTERVAL => {}
            _ => self.entries.push(IndexEntry { offset, pos }),
        }
    }

    /// The last entry at or before `offset`, or the segment's start.
    pub fn lookup(&self, offset: Offset, base: Offset) -> IndexEntry {
        let at = self.entries.partition_point(|e| e.offset <= offset);
        match at.checked_sub(1) {
            Some(i) => self.entries[i],
            None => IndexEntry {
                offset: base,
                pos: 0,
            },
        }
    }
}

/// What a scan of a segment file found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub index: SparseIndex,
    /// The offset after the last good batch.
    pub end_offset: Offset,
    /// Bytes of good, complete batches from the start of the file.
    pub valid_len: u64,
    /// Bytes in the file.
    pub file_len: u64,
    /// Largest event time of the good batches.
    pub max_time: Option<Timestamp>,
    /// Why the scan stopped before the end of the file, if it did.
    pub problem: Option<String>,
}

/// Scans the frames of the segment at `path` starting at `base`, building its index.
///
/// With `verify` every body is read and checked against its CRC (the tail segment on
/// open); without, only headers are read (sealed segments, trusted for structure; their
/// bodies are checked when read). The scan stops at the first bad or incomplete frame
/// and says why in [`Scan::problem`].
pub(crate) fn scan(path: &Path, base: Offset, verify: bool) -> Result<Scan, StreamError> {
    let io_err = |what: &str, e| StreamError::io(format!("{what} segment {}", path.display()), e);
    let file = File::open(path).map_err(|e| io_err("opening", e))?;
    let file_len = file
        .metadata()
        .map_err(|e| io_err("reading the size of", e))?
        .len();
    let mut reader = BufReader::with_capacity(256 << 10, &file);
    let mut scan = Scan {
        end_offset: base,
        file_len,
        ..Scan::default()
    };
    let mut body = Vec::new();
    let mut pos = 0u64;
    while pos < file_len {
        let remaining = file_len - pos;
        if remaining < HEADER_LEN as u64 {
            scan.problem = Some(format!(
                "incomplete header ({remaining} bytes) at byte {pos}"
            ));
            break;
        }
        let mut raw = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut raw)
            .map_err(|e| io_err("scanning", e))?;
        let header = match FrameHeader::decode(&raw) {
            Ok(h) => h,
            Err(detail) => {
                scan.problem = Some(format!("bad header at byte {pos}: {detail}"));
                break;
            }
        };
        if header.base_offset != scan.end_offset {
            scan.problem = Some(format!(
                "batch at byte {pos} starts at offset {} where {} was expected",
                header.base_offset, scan.end_offset
            ));
            break;
        }
        if header.frame_len() > remaining {
            scan.problem = Some(format!(
                "incomplete batch at byte {pos}: {} bytes announced, {} present",
                header.frame_len(),
                remaining
            ));
            break;
        }
        if verify {
            body.resize(header.body_len as usize, 0);
            reader
                .read_exact(&mut body)
                .map_err(|e| io_err("scanning", e))?;
            if !header.verify(&body) {
                scan.problem = Some(format!("checksum mismatch in batch at byte {pos}"));
                break;
            }
        } else {
            reader
                .seek_relative(i64::from(header.body_len))
                .map_err(|e| io_err("scanning", e))?;
        }
        scan.index.note(header.base_offset, pos);
        scan.max_time = Some(
            scan.max_time
                .map_or(header.max_time, |t| t.max(header.max_time)),
        );
        scan.end_offset = header.next_offset();
        pos += header.frame_len();
        scan.valid_len = pos;
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_strangers_are_ignored() {
        assert_eq!(file_name(42), "00000000000000000042.log");
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("42.log"), None);
        assert_eq!(parse_file_name("0000000000000000004x.log"), None);
        assert_eq!(parse_file_name("00000000000000000042.log.tmp"), None);
    }

    #[test]
    fn sparse_index_finds_the_nearest_entry_before() {
        let mut index = SparseIndex::default();
        for (i, pos) in (0..10u64).map(|i| (i, i * 1500)) {
            index.note(i * 10, pos);
        }
        // Entries at positions 0, 4500 (offset 30), 9000 (offset 60), 13500 (offset 90).
        assert_eq!(index.lookup(0, 0), IndexEntry { offset: 0, pos: 0 });
        assert_eq!(index.lookup(29, 0), IndexEntry { offset: 0, pos: 0 });
        assert_eq!(
            index.lookup(30, 0),
            IndexEntry {
                offset: 30,
                pos: 4500
            }
        );
        assert_eq!(
            index.lookup(75, 0),
            IndexEntry {
                offset: 60,
                pos: 9000
            }
        );
        assert_eq!(
            index.lookup(1000, 0),
            IndexEntry {
                offset: 90,
                pos: 13500
            }
        );
        assert_eq!(
            SparseIndex::default().lookup(7, 5),
            IndexEntry { offset: 5, pos: 0 }
        );
    }
}
