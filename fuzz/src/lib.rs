//! Shared pieces of the fuzz targets: how a target splits its input, the fixed keys the
//! verifier targets forge against, and the seed inputs of the corpus.
//!
//! Targets read their input as plain bytes (no `arbitrary`): a selector byte where a
//! target has choices, then the payload, so a seed file is readable and a crash file
//! can be pasted into a regression test as it is.
//!
//! # Layout
//! - this file: input helpers and the keys.
//! - [`forgeries`]: the genuine quotes and vouchers, so the verifier targets can tell a
//!   forgery that verified from a genuine one.
//! - [`seeds`]: the small valid inputs `examples/seeds.rs` writes into `corpus/<target>/`.
//! - [`segments`]: the log segment layout the log target needs to fix up checksums.

pub mod forgeries;
pub mod seeds;
pub mod segments;

use sellout_ingest::records::Topic;

/// The topic a selector byte names: `None` (the CloudEvents route) or one input topic.
pub fn topic_from(selector: u8) -> Option<Topic> {
    match selector % 5 {
        0 => None,
        1 => Some(Topic::Sales),
        2 => Some(Topic::Beacons),
        3 => Some(Topic::Social),
        _ => Some(Topic::Queues),
    }
}

/// The selector byte for `topic` (inverse of [`topic_from`]).
pub fn selector_of(topic: Option<Topic>) -> u8 {
    match topic {
        None => 0,
        Some(Topic::Sales) => 1,
        Some(Topic::Beacons) => 2,
        Some(Topic::Social) => 3,
        Some(Topic::Queues) => 4,
    }
}

/// Splits `data` into its first byte and the rest (`0` and nothing when empty).
pub fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&first, rest)) => (first, rest),
        None => (0, &[]),
    }
}

/// Splits `data` on every occurrence of `separator`.
pub fn split_on<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(separator.len()).position(|w| w == separator) {
        parts.push(&rest[..at]);
        rest = &rest[at + separator.len()..];
    }
    parts.push(rest);
    parts
}

/// "Now" for the verifier targets: 2026-11-01T00:00Z.
pub const NOW_MS: i64 = 1_793_491_200_000;

/// The quote key the quote target signs its seeds with (test material, not a secret).
pub const QUOTE_SECRET_HEX: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// A second, retired quote key the ring still verifies with.
pub const QUOTE_OLD_SECRET_HEX: &str =
    "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f";

/// The quote ring of the quote target: `k2` active, `k1` retired.
pub fn quote_ring() -> sellout_pricing::quotes::KeyRing {
    use sellout_pricing::quotes::{KeyRing, QuoteKey};
    let keys = [
        QuoteKey {
            id: "k1".into(),
            secret_hex: QUOTE_OLD_SECRET_HEX.into(),
        },
        QuoteKey {
            id: "k2".into(),
            secret_hex: QUOTE_SECRET_HEX.into(),
        },
    ];
    match KeyRing::new("k2", &keys) {
        Ok(ring) => ring,
        Err(e) => panic!("the fuzz quote ring is valid: {e}"),
    }
}

/// The voucher keys of the voucher target: key 3 active, key 9 retained.
pub fn voucher_keys() -> sellout_notifier::voucher::VoucherKeys {
    use sellout_notifier::voucher::VoucherKeys;
    let built = VoucherKeys::new(9, &[0x5a; 32]).and_then(|mut keys| {
        keys.add(3, &[0xa5; 40])?;
        keys.activate(3)?;
        Ok(keys)
    });
    match built {
        Ok(keys) => keys,
        Err(e) => panic!("the fuzz voucher keys are valid: {e}"),
    }
}

/// What every decoder's output must satisfy, whatever the input: spans inside the
/// input, and every decoded record surviving the wire form the streams store it in.
pub fn check_decoded(decoded: &sellout_ingest::decode::Decoded, input_len: usize) {
    use sellout_ingest::records::wire;
    for r in &decoded.records {
        if let Some(span) = &r.span {
            assert!(
                span.start <= span.end && span.end <= input_len,
                "span {span:?} outside an input of {input_len} bytes"
            );
        }
        let mut bytes = Vec::new();
        wire::encode_any_into(&r.record, &mut bytes);
        match wire::decode(r.record.topic(), &bytes) {
            Ok(back) => assert_eq!(back, r.record, "a decoded record changed on the wire"),
            Err(e) => panic!("a decoded record does not survive the wire form: {e}"),
        }
    }
}

/// The validator's default limits.
pub fn limits() -> sellout_ingest::validate::Limits {
    sellout_ingest::validate::Limits::default()
}

/// For the columnar targets: lets library panics that the decoders' own guard catches
/// (inside `arrow-ipc` and `parquet`, see `ingest/src/decode/columnar.rs`) pass, instead
/// of the abort libFuzzer's hook makes of every panic. Each new location is printed
/// once as `caught library panic at ...`, so a run's log lists them. A panic in our own
/// code (any file outside the cargo registry) still aborts, caught or not.
pub fn tolerate_caught_panics() {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    std::panic::set_hook(Box::new(|info| {
        let file = info.location().map(|l| l.file()).unwrap_or_default();
        if !file.contains("/.cargo/registry/") {
            eprintln!("panic in our code: {info}");
            std::process::abort();
        }
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let new = SEEN
            .lock()
            .map(|mut seen| seen.insert(at.clone()))
            .unwrap_or(false);
        if new {
            eprintln!("caught library panic at {at}: {info}");
        }
    }));
}
