//! The notifier at run time: follows the `beacons` topic (last-seen zones), the
//! `signals` topic (triggers) and the `redemptions` topic (vouchers used at stands,
//! recorded as `redeemed` deliveries), asks the campaign [`Engine`] for a plan per trigger
//! over the audience the installations store selects, appends every record to
//! `deliveries` **before** sending, sends through APNs and FCM, appends each outcome,
//! and prunes installations whose token is dead.
//!
//! Crash safety: the engine is rebuilt from `deliveries` on open, so a trigger replayed
//! after a crash finds its notification ids already planned and sends nothing twice;
//! the positions in `signals` and `beacons` are checkpointed after each poll (one small
//! atomic file), so a restart re-reads at most one poll's records. A notification that
//! was planned but whose send never finished is not retried (at most once).
//!
//! A poll that fails part-way (a log append, the installations store) recovers the
//! same way without a restart: the positions go back to where the poll began and the
//! engine is rebuilt from `deliveries`, so the next poll re-reads the whole batch. The
//! triggers handled before the failure find their notifications planned and send
//! nothing twice; the rest are handled then, none is dropped.
//!
//! Audiences: a campaign's tag expression and proximity rule select installations from
//! the bitmap index; cart reminders reach installations tagged `customer:<id>` (the
//! app backend adds that tag to a signed-in installation, as Notification Hubs'
//! `$UserId:` tag).

mod directory;
pub mod http;
mod report;
mod send;
pub mod triggers;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sellout_ingest::records::{AnyRecord, Topic, wire};
use sellout_pipelines::output::{SIGNALS_TOPIC, decode_signal};
use sellout_streams::{Batch, Offset, StreamError, Transport};
use serde::{Deserialize, Serialize};

pub use directory::Directory;
pub use report::PollReport;
pub use send::{Addressed, Senders};

use crate::campaign::{AudienceFilter, AudienceQuery, Engine, Recipient, Trigger};
use crate::delivery::{DELIVERIES_TOPIC, DeliveryRecord, Outcome, Redemption};
use crate::tags::TagExpr;
use crate::zones::Near;

/// The topic stands report redeemed vouchers on (JSON [`Redemption`]s).
pub const REDEMPTIONS_TOPIC: &str = "redemptions";

/// Bytes read per topic per poll.
const READ_BYTES: usize = 1 << 20;

/// Why the runtime stopped.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A topic could not be read or written.
    #[error("notifier streams: {0}")]
    Stream(#[from] StreamError),
    /// The checkpoint could not be written.
    #[error("notifier checkpoint {path}: {source}")]
    Checkpoint {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store refused an erase.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A redemption was refused.
    #[error(transparent)]
    Redeem(#[from] crate::campaign::RedeemError),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Positions {
    signals: Offset,
    beacons: Offset,
    #[serde(default)]
    redemptions: Offset,
}

/// Who each campaign selected for the trigger being planned: the engine's audience
/// filter reads it.
#[derive(Debug, Clone, Default)]
struct Selected(Arc<Mutex<HashMap<String, HashSet<String>>>>);

impl AudienceFilter for Selected {
    fn admits(&self, query: &AudienceQuery, recipient: &Recipient) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&query.campaign_id)
            .is_some_and(|ids| ids.contains(&recipient.installation_id))
    }
}

