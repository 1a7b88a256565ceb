//! Without a cluster: the same records routed to four partitions (embedded logs standing
//! in for Fluvio partitions, routed exactly as the Fluvio transport routes), run by two
//! workers owning {0,1} and {2,3}, give exactly the signals and features of one runner
//! over one log.

mod common;

use std::sync::Arc;

use sellout_fluvio::{PartitionSet, Shutdown, Worker};
use std::sync::atomic::{AtomicU64, Ordering};

use sellout_streams::{Clock, Transport};

use common::{
    Multiset, assert_same, catalog, count, open_log, partition, pipelines, records, values, write,
};

#[test]
fn two_workers_over_four_partitions_match_one_runner() {
    let records = records();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (signals, features) = common::reference(&dir.path().join("reference"), &records);

    let logs: Vec<_> = (0..4)
        .map(|p| open_log(&dir.path().join(format!("p{p}"))))
        .collect();
    for p in 0..4u32 {
        let mine: Vec<_> = records
            .iter()
            .filter(|r| partition(r, 4) == p)
            .cloned()
            .collect();
        assert!(!mine.is_empty(), "partition {p} got no records");
        write(&mine, |topic, batch| {
            logs[p as usize]
                .append(topic, batch)
                .unwrap_or_else(|e| panic!("{e}"));
        });
    }
    let open = {
        let logs = logs.clone();
        Arc::new(move |p: u32| logs[p as usize].clone() as Arc<dyn Transport>)
    };
    let workers: Vec<Worker> = ["0,1", "2-3"]
        .iter()
        .map(|set| {
            Worker::new(
                pipelines(),
                dir.path().join("workers"),
                catalog(),
                set.parse::<PartitionSet>()
                    .unwrap_or_else(|e| panic!("{e}")),
                open.clone(),
            )
        })
        .collect();
    let end = workers[0].input_end(4).unwrap_or_else(|e| panic!("{e}"));
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = workers.iter().map(|w| s.spawn(|| w.drain(end))).collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("worker panicked"))
                    .unwrap_or_else(|e| panic!("drain: {e}"))
                    .values()
                    .map(|r| r.totals.records)
                    .sum::<u64>()
            })
            .sum()
    });
    assert_eq!(total, records.len() as u64);

    let (mut got_signals, mut got_features) = (Multiset::new(), Multiset::new());
    for log in &logs {
        count(&mut got_signals, values(log.as_ref(), "signals"));
        count(&mut got_features, values(log.as_ref(), "features"));
    }
    assert_same("signals", &signals, &got_signals);
    assert_same("features", &features, &got_features);
}

/// A live worker (processing time standing still, so no source goes idle) stopped at
/// an arbitrary point, then drained: the outputs are those of one bounded runner,
/// whatever the point, and nothing is written twice.
#[test]
fn a_live_worker_stopped_anywhere_then_drained_matches_one_runner() {
    let records = records();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (signals, features) = common::reference(&dir.path().join("reference"), &records);
    let logs: Vec<_> = (0..4)
        .map(|p| open_log(&dir.path().join(format!("p{p}"))))
        .collect();
    for p in 0..4u32 {
        let mine: Vec<_> = records
            .iter()
            .filter(|r| partition(r, 4) == p)
            .cloned()
            .collect();
        write(&mine, |topic, batch| {
            logs[p as usize]
                .append(topic, batch)
                .unwrap_or_else(|e| panic!("{e}"));
        });
    }
    let open = {
        let logs = logs.clone();
        Arc::new(move |p: u32| logs[p as usize].clone() as Arc<dyn Transport>)
    };
    let worker = Worker::new(
        pipelines(),
        dir.path().join("worker"),
        catalog(),
        "0-3"
            .parse::<PartitionSet>()
            .unwrap_or_else(|e| panic!("{e}")),
        open,
    );
    let shutdown = Arc::new(Shutdown::new());
    // The clock gives the stop signal after a few polls (each poll reads it).
    let clock = Arc::new(StopAfter {
        calls: AtomicU64::new(0),
        after: 6,
        shutdown: shutdown.clone(),
    });
    let live: u64 = std::thread::scope(|s| {
        let serving = s.spawn(|| worker.serve(clock, shutdown.clone()));
        serving
            .join()
            .unwrap_or_else(|_| panic!("worker panicked"))
            .unwrap_or_else(|e| panic!("serve: {e}"))
            .values()
            .map(|r| r.totals.records)
            .sum()
    });
    assert!(
        live > 0,
        "the live worker processed nothing before it stopped"
    );
    let end = worker.input_end(4).unwrap_or_else(|e| panic!("{e}"));
    let drained = worker.drain(end).unwrap_or_else(|e| panic!("{e}"));
    let total: u64 = drained.values().map(|r| r.totals.records).sum();
    assert_eq!(total, records.len() as u64, "{live} processed live");
    let (mut got_signals, mut got_features) = (Multiset::new(), Multiset::new());
    for log in &logs {
        count(&mut got_signals, values(log.as_ref(), "signals"));
        count(&mut got_features, values(log.as_ref(), "features"));
    }
    assert_same("signals", &signals, &got_signals);
    assert_same("features", &features, &got_features);
}

/// Processing time standing still at 0, and a stop signal after `after` readings.
struct StopAfter {
    calls: AtomicU64,
    after: u64,
    shutdown: Arc<Shutdown>,
}

impl Clock for StopAfter {
    fn now_ms(&self) -> i64 {
        if self.calls.fetch_add(1, Ordering::AcqRel) + 1 >= self.after {
            self.shutdown.stop();
        }
        0
    }
}
