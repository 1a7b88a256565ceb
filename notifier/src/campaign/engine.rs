//! The campaign engine: a [`Trigger`] and its candidate audience in, a [`Plan`] out.
//!
//! For each matching campaign and each admitted recipient it derives the
//! [`NotificationId`] of (campaign, installation, trigger) and then, in order: drops a
//! duplicate (already planned or suppressed: a replay), suppresses in quiet hours,
//! suppresses over a frequency cap, chooses the offer, issues the voucher, renders the
//! localised template and builds the platform payload. Every outcome is a
//! [`DeliveryRecord`] for the `deliveries` topic; the engine's own state (duplicates,
//! caps, counters, vouchers awaiting redemption) is rebuilt from those records by
//! [`Engine::restore`], so a replay after a crash sends nothing twice.
//!
//! Memory is bounded by time: ids are kept in one-minute buckets and forgotten once
//! older than the longest validity plus a margin (a trigger that old is stale and is
//! not planned at all), caps keep a day, vouchers are kept until expiry plus the margin.
//!
//! Quiet hours suppress every send of a campaign (real-time and scheduled alike): a
//! "selling fast" push at 02:00 is as unwelcome as a voucher.

use std::collections::{BTreeMap, HashMap};

use super::caps::{CapState, Caps, UtcOffset};
use super::context::base_record;
pub use super::context::scheduled_trigger_id;
use super::matching::AudienceQuery;
use super::offer::{FirstOption, Offer, OfferChooser, OfferContext};
use super::rules::{Campaign, TriggerRule};
use super::{Recipient, Trigger, TriggerKind};
use crate::delivery::{
    CampaignStats, DeliveryRecord, NotificationId, Outcome, REASON_DEDUP, REASON_QUIET_HOURS,
    StatsBook,
};
use crate::payload::Payload;
use crate::template::RenderedMessage;
use crate::voucher::{self, VoucherClaims, VoucherError, VoucherKeys};

const MINUTE_MS: i64 = 60_000;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// UTC offset per venue, for campaigns that set none.
    pub venue_offsets: BTreeMap<String, UtcOffset>,
    /// Kept beyond the longest validity before an id or voucher is forgotten, in ms.
    pub retention_margin_ms: i64,
    /// Caps per installation across all campaigns (none by default).
    pub global_caps: Caps,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            venue_offsets: BTreeMap::new(),
            retention_margin_ms: 10 * MINUTE_MS,
            global_caps: Caps::default(),
        }
    }
}

/// Decides whether a recipient belongs to a campaign's audience (tags, proximity):
/// the installations store implements it.
pub trait AudienceFilter: Send {
    /// True when `recipient` satisfies `query` (cart ownership is checked by the engine).
    fn admits(&self, query: &AudienceQuery, recipient: &Recipient) -> bool;
}

/// Admits everyone: for callers that pass an audience already selected per campaign.
#[derive(Debug, Default, Clone, Copy)]
pub struct AdmitAll;

impl AudienceFilter for AdmitAll {
    fn admits(&self, _query: &AudienceQuery, _recipient: &Recipient) -> bool {
        true
    }
}

/// One notification ready for the sender.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNotification {
    /// The `planned` record (append it before sending).
    pub record: DeliveryRecord,
    /// The payload, without the push token.
    pub payload: Payload,
    /// The rendered text.
    pub message: RenderedMessage,
    /// The locale whose template was used.
    pub locale: String,
    /// The voucher, when one.
    pub voucher: Option<VoucherClaims>,
}

/// What [`Engine::plan`] decided for one trigger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// To send.
    pub notifications: Vec<PlannedNotification>,
    /// Not to send, with reasons (duplicates included).
    pub suppressed: Vec<DeliveryRecord>,
    /// Campaigns that matched a trigger too old to act on (its offer already expired).
    pub stale: u32,
}

impl Plan {
    /// Every record to append to `deliveries`, planned first.
    pub fn records(&self) -> impl Iterator<Item = &DeliveryRecord> {
        self.notifications
            .iter()
            .map(|n| &n.record)
            .chain(&self.suppressed)
    }
}

/// Why a redemption was not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    /// The code does not verify.
    #[error(transparent)]
    Voucher(#[from] VoucherError),
    /// Genuine, but already redeemed, or issued longer ago than the engine remembers.
    #[error("voucher already redeemed or not issued recently")]
    NotOutstanding,
}

