//! The notifier runtime end to end: beacons and signals on a real embedded log, the
//! installations store, campaigns, the local APNs and FCM endpoints over HTTP/2 TLS;
//! outcomes recorded, dead tokens pruned, nothing sent twice on replay, vouchers
//! redeemed once.

use std::sync::Arc;

use sellout_ingest::records::{AnyRecord, BeaconRecord, Proximity, Topic, wire};
use sellout_notifier::campaign::CampaignsFile;
use sellout_notifier::delivery::{DELIVERIES_TOPIC, DeliveryRecord, Outcome, Redemption};
use sellout_notifier::installation::Platform;
use sellout_notifier::runtime::{Directory, Runtime, Senders, append_redemption};
use sellout_notifier::voucher::VoucherKeys;
use sellout_notifier::{
    EmbeddedOptions, EmbeddedStore, Engine, EngineConfig, Installation, InstallationStore,
    PostgresStore,
};
use sellout_pipelines::output::{SIGNALS_TOPIC, Signal, SignalDetail, SignalKind};
use sellout_push::local::{self, ApnsServer, ApnsServerConfig, Fault, FcmServer, FcmServerConfig};
use sellout_push::{ApnsClient, ApnsConfig, FcmClient, FcmConfig};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

const T0: i64 = 1_790_000_000_000;
const MIN: i64 = 60_000;

const CAMPAIGNS: &str = r#"
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

struct Rig {
    _dir: tempfile::TempDir,
    log: Arc<EmbeddedLog>,
    store: Arc<EmbeddedStore>,
    apns: ApnsServer,
    fcm: FcmServer,
    senders: Senders,
}

