//! Every input format, black box: round trips per format and topic, a table of bad
//! inputs with the reason each must get, and property tests for the codecs and for
//! decoders fed arbitrary bytes.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, TimestampNanosecondArray,
    TimestampSecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use proptest::prelude::*;
use sellout_ingest::arrow::{from_batch, schema, to_batch};
use sellout_ingest::decode::arrow_ipc::encode_stream_batches;
use sellout_ingest::decode::{
    self, Decoded, Format, decode_binary, encode_arrow_file, encode_arrow_stream, encode_parquet,
    to_structured,
};
use sellout_ingest::records::{
    AnyRecord, BeaconRecord, Channel, Id, Proximity, QueueRecord, SaleKind, SaleRecord,
    SocialRecord, Topic, wire,
};
use sellout_ingest::validate::Limits;
use serde_json::json;

// ---------------------------------------------------------------------------------------
// Sample records.

const T0: i64 = 1_795_000_000_000;

fn sales() -> Vec<AnyRecord> {
    (0..6)
        .map(|i| {
            AnyRecord::Sales(SaleRecord {
                kind: SaleKind::ALL[i],
                event_id: "ev-1".into(),
                category_id: format!("cat-{i}").into(),
                session_id: "a-session-id-that-is-longer-than-24-bytes".into(),
                customer_id: (i % 2 == 0).then(|| "cust-9".into()),
                quantity: i as u32,
                unit_price_minor: 4500 + i as i64,
                currency: "EUR".into(),
                channel: Channel::ALL[i % 4],
                quote_id: (i == 3).then(|| "q-1".into()),
                time: T0 + i as i64 * 1001,
            })
        })
        .collect()
}

fn beacons() -> Vec<AnyRecord> {
    (0..4)
        .map(|i| {
            AnyRecord::Beacons(BeaconRecord {
                installation_id: format!("inst-{i}").into(),
                venue_id: "venue-1".into(),
                zone_id: "gate-a".into(),
                beacon_id: "b-1".into(),
                rssi: -40 - i as i16,
                proximity: Proximity::ALL[i],
                time: T0 + i as i64,
            })
        })
        .collect()
}

fn social() -> Vec<AnyRecord> {
    (0..3)
        .map(|i| {
            AnyRecord::Social(SocialRecord {
                source: "x".into(),
                text: format!("post {i}: “sold out” 🎟️\nnew line"),
                language: "en".into(),
                author_reach: 10u64.pow(i as u32 * 4),
                event_ids: (0..i).map(|j| Id::from(format!("ev-{j}"))).collect(),
                time: T0 - i as i64,
            })
        })
        .collect()
}

fn queues() -> Vec<AnyRecord> {
    (0..3)
        .map(|i| {
            AnyRecord::Queues(QueueRecord {
                venue_id: "venue-1".into(),
                zone_id: "bar-2".into(),
                stand_id: format!("stand-{i}").into(),
                length: i * 7,
                time: T0 + 60_000 * i as i64,
            })
        })
        .collect()
}

fn samples() -> Vec<Vec<AnyRecord>> {
    vec![sales(), beacons(), social(), queues()]
}

fn limits() -> Limits {
    Limits::default()
}

fn records_of(decoded: &Decoded) -> Vec<AnyRecord> {
    decoded.records.iter().map(|r| r.record.clone()).collect()
}

fn assert_all_decoded(what: &str, decoded: &Decoded, expected: &[AnyRecord]) {
    assert!(
        decoded.rejected.is_empty(),
        "{what}: rejected {:#?}",
        decoded.rejected
    );
    assert_eq!(records_of(decoded), expected, "{what}");
    let indexes: Vec<usize> = decoded.records.iter().map(|r| r.index).collect();
    assert_eq!(
        indexes,
        (0..expected.len()).collect::<Vec<_>>(),
        "{what}: indexes"
    );
}

fn json_array(records: &[AnyRecord]) -> Vec<u8> {
    serde_json::to_vec(&records.iter().map(AnyRecord::to_json).collect::<Vec<_>>()).unwrap()
}

fn json_lines(records: &[AnyRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        serde_json::to_writer(&mut out, &r.to_json()).unwrap();
        // Mixed line endings and blank lines, which are skipped.
        out.extend_from_slice(if i % 2 == 0 { b"\r\n" } else { b"\n \n" });
    }
    out
}

