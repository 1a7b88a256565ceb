//! The snapshot: every installation in one file, written by compaction and read with
//! sequential reads at start-up.
//!
//! Layout: `b"SLNSNAP1"`, `tag_count u32`, per tag `len u8, name`, `record_count u64`,
//! `arena_len u64`, the records (see [`super::records`]; tag ids index the table
//! above), then `crc32 u32` of everything before it. Written to a temporary file,
//! synced, then renamed over the old one.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::store::StoreError;

const MAGIC: &[u8; 8] = b"SLNSNAP1";

/// What a snapshot holds.
pub struct Snapshot {
    /// Tag names, by id.
    pub tags: Vec<Box<str>>,
    /// How many records the arena holds.
    pub count: u64,
    /// The records, back to back in slot order.
    pub arena: Vec<u8>,
}

struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> CrcWriter<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.inner.write_all(b)
    }
}

/// Writes a snapshot to `path` atomically (temporary file, fsync, rename, fsync dir).
pub fn write(path: &Path, tags: &[Box<str>], count: u64, arena: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp)?;
    let mut w = CrcWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
    };
    w.put(MAGIC)?;
    w.put(&(tags.len() as u32).to_le_bytes())?;
    for t in tags {
        w.put(&[t.len() as u8])?;
        w.put(t.as_bytes())?;
    }
    w.put(&count.to_le_bytes())?;
    w.put(&(arena.len() as u64).to_le_bytes())?;
    w.put(arena)?;
    let crc = w.crc.finalize();
    let mut inner = w.inner;
    inner.write_all(&crc.to_le_bytes())?;
    let file = inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn corrupt(path: &Path, reason: &str) -> StoreError {
    StoreError::Corrupt {
        file: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Reads the snapshot at `path`; `None` when there is none yet.
pub fn read(path: &Path) -> Result<Option<Snapshot>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut crc = crc32fast::Hasher::new();
    let mut get = |buf: &mut [u8]| -> Result<(), StoreError> {
        r.read_exact(buf)
            .map_err(|_| corrupt(path, "file ends early"))?;
        crc.update(buf);
        Ok(())
    };
    let mut magic = [0u8; 8];
    get(&mut magic)?;
    if &magic != MAGIC {
        return Err(corrupt(path, "not a snapshot (bad magic)"));
    }
    let mut b4 = [0u8; 4];
    get(&mut b4)?;
    let tag_count = u32::from_le_bytes(b4) as usize;
    let mut tags = Vec::with_capacity(tag_count.min(1 << 20));
    let mut name = [0u8; 255];
    for _ in 0..tag_count {
        let mut l = [0u8; 1];
        get(&mut l)?;
        let n = &mut name[..l[0] as usize];
        get(n)?;
        let s = std::str::from_utf8(n).map_err(|_| corrupt(path, "tag is not UTF-8"))?;
        tags.push(Box::from(s));
    }
    let mut b8 = [0u8; 8];
    get(&mut b8)?;
    let count = u64::from_le_bytes(b8);
    get(&mut b8)?;
    let arena_len = u64::from_le_bytes(b8);
    if arena_len > size {
        return Err(corrupt(path, "arena longer than the file"));
    }
    let mut arena = vec![0u8; arena_len as usize];
    get(&mut arena)?;
    let want = crc.finalize();
    r.read_exact(&mut b4)
        .map_err(|_| corrupt(path, "file ends early"))?;
    if u32::from_le_bytes(b4) != want {
        return Err(corrupt(path, "checksum mismatch"));
    }
    Ok(Some(Snapshot { tags, count, arena }))
}
