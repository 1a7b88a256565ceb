//! The embedded store's changes applied to memory (shared by live calls and log
//! replay), snapshot loading and compaction.

use std::path::Path;

use super::log::{self, Entry};
use super::records::{FREE, Fields, Reader, encode_fields, put_varint};
use super::snapshot::{self, Snapshot};
use super::{EmbeddedStore, Inner, LOG_FILE, SNAPSHOT_FILE};
use crate::installation::{Installation, PatchOp, apply_patch, validate};
use crate::store::StoreError;

/// One decoded record: its fields, tag ids, and encoded length.
struct Decoded<'a> {
    fields: Fields<'a>,
    tags: Vec<u32>,
    len: usize,
    /// Length of the part before the tag ids.
    head: usize,
}

fn decode_at(bytes: &[u8], off: u64) -> Option<Decoded<'_>> {
    let start = usize::try_from(off).ok()?;
    let mut r = Reader::new(bytes, start);
    let fields = r.fields()?;
    let head = r.pos - start;
    let mut tags = Vec::with_capacity(fields.tag_count as usize);
    for _ in 0..fields.tag_count {
        tags.push(r.varint()?);
    }
    Some(Decoded {
        fields,
        tags,
        len: r.pos - start,
        head,
    })
}

fn corrupt_mem() -> StoreError {
    StoreError::Corrupt {
        file: "memory".into(),
        reason: "record does not decode".into(),
    }
}

impl Inner {
    fn decoded(&self, slot: u32) -> Option<Decoded<'_>> {
        let off = *self.arena.offsets.get(slot as usize)?;
        if off == FREE {
            return None;
        }
        decode_at(&self.arena.bytes, off)
    }

    /// The installation at `slot`.
    pub(super) fn installation(&self, slot: u32) -> Option<Installation> {
        let d = self.decoded(slot)?;
        let tags = d
            .tags
            .iter()
            .filter_map(|t| self.index.tag_name(*t).map(str::to_string))
            .collect();
        Some(d.fields.to_installation(tags))
    }

    fn remove_from_index(&mut self, slot: u32) -> Result<usize, StoreError> {
        let d = self.decoded(slot).ok_or_else(corrupt_mem)?;
        let (platform, expiry, len, tags) = (d.fields.platform, d.fields.expiry, d.len, d.tags);
        self.index.remove(slot, platform, &tags, expiry);
        Ok(len)
    }

    /// Applies a validated upsert to memory.
    pub(super) fn apply_upsert(&mut self, inst: &Installation) -> Result<(), StoreError> {
        let mut record = std::mem::take(&mut self.record);
        record.clear();
        encode_fields(inst, &mut record);
        let mut tag_ids = Vec::with_capacity(inst.tags.len());
        for t in &inst.tags {
            let id = self.index.intern(t);
            tag_ids.push(id);
            put_varint(id, &mut record);
        }
        let slot = match self.arena.slot_of(&inst.installation_id) {
            Some(slot) => {
                let old_len = self.remove_from_index(slot)?;
                self.arena.wipe(slot, old_len);
                self.arena.put(slot, &record);
                slot
            }
            None => {
                let slot = match self.arena.free.pop() {
                    Some(s) => {
                        self.arena.ordered = false;
                        s
                    }
                    None => {
                        u32::try_from(self.arena.offsets.len()).map_err(|_| StoreError::Full)?
                    }
                };
                self.arena.put(slot, &record);
                self.arena.index_id(&inst.installation_id, slot);
                slot
            }
        };
        self.index
            .insert(slot, inst.platform, &tag_ids, inst.expiration_ms);
        self.record = record;
        Ok(())
    }

    /// Applies an erase to memory; `false` when the id is unknown.
    pub(super) fn apply_erase(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(slot) = self.arena.slot_of(id) else {
            return Ok(false);
        };
        let len = self.remove_from_index(slot)?;
        self.zones.forget(slot);
        self.arena.unindex_id(id);
        self.arena.wipe(slot, len);
        self.arena.free.push(slot);
        Ok(true)
    }

    /// Applies one replayed log entry.
    pub(super) fn apply_entry(&mut self, e: Entry) -> Result<(), StoreError> {
        match e {
            Entry::Upsert(inst) => {
                // A logged upsert was validated when written; check again anyway.
                validate(&inst)?;
                self.apply_upsert(&inst)
            }
            Entry::Erase(id) => self.apply_erase(&id).map(|_| ()),
        }
    }

    /// Loads a snapshot into an empty store: slots are `0..count` in file order.
    pub(super) fn load_snapshot(&mut self, snap: Snapshot, path: &Path) -> Result<(), StoreError> {
        let bad = |reason: &str| StoreError::Corrupt {
            file: path.display().to_string(),
            reason: reason.to_string(),
        };
        for t in &snap.tags {
            self.index.intern(t);
        }
        let count = usize::try_from(snap.count).map_err(|_| bad("too many records"))?;
        self.arena.bytes = snap.arena;
        self.arena.reserve(count);
        let mut off = 0u64;
        let mut bulk = crate::index::BulkLoad::default();
        for slot in 0..count {
            let slot = u32::try_from(slot).map_err(|_| StoreError::Full)?;
            let d =
                decode_at(&self.arena.bytes, off).ok_or_else(|| bad("record does not decode"))?;
            if d.tags.iter().any(|t| *t as usize >= snap.tags.len()) {
                return Err(bad("unknown tag id"));
            }
            let (platform, expiry, len, tags) = (d.fields.platform, d.fields.expiry, d.len, d.tags);
            self.arena.offsets.push(off);
            // Ids are unique in a snapshot we wrote (and its CRC held): no lookup.
            self.arena.index_slot(slot);
            self.index
                .bulk_insert(&mut bulk, slot, platform, &tags, expiry);
            off += len as u64;
        }
        self.index.bulk_flush(&mut bulk);
        if off != self.arena.bytes.len() as u64 {
            return Err(bad("trailing bytes after the last record"));
        }
        self.arena.ordered = true;
        Ok(())
    }

    /// Rewrites the arena without garbage or unused tags, writes the snapshot, and
    /// empties the log.
    pub(super) fn compact(&mut self, dir: &Path) -> Result<(), StoreError> {
        let remap = self.index.compact_tags();
        let identity = remap.iter().enumerate().all(|(i, r)| *r == Some(i as u32));
        if !(identity && self.arena.ordered && self.arena.garbage == 0) {
            let mut bytes = Vec::with_capacity(
                self.arena
                    .bytes
                    .len()
                    .saturating_sub(self.arena.garbage as usize),
            );
            let mut offsets = vec![FREE; self.arena.offsets.len()];
            for (slot, off) in self.arena.offsets.iter().enumerate() {
                if *off == FREE {
                    continue;
                }
                let d = decode_at(&self.arena.bytes, *off).ok_or_else(corrupt_mem)?;
                let start = *off as usize;
                offsets[slot] = bytes.len() as u64;
                let head = self
                    .arena
                    .bytes
                    .get(start..start + d.head)
                    .ok_or_else(corrupt_mem)?;
                bytes.extend_from_slice(head);
                for t in &d.tags {
                    let new = remap
                        .get(*t as usize)
                        .copied()
                        .flatten()
                        .ok_or_else(corrupt_mem)?;
                    put_varint(new, &mut bytes);
                }
            }
            // Zero the old arena before dropping it (personal data).
            self.arena.bytes.fill(0);
            self.arena.bytes = bytes;
            self.arena.offsets = offsets;
            self.arena.garbage = 0;
        }
        snapshot::write(
            &dir.join(SNAPSHOT_FILE),
            self.index.tag_names(),
            self.arena.len() as u64,
            &self.arena.bytes,
        )?;
        // The snapshot holds everything: start a new, empty log in its place.
        let tmp = dir.join("installations.log.tmp");
        std::fs::File::create(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join(LOG_FILE))?;
        self.log = log::Log::open(&dir.join(LOG_FILE), self.log_fsync())?;
        self.arena.ordered = true;
        Ok(())
    }

    fn log_fsync(&self) -> bool {
        self.log.fsync()
    }
}

