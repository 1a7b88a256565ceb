//! The tables analysts query, one per stream, and how stored records become Arrow
//! batches in each table's schema.
//!
//! Input topics use the canonical schemas of [`sellout_ingest::arrow`]. `signals` and
//! `features` are flattened for SQL: common columns (id, kind or type, time, the ids
//! of what they are about) and, for features, one nullable column per measure, so
//! `SELECT sold, remaining FROM features WHERE type = 'sell_out'` needs no JSON.
//! A signal's detail stays one JSON column (its shape depends on the kind). `prices`
//! has one row per price change, with its reason, model and guardrail.
//! Every table also has the hive partition column `date` (`YYYY-MM-DD` of `time`,
//! UTC), which the archive encodes in its paths.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use sellout_ingest::arrow as canonical;
use sellout_ingest::records::{AnyRecord, Timestamp, Topic, wire};
use sellout_pipelines::output::{self, Feature, FeatureBody, Signal};
use sellout_pricing::change::{PRICES_TOPIC, PriceChange, decode_json};

/// One queryable table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// An input topic.
    Input(Topic),
    /// Pipeline signals.
    Signals,
    /// Pipeline features.
    Features,
    /// Authoritative price changes.
    Prices,
    /// Notification outcomes (see [`crate::deliveries`]).
    Deliveries,
}

impl Table {
    /// Every table, in a fixed order.
    pub const ALL: [Table; 8] = [
        Table::Input(Topic::Sales),
        Table::Input(Topic::Beacons),
        Table::Input(Topic::Social),
        Table::Input(Topic::Queues),
        Table::Signals,
        Table::Features,
        Table::Prices,
        Table::Deliveries,
    ];

    /// The table's name, which is also its topic's name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Input(topic) => topic.as_str(),
            Table::Signals => output::SIGNALS_TOPIC,
            Table::Features => output::FEATURES_TOPIC,
            Table::Prices => PRICES_TOPIC,
            Table::Deliveries => crate::deliveries::DELIVERIES,
        }
    }

    /// The column holding an app installation's id, in the tables that have one (the
    /// rows a privacy erasure removes; see [`crate::erase`]).
    pub fn installation_column(self) -> Option<&'static str> {
        match self {
            Table::Input(Topic::Beacons) | Table::Deliveries => Some("installation_id"),
            _ => None,
        }
    }

    /// The table named `name`.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The schema of the stored columns (without the `date` partition column).
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Input(topic) => canonical::schema(topic),
            Table::Signals => signal_schema(),
            Table::Features => feature_schema(),
            Table::Prices => price_schema(),
            Table::Deliveries => crate::deliveries::schema(),
        }
    }

    /// Stored record values (the wire form) of this table's topic as one batch.
    pub fn to_batch(self, values: &[&[u8]]) -> Result<RecordBatch, TableError> {
        match self {
            Table::Input(topic) => {
                let records = values
                    .iter()
                    .map(|v| wire::decode(topic, v))
                    .collect::<Result<Vec<AnyRecord>, _>>()
                    .map_err(|e| TableError::Decode(self.name(), e.to_string()))?;
                Ok(canonical::to_batch_of(topic, &records)?)
            }
            Table::Signals => {
                let signals = values
                    .iter()
                    .map(|v| output::decode_signal(v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| TableError::Decode(self.name(), e.to_string()))?;
                signals_batch(&signals)
            }
            Table::Features => {
                let features = values
                    .iter()
                    .map(|v| output::decode_feature(v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| TableError::Decode(self.name(), e.to_string()))?;
                features_batch(&features)
            }
            Table::Prices => {
                let changes = values
                    .iter()
                    .map(|v| decode_json::<PriceChange>("price change", 0, v))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| TableError::Decode(self.name(), e.to_string()))?;
                prices_batch(&changes)
            }
            Table::Deliveries => crate::deliveries::to_batch(values),
        }
    }
}

/// Why stored records could not become a batch.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A stored value did not decode (damage or a version mismatch).
    #[error("a stored {0} record cannot be decoded: {1}")]
    Decode(&'static str, String),
    /// Arrow refused the columns.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// The `date` partition value of an event time: its UTC day.
pub fn date_of(time: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(time)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "invalid".to_owned())
}

pub(crate) fn nullable(name: &str, ty: DataType) -> Field {
    Field::new(name, ty, true)
}

fn signal_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("time", canonical::time_type(), false),
        nullable("event_id", DataType::Utf8),
        nullable("category_id", DataType::Utf8),
        nullable("venue_id", DataType::Utf8),
        nullable("zone_id", DataType::Utf8),
        Field::new("detail", DataType::Utf8, false),
    ]))
}

