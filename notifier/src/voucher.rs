//! Signed vouchers a stand can verify offline: a 28-character Crockford base32 code
//! (shown as seven groups of four) carrying the offer, the expiry and a 64-bit
//! HMAC-SHA256 tag under a rotating key.
//!
//! Layout (140 bits, most significant first):
//!
//! | bits | field |
//! |---|---|
//! | 4 | key id (0..=15), so keys rotate without invalidating codes in flight |
//! | 24 | expiry, whole minutes since 2024-01-01T00:00Z (to 2055) |
//! | 3 | offer kind ([`OfferKind::code`]) |
//! | 7 | percent off (1..=100) |
//! | 38 | nonce: a hash of (campaign, installation, trigger), so each is unique |
//! | 64 | HMAC-SHA256 of the 76 bits above, truncated |
//!
//! A replayed trigger yields the same code (the nonce is derived, not random). Reading
//! is forgiving the Crockford way: case-insensitive, `I`/`L` read as `1`, `O` as `0`,
//! dashes and spaces ignored. Checks run in the order malformed → unknown key →
//! tampered (MAC) → offer out of range → expired, so an expired code is reported as
//! expired only once it is known to be genuine.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::campaign::{Offer, OfferKind};

type HmacSha256 = Hmac<Sha256>;

/// 2024-01-01T00:00:00Z in ms: the epoch of voucher expiry minutes.
pub const VOUCHER_EPOCH_MS: i64 = 1_704_067_200_000;
/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Significant characters in a code (without separators).
pub const CODE_CHARS: usize = 28;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MINUTE_MS: i64 = 60_000;
const NONCE_BITS: u32 = 38;
const DOMAIN: &[u8] = b"sellout-voucher-v1";

/// Why a voucher could not be issued or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherError {
    /// Not a voucher code at all (length, characters).
    #[error("malformed voucher code: {0}")]
    Malformed(String),
    /// Signed with a key this ring does not hold (rotated out, or forged).
    #[error("voucher signed with unknown key {0}")]
    UnknownKey(u8),
    /// The MAC does not match: a typo or a forgery.
    #[error("voucher code does not verify (mistyped or tampered)")]
    Tampered,
    /// Genuine but past its expiry.
    #[error("voucher expired at {expired_at_ms} ms")]
    Expired {
        /// When it expired.
        expired_at_ms: i64,
    },
    /// The offer cannot be encoded (percent outside 1..=100) or decoded.
    #[error("voucher offer out of range: {0}")]
    InvalidOffer(String),
    /// A key id over 15 or a secret shorter than [`MIN_SECRET_BYTES`].
    #[error("invalid voucher key: {0}")]
    InvalidKey(String),
}

/// A ring of voucher keys: one active for signing, all accepted for verifying.
#[derive(Clone)]
pub struct VoucherKeys {
    active: u8,
    secrets: BTreeMap<u8, Vec<u8>>,
}

impl fmt::Debug for VoucherKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VoucherKeys")
            .field("active", &self.active)
            .field("key_ids", &self.secrets.keys().collect::<Vec<_>>())
            .field("secrets", &"<redacted>")
            .finish()
    }
}

impl VoucherKeys {
    /// A ring holding one key, active.
    pub fn new(id: u8, secret: &[u8]) -> Result<Self, VoucherError> {
        let mut ring = Self {
            active: id,
            secrets: BTreeMap::new(),
        };
        ring.add(id, secret)?;
        Ok(ring)
    }

    /// Adds (or replaces) a key accepted for verification.
    pub fn add(&mut self, id: u8, secret: &[u8]) -> Result<(), VoucherError> {
        if id > 15 {
            return Err(VoucherError::InvalidKey(format!("key id {id} is over 15")));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(VoucherError::InvalidKey(format!(
                "secret of key {id} is {} bytes, at least {MIN_SECRET_BYTES} needed",
                secret.len()
            )));
        }
        self.secrets.insert(id, secret.to_vec());
        Ok(())
    }

    /// Makes a held key the signing key.
    pub fn activate(&mut self, id: u8) -> Result<(), VoucherError> {
        if !self.secrets.contains_key(&id) {
            return Err(VoucherError::UnknownKey(id));
        }
        self.active = id;
        Ok(())
    }

    /// Stops accepting a key (not the active one).
    pub fn remove(&mut self, id: u8) -> bool {
        id != self.active && self.secrets.remove(&id).is_some()
    }

    /// The signing key's id.
    pub fn active(&self) -> u8 {
        self.active
    }

    fn tag(&self, id: u8, payload: u128) -> Result<u64, VoucherError> {
        let secret = self.secrets.get(&id).ok_or(VoucherError::UnknownKey(id))?;
        let mut mac = HmacSha256::new_from_slice(secret)
            .map_err(|_| VoucherError::InvalidKey(format!("key {id}")))?;
        mac.update(DOMAIN);
        mac.update(&payload.to_be_bytes());
        let out = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&out[..8]);
        Ok(u64::from_be_bytes(first))
    }
}

/// What a verified code promises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherClaims {
    /// The canonical code (upper case, grouped).
    pub code: String,
    /// The key that signed it.
    pub key_id: u8,
    /// When it stops being valid, ms since the epoch (a whole minute).
    pub expires_at_ms: i64,
    /// What it is for.
    pub kind: OfferKind,
    /// Percent off.
    pub percent: u8,
    /// The 38-bit nonce that makes it unique.
    pub nonce: u64,
}

