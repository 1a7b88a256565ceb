//! Arrow schemas of the record types, and lossless conversion between records and
//! record batches.
//!
//! Each topic has one canonical schema ([`schema`]): ids and enums are `Utf8`, times are
//! `Timestamp(Millisecond, "UTC")`, integers keep their Rust width, and a column is
//! nullable exactly where the Rust field is an `Option`. [`to_batch`] writes that schema;
//! [`from_batch`] reads it back without loss.
//!
//! Reading is lenient about how a batch was produced, because files written by pyarrow or
//! polars rarely match the canonical schema bit for bit:
//! - strings may be `Utf8`, `LargeUtf8`, `Utf8View`, dictionary-encoded, or binary that is
//!   valid UTF-8;
//! - integers may have any width or signedness; a value that doesn't fit the field is
//!   rejected for its row with [`Reason::OutOfRange`];
//! - times may be in seconds, milliseconds, microseconds or nanoseconds, with any time
//!   zone or none (a time without zone is read as UTC); sub-millisecond parts are
//!   truncated towards the past, like the JSON form;
//! - `event_ids` may be a `List` or `LargeList` of any of the string layouts;
//! - columns of type `Null` are all nulls; unknown columns are ignored, and an absent
//!   optional column reads as all nulls.
//!
//! What is rejected: an absent required column rejects every row with
//! [`Reason::MissingField`]; a column of an unusable type (a float where an integer is
//! expected) rejects every row with [`Reason::InvalidField`]; a null in a required field
//! and an unknown enum value reject their row.
//!
//! Reading resolves, casts and downcasts each column once per batch and then walks the
//! rows, allocating nothing per row but the record itself (ids of up to 24 bytes are
//! stored inline).

mod columns;
mod read;

use std::sync::{Arc, LazyLock};

use ::arrow::array::{
    ArrayRef, Int16Array, Int64Array, ListBuilder, StringArray, StringBuilder,
    TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use ::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ::arrow::error::ArrowError;
pub use ::arrow::record_batch::RecordBatch;

use crate::records::{AnyRecord, BeaconRecord, QueueRecord, SaleRecord, SocialRecord, Topic};
use crate::validate::Reason;

pub use read::{for_each_row, row_json};

/// The time zone of the canonical `time` column.
pub const TIME_ZONE: &str = "UTC";

/// The canonical type of `time` columns: milliseconds since the epoch, in UTC.
pub fn time_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(TIME_ZONE.into()))
}

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn time_field() -> Field {
    Field::new("time", time_type(), false)
}

/// The item field of the canonical `event_ids` list (`item`, non-null `Utf8`).
pub fn event_ids_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

static SALES: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("kind", false),
        utf8("event_id", false),
        utf8("category_id", false),
        utf8("session_id", false),
        utf8("customer_id", true),
        Field::new("quantity", DataType::UInt32, false),
        Field::new("unit_price_minor", DataType::Int64, false),
        utf8("currency", false),
        utf8("channel", false),
        utf8("quote_id", true),
        time_field(),
    ]))
});

static BEACONS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("installation_id", false),
        utf8("venue_id", false),
        utf8("zone_id", false),
        utf8("beacon_id", false),
        Field::new("rssi", DataType::Int16, false),
        utf8("proximity", false),
        time_field(),
    ]))
});

static SOCIAL: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("source", false),
        utf8("text", false),
        utf8("language", false),
        Field::new("author_reach", DataType::UInt64, false),
        Field::new("event_ids", DataType::List(event_ids_item()), false),
        time_field(),
    ]))
});

static QUEUES: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("venue_id", false),
        utf8("zone_id", false),
        utf8("stand_id", false),
        Field::new("length", DataType::UInt32, false),
        time_field(),
    ]))
});

/// The canonical schema of a topic's records.
pub fn schema(topic: Topic) -> SchemaRef {
    match topic {
        Topic::Sales => sale_schema(),
        Topic::Beacons => beacon_schema(),
        Topic::Social => social_schema(),
        Topic::Queues => queue_schema(),
    }
}

/// The canonical schema of [`SaleRecord`]s.
pub fn sale_schema() -> SchemaRef {
    SALES.clone()
}

/// The canonical schema of [`BeaconRecord`]s.
pub fn beacon_schema() -> SchemaRef {
    BEACONS.clone()
}

/// The canonical schema of [`SocialRecord`]s.
pub fn social_schema() -> SchemaRef {
    SOCIAL.clone()
}

/// The canonical schema of [`QueueRecord`]s.
pub fn queue_schema() -> SchemaRef {
    QUEUES.clone()
}

/// Records of one topic as one batch in the topic's canonical schema.
///
/// Fails when `records` is empty (its topic is unknown; use [`to_batch_of`]) or mixes
/// topics.
pub fn to_batch(records: &[AnyRecord]) -> Result<RecordBatch, ArrowError> {
    match records.first() {
        Some(first) => to_batch_of(first.topic(), records),
        None => Err(ArrowError::InvalidArgumentError(
            "no records: the topic of an empty batch is unknown; use to_batch_of".into(),
        )),
    }
}

/// Records of `topic` as one batch in its canonical schema (an empty batch when
/// `records` is empty). Fails when a record belongs to another topic.
pub fn to_batch_of(topic: Topic, records: &[AnyRecord]) -> Result<RecordBatch, ArrowError> {
    if let Some(other) = records.iter().find(|r| r.topic() != topic) {
        return Err(ArrowError::InvalidArgumentError(format!(
            "a batch holds records of one topic: found a {} record among {topic}",
            other.topic()
        )));
    }
    let n = records.len();
    match topic {
        Topic::Sales => sales_batch(
            records.iter().filter_map(|r| match r {
                AnyRecord::Sales(r) => Some(r),
                _ => None,
            }),
            n,
        ),
        Topic::Beacons => beacons_batch(
            records.iter().filter_map(|r| match r {
                AnyRecord::Beacons(r) => Some(r),
                _ => None,
            }),
            n,
        ),
        Topic::Social => social_batch(
            records.iter().filter_map(|r| match r {
                AnyRecord::Social(r) => Some(r),
                _ => None,
            }),
            n,
        ),
        Topic::Queues => queues_batch(
            records.iter().filter_map(|r| match r {
                AnyRecord::Queues(r) => Some(r),
                _ => None,
            }),
            n,
        ),
    }
}

