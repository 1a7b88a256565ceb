//! Delivery records (the `deliveries` topic), redemptions, and the per-campaign
//! counters built from them.
//!
//! A record is written when a notification is planned or suppressed (by the engine)
//! and again when the sender learns its fate (delivered, failed, pruned), all under the
//! same deterministic [`NotificationId`]. Records hold ids only: no push token, no
//! name or e-mail (customer ids are already pseudonymous and are not copied here).
//! Wire form is JSON; the outcome is a plain string field, so any serde format reads it.
//!
//! [`CampaignStats`] reconcile: `targeted = planned + suppressed` and
//! `sent = delivered + failed + pruned`; once every planned notification has an
//! outcome, `planned == sent`, so `targeted == sent + suppressed`. Duplicates (a
//! trigger replayed after a crash) are counted apart in `suppressed_dedup`, outside
//! `targeted`, so a replay never inflates the reach of a campaign.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::campaign::Offer;
use crate::payload::Platform;

/// The topic delivery records are written to.
pub const DELIVERIES_TOPIC: &str = "deliveries";

/// Deterministic id of one notification: 16 bytes of SHA-256 of (campaign,
/// installation, trigger), shaped as an RFC 9562 version 8 UUID (the `apns-id`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(pub [u8; 16]);

impl NotificationId {
    /// The id of (campaign, installation, trigger).
    pub fn derive(campaign_id: &str, installation_id: &str, trigger_id: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"sellout-notification");
        for part in [campaign_id.as_bytes(), installation_id.as_bytes()] {
            h.update((part.len() as u32).to_le_bytes());
            h.update(part);
        }
        h.update(trigger_id.to_le_bytes());
        let digest = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        id[6] = (id[6] & 0x0F) | 0x80; // version 8
        id[8] = (id[8] & 0x3F) | 0x80; // RFC 9562 variant
        Self(id)
    }

    /// Parses the hyphenated UUID form.
    pub fn parse(s: &str) -> Option<Self> {
        let hex: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
        if hex.len() != 32 || s.len() != 36 {
            return None;
        }
        let mut id = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).ok()?;
            id[i] = u8::from_str_radix(text, 16).ok()?;
        }
        Some(Self(id))
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotificationId({self})")
    }
}

impl Serialize for NotificationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NotificationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid notification id {s:?}")))
    }
}

/// What happened to one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Handed to the sender.
    Planned,
    /// Accepted by APNs / FCM.
    Delivered,
    /// Rejected or gave up after retries (see `reason`).
    Failed,
    /// The token was dead (410 / UNREGISTERED); the installation was removed.
    Pruned,
    /// Not sent: a cap, quiet hours, a duplicate, or a render error (see `reason`).
    Suppressed,
    /// Its voucher was redeemed at a stand (`reason` names the stand).
    Redeemed,
}

/// Suppression reason: the per-installation hourly cap.
pub const REASON_CAP_HOUR: &str = "frequency_cap_hour";
/// Suppression reason: the per-installation daily cap.
pub const REASON_CAP_DAY: &str = "frequency_cap_day";
/// Suppression reason: the campaign's quiet hours.
pub const REASON_QUIET_HOURS: &str = "quiet_hours";
/// Suppression reason: already planned (a replay).
pub const REASON_DEDUP: &str = "dedup";

/// One line of the `deliveries` topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Deterministic id (also the `apns-id`).
    pub notification_id: NotificationId,
    /// The campaign.
    pub campaign_id: String,
    /// The installation (an opaque id, never the push token).
    pub installation_id: String,
    /// APNs or FCM.
    pub platform: Platform,
    /// The trigger's signal id.
    pub trigger_id: u64,
    /// The event, when known.
    pub event_id: Option<String>,
    /// The venue, when known.
    pub venue_id: Option<String>,
    /// The zone, when known.
    pub zone_id: Option<String>,
    /// The offer made, when one.
    pub offer: Option<Offer>,
    /// The voucher code, when one.
    pub voucher_code: Option<String>,
    /// When the voucher expires, ms since the epoch.
    pub voucher_expires_ms: Option<i64>,
    /// What happened.
    pub outcome: Outcome,
    /// Why (suppressions and failures), e.g. `quiet_hours`, `BadDeviceToken`.
    pub reason: Option<String>,
    /// Send attempts so far (0 when planned or suppressed).
    pub attempts: u32,
    /// When this outcome happened, ms since the epoch.
    pub time_ms: i64,
}

