//! The APNs sender: the provider API over HTTP/2 (`POST /3/device/{token}`) with token
//! (JWT ES256) authentication.
//!
//! One provider token is shared by every request and renewed only when older than
//! `token_max_age_ms` on the passed-in clock (Apple refuses renewals more often than
//! every 20 minutes with `TooManyProviderTokenUpdates`), or once after Apple rejects it.
//! The caller's `apns-id` is sent unchanged on every retry so duplicates can be traced.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http_body_util::Full;
use sellout_streams::Clock;
use tokio::sync::Semaphore;

use crate::PushError;
use crate::delivery::{Delivery, Outcome, RetryPolicy, retry_after, uuid_string};
use crate::jwt::{Es256Key, b64url};
use crate::transport::{Endpoint, H2Pool, client_tls};

mod token;
mod types;

use token::TokenCache;

pub use types::*;

struct Inner {
    pool: H2Pool,
    tokens: TokenCache,
    topic: HeaderValue,
    clock: Arc<dyn Clock>,
    limit: Semaphore,
    max_payload: usize,
    retry: RetryPolicy,
}

/// A cheap-to-clone, concurrent APNs sender.
#[derive(Clone)]
pub struct ApnsClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsClient")
            .field("authority", &self.inner.pool.endpoint().authority)
            .finish_non_exhaustive()
    }
}

static APNS_ID: HeaderName = HeaderName::from_static("apns-id");
static APNS_TOPIC: HeaderName = HeaderName::from_static("apns-topic");
static APNS_PUSH_TYPE: HeaderName = HeaderName::from_static("apns-push-type");
static APNS_PRIORITY: HeaderName = HeaderName::from_static("apns-priority");
static APNS_EXPIRATION: HeaderName = HeaderName::from_static("apns-expiration");
static APNS_COLLAPSE_ID: HeaderName = HeaderName::from_static("apns-collapse-id");

/// What to do after one answer.
enum Next {
    Done(Outcome),
    RenewToken,
    Retry(Option<Duration>),
}

