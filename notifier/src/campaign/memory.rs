//! What the engine remembers between triggers, and how it is rebuilt: outcomes from
//! the sender, [`Engine::restore`] from the `deliveries` topic, redemptions, and the
//! time-based eviction that keeps it bounded.

use super::caps::CapHit;
use super::engine::{Engine, Outstanding, RedeemError};
use super::rules::Campaign;
use crate::delivery::{DeliveryRecord, NotificationId, Outcome, Redemption};
use crate::voucher::{self, VoucherClaims};

const MINUTE_MS: i64 = 60_000;
/// The cap key of the global caps (no campaign id is empty).
const GLOBAL: &str = "";

impl Engine {
    /// Counts a later outcome (delivered, failed, pruned) written by the sender.
    pub fn record_outcome(&mut self, record: &DeliveryRecord) {
        self.stats.observe(record);
    }

    /// Forgets everything learned from deliveries (duplicates, caps, counters and
    /// outstanding vouchers), keeping campaigns, keys, the offer chooser and the audience
    /// filter: followed by [`Engine::restore`], the engine is as a restart would find it.
    pub fn forget_deliveries(&mut self) {
        self.seen.clear();
        self.seen_by_minute.clear();
        self.caps = Default::default();
        self.stats = Default::default();
        self.outstanding.clear();
        self.expiring.clear();
        self.evicted_minute = i64::MIN;
    }

    /// Rebuilds duplicates, caps, counters and outstanding vouchers from the
    /// `deliveries` topic (on start, before planning, or after
    /// [`Engine::forget_deliveries`]).
    pub fn restore<'r>(&mut self, records: impl Iterator<Item = &'r DeliveryRecord>) {
        for r in records {
            self.stats.observe(r);
            self.remember(r.notification_id, r.time_ms);
            if r.outcome == Outcome::Redeemed
                && let Some(code) = &r.voucher_code
            {
                self.outstanding.remove(code);
            }
            if r.outcome != Outcome::Planned {
                continue;
            }
            self.count_send(&r.campaign_id, &r.installation_id, r.time_ms);
            if let (Some(code), Some(offer), Some(expires_at_ms)) =
                (&r.voucher_code, &r.offer, r.voucher_expires_ms)
            {
                self.keep_voucher(
                    code.clone(),
                    Outstanding {
                        planned: r.clone(),
                        expires_at_ms,
                        offer: offer.clone(),
                        context: None,
                    },
                );
            }
        }
    }

    /// Counts a redemption and tells the offer chooser; each code counts once.
    pub fn redeem(&mut self, redemption: &Redemption) -> Result<VoucherClaims, RedeemError> {
        self.redeem_to_record(redemption).map(|(claims, _)| claims)
    }

    /// As [`Engine::redeem`], also returning the `redeemed` record to append to the
    /// `deliveries` topic (the notification's record with outcome `redeemed`, the
    /// redemption's time, and the stand as its reason). Don't pass that record to
    /// [`Engine::record_outcome`]: it is already counted.
    pub fn redeem_to_record(
        &mut self,
        redemption: &Redemption,
    ) -> Result<(VoucherClaims, DeliveryRecord), RedeemError> {
        let claims = voucher::verify(&redemption.voucher_code, &self.keys, redemption.time_ms)?;
        let entry = self
            .outstanding
            .remove(&claims.code)
            .ok_or(RedeemError::NotOutstanding)?;
        let record = entry.planned.with_outcome(
            Outcome::Redeemed,
            Some(redemption.stand_id.clone()),
            0,
            redemption.time_ms,
        );
        self.stats.observe(&record);
        if let Some(context) = &entry.context {
            self.chooser.observe(&entry.offer, context, true);
        }
        Ok((claims, record))
    }

    /// Forgets what is older than the retention horizon; vouchers that expired
    /// unredeemed are reported to the offer chooser. Runs at most once a minute.
    pub fn evict(&mut self, now_ms: i64) {
        let minute = bucket(now_ms);
        if minute == self.evicted_minute {
            return;
        }
        self.evicted_minute = minute;
        let longest = self
            .campaigns
            .values()
            .map(Campaign::validity_ms)
            .max()
            .unwrap_or(0);
        let horizon = bucket(now_ms - longest - self.config.retention_margin_ms);
        let kept = self.seen_by_minute.split_off(&horizon);
        for (minute, ids) in std::mem::replace(&mut self.seen_by_minute, kept) {
            for id in ids {
                if self.seen.get(&id) == Some(&minute) {
                    self.seen.remove(&id);
                }
            }
        }
        self.caps.evict(now_ms);
        let cut = now_ms - self.config.retention_margin_ms;
        let kept = self.expiring.split_off(&(cut + 1));
        for code in std::mem::replace(&mut self.expiring, kept)
            .into_values()
            .flatten()
        {
            if let Some(o) = self.outstanding.remove(&code)
                && let Some(context) = &o.context
            {
                self.chooser.observe(&o.offer, context, false);
            }
        }
    }

    /// How many notification ids are remembered for deduplication.
    pub fn remembered_ids(&self) -> usize {
        self.seen.len()
    }

    pub(super) fn remember(&mut self, id: NotificationId, time_ms: i64) {
        let minute = bucket(time_ms);
        let newer = match self.seen.get(&id) {
            Some(&known) => known < minute,
            None => true,
        };
        if newer {
            self.seen.insert(id, minute);
            self.seen_by_minute.entry(minute).or_default().push(id);
        }
    }

    /// The cap (the campaign's, then the global one) one more send would break.
    pub(super) fn cap_hit(
        &mut self,
        campaign: &Campaign,
        installation: &str,
        now_ms: i64,
    ) -> Option<CapHit> {
        self.caps
            .check(campaign.id(), installation, campaign.spec.caps, now_ms)
            .or_else(|| {
                let global = self.config.global_caps;
                self.caps.check(GLOBAL, installation, global, now_ms)
            })
    }

    /// Counts a send against the campaign's caps and the global ones.
    pub(super) fn count_send(&mut self, campaign_id: &str, installation: &str, time_ms: i64) {
        let campaign_caps = self.campaigns.get(campaign_id).map(|c| c.spec.caps);
        let global = self.config.global_caps;
        for (key, caps) in [(campaign_id, campaign_caps), (GLOBAL, Some(global))] {
            let Some(caps) = caps else { continue };
            if let Some(keep) = caps.per_day.max(caps.per_hour) {
                self.caps.record(key, installation, time_ms, keep as usize);
            }
        }
    }

    pub(super) fn keep_voucher(&mut self, code: String, outstanding: Outstanding) {
        self.expiring
            .entry(outstanding.expires_at_ms)
            .or_default()
            .push(code.clone());
        self.outstanding.insert(code, outstanding);
    }
}

fn bucket(time_ms: i64) -> i64 {
    time_ms.div_euclid(MINUTE_MS)
}