fn events(records: &[AnyRecord]) -> Vec<serde_json::Value> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| to_structured(r, &format!("id-{i}"), "/tests"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Round trips.

#[test]
fn json_round_trips() {
    for records in samples() {
        let topic = records[0].topic();
        let input = json_array(&records);
        let decoded = decode::decode(Format::Json, Some(topic), &input, &limits());
        assert_all_decoded("json array", &decoded, &records);
        for r in &decoded.records {
            let span = r.span.clone().unwrap();
            let again: serde_json::Value = serde_json::from_slice(&input[span]).unwrap();
            assert_eq!(again, r.record.to_json(), "span holds the record's bytes");
        }
        let one = serde_json::to_vec_pretty(&records[0].to_json()).unwrap();
        let decoded = decode::decode(Format::Json, Some(topic), &one, &limits());
        assert_all_decoded("json object", &decoded, &records[..1]);
    }
}

#[test]
fn json_lines_round_trip() {
    for records in samples() {
        let topic = records[0].topic();
        let input = json_lines(&records);
        let decoded = decode::decode(Format::JsonLines, Some(topic), &input, &limits());
        assert_all_decoded("json lines", &decoded, &records);
        let first = decoded.records[0].span.clone().unwrap();
        assert!(!input[first].ends_with(b"\r"), "spans exclude line endings");
    }
}

#[test]
fn cloudevents_round_trip_in_every_mode() {
    let all: Vec<AnyRecord> = samples().concat();
    // Batch mode mixes topics: the type of each event picks its topic.
    let batch = serde_json::to_vec(&events(&all)).unwrap();
    assert_all_decoded(
        "batch",
        &decode::decode(Format::CloudEventBatch, None, &batch, &limits()),
        &all,
    );
    // JSON and JSON Lines without a topic hold structured events.
    assert_all_decoded(
        "json, no topic",
        &decode::decode(Format::Json, None, &batch, &limits()),
        &all,
    );
    let lines: Vec<u8> = events(&all)
        .iter()
        .flat_map(|e| [serde_json::to_vec(e).unwrap(), b"\n".to_vec()].concat())
        .collect();
    assert_all_decoded(
        "jsonl, no topic",
        &decode::decode(Format::JsonLines, None, &lines, &limits()),
        &all,
    );

    for records in samples() {
        let topic = records[0].topic();
        for (i, event) in events(&records).into_iter().enumerate() {
            let bytes = serde_json::to_vec(&event).unwrap();
            let decoded = decode::decode(Format::CloudEvent, None, &bytes, &limits());
            assert_all_decoded("structured", &decoded, &records[i..=i]);
            let decoded = decode::decode(Format::CloudEvent, Some(topic), &bytes, &limits());
            assert_all_decoded("structured, topic", &decoded, &records[i..=i]);
            // A topic route accepts events of its topic sent as plain JSON.
            let decoded = decode::decode(Format::Json, Some(topic), &bytes, &limits());
            assert_all_decoded("event as json on a topic", &decoded, &records[i..=i]);
        }
        // data_base64.
        let mut event = to_structured(&records[0], "b64", "/tests");
        let data = serde_json::to_vec(&event["data"]).unwrap();
        let object = event.as_object_mut().unwrap();
        object.remove("data");
        object.insert(
            "data_base64".into(),
            base64::engine::general_purpose::STANDARD
                .encode(data)
                .into(),
        );
        let bytes = serde_json::to_vec(&event).unwrap();
        assert_all_decoded(
            "base64",
            &decode::decode(Format::CloudEvent, None, &bytes, &limits()),
            &records[..1],
        );

        // Binary mode: JSON array, one object, JSON Lines.
        let headers = binary_headers(
            topic.cloudevent_type(),
            Some("application/json; charset=utf-8"),
        );
        assert_all_decoded(
            "binary array",
            &decode_binary(&headers, &json_array(&records), &limits()),
            &records,
        );
        let one = serde_json::to_vec(&records[0].to_json()).unwrap();
        assert_all_decoded(
            "binary object",
            &decode_binary(&headers, &one, &limits()),
            &records[..1],
        );
        let headers = binary_headers(topic.cloudevent_type(), Some("application/x-ndjson"));
        assert_all_decoded(
            "binary jsonl",
            &decode_binary(&headers, &json_lines(&records), &limits()),
            &records,
        );
        let headers = binary_headers(topic.cloudevent_type(), None);
        assert_all_decoded(
            "binary, no type",
            &decode_binary(&headers, &one, &limits()),
            &records[..1],
        );
    }
}

fn binary_headers(ty: &str, content_type: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("ce-specversion", HeaderValue::from_static("1.0"));
    headers.insert("ce-id", HeaderValue::from_static("id-1"));
    headers.insert("ce-source", HeaderValue::from_static("/tests%20binary"));
    headers.insert("ce-type", HeaderValue::from_str(ty).unwrap());
    headers.insert("ce-time", HeaderValue::from_static("2026-11-22T19:30:00Z"));
    if let Some(ct) = content_type {
        headers.insert("content-type", HeaderValue::from_str(ct).unwrap());
    }
    headers
}

#[test]
fn columnar_round_trips() {
    for records in samples() {
        let topic = records[0].topic();
        let cases = [
            (Format::ArrowStream, encode_arrow_stream(&records)),
            (Format::ArrowFile, encode_arrow_file(&records)),
            (Format::Parquet, encode_parquet(&records)),
        ];
        for (format, bytes) in cases {
            let decoded = decode::decode(format, Some(topic), &bytes, &limits());
            assert_all_decoded(&format!("{format:?} {topic}"), &decoded, &records);
            assert!(decoded.records.iter().all(|r| r.span.is_none()));
        }
        // The stream and file formats are told apart by their bytes, not the label.
        let decoded = decode::decode(
            Format::ArrowStream,
            Some(topic),
            &encode_arrow_file(&records),
            &limits(),
        );
        assert_all_decoded("file sent as stream", &decoded, &records);
        let decoded = decode::decode(
            Format::ArrowFile,
            Some(topic),
            &encode_arrow_stream(&records),
            &limits(),
        );
        assert_all_decoded("stream sent as file", &decoded, &records);
    }
    for format in Format::ALL {
        assert_eq!(
            decode::decode(format, Some(Topic::Sales), b"", &limits()).received(),
            0
        );
    }
}

#[test]
fn timestamp_units_and_zones_are_accepted() {
    let records = queues();
    let canonical = to_batch(&records).unwrap();
    let millis: Vec<i64> = records.iter().map(AnyRecord::time).collect();
    let variants: Vec<(DataType, ArrayRef)> = vec![
        (
            DataType::Timestamp(TimeUnit::Microsecond, None),
            Arc::new(TimestampMicrosecondArray::from(
                millis.iter().map(|m| m * 1000 + 999).collect::<Vec<_>>(),
            )),
        ),
        (
            DataType::Timestamp(TimeUnit::Nanosecond, Some("+01:00".into())),
            Arc::new(
                TimestampNanosecondArray::from(
                    millis.iter().map(|m| m * 1_000_000).collect::<Vec<_>>(),
                )
                .with_timezone("+01:00"),
            ),
        ),
        (
            DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
            Arc::new(
                TimestampSecondArray::from(millis.iter().map(|m| m / 1000).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
        ),
    ];
    for (ty, column) in variants {
        let mut fields: Vec<Field> = canonical
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns = canonical.columns().to_vec();
        *fields.last_mut().unwrap() = Field::new("time", ty.clone(), true);
        *columns.last_mut().unwrap() = column;
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let bytes = encode_stream_batches(&[batch]).unwrap();
        let decoded = decode::decode(Format::ArrowStream, Some(Topic::Queues), &bytes, &limits());
        assert!(decoded.rejected.is_empty(), "{ty}: {:?}", decoded.rejected);
        let times: Vec<i64> = records_of(&decoded).iter().map(AnyRecord::time).collect();
        let expected: Vec<i64> = match ty {
            DataType::Timestamp(TimeUnit::Second, _) => {
                millis.iter().map(|m| m / 1000 * 1000).collect()
            }
            _ => millis.clone(),
        };
        assert_eq!(times, expected, "{ty}");
    }
}

// ---------------------------------------------------------------------------------------
// Bad inputs.

struct Case {
    name: &'static str,
    format: Format,
    topic: Option<Topic>,
    input: Vec<u8>,
    /// Records expected to decode.
    records: usize,
    /// The reason code of each rejection, in order.
    rejected: Vec<&'static str>,
}

fn case(
    name: &'static str,
    format: Format,
    topic: Option<Topic>,
    input: impl Into<Vec<u8>>,
    records: usize,
    rejected: &[&'static str],
) -> Case {
    Case {
        name,
        format,
        topic,
        input: input.into(),
        records,
        rejected: rejected.to_vec(),
    }
}

fn sale_json_with(change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let mut value = sales()[1].to_json();
    change(value.as_object_mut().unwrap());
    serde_json::to_vec(&value).unwrap()
}

fn event_with(change: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> Vec<u8> {
    let mut value = to_structured(&sales()[1], "e-1", "/tests");
    change(value.as_object_mut().unwrap());
    serde_json::to_vec(&value).unwrap()
}

/// An Arrow stream of the sales sample with `column` replaced (or removed when `None`).
fn sales_stream_with(column: &str, replacement: Option<ArrayRef>) -> Vec<u8> {
    let batch = to_batch(&sales()).unwrap();
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, array) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.name() == column {
            if let Some(r) = &replacement {
                fields.push(Field::new(column, r.data_type().clone(), true));
                columns.push(r.clone());
            }
        } else {
            fields.push(field.as_ref().clone());
            columns.push(array.clone());
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    encode_stream_batches(&[batch]).unwrap()
}

fn two_batch_stream() -> Vec<u8> {
    let records = sales();
    let a = to_batch(&records[..3]).unwrap();
    let b = to_batch(&records[3..]).unwrap();
    encode_stream_batches(&[a, b]).unwrap()
}

fn bad_cases() -> Vec<Case> {
    use Format::*;
    let s = Some(Topic::Sales);
    let good = serde_json::to_vec(&sales()[0].to_json()).unwrap();
    let big_text = json!({"source": "x", "text": "a".repeat(70_000), "language": "en", "author_reach": 1, "event_ids": ["e"], "time": T0}).to_string();
    let parquet = encode_parquet(&sales());
    let stream = two_batch_stream();
    let file = encode_arrow_file(&sales());
    vec![
        case(
            "json syntax",
            Json,
            s,
            &b"{\"kind\": "[..],
            0,
            &["malformed"],
        ),
        case(
            "json array syntax",
            Json,
            s,
            &b"[{}, {"[..],
            0,
            &["malformed"],
        ),
        case("json not an object", Json, s, &b"42"[..], 0, &["malformed"]),
        case(
            "array element not an object",
            Json,
            s,
            &b"[1]"[..],
            0,
            &["malformed"],
        ),
        case(
            "missing field",
            Json,
            s,
            sale_json_with(|o| drop(o.remove("event_id"))),
            0,
            &["missing_field"],
        ),
        case(
            "null required field",
            Json,
            s,
            sale_json_with(|o| drop(o.insert("event_id".into(), json!(null)))),
            0,
            &["missing_field"],
        ),
        case(
            "wrong type",
            Json,
            s,
            sale_json_with(|o| drop(o.insert("quantity".into(), json!("two")))),
            0,
            &["invalid_field"],
        ),
        case(
            "unknown enum value",
            Json,
            s,
            sale_json_with(|o| drop(o.insert("kind".into(), json!("steal")))),
            0,
            &["invalid_field"],
        ),
        case(
            "unknown field",
            Json,
            s,
            sale_json_with(|o| drop(o.insert("colour".into(), json!("red")))),
            0,
            &["invalid_field"],
        ),
        case(
            "negative quantity is a type error",
            Json,
            s,
            sale_json_with(|o| drop(o.insert("quantity".into(), json!(-1)))),
            0,
            &["invalid_field"],
        ),
        case(
            "bad time",
            Json,
            s,
            sale_json_with(|o| drop(o.insert("time".into(), json!("yesterday")))),
            0,
            &["invalid_field"],
        ),
        case(
            "one bad element",
            Json,
            s,
            [&b"["[..], &good, b",{},", &good, b"]"].concat(),
            2,
            &["missing_field"],
        ),
        case(
            "one bad line",
            JsonLines,
            s,
            [&good[..], b"\n{oops\n\n", &good].concat(),
            2,
            &["malformed"],
        ),
        case(
            "oversized line",
            JsonLines,
            Some(Topic::Social),
            [big_text.as_bytes(), b"\n", &good].concat(),
            0,
            &["oversized", "invalid_field"],
        ),
        case(
            "not a cloudevent without topic",
            Json,
            None,
            good.clone(),
            0,
            &["cloudevent"],
        ),
        case(
            "bad specversion",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("specversion".into(), json!("0.3")))),
            0,
            &["cloudevent"],
        ),
        case(
            "missing id",
            CloudEvent,
            None,
            event_with(|o| drop(o.remove("id"))),
            0,
            &["cloudevent"],
        ),
        case(
            "empty source",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("source".into(), json!("")))),
            0,
            &["cloudevent"],
        ),
        case(
            "unknown type",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("type".into(), json!("com.example.sale")))),
            0,
            &["cloudevent"],
        ),
        case(
            "id not a string",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("id".into(), json!(7)))),
            0,
            &["cloudevent"],
        ),
        case(
            "bad event time",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("time".into(), json!("soon")))),
            0,
            &["cloudevent"],
        ),
        case(
            "non-JSON datacontenttype",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("datacontenttype".into(), json!("text/plain")))),
            0,
            &["cloudevent"],
        ),
        case(
            "no data",
            CloudEvent,
            None,
            event_with(|o| drop(o.remove("data"))),
            0,
            &["cloudevent"],
        ),
        case(
            "data not an object",
            CloudEvent,
            None,
            event_with(|o| drop(o.insert("data".into(), json!("{}")))),
            0,
            &["cloudevent"],
        ),
        case(
            "bad base64",
            CloudEvent,
            None,
            event_with(|o| {
                o.remove("data");
                o.insert("data_base64".into(), json!("not base64!"));
            }),
            0,
            &["cloudevent"],
        ),
        case(
            "record without time is not given the event's",
            CloudEvent,
            None,
            event_with(|o| {
                o["data"].as_object_mut().unwrap().remove("time");
            }),
            0,
            &["missing_field"],
        ),
        case(
            "event for another topic",
            CloudEvent,
            Some(Topic::Beacons),
            event_with(|_| {}),
            0,
            &["wrong_topic"],
        ),
        case(
            "batch with a bad event",
            CloudEventBatch,
            None,
            [
                &b"["[..],
                &event_with(|_| {}),
                b",",
                &event_with(|o| drop(o.remove("source"))),
                b"]",
            ]
            .concat(),
            1,
            &["cloudevent"],
        ),
        case(
            "batch not JSON",
            CloudEventBatch,
            None,
            &b"[{"[..],
            0,
            &["malformed"],
        ),
        case(
            "parquet without topic",
            Parquet,
            None,
            parquet.clone(),
            0,
            &["malformed"],
        ),
        case(
            "truncated parquet",
            Parquet,
            s,
            parquet[..parquet.len() / 2].to_vec(),
            0,
            &["malformed"],
        ),
        case(
            "garbage parquet",
            Parquet,
            s,
            &b"PAR1 this is not parquet PAR1"[..],
            0,
            &["malformed"],
        ),
        case(
            "garbage arrow stream",
            ArrowStream,
            s,
            &b"\xff\xff\xff\xff\x10\x00\x00\x00garbage garbage!"[..],
            0,
            &["malformed"],
        ),
        case(
            "garbage arrow file",
            ArrowFile,
            s,
            &b"ARROW1\0\0garbageARROW1"[..],
            0,
            &["malformed"],
        ),
        case(
            "arrow without topic",
            ArrowStream,
            None,
            stream.clone(),
            0,
            &["malformed"],
        ),
        case(
            "truncated arrow stream keeps whole batches",
            ArrowStream,
            s,
            stream[..stream.len() - 20].to_vec(),
            3,
            &["malformed"],
        ),
        case(
            "truncated arrow file is read as a stream",
            ArrowFile,
            s,
            file[..file.len() - 40].to_vec(),
            6,
            &["malformed"],
        ),
        case(
            "arrow missing a required column",
            ArrowStream,
            s,
            sales_stream_with("session_id", None),
            0,
            &["missing_field"; 6],
        ),
        case(
            "arrow missing an optional column",
            ArrowStream,
            s,
            sales_stream_with("quote_id", None),
            6,
            &[],
        ),
        case(
            "arrow null in a required column",
            ArrowStream,
            s,
            sales_stream_with(
                "currency",
                Some(Arc::new(StringArray::from(vec![
                    Some("EUR"),
                    None,
                    Some("EUR"),
                    Some("EUR"),
                    Some("EUR"),
                    Some("EUR"),
                ]))),
            ),
            5,
            &["missing_field"],
        ),
        case(
            "arrow unknown enum value",
            ArrowStream,
            s,
            sales_stream_with(
                "channel",
                Some(Arc::new(StringArray::from(vec![
                    "web", "web", "fax", "web", "web", "web",
                ]))),
            ),
            5,
            &["invalid_field"],
        ),
    ]
}

