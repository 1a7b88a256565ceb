//! Unit tests of the Arrow conversion: canonical round trips and lenient reading.

use std::sync::Arc;

use ::arrow::array::{
    ArrayRef, BinaryArray, DictionaryArray, Float64Array, Int8Array, Int64Array, LargeListBuilder,
    LargeStringArray, LargeStringBuilder, NullArray, StringArray, StringViewArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt64Array,
};
use ::arrow::datatypes::{DataType, Field, Int32Type, Schema};
use ::arrow::record_batch::RecordBatch;

use super::*;
use crate::records::{Channel, Id, Proximity, SaleKind};

fn sale(i: u32) -> SaleRecord {
    SaleRecord {
        kind: SaleKind::ALL[i as usize % 6],
        event_id: format!("ev-{i}").into(),
        category_id: "cat-a".into(),
        session_id: format!("a-session-id-longer-than-twenty-four-{i}").into(),
        customer_id: i.is_multiple_of(2).then(|| format!("cust-{i}").into()),
        quantity: i,
        unit_price_minor: -(i as i64) * 1000,
        currency: "EUR".into(),
        channel: Channel::ALL[i as usize % 4],
        quote_id: i.is_multiple_of(3).then(|| "q".into()),
        time: 1_795_000_000_000 + i as i64,
    }
}

fn beacon(i: i16) -> BeaconRecord {
    BeaconRecord {
        installation_id: "inst".into(),
        venue_id: "venue".into(),
        zone_id: "zone".into(),
        beacon_id: format!("b{i}").into(),
        rssi: -i,
        proximity: Proximity::ALL[i as usize % 4],
        time: -5 + i as i64,
    }
}

fn social(i: u64) -> SocialRecord {
    SocialRecord {
        source: "x".into(),
        text: "héllo 🎸".repeat(i as usize),
        language: "en".into(),
        author_reach: u64::MAX - i,
        event_ids: (0..i).map(|j| format!("ev-{j}").into()).collect(),
        time: i64::MAX - i as i64,
    }
}

fn queue(i: u32) -> QueueRecord {
    QueueRecord {
        venue_id: "v".into(),
        zone_id: "z".into(),
        stand_id: "s".into(),
        length: u32::MAX - i,
        time: i as i64,
    }
}

fn all_records() -> Vec<Vec<AnyRecord>> {
    vec![
        (0..20).map(|i| AnyRecord::Sales(sale(i))).collect(),
        (0..20).map(|i| AnyRecord::Beacons(beacon(i))).collect(),
        (0..5).map(|i| AnyRecord::Social(social(i))).collect(),
        (0..20).map(|i| AnyRecord::Queues(queue(i))).collect(),
    ]
}

#[test]
fn round_trips_every_topic() {
    for records in all_records() {
        let topic = records[0].topic();
        let batch = to_batch(&records).unwrap();
        assert_eq!(batch.schema(), schema(topic));
        let back: Vec<AnyRecord> = from_batch(topic, &batch)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, records);
    }
}

