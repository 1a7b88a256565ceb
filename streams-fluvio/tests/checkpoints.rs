//! The checkpoint topic's bound, against a real Fluvio cluster named by
//! `SELLOUT_FLUVIO` (prints `skipped: no Fluvio cluster at $SELLOUT_FLUVIO (unset)` and
//! passes when it is unset): commits that did not move append nothing, and an idle
//! position is re-appended near the head while its owner commits others, so retention
//! dropping all but the newest records keeps it. Topics are per process and deleted.

use sellout_streams::Transport;
use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, FluvioTransport};

#[test]
fn commits_that_did_not_move_append_nothing_and_idle_positions_stay_near_the_head() {
    let endpoint = match std::env::var(CLUSTER_ENV) {
        Ok(e) if !e.is_empty() => e,
        _ => {
            println!("skipped: no Fluvio cluster at ${CLUSTER_ENV} (unset)");
            return;
        }
    };
    let pid = std::process::id();
    let mut cfg = FluvioConfig::at(endpoint);
    cfg.topic.partitions = 2;
    cfg.checkpoint_topic = format!("t-cpbound-{pid}");
    cfg.checkpoint.refresh_after_records = 10;
    let t = FluvioTransport::connect(cfg.clone()).unwrap_or_else(|e| panic!("connect: {e}"));
    let data = format!("t-cpdata-{pid}");
    assert_eq!(t.partitions(&data).ok(), Some(2));
    let view = t.partition(1);
    let end = || {
        t.offsets(&cfg.checkpoint_topic)
            .unwrap_or_else(|e| panic!("offsets: {e}"))
            .end
    };

    view.commit(&data, "idle", 7)
        .unwrap_or_else(|e| panic!("{e}"));
    let after_first = end();
    view.commit(&data, "idle", 7)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(end(), after_first, "an unmoved commit appended a record");

    for i in 0..100 {
        view.commit(&data, "busy", i)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let last = end();
    // 100 moving commits plus one refresh of `idle` about every 10.
    assert!(
        (after_first + 100 + 8..=after_first + 100 + 11).contains(&last),
        "{} records for 100 commits",
        last - after_first
    );
    // Retention keeping only the newest 11 records would still keep `idle`.
    let tail = t
        .read(&cfg.checkpoint_topic, last - 11, 1 << 20)
        .unwrap_or_else(|e| panic!("read: {e}"));
    let idle_key = format!("{data}/1/idle");
    let idle: Vec<u64> = tail
        .records()
        .filter(|r| r.key == idle_key.as_bytes())
        .map(|r| u64::from_le_bytes(r.value.try_into().unwrap_or([0xff; 8])))
        .collect();
    assert_eq!(idle, vec![7], "idle position among the newest records");

    // A fresh process reads both back.
    let fresh = FluvioTransport::connect(cfg.clone()).unwrap_or_else(|e| panic!("{e}"));
    let v = fresh.partition(1);
    assert_eq!(v.committed(&data, "idle").ok().flatten(), Some(7));
    assert_eq!(v.committed(&data, "busy").ok().flatten(), Some(99));
    assert_eq!(
        fresh.partition(0).committed(&data, "busy").ok().flatten(),
        None
    );

    t.delete_topic(&data).unwrap_or_else(|e| panic!("{e}"));
    t.delete_topic(&cfg.checkpoint_topic)
        .unwrap_or_else(|e| panic!("{e}"));
}
