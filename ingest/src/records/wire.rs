//! The wire form of records on the streams: a version byte and the postcard encoding.
//!
//! Values on input topics are encoded here and nowhere else, so a reader of any topic
//! decodes with [`decode`]. The first byte is the format version; a reader meeting a
//! version it doesn't know fails with a clear error rather than misreading.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{AnyRecord, BeaconRecord, QueueRecord, SaleRecord, SocialRecord, Topic};

/// Current wire format version.
pub const VERSION: u8 = 1;

/// Why a stored value could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The value was empty.
    #[error("empty value")]
    Empty,
    /// The value was written by a format version this build doesn't know.
    #[error("unknown wire format version {0} (this build reads version {VERSION})")]
    UnknownVersion(u8),
    /// The bytes don't decode as the expected type.
    #[error("malformed {what} value: {source}")]
    Malformed {
        /// What was expected (a topic name, `deadletter`).
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: postcard::Error,
    },
}

/// Appends the wire form of `record` to `out`.
pub fn encode_into<T: Serialize>(record: &T, out: &mut Vec<u8>) {
    out.push(VERSION);
    // Writing into a Vec cannot fail for our plain record types.
    let taken = std::mem::take(out);
    *out = postcard::to_extend(record, taken).unwrap_or_else(|_| Vec::new());
}

/// Appends the wire form of any record to `out`.
pub fn encode_any_into(record: &AnyRecord, out: &mut Vec<u8>) {
    match record {
        AnyRecord::Sales(r) => encode_into(r, out),
        AnyRecord::Beacons(r) => encode_into(r, out),
        AnyRecord::Social(r) => encode_into(r, out),
        AnyRecord::Queues(r) => encode_into(r, out),
    }
}

/// Decodes one value of type `T`; `what` names it in errors.
pub fn decode_value<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, WireError> {
    match bytes.split_first() {
        None => Err(WireError::Empty),
        Some((&VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|source| WireError::Malformed { what, source })
        }
        Some((&v, _)) => Err(WireError::UnknownVersion(v)),
    }
}

/// Decodes a value read from `topic`.
pub fn decode(topic: Topic, bytes: &[u8]) -> Result<AnyRecord, WireError> {
    Ok(match topic {
        Topic::Sales => AnyRecord::Sales(decode_value::<SaleRecord>("sales", bytes)?),
        Topic::Beacons => AnyRecord::Beacons(decode_value::<BeaconRecord>("beacons", bytes)?),
        Topic::Social => AnyRecord::Social(decode_value::<SocialRecord>("social", bytes)?),
        Topic::Queues => AnyRecord::Queues(decode_value::<QueueRecord>("queues", bytes)?),
    })
}