/// The notifier following the streams; see the module docs.
pub struct Runtime {
    directory: Arc<Directory>,
    engine: Arc<Mutex<Engine>>,
    senders: Senders,
    transport: Arc<dyn Transport>,
    checkpoint: Option<PathBuf>,
    positions: Positions,
    selected: Selected,
    totals: PollReport,
    /// Installations selected per trigger at most (a bound on one plan's memory).
    max_audience: usize,
    /// See [`Runtime::replay_lag`].
    replay_lag_ms: Option<i64>,
    /// A failed poll's rebuild of the engine did not finish: the next poll retries it
    /// before reading anything.
    rebuild_pending: bool,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("senders", &self.senders)
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime over `store` and `engine` (whose audience filter it replaces),
    /// rebuilding the engine from `deliveries` and the positions from `checkpoint`.
    pub fn open(
        directory: Directory,
        engine: Engine,
        senders: Senders,
        transport: Arc<dyn Transport>,
        checkpoint: Option<PathBuf>,
    ) -> Result<Self, RuntimeError> {
        let selected = Selected::default();
        let mut engine = engine.with_filter(Box::new(selected.clone()));
        restore(transport.as_ref(), &mut engine)?;
        let positions = checkpoint
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Ok(Self {
            directory: Arc::new(directory),
            engine: Arc::new(Mutex::new(engine)),
            senders,
            transport,
            checkpoint,
            positions,
            selected,
            totals: PollReport::default(),
            max_audience: 2_000_000,
            replay_lag_ms: None,
            rebuild_pending: false,
        })
    }

    /// For simulations and backfills that feed records faster than real time in
    /// coarse steps: plan each trigger as of its own time plus `lag_ms` (never later
    /// than the poll's `now_ms`) instead of as of the poll, as a notifier following
    /// the stream continuously would have. Off by default: live, a trigger older than
    /// its offer's validity is stale and skipped.
    pub fn replay_lag(mut self, lag_ms: Option<i64>) -> Self {
        self.replay_lag_ms = lag_ms;
        self
    }

    /// The engine, shared with the campaigns routes.
    pub fn engine(&self) -> &Arc<Mutex<Engine>> {
        &self.engine
    }

    /// Where audiences come from (the installations routes use its store).
    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// Everything done since open.
    pub fn totals(&self) -> PollReport {
        self.totals
    }

    /// Reads what arrived on `beacons` and `signals` since the last poll, plans,
    /// records and sends; `now_ms` is the clock's time (event time in the demo).
    ///
    /// On an error the positions go back to where this poll began and the engine is
    /// rebuilt from `deliveries` (see the module docs), so the next poll handles what
    /// this one could not.
    pub async fn poll(&mut self, now_ms: i64) -> Result<PollReport, RuntimeError> {
        if self.rebuild_pending {
            self.rebuild()?;
        }
        let began = self.positions;
        match self.poll_from_positions(now_ms).await {
            Ok(report) => Ok(report),
            Err(error) => {
                self.positions = began;
                self.rebuild_pending = true;
                if let Err(rebuild) = self.rebuild() {
                    tracing::warn!(message = "Rebuilding the campaign engine after a failed poll failed; the next poll retries.", error = %rebuild);
                }
                Err(error)
            }
        }
    }

    /// Forgets what the engine learned since it last matched `deliveries` and restores
    /// it from the topic, as a restart would.
    fn rebuild(&mut self) -> Result<(), RuntimeError> {
        let mut engine = self.lock();
        engine.forget_deliveries();
        restore(self.transport.as_ref(), &mut engine)?;
        drop(engine);
        self.rebuild_pending = false;
        tracing::info!(message = "Campaign engine rebuilt from deliveries after a failed poll.");
        Ok(())
    }

    async fn poll_from_positions(&mut self, now_ms: i64) -> Result<PollReport, RuntimeError> {
        let mut report = PollReport::default();
        self.read_beacons(&mut report)?;
        // Redemptions first: they happened before the triggers read after them.
        self.read_redemptions(&mut report)?;
        let mut triggers = Vec::new();
        let fetched = self
            .transport
            .read(SIGNALS_TOPIC, self.positions.signals, READ_BYTES)?;
        for r in fetched.records() {
            report.signals += 1;
            match decode_signal(r.value) {
                Ok(s) => triggers.extend(triggers::from_signal(&s)),
                Err(error) => {
                    report.undecodable += 1;
                    tracing::warn!(message = "Skipped an undecodable signal.", offset = r.offset, %error);
                }
            }
        }
        triggers.extend(self.lock().scheduled_triggers(now_ms));
        for trigger in &triggers {
            let at = match self.replay_lag_ms {
                Some(lag) => trigger
                    .time_ms
                    .saturating_add(lag)
                    .clamp(trigger.time_ms.min(now_ms), now_ms),
                None => now_ms,
            };
            self.handle(trigger, at, &mut report).await?;
        }
        // Only once every trigger read is handled.
        if !fetched.is_empty() {
            self.positions.signals = fetched.next_offset();
        }
        self.save_checkpoint()?;
        self.totals.add(&report);
        Ok(report)
    }

