//! The local FCM endpoint: Google's OAuth2 token endpoint (`POST /token`, RS256 JWT
//! bearer assertions checked against registered service accounts) and FCM HTTP v1
//! (`POST /v1/projects/{id}/messages:send`, bearer-checked), answering with Google's
//! JSON shapes: `{"name": ...}` or `{"error": {code, message, status, details}}`.
//!
//! HTTP/2 only (ALPN `h2`), which Google's endpoints also speak.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use sellout_streams::Clock;

use super::server::{self, Handler, Resp, RespFuture, ServeOptions, ServerStats};
use super::{Accepted, DeliveryLog, Fault, FaultTable, Hit, Storm};
use crate::PushError;
use crate::fcm_wire::{ServiceAccount, error_body};
use crate::jwt::Rs256Key;

/// Options of the local FCM endpoint.
#[derive(Debug, Clone, Copy)]
pub struct FcmServerConfig {
    /// Lifetime of issued access tokens, in seconds (Google: 3599–3600).
    pub token_lifetime_s: i64,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub max_concurrent_streams: u32,
    /// Keep every accepted message (tests); off for the benchmark, counts only.
    pub keep_records: bool,
}

impl Default for FcmServerConfig {
    fn default() -> Self {
        Self {
            token_lifetime_s: 3600,
            max_concurrent_streams: 1000,
            keep_records: true,
        }
    }
}

pub(crate) struct Account {
    pub(crate) project_id: String,
    pub(crate) public_key: Vec<u8>,
}

pub(crate) struct State {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cfg: FcmServerConfig,
    pub(crate) token_uri: Mutex<String>,
    pub(crate) accounts: Mutex<HashMap<String, Account>>,
    pub(crate) access: Mutex<HashMap<String, (String, i64)>>,
    pub(crate) grants: AtomicU64,
    pub(crate) faults: FaultTable,
    pub(crate) log: DeliveryLog,
}

/// A running local FCM endpoint; stops when dropped.
pub struct FcmServer {
    running: server::Running,
    state: Arc<State>,
}

impl std::fmt::Debug for FcmServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmServer")
            .field("addr", &self.running.addr)
            .finish_non_exhaustive()
    }
}

impl FcmServer {
    /// Starts on `127.0.0.1:0` with a fresh self-signed certificate; `clock` judges expiry.
    pub async fn start(cfg: FcmServerConfig, clock: Arc<dyn Clock>) -> Result<Self, PushError> {
        let state = Arc::new(State {
            clock,
            cfg,
            token_uri: Mutex::default(),
            accounts: Mutex::default(),
            access: Mutex::default(),
            grants: AtomicU64::new(0),
            faults: FaultTable::default(),
            log: DeliveryLog::new(cfg.keep_records),
        });
        let s = Arc::clone(&state);
        let handler: Handler = Arc::new(move |parts, body| -> RespFuture {
            let s = Arc::clone(&s);
            Box::pin(async move { handle(&s, parts, body).await })
        });
        let opts = ServeOptions {
            max_concurrent_streams: cfg.max_concurrent_streams,
            goaway_after_streams: None,
        };
        let running = server::start(handler, opts).await?;
        *state
            .token_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = format!("https://{}/token", running.addr);
        Ok(Self { running, state })
    }

    /// `https://127.0.0.1:{port}` (the FCM base URL).
    pub fn base_url(&self) -> String {
        format!("https://{}", self.running.addr)
    }
    /// `https://127.0.0.1:{port}/token` (the service account's `token_uri`).
    pub fn token_uri(&self) -> String {
        format!("https://{}/token", self.running.addr)
    }
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }
    /// The self-signed certificate (PEM), to pass as the client's extra root.
    pub fn cert_pem(&self) -> Vec<u8> {
        self.running.cert_pem.clone().into_bytes()
    }
    /// Trusts a service account (its public key, email and project) from its key file.
    pub fn register_service_account(&self, json: &str) -> Result<(), PushError> {
        let sa = ServiceAccount::parse(json)?;
        let key = Rs256Key::from_pem(sa.private_key.as_bytes())?;
        self.state
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                sa.client_email,
                Account {
                    project_id: sa.project_id,
                    public_key: key.public_key(),
                },
            );
        Ok(())
    }
    /// Injects a fault for one registration token.
    pub fn inject(&self, token: &str, fault: Fault) {
        self.state.faults.inject(token, fault);
    }
    /// Injects `Delay`/`Reject` for every token without its own fault (`None` clears).
    pub fn inject_all(&self, fault: Option<Fault>) {
        self.state.faults.inject_all(fault);
    }

    /// Starts (or ends) a storm of 429, 500, 503 and slow answers (see [`Storm`]).
    pub fn storm(&self, storm: Option<Storm>) {
        self.state.faults.storm(storm);
    }

    /// Requests the storm answered with a fault so far.
    pub fn storm_faults(&self) -> u64 {
        self.state.faults.storm_faults()
    }
    /// Access tokens granted so far.
    pub fn tokens_granted(&self) -> u64 {
        self.state.grants.load(Ordering::Relaxed)
    }
    /// Messages accepted, duplicates included.
    pub fn delivered(&self) -> u64 {
        self.state.log.total()
    }
    /// Accepted messages whose `data.notification_id` had been accepted before.
    pub fn duplicates(&self) -> u64 {
        self.state.log.duplicates()
    }
    /// Every accepted message (empty unless `keep_records`).
    pub fn accepted(&self) -> Vec<Accepted> {
        self.state.log.all()
    }
    /// Connection and stream counters.
    pub fn stats(&self) -> &ServerStats {
        &self.running.stats
    }
}

