//! The [`Batch`]: records as they travel to a transport, and their byte layout.
//!
//! A batch is the unit of append, checksum and durability. Producers push records
//! straight into one contiguous buffer (no per-record allocation); the embedded log
//! writes that buffer behind a checksummed header, and readers iterate it back as
//! [`RecordView`]s that borrow from the fetched bytes.
//!
//! Record layout inside the buffer, repeated `count` times (little endian):
//!
//! ```text
//! time: i64 | key_len: u16 | key: [u8; key_len] | value_len: u32 | value: [u8; value_len]
//! ```

use crate::clock::Timestamp;

/// Largest key a record may carry (keys are short ids such as an `event_id`).
pub const MAX_KEY_LEN: usize = u16::MAX as usize;

/// Bytes of framing each record adds to its key and value.
pub const RECORD_OVERHEAD: usize = 8 + 2 + 4;

/// A batch of records being built for one append.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    buf: Vec<u8>,
    count: u32,
    min_time: Timestamp,
    max_time: Timestamp,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `bytes` of records.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            ..Self::default()
        }
    }

    /// Appends one record whose value is already encoded.
    ///
    /// Keys longer than [`MAX_KEY_LEN`] are truncated: keys only route records to
    /// partitions, and callers pass short ids.
    pub fn push(&mut self, key: &[u8], time: Timestamp, value: &[u8]) {
        self.push_with(key, time, |buf| buf.extend_from_slice(value));
    }

    /// Appends one record, letting `write_value` encode the value in place.
    pub fn push_with(
        &mut self,
        key: &[u8],
        time: Timestamp,
        write_value: impl FnOnce(&mut Vec<u8>),
    ) {
        let key = &key[..key.len().min(MAX_KEY_LEN)];
        self.buf.extend_from_slice(&time.to_le_bytes());
        self.buf
            .extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(key);
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        let value_start = self.buf.len();
        write_value(&mut self.buf);
        let value_len = (self.buf.len() - value_start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&value_len.to_le_bytes());
        if self.count == 0 {
            self.min_time = time;
            self.max_time = time;
        } else {
            self.min_time = self.min_time.min(time);
            self.max_time = self.max_time.max(time);
        }
        self.count += 1;
    }

    /// Appends every record of `other` after this batch's, in order.
    pub fn extend_from(&mut self, other: &Batch) {
        if other.is_empty() {
            return;
        }
        self.buf.extend_from_slice(&other.buf);
        if self.count == 0 {
            self.min_time = other.min_time;
            self.max_time = other.max_time;
        } else {
            self.min_time = self.min_time.min(other.min_time);
            self.max_time = self.max_time.max(other.max_time);
        }
        self.count += other.count;
    }

    /// Number of records in the batch.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded records (the layout in the module docs).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Smallest event time in the batch (0 when empty).
    pub fn min_time(&self) -> Timestamp {
        self.min_time
    }

    /// Largest event time in the batch (0 when empty).
    pub fn max_time(&self) -> Timestamp {
        self.max_time
    }

    /// Empties the batch, keeping its buffer.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
        self.min_time = 0;
        self.max_time = 0;
    }

    /// Iterates the records of this batch, numbering them from `base_offset`.
    pub fn iter(&self, base_offset: u64) -> RecordIter<'_> {
        RecordIter::new(&self.buf, base_offset, self.count)
    }
}

/// One record borrowed from a batch's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// The record's offset in its topic.
    pub offset: u64,
    /// The record's event time.
    pub time: Timestamp,
    /// The routing key (an `event_id` for most topics).
    pub key: &'a [u8],
    /// The encoded value.
    pub value: &'a [u8],
}

/// Iterator over the records of an encoded batch body.
///
/// Stops early (yielding nothing more) if the bytes end mid-record: bodies are
/// checksummed before they are iterated, so that only happens on a caller bug.
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    bytes: &'a [u8],
    next_offset: u64,
    remaining: u32,
}

impl<'a> RecordIter<'a> {
    /// Iterates `count` records laid out in `bytes`, the first numbered `base_offset`.
    pub fn new(bytes: &'a [u8], base_offset: u64, count: u32) -> Self {
        Self {
            bytes,
            next_offset: base_offset,
            remaining: count,
        }
    }
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = RecordView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let b = self.bytes;
        let time = i64::from_le_bytes(b.get(0..8)?.try_into().ok()?);
        let key_len = u16::from_le_bytes(b.get(8..10)?.try_into().ok()?) as usize;
        let key = b.get(10..10 + key_len)?;
        let at = 10 + key_len;
        let value_len = u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let value = b.get(at + 4..at + 4 + value_len)?;
        self.bytes = &b[at + 4 + value_len..];
        let offset = self.next_offset;
        self.next_offset += 1;
        self.remaining -= 1;
        Some(RecordView {
            offset,
            time,
            key,
            value,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_with_offsets() {
        let mut batch = Batch::new();
        batch.push(b"evt-1", 30, b"a");
        batch.push_with(b"", 10, |buf| buf.extend_from_slice(b"bc"));
        let got: Vec<_> = batch.iter(100).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].offset, got[0].time, got[0].key, got[0].value),
            (100, 30, &b"evt-1"[..], &b"a"[..])
        );
        assert_eq!(
            (got[1].offset, got[1].time, got[1].key, got[1].value),
            (101, 10, &b""[..], &b"bc"[..])
        );
        assert_eq!((batch.min_time(), batch.max_time()), (10, 30));
    }
}
