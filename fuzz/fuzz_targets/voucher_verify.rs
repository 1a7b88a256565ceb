//! The voucher verifier on arbitrary codes. It must never panic, and a code that
//! verifies must be one of the genuinely issued ones (the fuzzer holds no key).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use sellout_notifier::voucher::{self, VoucherClaims, VoucherKeys};

static KEYS: LazyLock<VoucherKeys> = LazyLock::new(sellout_fuzz::voucher_keys);
static ISSUED: LazyLock<Vec<VoucherClaims>> =
    LazyLock::new(sellout_fuzz::forgeries::issued_vouchers);

fuzz_target!(|data: &[u8]| {
    let Ok(code) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(claims) = voucher::verify(code, &KEYS, sellout_fuzz::NOW_MS) {
        assert!(
            ISSUED.contains(&claims),
            "forged voucher verified: {code:?} as {claims:?}"
        );
        // The canonical code verifies to the same claims.
        assert_eq!(
            voucher::verify(&claims.code, &KEYS, sellout_fuzz::NOW_MS)
                .ok()
                .as_ref(),
            Some(&claims)
        );
    }
});
