//! Test fixtures: a small catalog, a log in a tempdir, and writers for each topic the
//! board reads (in their real wire forms).

use std::sync::Arc;

use sellout_ingest::catalog::{Catalog, Category, Event, Venue, VenueKind, Zone, ZoneKind};
use sellout_ingest::records::{Channel, SaleKind, SaleRecord, wire};
use sellout_pipelines::output::{
    self, BuzzPoint, Feature, FeatureBody, SellOutFeatures, Signal, SignalDetail, SignalKind,
    ZoneOccupancy,
};
use sellout_pricing::change::{self, ChangeReason, PriceChange};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

/// 2026-11-01T10:00:00Z.
pub const T0: i64 = 1_793_527_200_000;

pub fn catalog() -> Arc<Catalog> {
    let zone = |id: &str, kind| Zone {
        zone_id: id.into(),
        name: format!("Zone {id}"),
        kind,
        tills: 2,
        service_rate_per_min: 1.0,
        beacons: vec![format!("b-{id}").into()],
    };
    let venue = Venue {
        venue_id: "v-1".into(),
        name: "Arena One".into(),
        kind: VenueKind::Arena,
        city: "Leeds".into(),
        country: "GB".into(),
        zones: vec![
            zone("z-gate", ZoneKind::Gate),
            zone("z-food", ZoneKind::Food),
        ],
    };
    let category = |id: &str, capacity, list| Category {
        category_id: id.into(),
        name: format!("Cat {id}"),
        capacity,
        list_price_minor: list,
        floor_minor: list / 2,
        cap_minor: list * 2,
        currency: "GBP".into(),
    };
    let event = Event {
        event_id: "ev-1".into(),
        name: "The Band".into(),
        venue_id: "v-1".into(),
        on_sale: T0,
        start: T0 + 30 * 86_400_000,
        tags: vec![],
        categories: vec![category("cat-a", 100, 5000), category("cat-b", 50, 9000)],
    };
    Arc::new(Catalog::new(vec![venue], vec![event]).expect("catalog"))
}

pub fn log(dir: &std::path::Path) -> Arc<EmbeddedLog> {
    Arc::new(
        EmbeddedLog::open(dir, LogConfig::default(), Arc::new(ManualClock::new(0))).expect("log"),
    )
}

pub fn sale(kind: SaleKind, category: &str, quantity: u32, time: i64) -> SaleRecord {
    SaleRecord {
        kind,
        event_id: "ev-1".into(),
        category_id: category.into(),
        session_id: format!("s-{time}").into(),
        customer_id: Some("cust-secret-1".into()),
        quantity,
        unit_price_minor: 5000,
        currency: "GBP".into(),
        channel: Channel::Web,
        quote_id: None,
        time,
    }
}

pub fn write_sales(log: &dyn Transport, sales: &[SaleRecord]) {
    let mut batch = Batch::new();
    for s in sales {
        batch.push_with(b"ev-1", s.time, |buf| wire::encode_into(s, buf));
    }
    log.append("sales", &batch).expect("append");
}

pub fn signal(kind: SignalKind, time: i64) -> Signal {
    let detail = match kind {
        SignalKind::QueueLong | SignalKind::QueueShort => SignalDetail::Queue {
            stand_id: "z-food".into(),
            length: 12,
            wait_minutes: 6.0,
            nearby: 30,
            estimated: false,
        },
        SignalKind::CartAbandoned | SignalKind::CartRecovered => SignalDetail::Cart {
            session_id: "s-secret".into(),
            customer_id: Some("cust-secret-2".into()),
            categories: vec!["cat-a".into()],
            quantity: 2,
            value_minor: 10_000,
            currency: "GBP".into(),
            held_at: time - 600_000,
        },
        _ => SignalDetail::Rate {
            metric: output::RateMetric::Purchases,
            rate_per_min: 9.0,
            baseline_per_min: 2.0,
            baseline_std: 1.0,
            z: 7.0,
            cusum: 0.0,
            trigger: "z_score".into(),
        },
    };
    let venue = matches!(kind, SignalKind::QueueLong | SignalKind::QueueShort);
    Signal {
        id: time as u64,
        kind,
        time,
        event_id: (!venue).then(|| "ev-1".into()),
        category_id: Some("cat-a".into()),
        venue_id: venue.then(|| "v-1".into()),
        zone_id: venue.then(|| "z-food".into()),
        detail,
    }
}