fn google_error(code: u16, status: &str, error_code: Option<&str>, message: &str) -> Resp {
    let body = error_body(code, status, error_code, message);
    server::json(code, serde_json::to_vec(&body).unwrap_or_default())
}

async fn handle(s: &State, parts: http::request::Parts, body: Bytes) -> Resp {
    if parts.method != http::Method::POST {
        return google_error(405, "METHOD_NOT_ALLOWED", None, "Only POST is supported.");
    }
    let path = parts.uri.path();
    if path == "/token" {
        return super::oauth::grant(s, &body);
    }
    match path
        .strip_prefix("/v1/projects/")
        .and_then(|p| p.strip_suffix("/messages:send"))
    {
        Some(project) => send(s, project, parts.headers.get("authorization"), &body).await,
        None => google_error(404, "NOT_FOUND", None, "The requested URL was not found."),
    }
}

fn valid_registration_token(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 4096
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':'))
}

async fn send(s: &State, project: &str, auth: Option<&http::HeaderValue>, body: &[u8]) -> Resp {
    let unauthenticated = || {
        google_error(
            401,
            "UNAUTHENTICATED",
            None,
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
    };
    let Some(bearer) = auth
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthenticated();
    };
    let owner = s
        .access
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(bearer)
        .cloned();
    let Some((email, expires_at)) = owner else {
        return unauthenticated();
    };
    if s.clock.now_ms() >= expires_at {
        return unauthenticated();
    }
    let allowed = s
        .accounts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&email)
        .is_some_and(|a| a.project_id == project);
    if !allowed {
        return google_error(
            403,
            "PERMISSION_DENIED",
            Some("SENDER_ID_MISMATCH"),
            "Permission denied.",
        );
    }
    let invalid = |msg: &str| google_error(400, "INVALID_ARGUMENT", Some("INVALID_ARGUMENT"), msg);
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return invalid("Invalid JSON payload received.");
    };
    let Some(message) = v.get("message").and_then(|m| m.as_object()) else {
        return invalid("Invalid JSON payload received. Unknown name or missing \"message\".");
    };
    let Some(token) = message.get("token").and_then(|t| t.as_str()) else {
        return invalid("Recipient of the message is not set.");
    };
    if !valid_registration_token(token) {
        return bad_token();
    }
    let data = message.get("data");
    if data.is_some_and(|d| {
        !d.as_object()
            .is_some_and(|o| o.values().all(|v| v.is_string()))
    }) {
        return invalid("Invalid value at 'message.data': values must be strings.");
    }
    match s.faults.hit(token) {
        Hit::None => {}
        Hit::Delay(d) => tokio::time::sleep(d).await,
        Hit::Unregistered => {
            return google_error(
                404,
                "NOT_FOUND",
                Some("UNREGISTERED"),
                "Requested entity was not found.",
            );
        }
        Hit::BadToken => return bad_token(),
        Hit::RateLimited(after) => {
            let mut r = google_error(
                429,
                "RESOURCE_EXHAUSTED",
                Some("QUOTA_EXCEEDED"),
                "Quota exceeded.",
            );
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(after));
            return r;
        }
        Hit::ServerError(503) => {
            return google_error(
                503,
                "UNAVAILABLE",
                Some("UNAVAILABLE"),
                "The service is currently unavailable.",
            );
        }
        Hit::ServerError(code) => {
            return google_error(code, "INTERNAL", Some("INTERNAL"), "Internal error.");
        }
        Hit::Reject(code, why) => {
            return google_error(code, "FAILED_PRECONDITION", Some(&why), "Rejected.");
        }
    }
    let id = data
        .and_then(|d| d.get("notification_id"))
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    s.log.record(Accepted {
        id,
        token: token.to_owned(),
        payload_len: body.len(),
    });
    let body =
        serde_json::json!({ "name": format!("projects/{project}/messages/{}", s.log.total()) });
    server::json(200, body.to_string().into_bytes())
}

fn bad_token() -> Resp {
    let body = serde_json::json!({ "error": {
        "code": 400,
        "message": "The registration token is not a valid FCM registration token",
        "status": "INVALID_ARGUMENT",
        "details": [
            { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT" },
            { "@type": "type.googleapis.com/google.rpc.BadRequest",
              "fieldViolations": [{ "field": "message.token", "description": "Invalid registration token" }] }
        ]
    }});
    server::json(400, body.to_string().into_bytes())
}
