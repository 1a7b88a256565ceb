//! The repricer end to end over topics, and each guardrail as the service applies it
//! (published range, quote holding, freeze, override, min interval), with the audit.

mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN, PORTAL, T0, harness};
use sellout_pipelines::output::{
    FEATURES_TOPIC, FeatureBody, SIGNALS_TOPIC, SellOutFeatures, SignalDetail, push_feature,
    push_signal,
};
use sellout_pipelines::{Feature, Signal, SignalKind};
use sellout_pricing::audit::AuditQuery;
use sellout_pricing::guardrails::{GuardrailKind, Outcome};
use sellout_pricing::repricer::Repricer;
use sellout_pricing::service::QuoteRequest;
use sellout_streams::Batch;
use serde_json::json;

fn signal(id: u64, kind: SignalKind, time: i64) -> Signal {
    Signal {
        id,
        kind,
        time,
        event_id: Some("e1".into()),
        category_id: Some("c1".into()),
        venue_id: None,
        zone_id: None,
        detail: SignalDetail::Rate {
            metric: sellout_pipelines::output::RateMetric::Purchases,
            rate_per_min: 50.0,
            baseline_per_min: 10.0,
            baseline_std: 3.0,
            z: 13.0,
            cusum: 0.0,
            trigger: "z_score".into(),
        },
    }
}

fn sell_out(sold: u32, time: i64) -> Feature {
    Feature {
        id: 900 + u64::from(sold),
        time,
        body: FeatureBody::SellOut(SellOutFeatures {
            event_id: "e1".into(),
            category_id: "c1".into(),
            capacity: 1_000,
            sold,
            remaining: 1_000 - sold,
            sales_1m: 40,
            sales_15m: 400,
            sales_1h: 600,
            sales_24h: 600,
            sales_7d: 4200,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 900,
            abandonment_rate_24h: 0.1,
            buzz_posts_1h: 10,
            buzz_sentiment_1h: 0.3,
            hours_to_event: 700.0,
            price_minor: 10_000,
            currency: "GBP".into(),
        }),
    }
}

fn price(h: &common::Harness) -> i64 {
    h.service
        .category("e1", "c1")
        .expect("category")
        .price_minor
}

fn last_guardrail(h: &common::Harness) -> Option<GuardrailKind> {
    let q = AuditQuery {
        event_id: Some("e1".into()),
        category_id: Some("c1".into()),
        ..AuditQuery::default()
    };
    h.service
        .audit()
        .query(&q)
        .first()
        .and_then(|e| e.decision.guardrail)
}

#[test]
fn signals_and_features_on_the_topics_reprice_through_the_rules() {
    let h = harness();
    h.clock.set(T0 + 3_600_000);
    let now = sellout_streams::Clock::now_ms(h.clock.as_ref());
    let mut features = Batch::new();
    push_feature(&mut features, &sell_out(600, now));
    h.transport
        .append(FEATURES_TOPIC, &features)
        .expect("append");
    let mut signals = Batch::new();
    push_signal(&mut signals, &signal(1, SignalKind::Surge, now - 60_000));
    push_signal(&mut signals, &signal(2, SignalKind::Surge, now));
    h.transport.append(SIGNALS_TOPIC, &signals).expect("append");

    let mut repricer = Repricer::rule_based(h.service.clone());
    assert_eq!(repricer.poll().expect("poll"), 3);
    assert_eq!(price(&h), 10_500, "one 5% step up on a sustained surge");
    let change = h.service.category("e1", "c1").expect("c1").history[0].clone();
    assert_eq!((change.old_minor, change.new_minor), (10_000, 10_500));
    assert_eq!(change.model_version, "rule-based/1");
    assert!(
        change.detail.contains("sustained surge"),
        "{}",
        change.detail
    );
    assert_eq!(
        repricer.poll().expect("poll"),
        0,
        "positions were committed"
    );

    // A third surge at once: the minimum interval says no, and says why.
    let d = repricer
        .on_signal(&signal(3, SignalKind::Surge, now))
        .expect("reprice");
    assert_eq!(d[0].guardrail, Some(GuardrailKind::MinInterval));
    assert_eq!(price(&h), 10_500);
    assert_eq!(last_guardrail(&h), Some(GuardrailKind::MinInterval));

    // After the interval a slump steps down.
    h.clock.advance(300_000);
    repricer
        .on_signal(&signal(4, SignalKind::Slump, now + 300_000))
        .expect("reprice");
    assert_eq!(price(&h), 9_975);
    let all = h.service.audit().query(&AuditQuery::default());
    assert_eq!(
        all.len(),
        3,
        "surge change, min-interval refusal, slump change"
    );
}

