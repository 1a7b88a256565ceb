//! A poll that fails part-way through a batch of triggers (the `deliveries` log refuses
//! an append) loses none of them and sends none twice: the next poll re-reads the batch
//! against an engine rebuilt from `deliveries`.

mod support;

use std::sync::Arc;

use sellout_notifier::delivery::{DELIVERIES_TOPIC, Outcome};
use sellout_notifier::installation::Platform;
use sellout_notifier::runtime::{Directory, Runtime};
use sellout_streams::refusing::RefusingAppends;
use support::{Rig, T0, append_signal, cart, deliveries, engine, installation, rig};

/// Three customers' abandoned carts in one batch of signals; the notifier's
/// `fail_at`-th append to `deliveries` is refused. Returns the rig, the runtime and
/// what the failed poll said.
async fn three_carts_with_a_refused_append(fail_at: u64) -> (Rig, Runtime, String) {
    let r = rig().await;
    for i in 1..=3 {
        let platform = if i == 2 {
            Platform::Fcm
        } else {
            Platform::Apns
        };
        let customer = format!("cus-{i:06}");
        r.store
            .upsert(installation(i, platform, Some(&customer)))
            .expect("upsert");
        append_signal(&r.log, &cart(u64::from(i), &customer, 18_000));
    }
    let flaky = Arc::new(RefusingAppends::new(r.log.clone(), DELIVERIES_TOPIC));
    flaky.refuse_nth(fail_at);
    let mut rt = Runtime::open(
        Directory::Embedded(r.store.clone()),
        engine(),
        r.senders.clone(),
        flaky,
        Some(r._dir.path().join("notifier.checkpoint")),
    )
    .expect("runtime");
    let failed = rt.poll(T0 + 1_000).await.expect_err("an append is refused");
    (r, rt, failed.to_string())
}

/// Each customer's cart reminder was planned once and delivered once.
fn assert_each_reached_once(r: &Rig) {
    let records = deliveries(&r.log);
    for i in 1..=3 {
        let id = format!("ins-{i:06}");
        let count = |o: Outcome| {
            records
                .iter()
                .filter(|d| d.installation_id == id && d.outcome == o)
                .count()
        };
        assert_eq!(
            (count(Outcome::Planned), count(Outcome::Delivered)),
            (1, 1),
            "{id}: {records:?}"
        );
    }
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (2, 1));
    assert_eq!((r.apns.duplicates(), r.fcm.duplicates()), (0, 0));
}

#[tokio::test]
async fn a_refused_plan_record_is_planned_again_and_the_rest_of_the_batch_is_not_lost() {
    // Appends: 1st cart planned, its outcome, then the 2nd cart's planned records.
    let (r, mut rt, error) = three_carts_with_a_refused_append(3).await;
    assert!(error.contains("no space left"), "{error}");
    // The first cart went out before the failure; the second was never sent.
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (1, 0));
    let report = rt
        .poll(T0 + 2_000)
        .await
        .expect("the log takes appends again");
    assert_eq!(
        report.signals, 3,
        "the whole batch is read again: {report:?}"
    );
    assert_eq!(
        (report.planned, report.delivered, report.suppressed),
        (2, 2, 1),
        "the first cart is a duplicate, the other two go out: {report:?}"
    );
    assert_each_reached_once(&r);
    // Nothing is left to read.
    let idle = rt.poll(T0 + 3_000).await.expect("poll");
    assert_eq!((idle.signals, idle.planned), (0, 0), "{idle:?}");
}

#[tokio::test]
async fn a_refused_outcome_record_sends_nothing_twice_and_the_rest_of_the_batch_is_not_lost() {
    // Appends: 1st cart planned, its outcome, 2nd planned, then the 2nd's outcome.
    let (r, mut rt, error) = three_carts_with_a_refused_append(4).await;
    assert!(error.contains("no space left"), "{error}");
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (1, 1));
    let report = rt
        .poll(T0 + 2_000)
        .await
        .expect("the log takes appends again");
    assert_eq!(
        (report.planned, report.delivered, report.suppressed),
        (1, 1, 2),
        "only the third cart is left to send: {report:?}"
    );
    let records = deliveries(&r.log);
    // The second cart's outcome record was refused; the send itself happened once.
    assert_eq!(
        records
            .iter()
            .filter(|d| d.installation_id == "ins-000002" && d.outcome == Outcome::Delivered)
            .count(),
        0
    );
    assert_eq!((r.apns.delivered(), r.fcm.delivered()), (2, 1));
    assert_eq!((r.apns.duplicates(), r.fcm.duplicates()), (0, 0));
    assert_eq!(
        records
            .iter()
            .filter(|d| d.installation_id == "ins-000003" && d.outcome == Outcome::Delivered)
            .count(),
        1
    );
}
