//! Shared rigs for the push tests: a local endpoint, a client pointed at it, and clocks.
#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use sellout_push::local::{self, ApnsServer, ApnsServerConfig, FcmServer, FcmServerConfig};
use sellout_push::{
    ApnsClient, ApnsConfig, ApnsNotification, FcmClient, FcmConfig, FcmNotification, PushType,
};
use sellout_streams::ManualClock;

/// An arbitrary start time (2026-09-21).
pub const T0: i64 = 1_790_000_000_000;
pub const MIN: i64 = 60_000;
pub const KEY_ID: &str = "KEY1234567";
pub const TEAM_ID: &str = "TEAM123456";

pub struct ApnsRig {
    pub server: ApnsServer,
    pub client: ApnsClient,
    pub client_clock: Arc<ManualClock>,
    pub server_clock: Arc<ManualClock>,
    pub key_pem: String,
}

/// A local APNs endpoint and a client using the same key; the clocks are separate.
pub async fn apns_rig(
    server_cfg: ApnsServerConfig,
    tweak: impl FnOnce(&mut ApnsConfig),
) -> ApnsRig {
    let server_clock = Arc::new(ManualClock::new(T0));
    let client_clock = Arc::new(ManualClock::new(T0));
    let server = ApnsServer::start(server_cfg, server_clock.clone())
        .await
        .unwrap();
    let key_pem = local::apns_test_key_pem();
    let public = sellout_push::jwt::Es256Key::from_pem(key_pem.as_bytes())
        .unwrap()
        .public_key();
    server.register_key(KEY_ID, TEAM_ID, public);
    let client = apns_client(&server, &key_pem, client_clock.clone(), tweak);
    ApnsRig {
        server,
        client,
        client_clock,
        server_clock,
        key_pem,
    }
}

pub fn apns_client(
    server: &ApnsServer,
    key_pem: &str,
    clock: Arc<ManualClock>,
    tweak: impl FnOnce(&mut ApnsConfig),
) -> ApnsClient {
    let mut cfg = ApnsConfig::new(
        key_pem.to_owned(),
        KEY_ID.into(),
        TEAM_ID.into(),
        "events.sellout.app".into(),
    );
    cfg.base_url = server.base_url();
    cfg.extra_root_pem = Some(server.cert_pem());
    tweak(&mut cfg);
    ApnsClient::new(cfg, clock).unwrap()
}

/// A well-formed 64-hex-digit device token for device `i`.
pub fn device(i: u32) -> String {
    format!("{:064x}", u128::from(i) * 0x9e37_79b9 + 0xabc)
}

/// A distinct notification id for `i`.
pub fn id(i: u32) -> [u8; 16] {
    let mut id = [0x42u8; 16];
    id[12..].copy_from_slice(&i.to_be_bytes());
    id
}

pub fn note(i: u32) -> ApnsNotification {
    ApnsNotification {
        device_token: device(i),
        apns_id: id(i),
        push_type: PushType::Alert,
        priority: 10,
        expiration: None,
        collapse_id: Some("queue-short".into()),
        payload: Bytes::from_static(
            br#"{"aps":{"alert":{"title":"Merch stand 3","body":"No queue right now"}}}"#,
        ),
    }
}

pub struct FcmRig {
    pub server: FcmServer,
    pub client: FcmClient,
    pub client_clock: Arc<ManualClock>,
    pub server_clock: Arc<ManualClock>,
}

/// A local FCM endpoint trusting the test service account, and a client using it.
pub async fn fcm_rig(server_cfg: FcmServerConfig, tweak: impl FnOnce(&mut FcmConfig)) -> FcmRig {
    let server_clock = Arc::new(ManualClock::new(T0));
    let client_clock = Arc::new(ManualClock::new(T0));
    let server = FcmServer::start(server_cfg, server_clock.clone())
        .await
        .unwrap();
    let sa = local::test_service_account_json(&server.token_uri());
    server.register_service_account(&sa).unwrap();
    let mut cfg = FcmConfig::new(sa);
    cfg.base_url = server.base_url();
    cfg.extra_root_pem = Some(server.cert_pem());
    tweak(&mut cfg);
    let client = FcmClient::new(cfg, client_clock.clone()).unwrap();
    FcmRig {
        server,
        client,
        client_clock,
        server_clock,
    }
}

/// A registration token for device `i`.
pub fn reg_token(i: u32) -> String {
    format!("dev{i}:APA91b-local_{i:08}")
}

pub fn message(i: u32) -> FcmNotification {
    FcmNotification {
        token: reg_token(i),
        notification_id: id(i),
        message: serde_json::json!({
            "notification": { "title": "Merch stand 3", "body": "No queue right now" },
            "data": { "campaign": "merch-queue" },
            "android": { "priority": "high" }
        }),
    }
}