#[test]
fn held_quotes_block_a_raise_until_they_expire() {
    let h = harness();
    h.clock.set(T0 + 3_600_000);
    let mut repricer = Repricer::rule_based(h.service.clone());
    let now = sellout_streams::Clock::now_ms(h.clock.as_ref());
    repricer.on_feature(&sell_out(800, now)).expect("feature");
    let quote = h
        .service
        .issue_quote(&QuoteRequest {
            event_id: "e1".into(),
            category_id: "c1".into(),
            quantity: 2,
        })
        .expect("quote");
    repricer
        .on_signal(&signal(1, SignalKind::Surge, now))
        .expect("reprice");
    let d = repricer
        .on_signal(&signal(2, SignalKind::Surge, now))
        .expect("reprice");
    assert_eq!(d[0].guardrail, Some(GuardrailKind::QuoteHeld));
    assert!(
        matches!(&d[0].outcome, Outcome::NoChange { reason } if reason.contains("1 unexpired quotes"))
    );
    assert_eq!(price(&h), 10_000);

    // The quote expires: the same surge now raises the price.
    h.clock.set(quote.expires_at + 1_000);
    let later = sellout_streams::Clock::now_ms(h.clock.as_ref());
    repricer
        .on_signal(&signal(3, SignalKind::Surge, later))
        .expect("reprice");
    repricer
        .on_signal(&signal(4, SignalKind::Surge, later))
        .expect("reprice");
    assert_eq!(price(&h), 10_500);
    // The quote is honoured at its price even though the book moved (but it expired).
    assert!(h.service.verify_quote(&quote).is_err());
}

