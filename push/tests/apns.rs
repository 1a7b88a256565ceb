//! APNs sender against the local endpoint: outcomes, token reuse, retries, GOAWAY,
//! multiplexing, payload limits.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use sellout_push::delivery::uuid_string;
use sellout_push::local::{ApnsServerConfig, Fault};
use sellout_push::{ApnsConfig, Outcome, PushError};
use tokio::task::JoinSet;

async fn send_many(
    client: &sellout_push::ApnsClient,
    range: std::ops::Range<u32>,
) -> Vec<sellout_push::Delivery> {
    let mut set = JoinSet::new();
    for i in range {
        let c = client.clone();
        set.spawn(async move { c.send(&note(i)).await });
    }
    let mut out = Vec::new();
    while let Some(d) = set.join_next().await {
        out.push(d.unwrap());
    }
    out
}

#[tokio::test]
async fn delivers_with_apple_headers_and_records_the_callers_id() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    let d = rig.client.send(&note(1)).await;
    assert_eq!(d.outcome, Outcome::Delivered, "{d:?}");
    assert_eq!((d.attempts, d.status, d.reason), (1, Some(200), None));
    let acc = rig.server.accepted();
    assert_eq!(acc.len(), 1);
    assert_eq!(acc[0].id, uuid_string(&id(1)));
    assert_eq!(acc[0].token, device(1));
    assert_eq!(acc[0].payload_len, note(1).payload.len());
}

#[tokio::test]
async fn provider_token_is_shared_and_renewed_only_after_the_configured_age() {
    let rig = apns_rig(ApnsServerConfig::default(), |c| {
        c.token_max_age_ms = 40 * MIN
    })
    .await;
    let ds = send_many(&rig.client, 0..200).await;
    assert!(ds.iter().all(|d| d.outcome == Outcome::Delivered));
    assert_eq!(rig.server.distinct_provider_tokens(), 1);

    for clock in [&rig.client_clock, &rig.server_clock] {
        clock.advance(39 * MIN);
    }
    let ds = send_many(&rig.client, 200..300).await;
    assert!(ds.iter().all(|d| d.outcome == Outcome::Delivered));
    assert_eq!(
        rig.server.distinct_provider_tokens(),
        1,
        "renewed too early"
    );

    for clock in [&rig.client_clock, &rig.server_clock] {
        clock.advance(2 * MIN);
    }
    let ds = send_many(&rig.client, 300..400).await;
    assert!(
        ds.iter()
            .all(|d| d.outcome == Outcome::Delivered && d.attempts == 1),
        "{ds:?}"
    );
    assert_eq!(rig.server.distinct_provider_tokens(), 2);
    assert_eq!(rig.server.delivered(), 400);
}

#[tokio::test]
async fn token_age_outside_20_to_60_minutes_is_refused() {
    let server = sellout_push::local::ApnsServer::start(
        ApnsServerConfig::default(),
        std::sync::Arc::new(sellout_streams::ManualClock::new(T0)),
    )
    .await
    .unwrap();
    for age in [5 * MIN, 61 * MIN] {
        let mut cfg = ApnsConfig::new(
            sellout_push::local::apns_test_key_pem(),
            KEY_ID.into(),
            TEAM_ID.into(),
            "t".into(),
        );
        cfg.base_url = server.base_url();
        cfg.token_max_age_ms = age;
        let err = sellout_push::ApnsClient::new(
            cfg,
            std::sync::Arc::new(sellout_streams::ManualClock::new(T0)),
        )
        .unwrap_err();
        assert!(matches!(err, PushError::Config(_)), "{err}");
    }
}

#[tokio::test]
async fn dead_tokens_are_pruned_and_other_rejections_fail_with_apples_reason() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    rig.server.inject(&device(1), Fault::Unregistered);
    rig.server.inject(&device(2), Fault::BadToken);
    rig.server.inject(
        &device(3),
        Fault::Reject {
            status: 400,
            reason: "DeviceTokenNotForTopic".into(),
        },
    );
    rig.server.inject(
        &device(4),
        Fault::Reject {
            status: 400,
            reason: "TopicDisallowed".into(),
        },
    );

    let d = rig.client.send(&note(1)).await;
    assert_eq!(
        (d.outcome, d.status, d.reason.as_deref()),
        (Outcome::Pruned, Some(410), Some("Unregistered"))
    );
    let d = rig.client.send(&note(2)).await;
    assert_eq!(
        (d.outcome, d.status, d.reason.as_deref()),
        (Outcome::Pruned, Some(400), Some("BadDeviceToken"))
    );
    let d = rig.client.send(&note(3)).await;
    assert_eq!(d.outcome, Outcome::Pruned);
    let d = rig.client.send(&note(4)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.reason.as_deref()),
        (Outcome::Failed, 1, Some("TopicDisallowed"))
    );

    let mut bad = note(5);
    bad.priority = 7;
    let d = rig.client.send(&bad).await;
    assert_eq!(
        (d.outcome, d.status, d.reason.as_deref()),
        (Outcome::Failed, Some(400), Some("BadPriority"))
    );

    let mut malformed = note(6);
    malformed.device_token = "not-hex/../../x".into();
    let d = rig.client.send(&malformed).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Pruned, 0));

    let mut long = note(7);
    long.collapse_id = Some("c".repeat(65));
    let d = rig.client.send(&long).await;
    assert_eq!(
        (d.outcome, d.attempts, d.reason.as_deref()),
        (Outcome::Failed, 0, Some("BadCollapseId"))
    );
    assert_eq!(rig.server.delivered(), 0);
}

