//! The local APNs endpoint: `POST /3/device/{token}` over HTTP/2 + TLS, verifying the
//! provider token (ES256, `kid`, `iss`, `iat` age) and the headers as Apple does, and
//! answering with Apple's statuses and `{"reason": ...}` bodies.
//!
//! Provider tokens are tracked per team: a token with a newer `iat` than the current one
//! is a renewal, refused with 429 `TooManyProviderTokenUpdates` when it comes less than
//! 20 minutes (server clock) after the previous renewal.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use sellout_streams::Clock;

use super::server::{self, Handler, Resp, RespFuture, ServeOptions, ServerStats};
use super::{Accepted, DeliveryLog, Fault, FaultTable, Hit, Storm};

use crate::PushError;
use crate::apns::{PushType, valid_device_token};
use crate::delivery::parse_uuid;
use crate::jwt::{self, Alg};

const RENEWAL_MIN_MS: i64 = 20 * 60 * 1000;
const TOKEN_LIFETIME_S: i64 = 60 * 60;
const MAX_PAYLOAD: usize = 4096;

/// Options of the local APNs endpoint.
#[derive(Debug, Clone, Copy)]
pub struct ApnsServerConfig {
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` (Apple uses up to 1000).
    pub max_concurrent_streams: u32,
    /// Send GOAWAY on each connection after this many streams.
    pub goaway_after_streams: Option<u64>,
    /// Keep every accepted notification (tests); off for the benchmark, counts only.
    pub keep_records: bool,
}

impl Default for ApnsServerConfig {
    fn default() -> Self {
        Self {
            max_concurrent_streams: 1000,
            goaway_after_streams: None,
            keep_records: true,
        }
    }
}

#[derive(Debug)]
struct ProviderState {
    current_iat: i64,
    renewed_at_ms: i64,
}

struct State {
    clock: Arc<dyn Clock>,
    keys: Mutex<HashMap<String, (String, Vec<u8>)>>,
    verified: Mutex<HashMap<String, (String, i64)>>,
    providers: Mutex<HashMap<String, ProviderState>>,
    distinct_tokens: Mutex<HashSet<String>>,
    faults: FaultTable,
    log: DeliveryLog,
}

impl State {
    fn new(clock: Arc<dyn Clock>, keep_records: bool) -> Self {
        Self {
            clock,
            keys: Mutex::default(),
            verified: Mutex::default(),
            providers: Mutex::default(),
            distinct_tokens: Mutex::default(),
            faults: FaultTable::default(),
            log: DeliveryLog::new(keep_records),
        }
    }
}

/// A running local APNs endpoint; stops when dropped.
pub struct ApnsServer {
    running: server::Running,
    state: Arc<State>,
}

impl std::fmt::Debug for ApnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsServer")
            .field("addr", &self.running.addr)
            .finish_non_exhaustive()
    }
}

impl ApnsServer {
    /// Starts on `127.0.0.1:0` with a fresh self-signed certificate; `clock` judges token ages.
    pub async fn start(cfg: ApnsServerConfig, clock: Arc<dyn Clock>) -> Result<Self, PushError> {
        let state = Arc::new(State::new(clock, cfg.keep_records));
        let s = Arc::clone(&state);
        let handler: Handler = Arc::new(move |parts, body| -> RespFuture {
            let s = Arc::clone(&s);
            Box::pin(async move { handle(&s, parts, body).await })
        });
        let running = server::start(
            handler,
            ServeOptions {
                max_concurrent_streams: cfg.max_concurrent_streams,
                goaway_after_streams: cfg.goaway_after_streams,
            },
        )
        .await?;
        Ok(Self { running, state })
    }

    /// `https://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.running.addr)
    }
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }
    /// The self-signed certificate (PEM), to pass as the client's extra root.
    pub fn cert_pem(&self) -> Vec<u8> {
        self.running.cert_pem.clone().into_bytes()
    }
    /// Registers a team's signing key by `kid` (public key from [`crate::jwt::Es256Key::public_key`]).
    pub fn register_key(&self, key_id: &str, team_id: &str, public_key: Vec<u8>) {
        self.state
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key_id.to_owned(), (team_id.to_owned(), public_key));
    }
    /// Injects a fault for one device token.
    pub fn inject(&self, device_token: &str, fault: Fault) {
        self.state.faults.inject(device_token, fault);
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
    /// Notifications accepted (200), duplicates included.
    pub fn delivered(&self) -> u64 {
        self.state.log.total()
    }
    /// Accepted notifications whose `apns-id` had been accepted before.
    pub fn duplicates(&self) -> u64 {
        self.state.log.duplicates()
    }
    /// Every accepted notification (empty unless `keep_records`).
    pub fn accepted(&self) -> Vec<Accepted> {
        self.state.log.all()
    }
    /// Distinct valid provider tokens seen.
    pub fn distinct_provider_tokens(&self) -> usize {
        self.state
            .distinct_tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
    /// Connection and stream counters.
    pub fn stats(&self) -> &ServerStats {
        &self.running.stats
    }
}

fn reason(status: u16, reason: &str) -> Resp {
    server::json(
        status,
        serde_json::json!({ "reason": reason })
            .to_string()
            .into_bytes(),
    )
}

async fn handle(s: &State, parts: http::request::Parts, body: Bytes) -> Resp {
    let Some(token) = parts.uri.path().strip_prefix("/3/device/") else {
        return reason(404, "BadPath");
    };
    if parts.method != http::Method::POST {
        return reason(405, "MethodNotAllowed");
    }
    let h = &parts.headers;
    let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if let Err((status, why)) = check_provider_token(s, header("authorization")) {
        return reason(status, why);
    }
    let Some(topic) = header("apns-topic") else {
        return reason(400, "MissingTopic");
    };
    if topic.is_empty() {
        return reason(400, "MissingTopic");
    }
    if header("apns-push-type").is_some_and(|t| PushType::parse(t).is_none()) {
        return reason(400, "InvalidPushType");
    }
    if header("apns-priority").is_some_and(|p| !matches!(p, "10" | "5" | "1")) {
        return reason(400, "BadPriority");
    }
    if header("apns-expiration").is_some_and(|e| e.parse::<i64>().is_err()) {
        return reason(400, "BadExpirationDate");
    }
    if header("apns-collapse-id").is_some_and(|c| c.len() > 64) {
        return reason(400, "BadCollapseId");
    }
    let id = match h.get("apns-id") {
        Some(v) => match v.to_str().ok().and_then(parse_uuid) {
            Some(id) => crate::delivery::uuid_string(&id),
            None => return reason(400, "BadMessageId"),
        },
        None => String::new(),
    };
    if !valid_device_token(token) {
        return reason(400, "BadDeviceToken");
    }
    if body.len() > MAX_PAYLOAD {
        return reason(413, "PayloadTooLarge");
    }
    if body.is_empty() {
        return reason(400, "PayloadEmpty");
    }
    match s.faults.hit(token) {
        Hit::None => {}
        Hit::Delay(d) => tokio::time::sleep(d).await,
        Hit::Unregistered => {
            let body =
                serde_json::json!({ "reason": "Unregistered", "timestamp": s.clock.now_ms() });
            return server::json(410, body.to_string().into_bytes());
        }
        Hit::BadToken => return reason(400, "BadDeviceToken"),
        Hit::RateLimited(after) => {
            let mut r = reason(429, "TooManyRequests");
            r.headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(after));
            return r;
        }
        Hit::ServerError(503) => return reason(503, "ServiceUnavailable"),
        Hit::ServerError(code) => return reason(code, "InternalServerError"),
        Hit::Reject(code, why) => return reason(code, &why),
    }
    let id = if id.is_empty() {
        crate::delivery::uuid_string(&generated_id(s.log.total()))
    } else {
        id
    };
    let mut resp = server::json(200, Vec::new());
    if let Ok(v) = http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("apns-id", v);
    }
    s.log.record(Accepted {
        id,
        token: token.to_owned(),
        payload_len: body.len(),
    });
    resp
}