/// The nonce of (campaign, installation, trigger): 38 bits of SHA-256.
pub fn nonce(campaign_id: &str, installation_id: &str, trigger_id: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(b"voucher-nonce");
    for part in [campaign_id.as_bytes(), installation_id.as_bytes()] {
        h.update((part.len() as u32).to_le_bytes());
        h.update(part);
    }
    h.update(trigger_id.to_le_bytes());
    let out = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&out[..8]);
    u64::from_be_bytes(first) >> (64 - NONCE_BITS)
}

/// `time_ms` rounded up to a whole minute: the expiry a code can carry.
pub fn expiry_minute_ceil(time_ms: i64) -> i64 {
    let rem = time_ms.rem_euclid(MINUTE_MS);
    if rem == 0 {
        time_ms
    } else {
        time_ms - rem + MINUTE_MS
    }
}

/// Issues the code for `offer`, expiring at `expires_at_ms` (rounded up to a minute).
pub fn issue(
    keys: &VoucherKeys,
    offer: &Offer,
    expires_at_ms: i64,
    nonce: u64,
) -> Result<VoucherClaims, VoucherError> {
    if !(1..=100).contains(&offer.percent) {
        return Err(VoucherError::InvalidOffer(format!(
            "percent {} outside 1..=100",
            offer.percent
        )));
    }
    let expires_at_ms = expiry_minute_ceil(expires_at_ms);
    let minutes = (expires_at_ms - VOUCHER_EPOCH_MS) / MINUTE_MS;
    if !(0..1 << 24).contains(&minutes) {
        return Err(VoucherError::InvalidOffer(format!(
            "expiry {expires_at_ms} ms outside 2024..2055"
        )));
    }
    let key_id = keys.active;
    let payload: u128 = (u128::from(key_id) << 72)
        | ((minutes as u128) << 48)
        | (u128::from(offer.kind.code()) << 45)
        | (u128::from(offer.percent) << 38)
        | u128::from(nonce & ((1 << NONCE_BITS) - 1));
    let tag = keys.tag(key_id, payload)?;
    let head = (payload << 4) | u128::from(tag >> 60);
    let tail = u128::from(tag & ((1 << 60) - 1));
    let mut raw = String::with_capacity(CODE_CHARS);
    push_base32(&mut raw, head, 16);
    push_base32(&mut raw, tail, 12);
    Ok(VoucherClaims {
        code: group(&raw),
        key_id,
        expires_at_ms,
        kind: offer.kind,
        percent: offer.percent,
        nonce: nonce & ((1 << NONCE_BITS) - 1),
    })
}

/// Verifies `code` against `keys` at `now_ms` (valid while `now_ms < expiry`).
pub fn verify(code: &str, keys: &VoucherKeys, now_ms: i64) -> Result<VoucherClaims, VoucherError> {
    let mut values = Vec::with_capacity(CODE_CHARS);
    for c in code.chars() {
        if matches!(c, '-' | ' ') {
            continue;
        }
        let v = decode_char(c).ok_or_else(|| {
            VoucherError::Malformed(format!("character {c:?} is not Crockford base32"))
        })?;
        values.push(v);
    }
    if values.len() != CODE_CHARS {
        return Err(VoucherError::Malformed(format!(
            "{} characters, expected {CODE_CHARS}",
            values.len()
        )));
    }
    let fold = |vals: &[u8]| {
        vals.iter()
            .fold(0u128, |acc, &v| (acc << 5) | u128::from(v))
    };
    let head = fold(&values[..16]);
    let tail = fold(&values[16..]);
    let payload = head >> 4;
    let tag = (((head & 0xF) as u64) << 60) | (tail as u64);
    let key_id = (payload >> 72) as u8;
    let expected = keys.tag(key_id, payload)?;
    if expected != tag {
        return Err(VoucherError::Tampered);
    }
    let minutes = ((payload >> 48) & 0xFF_FFFF) as i64;
    let kind_code = ((payload >> 45) & 0x7) as u8;
    let percent = ((payload >> 38) & 0x7F) as u8;
    let kind = OfferKind::from_code(kind_code)
        .ok_or_else(|| VoucherError::InvalidOffer(format!("kind code {kind_code}")))?;
    if !(1..=100).contains(&percent) {
        return Err(VoucherError::InvalidOffer(format!("percent {percent}")));
    }
    let expires_at_ms = VOUCHER_EPOCH_MS + minutes * MINUTE_MS;
    if now_ms >= expires_at_ms {
        return Err(VoucherError::Expired {
            expired_at_ms: expires_at_ms,
        });
    }
    let mut raw = String::with_capacity(CODE_CHARS);
    push_base32(&mut raw, head, 16);
    push_base32(&mut raw, tail, 12);
    Ok(VoucherClaims {
        code: group(&raw),
        key_id,
        expires_at_ms,
        kind,
        percent,
        nonce: (payload & ((1 << NONCE_BITS) - 1)) as u64,
    })
}

fn push_base32(out: &mut String, value: u128, chars: u32) {
    for i in (0..chars).rev() {
        let v = ((value >> (5 * i)) & 0x1F) as usize;
        out.push(char::from(ALPHABET[v]));
    }
}

fn decode_char(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u8)
}

fn group(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + raw.len() / 4);
    for (i, c) in raw.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "voucher_tests.rs"]
mod tests;
