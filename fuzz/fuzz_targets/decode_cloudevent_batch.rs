//! The batched CloudEvents decoder on arbitrary bodies.
//!
//! Input: a topic selector byte ([`sellout_fuzz::topic_from`]), then the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_ingest::decode::{Format, decode};

fuzz_target!(|data: &[u8]| {
    let (selector, body) = sellout_fuzz::split_selector(data);
    let decoded = decode(
        Format::CloudEventBatch,
        sellout_fuzz::topic_from(selector),
        body,
        &sellout_fuzz::limits(),
    );
    sellout_fuzz::check_decoded(&decoded, body.len());
});
