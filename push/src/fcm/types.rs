//! FCM configuration and notification types: what the caller fills in.

use crate::delivery::{RetryPolicy, uuid_string};

/// Google's FCM endpoint.
pub const FCM_PRODUCTION: &str = "https://fcm.googleapis.com";
/// The OAuth2 scope FCM needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// How to reach FCM and authenticate.
#[derive(Clone)]
pub struct FcmConfig {
    /// Base URL, `https://host[:port]` (default [`FCM_PRODUCTION`]).
    pub base_url: String,
    /// An extra trusted root certificate (PEM), for a local endpoint (and its token URI).
    pub extra_root_pem: Option<Vec<u8>>,
    /// The service-account key file's JSON. Secret: never logged.
    pub service_account_json: String,
    /// Most requests in flight at once, over all connections.
    pub max_concurrent: usize,
    /// HTTP/2 connections opened to FCM.
    pub connections: usize,
    /// Connect and per-request timeout, in milliseconds.
    pub request_timeout_ms: u64,
    /// Retries for 429, 5xx and connection errors.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("base_url", &self.base_url)
            .field(
                "extra_root_pem",
                &self.extra_root_pem.as_ref().map(|_| "<pem>"),
            )
            .field("service_account_json", &"<redacted>")
            .field("max_concurrent", &self.max_concurrent)
            .field("connections", &self.connections)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("retry", &self.retry)
            .finish()
    }
}

impl FcmConfig {
    /// Production defaults for the given service-account key file.
    pub fn new(service_account_json: String) -> Self {
        Self {
            base_url: FCM_PRODUCTION.to_owned(),
            extra_root_pem: None,
            service_account_json,
            max_concurrent: 1000,
            connections: 1,
            request_timeout_ms: 30_000,
            retry: RetryPolicy::default(),
        }
    }
}

/// One message for one device.
#[derive(Clone)]
pub struct FcmNotification {
    /// The registration token. Personal data: never logged.
    pub token: String,
    /// The caller's id, sent as `message.data.notification_id` on every attempt.
    pub notification_id: [u8; 16],
    /// The `message` object without `token` (`notification`, `data`, `android`, ...).
    pub message: serde_json::Value,
}

impl std::fmt::Debug for FcmNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmNotification")
            .field("token", &"<redacted>")
            .field("notification_id", &uuid_string(&self.notification_id))
            .finish_non_exhaustive()
    }
}
