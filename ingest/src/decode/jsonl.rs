//! JSON Lines: one record object per line.
//!
//! Lines end with `\n` or `\r\n`; blank lines are skipped and not counted, so a record's
//! index is its position among the records, not its line number. A bad line rejects only
//! itself, with its own bytes. Records decode as in [`json`](super::json), including
//! the size limit and the CloudEvents form when no topic is given.

use super::Decoded;
use super::json::{Expect, push_element};
use crate::records::Topic;
use crate::validate::Limits;

/// Decodes JSON Lines holding records of `topic` (or, without a topic, one structured
/// CloudEvent per line).
pub fn decode(topic: Option<Topic>, input: &[u8], limits: &Limits) -> Decoded {
    let expect = match topic {
        Some(t) => Expect::Record(t),
        None => Expect::Event(None),
    };
    decode_with(expect, input, limits)
}

/// Decodes JSON Lines, each line being what `expect` says.
pub(crate) fn decode_with(expect: Expect, input: &[u8], limits: &Limits) -> Decoded {
    let mut out = Decoded::default();
    let mut index = 0;
    let mut start = 0;
    while start < input.len() {
        let end = input[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(input.len(), |i| start + i);
        let next = end + 1;
        let line_end = if end > start && input[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let line = &input[start..line_end];
        if !line.iter().all(u8::is_ascii_whitespace) {
            push_element(&mut out, expect, index, input, start..line_end, limits);
            index += 1;
        }
        start = next;
    }
    out
}
