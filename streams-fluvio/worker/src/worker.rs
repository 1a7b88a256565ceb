//! [`Worker`]: the pipelines over a set of partitions, one [`Runner`] per partition on a
//! thread of its own, each with its own checkpoint file.
//!
//! Two ways to run. [`Worker::serve`] follows live input until the [`Shutdown`] signal,
//! then appends what is pending and checkpoints every runner. A runner whose streams
//! fail (the cluster unreachable beyond the transport's own retries, an SPU restarting)
//! is dropped and reopened from its checkpoint after a backoff: the replay regenerates
//! what the lost runner had not checkpointed and skips the outputs it had already
//! appended, so nothing is lost and nothing doubled. [`Worker::drain`] treats what the
//! topics hold now as a bounded input (tests, benchmarks, batch replays): its outputs
//! depend on the records alone.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sellout_ingest::live_catalog::{IntoLiveCatalog, LiveCatalog};
use sellout_ingest::records::Timestamp;
use sellout_pipelines::runner::{RunnerError, input_end};
use sellout_pipelines::{PipelinesConfig, RunReport, Runner};
use sellout_streams::{Clock, Transport};

use crate::config::{PartitionSet, checkpoint_path};
use crate::shutdown::Shutdown;

/// Records one live poll processes at most before it appends outputs.
const POLL_RECORDS: usize = 50_000;
/// Processing time between two progress lines of a live runner, in milliseconds.
const PROGRESS_EVERY_MS: i64 = 10_000;
/// Longest wait before reopening a failed runner.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Opens the transport a partition's runner uses (every topic means that partition).
pub type OpenPartition = dyn Fn(u32) -> Arc<dyn Transport> + Send + Sync;

/// One Fluvio connection per partition of `partitions`, each with its own client
/// runtime, so a worker's partitions don't queue behind one client (as separate worker
/// processes wouldn't); the opener [`Worker::new`] takes, over them.
pub fn connect_each(
    config: &sellout_streams_fluvio::FluvioConfig,
    partitions: &PartitionSet,
) -> Result<Arc<OpenPartition>, sellout_streams_fluvio::FluvioError> {
    let mut each = BTreeMap::new();
    for p in partitions.iter() {
        each.insert(
            p,
            sellout_streams_fluvio::transport::FluvioTransport::connect(config.clone())?,
        );
    }
    let fallback = match each.values().next() {
        Some(t) => t.clone(),
        None => sellout_streams_fluvio::transport::FluvioTransport::connect(config.clone())?,
    };
    Ok(Arc::new(move |p| {
        let transport = each.get(&p).unwrap_or(&fallback);
        Arc::new(transport.partition(p)) as Arc<dyn Transport>
    }))
}

/// Why a worker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// A runner failed in a way a reopen cannot repair (damage, a changed config).
    #[error("pipelines of partition {partition}: {source}")]
    Runner {
        /// The partition.
        partition: u32,
        /// What failed.
        #[source]
        source: RunnerError,
    },
    /// A runner's thread panicked (a bug; the others were stopped and checkpointed).
    #[error("pipelines of partition {partition}: the runner thread panicked")]
    Panicked {
        /// The partition.
        partition: u32,
    },
}

