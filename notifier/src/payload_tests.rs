use super::*;
use crate::campaign::OfferKind;

const NOW: i64 = 1_764_000_000_000;

fn content<'a>(
    message: &'a RenderedMessage,
    voucher: Option<&'a VoucherClaims>,
    offer: Option<&'a Offer>,
    options: &'a PushOptions,
) -> PushContent<'a> {
    PushContent {
        notification_id: NotificationId::derive("food", "inst-1", 1),
        campaign_id: "food",
        installation_id: "inst-1",
        message,
        voucher,
        offer,
        expires_at_ms: NOW + 300_000,
        now_ms: NOW,
        options,
    }
}

fn fixtures() -> (RenderedMessage, VoucherClaims, Offer) {
    let message = RenderedMessage {
        title: "20% off \"now\"".into(),
        body: "Line\nbreak \u{1F354} \\ </script>".into(),
    };
    let voucher = VoucherClaims {
        code: "ABCD-EFGH".into(),
        key_id: 1,
        expires_at_ms: NOW + 300_000,
        kind: OfferKind::Food,
        percent: 20,
        nonce: 1,
    };
    let offer = Offer {
        kind: OfferKind::Food,
        percent: 20,
        stand: Some("stand-7".into()),
    };
    (message, voucher, offer)
}

#[test]
fn apns_body_and_headers() {
    let (message, voucher, offer) = fixtures();
    let options = PushOptions {
        category: Some("VOUCHER".into()),
        mutable_content: true,
        ..PushOptions::default()
    };
    let push = apns(&content(&message, Some(&voucher), Some(&offer), &options)).unwrap();
    let v: Value = serde_json::from_slice(&push.body).unwrap();
    assert_eq!(v["aps"]["alert"]["title"], "20% off \"now\"");
    assert_eq!(v["aps"]["alert"]["body"], message.body.as_str());
    assert_eq!(v["aps"]["sound"], "default");
    assert_eq!(v["aps"]["category"], "VOUCHER");
    assert_eq!(v["aps"]["mutable-content"], 1);
    assert_eq!(v["voucher_code"], "ABCD-EFGH");
    assert_eq!(v["campaign"], "food");
    assert_eq!(v["voucher_expires_ms"], (NOW + 300_000).to_string());
    assert_eq!(push.headers.push_type, "alert");
    assert_eq!(push.headers.priority, 10);
    assert_eq!(push.headers.expiration, (NOW + 300_000) / 1000);
    assert_eq!(push.headers.collapse_id, "food:inst-1");
    assert_eq!(
        push.headers.apns_id,
        NotificationId::derive("food", "inst-1", 1).to_string()
    );
    let quiet = PushOptions {
        time_sensitive: false,
        ..PushOptions::default()
    };
    let push = apns(&content(&message, None, None, &quiet)).unwrap();
    assert_eq!(push.headers.priority, 5);
    let v: Value = serde_json::from_slice(&push.body).unwrap();
    assert!(v.get("voucher_code").is_none());
    assert!(v["aps"].get("mutable-content").is_none());
}

#[test]
fn fcm_message_has_string_data_ttl_and_apns_block() {
    let (message, voucher, offer) = fixtures();
    let options = PushOptions {
        channel_id: Some("offers".into()),
        ..PushOptions::default()
    };
    let push = fcm(&content(&message, Some(&voucher), Some(&offer), &options)).unwrap();
    let m = &push.message;
    assert_eq!(m["notification"]["title"], "20% off \"now\"");
    let data = m["data"].as_object().unwrap();
    assert!(data.len() >= 6);
    assert!(data.values().all(Value::is_string), "{data:?}");
    assert_eq!(data["offer_percent"], "20");
    assert_eq!(m["android"]["priority"], "high");
    assert_eq!(m["android"]["ttl"], "300s");
    assert_eq!(m["android"]["notification"]["channel_id"], "offers");
    assert_eq!(m["apns"]["headers"]["apns-priority"], "10");
    assert_eq!(
        m["apns"]["headers"]["apns-expiration"],
        ((NOW + 300_000) / 1000).to_string()
    );
    assert_eq!(
        m["apns"]["payload"]["aps"]["alert"]["body"],
        message.body.as_str()
    );
    assert!(m.get("token").is_none());
    let body: Value = serde_json::from_slice(&push.body_for_token("tok-123")).unwrap();
    assert_eq!(body["message"]["token"], "tok-123");
    assert_eq!(body["message"]["data"]["voucher_code"], "ABCD-EFGH");
}

#[test]
fn oversized_payloads_are_refused_with_size_and_limit() {
    let message = RenderedMessage {
        title: "t".into(),
        body: "x".repeat(5000),
    };
    let options = PushOptions::default();
    for platform in [Platform::Apns, Platform::Fcm] {
        let err = build(platform, &content(&message, None, None, &options)).unwrap_err();
        let PayloadError::TooLarge { size, limit, .. } = err.clone();
        assert!(size > 5000 && limit == 4096);
        assert!(
            err.to_string().contains("over the 4096-byte limit"),
            "{err}"
        );
    }
    // Escaping counts: 2100 quotes become 4200 bytes.
    let quotes = RenderedMessage {
        title: "t".into(),
        body: "\"".repeat(2100),
    };
    assert!(apns(&content(&quotes, None, None, &options)).is_err());
}

#[test]
fn long_collapse_ids_are_hashed_to_fit() {
    let id = collapse_id(&"c".repeat(40), &"i".repeat(40));
    assert!(id.len() <= MAX_COLLAPSE_ID_BYTES);
    assert_eq!(id, collapse_id(&"c".repeat(40), &"i".repeat(40)));
    assert_ne!(id, collapse_id(&"c".repeat(40), &"j".repeat(40)));
}
