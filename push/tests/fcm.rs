//! FCM HTTP v1 sender against the local endpoint: OAuth token caching, outcomes,
//! retries, duplicate detection.

mod common;

use std::time::Duration;

use common::*;
use sellout_push::delivery::uuid_string;
use sellout_push::local::{self, Fault, FcmServerConfig};
use sellout_push::{FcmClient, FcmConfig, Outcome};
use tokio::task::JoinSet;

async fn send_many(client: &FcmClient, range: std::ops::Range<u32>) -> Vec<sellout_push::Delivery> {
    let mut set = JoinSet::new();
    for i in range {
        let c = client.clone();
        set.spawn(async move { c.send(&message(i)).await });
    }
    let mut out = Vec::new();
    while let Some(d) = set.join_next().await {
        out.push(d.unwrap());
    }
    out
}

#[tokio::test]
async fn delivers_with_token_and_notification_id_inserted() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    let d = rig.client.send(&message(1)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status, d.reason),
        (Outcome::Delivered, 1, Some(200), None)
    );
    let acc = rig.server.accepted();
    assert_eq!(acc.len(), 1);
    assert_eq!(acc[0].id, uuid_string(&id(1)));
    assert_eq!(acc[0].token, reg_token(1));
    assert_eq!(rig.server.tokens_granted(), 1);
}

#[tokio::test]
async fn access_token_is_cached_until_shortly_before_expiry() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    let ds = send_many(&rig.client, 0..200).await;
    assert!(ds.iter().all(|d| d.outcome == Outcome::Delivered));
    assert_eq!(rig.server.tokens_granted(), 1);

    for c in [&rig.client_clock, &rig.server_clock] {
        c.advance(50 * MIN);
    }
    assert_eq!(
        rig.client.send(&message(300)).await.outcome,
        Outcome::Delivered
    );
    assert_eq!(rig.server.tokens_granted(), 1, "refreshed too early");

    for c in [&rig.client_clock, &rig.server_clock] {
        c.advance(6 * MIN);
    }
    let ds = send_many(&rig.client, 400..450).await;
    assert!(
        ds.iter()
            .all(|d| d.outcome == Outcome::Delivered && d.attempts == 1)
    );
    assert_eq!(rig.server.tokens_granted(), 2);
}

#[tokio::test]
async fn rejected_bearer_is_renewed_once() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    assert_eq!(
        rig.client.send(&message(1)).await.outcome,
        Outcome::Delivered
    );
    // By the server's clock the token has expired; the client thinks it has 25 minutes left.
    rig.client_clock.advance(30 * MIN);
    rig.server_clock.advance(61 * MIN);
    let d = rig.client.send(&message(2)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 2), "{d:?}");
    assert_eq!(rig.server.tokens_granted(), 2);
}

#[tokio::test]
async fn dead_tokens_are_pruned_and_other_errors_fail_with_googles_code() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    rig.server.inject(&reg_token(1), Fault::Unregistered);
    rig.server.inject(&reg_token(2), Fault::BadToken);
    rig.server.inject(
        &reg_token(3),
        Fault::Reject {
            status: 403,
            reason: "SENDER_ID_MISMATCH".into(),
        },
    );

    let d = rig.client.send(&message(1)).await;
    assert_eq!(
        (d.outcome, d.status, d.reason.as_deref()),
        (Outcome::Pruned, Some(404), Some("UNREGISTERED"))
    );
    let d = rig.client.send(&message(2)).await;
    assert_eq!(
        (d.outcome, d.status, d.reason.as_deref()),
        (Outcome::Pruned, Some(400), Some("INVALID_ARGUMENT"))
    );
    let d = rig.client.send(&message(3)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.reason.as_deref()),
        (Outcome::Failed, 1, Some("SENDER_ID_MISMATCH"))
    );

    // An invalid message (data values must be strings) is not the token's fault: no prune.
    let mut bad = message(4);
    bad.message["data"]["count"] = serde_json::json!(3);
    let d = rig.client.send(&bad).await;
    assert_eq!(
        (d.outcome, d.status, d.reason.as_deref()),
        (Outcome::Failed, Some(400), Some("INVALID_ARGUMENT"))
    );

    let mut not_object = message(5);
    not_object.message = serde_json::json!([1, 2]);
    let d = rig.client.send(&not_object).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Failed, 0));
    assert_eq!(rig.server.delivered(), 0);
}