#[test]
fn bad_inputs_get_their_reasons() {
    let mut failures = Vec::new();
    for c in bad_cases() {
        let decoded = decode::decode(c.format, c.topic, &c.input, &limits());
        let codes: Vec<&str> = decoded.rejected.iter().map(|r| r.reason.code()).collect();
        if decoded.records.len() != c.records || codes != c.rejected {
            failures.push(format!(
                "{}: expected {} records and {:?}, got {} records and {:#?}",
                c.name,
                c.records,
                c.rejected,
                decoded.records.len(),
                decoded
                    .rejected
                    .iter()
                    .map(|r| r.reason.to_string())
                    .collect::<Vec<_>>()
            ));
        }
        // Every rejection keeps original bytes to dead-letter.
        assert!(
            decoded.rejected.iter().all(|r| !r.original.is_empty()),
            "{}",
            c.name
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejections_say_what_is_wrong() {
    let reason = |format, topic, input: &[u8]| {
        let decoded = decode::decode(format, topic, input, &limits());
        decoded.rejected[0].reason.to_string()
    };
    let s = Some(Topic::Sales);
    let msg = reason(
        Format::Json,
        s,
        &sale_json_with(|o| drop(o.insert("quantity".into(), json!(-1)))),
    );
    assert!(msg.contains("quantity") && msg.contains("line 1"), "{msg}");
    let msg = reason(
        Format::Json,
        s,
        &sale_json_with(|o| drop(o.insert("kind".into(), json!("steal")))),
    );
    assert!(msg.contains("kind") && msg.contains("cart_add"), "{msg}");
    let msg = reason(
        Format::CloudEvent,
        None,
        &event_with(|o| drop(o.insert("type".into(), json!("x")))),
    );
    assert!(msg.contains("sellout.sale.v1"), "{msg}");
    let msg = reason(
        Format::ArrowStream,
        s,
        &sales_stream_with("channel", Some(Arc::new(StringArray::from(vec!["fax"; 6])))),
    );
    assert!(
        msg.contains("channel") && msg.contains("box_office"),
        "{msg}"
    );

    // A rejected row of columnar input is dead-lettered as its JSON rendering.
    let bytes = sales_stream_with("channel", Some(Arc::new(StringArray::from(vec!["fax"; 6]))));
    let decoded = decode::decode(Format::ArrowStream, s, &bytes, &limits());
    let row: serde_json::Value = serde_json::from_slice(&decoded.rejected[2].original).unwrap();
    assert_eq!(row["channel"], "fax");
    assert_eq!(decoded.rejected[2].index, 2);

    // Binary mode: a bad envelope rejects the whole body.
    let mut headers = binary_headers("sellout.sale.v1", Some("application/json"));
    headers.insert("ce-specversion", HeaderValue::from_static("0.3"));
    let body = json_array(&sales());
    let decoded = decode_binary(&headers, &body, &limits());
    assert_eq!(decoded.received(), 1);
    assert_eq!(decoded.rejected[0].reason.code(), "cloudevent");
    assert_eq!(decoded.rejected[0].original, body);
    headers.insert("ce-specversion", HeaderValue::from_static("1.0"));
    headers.remove("ce-id");
    assert_eq!(
        decode_binary(&headers, &body, &limits()).rejected[0]
            .reason
            .code(),
        "cloudevent"
    );
    let headers = binary_headers("sellout.sale.v1", Some("text/csv"));
    assert_eq!(
        decode_binary(&headers, &body, &limits()).rejected[0]
            .reason
            .code(),
        "cloudevent"
    );
}

#[test]
fn canonical_schemas_are_stable() {
    let s = schema(Topic::Sales);
    assert_eq!(
        s.field_with_name("quantity").unwrap().data_type(),
        &DataType::UInt32
    );
    assert!(s.field_with_name("customer_id").unwrap().is_nullable());
    assert!(!s.field_with_name("event_id").unwrap().is_nullable());
    assert_eq!(
        s.field_with_name("time").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    let social = schema(Topic::Social);
    assert!(matches!(
        social.field_with_name("event_ids").unwrap().data_type(),
        DataType::List(_)
    ));
    assert_eq!(
        schema(Topic::Beacons)
            .field_with_name("rssi")
            .unwrap()
            .data_type(),
        &DataType::Int16
    );
    assert_eq!(
        social.field_with_name("author_reach").unwrap().data_type(),
        &DataType::UInt64
    );
}

// ---------------------------------------------------------------------------------------
// Properties.

/// Times the JSON form can carry (RFC 3339 has four-digit years).
const JSON_TIMES: std::ops::RangeInclusive<i64> = -62_135_596_800_000..=253_402_300_799_999;

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        "[a-z0-9-]{0,24}".prop_map(Id::from),
        "\\PC{0,40}".prop_map(Id::from),
        ".{0,8}".prop_map(Id::from),
    ]
}

fn sale_strategy(time: impl Strategy<Value = i64>) -> impl Strategy<Value = AnyRecord> {
    (
        (0..6usize, id(), id(), id(), proptest::option::of(id())),
        (
            any::<u32>(),
            any::<i64>(),
            id(),
            0..4usize,
            proptest::option::of(id()),
            time,
        ),
    )
        .prop_map(
            |(
                (kind, event_id, category_id, session_id, customer_id),
                (quantity, unit_price_minor, currency, channel, quote_id, time),
            )| {
                AnyRecord::Sales(SaleRecord {
                    kind: SaleKind::ALL[kind],
                    event_id,
                    category_id,
                    session_id,
                    customer_id,
                    quantity,
                    unit_price_minor,
                    currency,
                    channel: Channel::ALL[channel],
                    quote_id,
                    time,
                })
            },
        )
}

fn beacon_strategy(time: impl Strategy<Value = i64>) -> impl Strategy<Value = AnyRecord> {
    (id(), id(), id(), id(), any::<i16>(), 0..4usize, time).prop_map(
        |(installation_id, venue_id, zone_id, beacon_id, rssi, proximity, time)| {
            AnyRecord::Beacons(BeaconRecord {
                installation_id,
                venue_id,
                zone_id,
                beacon_id,
                rssi,
                proximity: Proximity::ALL[proximity],
                time,
            })
        },
    )
}

fn social_strategy(time: impl Strategy<Value = i64>) -> impl Strategy<Value = AnyRecord> {
    (
        id(),
        ".{0,200}",
        id(),
        any::<u64>(),
        proptest::collection::vec(id(), 0..5),
        time,
    )
        .prop_map(|(source, text, language, author_reach, event_ids, time)| {
            AnyRecord::Social(SocialRecord {
                source,
                text,
                language,
                author_reach,
                event_ids,
                time,
            })
        })
}

fn queue_strategy(time: impl Strategy<Value = i64>) -> impl Strategy<Value = AnyRecord> {
    (id(), id(), id(), any::<u32>(), time).prop_map(
        |(venue_id, zone_id, stand_id, length, time)| {
            AnyRecord::Queues(QueueRecord {
                venue_id,
                zone_id,
                stand_id,
                length,
                time,
            })
        },
    )
}

/// 1..20 records of one topic, times from `time`.
fn records_strategy(
    time: impl Strategy<Value = i64> + Clone + 'static,
) -> impl Strategy<Value = Vec<AnyRecord>> {
    let n = 1..20usize;
    prop_oneof![
        proptest::collection::vec(sale_strategy(time.clone()), n.clone()),
        proptest::collection::vec(beacon_strategy(time.clone()), n.clone()),
        proptest::collection::vec(social_strategy(time.clone()), n.clone()),
        proptest::collection::vec(queue_strategy(time), n),
    ]
}

fn any_time() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0),
        any::<i64>(),
        JSON_TIMES
    ]
}