#[derive(Debug, Clone)]
pub(super) struct Outstanding {
    /// The `planned` record of the notification that carried the voucher.
    pub(super) planned: DeliveryRecord,
    pub(super) expires_at_ms: i64,
    pub(super) offer: Offer,
    pub(super) context: Option<OfferContext>,
}

/// Turns triggers into plans; see the module docs.
pub struct Engine {
    pub(super) campaigns: BTreeMap<String, Campaign>,
    pub(super) config: EngineConfig,
    pub(super) keys: VoucherKeys,
    pub(super) chooser: Box<dyn OfferChooser>,
    pub(super) filter: Box<dyn AudienceFilter>,
    /// Notification id → the minute bucket it was remembered in.
    pub(super) seen: HashMap<NotificationId, i64>,
    /// Minute bucket → ids remembered then (for eviction).
    pub(super) seen_by_minute: BTreeMap<i64, Vec<NotificationId>>,
    pub(super) caps: CapState,
    pub(super) stats: StatsBook,
    pub(super) outstanding: HashMap<String, Outstanding>,
    /// Expiry minute → voucher codes (for eviction).
    pub(super) expiring: BTreeMap<i64, Vec<String>>,
    /// The minute of the last eviction (evicting more often is wasted work).
    pub(super) evicted_minute: i64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("campaigns", &self.campaigns.keys().collect::<Vec<_>>())
            .field("keys", &self.keys)
            .field("remembered_ids", &self.remembered_ids())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `campaigns`, signing vouchers with `keys`; offers are chosen by
    /// [`FirstOption`] and every recipient is admitted ([`AdmitAll`]) until replaced.
    pub fn new(campaigns: Vec<Campaign>, keys: VoucherKeys, config: EngineConfig) -> Self {
        Self {
            campaigns: campaigns
                .into_iter()
                .map(|c| (c.id().to_owned(), c))
                .collect(),
            config,
            keys,
            chooser: Box::new(FirstOption),
            filter: Box::new(AdmitAll),
            seen: HashMap::new(),
            seen_by_minute: BTreeMap::new(),
            caps: CapState::default(),
            stats: StatsBook::default(),
            outstanding: HashMap::new(),
            expiring: BTreeMap::new(),
            evicted_minute: i64::MIN,
        }
    }

    /// Replaces the offer chooser.
    pub fn with_chooser(mut self, chooser: Box<dyn OfferChooser>) -> Self {
        self.chooser = chooser;
        self
    }

    /// Replaces the audience filter.
    pub fn with_filter(mut self, filter: Box<dyn AudienceFilter>) -> Self {
        self.filter = filter;
        self
    }

    /// The voucher key ring (rotate through it).
    pub fn keys_mut(&mut self) -> &mut VoucherKeys {
        &mut self.keys
    }

    /// Adds or replaces a campaign; true when it is new.
    pub fn upsert(&mut self, campaign: Campaign) -> bool {
        self.campaigns
            .insert(campaign.id().to_owned(), campaign)
            .is_none()
    }

    /// Removes a campaign.
    pub fn remove(&mut self, id: &str) -> Option<Campaign> {
        self.campaigns.remove(id)
    }

    /// One campaign.
    pub fn campaign(&self, id: &str) -> Option<&Campaign> {
        self.campaigns.get(id)
    }

    /// Every campaign, by id.
    pub fn campaigns(&self) -> impl Iterator<Item = &Campaign> {
        self.campaigns.values()
    }

    /// The counters of one campaign.
    pub fn stats(&self, campaign_id: &str) -> CampaignStats {
        self.stats.get(campaign_id)
    }

    /// The audience selections of the campaigns `trigger` matches.
    pub fn audience_queries(&self, trigger: &Trigger) -> Vec<AudienceQuery> {
        self.campaigns
            .values()
            .filter(|c| c.matches(trigger))
            .map(|c| c.audience_query(trigger))
            .collect()
    }