async fn rig() -> Rig {
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

fn engine() -> Engine {
    let campaigns = CampaignsFile::parse_toml(CAMPAIGNS).expect("campaigns");
    let keys = VoucherKeys::new(1, &[7u8; 32]).expect("keys");
    Engine::new(campaigns, keys, EngineConfig::default())
}

fn token(i: u32) -> String {
    format!("{:064x}", u128::from(i) * 0x9e37_79b9 + 0xabc)
}

fn installation(i: u32, platform: Platform, customer: Option<&str>) -> Installation {
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

fn append_beacon(log: &EmbeddedLog, installation: &str, zone: &str, time: i64) {
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

fn append_signal(log: &EmbeddedLog, signal: &Signal) {
    let mut batch = Batch::new();
    batch.push_with(signal.key().as_bytes(), signal.time, |buf| {
        wire::encode_into(signal, buf)
    });
    log.append(SIGNALS_TOPIC, &batch).expect("append signal");
}

fn queue_short(id: u64, time: i64) -> Signal {
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

fn deliveries(log: &EmbeddedLog) -> Vec<DeliveryRecord> {
    let fetched = log.read(DELIVERIES_TOPIC, 0, 1 << 24).expect("read");
    fetched
        .records()
        .map(|r| DeliveryRecord::from_json(r.value).expect("a delivery record"))
        .collect()
}

#[tokio::test]
async fn vouchers_reach_people_near_the_stand_once_and_dead_tokens_are_pruned() {
    let r = rig().await;
    let store: Arc<dyn InstallationStore> = r.store.clone();
    let embedded = r.store.clone();
    vouchers_scenario(r, store, move || Directory::Embedded(embedded.clone())).await;
}

/// The same with installations in PostgreSQL, as a fleet of notifier instances shares
/// them (each instance learns zones from the beacons itself).
#[tokio::test]
async fn the_same_with_installations_shared_in_postgresql() {
    let Ok(conn) = std::env::var("SELLOUT_TEST_POSTGRES") else {
        println!("skipped: no PostgreSQL at SELLOUT_TEST_POSTGRES");
        return;
    };
    let table = format!("test_runtime_{}", std::process::id());
    let pg = PostgresStore::connect(&conn, &table)
        .await
        .expect("connect");
    pg.drop_table().await.expect("drop");
    let pg: Arc<dyn InstallationStore> = Arc::new(
        PostgresStore::connect(&conn, &table)
            .await
            .expect("connect"),
    );
    let r = rig().await;
    let shared = pg.clone();
    vouchers_scenario(r, pg, move || Directory::shared(shared.clone())).await;
}

async fn vouchers_scenario(
    r: Rig,
    store: Arc<dyn InstallationStore>,
    directory: impl Fn() -> Directory,
) {
    for (i, platform) in [
        (1, Platform::Apns),
        (2, Platform::Fcm),
        (3, Platform::Apns),
        (4, Platform::Apns),
    ] {
        store
            .upsert(installation(i, platform, None))
            .await
            .expect("upsert");
    }
    // 1, 2 and 3 are near the food court; 4 is at the gate; 3's token is dead.
    for i in 1..=3 {
        append_beacon(&r.log, &format!("ins-{i:06}"), "food-1", T0 - 2 * MIN);
    }
    append_beacon(&r.log, "ins-000004", "gate-a", T0 - 2 * MIN);
    r.apns.inject(&token(3), Fault::Unregistered);
    append_signal(&r.log, &queue_short(11, T0));
    let checkpoint = r._dir.path().join("notifier.checkpoint");
    let mut rt = Runtime::open(
        directory(),
        engine(),
        r.senders.clone(),
        r.log.clone(),
        Some(checkpoint.clone()),
    )
    .expect("runtime");
    let report = rt.poll(T0 + 1_000).await.expect("poll");
    assert_eq!((report.sightings, report.triggers), (4, 1), "{report:?}");
    assert_eq!(
        (report.planned, report.delivered, report.pruned),
        (3, 2, 1),
        "{report:?}"
    );
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (1, 1));
    assert!(
        store.get("ins-000003").await.expect("get").is_none(),
        "a dead token's installation is erased"
    );
    let records = deliveries(&r.log);
    let count = |o: Outcome| records.iter().filter(|d| d.outcome == o).count();
    assert_eq!(
        (
            count(Outcome::Planned),
            count(Outcome::Delivered),
            count(Outcome::Pruned)
        ),
        (3, 2, 1)
    );
    // No push token in any record.
    let raw = serde_json::to_string(&records).expect("json");
    assert!(!raw.contains(&token(1)) && !raw.contains("fcm-token-2"));

    // A restart that lost its checkpoint replays the signal: nothing is sent again.
    std::fs::remove_file(&checkpoint).expect("remove checkpoint");
    drop(rt);
    let mut again = Runtime::open(
        directory(),
        engine(),
        r.senders.clone(),
        r.log.clone(),
        Some(checkpoint),
    )
    .expect("runtime");
    let replay = again.poll(T0 + 2_000).await.expect("poll");
    assert_eq!((replay.planned, replay.delivered), (0, 0), "{replay:?}");
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (1, 1));
    assert_eq!((r.apns.duplicates(), r.fcm.duplicates()), (0, 0));

    // The stand redeems a voucher once.
    let code = records
        .iter()
        .find(|d| d.outcome == Outcome::Planned && d.installation_id == "ins-000001")
        .and_then(|d| d.voucher_code.clone())
        .expect("a voucher");
    let redemption = Redemption {
        voucher_code: code,
        time_ms: T0 + 3 * MIN,
        stand_id: "stand-1".into(),
    };
    let redeemed = again.redeem(&redemption).expect("redeemed");
    assert_eq!(
        (redeemed.outcome, redeemed.installation_id.as_str()),
        (Outcome::Redeemed, "ins-000001")
    );
    assert!(again.redeem(&redemption).is_err(), "a voucher counts once");
    // Through the topic, as a stand reports it: refused the second time too.
    append_redemption(r.log.as_ref(), &redemption).expect("append");
    let polled = again.poll(T0 + 4 * MIN).await.expect("poll");
    assert_eq!((polled.redeemed, polled.refused), (0, 1), "{polled:?}");
    let other = records
        .iter()
        .find(|d| d.outcome == Outcome::Planned && d.installation_id == "ins-000002")
        .and_then(|d| d.voucher_code.clone())
        .expect("a voucher");
    let topic_redemption = Redemption {
        voucher_code: other,
        time_ms: T0 + 4 * MIN,
        stand_id: "stand-1".into(),
    };
    append_redemption(r.log.as_ref(), &topic_redemption).expect("append");
    let polled = again.poll(T0 + 4 * MIN + 1).await.expect("poll");
    assert_eq!((polled.redeemed, polled.refused), (1, 0), "{polled:?}");
    let stats = again
        .engine()
        .lock()
        .expect("engine")
        .stats("food-short-queue");
    assert_eq!(
        (stats.delivered, stats.pruned, stats.redeemed),
        (2, 1, 2),
        "{stats:?}"
    );
}

#[tokio::test]
async fn an_abandoned_cart_reaches_only_its_customers_devices() {
    let r = rig().await;
    r.store
        .upsert(installation(1, Platform::Apns, Some("cus-000001")))
        .expect("upsert");
    r.store
        .upsert(installation(2, Platform::Fcm, Some("cus-000002")))
        .expect("upsert");
    let cart = |id: u64, customer: &str, value: i64| Signal {
        id,
        kind: SignalKind::CartAbandoned,
        time: T0,
        event_id: Some("ev-1".into()),
        category_id: Some("cat-1".into()),
        venue_id: None,
        zone_id: None,
        detail: SignalDetail::Cart {
            session_id: "s-1".into(),
            customer_id: Some(customer.into()),
            categories: vec!["cat-1".into()],
            quantity: 2,
            value_minor: value,
            currency: "EUR".into(),
            held_at: T0 - 10 * MIN,
        },
    };
    append_signal(&r.log, &cart(21, "cus-000001", 18_000));
    append_signal(&r.log, &cart(22, "cus-000002", 5_000)); // under the campaign's threshold
    let mut rt = Runtime::open(
        Directory::Embedded(r.store.clone()),
        engine(),
        r.senders.clone(),
        r.log.clone(),
        None,
    )
    .expect("runtime");
    let report = rt.poll(T0 + 1_000).await.expect("poll");
    assert_eq!((report.planned, report.delivered), (1, 1), "{report:?}");
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (1, 0));
    let records = deliveries(&r.log);
    assert!(
        records
            .iter()
            .all(|d| d.installation_id == "ins-000001" && d.campaign_id == "cart-reminder")
    );
}
