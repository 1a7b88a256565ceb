//! The only quotes and vouchers genuinely signed under the fuzz keys. The fuzzer never
//! sees a key, so anything else that verifies is a forgery: the verifier targets assert
//! that every input that verifies is (after canonicalisation) one of these.

use sellout_notifier::campaign::{Offer, OfferKind};
use sellout_notifier::voucher::{self, VoucherClaims};
use sellout_pricing::quotes::{KeyRing, Quote, QuoteKey};

use crate::{NOW_MS, QUOTE_OLD_SECRET_HEX, quote_ring, voucher_keys};

/// The genuine quotes: some signed by the active key, one by the retired key, one
/// expired (genuine, so it must fail only as expired).
pub fn signed_quotes() -> Vec<Quote> {
    let ring = quote_ring();
    let old_ring = KeyRing::new(
        "k1",
        &[QuoteKey {
            id: "k1".into(),
            secret_hex: QUOTE_OLD_SECRET_HEX.into(),
        }],
    )
    .ok();
    let quote = |i: i64, expires_at: i64| Quote {
        id: format!("q-{i}"),
        event_id: "ev-1".into(),
        category_id: "cat-a".into(),
        quantity: 2,
        unit_price_minor: 4500 + i,
        total_minor: 2 * (4500 + i),
        currency: "EUR".into(),
        issued_at: NOW_MS - 60_000,
        expires_at,
        key_id: String::new(),
        signature: String::new(),
    };
    let mut out = Vec::new();
    for i in 0..3 {
        let mut q = quote(i, NOW_MS + 600_000);
        ring.sign(&mut q);
        out.push(q);
    }
    if let Some(old) = old_ring {
        let mut q = quote(3, NOW_MS + 600_000);
        old.sign(&mut q);
        out.push(q);
    }
    let mut expired = quote(4, NOW_MS - 1);
    ring.sign(&mut expired);
    out.push(expired);
    out
}

/// The genuine vouchers: each offer kind, one expired.
pub fn issued_vouchers() -> Vec<VoucherClaims> {
    let keys = voucher_keys();
    let kinds = [
        OfferKind::Food,
        OfferKind::Drink,
        OfferKind::Merchandise,
        OfferKind::Ticket,
        OfferKind::Parking,
        OfferKind::Other,
    ];
    let mut out = Vec::new();
    for (i, kind) in kinds.into_iter().enumerate() {
        let offer = Offer {
            kind,
            percent: 10 + i as u8 * 15,
            stand: None,
        };
        let expires = if i == 5 {
            NOW_MS - 60_000
        } else {
            NOW_MS + 300_000
        };
        let nonce = voucher::nonce("campaign", &format!("inst-{i}"), i as u64);
        if let Ok(claims) = voucher::issue(&keys, &offer, expires, nonce) {
            out.push(claims);
        }
    }
    out
}