/// Measure columns of `features` beyond the common ones. All are nullable, so a column
/// added later (`sales_7d`, `opening_sold`, `hours_since_on_sale`) reads as NULL in
/// files archived before it.
const FEATURE_U32: [&str; 15] = [
    "capacity",
    "sold",
    "remaining",
    "sales_1m",
    "sales_15m",
    "sales_1h",
    "sales_24h",
    "sales_7d",
    "opening_sold",
    "cart_adds_1h",
    "buzz_posts_1h",
    "present",
    "left",
    "queue_length",
    "posts",
];
const FEATURE_F64: [&str; 6] = [
    "abandonment_rate_24h",
    "buzz_sentiment_1h",
    "hours_to_event",
    "hours_since_on_sale",
    "mean_dwell_s",
    "sentiment",
];

fn feature_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("time", canonical::time_type(), false),
        nullable("event_id", DataType::Utf8),
        nullable("category_id", DataType::Utf8),
        nullable("venue_id", DataType::Utf8),
        nullable("zone_id", DataType::Utf8),
    ];
    fields.extend(FEATURE_U32.iter().map(|n| nullable(n, DataType::UInt32)));
    fields.extend(FEATURE_F64.iter().map(|n| nullable(n, DataType::Float64)));
    fields.push(nullable("reach", DataType::UInt64));
    fields.push(nullable("price_minor", DataType::Int64));
    fields.push(nullable("currency", DataType::Utf8));
    Arc::new(Schema::new(fields))
}

pub(crate) fn time_builder(n: usize) -> TimestampMillisecondBuilder {
    TimestampMillisecondBuilder::with_capacity(n).with_timezone(canonical::TIME_ZONE)
}

fn signals_batch(signals: &[Signal]) -> Result<RecordBatch, TableError> {
    let n = signals.len();
    let mut id = UInt64Builder::with_capacity(n);
    let mut kind = StringBuilder::new();
    let mut time = time_builder(n);
    let mut ids: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
    let mut detail = StringBuilder::new();
    for s in signals {
        id.append_value(s.id);
        kind.append_value(s.kind.as_str());
        time.append_value(s.time);
        for (b, v) in ids
            .iter_mut()
            .zip([&s.event_id, &s.category_id, &s.venue_id, &s.zone_id])
        {
            b.append_option(v.as_deref());
        }
        detail.append_value(serde_json::to_string(&s.detail).unwrap_or_default());
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(kind.finish()),
        Arc::new(time.finish()),
    ];
    columns.extend(ids.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(detail.finish()));
    Ok(RecordBatch::try_new(signal_schema(), columns)?)
}

/// One feature's measure values, by column.
#[derive(Default)]
struct Measures {
    ids: [Option<String>; 4],
    u32s: [Option<u32>; FEATURE_U32.len()],
    f64s: [Option<f64>; FEATURE_F64.len()],
    reach: Option<u64>,
    price_minor: Option<i64>,
    currency: Option<String>,
}

fn measures(body: &FeatureBody) -> Measures {
    let mut m = Measures::default();
    match body {
        FeatureBody::SellOut(f) => {
            m.ids[0] = Some(f.event_id.to_string());
            m.ids[1] = Some(f.category_id.to_string());
            let values = [
                f.capacity,
                f.sold,
                f.remaining,
                f.sales_1m,
                f.sales_15m,
                f.sales_1h,
                f.sales_24h,
                f.sales_7d,
                f.opening_sold,
                f.cart_adds_1h,
                f.buzz_posts_1h,
            ];
            for (slot, v) in m.u32s.iter_mut().zip(values) {
                *slot = Some(v);
            }
            m.f64s[0] = Some(f.abandonment_rate_24h);
            m.f64s[1] = Some(f.buzz_sentiment_1h);
            m.f64s[2] = Some(f.hours_to_event);
            m.f64s[3] = Some(f.hours_since_on_sale);
            m.price_minor = Some(f.price_minor);
            m.currency = Some(f.currency.to_string());
        }
        FeatureBody::Occupancy(o) => {
            m.ids[2] = Some(o.venue_id.to_string());
            m.ids[3] = Some(o.zone_id.to_string());
            m.u32s[11] = Some(o.present);
            m.u32s[12] = Some(o.left);
            m.u32s[13] = o.queue_length;
            m.f64s[4] = Some(o.mean_dwell_s);
        }
        FeatureBody::Buzz(b) => {
            m.ids[0] = Some(b.event_id.to_string());
            m.u32s[14] = Some(b.posts);
            m.f64s[5] = Some(b.sentiment);
            m.reach = Some(b.reach);
        }
    }
    m
}