    /// Counts a voucher redeemed at a stand and appends its `redeemed` record.
    pub fn redeem(&mut self, redemption: &Redemption) -> Result<DeliveryRecord, RuntimeError> {
        let (_, record) = self.lock().redeem_to_record(redemption)?;
        self.append(std::slice::from_ref(&record))?;
        Ok(record)
    }

    fn read_redemptions(&mut self, report: &mut PollReport) -> Result<(), RuntimeError> {
        let fetched =
            self.transport
                .read(REDEMPTIONS_TOPIC, self.positions.redemptions, READ_BYTES)?;
        let mut records = Vec::new();
        for r in fetched.records() {
            let Ok(redemption) = serde_json::from_slice::<Redemption>(r.value) else {
                report.undecodable += 1;
                continue;
            };
            match self.lock().redeem_to_record(&redemption) {
                Ok((_, record)) => {
                    report.redeemed += 1;
                    records.push(record);
                }
                Err(error) => {
                    report.refused += 1;
                    tracing::info!(message = "Redemption refused.", stand = %redemption.stand_id, %error);
                }
            }
        }
        if !fetched.is_empty() {
            self.positions.redemptions = fetched.next_offset();
        }
        self.append(&records)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_beacons(&mut self, report: &mut PollReport) -> Result<(), RuntimeError> {
        let fetched = self.transport.read(
            Topic::Beacons.as_str(),
            self.positions.beacons,
            READ_BYTES * 4,
        )?;
        for r in fetched.records() {
            match wire::decode(Topic::Beacons, r.value) {
                Ok(AnyRecord::Beacons(b)) => {
                    self.directory
                        .sighting(&b.installation_id, &b.venue_id, &b.zone_id, b.time);
                    report.sightings += 1;
                }
                Ok(_) | Err(_) => report.undecodable += 1,
            }
        }
        if !fetched.is_empty() {
            self.positions.beacons = fetched.next_offset();
        }
        Ok(())
    }

    /// Selects each matching campaign's audience, plans, records, sends, records.
    async fn handle(
        &mut self,
        trigger: &Trigger,
        now_ms: i64,
        report: &mut PollReport,
    ) -> Result<(), RuntimeError> {
        let queries = self.lock().audience_queries(trigger);
        if queries.is_empty() {
            return Ok(());
        }
        report.triggers += 1;
        let mut audience: HashMap<String, crate::Installation> = HashMap::new();
        let mut selected: HashMap<String, HashSet<String>> = HashMap::new();
        for q in &queries {
            let chosen = self.select(q, trigger, now_ms).await?;
            let ids = selected.entry(q.campaign_id.clone()).or_default();
            for inst in chosen {
                ids.insert(inst.installation_id.clone());
                audience.entry(inst.installation_id.clone()).or_insert(inst);
            }
        }
        *self.selected.0.lock().unwrap_or_else(|p| p.into_inner()) = selected;
        let mut recipients: Vec<Recipient> = audience.values().map(recipient).collect();
        // A stable order, so plans (and offer draws) repeat run after run.
        recipients.sort_by(|a, b| a.installation_id.cmp(&b.installation_id));
        report.selected += recipients.len() as u64;
        let plan = self.lock().plan(trigger, recipients.iter(), now_ms);
        report.stale += u64::from(plan.stale);
        report.planned += plan.notifications.len() as u64;
        report.suppressed += plan.suppressed.len() as u64;
        let records: Vec<DeliveryRecord> = plan.records().cloned().collect();
        self.append(&records)?;
        let batch: Vec<Addressed> = plan
            .notifications
            .into_iter()
            .map(|planned| {
                let token = audience
                    .get(&planned.record.installation_id)
                    .map(|i| i.push_channel.clone());
                Addressed { planned, token }
            })
            .collect();
        let outcomes = self.senders.send(batch, now_ms).await;
        for o in &outcomes {
            match o.outcome {
                Outcome::Delivered => report.delivered += 1,
                Outcome::Pruned => {
                    report.pruned += 1;
                    self.directory.erase(&o.installation_id).await?;
                }
                _ => report.failed += 1,
            }
        }
        {
            let mut engine = self.lock();
            for o in &outcomes {
                engine.record_outcome(o);
            }
        }
        self.append(&outcomes)
    }

    async fn select(
        &self,
        q: &AudienceQuery,
        trigger: &Trigger,
        now_ms: i64,
    ) -> Result<Vec<crate::Installation>, RuntimeError> {
        let customer_tag = q.customer_id.as_deref().map(triggers::customer_tag);
        let text = match (&q.tags, &customer_tag) {
            (Some(t), Some(c)) => Some(format!("({t}) && {c}")),
            (Some(t), None) => Some(t.clone()),
            (None, Some(c)) => Some(c.clone()),
            (None, None) if q.near_zone.is_some() => None,
            // A campaign with no audience rule reaches nobody, not everybody.
            (None, None) => return Ok(Vec::new()),
        };
        let expr = match text.as_deref().map(TagExpr::parse).transpose() {
            Ok(expr) => expr,
            Err(error) => {
                tracing::warn!(message = "Campaign audience does not parse; nobody selected.", campaign = %q.campaign_id, %error);
                return Ok(Vec::new());
            }
        };
        let near = match (&q.near_zone, &trigger.venue_id) {
            (Some((zone, since)), Some(venue)) => Some(Near {
                venue: venue.clone(),
                zone: zone.clone(),
                within_ms: (now_ms - since).max(0),
            }),
            (Some(_), None) => return Ok(Vec::new()),
            (None, _) => None,
        };
        Ok(self
            .directory
            .select(expr.as_ref(), near.as_ref(), now_ms, self.max_audience)
            .await?)
    }

    fn append(&self, records: &[DeliveryRecord]) -> Result<(), RuntimeError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for r in records {
            batch.push_with(r.installation_id.as_bytes(), r.time_ms, |buf| {
                // Serialising our own plain struct to a Vec cannot fail.
                let _ = serde_json::to_writer(buf, r);
            });
        }
        self.transport.append(DELIVERIES_TOPIC, &batch)?;
        Ok(())
    }

