//! The compact binary form of installations, one arena for all of them, and the
//! id → slot table.
//!
//! Record layout (little-endian): `flags u8` (bit 0 FCM, bit 1 token stored as
//! bytes from lowercase hex, bit 2 customer id, bit 3 expiry), `id_len u8, id`,
//! `token_len u16, token`, `locale_len u8, locale`, `[customer_len u8, customer]`,
//! `[expiry i64]`, `tag_count u8`, then the tags: LEB128 tag ids in the arena and
//! the snapshot, `len u8 + bytes` in the log.

use hashbrown::HashTable;
use std::hash::{BuildHasher, BuildHasherDefault};

use crate::installation::{Installation, Platform};

const FCM: u8 = 1;
const HEX: u8 = 2;
const CUSTOMER: u8 = 4;
const EXPIRY: u8 = 8;
/// Offset marking a free slot.
pub const FREE: u64 = u64::MAX;

/// The fields of a record, borrowed from its bytes (tags left undecoded).
pub struct Fields<'a> {
    pub platform: Platform,
    pub id: &'a str,
    pub token: &'a [u8],
    pub hex: bool,
    pub locale: &'a str,
    pub customer: Option<&'a str>,
    pub expiry: Option<i64>,
    pub tag_count: u8,
}

fn is_lower_hex(s: &str) -> bool {
    s.len().is_multiple_of(2) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        _ => b.wrapping_sub(b'a').wrapping_add(10) & 0x0f,
    }
}

/// Writes everything but the tags. Lengths were validated (id ≤ 64, token ≤ 4096,
/// locale ≤ 35, customer ≤ 128, tags ≤ 60), so the narrow casts hold.
pub fn encode_fields(inst: &Installation, out: &mut Vec<u8>) {
    let hex = is_lower_hex(&inst.push_channel);
    let mut flags = 0;
    if inst.platform == Platform::Fcm {
        flags |= FCM;
    }
    if hex {
        flags |= HEX;
    }
    if inst.customer_id.is_some() {
        flags |= CUSTOMER;
    }
    if inst.expiration_ms.is_some() {
        flags |= EXPIRY;
    }
    out.push(flags);
    out.push(inst.installation_id.len() as u8);
    out.extend_from_slice(inst.installation_id.as_bytes());
    if hex {
        let t = inst.push_channel.as_bytes();
        out.extend_from_slice(&((t.len() / 2) as u16).to_le_bytes());
        out.extend(t.chunks(2).map(|p| hex_val(p[0]) << 4 | hex_val(p[1])));
    } else {
        out.extend_from_slice(&(inst.push_channel.len() as u16).to_le_bytes());
        out.extend_from_slice(inst.push_channel.as_bytes());
    }
    out.push(inst.locale.len() as u8);
    out.extend_from_slice(inst.locale.as_bytes());
    if let Some(c) = &inst.customer_id {
        out.push(c.len() as u8);
        out.extend_from_slice(c.as_bytes());
    }
    if let Some(e) = inst.expiration_ms {
        out.extend_from_slice(&e.to_le_bytes());
    }
    out.push(inst.tags.len() as u8);
}

/// A cursor over bytes that fails softly.
pub struct Reader<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at `pos`.
    pub fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    /// A UTF-8 string of `len` bytes.
    pub fn str(&mut self, len: usize) -> Option<&'a str> {
        std::str::from_utf8(self.take(len)?).ok()
    }
    /// A LEB128 `u32`.
    pub fn varint(&mut self) -> Option<u32> {
        let mut v: u32 = 0;
        for shift in [0, 7, 14, 21, 28] {
            let b = self.u8()?;
            v |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// The fields of a record; the reader is left at its tags.
    pub fn fields(&mut self) -> Option<Fields<'a>> {
        let flags = self.u8()?;
        let id_len = self.u8()? as usize;
        let id = self.str(id_len)?;
        let tl = self.take(2)?;
        let token_len = u16::from_le_bytes([tl[0], tl[1]]) as usize;
        let token = self.take(token_len)?;
        let ll = self.u8()? as usize;
        let locale = self.str(ll)?;
        let customer = if flags & CUSTOMER != 0 {
            let cl = self.u8()? as usize;
            Some(self.str(cl)?)
        } else {
            None
        };
        let expiry = if flags & EXPIRY != 0 {
            let b = self.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Some(i64::from_le_bytes(a))
        } else {
            None
        };
        let tag_count = self.u8()?;
        Some(Fields {
            platform: if flags & FCM != 0 {
                Platform::Fcm
            } else {
                Platform::Apns
            },
            id,
            token,
            hex: flags & HEX != 0,
            locale,
            customer,
            expiry,
            tag_count,
        })
    }
}

