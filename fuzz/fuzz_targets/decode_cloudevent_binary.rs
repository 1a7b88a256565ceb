//! The binary-mode CloudEvents decoder: arbitrary headers and body.
//!
//! Input: `name: value` header lines, an empty line, then the body (no empty line: all
//! headers, no body). Header lines that aren't valid HTTP headers are skipped.

#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sellout_ingest::decode::decode_binary;

fuzz_target!(|data: &[u8]| {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii_start();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    let decoded = decode_binary(&headers, body, &sellout_fuzz::limits());
    sellout_fuzz::check_decoded(&decoded, body.len());
});
