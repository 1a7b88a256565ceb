//! The FCM sender: Firebase Cloud Messaging HTTP v1 (`POST /v1/projects/{id}/messages:send`)
//! with an OAuth2 access token obtained from a service-account key (RS256 JWT bearer
//! assertion posted to the key's `token_uri`).
//!
//! The access token is cached and shared until shortly before it expires (on the passed-in
//! clock). The caller's notification id travels in `message.data.notification_id` (a
//! lowercase UUID string) on every retry, so a receiver, or the local endpoint, can tell
//! a retry from a new notification.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http_body_util::Full;
use sellout_streams::Clock;
use tokio::sync::Semaphore;

use crate::PushError;
use crate::delivery::{Delivery, Outcome, RetryPolicy, retry_after, uuid_string};
use crate::fcm_wire::{FcmErrorBody, ServiceAccount, TokenResponse, classify, error_reason};
use crate::jwt::{Rs256Key, b64url};
use crate::transport::{Endpoint, H2Pool, client_tls};

mod types;

pub use types::*;

struct AccessToken {
    bearer: HeaderValue,
    refresh_at_ms: i64,
    serial: u64,
}

/// Why no access token could be had.
struct TokenFailure {
    retryable: bool,
    status: Option<u16>,
    reason: String,
}

struct Inner {
    send_pool: H2Pool,
    token_pool: H2Pool,
    token_uri: http::Uri,
    token_aud: String,
    send_uri: http::Uri,
    account: ServiceAccount,
    key: Rs256Key,
    clock: Arc<dyn Clock>,
    current: RwLock<Option<Arc<AccessToken>>>,
    refreshing: tokio::sync::Mutex<()>,
    limit: Semaphore,
    retry: RetryPolicy,
}

/// A cheap-to-clone, concurrent FCM HTTP v1 sender.
#[derive(Clone)]
pub struct FcmClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FcmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmClient")
            .field("authority", &self.inner.send_pool.endpoint().authority)
            .field("project_id", &self.inner.account.project_id)
            .finish_non_exhaustive()
    }
}

impl FcmClient {
    /// Parses the service account and prepares TLS; connects lazily.
    pub fn new(cfg: FcmConfig, clock: Arc<dyn Clock>) -> Result<Self, PushError> {
        if cfg.max_concurrent == 0 || cfg.retry.max_attempts == 0 {
            return Err(PushError::Config(
                "max_concurrent and retry.max_attempts must be > 0".into(),
            ));
        }
        let account = ServiceAccount::parse(&cfg.service_account_json)?;
        let key = Rs256Key::from_pem(account.private_key.as_bytes())?;
        let tls = client_tls(cfg.extra_root_pem.as_deref())?;
        let timeout = Duration::from_millis(cfg.request_timeout_ms.max(1));
        let send_endpoint = Endpoint::parse(&cfg.base_url)?;
        let send_uri = send_endpoint.uri(&format!(
            "/v1/projects/{}/messages:send",
            account.project_id
        ))?;
        let (token_endpoint, token_path) = Endpoint::parse_with_path(&account.token_uri)?;
        let token_uri = token_endpoint.uri(&token_path)?;
        Ok(Self {
            inner: Arc::new(Inner {
                send_pool: H2Pool::new(send_endpoint, Arc::clone(&tls), cfg.connections, timeout)?,
                token_pool: H2Pool::new(token_endpoint, tls, 1, timeout)?,
                token_uri,
                token_aud: account.token_uri.clone(),
                send_uri,
                account,
                key,
                clock,
                current: RwLock::new(None),
                refreshing: tokio::sync::Mutex::new(()),
                limit: Semaphore::new(cfg.max_concurrent),
                retry: cfg.retry,
            }),
        })
    }

    /// The project the service account belongs to.
    pub fn project_id(&self) -> &str {
        &self.inner.account.project_id
    }