#[tokio::test(start_paused = true)]
async fn rate_limits_and_5xx_storms_are_retried_with_backoff_then_delivered_once() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    rig.server.inject(
        &device(1),
        Fault::RateLimited {
            times: 2,
            retry_after_s: 7,
        },
    );
    rig.server.inject(
        &device(2),
        Fault::ServerErrors {
            times: 3,
            status: 503,
        },
    );
    rig.server.inject(
        &device(3),
        Fault::ServerErrors {
            times: 100,
            status: 500,
        },
    );

    let start = tokio::time::Instant::now();
    let d = rig.client.send(&note(1)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 3), "{d:?}");
    assert!(
        start.elapsed() >= Duration::from_secs(14),
        "Retry-After ignored: {:?}",
        start.elapsed()
    );

    let d = rig.client.send(&note(2)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 4), "{d:?}");

    let d = rig.client.send(&note(3)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status, d.reason.as_deref()),
        (Outcome::Failed, 5, Some(500), Some("InternalServerError"))
    );
    assert_eq!(rig.server.delivered(), 2);
    assert_eq!(rig.server.duplicates(), 0);
}

#[tokio::test]
async fn goaway_mid_batch_reconnects_and_loses_or_duplicates_nothing() {
    let cfg = ApnsServerConfig {
        goaway_after_streams: Some(150),
        ..ApnsServerConfig::default()
    };
    let rig = apns_rig(cfg, |c| c.max_concurrent = 40).await;
    let ds = send_many(&rig.client, 0..1000).await;
    let failed: Vec<_> = ds
        .iter()
        .filter(|d| d.outcome != Outcome::Delivered)
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(rig.server.delivered(), 1000);
    assert_eq!(rig.server.duplicates(), 0);
    let ids: HashSet<_> = rig.server.accepted().into_iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), 1000);
    assert!(rig.server.stats().goaways() >= 1);
    assert!(rig.client.connections_opened() >= 2, "never reconnected");
}

#[tokio::test]
async fn a_thousand_sends_are_multiplexed_over_one_connection() {
    let rig = apns_rig(ApnsServerConfig::default(), |c| c.max_concurrent = 200).await;
    rig.server
        .inject_all(Some(Fault::Delay(Duration::from_millis(20))));
    let ds = send_many(&rig.client, 0..1000).await;
    assert!(ds.iter().all(|d| d.outcome == Outcome::Delivered));
    assert_eq!(rig.server.stats().connections(), 1);
    assert_eq!(rig.client.connections_opened(), 1);
    let max = rig.server.stats().max_in_flight();
    assert!(max > 1 && max <= 200, "max concurrent streams {max}");
}

#[tokio::test]
async fn expired_provider_token_is_renewed_once_and_the_send_retried() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    assert_eq!(rig.client.send(&note(1)).await.outcome, Outcome::Delivered);
    // The client's clock lags: by its count the token is 30 minutes old, by Apple's 61.
    rig.client_clock.advance(30 * MIN);
    rig.server_clock.advance(61 * MIN);
    let d = rig.client.send(&note(2)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 2), "{d:?}");
    assert_eq!(rig.server.distinct_provider_tokens(), 2);
}

#[tokio::test]
async fn invalid_provider_token_is_renewed_once_then_fails() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    let other = sellout_push::local::apns_test_key_pem();
    let public = sellout_push::jwt::Es256Key::from_pem(other.as_bytes())
        .unwrap()
        .public_key();
    rig.server.register_key(KEY_ID, TEAM_ID, public);
    let d = rig.client.send(&note(1)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status, d.reason.as_deref()),
        (Outcome::Failed, 2, Some(403), Some("InvalidProviderToken"))
    );
}

