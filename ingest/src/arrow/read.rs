//! Record batches → records, row by row.

use std::fmt::Write as _;

use ::arrow::array::Array;
use ::arrow::datatypes::{DataType, Int16Type, Int64Type, UInt32Type, UInt64Type};
use ::arrow::record_batch::RecordBatch;
use ::arrow::util::display::{ArrayFormatter, FormatOptions};

use super::columns::{IntCol, ListCol, StrCol, TimeCol, int_at};
use crate::records::{
    AnyRecord, BeaconRecord, Channel, Proximity, QueueRecord, SaleKind, SaleRecord, SocialRecord,
    Topic, time,
};
use crate::validate::Reason;

/// Calls `f(row, record or reason)` for every row of `batch`, in row order, reading the
/// rows as records of `topic`. The streaming form of [`from_batch`](super::from_batch).
pub fn for_each_row<F>(topic: Topic, batch: &RecordBatch, mut f: F)
where
    F: FnMut(usize, Result<AnyRecord, Reason>),
{
    let rows = batch.num_rows();
    let outcome = match topic {
        Topic::Sales => sales(batch, &mut f),
        Topic::Beacons => beacons(batch, &mut f),
        Topic::Social => social(batch, &mut f),
        Topic::Queues => queues(batch, &mut f),
    };
    // A column that can't be read rejects every row for the same reason.
    if let Err(reason) = outcome {
        for i in 0..rows {
            f(i, Err(reason.clone()));
        }
    }
}

fn sales<F: FnMut(usize, Result<AnyRecord, Reason>)>(
    batch: &RecordBatch,
    f: &mut F,
) -> Result<(), Reason> {
    let kind = StrCol::required(batch, "kind")?;
    let event_id = StrCol::required(batch, "event_id")?;
    let category_id = StrCol::required(batch, "category_id")?;
    let session_id = StrCol::required(batch, "session_id")?;
    let customer_id = StrCol::optional(batch, "customer_id")?;
    let quantity = IntCol::<UInt32Type>::required(batch, "quantity")?;
    let unit_price_minor = IntCol::<Int64Type>::required(batch, "unit_price_minor")?;
    let currency = StrCol::required(batch, "currency")?;
    let channel = StrCol::required(batch, "channel")?;
    let quote_id = StrCol::optional(batch, "quote_id")?;
    let time = TimeCol::required(batch, "time")?;

    let (kind, event_id, category_id, session_id) = (
        kind.view(),
        event_id.view(),
        category_id.view(),
        session_id.view(),
    );
    let (customer_id, currency, channel, quote_id) = (
        customer_id.view(),
        currency.view(),
        channel.view(),
        quote_id.view(),
    );
    let quantity = quantity.view(0, i128::from(u32::MAX));
    let unit_price_minor = unit_price_minor.view(i128::from(i64::MIN), i128::from(i64::MAX));
    let time = time.view();
    for i in 0..batch.num_rows() {
        let record = (|| -> Result<SaleRecord, Reason> {
            Ok(SaleRecord {
                kind: kind.enumeration(i, SaleKind::parse, &SaleKind::ALL, SaleKind::as_str)?,
                event_id: event_id.id(i)?,
                category_id: category_id.id(i)?,
                session_id: session_id.id(i)?,
                customer_id: customer_id.opt_id(i)?,
                quantity: quantity.req(i)?,
                unit_price_minor: unit_price_minor.req(i)?,
                currency: currency.id(i)?,
                channel: channel.enumeration(i, Channel::parse, &Channel::ALL, Channel::as_str)?,
                quote_id: quote_id.opt_id(i)?,
                time: time.req(i, "time")?,
            })
        })();
        f(i, record.map(AnyRecord::Sales));
    }
    Ok(())
}

fn beacons<F: FnMut(usize, Result<AnyRecord, Reason>)>(
    batch: &RecordBatch,
    f: &mut F,
) -> Result<(), Reason> {
    let installation_id = StrCol::required(batch, "installation_id")?;
    let venue_id = StrCol::required(batch, "venue_id")?;
    let zone_id = StrCol::required(batch, "zone_id")?;
    let beacon_id = StrCol::required(batch, "beacon_id")?;
    let rssi = IntCol::<Int16Type>::required(batch, "rssi")?;
    let proximity = StrCol::required(batch, "proximity")?;
    let time = TimeCol::required(batch, "time")?;

    let (installation_id, venue_id, zone_id, beacon_id) = (
        installation_id.view(),
        venue_id.view(),
        zone_id.view(),
        beacon_id.view(),
    );
    let rssi = rssi.view(i128::from(i16::MIN), i128::from(i16::MAX));
    let (proximity, time) = (proximity.view(), time.view());
    for i in 0..batch.num_rows() {
        let record = (|| -> Result<BeaconRecord, Reason> {
            Ok(BeaconRecord {
                installation_id: installation_id.id(i)?,
                venue_id: venue_id.id(i)?,
                zone_id: zone_id.id(i)?,
                beacon_id: beacon_id.id(i)?,
                rssi: rssi.req(i)?,
                proximity: proximity.enumeration(
                    i,
                    Proximity::parse,
                    &Proximity::ALL,
                    Proximity::as_str,
                )?,
                time: time.req(i, "time")?,
            })
        })();
        f(i, record.map(AnyRecord::Beacons));
    }
    Ok(())
}