/// Appends a LEB128 `u32`.
pub fn put_varint(mut v: u32, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Fields<'_> {
    /// The installation, with the given tag names.
    pub fn to_installation(&self, tags: Vec<String>) -> Installation {
        let push_channel = if self.hex {
            const D: &[u8; 16] = b"0123456789abcdef";
            let mut s = String::with_capacity(self.token.len() * 2);
            for b in self.token {
                s.push(D[(b >> 4) as usize] as char);
                s.push(D[(b & 15) as usize] as char);
            }
            s
        } else {
            String::from_utf8_lossy(self.token).into_owned()
        };
        Installation {
            installation_id: self.id.to_string(),
            platform: self.platform,
            push_channel,
            locale: self.locale.to_string(),
            tags,
            customer_id: self.customer.map(str::to_string),
            expiration_ms: self.expiry,
        }
    }
}

type Hasher = BuildHasherDefault<rustc_hash::FxHasher>;

/// Every record in one byte arena; slots index into it; a table finds slots by id.
#[derive(Default)]
pub struct Arena {
    pub bytes: Vec<u8>,
    pub offsets: Vec<u64>,
    pub free: Vec<u32>,
    table: HashTable<u32>,
    /// Bytes of superseded records still in `bytes`.
    pub garbage: u64,
    /// Whether `bytes` is exactly the occupied records in slot order.
    pub ordered: bool,
}

fn hash_id(id: &str) -> u64 {
    Hasher::default().hash_one(id)
}

impl Arena {
    /// An empty arena.
    pub fn new() -> Self {
        Self {
            ordered: true,
            ..Self::default()
        }
    }

    /// The id stored in `slot`.
    pub fn id_at(&self, slot: u32) -> Option<&str> {
        id_in(&self.bytes, &self.offsets, slot)
    }

    /// The slot holding `id`.
    pub fn slot_of(&self, id: &str) -> Option<u32> {
        self.table
            .find(hash_id(id), |s| self.id_at(*s) == Some(id))
            .copied()
    }

    /// Registers `id` at `slot` (caller ensured it is not present).
    pub fn index_id(&mut self, id: &str, slot: u32) {
        let Self {
            table,
            bytes,
            offsets,
            ..
        } = self;
        table.insert_unique(hash_id(id), slot, |s| {
            id_in(bytes, offsets, *s).map(hash_id).unwrap_or(0)
        });
    }

    /// Registers the id already stored at `slot` (snapshot load: no allocation).
    pub fn index_slot(&mut self, slot: u32) {
        let h = id_in(&self.bytes, &self.offsets, slot)
            .map(hash_id)
            .unwrap_or(0);
        let Self {
            table,
            bytes,
            offsets,
            ..
        } = self;
        table.insert_unique(h, slot, |s| {
            id_in(bytes, offsets, *s).map(hash_id).unwrap_or(0)
        });
    }

    /// Unregisters `id`.
    pub fn unindex_id(&mut self, id: &str) {
        let Self {
            table,
            bytes,
            offsets,
            ..
        } = self;
        if let Ok(entry) = table.find_entry(hash_id(id), |s| id_in(bytes, offsets, *s) == Some(id))
        {
            entry.remove();
        }
    }

    /// Appends an encoded record for `slot`; returns its offset.
    pub fn put(&mut self, slot: u32, record: &[u8]) -> u64 {
        let off = self.bytes.len() as u64;
        self.bytes.extend_from_slice(record);
        let ix = slot as usize;
        if ix >= self.offsets.len() {
            self.offsets.resize(ix + 1, FREE);
        }
        self.offsets[ix] = off;
        off
    }

    /// Zeroes the record at `slot` (privacy: no copy of it stays in memory).
    pub fn wipe(&mut self, slot: u32, len: usize) {
        if let Some(off) = self.offsets.get(slot as usize).copied()
            && off != FREE
        {
            let start = usize::try_from(off).unwrap_or(usize::MAX);
            let end = start.saturating_add(len).min(self.bytes.len());
            if let Some(b) = self.bytes.get_mut(start..end) {
                b.fill(0);
            }
            self.garbage += len as u64;
            self.offsets[slot as usize] = FREE;
            self.ordered = false;
        }
    }

    /// Number of occupied slots.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Makes room for `n` more installations.
    pub fn reserve(&mut self, n: usize) {
        self.offsets.reserve(n);
        let Self {
            table,
            bytes,
            offsets,
            ..
        } = self;
        table.reserve(n, |s| id_in(bytes, offsets, *s).map(hash_id).unwrap_or(0));
    }
}

/// The id of the record at `slot`, read from the arena.
fn id_in<'a>(bytes: &'a [u8], offsets: &[u64], slot: u32) -> Option<&'a str> {
    let off = *offsets.get(slot as usize)?;
    if off == FREE {
        return None;
    }
    let mut r = Reader::new(bytes, usize::try_from(off).ok()?.checked_add(1)?);
    let len = r.u8()? as usize;
    r.str(len)
}
