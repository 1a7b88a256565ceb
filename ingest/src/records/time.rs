//! Serde for event times: RFC 3339 in human-readable formats, integer milliseconds in
//! binary ones.
//!
//! JSON input may carry either an RFC 3339 string (`"2026-11-22T19:30:00Z"`, any offset,
//! fractions beyond milliseconds truncated) or an integer of milliseconds since the epoch.
//! JSON output is always RFC 3339 in UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserializer, Serializer, de};

use super::Timestamp;

/// Formats `ms` as RFC 3339 in UTC with milliseconds (`2026-11-22T19:30:00.000Z`).
pub fn to_rfc3339(ms: Timestamp) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Parses an RFC 3339 timestamp into milliseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Result<Timestamp, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("invalid RFC 3339 time {s:?}: {e}"))
}

/// `#[serde(with = "time")]` for a [`Timestamp`] field.
pub fn serialize<S: Serializer>(ms: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&to_rfc3339(*ms))
    } else {
        s.serialize_i64(*ms)
    }
}

/// `#[serde(with = "time")]` for a [`Timestamp`] field.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    if d.is_human_readable() {
        d.deserialize_any(TimeVisitor)
    } else {
        d.deserialize_i64(TimeVisitor)
    }
}

struct TimeVisitor;

impl de::Visitor<'_> for TimeVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an RFC 3339 time string or integer milliseconds since the Unix epoch")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("time {v} is out of range")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        parse_rfc3339(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_and_accepts_offsets() {
        let ms = 1_795_000_000_123;
        assert_eq!(parse_rfc3339(&to_rfc3339(ms)), Ok(ms));
        assert_eq!(
            parse_rfc3339("2026-11-22T20:30:00+01:00"),
            parse_rfc3339("2026-11-22T19:30:00Z")
        );
        assert!(parse_rfc3339("22/11/2026").is_err());
    }
}