fn features_batch(features: &[Feature]) -> Result<RecordBatch, TableError> {
    let n = features.len();
    let mut id = UInt64Builder::with_capacity(n);
    let mut ty = StringBuilder::new();
    let mut time = time_builder(n);
    let mut ids: [StringBuilder; 4] = std::array::from_fn(|_| StringBuilder::new());
    let mut u32s: [UInt32Builder; FEATURE_U32.len()] =
        std::array::from_fn(|_| UInt32Builder::with_capacity(n));
    let mut f64s: [Float64Builder; FEATURE_F64.len()] =
        std::array::from_fn(|_| Float64Builder::with_capacity(n));
    let mut reach = UInt64Builder::with_capacity(n);
    let mut price = Int64Builder::with_capacity(n);
    let mut currency = StringBuilder::new();
    for f in features {
        id.append_value(f.id);
        ty.append_value(f.body.type_name());
        time.append_value(f.time);
        let m = measures(&f.body);
        for (b, v) in ids.iter_mut().zip(&m.ids) {
            b.append_option(v.as_deref());
        }
        for (b, v) in u32s.iter_mut().zip(m.u32s) {
            b.append_option(v);
        }
        for (b, v) in f64s.iter_mut().zip(m.f64s) {
            b.append_option(v);
        }
        reach.append_option(m.reach);
        price.append_option(m.price_minor);
        currency.append_option(m.currency.as_deref());
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(ty.finish()),
        Arc::new(time.finish()),
    ];
    columns.extend(ids.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(u32s.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.extend(f64s.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(reach.finish()));
    columns.push(Arc::new(price.finish()));
    columns.push(Arc::new(currency.finish()));
    Ok(RecordBatch::try_new(feature_schema(), columns)?)
}

fn price_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("time", canonical::time_type(), false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("category_id", DataType::Utf8, false),
        Field::new("old_minor", DataType::Int64, false),
        Field::new("new_minor", DataType::Int64, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
        Field::new("model_version", DataType::Utf8, false),
        nullable("guardrail", DataType::Utf8),
    ]))
}

/// The `snake_case` name serde gives a unit enum variant.
fn variant_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn prices_batch(changes: &[PriceChange]) -> Result<RecordBatch, TableError> {
    let n = changes.len();
    let mut id = UInt64Builder::with_capacity(n);
    let mut time = time_builder(n);
    let mut strings: [StringBuilder; 6] = std::array::from_fn(|_| StringBuilder::new());
    let mut old = Int64Builder::with_capacity(n);
    let mut new = Int64Builder::with_capacity(n);
    let mut guardrail = StringBuilder::new();
    for c in changes {
        id.append_value(c.id);
        time.append_value(c.time);
        old.append_value(c.old_minor);
        new.append_value(c.new_minor);
        let values = [
            c.event_id.to_string(),
            c.category_id.to_string(),
            c.currency.to_string(),
            variant_name(&c.reason),
            c.detail.clone(),
            c.model_version.clone(),
        ];
        for (b, v) in strings.iter_mut().zip(values) {
            b.append_value(v);
        }
        guardrail.append_option(c.guardrail.as_ref().map(variant_name));
    }
    let [event, category, currency, reason, detail, model] = strings.map(|mut b| b.finish());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(time.finish()),
        Arc::new(event),
        Arc::new(category),
        Arc::new(old.finish()),
        Arc::new(new.finish()),
        Arc::new(currency),
        Arc::new(reason),
        Arc::new(detail),
        Arc::new(model),
        Arc::new(guardrail.finish()),
    ];
    Ok(RecordBatch::try_new(price_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_795_598_100_000), "2026-11-25");
        assert_eq!(date_of(86_400_000 - 1), "1970-01-01");
    }

    #[test]
    fn price_changes_become_rows_with_reason_and_guardrail() {
        use arrow::array::{Array, Int64Array, StringArray};
        let change = |id: u64, guardrail: Option<&str>| {
            serde_json::to_vec(&serde_json::json!({
                "id": id, "event_id": "ev-1", "category_id": "cat-1", "old_minor": 5000,
                "new_minor": 5250, "currency": "GBP", "reason": "repricer",
                "detail": "sustained surge", "model_version": "rule-based/1",
                "guardrail": guardrail, "time": 1_795_598_100_000_i64,
            }))
            .expect("json")
        };
        let (a, b) = (change(1, Some("max_step")), change(2, None));
        let batch = Table::Prices.to_batch(&[&a, &b]).expect("batch");
        assert_eq!(batch.num_rows(), 2);
        let column = |name: &str| batch.column_by_name(name).expect(name).clone();
        let new = column("new_minor");
        let new = new.as_any().downcast_ref::<Int64Array>().expect("i64");
        assert_eq!(new.value(1), 5250);
        let guardrail = column("guardrail");
        let guardrail = guardrail
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("utf8");
        assert_eq!(guardrail.value(0), "max_step");
        assert!(guardrail.is_null(1));
        let reason = column("reason");
        let reason = reason.as_any().downcast_ref::<StringArray>().expect("utf8");
        assert_eq!(reason.value(0), "repricer");
        assert!(Table::Prices.to_batch(&[b"{not json"]).is_err());
    }

    #[test]
    fn names_round_trip() {
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
        assert_eq!(Table::from_name("nope"), None);
    }
}