    /// Scheduled campaigns due at `now_ms` (at ≤ now < at + validity) as triggers with
    /// ids derived from (campaign, time): calling again yields the same triggers.
    pub fn scheduled_triggers(&self, now_ms: i64) -> Vec<Trigger> {
        self.campaigns
            .values()
            .filter_map(|c| {
                let at = c.scheduled_at_ms?;
                (c.spec.enabled && at <= now_ms && now_ms < at + c.validity_ms()).then(|| Trigger {
                    id: scheduled_trigger_id(c.id(), at),
                    kind: TriggerKind::Scheduled,
                    time_ms: at,
                    event_id: c.spec.event_id.clone(),
                    venue_id: c.spec.venue_id.clone(),
                    zone_id: None,
                    category_id: None,
                    value: 0.0,
                    customer_id: None,
                    properties: [("campaign".to_owned(), c.id().to_owned())].into(),
                })
            })
            .collect()
    }

    /// Plans the notifications for `trigger` among `audience`; see the module docs.
    pub fn plan<'r>(
        &mut self,
        trigger: &Trigger,
        audience: impl IntoIterator<Item = &'r Recipient>,
        now_ms: i64,
    ) -> Plan {
        self.evict(now_ms);
        let audience: Vec<&Recipient> = audience.into_iter().collect();
        let mut plan = Plan::default();
        let matching: Vec<String> = self
            .campaigns
            .values()
            .filter(|c| c.matches(trigger))
            .map(|c| c.id().to_owned())
            .collect();
        for id in matching {
            let Some(campaign) = self.campaigns.get(&id).cloned() else {
                continue;
            };
            self.plan_campaign(&campaign, trigger, &audience, now_ms, &mut plan);
        }
        for record in plan.records() {
            self.stats.observe(record);
        }
        plan
    }

    fn plan_campaign(
        &mut self,
        campaign: &Campaign,
        trigger: &Trigger,
        audience: &[&Recipient],
        now_ms: i64,
        plan: &mut Plan,
    ) {
        let expires_at_ms = voucher::expiry_minute_ceil(trigger.time_ms + campaign.validity_ms());
        if expires_at_ms <= now_ms {
            plan.stale += 1;
            tracing::debug!(
                message = "Stale trigger skipped.",
                campaign = campaign.id(),
                trigger = trigger.id
            );
            return;
        }
        let query = campaign.audience_query(trigger);
        let offset = self.offset_of(campaign, trigger);
        let quiet = campaign
            .spec
            .quiet_hours
            .as_ref()
            .is_some_and(|q| q.contains(now_ms, offset));
        let is_cart = matches!(campaign.spec.trigger, TriggerRule::CartAbandoned { .. });
        for recipient in audience {
            if is_cart
                && (trigger.customer_id.is_none() || recipient.customer_id != trigger.customer_id)
            {
                continue;
            }
            if !self.filter.admits(&query, recipient) {
                continue;
            }
            let id = NotificationId::derive(campaign.id(), &recipient.installation_id, trigger.id);
            let record = base_record(id, campaign, recipient, trigger, now_ms);
            let suppress = |reason: &str| DeliveryRecord {
                outcome: Outcome::Suppressed,
                reason: Some(reason.to_owned()),
                ..record.clone()
            };
            if self.seen.contains_key(&id) {
                plan.suppressed.push(suppress(REASON_DEDUP));
                continue;
            }
            self.remember(id, now_ms);
            if quiet {
                plan.suppressed.push(suppress(REASON_QUIET_HOURS));
                continue;
            }
            if let Some(hit) = self.cap_hit(campaign, &recipient.installation_id, now_ms) {
                plan.suppressed.push(suppress(hit.reason()));
                continue;
            }
            match self.build(
                campaign,
                trigger,
                recipient,
                record.clone(),
                offset,
                expires_at_ms,
                now_ms,
            ) {
                Ok(planned) => {
                    self.count_send(campaign.id(), &recipient.installation_id, now_ms);
                    plan.notifications.push(planned);
                }
                Err(reason) => {
                    tracing::warn!(message = "Notification not built.", campaign = campaign.id(), %reason);
                    plan.suppressed.push(suppress(&reason));
                }
            }
        }
    }

    fn offset_of(&self, campaign: &Campaign, trigger: &Trigger) -> UtcOffset {
        campaign
            .spec
            .utc_offset
            .or_else(|| {
                let venue = trigger
                    .venue_id
                    .as_ref()
                    .or(campaign.spec.venue_id.as_ref())?;
                self.config.venue_offsets.get(venue).copied()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
