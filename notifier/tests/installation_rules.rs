//! Installation validation (each rule) and the JSON Patch subset.

use sellout_notifier::installation::{PatchOp, apply_patch, validate};
use sellout_notifier::{Installation, Platform};

fn apns() -> Installation {
    Installation {
        installation_id: "inst-1".into(),
        platform: Platform::Apns,
        push_channel: "ab".repeat(32),
        locale: "fr-CA".into(),
        tags: vec!["sport:rugby".into(), "cc:UK".into()],
        customer_id: Some("cust-9".into()),
        expiration_ms: None,
    }
}

fn field_of(i: &Installation) -> String {
    validate(i).unwrap_err().field
}

#[test]
fn a_good_installation_passes() {
    validate(&apns()).unwrap();
    let mut f = apns();
    f.platform = Platform::Fcm;
    f.push_channel = "dGVzdA:APA91b-x_y".into();
    validate(&f).unwrap();
}

#[test]
fn installation_id_rules() {
    for bad in ["", "has space", "slash/x", "é", &"a".repeat(65)] {
        let mut i = apns();
        i.installation_id = bad.to_string();
        assert_eq!(field_of(&i), "installationId", "{bad:?}");
    }
    let mut i = apns();
    i.installation_id = format!("A-z_0.{}", "a".repeat(58));
    validate(&i).unwrap();
}

#[test]
fn push_channel_rules() {
    let cases = [
        (Platform::Apns, "ab".repeat(31)), // 62 hex: too short
        (Platform::Apns, "zz".repeat(32)), // not hex
        (Platform::Apns, "a".repeat(201)), // too long
        (Platform::Fcm, String::new()),    // empty
        (Platform::Fcm, "tok en".into()),  // space
        (Platform::Fcm, "x".repeat(4097)), // too long
    ];
    for (p, tok) in cases {
        let mut i = apns();
        i.platform = p;
        i.push_channel = tok;
        assert_eq!(field_of(&i), "pushChannel");
    }
    let mut i = apns();
    i.push_channel = "AB".repeat(100);
    validate(&i).unwrap();
    i.platform = Platform::Fcm;
    i.push_channel = "x".repeat(4096);
    validate(&i).unwrap();
}

#[test]
fn locale_rules() {
    for bad in ["", "f", "fr_CA", "fr-", "12", "fr-toolongsubtag", "fr--CA"] {
        let mut i = apns();
        i.locale = bad.into();
        assert_eq!(field_of(&i), "locale", "{bad:?}");
    }
    for good in ["en", "fr-CA", "zh-Hant-TW", "es-419"] {
        let mut i = apns();
        i.locale = good.into();
        validate(&i).unwrap();
    }
}

#[test]
fn tag_rules() {
    let mut i = apns();
    i.tags = (0..61).map(|n| format!("t{n}")).collect();
    let e = validate(&i).unwrap_err();
    assert_eq!(e.field, "tags");
    assert!(e.message.contains("60"), "{e}");
    i.tags.pop();
    validate(&i).unwrap();
    for bad in ["", "has space", "a/b", "x&&y", &"a".repeat(121)] {
        let mut i = apns();
        i.tags = vec![bad.to_string()];
        assert_eq!(field_of(&i), "tags", "{bad:?}");
    }
    let mut i = apns();
    i.tags = vec!["a".into(), "a".into()];
    assert_eq!(field_of(&i), "tags");
    i.tags = vec![
        "user@x.com".into(),
        "#hash".into(),
        "a_b-c.d:e".into(),
        "a".repeat(120),
    ];
    validate(&i).unwrap();
}

#[test]
fn customer_id_rules() {
    for bad in ["", "with space", &"c".repeat(129)] {
        let mut i = apns();
        i.customer_id = Some(bad.into());
        assert_eq!(field_of(&i), "customerId", "{bad:?}");
    }
}

#[test]
fn json_wire_form_and_redacted_debug() {
    let json = serde_json::json!({
        "installationId": "inst-1", "platform": "apns", "pushChannel": "ab".repeat(32),
        "locale": "fr-CA", "tags": ["cc:UK"], "expirationTime": "2026-12-01T10:00:00Z"
    });
    let i: Installation = serde_json::from_value(json).unwrap();
    assert_eq!(i.expiration_ms, Some(1_796_119_200_000));
    let back = serde_json::to_value(&i).unwrap();
    assert_eq!(back["expirationTime"], "2026-12-01T10:00:00.000Z");
    let dbg = format!("{i:?}");
    assert!(!dbg.contains("abab"), "{dbg}");
    assert!(dbg.contains("redacted"));
    let bad = serde_json::json!({"installationId": "x", "platform": "wns", "pushChannel": "a", "locale": "en"});
    assert!(serde_json::from_value::<Installation>(bad).is_err());
}

fn op(op: &str, path: &str, value: Option<&str>) -> PatchOp {
    PatchOp {
        op: op.into(),
        path: path.into(),
        value: value.map(|v| serde_json::Value::String(v.into())),
    }
}

#[test]
fn patch_operations() {
    let i = apns();
    let p = apply_patch(
        &i,
        &[
            op("add", "/tags", Some("fan:gold")),
            op("add", "/tags", Some("cc:UK")), // already there: no duplicate
            op("remove", "/tags/sport:rugby", None),
            op("replace", "/locale", Some("en-GB")),
            op("replace", "/pushChannel", Some(&"cd".repeat(32))),
            op("replace", "/expirationTime", Some("2030-01-01T00:00:00Z")),
            op("remove", "/customerId", None),
        ],
    )
    .unwrap();
    assert_eq!(p.tags, ["cc:UK", "fan:gold"]);
    assert_eq!(p.locale, "en-GB");
    assert_eq!(p.push_channel, "cd".repeat(32));
    assert_eq!(p.expiration_ms, Some(1_893_456_000_000));
    assert_eq!(p.customer_id, None);
    let p = apply_patch(
        &p,
        &[
            op("replace", "/customerId", Some("c2")),
            op("remove", "/tags", None),
        ],
    )
    .unwrap();
    assert_eq!(p.customer_id.as_deref(), Some("c2"));
    assert!(p.tags.is_empty());
}

#[test]
fn patch_errors_name_the_field() {
    let i = apns();
    let f = |ops: &[PatchOp]| apply_patch(&i, ops).unwrap_err().field;
    assert_eq!(f(&[op("add", "/tags", Some("bad tag"))]), "tags");
    assert_eq!(f(&[op("replace", "/locale", Some("x"))]), "locale");
    assert_eq!(
        f(&[op("replace", "/pushChannel", Some("nothex"))]),
        "pushChannel"
    );
    assert_eq!(
        f(&[op("replace", "/expirationTime", Some("tomorrow"))]),
        "expirationTime"
    );
    assert_eq!(f(&[op("replace", "/platform", Some("fcm"))]), "path");
    assert_eq!(f(&[op("move", "/tags", None)]), "op");
    assert_eq!(f(&[op("add", "/tags", None)]), "tags");
    let many: Vec<PatchOp> = (0..61)
        .map(|n| op("add", "/tags", Some(&format!("t{n}"))))
        .collect();
    assert_eq!(f(&many), "tags");
}
