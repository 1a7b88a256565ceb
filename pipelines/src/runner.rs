//! The [`Runner`]: the engine over a transport, with checkpoints and exactly-once
//! effects on the output topics.
//!
//! It reads the input topics from its positions, merges them by event time (the
//! oldest head record first, ties in topic order, so the order is the same on every
//! run), feeds the engine, and appends what comes out to `signals`, `features` and the
//! `late` side output. Every `checkpoint_every_records` records it appends pending
//! outputs, flushes the transport and saves a [`Checkpoint`]. Topics no configured job
//! reads are not read at all.
//!
//! Two ways to drive it. [`Runner::run_to_end`] and [`Runner::run_bounded`] treat what
//! the topics hold as a bounded input: each topic is finished once read to its end,
//! processing time stands still, and the outputs depend on the records alone.
//! [`Runner::poll`] follows live input (`sellout serve`): it processes what has
//! arrived, then lets the watermark move on with the processing time it is given, so
//! a source silent for the idle timeout stops holding it back. Live outputs depend on
//! how records interleave on arrival, but their ids depend on the records alone.
//!
//! After a crash it restores the last checkpoint and replays from its positions. The
//! replay emits exactly what the lost run emitted after that checkpoint (same order,
//! same deterministic ids); the outputs that run already appended are read back at
//! start and skipped once each, so every output topic ends up as an uninterrupted run
//! would have left it: nothing lost, nothing twice.
//!
//! Privacy erasures ([`sellout_ingest::erasure`]): the runner follows the `erasures`
//! topic (on open and at each poll or bounded run), has the jobs forget erased
//! installations ([`Engine::erase`]), and skips input records of erased installations
//! (beacons), so no checkpoint saved after the erase holds the id.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use rustc_hash::FxHashSet;
use sellout_ingest::erasure::{ErasureError, Erasures};
use sellout_ingest::live_catalog::IntoLiveCatalog;
use sellout_ingest::records::{AnyRecord, Timestamp, Topic, wire};
use sellout_streams::{Batch, Offset, StreamError, Transport};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::config::PipelinesConfig;
use crate::engine::{Engine, EngineCounts, EngineError, Outcome};
use crate::output::{self, FEATURES_TOPIC, LATE_TOPIC, SIGNALS_TOPIC, output_id};

/// Bytes fetched per topic read.
const FETCH_BYTES: usize = 1 << 20;
/// The consumer name the runner commits its input positions under (for visibility;
/// the checkpoint is what restores).
pub const CONSUMER: &str = "pipelines";

/// A record that arrived beyond the allowed lateness, kept on the `late` topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateRecord {
    /// Deterministic id: from the input topic and offset.
    pub id: u64,
    /// The input topic.
    pub topic: Topic,
    /// Its offset there.
    pub offset: Offset,
    /// The watermark it was late against.
    pub watermark: Timestamp,
    /// The record's value as it was on the input topic.
    pub value: Vec<u8>,
}

/// Why the runner stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The streams failed.
    #[error("pipelines: {context}: {source}")]
    Stream {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: StreamError,
    },
    /// The checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The engine could not be built or restored.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The erasures topic could not be read.
    #[error("pipelines: {0}")]
    Erasures(#[from] ErasureError),
    /// A stored record could not be decoded (the streams hold only validated records,
    /// so this is damage or a version mismatch, not bad input).
    #[error("pipelines: record {offset} of {topic} cannot be decoded: {detail}")]
    Decode {
        /// The topic.
        topic: String,
        /// The offset.
        offset: Offset,
        /// The decoder's complaint.
        detail: String,
    },
}

fn stream(context: impl Into<String>) -> impl FnOnce(StreamError) -> RunnerError {
    let context = context.into();
    move |source| RunnerError::Stream { context, source }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// The engine's counts since the streams began (they survive restarts).
    pub totals: EngineCounts,
    /// Outputs skipped because an earlier, interrupted run had already appended them.
    pub replayed_skipped: u64,
    /// Signals this runner appended, by kind.
    pub signals_written: BTreeMap<String, u64>,
    /// Features this runner appended, by type.
    pub features_written: BTreeMap<String, u64>,
    /// Checkpoints taken by this runner.
    pub checkpoints: u64,
    /// Input records of erased installations skipped by this runner.
    #[serde(default)]
    pub erased_skipped: u64,
    /// The watermark at the end.
    pub watermark: Timestamp,
    /// Next offset per input topic.
    pub positions: BTreeMap<String, Offset>,
}

