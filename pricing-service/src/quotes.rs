//! Quotes: signed, expiring promises of a price (the price a shopper was shown), the
//! [`KeyRing`] that signs and verifies them, and the [`HoldRegistry`] of unexpired
//! quotes the guardrails consult.
//!
//! A quote is signed with HMAC-SHA256 over a canonical encoding of every field (each
//! length-prefixed, so no two quotes encode alike) under the ring's *active* key, and
//! names the key id it used. Verification accepts any key still in the ring, so keys
//! rotate without invalidating quotes in flight: add the new key, make it active,
//! drop the old one after one quote lifetime.
//!
//! "Prices they were shown must hold": a valid quote is honoured at its quoted price
//! until it expires, whatever the book does meanwhile (checkout verifies the quote and
//! charges its price, not the book's). Separately, while quotes at the current price
//! are held, the repricer does not *raise* that price (see [`crate::guardrails`]).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use rustc_hash::FxHashMap;
use sellout_ingest::records::{Id, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted for a quote key, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// A signed price promise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    /// Unique id.
    pub id: String,
    /// The event.
    pub event_id: Id,
    /// The category.
    pub category_id: Id,
    /// Seats quoted.
    pub quantity: u32,
    /// Price of one seat, in minor units, all-in.
    pub unit_price_minor: i64,
    /// `unit_price_minor * quantity`.
    pub total_minor: i64,
    /// ISO 4217 currency.
    pub currency: Id,
    /// When it was issued (ms since the epoch).
    pub issued_at: Timestamp,
    /// When it stops being honoured.
    pub expires_at: Timestamp,
    /// The key that signed it.
    pub key_id: String,
    /// HMAC-SHA256 of the canonical encoding, lowercase hex.
    pub signature: String,
}

impl Quote {
    /// The bytes the signature covers: a version tag and every field, length-prefixed.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        let fields: [&[u8]; 11] = [
            b"sellout-quote-v1",
            self.id.as_bytes(),
            self.event_id.as_bytes(),
            self.category_id.as_bytes(),
            &self.quantity.to_le_bytes(),
            &self.unit_price_minor.to_le_bytes(),
            &self.total_minor.to_le_bytes(),
            self.currency.as_bytes(),
            &self.issued_at.to_le_bytes(),
            &self.expires_at.to_le_bytes(),
            self.key_id.as_bytes(),
        ];
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }
}

/// Why a quote was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// The key that signed it is not (or no longer) in the ring.
    #[error("quote signed with unknown key {0:?}")]
    UnknownKey(String),
    /// The signature does not match the quote's fields: it was altered or forged.
    #[error("quote signature does not match its contents (tampered or forged)")]
    BadSignature,
    /// The quote is past its expiry.
    #[error("quote expired at {expired_at} (now {now})")]
    Expired {
        /// When it expired.
        expired_at: Timestamp,
        /// Now.
        now: Timestamp,
    },
}

/// One quote key from the configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteKey {
    /// Key id, written into every quote it signs.
    pub id: String,
    /// The secret, hex-encoded, at least [`MIN_SECRET_BYTES`] bytes.
    pub secret_hex: String,
}

impl fmt::Debug for QuoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuoteKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key ring could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// No key at all.
    #[error("no quote key configured")]
    Empty,
    /// The active key id names no key.
    #[error("active quote key {0:?} is not among the configured keys")]
    UnknownActive(String),
    /// A key id appears twice.
    #[error("quote key {0:?} appears twice")]
    Duplicate(String),
    /// A secret is not valid hex or too short.
    #[error("quote key {0:?}: secret must be hex of at least {MIN_SECRET_BYTES} bytes")]
    BadSecret(String),
}

/// The quote keys: one active (signs), all retained (verify). Secrets never printed.
pub struct KeyRing {
    active: String,
    keys: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<_> = self.keys.iter().map(|(id, _)| id).collect();
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("keys", &ids)
            .finish()
    }
}