fn generated_id(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&0xA9A5_0000_0000_0000u64.to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

/// Checks `authorization: bearer <jwt>`; `Err` is the response to send.
fn check_provider_token(s: &State, auth: Option<&str>) -> Result<(), (u16, &'static str)> {
    let Some(auth) = auth else {
        return Err((403, "MissingProviderToken"));
    };
    let Some(jwt) = auth
        .strip_prefix("bearer ")
        .or_else(|| auth.strip_prefix("Bearer "))
    else {
        return Err((403, "MissingProviderToken"));
    };
    let now = s.clock.now_ms();
    let cached = s
        .verified
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(jwt)
        .cloned();
    let (team, iat) = match cached {
        Some(v) => v,
        None => {
            let v = verify(s, jwt).ok_or((403, "InvalidProviderToken"))?;
            let mut cache = s.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(jwt.to_owned(), v.clone());
            drop(cache);
            s.distinct_tokens
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(jwt.to_owned());
            v
        }
    };
    if now.div_euclid(1000) - iat > TOKEN_LIFETIME_S {
        return Err((403, "ExpiredProviderToken"));
    }
    let mut providers = s.providers.lock().unwrap_or_else(PoisonError::into_inner);
    match providers.get_mut(&team) {
        Some(p) if iat > p.current_iat => {
            if now - p.renewed_at_ms < RENEWAL_MIN_MS {
                return Err((429, "TooManyProviderTokenUpdates"));
            }
            p.current_iat = iat;
            p.renewed_at_ms = now;
        }
        Some(_) => {}
        None => {
            providers.insert(
                team,
                ProviderState {
                    current_iat: iat,
                    renewed_at_ms: now,
                },
            );
        }
    }
    Ok(())
}

/// Verifies signature, `kid` and `iss`; returns (team, iat).
fn verify(s: &State, token: &str) -> Option<(String, i64)> {
    let unverified = jwt::decode_unverified(token).ok()?;
    let kid = unverified.header.get("kid")?.as_str()?;
    let (team, public_key) = s
        .keys
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(kid)
        .cloned()?;
    let verified = jwt::verify(token, Alg::Es256, &public_key).ok()?;
    if verified.claims.get("iss")?.as_str()? != team {
        return None;
    }
    let iat = verified.claims.get("iat")?.as_i64()?;
    Some((team, iat))
}

#[cfg(test)]
#[path = "apns_tests.rs"]
mod tests;