/// The engine over a transport.
pub struct Runner {
    engine: Engine,
    transport: Arc<dyn Transport>,
    checkpoint_path: PathBuf,
    every: u64,
    output_every: u64,
    positions: [Offset; 4],
    buffers: [VecDeque<(Offset, AnyRecord)>; 4],
    exhausted: [bool; 4],
    /// Ids already on the output topics after the restored checkpoint.
    already: FxHashSet<u64>,
    signals: Batch,
    features: Batch,
    late: Batch,
    since_checkpoint: u64,
    report: RunReport,
    /// Erased installations read so far.
    erasures: Erasures,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("engine", &self.engine)
            .field("positions", &self.positions)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// Opens a runner, restoring the checkpoint at `checkpoint_path` if there is one.
    pub fn open(
        config: PipelinesConfig,
        catalog: impl IntoLiveCatalog,
        transport: Arc<dyn Transport>,
        checkpoint_path: PathBuf,
    ) -> Result<Self, RunnerError> {
        let every = config.checkpoint_every_records;
        let output_every = config.output_every_records;
        let mut engine = Engine::new(config, catalog)?;
        // A topic no job reads is never read: it counts as read to its end.
        let exhausted = Topic::ALL.map(|t| !engine.reads(t));
        let mut positions = [0; 4];
        let mut already = FxHashSet::default();
        if let Some(cp) = Checkpoint::load(&checkpoint_path)? {
            engine.restore(cp.engine)?;
            for (i, topic) in Topic::ALL.iter().enumerate() {
                positions[i] = cp.inputs.get(topic.as_str()).copied().unwrap_or(0);
            }
            for topic in [SIGNALS_TOPIC, FEATURES_TOPIC, LATE_TOPIC] {
                let from = cp.outputs.get(topic).copied().unwrap_or(0);
                read_ids(transport.as_ref(), topic, from, &mut already)?;
            }
            tracing::info!(
                message = "Restored the pipelines checkpoint.",
                path = %checkpoint_path.display(),
                outputs_to_skip = already.len()
            );
        } else {
            // Outputs without a checkpoint come from a run that died before its first
            // one: the replay from offset 0 regenerates them all.
            for topic in [SIGNALS_TOPIC, FEATURES_TOPIC, LATE_TOPIC] {
                read_ids(transport.as_ref(), topic, 0, &mut already)?;
            }
        }
        Ok(Self {
            engine,
            transport,
            checkpoint_path,
            every,
            output_every,
            positions,
            buffers: Default::default(),
            exhausted,
            already,
            signals: Batch::new(),
            features: Batch::new(),
            late: Batch::new(),
            since_checkpoint: 0,
            report: RunReport::default(),
            erasures: Erasures::new(),
        })
        .and_then(|mut runner| {
            runner.follow_erasures()?;
            Ok(runner)
        })
    }

    /// The engine (for its counts and watermark).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Processes everything the input topics hold now as a bounded input: at the end
    /// the watermark moves to the last event time seen, so every timer due by then
    /// fires; then the outputs are appended and a checkpoint is saved.
    pub fn run_to_end(&mut self) -> Result<RunReport, RunnerError> {
        self.run_to_end_at(None)
    }

    /// [`Runner::run_to_end`] for a runner that reads one part (partition) of a
    /// bounded input: at the end the watermark moves to at least `end`, the last
    /// event time of the whole input, so every part fires the timers one runner over
    /// all of it would fire (see [`input_end`](crate::runner::input_end)).
    pub fn run_to_end_at(&mut self, end: Option<Timestamp>) -> Result<RunReport, RunnerError> {
        while self.run_bounded(usize::MAX)? > 0 {}
        for topic in Topic::ALL {
            self.engine.finish_topic(topic);
        }
        self.engine.finish_at(end);
        self.collect();
        self.checkpoint()?;
        Ok(self.report())
    }

    /// Processes at most `max_records` records of what the input topics hold now, as
    /// a bounded input (see [`Runner::run_to_end`], which ends with it); returns how
    /// many. Checkpoints as configured; a crash between calls replays identically.
    pub fn run_bounded(&mut self, max_records: usize) -> Result<usize, RunnerError> {
        // Processing time is held still: a bounded input has no idle sources, so the
        // outputs depend on the records alone.
        let now = 0;
        self.follow_erasures()?;
        let mut n = 0;
        while n < max_records {
            let Some(slot) = self.next_slot()? else { break };
            self.step(slot, now)?;
            n += 1;
        }
        Ok(n)
    }

    /// Follows live input: processes up to `max_records` records of what the input
    /// topics hold now (merged by event time among the topics that have some), then
    /// advances the watermark to processing time `now_ms`, so sources silent for the
    /// idle timeout stop holding it back, and appends the outputs. Returns how many
    /// records it processed (0: caught up). Checkpoints as configured.
    pub fn poll(&mut self, now_ms: i64, max_records: usize) -> Result<usize, RunnerError> {
        // Topics a bounded run finished may have grown since.
        let mut dry = Topic::ALL.map(|t| !self.engine.reads(t));
        self.follow_erasures()?;
        let mut n = 0;
        while n < max_records {
            let Some(slot) = self.head_slot(&mut dry)? else {
                break;
            };
            self.step(slot, now_ms)?;
            n += 1;
        }
        self.engine.advance(now_ms);
        self.collect();
        self.append_outputs()?;
        Ok(n)
    }

