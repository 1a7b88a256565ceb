//! The pricing service's decoders of its own topics (`change::decode_json`): price
//! changes, policy updates and audit entries. What decodes must re-encode to the same.
//!
//! Input: a selector byte (`0` price change, `1` policy update, `2` audit entry), then
//! the stored JSON value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_pricing::audit::AuditEntry;
use sellout_pricing::change::{PolicyUpdate, PriceChange, decode_json};

fn round_trip<T>(what: &'static str, bytes: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let Ok(value) = decode_json::<T>(what, 0, bytes) else {
        return;
    };
    let again = serde_json::to_vec(&value).unwrap_or_default();
    match decode_json::<T>(what, 0, &again) {
        Ok(back) => assert_eq!(back, value, "{what} changed in a round trip"),
        Err(e) => panic!("a decoded {what} does not decode after encoding: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = sellout_fuzz::split_selector(data);
    match selector % 3 {
        0 => round_trip::<PriceChange>("price change", bytes),
        1 => round_trip::<PolicyUpdate>("policy update", bytes),
        _ => {
            let _ = decode_json::<AuditEntry>("audit entry", 0, bytes);
        }
    }
});