/// The runners of a set of partitions.
pub struct Worker {
    pipelines: PipelinesConfig,
    data_dir: PathBuf,
    catalog: Arc<LiveCatalog>,
    partitions: PartitionSet,
    open: Arc<OpenPartition>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("partitions", &self.partitions.to_string())
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker running `pipelines` against `catalog` (fixed, or the process's live
    /// catalog following the `catalog` topic) over `partitions`, each through the
    /// transport `open` gives for it, with checkpoints under `data_dir`.
    pub fn new(
        pipelines: PipelinesConfig,
        data_dir: PathBuf,
        catalog: impl IntoLiveCatalog,
        partitions: PartitionSet,
        open: Arc<OpenPartition>,
    ) -> Self {
        Self {
            pipelines,
            data_dir,
            catalog: catalog.into_live(),
            partitions,
            open,
        }
    }

    /// The runner of `partition`, restored from its checkpoint when there is one.
    pub fn open_runner(&self, partition: u32) -> Result<Runner, RunnerError> {
        Runner::open(
            self.pipelines.clone(),
            self.catalog.clone(),
            (self.open)(partition),
            checkpoint_path(&self.data_dir, partition),
        )
    }

    /// The end of the bounded input held now by all `total` partitions (this
    /// worker's and the others'): the latest event time at their tails.
    pub fn input_end(&self, total: u32) -> Result<Option<Timestamp>, WorkerError> {
        let parts: Vec<Arc<dyn Transport>> = (0..total).map(|p| (self.open)(p)).collect();
        let refs: Vec<&dyn Transport> = parts.iter().map(|t| t.as_ref()).collect();
        input_end(&refs).map_err(|source| WorkerError::Runner {
            partition: 0,
            source,
        })
    }

    /// Runs every partition's runner to the end of what its topics hold now (bounded
    /// input), each on its own thread, releasing at the end the timers due by `end`
    /// ([`Worker::input_end`]: the same for every worker, so that N workers emit what
    /// one runner over all partitions would); their reports by partition.
    pub fn drain(&self, end: Option<Timestamp>) -> Result<BTreeMap<u32, RunReport>, WorkerError> {
        self.each_partition(|p| {
            let mut runner = self.open_runner(p).map_err(|source| WorkerError::Runner {
                partition: p,
                source,
            })?;
            let report = runner
                .run_to_end_at(end)
                .map_err(|source| WorkerError::Runner {
                    partition: p,
                    source,
                })?;
            tracing::info!(
                message = "Partition drained.",
                partition = p,
                records = report.totals.records,
                signals = report.totals.signals,
                features = report.totals.features
            );
            Ok(report)
        })
    }

    /// Follows live input on every partition until `shutdown`, then checkpoints each
    /// runner; their reports by partition. `clock` is the runners' processing time.
    pub fn serve(
        &self,
        clock: Arc<dyn Clock>,
        shutdown: Arc<Shutdown>,
    ) -> Result<BTreeMap<u32, RunReport>, WorkerError> {
        self.each_partition(|p| {
            let result = self.follow(p, clock.as_ref(), &shutdown);
            if result.is_err() {
                // One partition down takes the worker down: the others checkpoint and
                // stop, and a restart resumes all of them.
                shutdown.stop();
            }
            result
        })
    }

    fn each_partition<F>(&self, run: F) -> Result<BTreeMap<u32, RunReport>, WorkerError>
    where
        F: Fn(u32) -> Result<RunReport, WorkerError> + Sync,
    {
        let results: Vec<(u32, Result<RunReport, WorkerError>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .partitions
                .iter()
                .map(|p| {
                    let run = &run;
                    let handle = std::thread::Builder::new()
                        .name(format!("partition-{p}"))
                        .spawn_scoped(scope, move || run(p));
                    (p, handle)
                })
                .collect();
            handles
                .into_iter()
                .map(|(p, h)| {
                    let r = match h {
                        Ok(h) => h
                            .join()
                            .unwrap_or(Err(WorkerError::Panicked { partition: p })),
                        Err(_) => Err(WorkerError::Panicked { partition: p }),
                    };
                    (p, r)
                })
                .collect()
        });
        let mut reports = BTreeMap::new();
        let mut first_error = None;
        for (p, r) in results {
            match r {
                Ok(report) => {
                    reports.insert(p, report);
                }
                Err(e) => {
                    tracing::error!(message = "Partition stopped.", partition = p, error = %e);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(reports),
        }
    }

    /// The live loop of one partition.
    fn follow(
        &self,
        p: u32,
        clock: &dyn Clock,
        shutdown: &Shutdown,
    ) -> Result<RunReport, WorkerError> {
        let fatal = |source| WorkerError::Runner {
            partition: p,
            source,
        };
        let idle = Duration::from_millis(self.pipelines.poll_interval_ms.max(1));
        let mut runner: Option<Runner> = None;
        let mut failures = 0u32;
        let mut next_progress = clock.now_ms();
        let mut last = RunReport::default();
        loop {
            if shutdown.is_stopped() {
                let Some(mut r) = runner else {
                    return Ok(last);
                };
                r.checkpoint().map_err(fatal)?;
                let report = r.report();
                tracing::info!(
                    message = "Partition checkpointed and stopped.",
                    partition = p,
                    records = report.totals.records,
                    positions = ?report.positions
                );
                return Ok(report);
            }
            let Some(r) = runner.as_mut() else {
                match self.open_runner(p) {
                    Ok(r) => {
                        tracing::info!(message = "Partition runner open.", partition = p);
                        runner = Some(r);
                    }
                    Err(e @ RunnerError::Stream { .. }) => {
                        failures += 1;
                        tracing::warn!(message = "Cannot open the partition's runner; retrying.", partition = p, failures, error = %e);
                        shutdown.wait(backoff(failures));
                    }
                    Err(e) => return Err(fatal(e)),
                }
                continue;
            };
            match r.poll(clock.now_ms(), POLL_RECORDS) {
                Ok(n) => {
                    failures = 0;
                    if n == 0 {
                        shutdown.wait(idle);
                    }
                }
                Err(e @ RunnerError::Stream { .. }) => {
                    failures += 1;
                    tracing::warn!(
                        message = "Streams failed; resuming the partition from its checkpoint.",
                        partition = p,
                        failures,
                        error = %e
                    );
                    last = r.report();
                    runner = None;
                    shutdown.wait(backoff(failures));
                    continue;
                }
                Err(e) => return Err(fatal(e)),
            }
            let now = clock.now_ms();
            if now >= next_progress {
                next_progress = now.saturating_add(PROGRESS_EVERY_MS);
                let report = r.report();
                tracing::info!(
                    message = "Partition progress.",
                    partition = p,
                    records = report.totals.records,
                    late = report.totals.late,
                    signals = report.totals.signals,
                    features = report.totals.features,
                    watermark = report.watermark
                );
            }
        }
    }
}

/// The wait before reopening after `failures` failures in a row: 250 ms doubling, at
/// most [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << failures.saturating_sub(1).min(10)))
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
