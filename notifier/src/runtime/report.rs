//! What one poll of the notifier runtime did: counters only, nothing personal.

use serde::{Deserialize, Serialize};

/// What one poll did (all counters; nothing personal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollReport {
    /// Beacon sightings applied to last-seen zones.
    pub sightings: u64,
    /// Signals read.
    pub signals: u64,
    /// Triggers planned (signals campaigns react to, and scheduled ones).
    pub triggers: u64,
    /// Installations the campaigns' audiences selected (summed over triggers).
    pub selected: u64,
    /// Campaigns that matched a trigger too old to act on (its offer had expired).
    pub stale: u64,
    /// Notifications planned and handed to a sender.
    pub planned: u64,
    /// Suppressed (caps, quiet hours, duplicates, render errors).
    pub suppressed: u64,
    /// Delivered.
    pub delivered: u64,
    /// Failed after retries, or refused.
    pub failed: u64,
    /// Dead tokens: installation erased.
    pub pruned: u64,
    /// Vouchers redeemed (each counted once).
    pub redeemed: u64,
    /// Redemptions refused (unknown, tampered, expired, or already redeemed).
    pub refused: u64,
    /// Records that did not decode (counted, skipped).
    pub undecodable: u64,
}

impl PollReport {
    pub(super) fn add(&mut self, o: &PollReport) {
        self.sightings += o.sightings;
        self.signals += o.signals;
        self.triggers += o.triggers;
        self.selected += o.selected;
        self.stale += o.stale;
        self.planned += o.planned;
        self.suppressed += o.suppressed;
        self.delivered += o.delivered;
        self.failed += o.failed;
        self.pruned += o.pruned;
        self.redeemed += o.redeemed;
        self.refused += o.refused;
        self.undecodable += o.undecodable;
    }
}
