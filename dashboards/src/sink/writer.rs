//! The sink task and its handle: [`spawn`] starts the task, [`SinkHandle::send`] feeds it
//! without ever waiting, and the task batches, writes, backs off and spills.
//!
//! Spill file appends happen on the task's (or a producer's) thread: one frame is at
//! most one batch, a single `write` call that the page cache absorbs. Retry backoff and
//! the shutdown grace use tokio's clock (they are about a server, not event time);
//! linger uses the passed [`Clock`].

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sellout_streams::Clock;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::buffer::{Batch, MemoryQueue, OpenBatch};
use super::spill::Spill;
use super::store::{Store, WriteFailure};
use super::{Counters, Point, SinkConfig, SinkError, SinkStats};

enum Msg {
    Line(String),
    Flush(oneshot::Sender<()>),
}

/// Where [`SinkHandle::send`] put a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// Handed to the sink task.
    Queued,
    /// The channel was full: kept in the overflow batch bound for the disk spill.
    Overflowed,
    /// Not kept: the point could not be encoded, or the spill budget is spent.
    Dropped,
}

struct Shared {
    counters: Counters,
    spill: Mutex<Spill>,
    overflow: Mutex<OpenBatch>,
    batch_points: u32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Appends `batch` to the spill, or counts it dropped when the budget is spent.
    fn spill(&self, batch: &Batch) -> bool {
        let mut spill = lock(&self.spill);
        let result = spill.append(&batch.payload, batch.points);
        Counters::add(&self.counters.spill_pending, 0);
        self.counters
            .spill_pending
            .store(spill.unread_points(), std::sync::atomic::Ordering::Relaxed);
        drop(spill);
        match result {
            Ok(()) => {
                Counters::add(&self.counters.spilled, u64::from(batch.points));
                true
            }
            Err(error) => {
                Counters::add(&self.counters.dropped, u64::from(batch.points));
                tracing::warn!(message = "Dropped a batch: spill refused it.", %error, points = batch.points);
                self.counters.error(error.to_string());
                false
            }
        }
    }

    fn take_overflow(&self) -> Option<Batch> {
        lock(&self.overflow).take()
    }
}

/// A cheap, cloneable handle that feeds the sink task. Dropping every handle shuts the
/// task down (after trying to write what it holds, for `shutdown_grace_ms`).
#[derive(Clone)]
pub struct SinkHandle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SinkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkHandle").finish_non_exhaustive()
    }
}

impl SinkHandle {
    /// Hands `point` to the sink without waiting: a full channel sends it towards disk.
    pub fn send(&self, point: &Point) -> SendOutcome {
        let line = match point.to_line() {
            Ok(line) => line,
            Err(error) => {
                Counters::add(&self.shared.counters.invalid, 1);
                self.shared.counters.error(error.to_string());
                return SendOutcome::Dropped;
            }
        };
        let line = match self.tx.try_send(Msg::Line(line)) {
            Ok(()) => return SendOutcome::Queued,
            Err(mpsc::error::TrySendError::Full(Msg::Line(line))) => line,
            Err(_) => {
                Counters::add(&self.shared.counters.dropped, 1);
                self.shared.counters.error("sink task is gone".to_string());
                return SendOutcome::Dropped;
            }
        };
        let full = {
            let mut overflow = lock(&self.shared.overflow);
            overflow.push(&line, self.clock.now_ms());
            if overflow.len() >= self.shared.batch_points {
                overflow.take()
            } else {
                None
            }
        };
        match full {
            Some(batch) if !self.shared.spill(&batch) => SendOutcome::Dropped,
            _ => SendOutcome::Overflowed,
        }
    }

    /// Closes the open batch and the overflow batch so they are queued for writing now
    /// (not written: poll [`SinkHandle::stats`] or the store for that).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> SinkStats {
        self.shared.counters.snapshot()
    }
}

