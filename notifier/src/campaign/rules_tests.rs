use std::collections::BTreeMap;

use super::*;
use crate::campaign::{Trigger, TriggerKind};

const EXAMPLE: &str = include_str!("../../campaigns.example.toml");

fn one(toml_text: &str) -> Result<Campaign, RuleError> {
    CampaignsFile::parse_toml(toml_text).map(|mut v| v.remove(0))
}

fn campaign(trigger: &str, extra: &str) -> Campaign {
    one(&format!(
        "[[campaign]]\nid = \"c\"\ntrigger = {trigger}\n{extra}\ndefault_locale = \"en\"\n\
         [campaign.templates.en]\ntitle = \"t\"\nbody = \"b\"\n"
    ))
    .unwrap()
}

fn trigger(kind: TriggerKind, value: f64) -> Trigger {
    Trigger {
        id: 1,
        kind,
        time_ms: 0,
        event_id: Some("e1".into()),
        venue_id: Some("v1".into()),
        zone_id: Some("z1".into()),
        category_id: Some("cat-a".into()),
        value,
        customer_id: Some("cust-1".into()),
        properties: BTreeMap::new(),
    }
}

#[test]
fn example_file_parses_into_realistic_campaigns() {
    let campaigns = CampaignsFile::parse_toml(EXAMPLE).unwrap();
    let ids: Vec<&str> = campaigns.iter().map(Campaign::id).collect();
    assert_eq!(
        ids,
        [
            "food-short-queue",
            "merch-nearby",
            "cart-reminder",
            "surge-selling-fast"
        ]
    );
    let food = &campaigns[0];
    assert_eq!(food.validity_ms(), 5 * 60_000);
    assert_eq!(food.offers[0].percent, 20);
    assert_eq!(
        food.templates.locales().collect::<Vec<_>>(),
        ["en", "fr", "fr-ca"]
    );
    assert_eq!(campaigns[1].offers.len(), 2);
    assert_eq!(
        campaigns[3].spec.audience.tags.as_deref(),
        Some("event:coldplay-2026-06-12 && !purchased:coldplay-2026-06-12")
    );
}

#[test]
fn unknown_fields_are_errors_with_positions() {
    let typo = EXAMPLE.replacen("validity_minutes = 5", "validty_minutes = 5", 1);
    let err = CampaignsFile::parse_toml(&typo).unwrap_err().to_string();
    assert!(
        err.contains("validty_minutes") && err.contains("line"),
        "{err}"
    );
    let bad_trigger = EXAMPLE.replacen("at_most = 5", "max = 5", 1);
    let err = CampaignsFile::parse_toml(&bad_trigger)
        .unwrap_err()
        .to_string();
    assert!(err.contains("max"), "{err}");
    let bad_kind = EXAMPLE.replacen("kind = \"queue_short\"", "kind = \"queue_shorter\"", 1);
    assert!(CampaignsFile::parse_toml(&bad_kind).is_err());
    let bad_caps = EXAMPLE.replacen("per_hour = 1, per_day = 3", "per_hour = 1, per_week = 3", 1);
    assert!(
        CampaignsFile::parse_toml(&bad_caps)
            .unwrap_err()
            .to_string()
            .contains("per_week")
    );
    let top = format!("{EXAMPLE}\nverbose = true\n");
    assert!(CampaignsFile::parse_toml(&top).is_err());
}