#[tokio::test]
async fn the_published_range_is_set_before_the_sale_and_never_left() {
    let h = harness();
    let limits = json!({ "floor_minor": 5_000, "cap_minor": 30_000, "published_range": { "min_minor": 9_000, "max_minor": 10_400 } });
    let path = "/v1/admin/events/e1/categories/c1/limits";
    let (status, _, _) = h
        .call(Method::PUT, path, Some(ADMIN), Some(limits.clone()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, cat) = h
        .call(
            Method::GET,
            "/v1/events/e1/categories/c1/price",
            Some(PORTAL),
            None,
        )
        .await;
    assert_eq!(cat["category"]["published_range"]["max_minor"], 10_400);

    h.clock.set(T0 + 1);
    let wider = json!({ "floor_minor": 5_000, "cap_minor": 30_000, "published_range": { "min_minor": 9_000, "max_minor": 20_000 } });
    let (status, _, body) = h.call(Method::PUT, path, Some(ADMIN), Some(wider)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Re-sending the same range after the opening (e.g. a floor change) is fine.
    assert_eq!(
        h.call(Method::PUT, path, Some(ADMIN), Some(limits)).await.0,
        StatusCode::OK
    );

    let mut repricer = Repricer::rule_based(h.service.clone());
    repricer.on_feature(&sell_out(900, T0)).expect("feature");
    for i in 0..6u64 {
        h.clock.advance(300_000);
        let now = sellout_streams::Clock::now_ms(h.clock.as_ref());
        repricer
            .on_signal(&signal(10 + 2 * i, SignalKind::Surge, now))
            .expect("reprice");
        repricer
            .on_signal(&signal(11 + 2 * i, SignalKind::Surge, now))
            .expect("reprice");
        assert!(
            price(&h) <= 10_400,
            "left the published range: {}",
            price(&h)
        );
    }
    assert_eq!(price(&h), 10_400);
    let q = AuditQuery {
        guardrail: Some("published_range".into()),
        ..AuditQuery::default()
    };
    assert!(!h.service.audit().query(&q).is_empty());

    // An override outside the range is refused.
    let over = json!({ "price_minor": 12_000 });
    let (status, _, _) = h
        .call(
            Method::PUT,
            "/v1/admin/events/e1/categories/c1/override",
            Some(ADMIN),
            Some(over),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn freeze_and_override_hold_against_the_repricer_and_are_audited() {
    let h = harness();
    h.clock.set(T0 + 3_600_000);
    let mut repricer = Repricer::rule_based(h.service.clone());
    repricer.on_feature(&sell_out(900, T0)).expect("feature");
    let surge_twice = |r: &mut Repricer, id: u64, now: i64| {
        r.on_signal(&signal(id, SignalKind::Surge, now))
            .expect("reprice");
        r.on_signal(&signal(id + 1, SignalKind::Surge, now))
            .expect("reprice")
    };

    let freeze = "/v1/admin/events/e1/categories/c1/freeze";
    assert_eq!(
        h.call(
            Method::PUT,
            freeze,
            Some(ADMIN),
            Some(json!({ "frozen": true }))
        )
        .await
        .0,
        StatusCode::OK
    );
    let d = surge_twice(
        &mut repricer,
        1,
        sellout_streams::Clock::now_ms(h.clock.as_ref()),
    );
    assert_eq!(d[0].guardrail, Some(GuardrailKind::Freeze));
    assert_eq!(price(&h), 10_000);
    assert_eq!(
        h.call(
            Method::PUT,
            freeze,
            Some(ADMIN),
            Some(json!({ "frozen": false }))
        )
        .await
        .0,
        StatusCode::OK
    );

    let over = "/v1/admin/events/e1/categories/c1/override";
    let (status, _, d) = h
        .call(
            Method::PUT,
            over,
            Some(ADMIN),
            Some(json!({ "price_minor": 12_000 })),
        )
        .await;
    assert_eq!(
        (status, d["outcome"].clone()),
        (StatusCode::OK, json!("changed"))
    );
    assert_eq!(price(&h), 12_000);
    let d = surge_twice(
        &mut repricer,
        10,
        sellout_streams::Clock::now_ms(h.clock.as_ref()),
    );
    assert_eq!(d[0].guardrail, Some(GuardrailKind::Override));
    assert_eq!(price(&h), 12_000);
    assert_eq!(
        h.call(
            Method::PUT,
            over,
            Some(ADMIN),
            Some(json!({ "price_minor": null }))
        )
        .await
        .0,
        StatusCode::OK
    );

    let (status, _, audit) = h
        .call(
            Method::GET,
            "/v1/admin/audit?event_id=e1&category_id=c1&limit=50",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<_> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_string())
        .collect();
    // Newest first; the first surge under the freeze gave the rules no opinion yet
    // (a surge is "sustained" from the second one), so it left no decision.
    assert_eq!(
        actions,
        [
            "override", "reprice", "reprice", "override", "freeze", "reprice", "freeze"
        ]
    );
    let (_, _, history) = h
        .call(
            Method::GET,
            "/v1/events/e1/categories/c1/history",
            Some(PORTAL),
            None,
        )
        .await;
    assert_eq!(history["changes"][0]["reason"], "override");
    assert_eq!(history["changes"][0]["guardrail"], "override");
}

#[test]
fn a_replay_after_a_crash_changes_nothing() {
    let h = harness();
    h.clock.set(T0 + 3_600_000);
    let now = sellout_streams::Clock::now_ms(h.clock.as_ref());
    let mut features = Batch::new();
    push_feature(&mut features, &sell_out(700, now));
    h.transport
        .append(FEATURES_TOPIC, &features)
        .expect("append");
    let mut signals = Batch::new();
    push_signal(&mut signals, &signal(1, SignalKind::Surge, now));
    push_signal(&mut signals, &signal(2, SignalKind::Surge, now));
    h.transport.append(SIGNALS_TOPIC, &signals).expect("append");
    Repricer::rule_based(h.service.clone())
        .poll()
        .expect("poll");
    assert_eq!(price(&h), 10_500);

    // The repricer crashed before committing: a new one reads everything again,
    // later, when the minimum interval would no longer stop a second step.
    for topic in [FEATURES_TOPIC, SIGNALS_TOPIC] {
        h.transport
            .commit(topic, sellout_pricing::repricer::CONSUMER, 0)
            .expect("commit");
    }
    h.clock.advance(600_000);
    Repricer::rule_based(h.service.clone())
        .poll()
        .expect("poll");
    assert_eq!(
        price(&h),
        10_500,
        "the replayed change was recognised by its id"
    );
    assert_eq!(h.service.category("e1", "c1").expect("c1").changes, 1);
}
