//! The tag-expression parser: arbitrary text. What parses must print back to an
//! expression that parses to the same tree and matches the same tag sets.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_notifier::TagExpr;
use sellout_notifier::tags::{MAX_EXPR_LEN, ParseError};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = TagExpr::parse(src) else {
        return;
    };
    let printed = expr.to_string();
    match TagExpr::parse(&printed) {
        Ok(again) => assert_eq!(
            again, expr,
            "{src:?} printed as {printed:?} parses differently"
        ),
        // Printing spaces the operators, so a compact source near the length limit may
        // print past it (documented on `Display`); anything else is a bug.
        Err(ParseError::Limit { .. }) if printed.len() > MAX_EXPR_LEN => {}
        Err(e) => panic!("{src:?} printed as {printed:?}, which does not parse: {e}"),
    }
    // Evaluate against a few tag sets: the expression's first tags, one by one.
    let tags = expr.tags();
    for n in 0..=tags.len().min(4) {
        let has = |t: &str| tags[..n].contains(&t);
        std::hint::black_box(expr.matches(&has));
    }
});
