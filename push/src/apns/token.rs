//! The shared APNs provider token: signed once (ES256), reused until it ages out on the
//! passed-in clock, and replaced at most once per rejection however many sends saw it.

use std::sync::{Arc, PoisonError, RwLock};

use http::header::HeaderValue;

use crate::PushError;
use crate::jwt::{Es256Key, b64url};

/// A provider token and when it was issued (on the client's clock).
pub(crate) struct ProviderToken {
    issued_ms: i64,
    pub serial: u64,
    pub bearer: HeaderValue,
}

/// The shared provider token: signed once, reused until it ages out.
pub(crate) struct TokenCache {
    pub key: Es256Key,
    pub header_b64: String,
    pub team_id: String,
    pub max_age_ms: i64,
    pub current: RwLock<Option<Arc<ProviderToken>>>,
}

impl TokenCache {
    /// The current token, signing a new one when it is older than the maximum age.
    pub fn get(&self, now_ms: i64) -> Result<Arc<ProviderToken>, PushError> {
        let fresh = |t: &ProviderToken| now_ms.saturating_sub(t.issued_ms) < self.max_age_ms;
        if let Some(t) = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && fresh(t)
        {
            return Ok(Arc::clone(t));
        }
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = slot.as_ref()
            && fresh(t)
        {
            return Ok(Arc::clone(t));
        }
        let serial = slot.as_ref().map_or(1, |t| t.serial + 1);
        let token = Arc::new(self.sign(now_ms, serial)?);
        *slot = Some(Arc::clone(&token));
        Ok(token)
    }

    /// Replaces the token APNs rejected, unless another task already did.
    pub fn renew_rejected(
        &self,
        rejected: u64,
        now_ms: i64,
    ) -> Result<Arc<ProviderToken>, PushError> {
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = slot.as_ref()
            && t.serial != rejected
        {
            return Ok(Arc::clone(t));
        }
        let token = Arc::new(self.sign(now_ms, rejected + 1)?);
        *slot = Some(Arc::clone(&token));
        Ok(token)
    }

    fn sign(&self, now_ms: i64, serial: u64) -> Result<ProviderToken, PushError> {
        let claims = serde_json::json!({ "iss": self.team_id, "iat": now_ms.div_euclid(1000) });
        let input = format!(
            "{}.{}",
            self.header_b64,
            b64url(claims.to_string().as_bytes())
        );
        let jwt = self.key.sign(&input)?;
        let bearer = HeaderValue::from_str(&format!("bearer {jwt}"))
            .map_err(|e| PushError::Signing(format!("token is not a header value: {e}")))?;
        tracing::debug!(message = "APNs provider token renewed.", serial);
        Ok(ProviderToken {
            issued_ms: now_ms,
            serial,
            bearer,
        })
    }
}