impl ApnsClient {
    /// Checks the configuration, parses the key and prepares TLS; connects lazily.
    pub fn new(cfg: ApnsConfig, clock: Arc<dyn Clock>) -> Result<Self, PushError> {
        if !(MIN_TOKEN_AGE_MS..=MAX_TOKEN_AGE_MS).contains(&cfg.token_max_age_ms) {
            return Err(PushError::Config(format!(
                "token_max_age_ms {} outside 20..=60 minutes",
                cfg.token_max_age_ms
            )));
        }
        if cfg.max_concurrent == 0 || cfg.retry.max_attempts == 0 {
            return Err(PushError::Config(
                "max_concurrent and retry.max_attempts must be > 0".into(),
            ));
        }
        let key = Es256Key::from_pem(cfg.key_pkcs8_pem.as_bytes())?;
        let header = serde_json::json!({ "alg": "ES256", "kid": cfg.key_id });
        let topic = HeaderValue::from_str(&cfg.topic)
            .map_err(|_| PushError::Config("topic is not a valid header value".into()))?;
        let tls = client_tls(cfg.extra_root_pem.as_deref())?;
        let timeout = Duration::from_millis(cfg.request_timeout_ms.max(1));
        let pool = H2Pool::new(
            Endpoint::parse(&cfg.base_url)?,
            tls,
            cfg.connections,
            timeout,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                tokens: TokenCache {
                    key,
                    header_b64: b64url(header.to_string().as_bytes()),
                    key_id: cfg.key_id,
                    team_id: cfg.team_id,
                    max_age_ms: cfg.token_max_age_ms,
                    file: cfg.token_file,
                    current: RwLock::new(None),
                },
                topic,
                clock,
                limit: Semaphore::new(cfg.max_concurrent),
                max_payload: cfg.max_payload_bytes,
                retry: cfg.retry,
            }),
        })
    }

    /// Connections opened so far, reconnects included.
    pub fn connections_opened(&self) -> u64 {
        self.inner.pool.connects()
    }

    /// Delivers one notification, retrying as the policy allows; never panics or errors.
    pub async fn send(&self, n: &ApnsNotification) -> Delivery {
        let inner = &*self.inner;
        if n.payload.len() > inner.max_payload {
            return Delivery::rejected(
                Outcome::Failed,
                format!(
                    "PayloadTooLarge: {} bytes exceeds the {}-byte limit",
                    n.payload.len(),
                    inner.max_payload
                ),
            );
        }
        if !valid_device_token(&n.device_token) {
            return Delivery::rejected(Outcome::Pruned, "BadDeviceToken".into());
        }
        let Some(prepared) = prepare(inner, n) else {
            return Delivery::rejected(Outcome::Failed, "BadCollapseId".into());
        };
        let mut attempts = 0;
        let mut renewed = false;
        let mut status = None;
        let mut reason;
        loop {
            attempts += 1;
            let token = match inner.tokens.get(inner.clock.now_ms()) {
                Ok(t) => t,
                Err(e) => return failed(attempts - 1, status, e.to_string()),
            };
            let next = match self.attempt(&prepared, n, &token.bearer).await {
                Ok((code, headers, body)) => {
                    status = Some(code);
                    reason = apns_reason(&body).unwrap_or_else(|| format!("HTTP {code}"));
                    classify(code, &reason, &headers)
                }
                Err(e) => {
                    reason = e;
                    Next::Retry(None)
                }
            };
            let pause = match next {
                Next::Done(outcome) => {
                    let reason = (outcome != Outcome::Delivered).then_some(reason);
                    return Delivery {
                        outcome,
                        attempts,
                        status,
                        reason,
                    };
                }
                Next::RenewToken if !renewed => {
                    renewed = true;
                    if let Err(e) = inner
                        .tokens
                        .renew_rejected(token.serial, inner.clock.now_ms())
                    {
                        return failed(attempts, status, e.to_string());
                    }
                    Duration::ZERO
                }
                Next::RenewToken => return failed(attempts, status, reason),
                Next::Retry(after) => inner.retry.backoff(&n.apns_id, attempts, after),
            };
            if attempts >= inner.retry.max_attempts {
                return failed(attempts, status, reason);
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }

    async fn attempt(
        &self,
        p: &Prepared,
        n: &ApnsNotification,
        bearer: &HeaderValue,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        let inner = &*self.inner;
        let mut req = http::Request::new(Full::new(n.payload.clone()));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = p.uri.clone();
        *req.headers_mut() = http::HeaderMap::with_capacity(10);
        let h = req.headers_mut();
        h.insert(AUTHORIZATION, bearer.clone());
        h.insert(APNS_ID.clone(), p.apns_id.clone());
        h.insert(APNS_TOPIC.clone(), inner.topic.clone());
        h.insert(
            APNS_PUSH_TYPE.clone(),
            HeaderValue::from_static(n.push_type.as_str()),
        );
        h.insert(
            APNS_PRIORITY.clone(),
            HeaderValue::from(u16::from(n.priority)),
        );
        if let Some(e) = n.expiration {
            h.insert(APNS_EXPIRATION.clone(), HeaderValue::from(e));
        }
        if let Some(c) = &p.collapse_id {
            h.insert(APNS_COLLAPSE_ID.clone(), c.clone());
        }
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let permit = inner.limit.acquire().await.map_err(|e| e.to_string())?;
        let result = inner.pool.send(req).await;
        drop(permit);
        let (parts, body) = result.map_err(|e| e.0)?;
        Ok((parts.status.as_u16(), parts.headers, body))
    }
}

/// Per-notification values built once and reused by every attempt.
struct Prepared {
    uri: http::Uri,
    apns_id: HeaderValue,
    collapse_id: Option<HeaderValue>,
}

fn prepare(inner: &Inner, n: &ApnsNotification) -> Option<Prepared> {
    let collapse_id = match &n.collapse_id {
        Some(c) if c.len() > 64 => return None,
        Some(c) => Some(HeaderValue::from_str(c).ok()?),
        None => None,
    };
    let mut path = String::with_capacity(10 + n.device_token.len());
    path.push_str("/3/device/");
    path.push_str(&n.device_token);
    Some(Prepared {
        uri: inner.pool.endpoint().uri(&path).ok()?,
        apns_id: HeaderValue::from_str(&uuid_string(&n.apns_id)).ok()?,
        collapse_id,
    })
}

fn failed(attempts: u32, status: Option<u16>, reason: String) -> Delivery {
    Delivery {
        outcome: Outcome::Failed,
        attempts,
        status,
        reason: Some(reason),
    }
}

/// The `reason` of an APNs error body `{"reason":"..."}`.
fn apns_reason(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        reason: String,
    }
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.reason)
}

fn classify(status: u16, reason: &str, headers: &http::HeaderMap) -> Next {
    match (status, reason) {
        (200, _) => Next::Done(Outcome::Delivered),
        (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
            Next::Done(Outcome::Pruned)
        }
        (403, "ExpiredProviderToken" | "InvalidProviderToken") => Next::RenewToken,
        (429, _) | (500..=599, _) => Next::Retry(retry_after(headers)),
        _ => Next::Done(Outcome::Failed),
    }
}
