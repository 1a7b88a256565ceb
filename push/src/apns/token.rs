//! The shared APNs provider token: signed once (ES256), reused until it ages out on the
//! passed-in clock, and replaced at most once per rejection however many sends saw it.
//! With a token file, the token outlives the process: a restart (or a crash) reuses the
//! stored token while it is fresh instead of renewing, which Apple would refuse within
//! 20 minutes of the last renewal (`TooManyProviderTokenUpdates`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

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
    pub key_id: String,
    pub team_id: String,
    pub max_age_ms: i64,
    pub file: Option<PathBuf>,
    pub current: RwLock<Option<Arc<ProviderToken>>>,
}

/// The token file's content.
#[derive(Serialize, Deserialize)]
struct Stored {
    key_id: String,
    team_id: String,
    issued_ms: i64,
    jwt: String,
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
        if slot.is_none()
            && let Some(t) = self.load(now_ms)
        {
            let t = Arc::new(t);
            *slot = Some(Arc::clone(&t));
            return Ok(t);
        }
        let serial = slot.as_ref().map_or(1, |t| t.serial + 1);
        let token = Arc::new(self.sign(now_ms, serial)?);
        *slot = Some(Arc::clone(&token));
        Ok(token)
    }

    /// The stored token of this key and team, if fresh at `now_ms`.
    fn load(&self, now_ms: i64) -> Option<ProviderToken> {
        let path = self.file.as_ref()?;
        let stored: Stored = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let age = now_ms.saturating_sub(stored.issued_ms);
        let fresh = (0..self.max_age_ms).contains(&age);
        if stored.key_id != self.key_id || stored.team_id != self.team_id || !fresh {
            return None;
        }
        let bearer = HeaderValue::from_str(&format!("bearer {}", stored.jwt)).ok()?;
        tracing::debug!(
            message = "APNs provider token reused from the token file.",
            age_ms = age
        );
        Some(ProviderToken {
            issued_ms: stored.issued_ms,
            serial: 1,
            bearer,
        })
    }

    /// Keeps `jwt` in the token file; a failure only costs the reuse after a restart.
    fn store(&self, path: &Path, issued_ms: i64, jwt: &str) {
        let stored = Stored {
            key_id: self.key_id.clone(),
            team_id: self.team_id.clone(),
            issued_ms,
            jwt: jwt.to_owned(),
        };
        if let Err(e) = write_private(path, &serde_json::to_vec(&stored).unwrap_or_default()) {
            tracing::warn!(message = "Cannot keep the APNs provider token.", path = %path.display(), error = %e);
        }
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
        if let Some(path) = &self.file {
            self.store(path, now_ms, &jwt);
        }
        Ok(ProviderToken {
            issued_ms: now_ms,
            serial,
            bearer,
        })
    }
}

/// Writes `bytes` to `path` through a temporary file renamed over it, readable by the
/// owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
