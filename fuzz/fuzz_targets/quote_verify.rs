//! The quote verifier on arbitrary quote JSON: decode, then verify. It must never
//! panic, and a quote that verifies must be one of the genuinely signed ones (up to the
//! case of its hex signature): the fuzzer holds no key.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sellout_pricing::quotes::{KeyRing, Quote};

static RING: LazyLock<KeyRing> = LazyLock::new(sellout_fuzz::quote_ring);
static SIGNED: LazyLock<Vec<Quote>> = LazyLock::new(sellout_fuzz::forgeries::signed_quotes);

fuzz_target!(|data: &[u8]| {
    let Ok(quote) = serde_json::from_slice::<Quote>(data) else {
        return;
    };
    if RING.verify(&quote, sellout_fuzz::NOW_MS).is_ok() {
        let mut canonical = quote.clone();
        canonical.signature = canonical.signature.to_ascii_lowercase();
        assert!(
            SIGNED.contains(&canonical),
            "forged quote verified: {quote:?}"
        );
    }
});