    /// What the runner has done so far.
    pub fn report(&self) -> RunReport {
        let mut report = self.report.clone();
        report.totals = self.engine.counts();
        report.watermark = self.engine.watermark();
        report.positions = Topic::ALL
            .iter()
            .zip(self.positions)
            .map(|(t, p)| (t.as_str().to_owned(), p))
            .collect();
        report
    }

    /// Reads new erasures and has the jobs forget them.
    fn follow_erasures(&mut self) -> Result<(), RunnerError> {
        if self.erasures.catch_up(self.transport.as_ref(), None)? > 0 {
            self.engine.erase(&self.erasures);
        }
        Ok(())
    }

    fn step(&mut self, slot: usize, now: i64) -> Result<(), RunnerError> {
        let Some((offset, record)) = self.buffers[slot].pop_front() else {
            return Ok(());
        };
        let topic = Topic::ALL[slot];
        self.positions[slot] = offset + 1;
        if let AnyRecord::Beacons(b) = &record
            && self.erasures.contains(&b.installation_id)
        {
            self.report.erased_skipped += 1;
            return Ok(());
        }
        if let Outcome::Late { watermark } = self.engine.process(topic, offset, &record, now) {
            let mut value = Vec::new();
            wire::encode_any_into(&record, &mut value);
            let late = LateRecord {
                id: output_id(&[b"late", topic.as_str().as_bytes(), &offset.to_le_bytes()]),
                topic,
                offset,
                watermark,
                value,
            };
            if !self.already.remove(&late.id) {
                self.late
                    .push_with(record.key().as_bytes(), record.time(), |buf| {
                        wire::encode_into(&late, buf)
                    });
            }
        }
        self.since_checkpoint += 1;
        if self.since_checkpoint >= self.every {
            self.collect();
            self.checkpoint()?;
        } else if self.since_checkpoint.is_multiple_of(self.output_every) {
            self.collect();
            self.append_outputs()?;
        }
        Ok(())
    }

    /// The input slot whose head record is oldest, refilling empty buffers first; a
    /// topic read to its end is finished (bounded input).
    fn next_slot(&mut self) -> Result<Option<usize>, RunnerError> {
        let mut exhausted = self.exhausted;
        let slot = self.head_slot(&mut exhausted)?;
        for (i, topic) in Topic::ALL.into_iter().enumerate() {
            if exhausted[i] && !self.exhausted[i] {
                // The input is bounded: a topic read to its end no longer holds the
                // watermark back.
                self.exhausted[i] = true;
                self.engine.finish_topic(topic);
            }
        }
        Ok(slot)
    }

