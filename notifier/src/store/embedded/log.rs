//! The append-only log of upserts and erases since the last snapshot.
//!
//! Frame: `len u32 LE, crc32 u32 LE (of the payload), payload`. Payload: `1` + an
//! installation record with tag names (see [`super::records`]), or `2, id_len u8, id`.
//! On open, the first frame that is short, oversized, fails its CRC or does not decode
//! ends the log: it and everything after it are cut (a torn tail from a crash).

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use super::records::{Reader, encode_fields};
use crate::installation::Installation;
use crate::store::StoreError;

/// Largest payload a valid frame can have.
const MAX_FRAME: usize = 64 * 1024;
const UPSERT: u8 = 1;
const ERASE: u8 = 2;

/// One logged change.
pub enum Entry {
    /// Create or replace.
    Upsert(Installation),
    /// Privacy erase.
    Erase(String),
}

/// Appends the framed upsert of `inst` to `out`.
pub fn frame_upsert(inst: &Installation, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    out.push(UPSERT);
    encode_fields(inst, out);
    for t in &inst.tags {
        out.push(t.len() as u8);
        out.extend_from_slice(t.as_bytes());
    }
    seal(out, start);
}

/// Appends the framed erase of `id` to `out`.
pub fn frame_erase(id: &str, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    out.push(ERASE);
    out.push(id.len() as u8);
    out.extend_from_slice(id.as_bytes());
    seal(out, start);
}

fn seal(out: &mut [u8], start: usize) {
    let payload = &out[start + 8..];
    let len = (payload.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(payload).to_le_bytes();
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + 8].copy_from_slice(&crc);
}

fn decode(payload: &[u8]) -> Option<Entry> {
    let mut r = Reader::new(payload, 1);
    let entry = match *payload.first()? {
        UPSERT => {
            let f = r.fields()?;
            let mut tags = Vec::with_capacity(f.tag_count as usize);
            for _ in 0..f.tag_count {
                let l = r.u8()? as usize;
                tags.push(r.str(l)?.to_string());
            }
            Entry::Upsert(f.to_installation(tags))
        }
        ERASE => {
            let l = r.u8()? as usize;
            Entry::Erase(r.str(l)?.to_string())
        }
        _ => return None,
    };
    (r.pos == payload.len()).then_some(entry)
}

/// Replays the log at `path` into `apply`, cutting a torn or corrupt tail.
/// Returns how many entries were applied and how many bytes were cut.
pub fn replay(
    path: &Path,
    mut apply: impl FnMut(Entry) -> Result<(), StoreError>,
) -> Result<(u64, u64), StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e.into()),
    };
    let total = file.metadata()?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut good: u64 = 0;
    let mut applied = 0;
    let mut payload = Vec::new();
    loop {
        let mut head = [0u8; 8];
        if read_full(&mut r, &mut head)? < 8 {
            break;
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len == 0 || len > MAX_FRAME {
            break;
        }
        payload.resize(len, 0);
        if read_full(&mut r, &mut payload)? < len || crc32fast::hash(&payload) != crc {
            break;
        }
        let Some(entry) = decode(&payload) else { break };
        apply(entry)?;
        applied += 1;
        good += 8 + len as u64;
    }
    let cut = total.saturating_sub(good);
    if cut > 0 {
        tracing::warn!(
            message = "Cut a torn or corrupt tail from the installations log.",
            bytes = cut,
            kept_entries = applied
        );
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(good)?;
        f.sync_all()?;
    }
    Ok((applied, cut))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The open log, appended to by every change.
pub struct Log {
    file: File,
    fsync: bool,
    len: u64,
}

impl Log {
    /// Opens (creating) the log at `path` for appending.
    pub fn open(path: &Path, fsync: bool) -> Result<Log, StoreError> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        Ok(Log { file, fsync, len })
    }

    /// Writes framed entries to the OS (and to disk when `fsync` was asked for).
    pub fn append(&mut self, frames: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(frames)?;
        self.len += frames.len() as u64;
        if self.fsync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Flushes the log to disk.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.file.sync_data()?;
        Ok(())
    }
}

impl Log {
    /// Bytes in the log file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether every append is synced.
    pub fn fsync(&self) -> bool {
        self.fsync
    }
}