impl EmbeddedStore {
    /// Validates, logs and applies one upsert.
    pub fn upsert(&self, inst: Installation) -> Result<(), StoreError> {
        self.upsert_batch(std::slice::from_ref(&inst))
    }

    /// Validates all, then logs them in one write and applies them (bulk loads).
    pub fn upsert_batch(&self, insts: &[Installation]) -> Result<(), StoreError> {
        for i in insts {
            validate(i)?;
        }
        let mut g = self.write();
        let mut frames = std::mem::take(&mut g.frames);
        frames.clear();
        for i in insts {
            log::frame_upsert(i, &mut frames);
        }
        let r = g.log.append(&frames);
        g.frames = frames;
        r?;
        for i in insts {
            g.apply_upsert(i)?;
        }
        Ok(())
    }

    /// Applies patch operations to a stored installation.
    pub fn patch(&self, id: &str, ops: &[PatchOp]) -> Result<Installation, StoreError> {
        let mut g = self.write();
        let slot = g.arena.slot_of(id).ok_or(StoreError::NotFound)?;
        let current = g.installation(slot).ok_or_else(corrupt_mem)?;
        let next = apply_patch(&current, ops)?;
        let mut frames = Vec::new();
        log::frame_upsert(&next, &mut frames);
        g.log.append(&frames)?;
        g.apply_upsert(&next)?;
        Ok(next)
    }

    /// One installation by id.
    pub fn get(&self, id: &str) -> Option<Installation> {
        let g = self.read();
        let slot = g.arena.slot_of(id)?;
        g.installation(slot)
    }

    /// Privacy erase: gone from memory and indexes now, from files at the next
    /// [`compact`](Self::compact).
    pub fn erase(&self, id: &str) -> Result<bool, StoreError> {
        let mut g = self.write();
        if g.arena.slot_of(id).is_none() {
            return Ok(false);
        }
        let mut frames = Vec::new();
        log::frame_erase(id, &mut frames);
        g.log.append(&frames)?;
        g.apply_erase(id)
    }

    /// Writes a fresh snapshot and empties the log.
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut g = self.write();
        g.compact(&self.dir)
    }
}
