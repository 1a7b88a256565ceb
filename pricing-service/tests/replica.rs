//! Replicas: a book rebuilt from the durable log equals the live book, a following
//! replica sees live changes, and the SSE stream carries them.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use common::{ADMIN, PORTAL, T0, config, harness, harness_with};
use http_body_util::BodyExt;
use sellout_pricing::audit::Actor;
use sellout_pricing::change::{ChangeReason, PriceRange};
use sellout_pricing::guardrails::{Decision, Proposal, decide};
use sellout_pricing::service::{Action, LimitsRequest, PricingService};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{ManualClock, Transport};
use tower::ServiceExt;

fn propose(
    service: &PricingService,
    event: &str,
    category: &str,
    target: i64,
    trigger: u64,
) -> Option<Decision> {
    let now = service.clock().now_ms();
    service
        .decide_and_apply(
            event,
            category,
            Action {
                actor: Actor::Repricer,
                name: "reprice",
                reason: ChangeReason::Repricer,
                trigger: &trigger.to_le_bytes(),
            },
            |s| {
                Some(decide(
                    &Proposal {
                        target_minor: target,
                        reason: "test".into(),
                        model_version: "test/1".into(),
                    },
                    s,
                    now,
                ))
            },
        )
        .expect("applies")
        .map(|(d, _)| d)
}

fn open_log(dir: &std::path::Path) -> Arc<dyn Transport> {
    Arc::new(
        EmbeddedLog::open(dir, LogConfig::default(), Arc::new(ManualClock::new(0)))
            .expect("log opens"),
    )
}

#[test]
fn a_replica_rebuilt_from_the_log_equals_the_live_book() {
    let dir = tempfile::tempdir().expect("tempdir");
    let live = harness_with(config(), open_log(dir.path()));
    let s = &live.service;
    s.set_limits(
        "e1",
        "c2",
        LimitsRequest {
            floor_minor: 2_500,
            cap_minor: 15_000,
            published_range: Some(PriceRange {
                min_minor: 4_000,
                max_minor: 7_000,
            }),
        },
    )
    .expect("limits");
    live.clock.set(T0);
    let mut trigger = 0;
    for round in 0..30 {
        live.clock.advance(301_000);
        for (e, c) in [("e1", "c1"), ("e1", "c2"), ("e2", "c1")] {
            trigger += 1;
            let cur = s.category(e, c).expect("category").price_minor;
            let target = if round % 3 == 2 { cur - 700 } else { cur + 900 };
            propose(s, e, c, target, trigger);
        }
    }
    s.set_override("e2", "c2", Some(6_000)).expect("override");
    s.set_freeze("e1", "c1", true).expect("freeze");
    let snapshot = s.book().snapshot();
    assert!(snapshot.category("e1", "c1").expect("c1").changes >= 20);
    assert!(snapshot.category("e1", "c2").expect("c2").price_minor <= 7_000);

    // A second replica on the same log.
    let replica = harness_with(config(), live.transport.clone());
    assert_eq!(*replica.service.book().snapshot(), *snapshot);
    assert_eq!(
        replica.service.audit().query(&Default::default()),
        s.audit().query(&Default::default())
    );

    // A replica after a restart, reading the files back.
    drop(replica);
    drop(live);
    let restarted = harness_with(config(), open_log(dir.path()));
    assert_eq!(*restarted.service.book().snapshot(), *snapshot);
}

#[tokio::test]
async fn a_following_replica_sees_live_changes() {
    let live = harness();
    let replica = harness_with(config(), live.transport.clone());
    let mut changes = replica.service.book().subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let follower = tokio::spawn(replica.service.clone().follow(async {
        let _ = stopped.await;
    }));
    live.clock.set(T0);
    live.service
        .set_override("e1", "c1", Some(11_000))
        .expect("override");
    replica.service.book().poke();
    let change = changes.recv().await.expect("a change");
    assert_eq!((change.event_id.as_str(), change.new_minor), ("e1", 11_000));
    assert_eq!(
        *replica.service.book().snapshot(),
        *live.service.book().snapshot()
    );
    let _ = stop.send(());
    follower.await.expect("follower stops");
}

#[tokio::test]
async fn the_price_stream_sends_a_snapshot_then_each_change() {
    let h = harness();
    let req = Request::builder()
        .uri("/v1/events/e1/prices/stream")
        .header("authorization", format!("Bearer {PORTAL}"))
        .body(Body::empty())
        .expect("request");
    let response = h.router().oneshot(req).await.expect("response");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = response.into_body();
    let frame = body
        .frame()
        .await
        .expect("frame")
        .expect("ok")
        .into_data()
        .expect("data");
    let text = String::from_utf8_lossy(&frame);
    assert!(
        text.starts_with("event: snapshot\ndata: {\"event_id\":\"e1\""),
        "{text}"
    );

    // A change to another event is not sent; one to this event is.
    h.clock.set(T0);
    h.service
        .set_override("e2", "c1", Some(9_000))
        .expect("override");
    h.service
        .set_override("e1", "c2", Some(6_000))
        .expect("override");
    let frame = body
        .frame()
        .await
        .expect("frame")
        .expect("ok")
        .into_data()
        .expect("data");
    let text = String::from_utf8_lossy(&frame);
    assert!(text.starts_with("event: price\n"), "{text}");
    assert!(
        text.contains("\"category_id\":\"c2\"") && text.contains("\"new_minor\":6000"),
        "{text}"
    );
    let _ = ADMIN;
}
