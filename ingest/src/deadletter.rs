//! The dead-letter stream: every rejected record, with why and its original bytes.
//!
//! A [`DeadLetter`] is appended to the `deadletter` topic (keyed by the intended topic)
//! in the same wire form as other records (a version byte, then postcard), so rejected
//! input is durable, countable and can be inspected or replayed after a fix.

use serde::{Deserialize, Serialize};

use crate::records::{Timestamp, Topic, time};
use crate::validate::Reason;

/// The stream name of the dead-letter topic.
pub const TOPIC: &str = "deadletter";

/// One rejected record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The topic the record was meant for, when known.
    pub topic: Option<Topic>,
    /// Where it came from (`http`, a file name, `demo`, ...).
    pub source: String,
    /// Position of the record in its input.
    pub index: u64,
    /// The stable reason code ([`Reason::code`]).
    pub code: String,
    /// The human-readable reason.
    pub reason: String,
    /// When it was received, by the ingest clock.
    #[serde(with = "crate::records::time")]
    pub received: Timestamp,
    /// The record's original bytes (for columnar input: the row rendered as JSON).
    #[serde(with = "original_bytes")]
    pub original: Vec<u8>,
}

impl DeadLetter {
    /// A dead letter for `reason`.
    pub fn new(
        topic: Option<Topic>,
        source: &str,
        index: u64,
        reason: &Reason,
        received: Timestamp,
        original: Vec<u8>,
    ) -> Self {
        Self {
            topic,
            source: source.to_owned(),
            index,
            code: reason.code().to_owned(),
            reason: reason.to_string(),
            received,
            original,
        }
    }

    /// The routing key on the dead-letter topic: the intended topic's name.
    pub fn key(&self) -> &'static str {
        self.topic.map(Topic::as_str).unwrap_or("unknown")
    }

    /// Appends the wire form to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        crate::records::wire::encode_into(self, out);
    }

    /// Decodes a value read from the dead-letter topic.
    pub fn decode(bytes: &[u8]) -> Result<Self, crate::records::wire::WireError> {
        crate::records::wire::decode_value(TOPIC, bytes)
    }

    /// A one-line human summary for logs and the CLI (original bytes shortened).
    pub fn summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.original);
        let mut shown: String = text.chars().take(120).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        format!(
            "{} {} #{} [{}] {}: {}",
            time::to_rfc3339(self.received),
            self.source,
            self.index,
            self.key(),
            self.reason,
            shown
        )
    }
}

/// Original bytes: a byte string in binary formats; in JSON, a UTF-8 string when the
/// bytes are valid UTF-8, else `{"base64": "..."}`.
mod original_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Shown {
        Text(String),
        Binary { base64: String },
    }

    pub fn serialize<S: Serializer>(bytes: &Vec<u8>, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return bytes.serialize(s);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Shown::Text(text.to_owned()).serialize(s),
            Err(_) => Shown::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            }
            .serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if !d.is_human_readable() {
            return <Vec<u8> as Deserialize>::deserialize(d);
        }
        match Shown::deserialize(d)? {
            Shown::Text(t) => Ok(t.into_bytes()),
            Shown::Binary { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_round_trip_through_the_wire_and_json() {
        let reason = Reason::UnknownEvent("evt-x".into());
        for original in [b"{\"event_id\":\"evt-x\"}".to_vec(), vec![0xff, 0x00, 0x12]] {
            let dl = DeadLetter::new(
                Some(Topic::Sales),
                "http",
                3,
                &reason,
                1_795_000_000_000,
                original,
            );
            let mut buf = Vec::new();
            dl.encode_into(&mut buf);
            assert_eq!(DeadLetter::decode(&buf).unwrap(), dl);
            let json = serde_json::to_string(&dl).unwrap();
            assert_eq!(serde_json::from_str::<DeadLetter>(&json).unwrap(), dl);
        }
    }
}
