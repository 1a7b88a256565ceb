//! The disk spill: append-only segment files of framed line-protocol batches, replayed
//! oldest first and deleted once every batch in them is acknowledged by the store.
//!
//! A segment is `spill-{seq:020}.lp` in the spill directory. Each frame is
//! `len: u32 LE | crc32: u32 LE | points: u32 LE | payload (len bytes)`, the CRC covering
//! the point count and the payload. The payload is newline-separated line protocol, so a
//! segment stays readable with `tail -c +13` in an emergency. A frame that is cut short
//! or fails its CRC (a crash while appending) ends its segment: the rest of that segment
//! is skipped and reported, never replayed as garbage.
//!
//! The byte budget counts every byte on disk, acknowledged or not, until its segment is
//! deleted; segments roll at `segment_bytes` so space comes back while a long backlog
//! drains. When a batch does not fit the budget it is refused and the caller counts its
//! points as dropped.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const HEADER: usize = 12;
const PREFIX: &str = "spill-";
const SUFFIX: &str = ".lp";

/// Errors of the spill directory.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// A filesystem operation failed.
    #[error("spill {op} `{path}`: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The batch does not fit the disk budget.
    #[error("spill budget of {budget} bytes exhausted ({used} used, {needed} needed)")]
    Full {
        /// The configured budget.
        budget: u64,
        /// Bytes on disk now.
        used: u64,
        /// Bytes the refused frame needed.
        needed: u64,
    },
    /// A frame is cut short or fails its checksum; the rest of the segment is skipped.
    #[error("spill segment `{path}` is corrupt at byte {offset}; its remainder is skipped")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Where the bad frame starts.
        offset: u64,
    },
}

/// One batch read back from the spill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Newline-separated line protocol.
    pub payload: Vec<u8>,
    /// How many points the payload holds.
    pub points: u32,
}

#[derive(Debug)]
struct Segment {
    seq: u64,
    path: PathBuf,
    len: u64,
}