#[tokio::test(start_paused = true)]
async fn renewing_more_often_than_every_20_minutes_is_refused_by_the_endpoint() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    assert_eq!(rig.client.send(&note(1)).await.outcome, Outcome::Delivered);
    // A second provider process with the same key, five minutes ahead, signs a newer token.
    let clock = std::sync::Arc::new(sellout_streams::ManualClock::new(T0 + 5 * MIN));
    let second = apns_client(&rig.server, &rig.key_pem, clock, |_| {});
    let d = second.send(&note(2)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status, d.reason.as_deref()),
        (
            Outcome::Failed,
            5,
            Some(429),
            Some("TooManyProviderTokenUpdates")
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_restarted_process_reuses_its_stored_token_instead_of_renewing_too_soon() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apns-provider-token.json");
    let with_file = |cfg: &mut ApnsConfig| cfg.token_file = Some(file.clone());
    let rig = apns_rig(ApnsServerConfig::default(), with_file).await;
    assert_eq!(rig.client.send(&note(1)).await.outcome, Outcome::Delivered);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(
        stored.contains(KEY_ID) && stored.contains("eyJ"),
        "the token is kept"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner only");
    }
    // The process dies; its successor starts five minutes later with the same file.
    drop(rig.client);
    rig.server_clock.set(T0 + 5 * MIN);
    let clock = std::sync::Arc::new(sellout_streams::ManualClock::new(T0 + 5 * MIN));
    let second = apns_client(&rig.server, &rig.key_pem, clock.clone(), with_file);
    let d = second.send(&note(2)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 1), "{d:?}");
    assert_eq!(rig.server.distinct_provider_tokens(), 1, "no renewal");
    // Once the stored token is past its age the successor renews, as the first would.
    clock.set(T0 + 41 * MIN);
    rig.server_clock.set(T0 + 41 * MIN);
    assert_eq!(second.send(&note(3)).await.outcome, Outcome::Delivered);
    assert_eq!(rig.server.distinct_provider_tokens(), 2);
    // A file for another key is ignored rather than sent.
    let other = std::sync::Arc::new(sellout_streams::ManualClock::new(T0 + 42 * MIN));
    let third = apns_client(&rig.server, &rig.key_pem, other, |cfg| {
        cfg.token_file = Some(file.clone());
        cfg.key_id = "OTHERKEY99".into();
    });
    let d = third.send(&note(4)).await;
    assert_ne!(
        d.outcome,
        Outcome::Delivered,
        "the endpoint knows no key OTHERKEY99"
    );
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("OTHERKEY99")
    );
}

#[tokio::test]
async fn oversized_payloads_are_refused_before_sending_and_by_the_endpoint() {
    let rig = apns_rig(ApnsServerConfig::default(), |_| {}).await;
    let mut big = note(1);
    big.payload = Bytes::from(format!(r#"{{"aps":{{"alert":"{}"}}}}"#, "x".repeat(5000)));
    let d = rig.client.send(&big).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status),
        (Outcome::Failed, 0, None)
    );
    assert!(
        d.reason
            .as_deref()
            .unwrap_or("")
            .starts_with("PayloadTooLarge"),
        "{d:?}"
    );

    let lax = apns_client(&rig.server, &rig.key_pem, rig.client_clock.clone(), |c| {
        c.max_payload_bytes = 8192
    });
    let d = lax.send(&big).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status, d.reason.as_deref()),
        (Outcome::Failed, 1, Some(413), Some("PayloadTooLarge"))
    );
    assert_eq!(rig.server.delivered(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_of_one_client_against_the_local_endpoint() {
    let n: u32 = std::env::var("PUSH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let cfg = ApnsServerConfig {
        keep_records: false,
        ..ApnsServerConfig::default()
    };
    let conns: usize = std::env::var("PUSH_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rig = apns_rig(cfg, |c| {
        c.max_concurrent = 500;
        c.connections = conns;
    })
    .await;
    let notes = std::sync::Arc::new((0..n).map(note).collect::<Vec<_>>());
    let started = std::time::Instant::now();
    let ds = sellout_push::bulk::send_all_apns(&rig.client, notes, 500).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(ds.len(), n as usize);
    assert!(ds.iter().all(|d| d.outcome == Outcome::Delivered));
    assert_eq!(rig.server.delivered(), u64::from(n));
    assert_eq!(rig.server.duplicates(), 0);
    eprintln!(
        "APNs throughput ({conns} connections): {n} sends in {secs:.2} s = {:.0}/s",
        f64::from(n) / secs
    );
}
