//! The on-disk frame of one stored batch: a fixed 44-byte header, the batch body
//! ([`crate::Batch::bytes`]), and one CRC32 that covers both.
//!
//! ```text
//! at  size  field (little endian)
//!  0   4    magic  b"SLOG"
//!  4   1    version (1)
//!  5   1    flags (0)
//!  6   2    reserved (0)
//!  8   4    body_len: bytes of the body after the header
//! 12   4    count: records in the body (never 0)
//! 16   8    base_offset: offset of the first record
//! 24   8    min_time: smallest event time in the batch
//! 32   8    max_time: largest event time in the batch
//! 40   4    crc: CRC32 (crc32fast) of header bytes 0..40 followed by the body
//! 44   ...  body
//! ```
//!
//! The CRC covers the header fields too, so a torn or bit-flipped header is caught as
//! surely as a damaged body.

use crate::clock::Timestamp;
use crate::transport::Offset;

/// Bytes of the frame header.
pub(crate) const HEADER_LEN: usize = 44;
/// Bytes of the header covered by the CRC (all but the CRC itself).
const CRC_AT: usize = 40;
const MAGIC: [u8; 4] = *b"SLOG";
const VERSION: u8 = 1;

/// The decoded header of one stored batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    pub body_len: u32,
    pub count: u32,
    pub base_offset: Offset,
    pub min_time: Timestamp,
    pub max_time: Timestamp,
    pub crc: u32,
}

impl FrameHeader {
    /// A header for `body`, with its CRC computed.
    pub fn for_body(
        body: &[u8],
        count: u32,
        base_offset: Offset,
        min_time: Timestamp,
        max_time: Timestamp,
    ) -> Self {
        let mut header = Self {
            body_len: body.len() as u32,
            count,
            base_offset,
            min_time,
            max_time,
            crc: 0,
        };
        header.crc = header.compute_crc(body);
        header
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = self.encode_prefix();
        out[CRC_AT..].copy_from_slice(&self.crc.to_le_bytes());
        out
    }

    fn encode_prefix(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = VERSION;
        out[8..12].copy_from_slice(&self.body_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.count.to_le_bytes());
        out[16..24].copy_from_slice(&self.base_offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.min_time.to_le_bytes());
        out[32..40].copy_from_slice(&self.max_time.to_le_bytes());
        out
    }

    /// Parses a header, checking magic, version and the fields that must be zero.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, String> {
        if bytes[0..4] != MAGIC {
            return Err(format!("bad magic {:02x?}", &bytes[0..4]));
        }
        if bytes[4] != VERSION {
            return Err(format!("unknown version {}", bytes[4]));
        }
        if bytes[5..8] != [0, 0, 0] {
            return Err("unknown flags".to_string());
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let header = Self {
            body_len: u32_at(8),
            count: u32_at(12),
            base_offset: u64_at(16),
            min_time: u64_at(24) as i64,
            max_time: u64_at(32) as i64,
            crc: u32_at(CRC_AT),
        };
        if header.count == 0 {
            return Err("batch of zero records".to_string());
        }
        // Each record carries at least its framing, so a count larger than that is a lie.
        if u64::from(header.count) * crate::batch::RECORD_OVERHEAD as u64
            > u64::from(header.body_len)
        {
            return Err(format!(
                "{} records cannot fit in {} bytes",
                header.count, header.body_len
            ));
        }
        // Offsets are u64 to the end: a batch may not number records past u64::MAX.
        if header
            .base_offset
            .checked_add(u64::from(header.count))
            .is_none()
        {
            return Err(format!(
                "{} records from offset {} run past the largest offset",
                header.count, header.base_offset
            ));
        }
        if header.min_time > header.max_time {
            return Err("min_time after max_time".to_string());
        }
        Ok(header)
    }

    /// The CRC of this header's fields followed by `body`.
    pub fn compute_crc(&self, body: &[u8]) -> u32 {
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&self.encode_prefix()[..CRC_AT]);
        hasher.update(body);
        hasher.finalize()
    }

    /// True when `body` is the body this header was written with.
    pub fn verify(&self, body: &[u8]) -> bool {
        body.len() == self.body_len as usize && self.compute_crc(body) == self.crc
    }

    /// Bytes of the whole frame (header and body).
    pub fn frame_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.body_len)
    }

    /// The offset after this batch's last record (no overflow: [`FrameHeader::decode`]
    /// refuses a header whose offsets pass `u64::MAX`, and the appender never writes one).
    pub fn next_offset(&self) -> Offset {
        self.base_offset + u64::from(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_crc_catches_any_flipped_byte() {
        let body = vec![7u8; 3 * crate::batch::RECORD_OVERHEAD];
        let header = FrameHeader::for_body(&body, 3, 42, -5, 9);
        let bytes = header.encode();
        assert_eq!(FrameHeader::decode(&bytes), Ok(header));
        assert!(header.verify(&body));
        for i in 0..HEADER_LEN {
            let mut bad = bytes;
            bad[i] ^= 0x10;
            let caught = FrameHeader::decode(&bad)
                .map(|h| !h.verify(&body))
                .unwrap_or(true);
            assert!(caught, "flipping header byte {i} went unnoticed");
        }
        let past_the_end = FrameHeader::for_body(&body, 3, u64::MAX - 2, 0, 0);
        let err = FrameHeader::decode(&past_the_end.encode()).unwrap_err();
        assert!(err.contains("past the largest offset"), "{err}");
        let to_the_end = FrameHeader::for_body(&body, 3, u64::MAX - 3, 0, 0);
        assert_eq!(FrameHeader::decode(&to_the_end.encode()), Ok(to_the_end));
        let mut bad_body = body.clone();
        bad_body[5] ^= 1;
        assert!(!header.verify(&bad_body));
    }
}
