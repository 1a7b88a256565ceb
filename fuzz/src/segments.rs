//! What the log target needs to know of the segment layout (`streams/src/log/format.rs`):
//! where a frame's length and checksum lie, so it can make the checksums of mutated
//! frames right again and reach the code behind them.

/// Separates the parts (segments) of a log target input.
pub const PART_SEPARATOR: &[u8] = b"\n--segment--\n";

const HEADER_LEN: usize = 44;
const CRC_AT: usize = 40;

/// Rewrites the CRC of every frame whose length fits in `bytes`, in place, walking the
/// frames by their announced lengths; stops at the first frame that doesn't fit.
pub fn fix_crcs(bytes: &mut [u8]) {
    let mut pos = 0usize;
    while let Some(header) = bytes.get(pos..pos + HEADER_LEN) {
        let body_len = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        let Some(end) = (pos + HEADER_LEN).checked_add(body_len as usize) else {
            return;
        };
        if end > bytes.len() {
            return;
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&bytes[pos..pos + CRC_AT]);
        hasher.update(&bytes[pos + HEADER_LEN..end]);
        let crc = hasher.finalize();
        bytes[pos + CRC_AT..pos + HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}
