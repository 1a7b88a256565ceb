//! The wire decoders of stored values: records of each input topic and dead letters.
//! Whatever decodes must encode back to a value that decodes the same.
//!
//! Input: a selector byte (`0` a dead letter, `1..=4` a record of that topic), then the
//! stored value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_ingest::deadletter::DeadLetter;
use sellout_ingest::records::wire;

fuzz_target!(|data: &[u8]| {
    let (selector, bytes) = sellout_fuzz::split_selector(data);
    match sellout_fuzz::topic_from(selector) {
        Some(topic) => {
            if let Ok(record) = wire::decode(topic, bytes) {
                let mut again = Vec::new();
                wire::encode_any_into(&record, &mut again);
                let back = wire::decode(topic, &again).ok();
                assert_eq!(
                    back.as_ref(),
                    Some(&record),
                    "wire round trip changed a record"
                );
                std::hint::black_box(record.to_json());
            }
        }
        None => {
            if let Ok(letter) = DeadLetter::decode(bytes) {
                let mut again = Vec::new();
                letter.encode_into(&mut again);
                let back = DeadLetter::decode(&again).ok();
                assert_eq!(
                    back.as_ref(),
                    Some(&letter),
                    "wire round trip changed a dead letter"
                );
                std::hint::black_box(letter.summary());
            }
        }
    }
});