/// Starts the sink task on the current tokio runtime. The task ends when every handle
/// is dropped and returns the final counters.
pub fn spawn(
    config: &SinkConfig,
    clock: Arc<dyn Clock>,
) -> Result<(SinkHandle, JoinHandle<SinkStats>), SinkError> {
    let store = Store::new(
        &config.url,
        &config.org,
        &config.bucket,
        &config.token,
        config.request_timeout_ms,
    )?;
    let spill = Spill::open(
        &config.spill_dir,
        config.max_spill_bytes,
        config.spill_segment_bytes,
    )?;
    let shared = Arc::new(Shared {
        counters: Counters::default(),
        batch_points: config.batch_points.max(1),
        overflow: Mutex::new(OpenBatch::new(config.batch_points, config.linger_ms)),
        spill: Mutex::new(spill),
    });
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let task = Task {
        rx,
        shared: Arc::clone(&shared),
        clock: Arc::clone(&clock),
        store,
        open: OpenBatch::new(config.batch_points, config.linger_ms),
        memory: MemoryQueue::new(config.max_buffered_points),
        backoff_initial: Duration::from_millis(config.backoff_initial_ms.max(1)),
        backoff_max: Duration::from_millis(config.backoff_max_ms.max(1)),
        tick: Duration::from_millis((config.linger_ms / 2).clamp(5, 250) as u64),
        grace: Duration::from_millis(config.shutdown_grace_ms),
    };
    let pending = lock(&shared.spill).unread_points();
    shared
        .counters
        .spill_pending
        .store(pending, std::sync::atomic::Ordering::Relaxed);
    let join = tokio::spawn(task.run());
    Ok((SinkHandle { tx, shared, clock }, join))
}

struct Task {
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    store: Store,
    open: OpenBatch,
    memory: MemoryQueue,
    backoff_initial: Duration,
    backoff_max: Duration,
    tick: Duration,
    grace: Duration,
}

/// Which queue the batch being written came from.
enum Source {
    Spill,
    Memory,
}

impl Task {
    async fn run(mut self) -> SinkStats {
        let mut tick = tokio::time::interval(self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failures: u32 = 0;
        let mut retry_at: Option<Instant> = None;
        let mut closed_at: Option<Instant> = None;
        let mut last_chance = false;
        loop {
            let can_write = retry_at.is_none_or(|at| Instant::now() >= at);
            if can_write && let Some((source, payload, points)) = self.next_batch() {
                match self.store.write(payload).await {
                    Ok(()) => {
                        failures = 0;
                        retry_at = None;
                        self.acknowledge(source, points);
                    }
                    Err(WriteFailure::Reject(error)) => {
                        tracing::warn!(message = "Store rejected a batch; dropped.", %error, points);
                        Counters::add(&self.shared.counters.dropped, u64::from(points));
                        self.shared.counters.error(error);
                        self.acknowledge_dropped(source);
                    }
                    Err(WriteFailure::Retry(error)) => {
                        let delay = self.backoff(failures);
                        failures = failures.saturating_add(1);
                        retry_at = Some(Instant::now() + delay);
                        Counters::add(&self.shared.counters.retried, 1);
                        tracing::debug!(message = "Write failed; will retry.", %error, delay_ms = delay.as_millis() as u64);
                        self.shared.counters.error(error);
                    }
                }
            }
            let can_write = retry_at.is_none_or(|at| Instant::now() >= at);
            if closed_at.is_none() && can_write && self.has_work() {
                // More to write right away: take in what is waiting, but don't wait.
                match self.rx.try_recv() {
                    Ok(msg) => self.receive(msg),
                    Err(mpsc::error::TryRecvError::Empty) => {}
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed_at = Some(Instant::now());
                    }
                }
                self.seal(false);
            } else if closed_at.is_none() {
                let wake = retry_at.unwrap_or_else(|| Instant::now() + self.tick);
                tokio::select! {
                    biased;
                    msg = self.rx.recv() => match msg {
                        Some(msg) => self.receive(msg),
                        None => closed_at = Some(Instant::now()),
                    },
                    _ = tick.tick() => {}
                    _ = tokio::time::sleep_until(wake), if retry_at.is_some_and(|at| at > Instant::now()) => {}
                }
                self.seal(false);
            } else {
                if !last_chance {
                    // Shutting down: a retry due after the grace would never happen, so
                    // the store gets one more try now (it may be back since the last
                    // failure), then the backoff again within the grace.
                    last_chance = true;
                    if retry_at.is_some() {
                        retry_at = Some(Instant::now());
                        continue;
                    }
                }
                self.seal(true);
                let nothing_left = self.memory.is_empty() && lock(&self.shared.spill).is_empty();
                let out_of_time = closed_at.is_some_and(|at| Instant::now() >= at + self.grace);
                if nothing_left || out_of_time {
                    break;
                }
                if let Some(at) = retry_at {
                    tokio::time::sleep_until(at.min(closed_at.map_or(at, |c| c + self.grace)))
                        .await;
                }
            }
        }
        while let Some(batch) = self.memory.pop() {
            self.shared.spill(&batch);
        }
        self.shared.counters.snapshot()
    }

