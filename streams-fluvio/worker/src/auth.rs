//! [`Keys`]: the API keys of an ingest node and the middleware that checks them, with
//! `sellout serve`'s rules (`sellout_pricing::auth`): a route takes exactly one kind of
//! key (ingest keys for the record routes, admin keys for the catalog routes), given as
//! `Authorization: Bearer KEY` or `x-api-key`; no key or an unknown one is 401, another
//! kind 403, a key over its rate 429 with `Retry-After`. Keys are the hashes in
//! `[pricing] api_keys` and `<data_dir>/keys/api-keys.json`; no key is ever logged.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sellout_pricing::auth::{ApiKeys, KeyHash, KeyKind, presented_key};
use sellout_pricing::rate::KeyRates;
use sellout_streams::Clock;

use crate::config::WorkerConfig;

/// Why the keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The stored key file is unreadable or not a list of key hashes.
    #[error("{path}: {why}")]
    Stored {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A configured hash is not a SHA-256.
    #[error(transparent)]
    BadHash(#[from] sellout_pricing::auth::BadKeyHash),
}

/// The configured keys and one rate bucket per key.
pub struct Keys {
    keys: ApiKeys,
    rates: KeyRates,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hashes stay out of logs too.
        write!(f, "Keys({} keys)", self.keys.len())
    }
}

impl Keys {
    /// The keys of `config` (`[pricing] api_keys` and the stored key file); `clock`
    /// refills the rate buckets.
    pub fn load(config: &WorkerConfig, clock: Arc<dyn Clock>) -> Result<Self, KeysError> {
        let mut hashes = config.pricing.api_keys.clone();
        let path = config.stored_keys_path();
        let stored = |why: String| KeysError::Stored {
            path: path.display().to_string(),
            why,
        };
        match std::fs::read(&path) {
            Ok(bytes) => hashes.extend(
                serde_json::from_slice::<Vec<KeyHash>>(&bytes)
                    .map_err(|e| stored(format!("not a list of key hashes: {e}")))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(stored(e.to_string())),
        }
        Self::new(&hashes, config.pricing.rate_limits, clock)
    }

    /// Keys from `hashes`, rated by `limits`.
    pub fn new(
        hashes: &[KeyHash],
        limits: sellout_pricing::rate::RateLimits,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeysError> {
        let keys = ApiKeys::from_hashes(hashes)?;
        let rates = KeyRates::new(limits, keys.len());
        Ok(Self { keys, rates, clock })
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when none is (every guarded route then answers 401).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `None` when the request carries a key of `needed` kind within its rate; the
    /// answer to send otherwise.
    fn check(&self, headers: &HeaderMap, needed: KeyKind) -> Option<Response> {
        let error = |status: StatusCode, message: String| {
            let mut r = (status, Json(serde_json::json!({ "error": message }))).into_response();
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            r
        };
        match presented_key(headers).and_then(|k| self.keys.lookup(k)) {
            Some((index, kind)) if kind == needed => {
                let wait_s = self.rates.take(index, kind, self.clock.now_ms()).err()?;
                let limit = self.rates.limit_of(kind).map_or(0.0, |l| l.per_second);
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("over this key's limit of {limit} requests per second"),
                );
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(u32::try_from(wait_s).unwrap_or(u32::MAX)),
                );
                Some(r)
            }
            Some(_) => Some(error(
                StatusCode::FORBIDDEN,
                format!("this route needs a {needed:?} key").to_lowercase(),
            )),
            None => Some(error(
                StatusCode::UNAUTHORIZED,
                "missing or unknown API key".to_owned(),
            )),
        }
    }
}

/// Middleware state: the keys and the kind a route needs.
pub type Guard = (Arc<Keys>, KeyKind);

/// Lets requests with a key of the guard's kind through.
pub async fn require(State((keys, kind)): State<Guard>, req: Request, next: Next) -> Response {
    match keys.check(req.headers(), kind) {
        Some(answer) => answer,
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sellout_pricing::auth::hash_key;
    use sellout_pricing::rate::{RateLimit, RateLimits};
    use sellout_streams::ManualClock;

    fn headers(key: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap_or_else(|e| panic!("{e}")),
        );
        h
    }

    #[test]
    fn each_route_takes_one_kind_of_key_within_its_rate() {
        let hashes = [
            KeyHash {
                kind: KeyKind::Ingest,
                sha256: hash_key("in-1"),
            },
            KeyHash {
                kind: KeyKind::Admin,
                sha256: hash_key("ad-1"),
            },
        ];
        let limits = RateLimits {
            ingest: Some(RateLimit {
                per_second: 1.0,
                burst: 2.0,
            }),
            ..RateLimits::default()
        };
        let keys = Keys::new(&hashes, limits, Arc::new(ManualClock::new(0)))
            .unwrap_or_else(|e| panic!("{e}"));
        let status = |key: &str, kind| keys.check(&headers(key), kind).map(|r| r.status());
        assert_eq!(status("in-1", KeyKind::Ingest), None);
        assert_eq!(status("ad-1", KeyKind::Ingest), Some(StatusCode::FORBIDDEN));
        assert_eq!(status("in-1", KeyKind::Admin), Some(StatusCode::FORBIDDEN));
        assert_eq!(
            status("nope", KeyKind::Ingest),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            keys.check(&HeaderMap::new(), KeyKind::Ingest)
                .map(|r| r.status()),
            Some(StatusCode::UNAUTHORIZED)
        );
        // Burst of 2, then over the rate at the same instant.
        assert_eq!(status("in-1", KeyKind::Ingest), None);
        assert_eq!(
            status("in-1", KeyKind::Ingest),
            Some(StatusCode::TOO_MANY_REQUESTS)
        );
    }
}
