use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::*;
use crate::campaign::CampaignsFile;
use crate::campaign::caps::Caps;
use crate::delivery::{REASON_CAP_DAY, REASON_CAP_HOUR, Redemption};
use crate::payload::Platform;
use crate::voucher::verify;

const EXAMPLE: &str = include_str!("../../campaigns.example.toml");
/// 2025-11-24T16:00:00Z, 17:00 in Paris (+01:00).
const T0: i64 = 1_764_000_000_000;
const HOUR: i64 = 3_600_000;

fn keys() -> VoucherKeys {
    VoucherKeys::new(1, &[42u8; 32]).unwrap()
}

fn engine() -> Engine {
    Engine::new(
        CampaignsFile::parse_toml(EXAMPLE).unwrap(),
        keys(),
        EngineConfig::default(),
    )
}

fn recipient(id: &str, platform: Platform, locale: &str, customer: Option<&str>) -> Recipient {
    Recipient {
        installation_id: id.into(),
        platform,
        locale: locale.into(),
        customer_id: customer.map(str::to_owned),
        properties: BTreeMap::new(),
    }
}

fn crowd() -> Vec<Recipient> {
    vec![
        recipient("i-en", Platform::Apns, "en-GB", Some("cust-1")),
        recipient("i-frca", Platform::Fcm, "fr_CA", Some("cust-1")),
        recipient("i-fr", Platform::Apns, "fr-FR", None),
        recipient("i-de", Platform::Fcm, "de-DE", Some("cust-2")),
    ]
}

fn queue_short(id: u64, time_ms: i64) -> Trigger {
    Trigger {
        id,
        kind: TriggerKind::QueueShort,
        time_ms,
        event_id: None,
        venue_id: Some("stade-de-france".into()),
        zone_id: Some("food-court-north".into()),
        category_id: None,
        value: 2.0,
        customer_id: None,
        properties: BTreeMap::new(),
    }
}

fn cart(id: u64, customer: &str, value: f64) -> Trigger {
    Trigger {
        id,
        kind: TriggerKind::CartAbandoned,
        venue_id: None,
        zone_id: None,
        value,
        customer_id: Some(customer.into()),
        ..queue_short(id, T0)
    }
}

fn merch(id: u64, time_ms: i64) -> Trigger {
    Trigger {
        zone_id: Some("merch-east".into()),
        ..queue_short(id, time_ms)
    }
}

fn reasons(plan: &Plan) -> Vec<&str> {
    plan.suppressed
        .iter()
        .filter_map(|r| r.reason.as_deref())
        .collect()
}

#[test]
fn short_queue_plans_localised_vouchers_for_both_platforms() {
    let mut e = engine();
    let people = crowd();
    let plan = e.plan(&queue_short(7, T0), &people, T0 + 1000);
    assert_eq!(plan.notifications.len(), 4);
    assert!(plan.suppressed.is_empty());
    let by_id: BTreeMap<&str, &PlannedNotification> = plan
        .notifications
        .iter()
        .map(|n| (n.record.installation_id.as_str(), n))
        .collect();
    assert_eq!(by_id["i-en"].locale, "en");
    assert_eq!(by_id["i-frca"].locale, "fr-ca");
    assert_eq!(by_id["i-fr"].locale, "fr");
    assert_eq!(by_id["i-de"].locale, "en");
    let en = by_id["i-en"];
    let voucher = en.voucher.as_ref().unwrap();
    assert_eq!(en.message.title, "20% off at burger-north-3");
    // Expiry: trigger + 5 minutes, 17:05 in Paris.
    assert_eq!(voucher.expires_at_ms, T0 + 5 * 60_000);
    assert_eq!(
        en.message.body,
        format!("No queue right now. Show {} before 17:05.", voucher.code)
    );
    assert_eq!(
        verify(&voucher.code, &keys(), T0 + 1000).unwrap().percent,
        20
    );
    assert_eq!(en.record.outcome, Outcome::Planned);
    assert_eq!(
        en.record.voucher_code.as_deref(),
        Some(voucher.code.as_str())
    );
    assert_eq!(
        en.record.notification_id,
        NotificationId::derive("food-short-queue", "i-en", 7)
    );
    match (&en.payload, &by_id["i-frca"].payload) {
        (Payload::Apns(apns), Payload::Fcm(fcm)) => {
            assert_eq!(apns.headers.apns_id, en.record.notification_id.to_string());
            assert_eq!(apns.headers.expiration, (T0 + 300_000) / 1000);
            assert_eq!(
                fcm.message["notification"]["title"],
                "20 % de rabais chez burger-north-3"
            );
            assert_eq!(fcm.message["android"]["ttl"], "299s");
        }
        other => panic!("unexpected payloads {other:?}"),
    }
    // Codes differ per installation.
    let codes: std::collections::BTreeSet<_> = plan
        .notifications
        .iter()
        .filter_map(|n| n.record.voucher_code.clone())
        .collect();
    assert_eq!(codes.len(), 4);
}