/// Sale records as one batch in [`sale_schema`].
pub fn sales_to_batch(records: &[SaleRecord]) -> Result<RecordBatch, ArrowError> {
    sales_batch(records.iter(), records.len())
}

/// Beacon records as one batch in [`beacon_schema`].
pub fn beacons_to_batch(records: &[BeaconRecord]) -> Result<RecordBatch, ArrowError> {
    beacons_batch(records.iter(), records.len())
}

/// Social records as one batch in [`social_schema`].
pub fn social_to_batch(records: &[SocialRecord]) -> Result<RecordBatch, ArrowError> {
    social_batch(records.iter(), records.len())
}

/// Queue records as one batch in [`queue_schema`].
pub fn queues_to_batch(records: &[QueueRecord]) -> Result<RecordBatch, ArrowError> {
    queues_batch(records.iter(), records.len())
}

/// The rows of `batch` as records of `topic`, one entry per row, in row order.
///
/// Lenient about the batch's layout (see the module docs); a row that can't become a
/// record comes back as the [`Reason`] it was rejected for.
pub fn from_batch(topic: Topic, batch: &RecordBatch) -> Vec<Result<AnyRecord, Reason>> {
    let mut out = Vec::with_capacity(batch.num_rows());
    for_each_row(topic, batch, |_, r| out.push(r));
    out
}

fn times<'a>(rows: impl Iterator<Item = i64> + 'a) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from_iter_values(rows).with_timezone(TIME_ZONE))
}

fn sales_batch<'a, I>(rows: I, n: usize) -> Result<RecordBatch, ArrowError>
where
    I: Iterator<Item = &'a SaleRecord> + Clone,
{
    let strs = |f: fn(&SaleRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.clone().map(f)))
    };
    let opt_strs = |f: fn(&SaleRecord) -> Option<&str>| -> ArrayRef {
        Arc::new(StringArray::from_iter(rows.clone().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        strs(|r| r.kind.as_str()),
        strs(|r| &r.event_id),
        strs(|r| &r.category_id),
        strs(|r| &r.session_id),
        opt_strs(|r| r.customer_id.as_deref()),
        Arc::new(UInt32Array::from_iter_values(
            rows.clone().map(|r| r.quantity),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.clone().map(|r| r.unit_price_minor),
        )),
        strs(|r| &r.currency),
        strs(|r| r.channel.as_str()),
        opt_strs(|r| r.quote_id.as_deref()),
        times(rows.clone().map(|r| r.time)),
    ];
    debug_assert!(columns.iter().all(|c| c.len() == n));
    RecordBatch::try_new(sale_schema(), columns)
}

fn beacons_batch<'a, I>(rows: I, n: usize) -> Result<RecordBatch, ArrowError>
where
    I: Iterator<Item = &'a BeaconRecord> + Clone,
{
    let strs = |f: fn(&BeaconRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.clone().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        strs(|r| &r.installation_id),
        strs(|r| &r.venue_id),
        strs(|r| &r.zone_id),
        strs(|r| &r.beacon_id),
        Arc::new(Int16Array::from_iter_values(rows.clone().map(|r| r.rssi))),
        strs(|r| r.proximity.as_str()),
        times(rows.clone().map(|r| r.time)),
    ];
    debug_assert!(columns.iter().all(|c| c.len() == n));
    RecordBatch::try_new(beacon_schema(), columns)
}

fn social_batch<'a, I>(rows: I, n: usize) -> Result<RecordBatch, ArrowError>
where
    I: Iterator<Item = &'a SocialRecord> + Clone,
{
    let strs = |f: fn(&SocialRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.clone().map(f)))
    };
    let ids: usize = rows.clone().map(|r| r.event_ids.len()).sum();
    let mut lists = ListBuilder::with_capacity(StringBuilder::with_capacity(ids, ids * 8), n)
        .with_field(event_ids_item());
    for r in rows.clone() {
        for id in &r.event_ids {
            lists.values().append_value(id);
        }
        lists.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        strs(|r| &r.source),
        strs(|r| &r.text),
        strs(|r| &r.language),
        Arc::new(UInt64Array::from_iter_values(
            rows.clone().map(|r| r.author_reach),
        )),
        Arc::new(lists.finish()),
        times(rows.clone().map(|r| r.time)),
    ];
    RecordBatch::try_new(social_schema(), columns)
}

fn queues_batch<'a, I>(rows: I, n: usize) -> Result<RecordBatch, ArrowError>
where
    I: Iterator<Item = &'a QueueRecord> + Clone,
{
    let strs = |f: fn(&QueueRecord) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.clone().map(f)))
    };
    let columns: Vec<ArrayRef> = vec![
        strs(|r| &r.venue_id),
        strs(|r| &r.zone_id),
        strs(|r| &r.stand_id),
        Arc::new(UInt32Array::from_iter_values(
            rows.clone().map(|r| r.length),
        )),
        times(rows.clone().map(|r| r.time)),
    ];
    debug_assert!(columns.iter().all(|c| c.len() == n));
    RecordBatch::try_new(queue_schema(), columns)
}

#[cfg(test)]
mod tests;