    /// Delivers one message, retrying as the policy allows; never panics or errors.
    pub async fn send(&self, n: &FcmNotification) -> Delivery {
        let inner = &*self.inner;
        let body = match build_body(n) {
            Ok(b) => b,
            Err(reason) => return Delivery::rejected(Outcome::Failed, reason),
        };
        let mut attempts = 0;
        let mut renewed = false;
        let mut status = None;
        let mut reason;
        loop {
            attempts += 1;
            let (pause, serial) = match self.access_token(None).await {
                Err(f) => {
                    status = f.status.or(status);
                    reason = f.reason;
                    if !f.retryable {
                        return failed(attempts, status, reason);
                    }
                    (
                        inner.retry.backoff(&n.notification_id, attempts, None),
                        None,
                    )
                }
                Ok(token) => match self.attempt(&body, &token.bearer).await {
                    Err(e) => {
                        reason = e;
                        (
                            inner.retry.backoff(&n.notification_id, attempts, None),
                            None,
                        )
                    }
                    Ok((code, headers, resp)) => {
                        status = Some(code);
                        let parsed = serde_json::from_slice::<FcmErrorBody>(&resp).ok();
                        reason = error_reason(code, parsed.as_ref());
                        match classify(code, parsed.as_ref()) {
                            Some(outcome) if code != 401 => {
                                let reason = (outcome != Outcome::Delivered).then_some(reason);
                                return Delivery {
                                    outcome,
                                    attempts,
                                    status,
                                    reason,
                                };
                            }
                            _ if code == 401 && renewed => return failed(attempts, status, reason),
                            _ if code == 401 => {
                                renewed = true;
                                (Duration::ZERO, Some(token.serial))
                            }
                            _ => (
                                inner.retry.backoff(
                                    &n.notification_id,
                                    attempts,
                                    retry_after(&headers),
                                ),
                                None,
                            ),
                        }
                    }
                },
            };
            if attempts >= inner.retry.max_attempts {
                return failed(attempts, status, reason);
            }
            if let Some(rejected) = serial
                && let Err(f) = self.access_token(Some(rejected)).await
            {
                return failed(attempts, f.status.or(status), f.reason);
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
    }

    async fn attempt(
        &self,
        body: &Bytes,
        bearer: &HeaderValue,
    ) -> Result<(u16, http::HeaderMap, Bytes), String> {
        let inner = &*self.inner;
        let mut req = http::Request::new(Full::new(body.clone()));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = inner.send_uri.clone();
        req.headers_mut().insert(AUTHORIZATION, bearer.clone());
        req.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let permit = inner.limit.acquire().await.map_err(|e| e.to_string())?;
        let result = inner.send_pool.send(req).await;
        drop(permit);
        let (parts, body) = result.map_err(|e| e.0)?;
        Ok((parts.status.as_u16(), parts.headers, body))
    }

    /// The cached access token, fetching a new one when near expiry or when `rejected`
    /// names the token FCM just refused.
    async fn access_token(&self, rejected: Option<u64>) -> Result<Arc<AccessToken>, TokenFailure> {
        let inner = &*self.inner;
        let usable =
            |t: &AccessToken, now: i64| now < t.refresh_at_ms && Some(t.serial) != rejected;
        let cached = || {
            inner
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        };
        if let Some(t) = cached()
            && usable(&t, inner.clock.now_ms())
        {
            return Ok(t);
        }
        let _one_at_a_time = inner.refreshing.lock().await;
        let now = inner.clock.now_ms();
        let previous = cached();
        if let Some(t) = &previous
            && usable(t, now)
        {
            return Ok(Arc::clone(t));
        }
        let serial = previous.map_or(1, |t| t.serial + 1);
        let token = Arc::new(self.fetch_token(now, serial).await?);
        *inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&token));
        Ok(token)
    }

    async fn fetch_token(&self, now_ms: i64, serial: u64) -> Result<AccessToken, TokenFailure> {
        let inner = &*self.inner;
        let fatal = |reason: String| TokenFailure {
            retryable: false,
            status: None,
            reason,
        };
        let iat = now_ms.div_euclid(1000);
        let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": inner.account.client_email,
            "scope": FCM_SCOPE,
            "aud": inner.token_aud,
            "iat": iat,
            "exp": iat + 3600,
        });
        let assertion = inner
            .key
            .sign(&format!(
                "{header}.{}",
                b64url(claims.to_string().as_bytes())
            ))
            .map_err(|e| fatal(e.to_string()))?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let mut req = http::Request::new(Full::new(Bytes::from(form)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = inner.token_uri.clone();
        req.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let (parts, body) = inner.token_pool.send(req).await.map_err(|e| TokenFailure {
            retryable: true,
            status: None,
            reason: format!("token endpoint: {}", e.0),
        })?;
        let code = parts.status.as_u16();
        if code != 200 {
            let detail = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| format!("HTTP {code}"));
            return Err(TokenFailure {
                retryable: code == 429 || code >= 500,
                status: Some(code),
                reason: format!("token endpoint: {detail}"),
            });
        }
        let resp: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| fatal(format!("token endpoint answered unreadable JSON: {e}")))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", resp.access_token))
            .map_err(|_| fatal("token endpoint answered an unusable access token".into()))?;
        let lifetime_ms = resp.expires_in.saturating_mul(1000);
        let margin_ms = (lifetime_ms / 2).min(5 * 60 * 1000);
        tracing::debug!(
            message = "FCM access token obtained.",
            serial,
            expires_in = resp.expires_in
        );
        Ok(AccessToken {
            bearer,
            refresh_at_ms: now_ms.saturating_add(lifetime_ms - margin_ms),
            serial,
        })
    }
}

fn failed(attempts: u32, status: Option<u16>, reason: String) -> Delivery {
    Delivery {
        outcome: Outcome::Failed,
        attempts,
        status,
        reason: Some(reason),
    }
}

/// `{"message": message + token + data.notification_id}`, serialised once per send.
fn build_body(n: &FcmNotification) -> Result<Bytes, String> {
    let serde_json::Value::Object(mut message) = n.message.clone() else {
        return Err("INVALID_ARGUMENT: message must be a JSON object".into());
    };
    message.insert("token".into(), serde_json::Value::String(n.token.clone()));
    let data = message
        .entry("data")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    let serde_json::Value::Object(data) = data else {
        return Err("INVALID_ARGUMENT: message.data must be a JSON object".into());
    };
    data.insert(
        "notification_id".into(),
        serde_json::Value::String(uuid_string(&n.notification_id)),
    );
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"message\":");
    serde_json::to_writer(&mut out, &message).map_err(|e| e.to_string())?;
    out.push(b'}');
    Ok(Bytes::from(out))
}
