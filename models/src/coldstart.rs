//! Cold start of a new event from its cluster: the share of categories that sold out
//! by the start among similar events ([`EventClusters::sold_out_prior`]) and a demand
//! prior whose level is moved by how much those events drew against their capacity:
//! a category's demand over capacity is its sell-through when it didn't sell out, and
//! the sale's length over the time it took to sell out when it did (so a hot event that
//! sold out on day one counts as hot, not as censored).
//!
//! Before any sale, only the static part of the descriptor (venue size, price level) is
//! known, so the event is placed by those two coordinates alone; once the first hours
//! are in (share sold at 1 h and 4 h, buzz), by all of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cluster::{EventClusters, EventDescriptor, summarise};
use crate::demand::Prior;
use crate::history::Labelled;

/// Coordinates of the descriptor known before the first sale (capacity, price level).
const STATIC_DIMS: usize = 2;

/// What a new event starts from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    /// Its cluster.
    pub cluster: usize,
    /// Prior `P(a category sells out by the start)`: the cluster's share, smoothed.
    pub sold_out_by_start: f64,
    /// The demand prior with the cluster's level.
    pub demand_prior: Prior,
}

/// Clusters of past events with the demand level of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStartModel {
    /// k-means over the events' descriptors.
    pub clusters: EventClusters,
    /// Demand intercept of each cluster (the global prior's other terms held).
    pub levels: Vec<f64>,
    /// The global demand prior the levels are set into.
    pub prior: Prior,
}

impl ColdStartModel {
    /// Clusters the events of `history` into at most `k` groups and fits each group's
    /// demand level; `None` when there are no events to cluster.
    pub fn fit(history: &[Labelled], prior: Prior, k: usize) -> Option<Self> {
        let events = summarise(history);
        let clusters = EventClusters::fit(&events, k).ok()?;
        let demand = demand_over_capacity(history);
        let of = |members: &[crate::cluster::EventSummary]| {
            let logs: Vec<f64> = members
                .iter()
                .filter_map(|e| demand.get(&(e.seed, e.event_id.clone())).copied())
                .collect();
            (!logs.is_empty()).then(|| logs.iter().sum::<f64>() / logs.len() as f64)
        };
        let global = of(&events).unwrap_or(0.0);
        // Each cluster's level: the global one moved by how much more (or less) than
        // its capacity the cluster's events drew, against the average event.
        let levels = clusters
            .members
            .iter()
            .map(|m| prior.mean[0] + of(m).map_or(0.0, |c| c - global))
            .collect();
        Some(Self {
            clusters,
            levels,
            prior,
        })
    }

    /// The prior of an event described by `d`; `sales_known` says whether its
    /// first-hours shape (share sold at 1 h and 4 h, buzz) is real yet.
    pub fn prior_for(&self, d: &EventDescriptor, sales_known: bool) -> ColdStart {
        let cluster = if sales_known {
            self.clusters.assign(d)
        } else {
            self.clusters.assign_first(d, STATIC_DIMS)
        };
        let members = self
            .clusters
            .members
            .get(cluster)
            .map_or(&[][..], Vec::as_slice);
        let sold_out_by_start = (members.iter().map(|e| e.sold_out_share).sum::<f64>() + 0.5)
            / (members.len() as f64 + 1.0);
        let mut demand_prior = self.prior;
        demand_prior.mean[0] = self
            .levels
            .get(cluster)
            .copied()
            .unwrap_or(self.prior.mean[0]);
        ColdStart {
            cluster,
            sold_out_by_start,
            demand_prior,
        }
    }
}

/// One category's sale in history: first snapshot time, last snapshot time, last sold
/// share, sold-out time, sales close.
type CategorySpan = (i64, i64, f64, Option<i64>, i64);

/// ln(demand over capacity) per event, averaged over its categories (see the module
/// docs), keyed by (seed, event id).
fn demand_over_capacity(history: &[Labelled]) -> BTreeMap<(u64, String), f64> {
    let mut cats: BTreeMap<(u64, &str, &str), CategorySpan> = BTreeMap::new();
    for l in history {
        let share = f64::from(l.features.sold) / f64::from(l.features.capacity.max(1));
        let e = cats
            .entry((l.seed, &l.features.event_id, &l.features.category_id))
            .or_insert((l.time, l.time, share, l.sold_out_at, l.sales_close));
        if l.time < e.0 {
            e.0 = l.time;
        }
        if l.time >= e.1 {
            (e.1, e.2) = (l.time, share);
        }
    }
    let mut events: BTreeMap<(u64, String), (f64, f64)> = BTreeMap::new();
    for ((seed, event, _), (first, _, share, out, close)) in cats {
        // Snapshots start 15 minutes after the on-sale.
        let open = first - 15 * 60_000;
        let ratio = match out {
            Some(t) if t > open => (close - open) as f64 / (t - open) as f64,
            Some(_) => continue,
            None => share,
        };
        if ratio.is_finite() && ratio > 0.0 {
            let e = events.entry((seed, event.to_owned())).or_default();
            e.0 += ratio.ln();
            e.1 += 1.0;
        }
    }
    events
        .into_iter()
        .map(|(k, (sum, n))| (k, sum / n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryConfig, generate};

    #[test]
    fn hot_and_sleepy_events_start_from_their_clusters_priors() {
        let h = generate(&HistoryConfig {
            seeds: vec![51, 52, 53],
            events: 4,
            sale_days: 6.0,
            scale: 0.3,
            hotness: (0.1, 1.6),
            snapshot_hours: 12.0,
            price_factors: Vec::new(),
        })
        .unwrap();
        let model = ColdStartModel::fit(&h.snapshots, Prior::default(), 3).unwrap();
        let events = summarise(&h.snapshots);
        let by_share = |a: &&crate::cluster::EventSummary, b: &&crate::cluster::EventSummary| {
            a.descriptor
                .share_sold_4h
                .total_cmp(&b.descriptor.share_sold_4h)
        };
        let hot = events.iter().max_by(by_share).unwrap();
        let sleepy = events.iter().min_by(by_share).unwrap();
        let (h_prior, s_prior) = (
            model.prior_for(&hot.descriptor, true),
            model.prior_for(&sleepy.descriptor, true),
        );
        // Different clusters, and the hot one's priors say "sells out" and "sells fast".
        assert_ne!(h_prior.cluster, s_prior.cluster);
        assert!(
            h_prior.sold_out_by_start > s_prior.sold_out_by_start,
            "{h_prior:?} {s_prior:?}"
        );
        assert!(
            h_prior.demand_prior.mean[0] > s_prior.demand_prior.mean[0],
            "{h_prior:?} {s_prior:?}"
        );
        // Before any sale only size and price place the event: a valid cluster.
        let unsold = EventDescriptor {
            share_sold_1h: 0.0,
            share_sold_4h: 0.0,
            buzz_posts_4h: 0.0,
            ..hot.descriptor
        };
        let early = model.prior_for(&unsold, false);
        assert!(early.cluster < model.levels.len());
        assert!((0.0..=1.0).contains(&early.sold_out_by_start));
    }
}
