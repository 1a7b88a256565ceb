//! The `deliveries` table: one row per notification outcome (planned, suppressed,
//! delivered, failed, pruned, redeemed) as the notifier writes them, for the campaign
//! funnel (targeted → delivered → redeemed, by offer).
//!
//! Records are the notifier's JSON, read here by field name so this crate needs no
//! dependency on the notifier (nothing may depend on it). Voucher codes are left out:
//! a code is a bearer credential at the stand, and the funnel needs only whether there
//! was one.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, RecordBatch, StringBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::Deserialize;

use crate::tables::{TableError, nullable, time_builder};
use sellout_ingest::arrow as canonical;

/// The topic and table name.
pub const DELIVERIES: &str = "deliveries";

#[derive(Deserialize)]
struct Offer {
    kind: serde_json::Value,
    percent: u32,
    #[serde(default)]
    stand: Option<String>,
}

#[derive(Deserialize)]
struct Row {
    notification_id: String,
    campaign_id: String,
    installation_id: String,
    platform: String,
    trigger_id: u64,
    event_id: Option<String>,
    venue_id: Option<String>,
    zone_id: Option<String>,
    offer: Option<Offer>,
    voucher_code: Option<String>,
    outcome: String,
    reason: Option<String>,
    attempts: u32,
    time_ms: i64,
}

/// The table's stored columns.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("notification_id", DataType::Utf8, false),
        Field::new("time", canonical::time_type(), false),
        Field::new("campaign_id", DataType::Utf8, false),
        Field::new("installation_id", DataType::Utf8, false),
        Field::new("platform", DataType::Utf8, false),
        Field::new("trigger_id", DataType::UInt64, false),
        nullable("event_id", DataType::Utf8),
        nullable("venue_id", DataType::Utf8),
        nullable("zone_id", DataType::Utf8),
        nullable("offer_kind", DataType::Utf8),
        nullable("offer_percent", DataType::UInt32),
        nullable("offer_stand", DataType::Utf8),
        Field::new("has_voucher", DataType::Boolean, false),
        Field::new("outcome", DataType::Utf8, false),
        nullable("reason", DataType::Utf8),
        Field::new("attempts", DataType::UInt32, false),
    ]))
}

/// Stored delivery records as one batch.
pub fn to_batch(values: &[&[u8]]) -> Result<RecordBatch, TableError> {
    let rows = values
        .iter()
        .map(|v| serde_json::from_slice::<Row>(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TableError::Decode(DELIVERIES, e.to_string()))?;
    let n = rows.len();
    let mut time = time_builder(n);
    let mut required: [StringBuilder; 5] = std::array::from_fn(|_| StringBuilder::new());
    let mut optional: [StringBuilder; 6] = std::array::from_fn(|_| StringBuilder::new());
    let mut trigger = UInt64Builder::with_capacity(n);
    let mut percent = UInt32Builder::with_capacity(n);
    let mut attempts = UInt32Builder::with_capacity(n);
    let mut voucher = BooleanBuilder::with_capacity(n);
    for r in rows {
        time.append_value(r.time_ms);
        trigger.append_value(r.trigger_id);
        attempts.append_value(r.attempts);
        voucher.append_value(r.voucher_code.is_some());
        percent.append_option(r.offer.as_ref().map(|o| o.percent));
        let kind = r.offer.as_ref().map(|o| match &o.kind {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let stand = r.offer.and_then(|o| o.stand);
        let values = [
            r.notification_id,
            r.campaign_id,
            r.installation_id,
            r.platform,
            r.outcome,
        ];
        for (b, v) in required.iter_mut().zip(values) {
            b.append_value(v);
        }
        let values = [r.event_id, r.venue_id, r.zone_id, kind, stand, r.reason];
        for (b, v) in optional.iter_mut().zip(values) {
            b.append_option(v);
        }
    }
    let [id, campaign, installation, platform, outcome] = required.map(|mut b| b.finish());
    let [event, venue, zone, kind, stand, reason] = optional.map(|mut b| b.finish());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id),
        Arc::new(time.finish()),
        Arc::new(campaign),
        Arc::new(installation),
        Arc::new(platform),
        Arc::new(trigger.finish()),
        Arc::new(event),
        Arc::new(venue),
        Arc::new(zone),
        Arc::new(kind),
        Arc::new(percent.finish()),
        Arc::new(stand),
        Arc::new(voucher.finish()),
        Arc::new(outcome),
        Arc::new(reason),
        Arc::new(attempts.finish()),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, BooleanArray, StringArray, UInt32Array};

    use super::*;

    #[test]
    fn delivery_records_become_rows_without_voucher_codes() {
        let record = |outcome: &str, code: Option<&str>| {
            serde_json::to_vec(&serde_json::json!({
                "notification_id": "0190a1b2-c3d4-8e5f-9a0b-1c2d3e4f5a6b",
                "campaign_id": "food-short-queue", "installation_id": "ins-000001",
                "platform": "apns", "trigger_id": 7, "event_id": "ev-1", "venue_id": "ven-1",
                "zone_id": "food-1", "offer": { "kind": "food", "percent": 20, "stand": "stand-1" },
                "voucher_code": code, "voucher_expires_ms": 1_795_598_400_000_i64,
                "outcome": outcome, "reason": null, "attempts": 1, "time_ms": 1_795_598_100_000_i64,
            }))
            .expect("json")
        };
        let (a, b) = (
            record("planned", Some("ABCD-EFGH")),
            record("delivered", None),
        );
        let batch = to_batch(&[&a, &b]).expect("batch");
        assert_eq!(batch.num_rows(), 2);
        let col = |n: &str| batch.column_by_name(n).expect(n).clone();
        let outcome = col("outcome");
        let outcome = outcome
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("strings");
        assert_eq!(
            (outcome.value(0), outcome.value(1)),
            ("planned", "delivered")
        );
        let voucher = col("has_voucher");
        let voucher = voucher
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("bools");
        assert!(voucher.value(0) && !voucher.value(1));
        let percent = col("offer_percent");
        assert_eq!(
            percent
                .as_any()
                .downcast_ref::<UInt32Array>()
                .expect("u32")
                .value(0),
            20
        );
        assert!(batch.schema().field_with_name("voucher_code").is_err());
        let bad: &[u8] = b"{\"campaign_id\": 1}";
        assert!(matches!(
            to_batch(&[bad]),
            Err(TableError::Decode(DELIVERIES, _))
        ));
    }
}