#[test]
fn abandoned_cart_reaches_only_the_customers_installations() {
    let mut e = engine();
    let people = crowd();
    let plan = e.plan(&cart(9, "cust-1", 25_000.0), &people, T0);
    let mut ids: Vec<&str> = plan
        .notifications
        .iter()
        .map(|n| n.record.installation_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["i-en", "i-frca"]);
    assert!(plan.notifications[0].message.body.contains("250.00"));
    // Records carry ids only: never the customer.
    for n in &plan.notifications {
        let json = String::from_utf8(n.record.to_json().unwrap()).unwrap();
        assert!(!json.contains("cust-1"), "{json}");
    }
    // Under the threshold: nothing.
    assert!(
        e.plan(&cart(10, "cust-1", 9_000.0), &people, T0)
            .notifications
            .is_empty()
    );
}

#[test]
fn frequency_caps_per_hour_and_day() {
    let mut e = engine();
    let one = vec![recipient("i-en", Platform::Apns, "en", None)];
    // food-short-queue: 1 per hour, 3 per day.
    assert_eq!(e.plan(&queue_short(1, T0), &one, T0).notifications.len(), 1);
    let p = e.plan(&queue_short(2, T0 + 30 * 60_000), &one, T0 + 30 * 60_000);
    assert_eq!(reasons(&p), [REASON_CAP_HOUR]);
    let mut sent = 1;
    let mut t = T0;
    for id in 3..8 {
        t += HOUR + 1;
        let p = e.plan(&queue_short(id, t), &one, t);
        sent += p.notifications.len();
        if sent == 3 && p.notifications.is_empty() {
            assert_eq!(reasons(&p), [REASON_CAP_DAY]);
        }
    }
    assert_eq!(sent, 3);
    // A day after the first send, one slot frees up.
    let next = T0 + 24 * HOUR + 1;
    assert_eq!(
        e.plan(&queue_short(20, next), &one, next)
            .notifications
            .len(),
        1
    );
}

#[test]
fn global_caps_span_campaigns() {
    let config = EngineConfig {
        global_caps: Caps {
            per_hour: Some(1),
            per_day: None,
        },
        ..EngineConfig::default()
    };
    let mut e = Engine::new(CampaignsFile::parse_toml(EXAMPLE).unwrap(), keys(), config);
    let one = vec![recipient("i-en", Platform::Apns, "en", None)];
    assert_eq!(e.plan(&queue_short(1, T0), &one, T0).notifications.len(), 1);
    // Another campaign (merchandise), same installation, same hour: globally capped.
    let p = e.plan(&merch(2, T0 + 60_000), &one, T0 + 60_000);
    assert_eq!(reasons(&p), [REASON_CAP_HOUR]);
    let later = T0 + HOUR + 1;
    assert_eq!(e.plan(&merch(3, later), &one, later).notifications.len(), 1);
}