/// The spill directory: appends at the newest segment, reads from the oldest.
#[derive(Debug)]
pub struct Spill {
    dir: PathBuf,
    budget: u64,
    segment_bytes: u64,
    segments: VecDeque<Segment>,
    writer: Option<File>,
    read_offset: u64,
    peeked: Option<(Frame, u64)>,
    bytes_on_disk: u64,
    unread_points: u64,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpillError + 'a {
    move |source| SpillError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl Spill {
    /// Opens (creating) `dir`; segments left by an earlier run are queued for replay.
    pub fn open(dir: &Path, budget: u64, segment_bytes: u64) -> Result<Self, SpillError> {
        fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let mut segments = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
            let entry = entry.map_err(io_err("list", dir))?;
            let name = entry.file_name();
            let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_prefix(PREFIX))
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let path = entry.path();
            let len = entry.metadata().map_err(io_err("stat", &path))?.len();
            segments.push(Segment { seq, path, len });
        }
        segments.sort_by_key(|s| s.seq);
        let bytes_on_disk = segments.iter().map(|s| s.len).sum();
        let mut spill = Self {
            dir: dir.to_path_buf(),
            budget,
            segment_bytes: segment_bytes.max(1),
            segments: segments.into(),
            writer: None,
            read_offset: 0,
            peeked: None,
            bytes_on_disk,
            unread_points: 0,
        };
        spill.unread_points = spill.count_unread_points();
        Ok(spill)
    }

    /// Bytes the spill holds on disk now.
    pub fn bytes_on_disk(&self) -> u64 {
        self.bytes_on_disk
    }

    /// Points appended (or found at open) and not yet acknowledged.
    pub fn unread_points(&self) -> u64 {
        self.unread_points
    }

    /// Whether nothing is waiting to be replayed.
    pub fn is_empty(&self) -> bool {
        self.unread_points == 0
    }

    /// Appends one batch of `points` points; refuses it when the budget would overflow.
    pub fn append(&mut self, payload: &[u8], points: u32) -> Result<(), SpillError> {
        let needed = (HEADER + payload.len()) as u64;
        if self.bytes_on_disk + needed > self.budget {
            return Err(SpillError::Full {
                budget: self.budget,
                used: self.bytes_on_disk,
                needed,
            });
        }
        let len = u32::try_from(payload.len()).map_err(|_| SpillError::Full {
            budget: self.budget,
            used: self.bytes_on_disk,
            needed,
        })?;
        let roll = match self.segments.back() {
            Some(last) => self.writer.is_none() || last.len >= self.segment_bytes,
            None => true,
        };
        if roll {
            self.start_segment()?;
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&points.to_le_bytes());
        hasher.update(payload);
        let mut frame = Vec::with_capacity(HEADER + payload.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&hasher.finalize().to_le_bytes());
        frame.extend_from_slice(&points.to_le_bytes());
        frame.extend_from_slice(payload);
        let (Some(writer), Some(last)) = (self.writer.as_mut(), self.segments.back_mut()) else {
            return Err(SpillError::Io {
                op: "append",
                path: self.dir.clone(),
                source: io::Error::other("no open segment"),
            });
        };
        writer
            .write_all(&frame)
            .map_err(io_err("append", &last.path))?;
        last.len += needed;
        self.bytes_on_disk += needed;
        self.unread_points += u64::from(points);
        Ok(())
    }

    fn start_segment(&mut self) -> Result<(), SpillError> {
        let seq = self.segments.back().map_or(0, |s| s.seq + 1);
        let path = self.dir.join(format!("{PREFIX}{seq:020}{SUFFIX}"));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        self.writer = Some(file);
        self.segments.push_back(Segment { seq, path, len: 0 });
        Ok(())
    }

    /// The oldest unacknowledged batch, if any. Corruption skips the rest of a segment
    /// and is returned once as an error; the next call goes on with the next segment.
    pub fn peek(&mut self) -> Result<Option<Frame>, SpillError> {
        loop {
            if let Some((frame, _)) = &self.peeked {
                return Ok(Some(frame.clone()));
            }
            let Some(front) = self.segments.front() else {
                return Ok(None);
            };
            if self.read_offset >= front.len {
                if self.segments.len() == 1 && self.writer.is_some() {
                    // The writer's segment is fully read: delete it and start afresh.
                    self.writer = None;
                }
                self.delete_front()?;
                continue;
            }
            match read_frame(&front.path, self.read_offset) {
                Ok(Some((frame, size))) => {
                    self.peeked = Some((frame.clone(), size));
                    return Ok(Some(frame));
                }
                Ok(None) => {
                    let err = SpillError::Corrupt {
                        path: front.path.clone(),
                        offset: self.read_offset,
                    };
                    if self.segments.len() == 1 {
                        self.writer = None;
                    }
                    self.delete_front()?;
                    self.unread_points = self.count_unread_points();
                    return Err(err);
                }
                Err(source) => {
                    return Err(SpillError::Io {
                        op: "read",
                        path: front.path.clone(),
                        source,
                    });
                }
            }
        }
    }

    /// Marks the batch last returned by [`Spill::peek`] as written; deletes segments that
    /// hold nothing unacknowledged.
    pub fn ack(&mut self) -> Result<(), SpillError> {
        let Some((frame, size)) = self.peeked.take() else {
            return Ok(());
        };
        self.read_offset += size;
        self.unread_points = self.unread_points.saturating_sub(u64::from(frame.points));
        let front_done = self
            .segments
            .front()
            .is_some_and(|f| self.read_offset >= f.len);
        if front_done {
            if self.segments.len() == 1 {
                self.writer = None;
            }
            self.delete_front()?;
        }
        Ok(())
    }

    fn delete_front(&mut self) -> Result<(), SpillError> {
        self.peeked = None;
        self.read_offset = 0;
        if let Some(front) = self.segments.pop_front() {
            self.bytes_on_disk = self.bytes_on_disk.saturating_sub(front.len);
            match fs::remove_file(&front.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SpillError::Io {
                        op: "delete",
                        path: front.path,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Counts points in frames not yet read, walking headers only (used at open).
    fn count_unread_points(&self) -> u64 {
        let mut total = 0u64;
        for (i, seg) in self.segments.iter().enumerate() {
            let mut offset = if i == 0 { self.read_offset } else { 0 };
            let Ok(mut file) = File::open(&seg.path) else {
                continue;
            };
            while offset + HEADER as u64 <= seg.len {
                let mut header = [0u8; HEADER];
                if file.seek(SeekFrom::Start(offset)).is_err()
                    || file.read_exact(&mut header).is_err()
                {
                    break;
                }
                let (len, _, points) = split_header(&header);
                if offset + HEADER as u64 + u64::from(len) > seg.len {
                    break;
                }
                total += u64::from(points);
                offset += HEADER as u64 + u64::from(len);
            }
        }
        total
    }
}

fn split_header(header: &[u8; HEADER]) -> (u32, u32, u32) {
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    (word(0), word(4), word(8))
}

/// Reads the frame at `offset`: `Ok(None)` when it is cut short or fails its CRC.
fn read_frame(path: &Path, offset: u64) -> io::Result<Option<(Frame, u64)>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut header = [0u8; HEADER];
    if let Err(e) = file.read_exact(&mut header) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(None)
        } else {
            Err(e)
        };
    }
    let (len, crc, points) = split_header(&header);
    let mut payload = Vec::new();
    let read = file.take(u64::from(len)).read_to_end(&mut payload)?;
    if read != len as usize {
        return Ok(None);
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&points.to_le_bytes());
    hasher.update(&payload);
    if hasher.finalize() != crc {
        return Ok(None);
    }
    Ok(Some((Frame { payload, points }, (HEADER + read) as u64)))
}

#[cfg(test)]
#[path = "spill_tests.rs"]
mod tests;
