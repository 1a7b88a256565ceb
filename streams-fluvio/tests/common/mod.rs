//! Helpers of the cluster tests: the cluster from `SELLOUT_FLUVIO`, numbered records,
//! contiguity-checking reads, and the lock that keeps SPU restarts apart from the
//! exactly-once assertions.

#![allow(dead_code)] // Each test binary uses its own share of these.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use sellout_streams::{Batch, Fetched, Transport};
use sellout_streams_fluvio::routing::partition_of;
use sellout_streams_fluvio::{CLUSTER_ENV, FluvioConfig, FluvioTransport};

/// Read size per call in these tests.
pub const READ: usize = 1 << 20;
/// Read size of the fetch-boundary test: many 1 MiB fetch responses per read.
pub const LONG_READ: usize = 64 << 20;

/// The SPU-restart test holds this for writing, every other cluster test for reading:
/// appends re-sent across a restart may be stored twice (at-least-once), which the
/// exactly-once assertions of the other tests must not see.
pub static SPU: RwLock<()> = RwLock::new(());

pub fn shared() -> RwLockReadGuard<'static, ()> {
    SPU.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn cluster(partitions: u32) -> Option<FluvioTransport> {
    match std::env::var(CLUSTER_ENV) {
        Ok(endpoint) if !endpoint.is_empty() => {
            let mut cfg = FluvioConfig::at(endpoint);
            cfg.topic.partitions = partitions;
            Some(FluvioTransport::connect(cfg).unwrap_or_else(|e| panic!("connect: {e}")))
        }
        _ => {
            println!("skipped: no Fluvio cluster at ${CLUSTER_ENV} (unset)");
            None
        }
    }
}

pub fn topic(name: &str) -> String {
    format!("t-{name}-{}", std::process::id())
}

/// Record `i`: key `evt-{i % events}`, time `i`, value `i` (8 bytes).
pub fn batch(range: std::ops::Range<u64>, events: u64) -> Batch {
    let mut b = Batch::with_capacity((range.end - range.start) as usize * 32);
    for i in range {
        b.push(
            format!("evt-{}", i % events).as_bytes(),
            i as i64,
            &i.to_le_bytes(),
        );
    }
    b
}

/// The `e` of a key `evt-{e}` made by [`batch`] (`u64::MAX` for any other key).
pub fn event_of(key: &[u8]) -> u64 {
    String::from_utf8_lossy(key)
        .strip_prefix("evt-")
        .and_then(|e| e.parse().ok())
        .unwrap_or(u64::MAX)
}

pub fn value(v: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(v);
    u64::from_le_bytes(b)
}

/// Appends records `0..n` in batches of `per` and returns how many landed per partition.
pub fn fill(t: &FluvioTransport, topic: &str, n: u64, per: u64, events: u64) -> Vec<u64> {
    let partitions = t.partitions(topic).unwrap_or_else(|e| panic!("{e}"));
    let mut counts = vec![0u64; partitions as usize];
    let mut i = 0;
    while i < n {
        let b = batch(i..(i + per).min(n), events);
        let landed = t
            .append_routed(topic, &b)
            .unwrap_or_else(|e| panic!("append: {e}"));
        assert_eq!(landed.len() as u32, b.len());
        for (r, l) in b.iter(0).zip(&landed) {
            assert_eq!(
                l.partition,
                partition_of(r.key, partitions),
                "routed by key"
            );
            counts[l.partition as usize] += 1;
        }
        i += per;
    }
    counts
}

/// Reads one partition from `from` to its end, checking contiguity as it goes; calls
/// `each(offset, key, value)` for every record.
pub fn drain(
    view: &dyn Transport,
    topic: &str,
    from: u64,
    each: impl FnMut(u64, &[u8], u64),
) -> u64 {
    drain_with(view, topic, from, READ, each)
}

/// [`drain`] with reads of `read_bytes`.
pub fn drain_with(
    view: &dyn Transport,
    topic: &str,
    from: u64,
    read_bytes: usize,
    mut each: impl FnMut(u64, &[u8], u64),
) -> u64 {
    let mut next = from;
    loop {
        let f: Fetched = view
            .read(topic, next, read_bytes)
            .unwrap_or_else(|e| panic!("read: {e}"));
        if f.is_empty() {
            return next;
        }
        for r in f.records() {
            assert_eq!(r.offset, next, "contiguous offsets");
            each(r.offset, r.key, value(r.value));
            next += 1;
        }
        assert_eq!(f.next_offset(), next);
    }
}

/// Appends records `0..n` on a thread of its own (`append(i)` appends from record `i`
/// and returns the next), restarts the SPU with the shell command `restart` once a
/// quarter is in, then reads every partition of `topic` back and asserts that each
/// record is stored exactly once. `what` names the appends in the printed summary.
pub fn restart_while_appending(
    t: &FluvioTransport,
    topic: &str,
    partitions: u32,
    n: u64,
    restart: &str,
    what: &str,
    append: impl Fn(u64) -> u64 + Sync,
) {
    let appended = AtomicU64::new(0);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut i = 0;
            while i < n {
                i = append(i);
                appended.store(i, Ordering::Release);
            }
        });
        // Restart once the writer is well under way.
        while appended.load(Ordering::Acquire) < n / 4 {
            std::thread::yield_now();
        }
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(restart)
            .status()
            .unwrap_or_else(|e| panic!("restart command: {e}"));
        assert!(status.success(), "restart command failed");
        writer.join().unwrap_or_else(|_| panic!("writer panicked"));
    });
    let mut got = Vec::new();
    for p in 0..partitions {
        // A freshly restarted SPU may answer "nothing yet" for a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut from = 0;
        loop {
            from = drain(&t.partition(p), topic, from, |_, _, v| got.push(v));
            if from > 0 || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    got.sort_unstable();
    let stored = got.len();
    got.dedup();
    println!(
        "{what} during an SPU restart: {} records stored twice of {n}; repairs {:?}",
        stored - got.len(),
        t.stats()
    );
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "nothing lost");
    assert_eq!(stored, got.len(), "nothing stored twice");
}