#[test]
fn quiet_hours_across_midnight_with_offset() {
    let mut e = engine();
    let one = vec![recipient("i-en", Platform::Apns, "en", None)];
    let day = T0 - T0.rem_euclid(24 * HOUR);
    // 22:30Z = 23:30 in Paris (+01:00): quiet; 07:30Z = 08:30 local: not quiet.
    let late = day + 22 * HOUR + 30 * 60_000;
    let p = e.plan(&queue_short(1, late), &one, late);
    assert_eq!(reasons(&p), [REASON_QUIET_HOURS]);
    let early = day + 24 * HOUR + 6 * HOUR + 30 * 60_000; // 07:30 local
    assert_eq!(
        reasons(&e.plan(&queue_short(2, early), &one, early)),
        [REASON_QUIET_HOURS]
    );
    let morning = day + 24 * HOUR + 7 * HOUR + 30 * 60_000; // 08:30 local
    assert_eq!(
        e.plan(&queue_short(3, morning), &one, morning)
            .notifications
            .len(),
        1
    );
}

#[test]
fn replays_never_send_twice_and_restore_rebuilds_state() {
    let mut e = engine();
    let people = crowd();
    let trigger = queue_short(7, T0);
    let first = e.plan(&trigger, &people, T0);
    assert_eq!(first.notifications.len(), 4);
    let again = e.plan(&trigger, &people, T0 + 2000);
    assert!(again.notifications.is_empty());
    assert_eq!(reasons(&again), [REASON_DEDUP; 4]);

    // A new process restored from the records sends nothing for the same trigger...
    let records: Vec<DeliveryRecord> = first.records().cloned().collect();
    let mut restarted = engine();
    restarted.restore(records.iter());
    let replay = restarted.plan(&trigger, &people, T0 + 3000);
    assert!(replay.notifications.is_empty());
    assert_eq!(restarted.stats("food-short-queue").planned, 4);
    // ...and its caps remember the sends: a new trigger within the hour is capped.
    let later = restarted.plan(&queue_short(8, T0 + 10 * 60_000), &people, T0 + 10 * 60_000);
    assert!(later.notifications.is_empty());
    assert!(reasons(&later).iter().all(|r| *r == REASON_CAP_HOUR));
    // Without the records, the same trigger would be sent again (the test is sharp).
    assert_eq!(
        engine()
            .plan(&trigger, &people, T0 + 3000)
            .notifications
            .len(),
        4
    );
}

#[test]
fn memory_is_bounded_and_stale_triggers_are_skipped() {
    let mut e = engine();
    let people = crowd();
    e.plan(&queue_short(7, T0), &people, T0);
    assert_eq!(e.remembered_ids(), 4);
    // Longest validity in the example is 60 minutes, plus a 10-minute margin.
    e.evict(T0 + 71 * 60_000);
    assert_eq!(e.remembered_ids(), 0);
    // The same trigger replayed that late is stale: its offer has expired.
    let p = e.plan(&queue_short(7, T0), &people, T0 + 71 * 60_000);
    assert!(p.notifications.is_empty() && p.suppressed.is_empty());
    assert_eq!(p.stale, 1);
}

#[test]
fn stats_reconcile_through_the_engine() {
    let mut e = engine();
    let people = crowd();
    let plan = e.plan(&queue_short(7, T0), &people, T0);
    e.plan(&queue_short(7, T0), &people, T0 + 1);
    e.plan(&queue_short(8, T0 + 60_000), &people, T0 + 60_000);
    let outcomes = [
        (Outcome::Delivered, None),
        (Outcome::Delivered, None),
        (Outcome::Failed, Some("TooManyRequests")),
        (Outcome::Pruned, Some("Unregistered")),
    ];
    for (n, (outcome, reason)) in plan.notifications.iter().zip(outcomes) {
        e.record_outcome(
            &n.record
                .with_outcome(outcome, reason.map(str::to_owned), 1, T0 + 500),
        );
    }
    let s = e.stats("food-short-queue");
    assert_eq!(
        (
            s.targeted,
            s.planned,
            s.sent,
            s.suppressed_cap,
            s.suppressed_dedup
        ),
        (8, 4, 4, 4, 4)
    );
    assert_eq!((s.delivered, s.failed, s.pruned), (2, 1, 1));
    assert!(s.reconciles());
    assert_eq!(s.targeted, s.sent + s.suppressed);
}

#[path = "engine_offer_tests.rs"]
mod offers;
