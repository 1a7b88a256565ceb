//! Shared by the resume tests: a live runner stopped after `k` polls of `m` records,
//! checkpointed, reopened and drained, against one bounded run over the same input
//! (signals and features compared as multisets of their wire values).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use sellout_ingest::catalog::Catalog;
use sellout_ingest::records::{AnyRecord, wire};
use sellout_pipelines::{PipelinesConfig, Runner};
use sellout_streams::log::{EmbeddedLog, LogConfig};
use sellout_streams::{Batch, ManualClock, Transport};

/// Outputs as a multiset of their wire values.
pub type Multiset = BTreeMap<Vec<u8>, usize>;

/// The runners' settings and catalog.
pub struct Setup {
    /// The pipelines' settings.
    pub config: PipelinesConfig,
    /// The catalog the records refer to.
    pub catalog: Arc<Catalog>,
}

impl Setup {
    fn open(&self, dir: &Path, log: &Arc<EmbeddedLog>) -> Runner {
        Runner::open(
            self.config.clone(),
            self.catalog.clone(),
            log.clone(),
            dir.join("checkpoint.bin"),
        )
        .expect("runner")
    }

    /// One bounded run over `records`.
    pub fn bounded(&self, dir: &Path, records: &[AnyRecord]) -> (Multiset, Multiset) {
        let log = log_of(dir, records);
        let report = self.open(dir, &log).run_to_end().expect("run");
        assert_eq!(report.totals.records, records.len() as u64);
        outputs(&log)
    }

    /// Up to `k` live polls of `m` records, a checkpoint, then a reopened runner
    /// drained: the outputs, and how many records the live runner processed.
    pub fn live_then_drained(
        &self,
        dir: &Path,
        records: &[AnyRecord],
        m: usize,
        k: usize,
    ) -> ((Multiset, Multiset), u64) {
        let log = log_of(dir, records);
        let mut live = self.open(dir, &log);
        for _ in 0..k {
            if live.poll(0, m).expect("poll") == 0 {
                break;
            }
        }
        live.checkpoint().expect("checkpoint");
        let processed = live.report().totals.records;
        drop(live);
        let report = self.open(dir, &log).run_to_end().expect("drain");
        assert_eq!(report.totals.records, records.len() as u64);
        (outputs(&log), processed)
    }

    /// For each poll size in `sizes` and every poll count up to the whole input, a
    /// live run stopped there and drained against one bounded run: how many cuts were
    /// tried, and a line for each cut whose outputs differ.
    pub fn cuts(
        &self,
        dir: &Path,
        name: &str,
        records: &[AnyRecord],
        sizes: &[usize],
    ) -> (usize, Vec<String>) {
        let (signals, features) = self.bounded(&dir.join(format!("{name}-ref")), records);
        let n = records.len();
        let mut trials = 0;
        let mut failures = Vec::new();
        for &m in sizes {
            for k in 1..=n.div_ceil(m.max(1)) {
                trials += 1;
                let at = dir.join(format!("{name}-m{m}-k{k}"));
                let ((got_signals, got_features), live) =
                    self.live_then_drained(&at, records, m, k);
                let (ds, df) = (
                    differ(&signals, &got_signals),
                    differ(&features, &got_features),
                );
                if ds + df > 0 {
                    failures.push(format!(
                        "{name}: {k} polls of {m} ({live} of {n} records live): {ds} signals, {df} features differ"
                    ));
                }
                std::fs::remove_dir_all(&at).expect("clean up");
            }
        }
        (trials, failures)
    }
}

/// A fresh log in `dir` holding `records`.
pub fn log_of(dir: &Path, records: &[AnyRecord]) -> Arc<EmbeddedLog> {
    let log = Arc::new(
        EmbeddedLog::open(
            &dir.join("log"),
            LogConfig::default(),
            Arc::new(ManualClock::new(0)),
        )
        .expect("log"),
    );
    let mut batches: BTreeMap<&str, Batch> = BTreeMap::new();
    for record in records {
        let batch = batches.entry(record.topic().as_str()).or_default();
        batch.push_with(record.key().as_bytes(), record.time(), |buf| {
            wire::encode_any_into(record, buf)
        });
        if batch.len() >= 1000 {
            log.append(record.topic().as_str(), batch).expect("append");
            batch.clear();
        }
    }
    for (topic, batch) in &batches {
        log.append(topic, batch).expect("append");
    }
    log
}

/// The signals and features on `log`, as multisets of their wire values.
pub fn outputs(log: &EmbeddedLog) -> (Multiset, Multiset) {
    let mut sets = (Multiset::new(), Multiset::new());
    for (topic, set) in [("signals", &mut sets.0), ("features", &mut sets.1)] {
        let mut at = 0;
        loop {
            let fetched = log.read(topic, at, 1 << 20).expect("read");
            if fetched.is_empty() {
                break;
            }
            for r in fetched.records() {
                assert_eq!(r.offset, at, "offsets of {topic} are not contiguous");
                at += 1;
                *set.entry(r.value.to_vec()).or_default() += 1;
            }
        }
    }
    sets
}

/// How far apart in event time the topics of `records` end.
pub fn ends_spread(records: &[AnyRecord]) -> i64 {
    let mut ends: BTreeMap<&str, i64> = BTreeMap::new();
    for r in records {
        let end = ends.entry(r.topic().as_str()).or_insert(r.time());
        *end = (*end).max(r.time());
    }
    let (min, max) = (ends.values().min(), ends.values().max());
    min.zip(max).map_or(0, |(a, b)| b - a)
}

/// How many outputs are in one multiset and not the other.
pub fn differ(a: &Multiset, b: &Multiset) -> usize {
    let keys: BTreeSet<_> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .map(|k| {
            a.get(k)
                .copied()
                .unwrap_or(0)
                .abs_diff(b.get(k).copied().unwrap_or(0))
        })
        .sum()
}