/// Cases per property: 96, or `PROPTEST_CASES` when set (for longer runs).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(96)
}

fn big_limits() -> Limits {
    Limits {
        max_record_bytes: usize::MAX,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn json_and_cloudevents_round_trip(records in records_strategy(JSON_TIMES)) {
        let topic = records[0].topic();
        let decoded = decode::decode(Format::Json, Some(topic), &json_array(&records), &big_limits());
        prop_assert!(decoded.rejected.is_empty(), "{:?}", decoded.rejected);
        prop_assert_eq!(records_of(&decoded), records.clone());
        let decoded = decode::decode(Format::JsonLines, Some(topic), &json_lines(&records), &big_limits());
        prop_assert_eq!(records_of(&decoded), records.clone());
        let batch = serde_json::to_vec(&events(&records)).unwrap();
        let decoded = decode::decode(Format::CloudEventBatch, None, &batch, &big_limits());
        prop_assert_eq!(records_of(&decoded), records);
    }

    #[test]
    fn wire_round_trips(records in records_strategy(any_time())) {
        let topic = records[0].topic();
        for record in &records {
            let mut bytes = Vec::new();
            wire::encode_any_into(record, &mut bytes);
            let back = wire::decode(topic, &bytes);
            prop_assert!(back.as_ref().is_ok_and(|r| r == record), "{:?} came back as {:?}", record, back);
        }
    }

    #[test]
    fn arrow_and_parquet_round_trip(records in records_strategy(any_time())) {
        let topic = records[0].topic();
        let batch = to_batch(&records).unwrap();
        let back: Vec<AnyRecord> = from_batch(topic, &batch).into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(&back, &records);
        for (format, bytes) in [
            (Format::ArrowStream, encode_arrow_stream(&records)),
            (Format::ArrowFile, encode_arrow_file(&records)),
            (Format::Parquet, encode_parquet(&records)),
        ] {
            let decoded = decode::decode(format, Some(topic), &bytes, &limits());
            prop_assert!(decoded.rejected.is_empty(), "{:?}: {:?}", format, decoded.rejected);
            prop_assert_eq!(&records_of(&decoded), &records);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), topic in proptest::option::of(0..4usize)) {
        let topic = topic.map(|t| Topic::ALL[t]);
        let headers = binary_headers("sellout.queue.v1", Some("application/json"));
        let mut results: Vec<(String, Decoded)> = Format::ALL
            .iter()
            .map(|f| (format!("{f:?}"), decode::decode(*f, topic, &bytes, &limits())))
            .collect();
        results.push(("binary".into(), decode_binary(&headers, &bytes, &limits())));
        for (name, decoded) in results {
            let blank = bytes.iter().all(u8::is_ascii_whitespace);
            if !bytes.is_empty() && (!blank || name != "JsonLines") {
                prop_assert!(decoded.received() >= 1, "{}: nothing received from {:?}", name, bytes);
            }
            for r in &decoded.rejected {
                prop_assert!(!r.original.is_empty());
            }
        }
    }

    #[test]
    fn damaged_columnar_input_never_panics(
        records in records_strategy(any_time()),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let topic = records[0].topic();
        for (format, mut bytes) in [
            (Format::ArrowStream, encode_arrow_stream(&records)),
            (Format::ArrowFile, encode_arrow_file(&records)),
            (Format::Parquet, encode_parquet(&records)),
        ] {
            for (at, value) in &flips {
                let i = at.index(bytes.len());
                bytes[i] ^= value;
            }
            let cut = cut.index(bytes.len() + 1);
            let decoded = decode::decode(format, Some(topic), &bytes[..cut], &limits());
            prop_assert!(decoded.received() <= decode::MAX_COLUMNAR_ROWS + 1);
            let damaged = cut < bytes.len() || !flips.is_empty();
            if !damaged {
                prop_assert_eq!(decoded.records.len(), records.len());
            }
        }
    }
}

/// The wire form must round-trip sale records whose optional ids are absent: a format
/// without field names (postcard) can't skip fields.
#[test]
fn wire_round_trips_sales_without_optional_ids() {
    for record in sales() {
        let mut bytes = Vec::new();
        wire::encode_any_into(&record, &mut bytes);
        let back = wire::decode(Topic::Sales, &bytes);
        assert!(
            back.as_ref().is_ok_and(|r| *r == record),
            "{record:?} came back as {back:?}"
        );
    }
}