impl KeyRing {
    /// A ring signing with `active`, verifying with any of `keys`.
    pub fn new(active: &str, keys: &[QuoteKey]) -> Result<Self, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        let mut ring = Vec::with_capacity(keys.len());
        for k in keys {
            if ring.iter().any(|(id, _)| id == &k.id) {
                return Err(KeyRingError::Duplicate(k.id.clone()));
            }
            let secret = crate::auth::from_hex(&k.secret_hex)
                .filter(|s| s.len() >= MIN_SECRET_BYTES)
                .ok_or_else(|| KeyRingError::BadSecret(k.id.clone()))?;
            ring.push((k.id.clone(), secret));
        }
        if !ring.iter().any(|(id, _)| id == active) {
            return Err(KeyRingError::UnknownActive(active.to_string()));
        }
        Ok(Self {
            active: active.to_string(),
            keys: ring,
        })
    }

    /// The id of the signing key.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    fn mac(&self, key_id: &str) -> Option<HmacSha256> {
        let (_, secret) = self.keys.iter().find(|(id, _)| id == key_id)?;
        HmacSha256::new_from_slice(secret).ok()
    }

    /// Sets `quote.key_id` to the active key and signs it.
    pub fn sign(&self, quote: &mut Quote) {
        quote.key_id = self.active.clone();
        if let Some(mut mac) = self.mac(&self.active) {
            mac.update(&quote.canonical());
            quote.signature = crate::auth::to_hex(&mac.finalize().into_bytes());
        }
    }

    /// Checks the signature (constant time) and the expiry.
    pub fn verify(&self, quote: &Quote, now: Timestamp) -> Result<(), QuoteError> {
        let mut mac = self
            .mac(&quote.key_id)
            .ok_or_else(|| QuoteError::UnknownKey(quote.key_id.clone()))?;
        mac.update(&quote.canonical());
        let given = crate::auth::from_hex(&quote.signature).ok_or(QuoteError::BadSignature)?;
        mac.verify_slice(&given)
            .map_err(|_| QuoteError::BadSignature)?;
        if now >= quote.expires_at {
            return Err(QuoteError::Expired {
                expired_at: quote.expires_at,
                now,
            });
        }
        Ok(())
    }
}

/// Quote ids: a per-process nonce and a counter, so replicas don't collide.
#[derive(Debug)]
pub struct QuoteIds {
    nonce: String,
    next: AtomicU64,
}

impl QuoteIds {
    /// Ids prefixed by a nonce derived from `seed` (e.g. replica name and start time).
    pub fn new(seed: &[u8]) -> Self {
        let digest = Sha256::digest(seed);
        Self {
            nonce: crate::auth::to_hex(&digest[..8]),
            next: AtomicU64::new(1),
        }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        format!(
            "q-{}-{:x}",
            self.nonce,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Unexpired quotes per (event, category): how many at which price, until when.
///
/// Quotes are counted in buckets of one second of expiry per price, so memory is
/// bounded by quote lifetime × distinct prices per category, not by traffic.
#[derive(Debug, Default)]
pub struct HoldRegistry {
    holds: Mutex<FxHashMap<(Id, Id), VecDeque<Hold>>>,
}

#[derive(Debug, Clone, Copy)]
struct Hold {
    expires_at: Timestamp,
    price_minor: i64,
    quotes: u64,
}

impl HoldRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an issued quote.
    pub fn hold(&self, quote: &Quote) {
        let bucket = quote
            .expires_at
            .div_euclid(1000)
            .saturating_add(1)
            .saturating_mul(1000);
        let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        let list = holds
            .entry((quote.event_id.clone(), quote.category_id.clone()))
            .or_default();
        let found = list
            .iter_mut()
            .rev()
            .take(8)
            .find(|h| h.expires_at == bucket && h.price_minor == quote.unit_price_minor);
        match found {
            Some(h) => h.quotes += 1,
            None => list.push_back(Hold {
                expires_at: bucket,
                price_minor: quote.unit_price_minor,
                quotes: 1,
            }),
        }
    }

    /// Unexpired quotes held for the category at `price_minor`; forgets expired ones.
    pub fn held_at(
        &self,
        event_id: &str,
        category_id: &str,
        price_minor: i64,
        now: Timestamp,
    ) -> u64 {
        let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        let key = (Id::from(event_id), Id::from(category_id));
        let Some(list) = holds.get_mut(&key) else {
            return 0;
        };
        list.retain(|h| h.expires_at > now);
        let n = list
            .iter()
            .filter(|h| h.price_minor == price_minor)
            .map(|h| h.quotes)
            .sum();
        if list.is_empty() {
            holds.remove(&key);
        }
        n
    }
}

#[cfg(test)]
#[path = "quotes_tests.rs"]
mod tests;
