//! CloudEvents v1.0: structured mode (one event), batch mode (an array of events) and
//! binary mode (attributes in `ce-*` HTTP headers, the data in the body).
//!
//! An event is accepted when `specversion` is `"1.0"`, `id`, `source` and `type` are
//! non-empty strings, `type` is one of [`Topic::cloudevent_type`] (`sellout.sale.v1`,
//! `sellout.beacon.v1`, `sellout.social.v1`, `sellout.queue.v1`), `time`, if present,
//! is RFC 3339, and `datacontenttype`, if present, is JSON. Anything else is rejected
//! with [`Reason::CloudEvent`] saying which attribute is wrong. Extension attributes are
//! allowed and ignored.
//!
//! The data is one record: `data` holding a JSON object, or `data_base64` holding the
//! base64 of one. The record must be complete on its own: the event's `time` is **not**
//! copied into a record that lacks one; such a record is rejected with
//! [`Reason::MissingField`]`("time")`, because the time an event was emitted is not the
//! time the shopper acted. Likewise `subject` is informational and not checked against
//! the record.
//!
//! In binary mode the body is the data and `content-type` its type: a JSON object (one
//! record), a JSON array of records, or JSON Lines; each record is decoded on its own.

use std::borrow::Cow;

use axum::http::HeaderMap;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::json::{self, Expect};
use super::{Decoded, jsonl};
use crate::records::{AnyRecord, Topic, time};
use crate::validate::{Limits, Reason};

/// Name of the format in [`Reason::Malformed`].
pub(crate) const FORMAT: &str = "CloudEvents";

/// The only CloudEvents version accepted.
pub const SPEC_VERSION: &str = "1.0";

/// Decodes one structured-mode event (`application/cloudevents+json`). An array of
/// events is accepted too, as in batch mode. With a `topic`, events of another type are
/// rejected with [`Reason::WrongTopic`].
pub fn decode_structured(topic: Option<Topic>, input: &[u8], limits: &Limits) -> Decoded {
    json::decode_with(Expect::Event(topic), FORMAT, input, limits)
}

/// Decodes a batch of structured events (`application/cloudevents-batch+json`, a JSON
/// array); each event is accepted or rejected on its own.
pub fn decode_batch(topic: Option<Topic>, input: &[u8], limits: &Limits) -> Decoded {
    json::decode_with(Expect::Event(topic), FORMAT, input, limits)
}

/// Decodes a binary-mode event: the attributes from the `ce-*` headers (values are
/// percent-decoded), the data from `body`, whose type `content-type` gives (JSON, the
/// default, or JSON Lines; a structured or batch content type is decoded as such).
///
/// An envelope that isn't acceptable rejects the whole body with [`Reason::CloudEvent`].
pub fn decode_binary(headers: &HeaderMap, body: &[u8], limits: &Limits) -> Decoded {
    let content_type = match header(headers, "content-type") {
        Ok(ct) => ct,
        Err(reason) => return Decoded::whole_input_rejected(None, reason, body),
    };
    let media = content_type.as_deref().map(media_type).unwrap_or_default();
    match media.as_str() {
        "application/cloudevents+json" => return decode_structured(None, body, limits),
        "application/cloudevents-batch+json" => return decode_batch(None, body, limits),
        _ => {}
    }
    let attributes = (|| -> Result<_, Reason> {
        Ok(Attributes {
            specversion: header(headers, "ce-specversion")?,
            id: header(headers, "ce-id")?,
            source: header(headers, "ce-source")?,
            ty: header(headers, "ce-type")?,
            time: header(headers, "ce-time")?,
            subject: header(headers, "ce-subject")?,
            datacontenttype: None,
        })
    })();
    let topic = match attributes.and_then(|a| a.check().map_err(|(_, r)| r)) {
        Ok(topic) => topic,
        Err(reason) => {
            let topic = header(headers, "ce-type")
                .ok()
                .flatten()
                .and_then(|t| Topic::from_cloudevent_type(&t));
            return Decoded::whole_input_rejected(topic, reason, body);
        }
    };
    if body.is_empty() {
        return Decoded::default();
    }
    if media.is_empty() || is_json(&media) {
        json::decode_with(Expect::Record(topic), json::FORMAT, body, limits)
    } else if is_json_lines(&media) {
        jsonl::decode_with(Expect::Record(topic), body, limits)
    } else {
        let reason = Reason::CloudEvent(format!(
            "content-type `{media}` is not supported for the data; send JSON (application/json) or JSON Lines (application/x-ndjson)"
        ));
        Decoded::whole_input_rejected(Some(topic), reason, body)
    }
}