    /// The input slot whose head record is oldest, refilling empty buffers of the
    /// slots not `dry` first; a refill that finds nothing marks its slot dry.
    fn head_slot(&mut self, dry: &mut [bool; 4]) -> Result<Option<usize>, RunnerError> {
        let mut best: Option<(Timestamp, usize)> = None;
        for (slot, dry) in dry.iter_mut().enumerate() {
            if self.buffers[slot].is_empty() && !*dry {
                self.fill(slot)?;
                *dry = self.buffers[slot].is_empty();
            }
            if let Some((_, r)) = self.buffers[slot].front() {
                let t = r.time();
                // A topic whose next record is newer than the others' holds nothing
                // older back: the watermark needn't wait for it.
                self.engine.expect(Topic::ALL[slot], t);
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, slot));
                }
            }
        }
        Ok(best.map(|(_, slot)| slot))
    }

    fn fill(&mut self, slot: usize) -> Result<(), RunnerError> {
        let topic = Topic::ALL[slot];
        let from = self.positions[slot];
        let fetched = self
            .transport
            .read(topic.as_str(), from, FETCH_BYTES)
            .map_err(stream(format!("cannot read {topic:?} at {from}")))?;
        for (expected, view) in (from..).zip(fetched.records()) {
            // Offsets must be contiguous: a gap would be a lost record.
            if view.offset != expected {
                return Err(RunnerError::Decode {
                    topic: topic.as_str().to_owned(),
                    offset: expected,
                    detail: format!("the transport skipped to offset {}", view.offset),
                });
            }
            let record = wire::decode(topic, view.value).map_err(|e| RunnerError::Decode {
                topic: topic.as_str().to_owned(),
                offset: view.offset,
                detail: e.to_string(),
            })?;
            self.buffers[slot].push_back((view.offset, record));
        }
        Ok(())
    }

    /// Moves the engine's outputs into the output batches, skipping replayed ones.
    fn collect(&mut self) {
        let (signals, features) = self.engine.take_outputs();
        for s in &signals {
            if self.already.is_empty() || !self.already.remove(&s.id) {
                output::push_signal(&mut self.signals, s);
                *self
                    .report
                    .signals_written
                    .entry(s.kind.as_str().to_owned())
                    .or_default() += 1;
            } else {
                self.report.replayed_skipped += 1;
            }
        }
        for f in &features {
            if self.already.is_empty() || !self.already.remove(&f.id) {
                output::push_feature(&mut self.features, f);
                *self
                    .report
                    .features_written
                    .entry(f.body.type_name().to_owned())
                    .or_default() += 1;
            } else {
                self.report.replayed_skipped += 1;
            }
        }
    }

    fn append_outputs(&mut self) -> Result<(), RunnerError> {
        for (topic, batch) in [
            (SIGNALS_TOPIC, &mut self.signals),
            (FEATURES_TOPIC, &mut self.features),
            (LATE_TOPIC, &mut self.late),
        ] {
            if batch.is_empty() {
                continue;
            }
            self.transport
                .append(topic, batch)
                .map_err(stream(format!("cannot append to {topic}")))?;
            *batch = Batch::new();
        }
        Ok(())
    }

    /// Appends pending outputs, flushes the transport and saves a checkpoint.
    pub fn checkpoint(&mut self) -> Result<(), RunnerError> {
        self.collect();
        self.append_outputs()?;
        self.transport
            .flush()
            .map_err(stream("cannot flush the streams"))?;
        let mut outputs = BTreeMap::new();
        for topic in [SIGNALS_TOPIC, FEATURES_TOPIC, LATE_TOPIC] {
            let end = self
                .transport
                .offsets(topic)
                .map_err(stream(format!("cannot read the offsets of {topic}")))?
                .end;
            outputs.insert(topic.to_owned(), end);
        }
        let inputs: BTreeMap<String, Offset> = Topic::ALL
            .iter()
            .zip(self.positions)
            .map(|(t, p)| (t.as_str().to_owned(), p))
            .collect();
        Checkpoint {
            inputs: inputs.clone(),
            outputs,
            engine: self.engine.snapshot(),
        }
        .save(&self.checkpoint_path)?;
        for (topic, position) in inputs {
            self.transport
                .commit(&topic, CONSUMER, position)
                .map_err(stream(format!("cannot commit the position on {topic}")))?;
        }
        self.since_checkpoint = 0;
        self.report.checkpoints += 1;
        Ok(())
    }
}

/// The latest event time among the last records of the input topics of `parts` (the
/// partitions of a partitioned input, each as a transport): the end of a bounded
/// input that several runners read a part each of ([`Runner::run_to_end_at`]).
pub fn input_end(parts: &[&dyn Transport]) -> Result<Option<Timestamp>, RunnerError> {
    let mut end = None;
    for part in parts {
        for topic in Topic::ALL {
            let name = topic.as_str();
            let offsets = part
                .offsets(name)
                .map_err(stream(format!("cannot read the offsets of {name}")))?;
            if offsets.end <= offsets.start {
                continue;
            }
            let fetched = part
                .read(name, offsets.end - 1, FETCH_BYTES)
                .map_err(stream(format!("cannot read the tail of {name}")))?;
            for view in fetched.records() {
                end = Some(end.map_or(view.time, |e: Timestamp| e.max(view.time)));
            }
        }
    }
    Ok(end)
}

/// Collects the ids of the outputs on `topic` from `from` to its end.
fn read_ids(
    transport: &dyn Transport,
    topic: &str,
    from: Offset,
    ids: &mut FxHashSet<u64>,
) -> Result<(), RunnerError> {
    let mut at = from.max(
        transport
            .offsets(topic)
            .map_err(stream(format!("cannot read the offsets of {topic}")))?
            .start,
    );
    loop {
        let fetched = transport
            .read(topic, at, FETCH_BYTES)
            .map_err(stream(format!("cannot read {topic} at {at}")))?;
        if fetched.is_empty() {
            return Ok(());
        }
        for view in fetched.records() {
            // Every output value starts with the wire version and then the id.
            let id = match topic {
                SIGNALS_TOPIC => output::decode_signal(view.value).map(|s| s.id),
                FEATURES_TOPIC => output::decode_feature(view.value).map(|f| f.id),
                _ => wire::decode_value::<LateRecord>("late", view.value).map(|l| l.id),
            }
            .map_err(|e| RunnerError::Decode {
                topic: topic.to_owned(),
                offset: view.offset,
                detail: e.to_string(),
            })?;
            ids.insert(id);
        }
        at = fetched.next_offset();
    }
}