#[test]
fn typed_batches_match_any_batches() {
    let sales: Vec<SaleRecord> = (0..4).map(sale).collect();
    let any: Vec<AnyRecord> = sales.iter().cloned().map(AnyRecord::Sales).collect();
    assert_eq!(sales_to_batch(&sales).unwrap(), to_batch(&any).unwrap());
    assert_eq!(to_batch_of(Topic::Queues, &[]).unwrap().num_rows(), 0);
    assert!(to_batch(&[]).is_err());
    let mixed = vec![AnyRecord::Sales(sale(1)), AnyRecord::Queues(queue(1))];
    assert!(to_batch(&mixed).is_err());
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn strs(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

#[test]
fn reads_other_layouts() {
    let kinds: DictionaryArray<Int32Type> = vec!["far", "near"].into_iter().collect();
    let b = batch(vec![
        (
            "installation_id",
            Arc::new(LargeStringArray::from(vec!["i1", "i2"])),
        ),
        ("venue_id", Arc::new(StringViewArray::from(vec!["v", "v"]))),
        (
            "zone_id",
            Arc::new(BinaryArray::from(vec![&b"z"[..], b"z"])),
        ),
        ("beacon_id", strs(&["b", "b"])),
        ("rssi", Arc::new(Int64Array::from(vec![-60, -70]))),
        ("proximity", Arc::new(kinds)),
        (
            "time",
            Arc::new(TimestampNanosecondArray::from(vec![1_500_999_999, -1])),
        ),
        ("extra", Arc::new(Float64Array::from(vec![1.0, 2.0]))),
    ]);
    let rows = from_batch(Topic::Beacons, &b);
    let AnyRecord::Beacons(first) = rows[0].clone().unwrap() else {
        panic!()
    };
    assert_eq!(first.rssi, -60);
    assert_eq!(first.proximity, Proximity::Far);
    assert_eq!(first.time, 1_500, "nanoseconds truncate to milliseconds");
    let AnyRecord::Beacons(second) = rows[1].clone().unwrap() else {
        panic!()
    };
    assert_eq!(
        second.time, -1,
        "times before the epoch round towards the past"
    );
}

#[test]
fn rejects_rows_that_do_not_fit() {
    let b = batch(vec![
        ("venue_id", strs(&["v", "v", "v"])),
        ("zone_id", strs(&["z", "z", "z"])),
        (
            "stand_id",
            Arc::new(StringArray::from(vec![Some("s"), None, Some("s")])),
        ),
        (
            "length",
            Arc::new(Int64Array::from(vec![Some(-1), Some(3), None])),
        ),
        (
            "time",
            Arc::new(TimestampSecondArray::from(vec![1, 2, 3]).with_timezone("+02:00")),
        ),
    ]);
    let rows = from_batch(Topic::Queues, &b);
    assert!(matches!(
        &rows[0],
        Err(Reason::OutOfRange {
            field: "length",
            value: -1,
            ..
        })
    ));
    assert_eq!(rows[1], Err(Reason::MissingField("stand_id".into())));
    assert_eq!(rows[2], Err(Reason::MissingField("length".into())));
}

#[test]
fn missing_columns_and_bad_types_reject_every_row() {
    let b = batch(vec![("venue_id", strs(&["v", "v"]))]);
    let rows = from_batch(Topic::Queues, &b);
    assert_eq!(rows, vec![Err(Reason::MissingField("zone_id".into())); 2]);

    let b = batch(vec![
        ("venue_id", strs(&["v"])),
        ("zone_id", strs(&["z"])),
        ("stand_id", strs(&["s"])),
        ("length", Arc::new(Float64Array::from(vec![1.0]))),
        ("time", Arc::new(TimestampSecondArray::from(vec![1]))),
    ]);
    assert!(
        matches!(&from_batch(Topic::Queues, &b)[0], Err(Reason::InvalidField { field, .. }) if field == "length")
    );
}

#[test]
fn unknown_enum_names_allowed_values() {
    let records: Vec<AnyRecord> = vec![AnyRecord::Beacons(beacon(1))];
    let b = to_batch(&records).unwrap();
    let mut columns = b.columns().to_vec();
    columns[5] = strs(&["close"]);
    let b = RecordBatch::try_new(b.schema(), columns).unwrap();
    let Err(Reason::InvalidField { field, detail }) = &from_batch(Topic::Beacons, &b)[0] else {
        panic!()
    };
    assert_eq!(field, "proximity");
    assert!(detail.contains("immediate, near, far, unknown"), "{detail}");
}

#[test]
fn narrow_ints_null_columns_and_large_lists() {
    let mut ids = LargeListBuilder::new(LargeStringBuilder::new());
    ids.values().append_value("ev-1");
    ids.append(true);
    ids.append(true);
    ids.values().append_null();
    ids.append(true);
    ids.append(false);
    let b = batch(vec![
        ("source", strs(&["x", "x", "x", "x"])),
        ("text", strs(&["t", "t", "t", "t"])),
        ("language", strs(&["en", "en", "en", "en"])),
        ("author_reach", Arc::new(Int8Array::from(vec![1, 2, 3, -4]))),
        ("event_ids", Arc::new(ids.finish())),
        (
            "time",
            Arc::new(TimestampSecondArray::from(vec![1, 2, 3, 4])),
        ),
    ]);
    let rows = from_batch(Topic::Social, &b);
    let AnyRecord::Social(first) = rows[0].clone().unwrap() else {
        panic!()
    };
    assert_eq!(first.event_ids, vec![Id::from("ev-1")]);
    assert_eq!(first.time, 1000);
    assert!(
        rows[1]
            .as_ref()
            .is_ok_and(|r| matches!(r, AnyRecord::Social(s) if s.event_ids.is_empty()))
    );
    assert!(matches!(&rows[2], Err(Reason::InvalidField { field, .. }) if field == "event_ids"));
    assert!(matches!(
        &rows[3],
        Err(Reason::OutOfRange {
            field: "author_reach",
            value: -4,
            ..
        })
    ));

    // An all-null optional column (pyarrow writes `Null` for a column of `None`s).
    let records: Vec<AnyRecord> = vec![AnyRecord::Sales(sale(1))];
    let canonical = to_batch(&records).unwrap();
    let mut fields: Vec<Field> = canonical
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = canonical.columns().to_vec();
    fields[4] = Field::new("customer_id", DataType::Null, true);
    columns[4] = Arc::new(NullArray::new(1));
    fields.push(Field::new("author_reach", DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from(vec![1])));
    let b = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let AnyRecord::Sales(read) = from_batch(Topic::Sales, &b)[0].clone().unwrap() else {
        panic!()
    };
    assert_eq!(read.customer_id, None);
}

#[test]
fn row_json_renders_a_row() {
    let records: Vec<AnyRecord> = vec![AnyRecord::Sales(sale(2))];
    let b = to_batch(&records).unwrap();
    let json = row_json(&b, 0);
    assert_eq!(json["event_id"], "ev-2");
    assert_eq!(json["quantity"], 2);
    assert_eq!(json["quote_id"], serde_json::Value::Null);
    assert!(
        json["time"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-")),
        "{json}"
    );
    assert_eq!(row_json(&b, 5), serde_json::json!({}));
}
