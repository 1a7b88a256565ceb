//! Platform payloads: a rendered message plus its campaign, voucher and expiry, built
//! into an APNs request (JSON body and header values) or an FCM HTTP v1 `message`.
//!
//! Documents are built with `serde_json`, which does all JSON escaping: templates stay
//! plain text. Both are checked against [`MAX_PAYLOAD_BYTES`] before anything is sent,
//! so an oversized notification fails here with its size, not at the push service.
//! No push token is part of a payload: the sender adds it ([`FcmPush::body_for_token`],
//! the APNs request path), so payloads can be logged and stored safely.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::campaign::Offer;
use crate::delivery::NotificationId;
use crate::template::RenderedMessage;
use crate::voucher::VoucherClaims;

/// Largest payload APNs accepts (and the budget kept for FCM messages), in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// Longest `apns-collapse-id` APNs accepts, in bytes.
pub const MAX_COLLAPSE_ID_BYTES: usize = 64;

/// Which push service reaches an installation (one type for the whole crate).
pub use crate::installation::Platform;

/// Presentation options a campaign sets for its notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushOptions {
    /// Sound name (`default`); none: silent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<String>,
    /// APNs category (action buttons registered by the app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Android notification channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Deliver now (APNs priority 10, FCM high, `time-sensitive`); else priority 5.
    #[serde(default = "yes")]
    pub time_sensitive: bool,
    /// Lets an iOS notification service extension modify the content.
    #[serde(default)]
    pub mutable_content: bool,
}

fn yes() -> bool {
    true
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            sound: Some("default".into()),
            category: None,
            channel_id: None,
            time_sensitive: true,
            mutable_content: false,
        }
    }
}

/// Everything a payload is built from.
#[derive(Debug, Clone, Copy)]
pub struct PushContent<'a> {
    /// The deterministic id (`apns-id`).
    pub notification_id: NotificationId,
    /// The campaign.
    pub campaign_id: &'a str,
    /// The installation (for the collapse id only; never sent as data).
    pub installation_id: &'a str,
    /// Title and body.
    pub message: &'a RenderedMessage,
    /// The voucher, when one.
    pub voucher: Option<&'a VoucherClaims>,
    /// The offer, when one.
    pub offer: Option<&'a Offer>,
    /// When the notification stops being worth delivering, ms since the epoch.
    pub expires_at_ms: i64,
    /// Now, ms since the epoch (for the FCM time to live).
    pub now_ms: i64,
    /// Presentation options.
    pub options: &'a PushOptions,
}

/// Why a payload could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Over the size limit.
    #[error("{platform} payload is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// `apns` or `fcm`.
        platform: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// The APNs request header values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsHeaders {
    /// `apns-push-type`: always `alert` here.
    pub push_type: &'static str,
    /// `apns-priority`: 10 when time-sensitive, else 5.
    pub priority: u8,
    /// `apns-expiration`: UNIX seconds after which APNs stops trying.
    pub expiration: i64,
    /// `apns-collapse-id`: one per campaign and installation (≤ 64 bytes).
    pub collapse_id: String,
    /// `apns-id`: the notification id as a UUID.
    pub apns_id: String,
}

/// An APNs request without its device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsPush {
    /// Header values.
    pub headers: ApnsHeaders,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// An FCM HTTP v1 `message` without its token.
#[derive(Debug, Clone, PartialEq)]
pub struct FcmPush {
    /// The `message` object.
    pub message: Value,
    /// Its serialised size, in bytes.
    pub size: usize,
}

impl FcmPush {
    /// The request body `{"message": {..., "token": token}}` for one device.
    pub fn body_for_token(&self, token: &str) -> Vec<u8> {
        let mut message = self.message.clone();
        if let Value::Object(map) = &mut message {
            map.insert("token".into(), Value::String(token.to_owned()));
        }
        serde_json::to_vec(&json!({ "message": message })).unwrap_or_default()
    }
}

/// A payload for one platform.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// For APNs.
    Apns(ApnsPush),
    /// For FCM.
    Fcm(FcmPush),
}

/// Builds the payload for `platform`.
pub fn build(platform: Platform, content: &PushContent<'_>) -> Result<Payload, PayloadError> {
    match platform {
        Platform::Apns => apns(content).map(Payload::Apns),
        Platform::Fcm => fcm(content).map(Payload::Fcm),
    }
}

