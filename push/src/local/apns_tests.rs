//! The local APNs endpoint's checks, request by request, as Apple answers them.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use sellout_streams::ManualClock;

use super::{State, handle};
use crate::jwt::{Es256Key, b64url};

const T0: i64 = 1_790_000_000_000;
const TOKEN: &str = "00aa11bb22cc33dd44ee55ff66007711882299aa33bb44cc55dd66ee77ff8800";

fn signed(key: &Es256Key, kid: &str, iss: &str, iat_ms: i64) -> String {
    let header = b64url(format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#).as_bytes());
    let claims = b64url(format!(r#"{{"iss":"{iss}","iat":{}}}"#, iat_ms / 1000).as_bytes());
    key.sign(&format!("{header}.{claims}")).unwrap()
}

/// Request headers as (name, value) pairs.
type Headers = Vec<(&'static str, String)>;

struct Rig {
    state: State,
    clock: Arc<ManualClock>,
    key: Es256Key,
}

fn rig() -> Rig {
    let clock = Arc::new(ManualClock::new(T0));
    let state = State::new(clock.clone(), true);
    let key = Es256Key::from_pem(crate::local::apns_test_key_pem().as_bytes()).unwrap();
    state
        .keys
        .lock()
        .unwrap()
        .insert("KID".into(), ("TEAM".into(), key.public_key()));
    Rig { state, clock, key }
}

fn request(path: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut b = http::Request::builder().method("POST").uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(()).unwrap().into_parts().0
}

async fn call(
    r: &Rig,
    headers: &[(&str, String)],
    path: &str,
    body: impl Into<Bytes>,
) -> (u16, String) {
    let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = handle(&r.state, request(path, &hs), body.into()).await;
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let reason = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["reason"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (status, reason)
}

fn good(r: &Rig) -> Vec<(&'static str, String)> {
    vec![
        (
            "authorization",
            format!("bearer {}", signed(&r.key, "KID", "TEAM", T0)),
        ),
        ("apns-topic", "app.sellout".into()),
        ("apns-push-type", "alert".into()),
        ("apns-priority", "10".into()),
        ("apns-id", "123e4567-e89b-12d3-a456-426614174000".into()),
    ]
}

fn with(
    mut h: Vec<(&'static str, String)>,
    name: &'static str,
    value: Option<&str>,
) -> Vec<(&'static str, String)> {
    h.retain(|(k, _)| *k != name);
    if let Some(v) = value {
        h.push((name, v.to_owned()));
    }
    h
}

#[tokio::test]
async fn answers_each_check_with_apples_status_and_reason() {
    let r = rig();
    let path = format!("/3/device/{TOKEN}");
    let body: &'static [u8] = br#"{"aps":{"alert":"hi"}}"#;
    let cases: Vec<(Headers, &str, (u16, &str))> = vec![
        (
            with(good(&r), "authorization", None),
            &path,
            (403, "MissingProviderToken"),
        ),
        (
            with(good(&r), "apns-topic", None),
            &path,
            (400, "MissingTopic"),
        ),
        (
            with(good(&r), "apns-push-type", Some("loud")),
            &path,
            (400, "InvalidPushType"),
        ),
        (
            with(good(&r), "apns-priority", Some("3")),
            &path,
            (400, "BadPriority"),
        ),
        (
            with(good(&r), "apns-id", Some("not-a-uuid")),
            &path,
            (400, "BadMessageId"),
        ),
        (
            with(good(&r), "apns-collapse-id", Some(&"c".repeat(65))),
            &path,
            (400, "BadCollapseId"),
        ),
        (
            with(good(&r), "apns-expiration", Some("soon")),
            &path,
            (400, "BadExpirationDate"),
        ),
        (good(&r), "/3/device/xyz", (400, "BadDeviceToken")),
        (good(&r), "/4/other", (404, "BadPath")),
        (
            with(
                good(&r),
                "authorization",
                Some(&format!("bearer {}", signed(&r.key, "KID", "OTHER", T0))),
            ),
            &path,
            (403, "InvalidProviderToken"),
        ),
        (
            with(
                good(&r),
                "authorization",
                Some(&format!("bearer {}", signed(&r.key, "NOPE", "TEAM", T0))),
            ),
            &path,
            (403, "InvalidProviderToken"),
        ),
    ];
    for (headers, path, want) in cases {
        let got = call(&r, &headers, path, body).await;
        assert_eq!((got.0, got.1.as_str()), want, "{headers:?}");
    }
    assert_eq!(
        call(&r, &good(&r), &path, Bytes::new()).await,
        (400, "PayloadEmpty".into())
    );
    assert_eq!(
        call(&r, &good(&r), &path, vec![b' '; 4097]).await,
        (413, "PayloadTooLarge".into())
    );
    assert_eq!(call(&r, &good(&r), &path, body).await, (200, String::new()));
    assert_eq!(r.state.log.total(), 1);
}

#[tokio::test]
async fn provider_tokens_expire_after_an_hour_and_renew_no_faster_than_20_minutes() {
    let r = rig();
    let path = format!("/3/device/{TOKEN}");
    let body: &'static [u8] = b"{}";
    assert_eq!(call(&r, &good(&r), &path, body).await.0, 200);
    let renewed = |iat| {
        with(
            good(&r),
            "authorization",
            Some(&format!("bearer {}", signed(&r.key, "KID", "TEAM", iat))),
        )
    };

    r.clock.advance(10 * 60_000);
    let early = renewed(T0 + 10 * 60_000);
    assert_eq!(
        call(&r, &early, &path, body).await,
        (429, "TooManyProviderTokenUpdates".into())
    );
    // The older token still works while it is current.
    assert_eq!(call(&r, &good(&r), &path, body).await.0, 200);

    r.clock.advance(51 * 60_000);
    assert_eq!(
        call(&r, &good(&r), &path, body).await,
        (403, "ExpiredProviderToken".into())
    );
    let fresh = renewed(T0 + 61 * 60_000);
    assert_eq!(call(&r, &fresh, &path, body).await.0, 200);
}