#[test]
fn unknown_template_property_fails_the_load() {
    let bad = EXAMPLE.replacen("$(offer.percent)% off at", "$(offer.pct)% off at", 1);
    match CampaignsFile::parse_toml(&bad).unwrap_err() {
        RuleError::Template {
            campaign,
            at,
            source,
        } => {
            assert_eq!(
                (campaign.as_str(), at.as_str()),
                ("food-short-queue", "en.title")
            );
            assert!(
                matches!(source, TemplateError::UnknownProperty { name, .. } if name == "offer.pct")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // Voucher properties need an offer; cart_value needs an abandoned-cart trigger.
    let no_offer = "[[campaign]]\nid = \"s\"\ntrigger = { kind = \"surge\" }\ndefault_locale = \"en\"\n\
                    [campaign.templates.en]\ntitle = \"$(voucher.code)\"\nbody = \"$(cart_value)\"\n";
    assert!(matches!(one(no_offer), Err(RuleError::Template { .. })));
}

#[test]
fn invalid_rules_are_refused() {
    let base =
        "[[campaign]]\nid = \"c\"\ntrigger = { kind = \"surge\" }\ndefault_locale = \"en\"\n";
    let en = "[campaign.templates.en]\ntitle = \"t\"\nbody = \"b\"\n";
    let cases = [
        format!("{base}offer = {{ kind = \"food\" }}\n{en}"),
        format!(
            "{base}offer = {{ kind = \"food\", percent = 10, choose_from = [{{ kind = \"food\", percent = 5 }}] }}\n{en}"
        ),
        format!("{base}offer = {{ kind = \"food\", percent = 0 }}\n{en}"),
        format!("{base}validity_minutes = 0\n{en}"),
        format!("{base}quiet_hours = {{ start = \"25:00\", end = \"08:00\" }}\n{en}"),
        format!("{base}[campaign.templates.fr]\ntitle = \"t\"\nbody = \"b\"\n"),
        base.replace("id = \"c\"", "id = \"bad id\"") + en,
        base.replace(
            "{ kind = \"surge\" }",
            "{ kind = \"scheduled\", at = \"tomorrow\" }",
        ) + en,
    ];
    for case in &cases {
        assert!(
            matches!(one(case), Err(RuleError::Invalid { .. })),
            "{case}"
        );
    }
    let twice = format!("{base}{en}{base}{en}");
    assert_eq!(
        CampaignsFile::parse_toml(&twice),
        Err(RuleError::Duplicate("c".into()))
    );
}

#[test]
fn json_errors_name_the_field() {
    let err = CampaignSpec::from_json(br#"{"id":"c","trigger":{"kind":"surge","min_z":"high"}}"#)
        .unwrap_err();
    assert!(
        matches!(&err, RuleError::Json { path, .. } if path.contains("trigger")),
        "{err}"
    );
}

#[test]
fn queue_conditions() {
    let long = campaign(
        "{ kind = \"queue_long\", zone = \"z1\", longer_than = 10 }",
        "",
    );
    assert!(long.matches(&trigger(TriggerKind::QueueLong, 11.0)));
    assert!(!long.matches(&trigger(TriggerKind::QueueLong, 10.0)));
    assert!(!long.matches(&trigger(TriggerKind::QueueShort, 11.0)));
    let mut elsewhere = trigger(TriggerKind::QueueLong, 30.0);
    elsewhere.zone_id = Some("z2".into());
    assert!(!long.matches(&elsewhere));
    let short = campaign("{ kind = \"queue_short\", at_most = 3 }", "");
    assert!(short.matches(&trigger(TriggerKind::QueueShort, 3.0)));
    assert!(short.matches(&elsewhere_kind(TriggerKind::QueueShort, 2.0)));
    assert!(!short.matches(&trigger(TriggerKind::QueueShort, 4.0)));
}

fn elsewhere_kind(kind: TriggerKind, value: f64) -> Trigger {
    let mut t = trigger(kind, value);
    t.zone_id = Some("z9".into());
    t
}

#[test]
fn cart_surge_slump_buzz_and_scheduled_conditions() {
    let cart = campaign(
        "{ kind = \"cart_abandoned\", value_above_minor = 10000 }",
        "",
    );
    assert!(cart.matches(&trigger(TriggerKind::CartAbandoned, 10001.0)));
    assert!(!cart.matches(&trigger(TriggerKind::CartAbandoned, 10000.0)));
    let mut anonymous = trigger(TriggerKind::CartAbandoned, 50000.0);
    anonymous.customer_id = None;
    assert!(!cart.matches(&anonymous));
    assert_eq!(cart.audience_query(&anonymous).customer_id, None);
    assert_eq!(
        cart.audience_query(&trigger(TriggerKind::CartAbandoned, 1.0))
            .customer_id
            .as_deref(),
        Some("cust-1")
    );

    let surge = campaign(
        "{ kind = \"surge\", category = \"cat-a\", min_z = 3.0 }",
        "event_id = \"e1\"",
    );
    assert!(surge.matches(&trigger(TriggerKind::Surge, 3.5)));
    assert!(!surge.matches(&trigger(TriggerKind::Surge, 2.5)));
    let mut other_event = trigger(TriggerKind::Surge, 5.0);
    other_event.event_id = Some("e2".into());
    assert!(!surge.matches(&other_event));
    let slump = campaign("{ kind = \"slump\" }", "venue_id = \"v1\"");
    assert!(slump.matches(&trigger(TriggerKind::Slump, -4.0)));
    assert!(!slump.matches(&trigger(TriggerKind::Surge, 4.0)));
    let buzz = campaign("{ kind = \"buzz\", min_z = 2.0 }", "");
    assert!(buzz.matches(&trigger(TriggerKind::Buzz, 2.0)));
    assert!(!buzz.matches(&trigger(TriggerKind::Buzz, 1.9)));
    let off = campaign("{ kind = \"buzz\" }", "enabled = false");
    assert!(!off.matches(&trigger(TriggerKind::Buzz, 9.0)));

    let sched = campaign(
        "{ kind = \"scheduled\", at = \"2026-06-12T18:30:00+02:00\" }",
        "",
    );
    assert_eq!(sched.scheduled_at_ms, Some(1_781_281_800_000));
    let mut tick = trigger(TriggerKind::Scheduled, 0.0);
    assert!(!sched.matches(&tick));
    tick.properties.insert("campaign".into(), "c".into());
    assert!(sched.matches(&tick));
}

#[test]
fn near_zone_query_uses_the_trigger_zone_or_a_named_one() {
    let near = campaign(
        "{ kind = \"queue_short\" }",
        "audience = { tags = \"fan\", near_zone = { within_minutes = 10 } }",
    );
    let mut t = trigger(TriggerKind::QueueShort, 1.0);
    t.time_ms = 1_000_000;
    let q = near.audience_query(&t);
    assert_eq!(q.tags.as_deref(), Some("fan"));
    assert_eq!(q.near_zone, Some(("z1".into(), 1_000_000 - 600_000)));
    let named = campaign(
        "{ kind = \"queue_short\" }",
        "audience = { near_zone = { within_minutes = 1, zone = \"gate-a\" } }",
    );
    assert_eq!(
        named.audience_query(&t).near_zone,
        Some(("gate-a".into(), 1_000_000 - 60_000))
    );
}