#[tokio::test(start_paused = true)]
async fn quota_and_unavailable_are_retried_then_delivered_once() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    rig.server.inject(
        &reg_token(1),
        Fault::RateLimited {
            times: 1,
            retry_after_s: 5,
        },
    );
    rig.server.inject(
        &reg_token(2),
        Fault::ServerErrors {
            times: 3,
            status: 503,
        },
    );
    rig.server.inject(
        &reg_token(3),
        Fault::ServerErrors {
            times: 99,
            status: 503,
        },
    );

    let start = tokio::time::Instant::now();
    let d = rig.client.send(&message(1)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 2), "{d:?}");
    assert!(start.elapsed() >= Duration::from_secs(5));
    let d = rig.client.send(&message(2)).await;
    assert_eq!((d.outcome, d.attempts), (Outcome::Delivered, 4), "{d:?}");
    let d = rig.client.send(&message(3)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status, d.reason.as_deref()),
        (Outcome::Failed, 5, Some(503), Some("UNAVAILABLE"))
    );
    assert_eq!(rig.server.delivered(), 2);
    assert_eq!(rig.server.duplicates(), 0);
}

#[tokio::test]
async fn resending_the_same_notification_id_is_seen_as_a_duplicate() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    rig.client.send(&message(1)).await;
    rig.client.send(&message(1)).await;
    assert_eq!((rig.server.delivered(), rig.server.duplicates()), (2, 1));
}

#[tokio::test]
async fn an_unknown_service_account_fails_with_the_oauth_error() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    let sa: serde_json::Value =
        serde_json::from_str(&local::test_service_account_json(&rig.server.token_uri())).unwrap();
    let mut other = sa.clone();
    other["client_email"] = "stranger@elsewhere.iam.gserviceaccount.com".into();
    let mut cfg = FcmConfig::new(other.to_string());
    cfg.base_url = rig.server.base_url();
    cfg.extra_root_pem = Some(rig.server.cert_pem());
    let client = FcmClient::new(cfg, rig.client_clock.clone()).unwrap();
    let d = client.send(&message(1)).await;
    assert_eq!(
        (d.outcome, d.attempts, d.status),
        (Outcome::Failed, 1, Some(400))
    );
    assert_eq!(d.reason.as_deref(), Some("token endpoint: invalid_grant"));
}

#[tokio::test]
async fn service_account_errors_never_echo_the_key() {
    let err = FcmClient::new(
        FcmConfig::new(r#"{"type":"service_account","private_key":"SECRET"}"#.into()),
        std::sync::Arc::new(sellout_streams::ManualClock::new(T0)),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("SECRET"), "{err}");
    let cfg = FcmConfig::new(local::test_service_account_json(
        "https://127.0.0.1:1/token",
    ));
    assert!(!format!("{cfg:?}").contains("PRIVATE KEY"));
}

#[tokio::test]
async fn many_sends_share_one_connection() {
    let rig = fcm_rig(FcmServerConfig::default(), |c| c.max_concurrent = 100).await;
    rig.server
        .inject_all(Some(Fault::Delay(Duration::from_millis(10))));
    let ds = send_many(&rig.client, 0..500).await;
    assert!(ds.iter().all(|d| d.outcome == Outcome::Delivered));
    assert_eq!(rig.server.delivered(), 500);
    assert_eq!(rig.server.duplicates(), 0);
    // One connection to the token endpoint and one for the sends (two pools, same server).
    assert_eq!(rig.server.stats().connections(), 2);
    assert!(rig.server.stats().max_in_flight() > 1);
    assert_eq!(rig.server.tokens_granted(), 1);
}

#[tokio::test]
async fn bulk_send_keeps_input_order() {
    let rig = fcm_rig(FcmServerConfig::default(), |_| {}).await;
    rig.server.inject(&reg_token(7), Fault::Unregistered);
    let messages = std::sync::Arc::new((0..300).map(message).collect::<Vec<_>>());
    let ds = sellout_push::bulk::send_all_fcm(&rig.client, messages, 32).await;
    assert_eq!(ds.len(), 300);
    for (i, d) in ds.iter().enumerate() {
        let want = if i == 7 {
            Outcome::Pruned
        } else {
            Outcome::Delivered
        };
        assert_eq!(d.outcome, want, "message {i}");
    }
    assert_eq!(rig.server.delivered(), 299);
}
