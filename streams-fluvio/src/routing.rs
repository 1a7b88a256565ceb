//! Key → partition routing: a stable hash of the record key (the `event_id`) modulo
//! the topic's partition count, so one event's records always land in one partition,
//! in the order they were appended, in every process and every release.
//!
//! The hash is FNV-1a 64, written out here rather than taken from a hasher whose
//! output may change between versions (std's `DefaultHasher` makes no promise).

use fluvio::{Partitioner, PartitionerConfig};

use crate::codec;

/// The partition of `key` in a topic of `partitions` partitions (0 when `partitions` is 0).
pub fn partition_of(key: &[u8], partitions: u32) -> u32 {
    if partitions == 0 {
        return 0;
    }
    (fnv1a(key) % u64::from(partitions)) as u32
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The producer's partitioner: [`partition_of`] over the topic's partition count
/// (never only the available ones, which would move keys while an SPU is down).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KeyPartitioner;

impl Partitioner for KeyPartitioner {
    fn partition(&self, config: &PartitionerConfig, key: Option<&[u8]>, _value: &[u8]) -> u32 {
        // The Fluvio key is the record key followed by its tag (see `codec`).
        let key = codec::untagged(key.unwrap_or_default());
        partition_of(key, config.partition_count())
    }
}

/// The partitioner of a producer bound to one partition (a worker's own outputs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedPartitioner(pub(crate) u32);

impl Partitioner for FixedPartitioner {
    fn partition(&self, _config: &PartitionerConfig, _key: Option<&[u8]>, _value: &[u8]) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn keys_spread_over_every_partition_and_stay_put() {
        let mut seen = [0u32; 4];
        for i in 0..1000 {
            let key = format!("evt-{i}");
            let p = partition_of(key.as_bytes(), 4);
            assert_eq!(p, partition_of(key.as_bytes(), 4));
            seen[p as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "spread: {seen:?}");
        assert_eq!(partition_of(b"x", 1), 0);
        assert_eq!(partition_of(b"x", 0), 0);
    }
}