/// A record as a structured-mode CloudEvent, for writers: `specversion` 1.0, the given
/// `id` and `source`, the record's topic's `type`, its routing key as `subject`, its
/// time as `time`, and the record's JSON form as `data`.
pub fn to_structured(record: &AnyRecord, id: &str, source: &str) -> serde_json::Value {
    let mut event = serde_json::Map::new();
    event.insert("specversion".into(), SPEC_VERSION.into());
    event.insert("id".into(), id.into());
    event.insert("source".into(), source.into());
    event.insert("type".into(), record.topic().cloudevent_type().into());
    if !record.key().is_empty() {
        event.insert("subject".into(), record.key().into());
    }
    event.insert("time".into(), time::to_rfc3339(record.time()).into());
    event.insert("datacontenttype".into(), "application/json".into());
    event.insert("data".into(), record.to_json());
    serde_json::Value::Object(event)
}

/// A structured event's attributes, borrowed from the input where no unescaping was
/// needed. Unknown (extension) attributes are ignored.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    specversion: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    datacontenttype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data_base64: Option<Cow<'a, str>>,
}

/// The context attributes checked, whichever mode they came in.
struct Attributes<S> {
    specversion: Option<S>,
    id: Option<S>,
    source: Option<S>,
    ty: Option<S>,
    time: Option<S>,
    subject: Option<S>,
    datacontenttype: Option<S>,
}

fn rejected(message: impl Into<String>) -> Reason {
    Reason::CloudEvent(message.into())
}

impl<S: AsRef<str>> Attributes<S> {
    /// Checks the attributes; the topic the event's `type` names.
    fn check(&self) -> Result<Topic, (Option<Topic>, Reason)> {
        let ty = self.ty.as_ref().map(AsRef::as_ref).unwrap_or_default();
        let topic = Topic::from_cloudevent_type(ty);
        match self.specversion.as_ref().map(AsRef::as_ref) {
            None => {
                return Err((
                    topic,
                    rejected(
                        "missing required attribute `specversion` (without a topic, each \
                         object must be a structured CloudEvent)",
                    ),
                ));
            }
            Some(SPEC_VERSION) => {}
            Some(other) => {
                return Err((
                    topic,
                    rejected(format!(
                        "unsupported specversion {other:?}; only \"{SPEC_VERSION}\" is accepted"
                    )),
                ));
            }
        }
        for (name, value) in [
            ("id", &self.id),
            ("source", &self.source),
            ("type", &self.ty),
        ] {
            if value.as_ref().is_none_or(|v| v.as_ref().is_empty()) {
                return Err((
                    topic,
                    rejected(format!(
                        "missing required attribute `{name}` (a non-empty string)"
                    )),
                ));
            }
        }
        let Some(topic) = topic else {
            let known: Vec<&str> = Topic::ALL.iter().map(|t| t.cloudevent_type()).collect();
            return Err((
                None,
                rejected(format!(
                    "unknown type {ty:?}; expected one of {}",
                    known.join(", ")
                )),
            ));
        };
        if let Some(t) = &self.time
            && let Err(e) = time::parse_rfc3339(t.as_ref())
        {
            return Err((Some(topic), rejected(format!("attribute `time`: {e}"))));
        }
        if let Some(ct) = &self.datacontenttype {
            let media = media_type(ct.as_ref());
            if !is_json(&media) {
                return Err((
                    Some(topic),
                    rejected(format!(
                        "datacontenttype {media:?} is not JSON; the data must be a JSON record"
                    )),
                ));
            }
        }
        // `subject` is informational: accepted whatever it says.
        let _ = &self.subject;
        Ok(topic)
    }
}

