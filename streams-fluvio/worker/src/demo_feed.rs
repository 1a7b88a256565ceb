//! The Fluvio demo's ingest of the simulator's chunks ([`sellout_simulator::feed`]
//! renders them, as for `sellout demo`).

use sellout_ingest::decode::{self, Format};
use sellout_ingest::ingestor::{IngestError, Ingestor};
use sellout_ingest::records::Topic;

/// Decodes, validates and appends the JSON Lines of each topic.
pub fn ingest_chunk(ingestor: &Ingestor, lines: &[Vec<u8>; 4]) -> Result<(), IngestError> {
    let limits = ingestor.validator().limits().clone();
    for (topic, bytes) in Topic::ALL.into_iter().zip(lines) {
        if bytes.is_empty() {
            continue;
        }
        let decoded = decode::decode(Format::JsonLines, Some(topic), bytes, &limits);
        ingestor.ingest(decoded, bytes, "demo")?;
    }
    Ok(())
}
