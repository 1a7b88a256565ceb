use super::*;

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn substitutes_properties_and_keeps_literal_dollars() {
    let t = Template::parse("$(offer.percent)% off at $(zone): $$5 or $x, code $(voucher.code)")
        .unwrap();
    let out = t
        .render(&props(&[
            ("offer.percent", "20"),
            ("zone", "North stand"),
            ("voucher.code", "AB12"),
        ]))
        .unwrap();
    assert_eq!(out, "20% off at North stand: $5 or $x, code AB12");
    assert_eq!(
        t.properties().collect::<Vec<_>>(),
        ["offer.percent", "zone", "voucher.code"]
    );
}

#[test]
fn parse_errors_carry_positions() {
    let err = Template::parse("hi $(zone").unwrap_err();
    assert!(matches!(
        err,
        TemplateError::Unterminated { position: 3, .. }
    ));
    let err = Template::parse("a $(bad name)").unwrap_err();
    assert!(matches!(
        err,
        TemplateError::InvalidName { position: 2, .. }
    ));
}

#[test]
fn unknown_property_is_rejected_at_validation_and_open_prefixes_pass() {
    let t = Template::parse("x $(offer.percentage) y").unwrap();
    let err = t.validate(KNOWN_PROPERTIES).unwrap_err();
    assert!(
        matches!(&err, TemplateError::UnknownProperty { name, position: 2, .. } if name == "offer.percentage")
    );
    assert!(err.to_string().contains("offer.percent"));
    Template::parse("$(recipient.first_seat) $(trigger.stand_name)")
        .unwrap()
        .validate(KNOWN_PROPERTIES)
        .unwrap();
    assert!(
        Template::parse("$(recipient.)")
            .unwrap()
            .validate(KNOWN_PROPERTIES)
            .is_err()
    );
}

#[test]
fn missing_value_at_render_is_an_error() {
    let t = Template::parse("$(trigger.stand_name)").unwrap();
    assert_eq!(
        t.render(&Properties::new()),
        Err(TemplateError::Missing {
            name: "trigger.stand_name".into()
        })
    );
}

fn localized(locales: &[&str], default: &str) -> LocalizedTemplates {
    let specs = locales
        .iter()
        .map(|l| {
            (
                (*l).to_owned(),
                MessageSpec {
                    title: format!("title-{l}"),
                    body: "$(zone)".into(),
                },
            )
        })
        .collect();
    LocalizedTemplates::compile(default, &specs, KNOWN_PROPERTIES).unwrap()
}

#[test]
fn locale_fallback_chain() {
    let t = localized(&["fr-CA", "fr", "en"], "en");
    assert_eq!(t.resolve("fr_CA").unwrap().0, "fr-ca");
    let t = localized(&["fr", "en"], "en");
    assert_eq!(t.resolve("fr-CA").unwrap().0, "fr");
    assert_eq!(t.resolve("de-AT").unwrap().0, "en");
    let t = localized(&["fr", "en-GB"], "en-GB");
    assert_eq!(t.resolve("es").unwrap().0, "en-gb");
}

#[test]
fn missing_locale_and_default_is_an_error() {
    let t = localized(&["fr"], "en");
    let err = t.resolve("de-AT").unwrap_err();
    assert_eq!(
        err,
        TemplateError::NoLocale {
            locale: "de-AT".into(),
            tried: vec!["de-at".into(), "de".into(), "en".into()],
            default: "en".into(),
        }
    );
}

#[test]
fn compile_names_the_failing_template() {
    let mut specs = BTreeMap::new();
    specs.insert(
        "en".to_owned(),
        MessageSpec {
            title: "ok".into(),
            body: "$(nope)".into(),
        },
    );
    let (at, err) = LocalizedTemplates::compile("en", &specs, KNOWN_PROPERTIES).unwrap_err();
    assert_eq!(at, "en.body");
    assert!(matches!(err, TemplateError::UnknownProperty { .. }));
}
