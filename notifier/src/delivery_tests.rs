use super::*;

fn record(outcome: Outcome, reason: Option<&str>, n: u8) -> DeliveryRecord {
    DeliveryRecord {
        notification_id: NotificationId::derive("c", &format!("i{n}"), 1),
        campaign_id: "c".into(),
        installation_id: format!("i{n}"),
        platform: Platform::Apns,
        trigger_id: 1,
        event_id: None,
        venue_id: Some("v".into()),
        zone_id: None,
        offer: None,
        voucher_code: None,
        voucher_expires_ms: None,
        outcome,
        reason: reason.map(str::to_owned),
        attempts: 0,
        time_ms: 5,
    }
}

#[test]
fn notification_ids_are_deterministic_uuids() {
    let a = NotificationId::derive("camp", "inst", 7);
    assert_eq!(a, NotificationId::derive("camp", "inst", 7));
    assert_ne!(a, NotificationId::derive("camp", "inst", 8));
    assert_ne!(
        NotificationId::derive("ab", "c", 1),
        NotificationId::derive("a", "bc", 1)
    );
    let s = a.to_string();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "8");
    assert_eq!(NotificationId::parse(&s), Some(a));
}

#[test]
fn records_round_trip_through_json_without_tokens() {
    let r = record(Outcome::Failed, Some("BadDeviceToken"), 1);
    let json = String::from_utf8(r.to_json().unwrap()).unwrap();
    assert!(json.contains("\"outcome\":\"failed\""));
    assert!(!json.contains("token\""));
    assert_eq!(DeliveryRecord::from_json(json.as_bytes()).unwrap(), r);
}

#[test]
fn stats_reconcile() {
    let mut book = StatsBook::default();
    for n in 0..5 {
        book.observe(&record(Outcome::Planned, None, n));
    }
    book.observe(&record(Outcome::Suppressed, Some(REASON_QUIET_HOURS), 5));
    book.observe(&record(Outcome::Suppressed, Some(REASON_CAP_HOUR), 6));
    book.observe(&record(Outcome::Suppressed, Some(REASON_DEDUP), 0));
    let s = book.get("c");
    assert!(s.reconciles());
    assert_eq!((s.targeted, s.pending()), (7, 5));
    book.observe(&record(Outcome::Delivered, None, 0));
    book.observe(&record(Outcome::Delivered, None, 1));
    book.observe(&record(Outcome::Failed, Some("TooManyRequests"), 2));
    book.observe(&record(Outcome::Failed, Some("InternalServerError"), 3));
    book.observe(&record(Outcome::Pruned, Some("Unregistered"), 4));
    book.observe(&record(Outcome::Redeemed, Some("stand-1"), 0));
    let s = book.get("c");
    assert!(s.reconciles());
    assert_eq!(s.targeted, s.sent + s.suppressed);
    assert_eq!((s.sent, s.delivered, s.failed, s.pruned), (5, 2, 2, 1));
    assert_eq!(
        (
            s.suppressed_cap,
            s.suppressed_quiet_hours,
            s.suppressed_dedup
        ),
        (1, 1, 1)
    );
    assert_eq!(s.failed_by_reason.get("TooManyRequests"), Some(&1));
    assert_eq!(s.redeemed, 1);
    assert_eq!(book.get("other"), CampaignStats::default());
}
