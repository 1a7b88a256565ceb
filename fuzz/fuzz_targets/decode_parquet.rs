//! The Parquet decoder on arbitrary bytes.
//!
//! Library panics the decoder's guard catches are tolerated (and listed once each in
//! the log); one that escapes the decoder is a crash.
//!
//! Input: a topic selector byte ([`sellout_fuzz::topic_from`]), then the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_ingest::decode::{Format, decode};

fuzz_target!(init: sellout_fuzz::tolerate_caught_panics(), |data: &[u8]| {
    let (selector, body) = sellout_fuzz::split_selector(data);
    let decoded = decode(Format::Parquet, sellout_fuzz::topic_from(selector), body, &sellout_fuzz::limits());
    sellout_fuzz::check_decoded(&decoded, body.len());
});