fn social<F: FnMut(usize, Result<AnyRecord, Reason>)>(
    batch: &RecordBatch,
    f: &mut F,
) -> Result<(), Reason> {
    let source = StrCol::required(batch, "source")?;
    let text = StrCol::required(batch, "text")?;
    let language = StrCol::required(batch, "language")?;
    let author_reach = IntCol::<UInt64Type>::required(batch, "author_reach")?;
    let event_ids = ListCol::required(batch, "event_ids")?;
    let time = TimeCol::required(batch, "time")?;

    let (source, text, language) = (source.view(), text.view(), language.view());
    let author_reach = author_reach.view(0, i128::from(u64::MAX));
    let (event_ids, time) = (event_ids.view(), time.view());
    for i in 0..batch.num_rows() {
        let record = (|| -> Result<SocialRecord, Reason> {
            Ok(SocialRecord {
                source: source.id(i)?,
                text: text.req(i)?.to_owned(),
                language: language.id(i)?,
                author_reach: author_reach.req(i)?,
                event_ids: event_ids.ids(i)?,
                time: time.req(i, "time")?,
            })
        })();
        f(i, record.map(AnyRecord::Social));
    }
    Ok(())
}

fn queues<F: FnMut(usize, Result<AnyRecord, Reason>)>(
    batch: &RecordBatch,
    f: &mut F,
) -> Result<(), Reason> {
    let venue_id = StrCol::required(batch, "venue_id")?;
    let zone_id = StrCol::required(batch, "zone_id")?;
    let stand_id = StrCol::required(batch, "stand_id")?;
    let length = IntCol::<UInt32Type>::required(batch, "length")?;
    let time = TimeCol::required(batch, "time")?;

    let (venue_id, zone_id, stand_id) = (venue_id.view(), zone_id.view(), stand_id.view());
    let (length, time) = (length.view(0, i128::from(u32::MAX)), time.view());
    for i in 0..batch.num_rows() {
        let record = (|| -> Result<QueueRecord, Reason> {
            Ok(QueueRecord {
                venue_id: venue_id.id(i)?,
                zone_id: zone_id.id(i)?,
                stand_id: stand_id.id(i)?,
                length: length.req(i)?,
                time: time.req(i, "time")?,
            })
        })();
        f(i, record.map(AnyRecord::Queues));
    }
    Ok(())
}

/// Row `row` of `batch` rendered as one JSON object (column name → value), for
/// dead-lettering a rejected row of columnar input. Integers stay numbers, strings stay
/// strings, nulls are `null`, anything else is its Arrow display string. Best effort:
/// it never fails, and a row past the end is an empty object.
pub fn row_json(batch: &RecordBatch, row: usize) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if row >= batch.num_rows() {
        return serde_json::Value::Object(map);
    }
    let options = FormatOptions::default();
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let value = if column.is_null(row) {
            serde_json::Value::Null
        } else if let Some(n) = int_at(column.as_ref(), row) {
            match (i64::try_from(n), u64::try_from(n)) {
                (Ok(v), _) => v.into(),
                (_, Ok(v)) => v.into(),
                _ => n.to_string().into(),
            }
        } else if let DataType::Timestamp(..) = column.data_type() {
            // Formatted here: Arrow's display needs chrono-tz for named zones like "UTC".
            let time = TimeCol::from_array(column.clone()).view().req(row, "time");
            time.map(|ms| time::to_rfc3339(ms).into())
                .unwrap_or(serde_json::Value::Null)
        } else {
            let mut s = String::new();
            if let Ok(formatter) = ArrayFormatter::try_new(column.as_ref(), &options) {
                // Formatting into a String only fails if the value can't be displayed;
                // what was written so far is kept.
                let _ = write!(s, "{}", formatter.value(row));
            }
            s.into()
        };
        map.insert(field.name().clone(), value);
    }
    serde_json::Value::Object(map)
}
