//! APNs configuration and notification types: what the caller fills in.

use bytes::Bytes;

use crate::delivery::{RetryPolicy, uuid_string};

/// Apple's production endpoint.
pub const APNS_PRODUCTION: &str = "https://api.push.apple.com";
/// Apple's largest payload for ordinary pushes, in bytes.
pub const APNS_MAX_PAYLOAD: usize = 4096;

pub(crate) const MIN_TOKEN_AGE_MS: i64 = 20 * 60 * 1000;
pub(crate) const MAX_TOKEN_AGE_MS: i64 = 60 * 60 * 1000;

/// How to reach APNs and authenticate.
#[derive(Clone)]
pub struct ApnsConfig {
    /// Base URL, `https://host[:port]` (default [`APNS_PRODUCTION`]).
    pub base_url: String,
    /// An extra trusted root certificate (PEM), for a local endpoint.
    pub extra_root_pem: Option<Vec<u8>>,
    /// The `.p8` signing key (PEM PKCS#8, P-256). Secret: never logged.
    pub key_pkcs8_pem: String,
    /// The key's id (`kid`).
    pub key_id: String,
    /// The team id (`iss`).
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// Renew the provider token when older than this (20–60 minutes; default 40).
    pub token_max_age_ms: i64,
    /// Most requests in flight at once, over all connections.
    pub max_concurrent: usize,
    /// HTTP/2 connections opened to APNs (each multiplexes many streams).
    pub connections: usize,
    /// Connect and per-request timeout, in milliseconds.
    pub request_timeout_ms: u64,
    /// Client-side payload limit (4096; VoIP pushes may use 5120).
    pub max_payload_bytes: usize,
    /// Retries for 429, 5xx and connection errors.
    pub retry: RetryPolicy,
    /// A file that keeps the provider token across restarts (mode 0600). Apple refuses
    /// a key's token renewed more often than every 20 minutes, so a process restarted
    /// (or crashed) within that time must reuse the token it had; `None`: kept in
    /// memory only.
    pub token_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("base_url", &self.base_url)
            .field(
                "extra_root_pem",
                &self.extra_root_pem.as_ref().map(|_| "<pem>"),
            )
            .field("key_pkcs8_pem", &"<redacted>")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("token_max_age_ms", &self.token_max_age_ms)
            .field("max_concurrent", &self.max_concurrent)
            .field("connections", &self.connections)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("retry", &self.retry)
            .field("token_file", &self.token_file)
            .finish()
    }
}

impl ApnsConfig {
    /// Production defaults for the given key, key id, team and topic.
    pub fn new(key_pkcs8_pem: String, key_id: String, team_id: String, topic: String) -> Self {
        Self {
            base_url: APNS_PRODUCTION.to_owned(),
            extra_root_pem: None,
            key_pkcs8_pem,
            key_id,
            team_id,
            topic,
            token_max_age_ms: 40 * 60 * 1000,
            max_concurrent: 1000,
            connections: 1,
            request_timeout_ms: 30_000,
            max_payload_bytes: APNS_MAX_PAYLOAD,
            token_file: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// Whether `token` looks like an APNs device token: an even number (64 to 200) of hex digits.
pub fn valid_device_token(token: &str) -> bool {
    (64..=200).contains(&token.len())
        && token.len().is_multiple_of(2)
        && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `apns-push-type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushType {
    /// A visible notification.
    Alert,
    /// A silent, content-available push (priority must be 5 or 1).
    Background,
    /// A location query.
    Location,
    /// A VoIP call.
    Voip,
    /// A watch complication update.
    Complication,
    /// A file provider update.
    Fileprovider,
    /// A device management command.
    Mdm,
    /// A Live Activity update.
    Liveactivity,
}

impl PushType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Background => "background",
            Self::Location => "location",
            Self::Voip => "voip",
            Self::Complication => "complication",
            Self::Fileprovider => "fileprovider",
            Self::Mdm => "mdm",
            Self::Liveactivity => "liveactivity",
        }
    }

    /// Parses a header value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "alert" => Self::Alert,
            "background" => Self::Background,
            "location" => Self::Location,
            "voip" => Self::Voip,
            "complication" => Self::Complication,
            "fileprovider" => Self::Fileprovider,
            "mdm" => Self::Mdm,
            "liveactivity" => Self::Liveactivity,
            _ => return None,
        })
    }
}

/// One notification for one device.
#[derive(Clone)]
pub struct ApnsNotification {
    /// The device token (hex). Personal data: never logged.
    pub device_token: String,
    /// The caller's id, sent as `apns-id` on every attempt.
    pub apns_id: [u8; 16],
    /// `apns-push-type`.
    pub push_type: PushType,
    /// `apns-priority`: 10, 5 or 1.
    pub priority: u8,
    /// `apns-expiration` (Unix seconds; 0 = now or never); `None` leaves Apple's default.
    pub expiration: Option<i64>,
    /// `apns-collapse-id`, at most 64 bytes.
    pub collapse_id: Option<String>,
    /// The JSON payload (`{"aps":{...}}`), at most `max_payload_bytes`.
    pub payload: Bytes,
}

impl std::fmt::Debug for ApnsNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsNotification")
            .field("device_token", &"<redacted>")
            .field("apns_id", &uuid_string(&self.apns_id))
            .field("push_type", &self.push_type)
            .field("priority", &self.priority)
            .field("expiration", &self.expiration)
            .field("collapse_id", &self.collapse_id)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}