/// The collapse id of (campaign, installation): readable when short, hashed otherwise.
pub fn collapse_id(campaign_id: &str, installation_id: &str) -> String {
    let plain = format!("{campaign_id}:{installation_id}");
    if plain.len() <= MAX_COLLAPSE_ID_BYTES {
        return plain;
    }
    let mut h = Sha256::new();
    h.update(campaign_id.as_bytes());
    h.update([0]);
    h.update(installation_id.as_bytes());
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("h:{hex}")
}

fn aps(content: &PushContent<'_>) -> Value {
    let mut aps = Map::new();
    aps.insert(
        "alert".into(),
        json!({ "title": content.message.title, "body": content.message.body }),
    );
    if let Some(sound) = &content.options.sound {
        aps.insert("sound".into(), Value::String(sound.clone()));
    }
    if let Some(category) = &content.options.category {
        aps.insert("category".into(), Value::String(category.clone()));
    }
    if content.options.mutable_content {
        aps.insert("mutable-content".into(), json!(1));
    }
    if content.options.time_sensitive {
        aps.insert("interruption-level".into(), json!("time-sensitive"));
    }
    aps.insert(
        "thread-id".into(),
        Value::String(content.campaign_id.to_owned()),
    );
    Value::Object(aps)
}

/// Custom keys, all strings (FCM `data` accepts nothing else).
fn data(content: &PushContent<'_>) -> Map<String, Value> {
    let mut data = Map::new();
    let mut put = |k: &str, v: String| {
        data.insert(k.to_owned(), Value::String(v));
    };
    put("campaign", content.campaign_id.to_owned());
    put("notification_id", content.notification_id.to_string());
    put("expires_at_ms", content.expires_at_ms.to_string());
    if let Some(voucher) = content.voucher {
        put("voucher_code", voucher.code.clone());
        put("voucher_expires_ms", voucher.expires_at_ms.to_string());
    }
    if let Some(offer) = content.offer {
        put("offer_kind", offer.kind.as_str().to_owned());
        put("offer_percent", offer.percent.to_string());
        if let Some(stand) = &offer.stand {
            put("offer_stand", stand.clone());
        }
    }
    data
}

fn checked(platform: &'static str, bytes: Vec<u8>) -> Result<Vec<u8>, PayloadError> {
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge {
            platform,
            size: bytes.len(),
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    Ok(bytes)
}

fn priority(content: &PushContent<'_>) -> u8 {
    if content.options.time_sensitive {
        10
    } else {
        5
    }
}

/// The APNs body and headers.
pub fn apns(content: &PushContent<'_>) -> Result<ApnsPush, PayloadError> {
    let mut body = data(content);
    body.insert("aps".into(), aps(content));
    let bytes = checked("apns", serde_json::to_vec(&body).unwrap_or_default())?;
    Ok(ApnsPush {
        headers: ApnsHeaders {
            push_type: "alert",
            priority: priority(content),
            expiration: content.expires_at_ms.div_euclid(1000),
            collapse_id: collapse_id(content.campaign_id, content.installation_id),
            apns_id: content.notification_id.to_string(),
        },
        body: bytes,
    })
}

/// The FCM v1 `message` (without `token`).
pub fn fcm(content: &PushContent<'_>) -> Result<FcmPush, PayloadError> {
    let ttl_s = ((content.expires_at_ms - content.now_ms).max(0) + 999) / 1000;
    let mut android_notification = Map::new();
    if let Some(channel) = &content.options.channel_id {
        android_notification.insert("channel_id".into(), Value::String(channel.clone()));
    }
    if let Some(sound) = &content.options.sound {
        android_notification.insert("sound".into(), Value::String(sound.clone()));
    }
    let message = json!({
        "notification": { "title": content.message.title, "body": content.message.body },
        "data": Value::Object(data(content)),
        "android": {
            "priority": if content.options.time_sensitive { "high" } else { "normal" },
            "ttl": format!("{ttl_s}s"),
            "collapse_key": collapse_id(content.campaign_id, content.installation_id),
            "notification": Value::Object(android_notification),
        },
        "apns": {
            "headers": {
                "apns-priority": priority(content).to_string(),
                "apns-expiration": content.expires_at_ms.div_euclid(1000).to_string(),
                "apns-collapse-id": collapse_id(content.campaign_id, content.installation_id),
            },
            "payload": { "aps": aps(content) },
        },
    });
    let bytes = checked("fcm", serde_json::to_vec(&message).unwrap_or_default())?;
    Ok(FcmPush {
        message,
        size: bytes.len(),
    })
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
