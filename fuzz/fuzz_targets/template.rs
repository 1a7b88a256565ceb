//! The template parser and renderer: an arbitrary template rendered with arbitrary
//! properties. Rendering must never panic; a template that parses, rendered with every
//! property it names, must succeed and keep the literal text around the values.
//!
//! Input: the template, a NUL byte, then `name=value` lines (the properties).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sellout_notifier::template::{KNOWN_PROPERTIES, Properties, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (source, props) = text.split_once('\0').unwrap_or((text, ""));
    let mut properties = Properties::new();
    for line in props.lines() {
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        properties.insert(name.to_owned(), value.to_owned());
    }
    let Ok(template) = Template::parse(source) else {
        return;
    };
    assert_eq!(template.source(), source);
    let _ = template.validate(KNOWN_PROPERTIES);
    let _ = template.render(&properties);
    // With every property it names set to the empty string, rendering succeeds and
    // gives the template's literal text: never longer than the source.
    let empty: Properties = template
        .properties()
        .map(|p| (p.to_owned(), String::new()))
        .collect();
    match template.render(&empty) {
        Ok(out) => assert!(
            out.len() <= source.len(),
            "{source:?} rendered longer than itself: {out:?}"
        ),
        Err(e) => panic!("{source:?} failed to render with all its properties: {e}"),
    }
});
