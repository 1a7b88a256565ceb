//! API keys: who may call what.
//!
//! Two kinds: **portal** keys (the sales portal: read prices, quote) and **admin**
//! keys (catalog, freeze, override, audit). Routes accept exactly one kind: a portal
//! key on an admin route is 403, and so is an admin key on a portal route (separate
//! keys, least privilege). No key, or an unknown one, is 401.
//!
//! Only SHA-256 hashes of keys are configured and kept. A presented key is hashed and
//! compared with every configured hash in constant time (no early exit), so timing
//! reveals neither which hash nor how much of it matched. Keys are never logged: the
//! types holding them print no secret.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// The sales portal: prices, history, quotes, the change stream.
    Portal,
    /// Operators: catalog, limits, freeze, override, audit.
    Admin,
    /// Record sources posting to the ingest routes (`sellout serve` adds the check).
    Ingest,
}

/// One configured key: its kind and the SHA-256 of the key, hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyHash {
    /// What the key may do.
    pub kind: KeyKind,
    /// Lowercase hex SHA-256 of the key (`printf %s KEY | sha256sum`).
    pub sha256: String,
}

/// A configured hash is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("API key hash #{0} is not 64 hex digits (a SHA-256)")]
pub struct BadKeyHash(pub usize);

/// The configured keys, as hashes.
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<(KeyKind, [u8; 32])>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} keys)", self.keys.len())
    }
}

impl ApiKeys {
    /// Keys from their configured hashes.
    pub fn from_hashes(hashes: &[KeyHash]) -> Result<Self, BadKeyHash> {
        let keys = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| {
                from_hex(&h.sha256)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(|b| (h.kind, b))
                    .ok_or(BadKeyHash(i))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// The kind of `presented`, if it is a configured key.
    pub fn kind_of(&self, presented: &str) -> Option<KeyKind> {
        self.lookup(presented).map(|(_, kind)| kind)
    }

    /// The position and kind of `presented`, if it is a configured key.
    pub fn lookup(&self, presented: &str) -> Option<(usize, KeyKind)> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (i, (kind, hash)) in self.keys.iter().enumerate() {
            if ct_eq(hash, &digest) {
                found = Some((i, *kind));
            }
        }
        found
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Lowercase hex SHA-256 of `key`: what to put in the configuration for it.
pub fn hash_key(key: &str) -> String {
    to_hex(&Sha256::digest(key.as_bytes()))
}

/// Compares two equal-length byte strings without an early exit.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// Bytes from hex (either case); `None` if it is not hex.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The key a request presents, if any: `Authorization: Bearer <key>`, else `X-Api-Key`.
pub fn presented_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(str::trim);
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_recognised_by_hash_only() {
        let keys = ApiKeys::from_hashes(&[
            KeyHash {
                kind: KeyKind::Portal,
                sha256: hash_key("portal-secret"),
            },
            KeyHash {
                kind: KeyKind::Admin,
                sha256: hash_key("admin-secret").to_uppercase(),
            },
        ])
        .expect("valid hashes");
        assert_eq!(keys.kind_of("portal-secret"), Some(KeyKind::Portal));
        assert_eq!(keys.kind_of("admin-secret"), Some(KeyKind::Admin));
        assert_eq!(keys.kind_of("portal-secreT"), None);
        assert_eq!(keys.kind_of(""), None);
        assert!(!format!("{keys:?}").contains(&hash_key("portal-secret")));
        let bad = KeyHash {
            kind: KeyKind::Admin,
            sha256: "zz".into(),
        };
        assert_eq!(ApiKeys::from_hashes(&[bad]).unwrap_err(), BadKeyHash(0));
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        assert_eq!(to_hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00ABff"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
