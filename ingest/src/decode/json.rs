//! JSON: one record object, or an array of record objects.
//!
//! Each array element is split off with its original bytes and span before it is
//! decoded, so one bad element rejects only itself. Records are decoded with serde into
//! the record types, which deny unknown fields; serde's complaint (with line and column)
//! becomes the [`Reason`]. An element larger than `max_record_bytes` is rejected as
//! [`Reason::Oversized`] without being decoded.
//!
//! Without a topic, every object must be a structured CloudEvent whose `type` names the
//! topic (see [`super::cloudevents`]); that is how a file mixing topics is
//! ingested. With a topic, an object that is a CloudEvent (it has `specversion`) is
//! accepted too, when its `type` matches the topic.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::{DecodeRejection, Decoded, DecodedRecord, cloudevents};
use crate::records::{AnyRecord, BeaconRecord, QueueRecord, SaleRecord, SocialRecord, Topic};
use crate::validate::{Limits, Reason};

/// Name of the format in [`Reason::Malformed`].
pub(crate) const FORMAT: &str = "JSON";

/// Decodes a JSON object or array of objects holding records of `topic` (or, without
/// a topic, structured CloudEvents).
pub fn decode(topic: Option<Topic>, input: &[u8], limits: &Limits) -> Decoded {
    let expect = match topic {
        Some(t) => Expect::Record(t),
        None => Expect::Event(None),
    };
    decode_with(expect, FORMAT, input, limits)
}

/// What each JSON object is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A record of this topic (or a CloudEvent of this topic's type).
    Record(Topic),
    /// A structured CloudEvent, of this topic's type when one is given.
    Event(Option<Topic>),
}

impl Expect {
    fn topic(self) -> Option<Topic> {
        match self {
            Expect::Record(t) => Some(t),
            Expect::Event(t) => t,
        }
    }
}

/// Decodes a JSON object or array of objects, each being what `expect` says.
pub(crate) fn decode_with(
    expect: Expect,
    format: &'static str,
    input: &[u8],
    limits: &Limits,
) -> Decoded {
    if input.is_empty() {
        return Decoded::default();
    }
    let mut out = Decoded::default();
    match first_non_space(input) {
        Some(b'[') => match serde_json::from_slice::<Vec<&RawValue>>(input) {
            Ok(elements) => {
                out.records.reserve(elements.len());
                for (index, raw) in elements.into_iter().enumerate() {
                    let span = span_of(input, raw.get().as_bytes());
                    push_element(&mut out, expect, index, input, span, limits);
                }
            }
            Err(e) => {
                return Decoded::whole_input_rejected(expect.topic(), malformed(format, &e), input);
            }
        },
        Some(b'{') => {
            let span = trimmed_span(input);
            push_element(&mut out, expect, 0, input, span, limits);
        }
        _ => {
            let reason = Reason::Malformed {
                format,
                detail: "expected a JSON object or an array of objects".into(),
            };
            return Decoded::whole_input_rejected(expect.topic(), reason, input);
        }
    }
    out
}

/// Decodes the bytes `input[span]` as one record (or CloudEvent) and appends it to `out`.
pub(crate) fn push_element(
    out: &mut Decoded,
    expect: Expect,
    index: usize,
    input: &[u8],
    span: std::ops::Range<usize>,
    limits: &Limits,
) {
    let bytes = &input[span.clone()];
    let result = if bytes.len() > limits.max_record_bytes {
        Err((
            expect.topic(),
            Reason::Oversized {
                bytes: bytes.len(),
                limit: limits.max_record_bytes,
            },
        ))
    } else {
        match expect {
            Expect::Event(t) => cloudevents::record_from_event(t, bytes),
            Expect::Record(t) => match record_from_json(t, bytes) {
                Err(reason) if looks_like_cloudevent(&reason, bytes) => {
                    cloudevents::record_from_event(Some(t), bytes)
                }
                other => other.map_err(|r| (Some(t), r)),
            },
        }
    };
    match result {
        Ok(record) => out.records.push(DecodedRecord {
            index,
            record,
            span: Some(span),
        }),
        Err((topic, reason)) => out.rejected.push(DecodeRejection {
            index,
            topic,
            reason,
            original: bytes.to_vec(),
        }),
    }
}

/// Whether a typed decode failed because the object is a CloudEvent rather than a record.
#[cold]
fn looks_like_cloudevent(reason: &Reason, bytes: &[u8]) -> bool {
    let unknown_field = matches!(reason, Reason::InvalidField { detail, .. } if detail.starts_with("unknown field"));
    unknown_field && bytes.windows(13).any(|w| w == b"\"specversion\"")
}

/// Decodes one JSON object as a record of `topic`.
pub fn record_from_json(topic: Topic, bytes: &[u8]) -> Result<AnyRecord, Reason> {
    match topic {
        Topic::Sales => typed::<SaleRecord>(bytes).map(AnyRecord::Sales),
        Topic::Beacons => typed::<BeaconRecord>(bytes).map(AnyRecord::Beacons),
        Topic::Social => typed::<SocialRecord>(bytes).map(AnyRecord::Social),
        Topic::Queues => typed::<QueueRecord>(bytes).map(AnyRecord::Queues),
    }
}

fn typed<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reason> {
    // The fast path has no path tracking; only a failure is decoded again to name the field.
    serde_json::from_slice::<T>(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => data_error::<T>(bytes, &e),
        _ => malformed(FORMAT, &e),
    })
}

#[cold]
fn data_error<T: DeserializeOwned>(bytes: &[u8], e: &serde_json::Error) -> Reason {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let path = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => e.path().to_string(),
        Ok(_) => String::from("."),
    };
    reason_for_data_error(&path, e)
}

/// Maps a serde data error at `path` (`.` for the record itself) to a [`Reason`].
pub(crate) fn reason_for_data_error(path: &str, e: &serde_json::Error) -> Reason {
    let message = e.to_string();
    if let Some(field) = between(&message, "missing field `", "`") {
        return Reason::MissingField(field.to_owned());
    }
    if let Some(field) = between(&message, "unknown field `", "`") {
        return Reason::InvalidField {
            field: field.to_owned(),
            detail: message,
        };
    }
    if path == "." || path.is_empty() {
        return Reason::Malformed {
            format: FORMAT,
            detail: format!("a record must be a JSON object: {message}"),
        };
    }
    if message.starts_with("invalid type: null") {
        return Reason::MissingField(path.to_owned());
    }
    Reason::InvalidField {
        field: path.to_owned(),
        detail: message,
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(start)?;
    rest.find(end).map(|i| &rest[..i])
}

/// A syntax error as [`Reason::Malformed`].
pub(crate) fn malformed(format: &'static str, e: &serde_json::Error) -> Reason {
    Reason::Malformed {
        format,
        detail: e.to_string(),
    }
}

/// The first byte that isn't JSON whitespace.
pub(crate) fn first_non_space(input: &[u8]) -> Option<u8> {
    input.iter().copied().find(|b| !is_space(*b))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The span of `input` without leading and trailing JSON whitespace.
pub(crate) fn trimmed_span(input: &[u8]) -> std::ops::Range<usize> {
    let start = input
        .iter()
        .position(|b| !is_space(*b))
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !is_space(*b))
        .map_or(start, |i| i + 1);
    start..end
}

/// Where `part`, a subslice of `input`, lies in it.
pub(crate) fn span_of(input: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(input.as_ptr() as usize);
    let start = start.min(input.len());
    let end = (start + part.len()).min(input.len());
    start..end
}