    fn save_checkpoint(&self) -> Result<(), RuntimeError> {
        let Some(path) = &self.checkpoint else {
            return Ok(());
        };
        let err = |source| RuntimeError::Checkpoint {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(&self.positions).unwrap_or_default();
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

/// Feeds every record of `deliveries` to [`Engine::restore`].
fn restore(transport: &dyn Transport, engine: &mut Engine) -> Result<(), RuntimeError> {
    let mut from = 0;
    loop {
        let fetched = transport.read(DELIVERIES_TOPIC, from, READ_BYTES)?;
        if fetched.is_empty() {
            return Ok(());
        }
        let records: Vec<DeliveryRecord> = fetched
            .records()
            .filter_map(|r| DeliveryRecord::from_json(r.value).ok())
            .collect();
        engine.restore(records.iter());
        from = fetched.next_offset();
    }
}

/// Appends a redemption a stand reported to the `redemptions` topic; the runtime
/// counts it (once) at its next poll.
pub fn append_redemption(transport: &dyn Transport, r: &Redemption) -> Result<(), StreamError> {
    let mut batch = Batch::new();
    batch.push_with(r.stand_id.as_bytes(), r.time_ms, |buf| {
        // Serialising our own plain struct to a Vec cannot fail.
        let _ = serde_json::to_writer(buf, r);
    });
    transport.append(REDEMPTIONS_TOPIC, &batch).map(|_| ())
}

fn recipient(i: &crate::Installation) -> Recipient {
    Recipient {
        installation_id: i.installation_id.clone(),
        platform: i.platform,
        locale: i.locale.clone(),
        customer_id: i.customer_id.clone(),
        properties: Default::default(),
    }
}