impl DeliveryRecord {
    /// The same notification with a later outcome (what the sender writes).
    pub fn with_outcome(
        &self,
        outcome: Outcome,
        reason: Option<String>,
        attempts: u32,
        time_ms: i64,
    ) -> Self {
        Self {
            outcome,
            reason,
            attempts,
            time_ms,
            ..self.clone()
        }
    }

    /// JSON bytes for the topic.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Reads a record from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// A voucher redeemed at a stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redemption {
    /// The code as typed or scanned.
    pub voucher_code: String,
    /// When, ms since the epoch.
    pub time_ms: i64,
    /// Which stand.
    pub stand_id: String,
}

/// Counters of one campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignStats {
    /// Installations the campaign matched: `planned + suppressed`.
    pub targeted: u64,
    /// Handed to the sender.
    pub planned: u64,
    /// With a final send outcome: `delivered + failed + pruned`.
    pub sent: u64,
    /// Accepted by the push service.
    pub delivered: u64,
    /// Failed, all reasons.
    pub failed: u64,
    /// Failed, by reason.
    pub failed_by_reason: BTreeMap<String, u64>,
    /// Dead tokens pruned.
    pub pruned: u64,
    /// Suppressed (caps, quiet hours, errors), excluding duplicates.
    pub suppressed: u64,
    /// Suppressed by the hourly or daily cap.
    pub suppressed_cap: u64,
    /// Suppressed by quiet hours.
    pub suppressed_quiet_hours: u64,
    /// Suppressed because they could not be rendered or were too large.
    pub suppressed_error: u64,
    /// Duplicates dropped on replay (not part of `targeted`).
    pub suppressed_dedup: u64,
    /// Vouchers redeemed.
    pub redeemed: u64,
}

impl CampaignStats {
    /// Planned notifications still waiting for an outcome.
    pub fn pending(&self) -> u64 {
        self.planned.saturating_sub(self.sent)
    }

    /// Adds `other`'s counters to these (totals over campaigns).
    pub fn absorb(&mut self, other: &CampaignStats) {
        self.targeted += other.targeted;
        self.planned += other.planned;
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.failed += other.failed;
        self.pruned += other.pruned;
        self.suppressed += other.suppressed;
        self.suppressed_cap += other.suppressed_cap;
        self.suppressed_quiet_hours += other.suppressed_quiet_hours;
        self.suppressed_error += other.suppressed_error;
        self.suppressed_dedup += other.suppressed_dedup;
        self.redeemed += other.redeemed;
        for (reason, n) in &other.failed_by_reason {
            *self.failed_by_reason.entry(reason.clone()).or_default() += n;
        }
    }

    /// True when the counters add up (see the module docs).
    pub fn reconciles(&self) -> bool {
        self.targeted == self.planned + self.suppressed
            && self.sent == self.delivered + self.failed + self.pruned
            && self.suppressed
                == self.suppressed_cap + self.suppressed_quiet_hours + self.suppressed_error
            && self.failed == self.failed_by_reason.values().sum::<u64>()
            && self.targeted == self.sent + self.pending() + self.suppressed
    }
}

/// Counters of every campaign, built by observing records.
#[derive(Debug, Clone, Default)]
pub struct StatsBook {
    campaigns: BTreeMap<String, CampaignStats>,
}

impl StatsBook {
    /// Counts one record.
    pub fn observe(&mut self, record: &DeliveryRecord) {
        let s = self
            .campaigns
            .entry(record.campaign_id.clone())
            .or_default();
        match record.outcome {
            Outcome::Planned => {
                s.targeted += 1;
                s.planned += 1;
            }
            Outcome::Delivered => {
                s.sent += 1;
                s.delivered += 1;
            }
            Outcome::Failed => {
                s.sent += 1;
                s.failed += 1;
                let reason = record.reason.clone().unwrap_or_else(|| "unknown".into());
                *s.failed_by_reason.entry(reason).or_default() += 1;
            }
            Outcome::Pruned => {
                s.sent += 1;
                s.pruned += 1;
            }
            Outcome::Redeemed => s.redeemed += 1,
            Outcome::Suppressed => match record.reason.as_deref() {
                Some(REASON_DEDUP) => s.suppressed_dedup += 1,
                reason => {
                    s.targeted += 1;
                    s.suppressed += 1;
                    match reason {
                        Some(REASON_CAP_HOUR | REASON_CAP_DAY) => s.suppressed_cap += 1,
                        Some(REASON_QUIET_HOURS) => s.suppressed_quiet_hours += 1,
                        _ => s.suppressed_error += 1,
                    }
                }
            },
        }
    }

    /// The counters of one campaign (zero when it has none yet).
    pub fn get(&self, campaign_id: &str) -> CampaignStats {
        self.campaigns.get(campaign_id).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
