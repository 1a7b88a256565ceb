//! Appends whose parts are sent as they are pushed (`Transport::begin_append`), against
//! a real Fluvio cluster named by `SELLOUT_FLUVIO`; each test prints `skipped: ...` and
//! passes when it is unset.

mod common;

use std::collections::HashMap;

use common::*;
use sellout_streams::Transport;

/// Records `from..from + parts * per` as one streamed append of `parts` parts.
fn stream(t: &dyn Transport, topic: &str, from: u64, parts: u64, per: u64, events: u64) -> u32 {
    let mut a = t
        .begin_append(topic)
        .unwrap_or_else(|e| panic!("begin: {e}"));
    for k in 0..parts {
        let start = from + k * per;
        a.push(batch(start..start + per, events))
            .unwrap_or_else(|e| panic!("push: {e}"));
    }
    a.finish().unwrap_or_else(|e| panic!("finish: {e}")).count
}

#[test]
fn parts_land_in_order_and_together_beside_another_append() {
    let _shared = shared();
    let Some(t) = cluster(3) else { return };
    let topic = topic("streamed");
    t.partitions(&topic).unwrap_or_else(|e| panic!("{e}"));
    let (parts, per, events) = (12u64, 2_500u64, 40u64);
    let n = parts * per;
    let mut a = t
        .begin_append(&topic)
        .unwrap_or_else(|e| panic!("begin: {e}"));
    a.push(batch(0..per, events))
        .unwrap_or_else(|e| panic!("push: {e}"));
    let count = std::thread::scope(|s| {
        // A plain append begun meanwhile waits for the topic (or takes it first).
        let other = s.spawn(|| {
            t.append_routed(&topic, &batch(n..n + 1_000, events))
                .unwrap_or_else(|e| panic!("other append: {e}"))
        });
        for k in 1..parts {
            a.push(batch(k * per..(k + 1) * per, events))
                .unwrap_or_else(|e| panic!("push: {e}"));
        }
        let count = a.finish().unwrap_or_else(|e| panic!("finish: {e}")).count;
        other
            .join()
            .unwrap_or_else(|_| panic!("other append panicked"));
        count
    });
    assert_eq!(u64::from(count), n);

    let mut values_of_key: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
    for p in 0..3u32 {
        let mut values = Vec::new();
        drain(&t.partition(p), &topic, 0, |_, key, v| {
            values_of_key.entry(key.to_vec()).or_default().push(v);
            values.push(v);
        });
        // The two appends do not interleave in a partition: each one's records there
        // are contiguous (whichever took the topic first).
        let streamed: Vec<usize> = (0..values.len()).filter(|&i| values[i] < n).collect();
        if let (Some(&a), Some(&b)) = (streamed.first(), streamed.last()) {
            assert_eq!(
                b - a + 1,
                streamed.len(),
                "partition {p}: the other append interleaved with the streamed one"
            );
        }
    }
    assert_eq!(values_of_key.len(), events as usize);
    for (key, values) in values_of_key {
        let e = event_of(&key);
        // Each append's records of a key in the order appended.
        for range in [0..n, n..n + 1_000] {
            let got: Vec<u64> = values
                .iter()
                .copied()
                .filter(|v| range.contains(v))
                .collect();
            let want: Vec<u64> = range.filter(|i| i % events == e).collect();
            assert_eq!(got, want, "records of {}", String::from_utf8_lossy(&key));
        }
    }
    // A streamed append of nothing appends nothing.
    let empty = t
        .begin_append(&topic)
        .unwrap_or_else(|e| panic!("begin: {e}"));
    assert_eq!(empty.finish().map(|a| a.count).ok(), Some(0));
    t.delete_topic(&topic).unwrap_or_else(|e| panic!("{e}"));
}

/// Restarts the SPU (`SELLOUT_FLUVIO_SPU_RESTART`, see cluster.rs) while streamed
/// appends go on: every record stored exactly once.
#[test]
fn streamed_appends_across_an_spu_restart_store_each_record_once() {
    let Ok(restart) = std::env::var("SELLOUT_FLUVIO_SPU_RESTART") else {
        println!("skipped: no SPU restart command in $SELLOUT_FLUVIO_SPU_RESTART (unset)");
        return;
    };
    let _alone = SPU.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some(t) = cluster(2) else { return };
    let topic = topic("streamed-spu");
    let (parts, per) = (5u64, 800u64);
    let n = 400_000u64;
    restart_while_appending(&t, &topic, 2, n, &restart, "streamed appends", |i| {
        let count = stream(&t, &topic, i, parts, per, 100);
        assert_eq!(u64::from(count), parts * per);
        i + parts * per
    });
    t.delete_topic(&topic).unwrap_or_else(|e| panic!("{e}"));
}
