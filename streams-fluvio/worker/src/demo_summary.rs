//! The demo's summary: the last stdout line, counted from the streams and reconciled.

use std::collections::BTreeMap;
use std::sync::Arc;

use sellout_ingest::ingestor::CountersSnapshot;
use sellout_ingest::records::{Topic, time};
use sellout_pipelines::RunReport;
use sellout_pipelines::output::{FEATURES_TOPIC, SIGNALS_TOPIC};
use sellout_pricing::change::PRICES_TOPIC;
use sellout_simulator::{ListPrices, Simulation};
use sellout_streams::Transport;
use serde::Serialize;

use crate::demo::{DemoError, DemoOptions};

fn streams(e: impl std::fmt::Display) -> DemoError {
    DemoError::Streams(e.to_string())
}

/// Records at ingest.
#[derive(Debug, Clone, Serialize)]
pub struct RecordsSummary {
    /// Records rendered and posted to ingest.
    pub posted: u64,
    /// Records appended to the input topics.
    pub accepted: u64,
    /// Records dead-lettered.
    pub dead_letters: u64,
    /// Dead letters by reason code.
    pub dead_letters_by_reason: BTreeMap<String, u64>,
    /// Faults injected on purpose, by the reason they must be rejected with.
    pub faults_injected: BTreeMap<String, u64>,
    /// Ingest's counters per topic.
    pub by_topic: CountersSnapshot,
}

/// One partition's share.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartitionSummary {
    /// Input records stored in the partition.
    pub records: u64,
    /// Dead letters stored in the partition.
    pub dead_letters: u64,
    /// Records its pipelines read.
    pub pipelines_records: u64,
    /// Signals its pipelines wrote.
    pub signals: u64,
    /// Features its pipelines wrote.
    pub features: u64,
    /// Price changes its repricer appended.
    pub price_changes: u64,
}

/// The last stdout line.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// Always `"fluvio"`.
    pub demo: String,
    /// The simulator's seed.
    pub seed: u64,
    /// Partitions of every topic.
    pub partitions: u32,
    /// The prefix of this run's topics.
    pub topic_prefix: String,
    /// Whether the topics were kept.
    pub kept: bool,
    /// Simulated span.
    pub simulated_from: String,
    /// Simulated span's end.
    pub simulated_to: String,
    /// Wall seconds of the whole run.
    pub wall_seconds: f64,
    /// The machine could not keep the pace asked for.
    pub behind_schedule: bool,
    /// Records at ingest.
    pub records: RecordsSummary,
    /// Per partition, in partition order.
    pub by_partition: Vec<PartitionSummary>,
    /// Records the pipelines read, all partitions.
    pub pipelines_records: u64,
    /// Records beyond the allowed lateness.
    pub pipelines_late: u64,
    /// Signals by kind, all partitions.
    pub signals: BTreeMap<String, u64>,
    /// Features by type, all partitions.
    pub features: BTreeMap<String, u64>,
    /// Price changes on `prices`, all partitions.
    pub price_changes: u64,
    /// Quotes shoppers took.
    pub quotes_issued: u64,
    /// Revenue per currency with the repricers in the loop, in minor units.
    pub revenue_minor: BTreeMap<String, i64>,
    /// The same simulation at list prices throughout.
    pub list_price_revenue_minor: BTreeMap<String, i64>,
    /// posted = accepted + dead-lettered, the partitions hold them, the pipelines
    /// read every accepted record, and every injected fault was rejected.
    pub reconciled: bool,
}

/// What a finished run hands to [`summarize`].
pub(crate) struct Finished<'a> {
    pub options: &'a DemoOptions,
    pub sim: &'a Simulation,
    pub injected: &'a BTreeMap<&'static str, u64>,
    pub counters: CountersSnapshot,
    pub partitions: &'a [Arc<dyn Transport>],
    pub reports: &'a BTreeMap<u32, RunReport>,
    pub posted: u64,
    pub behind: bool,
    pub horizon: (i64, i64),
    pub wall_seconds: f64,
    pub quotes_issued: u64,
}

/// Counts what the streams hold, replays the seed at list prices, and reconciles.
pub(crate) fn summarize(f: Finished<'_>) -> Result<DemoSummary, DemoError> {
    let n = f.partitions.len() as u32;
    let mut list = Simulation::new(f.options.sim.clone(), Arc::new(ListPrices))
        .map_err(|e| DemoError::Simulator(e.to_string()))?;
    for _ in list.by_ref() {}
    let (dynamic, list) = (f.sim.stats(), list.stats());
    let mut revenue_minor = BTreeMap::new();
    let mut list_price_revenue_minor = BTreeMap::new();
    for d in dynamic.events.values() {
        *revenue_minor.entry(d.currency.to_string()).or_insert(0) += d.revenue_minor;
    }
    for l in list.events.values() {
        *list_price_revenue_minor
            .entry(l.currency.to_string())
            .or_insert(0) += l.revenue_minor;
    }

    let counters = f.counters;
    let total = counters.total();
    let mut by_partition = Vec::with_capacity(n as usize);
    let (mut signals, mut features) = (BTreeMap::new(), BTreeMap::new());
    let (mut pipelines_records, mut pipelines_late) = (0, 0);
    for (p, part) in (0..n).zip(f.partitions) {
        let end_of = |topic: &str| part.offsets(topic).map(|o| o.end).map_err(streams);
        let mut records = 0;
        for t in Topic::ALL {
            records += end_of(t.as_str())?;
        }
        let report = f.reports.get(&p).cloned().unwrap_or_default();
        pipelines_records += report.totals.records;
        pipelines_late += report.totals.late;
        for (k, v) in &report.signals_written {
            *signals.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &report.features_written {
            *features.entry(k.clone()).or_insert(0) += v;
        }
        by_partition.push(PartitionSummary {
            records,
            dead_letters: end_of(sellout_ingest::deadletter::TOPIC)?,
            pipelines_records: report.totals.records,
            signals: end_of(SIGNALS_TOPIC)?,
            features: end_of(FEATURES_TOPIC)?,
            price_changes: end_of(PRICES_TOPIC)?,
        });
    }
    let sum = |f: fn(&PartitionSummary) -> u64| by_partition.iter().map(f).sum::<u64>();
    let injected_total: u64 = f.injected.values().sum();
    let reconciled = total.received == f.posted
        && total.reconciles()
        && total.accepted + total.rejected == f.posted
        && sum(|p| p.records) == total.accepted
        && sum(|p| p.dead_letters) == total.rejected
        && pipelines_records == total.accepted
        && total.rejected >= injected_total;
    Ok(DemoSummary {
        demo: "fluvio".into(),
        seed: f.options.sim.seed,
        partitions: n,
        topic_prefix: String::new(),
        kept: false,
        simulated_from: time::to_rfc3339(f.horizon.0),
        simulated_to: time::to_rfc3339(f.horizon.1),
        wall_seconds: f.wall_seconds,
        behind_schedule: f.behind,
        records: RecordsSummary {
            posted: f.posted,
            accepted: total.accepted,
            dead_letters: total.rejected,
            dead_letters_by_reason: counters
                .rejected_by_reason
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            faults_injected: f
                .injected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            by_topic: counters,
        },
        price_changes: sum(|p| p.price_changes),
        by_partition,
        pipelines_records,
        pipelines_late,
        signals,
        features,
        quotes_issued: f.quotes_issued,
        revenue_minor,
        list_price_revenue_minor,
        reconciled,
    })
}