/// Decodes one structured event into its record. `expected`: the topic the event must
/// be for, if any. The error carries the topic when the event's type named one.
pub(crate) fn record_from_event(
    expected: Option<Topic>,
    bytes: &[u8],
) -> Result<AnyRecord, (Option<Topic>, Reason)> {
    let envelope: Envelope<'_> = match serde_json::from_slice(bytes) {
        Ok(e) => e,
        Err(e) => return Err((expected, envelope_error(bytes, &e))),
    };
    let attributes = Attributes {
        specversion: envelope.specversion,
        id: envelope.id,
        source: envelope.source,
        ty: envelope.ty,
        time: envelope.time,
        subject: envelope.subject,
        datacontenttype: envelope.datacontenttype,
    };
    let topic = attributes.check().map_err(|(t, r)| (t.or(expected), r))?;
    if let Some(expected) = expected
        && expected != topic
    {
        return Err((
            Some(topic),
            Reason::WrongTopic {
                expected,
                found: topic,
            },
        ));
    }
    let fail = |reason: Reason| (Some(topic), reason);
    match (envelope.data, envelope.data_base64) {
        (Some(_), Some(_)) => Err(fail(rejected(
            "an event has either `data` or `data_base64`, not both",
        ))),
        (None, None) => Err(fail(rejected(
            "the event has no data; expected `data` holding one record object",
        ))),
        (Some(data), None) => {
            let data = data.get().as_bytes();
            if json::first_non_space(data) != Some(b'{') {
                return Err(fail(rejected(
                    "`data` must be a JSON object holding one record",
                )));
            }
            json::record_from_json(topic, data).map_err(fail)
        }
        (None, Some(encoded)) => {
            let data = base64::engine::general_purpose::STANDARD
                .decode(encoded.as_bytes())
                .map_err(|e| fail(rejected(format!("`data_base64` is not valid base64: {e}"))))?;
            if json::first_non_space(&data) != Some(b'{') {
                return Err(fail(rejected(
                    "`data_base64` must hold the base64 of a JSON object holding one record",
                )));
            }
            json::record_from_json(topic, &data).map_err(fail)
        }
    }
}

#[cold]
fn envelope_error(bytes: &[u8], e: &serde_json::Error) -> Reason {
    if e.classify() != serde_json::error::Category::Data {
        return json::malformed(FORMAT, e);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let path = match serde_path_to_error::deserialize::<_, Envelope<'_>>(&mut de) {
        Err(e) => e.path().to_string(),
        Ok(_) => String::from("."),
    };
    if path == "." {
        Reason::Malformed {
            format: FORMAT,
            detail: format!("a CloudEvent must be a JSON object: {e}"),
        }
    } else {
        rejected(format!("attribute `{path}`: {e}"))
    }
}

/// A header's value, percent-decoded; `None` when absent.
fn header(headers: &HeaderMap, name: &str) -> Result<Option<String>, Reason> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(value.as_bytes())
        .map_err(|_| rejected(format!("header `{name}` is not UTF-8")))?;
    percent_decode(text)
        .map(Some)
        .ok_or_else(|| rejected(format!("header `{name}` is not UTF-8 once percent-decoded")))
}

/// Decodes `%XX` escapes (the CloudEvents HTTP binding's header encoding). A `%` not
/// followed by two hex digits is kept as is.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The media type of a content type: lower case, without parameters.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a media type (from [`media_type`]) is JSON.
pub(crate) fn is_json(media: &str) -> bool {
    media == "application/json" || media == "text/json" || media.ends_with("+json")
}

/// Whether a media type (from [`media_type`]) is JSON Lines.
pub(crate) fn is_json_lines(media: &str) -> bool {
    matches!(
        media,
        "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonl"
            | "application/jsonlines"
            | "application/x-jsonlines"
            | "application/json-lines"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%C3%A9").as_deref(), Some("%zzé"));
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn media_types() {
        assert_eq!(
            media_type("Application/JSON; charset=utf-8"),
            "application/json"
        );
        assert!(is_json("application/cloudevents+json"));
        assert!(!is_json("text/plain"));
        assert!(is_json_lines("application/x-ndjson"));
    }
}
