//! How one sellout record travels as one Fluvio record.
//!
//! The Fluvio key is the record's key (the `event_id`), which is what partitions route
//! on. The Fluvio value is the record in the exact byte layout of
//! [`sellout_streams::batch`] (`time | key_len | key | value_len | value`), so the values
//! of consecutive records concatenated are already a batch body: a read hands them to
//! [`sellout_streams::Fetched`] without re-encoding. The key is stored twice (it is a
//! short id); Fluvio's own record timestamp is the producer's wall clock and is ignored.
//!
//! The Fluvio key carries a 16-byte tag after the record key: the producing process's
//! random id and the record's sequence number in it (little endian). Fluvio has no
//! idempotent producer; the tag is how a writer whose confirmation was lost finds out
//! whether the record was stored before it sends it again (see `writer`). Routing
//! hashes the key without its tag.

use sellout_streams::RecordView;

/// Bytes of framing around a record's key and value in the batch layout.
const OVERHEAD: usize = sellout_streams::batch::RECORD_OVERHEAD;

/// Bytes of the tag after the record key in a Fluvio key.
pub(crate) const TAG_BYTES: usize = 16;

/// The Fluvio key of a record keyed `key` with tag `(producer, seq)`.
pub(crate) fn tagged_key(key: &[u8], (producer, seq): (u64, u64)) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + TAG_BYTES);
    out.extend_from_slice(key);
    out.extend_from_slice(&producer.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out
}

/// The record key of a Fluvio key (the key itself when it has no tag).
pub(crate) fn untagged(fluvio_key: &[u8]) -> &[u8] {
    fluvio_key
        .len()
        .checked_sub(TAG_BYTES)
        .map_or(fluvio_key, |n| &fluvio_key[..n])
}

/// The tag of a Fluvio key, if it has one.
pub(crate) fn tag(fluvio_key: &[u8]) -> Option<(u64, u64)> {
    let n = fluvio_key.len().checked_sub(TAG_BYTES)?;
    let producer = u64::from_le_bytes(fluvio_key[n..n + 8].try_into().ok()?);
    let seq = u64::from_le_bytes(fluvio_key[n + 8..].try_into().ok()?);
    Some((producer, seq))
}

/// Appends `record` to `out` in the batch layout.
pub(crate) fn encode_into(out: &mut Vec<u8>, record: &RecordView<'_>) {
    out.extend_from_slice(&record.time.to_le_bytes());
    // Keys in a Batch are at most u16::MAX bytes (Batch::push truncates).
    out.extend_from_slice(&(record.key.len() as u16).to_le_bytes());
    out.extend_from_slice(record.key);
    out.extend_from_slice(&(record.value.len() as u32).to_le_bytes());
    out.extend_from_slice(record.value);
}

/// Checks that `bytes` is exactly one record in the batch layout.
pub(crate) fn check_one(bytes: &[u8]) -> Result<(), String> {
    let key_len = bytes
        .get(8..10)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
        .ok_or_else(|| format!("{} bytes is shorter than a record header", bytes.len()))?;
    let at = 10 + key_len;
    let value_len = bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| format!("{} bytes end inside the key", bytes.len()))?;
    let want = OVERHEAD + key_len + value_len;
    if want == bytes.len() {
        Ok(())
    } else {
        Err(format!(
            "record frames {want} bytes but the value has {}",
            bytes.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sellout_streams::Batch;

    #[test]
    fn encoded_records_concatenate_into_a_batch_body() {
        let mut batch = Batch::new();
        batch.push(b"evt-7", 42, b"hello");
        batch.push(b"", -3, b"");
        let mut body = Vec::new();
        for r in batch.iter(0) {
            let mut one = Vec::new();
            encode_into(&mut one, &r);
            assert_eq!(check_one(&one), Ok(()));
            body.extend_from_slice(&one);
        }
        assert_eq!(body, batch.bytes());
    }

    #[test]
    fn tags_round_trip_and_routing_ignores_them() {
        let k = tagged_key(b"evt-7", (0xdead_beef, 42));
        assert_eq!(k.len(), 5 + TAG_BYTES);
        assert_eq!(untagged(&k), b"evt-7");
        assert_eq!(tag(&k), Some((0xdead_beef, 42)));
        assert_eq!(tag(b"short"), None);
        assert_eq!(untagged(b"short"), b"short");
    }

    #[test]
    fn values_that_are_not_one_record_are_refused() {
        let mut one = Vec::new();
        let mut batch = Batch::new();
        batch.push(b"k", 1, b"v");
        for r in batch.iter(0) {
            encode_into(&mut one, &r);
        }
        assert!(check_one(&one[..one.len() - 1]).is_err());
        let mut two = one.clone();
        two.push(0);
        assert!(check_one(&two).is_err());
        assert!(check_one(b"short").is_err());
    }
}
