//! The device [`Installation`] (Azure Notification Hubs' model): its wire form, its
//! validation rules ([`validate`]) and the JSON Patch subset ([`patch`]).
//!
//! An installation holds a push token, which is personal data: the `Debug` impl redacts
//! it and nothing in this crate logs it.

pub mod patch;
pub mod validate;

use serde::{Deserialize, Serialize};

pub use patch::{PatchOp, apply_patch};
pub use validate::{ValidationError, validate, validate_id};

/// Most tags one installation may carry.
pub const MAX_TAGS: usize = 60;
/// Longest tag, in bytes.
pub const MAX_TAG_LEN: usize = 120;
/// Longest installation id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// The push service an installation is reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging.
    Fcm,
}

impl Platform {
    /// The wire name (`apns` or `fcm`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Apns => "apns",
            Platform::Fcm => "fcm",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "apns" => Some(Platform::Apns),
            "fcm" => Some(Platform::Fcm),
            _ => None,
        }
    }
}

/// One app install on one device, as registered by the app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Installation {
    /// Unique id chosen by the app: ≤ 64 chars of `[A-Za-z0-9_.-]`.
    pub installation_id: String,
    /// The push service.
    pub platform: Platform,
    /// The device token (personal data: never logged).
    pub push_channel: String,
    /// BCP-47 language tag, e.g. `fr-CA`.
    pub locale: String,
    /// Tags for targeting (≤ 60, each ≤ 120 chars of `[A-Za-z0-9_@#.:-]`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The seller's customer id, when the user is signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// When the registration stops being targeted (RFC 3339 on the wire).
    #[serde(
        default,
        rename = "expirationTime",
        with = "rfc3339_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiration_ms: Option<i64>,
}

impl Installation {
    /// Whether the installation is still targeted at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expiration_ms.is_none_or(|e| e > now_ms)
    }
}

impl std::fmt::Debug for Installation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installation")
            .field("installation_id", &self.installation_id)
            .field("platform", &self.platform)
            .field("push_channel", &"<redacted>")
            .field("locale", &self.locale)
            .field("tags", &self.tags)
            .field(
                "customer_id",
                &self.customer_id.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration_ms", &self.expiration_ms)
            .finish()
    }
}

/// Parses an RFC 3339 timestamp into milliseconds since the epoch.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn format_rfc3339_ms(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Serde adapter: `Option<i64>` milliseconds as an RFC 3339 string.
mod rfc3339_ms {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(ms) => s.serialize_str(&super::format_rfc3339_ms(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        match raw {
            None => Ok(None),
            Some(s) => super::parse_rfc3339_ms(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom("expected an RFC 3339 timestamp")),
        }
    }
}