    fn has_work(&self) -> bool {
        !self.memory.is_empty() || !lock(&self.shared.spill).is_empty()
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX);
        self.backoff_initial
            .saturating_mul(factor)
            .min(self.backoff_max)
    }

    /// Takes in one message and whatever else is already waiting (up to a batch).
    fn receive(&mut self, first: Msg) {
        let mut next = Some(first);
        let mut budget = 4 * self.shared.batch_points;
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => {
                    self.open.push(&line, self.clock.now_ms());
                    if self.open.len() >= self.shared.batch_points {
                        self.seal(true);
                    }
                }
                Msg::Flush(done) => {
                    self.seal(true);
                    let _ = done.send(());
                }
            }
            budget = budget.saturating_sub(1);
            if budget > 0 {
                next = self.rx.try_recv().ok();
            }
        }
    }

    /// Closes the open batch (when due or `force`d) and the overflow batch (always: the
    /// task reaching this point means the channel has room again) into the queues.
    fn seal(&mut self, force: bool) {
        let now = self.clock.now_ms();
        if (force || self.open.is_due(now))
            && let Some(batch) = self.open.take()
        {
            self.route(batch);
        }
        if let Some(batch) = self.shared.take_overflow() {
            self.route(batch);
        }
    }

    /// Memory queue while it has room, else disk.
    fn route(&mut self, batch: Batch) {
        if let Err(batch) = self.memory.push(batch) {
            self.shared.spill(&batch);
        }
    }

    /// The next batch to write: the spill's oldest first, then the memory queue's.
    fn next_batch(&mut self) -> Option<(Source, Vec<u8>, u32)> {
        let peeked = lock(&self.shared.spill).peek();
        match peeked {
            Ok(Some(frame)) => return Some((Source::Spill, frame.payload, frame.points)),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(message = "Spill unreadable; part skipped.", %error);
                self.shared.counters.error(error.to_string());
                return None;
            }
        }
        self.memory
            .front()
            .map(|b| (Source::Memory, b.payload.clone(), b.points))
    }

    fn acknowledge(&mut self, source: Source, points: u32) {
        Counters::add(&self.shared.counters.written, u64::from(points));
        if matches!(source, Source::Spill) {
            Counters::add(&self.shared.counters.replayed, u64::from(points));
        }
        self.acknowledge_dropped(source);
    }

    /// Removes the batch just handled from its queue.
    fn acknowledge_dropped(&mut self, source: Source) {
        match source {
            Source::Memory => {
                self.memory.pop();
            }
            Source::Spill => {
                let mut spill = lock(&self.shared.spill);
                if let Err(error) = spill.ack() {
                    tracing::warn!(message = "Spill segment not deleted.", %error);
                    self.shared.counters.error(error.to_string());
                }
                self.shared
                    .counters
                    .spill_pending
                    .store(spill.unread_points(), std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}
