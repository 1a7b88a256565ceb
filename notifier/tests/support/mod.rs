//! What the notifier runtime tests share: a real embedded log, an installations store,
//! the local APNs and FCM endpoints with clients for them, campaigns, and records to
//! append.

#![allow(dead_code)] // each test file uses its own part

use std::sync::Arc;

use sellout_ingest::records::{AnyRecord, BeaconRecord, Proximity, Topic, wire};
use sellout_notifier::campaign::CampaignsFile;
use sellout_notifier::delivery::{DELIVERIES_TOPIC, DeliveryRecord};
use sellout_notifier::installation::Platform;
use sellout_notifier::runtime::Senders;
use sellout_notifier::voucher::VoucherKeys;
use sellout_notifier::{EmbeddedOptions, EmbeddedStore, Engine, EngineConfig, Installation};
use sellout_pipelines::output::{SIGNALS_TOPIC, Signal, SignalDetail, SignalKind};
use sellout_push::local::{self, ApnsServer, ApnsServerConfig, FcmServer, FcmServerConfig};
use sellout_push::{ApnsClient, ApnsConfig, FcmClient, FcmConfig};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

pub const T0: i64 = 1_790_000_000_000;
pub const MIN: i64 = 60_000;

pub const CAMPAIGNS: &str = r#"
[[campaign]]
id = "food-short-queue"
trigger = { kind = "queue_short", zone = "food-1", at_most = 5 }
audience = { near_zone = { within_minutes = 10 } }
offer = { kind = "food", percent = 20, stand = "stand-1" }
validity_minutes = 5
default_locale = "en"
[campaign.templates.en]
title = "$(offer.percent)% off at $(offer.stand)"
body = "No queue right now. Show $(voucher.code) before $(voucher.expires_local)."

[[campaign]]
id = "cart-reminder"
trigger = { kind = "cart_abandoned", value_above_minor = 10000 }
validity_minutes = 30
default_locale = "en"
[campaign.templates.en]
title = "Your seats are still waiting"
body = "Your cart of $(cart_value) is still possible."
"#;

/// One test's services.
pub struct Rig {
    pub _dir: tempfile::TempDir,
    pub log: Arc<EmbeddedLog>,
    pub store: Arc<EmbeddedStore>,
    pub apns: ApnsServer,
    pub fcm: FcmServer,
    pub senders: Senders,
}

pub async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0));
    let log = Arc::new(
        EmbeddedLog::open(&dir.path().join("log"), LogConfig::default(), clock.clone())
            .expect("log"),
    );
    let store = Arc::new(
        EmbeddedStore::open(
            &dir.path().join("installations"),
            EmbeddedOptions::default(),
        )
        .expect("store"),
    );
    let apns = ApnsServer::start(ApnsServerConfig::default(), clock.clone())
        .await
        .expect("apns");
    let key = local::apns_test_key_pem();
    let public = sellout_push::jwt::Es256Key::from_pem(key.as_bytes())
        .expect("key")
        .public_key();
    apns.register_key("KEY1234567", "TEAM123456", public);
    let mut cfg = ApnsConfig::new(
        key,
        "KEY1234567".into(),
        "TEAM123456".into(),
        "app.sellout".into(),
    );
    cfg.base_url = apns.base_url();
    cfg.extra_root_pem = Some(apns.cert_pem());
    let apns_client = ApnsClient::new(cfg, clock.clone()).expect("apns client");
    let fcm = FcmServer::start(FcmServerConfig::default(), clock.clone())
        .await
        .expect("fcm");
    let sa = local::test_service_account_json(&fcm.token_uri());
    fcm.register_service_account(&sa).expect("service account");
    let mut cfg = FcmConfig::new(sa);
    cfg.base_url = fcm.base_url();
    cfg.extra_root_pem = Some(fcm.cert_pem());
    let fcm_client = FcmClient::new(cfg, clock).expect("fcm client");
    Rig {
        _dir: dir,
        log,
        store,
        apns,
        fcm,
        senders: Senders {
            apns: Some(apns_client),
            fcm: Some(fcm_client),
            concurrency: 64,
        },
    }
}

pub fn engine() -> Engine {
    let campaigns = CampaignsFile::parse_toml(CAMPAIGNS).expect("campaigns");
    let keys = VoucherKeys::new(1, &[7u8; 32]).expect("keys");
    Engine::new(campaigns, keys, EngineConfig::default())
}

pub fn token(i: u32) -> String {
    format!("{:064x}", u128::from(i) * 0x9e37_79b9 + 0xabc)
}

pub fn installation(i: u32, platform: Platform, customer: Option<&str>) -> Installation {
    let mut tags = vec!["fan:gold".to_owned()];
    tags.extend(customer.map(|c| format!("customer:{c}")));
    Installation {
        installation_id: format!("ins-{i:06}"),
        platform,
        push_channel: match platform {
            Platform::Apns => token(i),
            Platform::Fcm => format!("fcm-token-{i}"),
        },
        locale: "en-GB".into(),
        tags,
        customer_id: customer.map(str::to_owned),
        expiration_ms: None,
    }
}

pub fn append_beacon(log: &EmbeddedLog, installation: &str, zone: &str, time: i64) {
    let record = AnyRecord::Beacons(BeaconRecord {
        installation_id: installation.into(),
        venue_id: "ven-1".into(),
        zone_id: zone.into(),
        beacon_id: "b-1".into(),
        rssi: -60,
        proximity: Proximity::Near,
        time,
    });
    let mut batch = Batch::new();
    batch.push_with(b"ven-1", time, |buf| wire::encode_any_into(&record, buf));
    log.append(Topic::Beacons.as_str(), &batch)
        .expect("append beacon");
}

pub fn append_signal(log: &EmbeddedLog, signal: &Signal) {
    let mut batch = Batch::new();
    batch.push_with(signal.key().as_bytes(), signal.time, |buf| {
        wire::encode_into(signal, buf)
    });
    log.append(SIGNALS_TOPIC, &batch).expect("append signal");
}

pub fn queue_short(id: u64, time: i64) -> Signal {
    Signal {
        id,
        kind: SignalKind::QueueShort,
        time,
        event_id: Some("ev-1".into()),
        category_id: None,
        venue_id: Some("ven-1".into()),
        zone_id: Some("food-1".into()),
        detail: SignalDetail::Queue {
            stand_id: "stand-1".into(),
            length: 2,
            wait_minutes: 1.0,
            nearby: 30,
            estimated: false,
        },
    }
}

pub fn deliveries(log: &EmbeddedLog) -> Vec<DeliveryRecord> {
    let fetched = log.read(DELIVERIES_TOPIC, 0, 1 << 24).expect("read");
    fetched
        .records()
        .map(|r| DeliveryRecord::from_json(r.value).expect("a delivery record"))
        .collect()
}

/// An abandoned cart of `value_minor` for `customer` (the `cart-reminder` campaign
/// reacts above 10,000).
pub fn cart(id: u64, customer: &str, value_minor: i64) -> Signal {
    Signal {
        id,
        kind: SignalKind::CartAbandoned,
        time: T0,
        event_id: Some("ev-1".into()),
        category_id: Some("cat-1".into()),
        venue_id: None,
        zone_id: None,
        detail: SignalDetail::Cart {
            session_id: format!("s-{id}").into(),
            customer_id: Some(customer.into()),
            categories: vec!["cat-1".into()],
            quantity: 2,
            value_minor,
            currency: "EUR".into(),
            held_at: T0 - 10 * MIN,
        },
    }
}
