//! The notifier runtime end to end: beacons and signals on a real embedded log, the
//! installations store, campaigns, the local APNs and FCM endpoints over HTTP/2 TLS;
//! outcomes recorded, dead tokens pruned, nothing sent twice on replay, vouchers
//! redeemed once.

mod support;

use std::sync::Arc;

use sellout_notifier::delivery::{Outcome, Redemption};
use sellout_notifier::installation::Platform;
use sellout_notifier::runtime::{Directory, Runtime, append_redemption};
use sellout_notifier::{InstallationStore, PostgresStore};
use sellout_push::local::Fault;
use support::{
    MIN, Rig, T0, append_beacon, append_signal, cart, deliveries, engine, installation,
    queue_short, rig, token,
};

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