pub fn write_signals(log: &dyn Transport, signals: &[Signal]) {
    let mut batch = Batch::new();
    for s in signals {
        output::push_signal(&mut batch, s);
    }
    log.append("signals", &batch).expect("append");
}

pub fn sellout_feature(category: &str, sold: u32, time: i64) -> Feature {
    Feature {
        id: time as u64,
        time,
        body: FeatureBody::SellOut(SellOutFeatures {
            event_id: "ev-1".into(),
            category_id: category.into(),
            capacity: 100,
            sold,
            remaining: 100 - sold,
            sales_1m: 1,
            sales_15m: 10,
            sales_1h: 20,
            sales_24h: 100,
            sales_7d: 700,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 30,
            abandonment_rate_24h: 0.1,
            buzz_posts_1h: 5,
            buzz_sentiment_1h: 0.2,
            hours_to_event: 700.0,
            price_minor: 5000,
            currency: "GBP".into(),
        }),
    }
}

pub fn occupancy(zone: &str, present: u32, time: i64) -> Feature {
    Feature {
        id: time as u64 ^ u64::from(present),
        time,
        body: FeatureBody::Occupancy(ZoneOccupancy {
            venue_id: "v-1".into(),
            zone_id: zone.into(),
            present,
            left: 1,
            mean_dwell_s: 60.0,
            queue_length: None,
        }),
    }
}

pub fn buzz(time: i64) -> Feature {
    Feature {
        id: time as u64,
        time,
        body: FeatureBody::Buzz(BuzzPoint {
            event_id: "ev-1".into(),
            posts: 7,
            reach: 100,
            sentiment: 0.4,
            positive: 5,
            negative: 1,
        }),
    }
}

pub fn write_features(log: &dyn Transport, features: &[Feature]) {
    let mut batch = Batch::new();
    for f in features {
        output::push_feature(&mut batch, f);
    }
    log.append("features", &batch).expect("append");
}

pub fn price(category: &str, old: i64, new: i64, time: i64) -> PriceChange {
    PriceChange {
        id: time as u64,
        event_id: "ev-1".into(),
        category_id: category.into(),
        old_minor: old,
        new_minor: new,
        currency: "GBP".into(),
        reason: ChangeReason::Repricer,
        detail: "surge: 3 signals in 15 min".into(),
        model_version: "rule-based/1".into(),
        guardrail: None,
        time,
    }
}

pub fn write_prices(log: &dyn Transport, prices: &[PriceChange]) {
    let mut batch = Batch::new();
    for p in prices {
        change::push_change(&mut batch, p);
    }
    log.append("prices", &batch).expect("append");
}

/// A `deliveries` line as the notifier writes it (`DeliveryRecord` JSON).
pub fn delivery(outcome: &str, time: i64) -> String {
    format!(
        r#"{{"notification_id":"00000000-0000-0000-0000-000000000001","campaign_id":"food-short-queue","installation_id":"inst-secret","platform":"fcm","trigger_id":1,"event_id":"ev-1","venue_id":"v-1","zone_id":"z-food","offer":{{"kind":"food","percent":20,"stand":"z-food"}},"voucher_code":"VOUCHER-SECRET","voucher_expires_ms":{},"outcome":"{outcome}","reason":null,"attempts":1,"time_ms":{time}}}"#,
        time + 300_000
    )
}

pub fn write_raw(log: &dyn Transport, topic: &str, values: &[(i64, Vec<u8>)]) {
    let mut batch = Batch::new();
    for (time, v) in values {
        batch.push(b"ev-1", *time, v);
    }
    log.append(topic, &batch).expect("append");
}
