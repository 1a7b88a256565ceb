//! Event clustering: k-means (linfa-clustering) over event descriptors and the early
//! sales shape, for priors of new events ("cold start from its cluster") and for
//! "events like this one".
//!
//! A descriptor is: ln capacity, ln mean list price, share of seats sold 1 hour and
//! 4 hours after the on-sale, and ln(1 + social posts in the hour before the 4-hour
//! mark). Features are standardised; centroids are stored in plain Rust so assigning a
//! new event is a nearest-centroid search with no linfa type in the model file. Each
//! cluster keeps its members and the share of their categories that sold out by the
//! start: the prior a new event starts from.

use std::collections::BTreeMap;

use linfa::prelude::*;
use linfa_clustering::KMeans;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::history::Labelled;

/// Why clustering failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// No events to cluster.
    #[error("no events to cluster")]
    Empty,
    /// linfa failed.
    #[error("k-means failed: {0}")]
    Fit(String),
}

/// What describes an event early in its sale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EventDescriptor {
    /// Sellable seats over all categories.
    pub capacity: f64,
    /// Mean list price of its categories (minor units).
    pub mean_list_minor: f64,
    /// Share of seats sold one hour after the on-sale.
    pub share_sold_1h: f64,
    /// Share of seats sold four hours after the on-sale.
    pub share_sold_4h: f64,
    /// Social posts in the hour before the 4-hour mark.
    pub buzz_posts_4h: f64,
}

impl EventDescriptor {
    fn row(&self) -> [f64; 5] {
        [
            self.capacity.max(1.0).ln(),
            self.mean_list_minor.max(1.0).ln(),
            self.share_sold_1h,
            self.share_sold_4h,
            self.buzz_posts_4h.max(0.0).ln_1p(),
        ]
    }
}

/// One event of the history with its descriptor and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    /// Simulation seed (or sale) it comes from.
    pub seed: u64,
    /// The event.
    pub event_id: String,
    /// Its descriptor.
    pub descriptor: EventDescriptor,
    /// Share of its categories that sold out before the start.
    pub sold_out_share: f64,
}

/// Summarises each event of a history (snapshots at 1 h and 4 h after on-sale needed).
pub fn summarise(history: &[Labelled]) -> Vec<EventSummary> {
    let mut events: BTreeMap<(u64, String), Vec<&Labelled>> = BTreeMap::new();
    for l in history {
        events
            .entry((l.seed, l.features.event_id.to_string()))
            .or_default()
            .push(l);
    }
    events
        .into_iter()
        .filter_map(|((seed, event_id), rows)| {
            let first = rows.iter().map(|l| l.time).min()?;
            // Snapshots start 15 minutes after the on-sale.
            let on_sale = first - 15 * 60_000;
            let mut cats: BTreeMap<&str, (f64, i64, Option<i64>)> = BTreeMap::new();
            for l in &rows {
                let c = (f64::from(l.features.capacity), l.list_minor, l.sold_out_at);
                cats.insert(&l.features.category_id, c);
            }
            let capacity: f64 = cats.values().map(|c| c.0).sum();
            let share_at = |t: i64| {
                let sold: f64 = cats
                    .iter()
                    .map(|(id, (cap, _, out))| {
                        match rows
                            .iter()
                            .find(|l| l.time == t && l.features.category_id == *id)
                        {
                            Some(l) => f64::from(l.features.sold),
                            None if out.is_some_and(|o| o <= t) => *cap,
                            None => 0.0,
                        }
                    })
                    .sum();
                sold / capacity.max(1.0)
            };
            let at_4h = on_sale + 240 * 60_000;
            let buzz = rows
                .iter()
                .find(|l| l.time == at_4h)
                .map_or(0.0, |l| f64::from(l.features.buzz_posts_1h));
            Some(EventSummary {
                seed,
                event_id,
                descriptor: EventDescriptor {
                    capacity,
                    mean_list_minor: cats.values().map(|c| c.1 as f64).sum::<f64>()
                        / cats.len().max(1) as f64,
                    share_sold_1h: share_at(on_sale + 60 * 60_000),
                    share_sold_4h: share_at(at_4h),
                    buzz_posts_4h: buzz,
                },
                sold_out_share: cats.values().filter(|c| c.2.is_some()).count() as f64
                    / cats.len().max(1) as f64,
            })
        })
        .collect()
}

/// Fitted clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventClusters {
    /// Centroids in standardised feature space.
    pub centroids: Vec<[f64; 5]>,
    /// Feature means used for standardising.
    pub mean: [f64; 5],
    /// Feature standard deviations used for standardising.
    pub std: [f64; 5],
    /// Members of each cluster.
    pub members: Vec<Vec<EventSummary>>,
}

impl EventClusters {
    /// k-means with `k` clusters (fewer when there are fewer events).
    pub fn fit(events: &[EventSummary], k: usize) -> Result<Self, ClusterError> {
        if events.is_empty() {
            return Err(ClusterError::Empty);
        }
        let n = events.len();
        let rows: Vec<[f64; 5]> = events.iter().map(|e| e.descriptor.row()).collect();
        let mut mean = [0.0; 5];
        let mut std = [0.0; 5];
        for r in &rows {
            for j in 0..5 {
                mean[j] += r[j] / n as f64;
            }
        }
        for r in &rows {
            for j in 0..5 {
                std[j] += (r[j] - mean[j]).powi(2) / n as f64;
            }
        }
        let std = std.map(|v| v.sqrt().max(1e-6));
        let x = Array2::from_shape_fn((n, 5), |(i, j)| (rows[i][j] - mean[j]) / std[j]);
        let k = k.clamp(1, n);
        let model = KMeans::params(k)
            .n_runs(5)
            .max_n_iterations(200)
            .fit(&DatasetBase::from(x))
            .map_err(|e| ClusterError::Fit(e.to_string()))?;
        let centroids: Vec<[f64; 5]> = model
            .centroids()
            .rows()
            .into_iter()
            .map(|r| std::array::from_fn(|j| r[j]))
            .collect();
        let mut clusters = Self {
            members: vec![Vec::new(); centroids.len()],
            centroids,
            mean,
            std,
        };
        for e in events {
            let c = clusters.assign(&e.descriptor);
            clusters.members[c].push(e.clone());
        }
        Ok(clusters)
    }

    /// The nearest cluster of a descriptor.
    pub fn assign(&self, d: &EventDescriptor) -> usize {
        let row = d.row();
        let z: [f64; 5] = std::array::from_fn(|j| (row[j] - self.mean[j]) / self.std[j]);
        let dist = |c: &[f64; 5]| c.iter().zip(&z).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
        (0..self.centroids.len())
            .min_by(|&a, &b| dist(&self.centroids[a]).total_cmp(&dist(&self.centroids[b])))
            .unwrap_or(0)
    }

    /// The nearest cluster by the first `dims` coordinates only (e.g. size and price
    /// level before any sale).
    pub fn assign_first(&self, d: &EventDescriptor, dims: usize) -> usize {
        let dims = dims.clamp(1, 5);
        let row = d.row();
        let z: [f64; 5] = std::array::from_fn(|j| (row[j] - self.mean[j]) / self.std[j]);
        let dist = |c: &[f64; 5]| {
            c.iter()
                .zip(&z)
                .take(dims)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
        };
        (0..self.centroids.len())
            .min_by(|&a, &b| dist(&self.centroids[a]).total_cmp(&dist(&self.centroids[b])))
            .unwrap_or(0)
    }

    /// Cold-start prior: the share of categories that sold out in the event's cluster.
    pub fn sold_out_prior(&self, d: &EventDescriptor) -> f64 {
        let m = &self.members[self.assign(d)];
        // Laplace smoothing so a small cluster never claims certainty.
        (m.iter().map(|e| e.sold_out_share).sum::<f64>() + 0.5) / (m.len() as f64 + 1.0)
    }

    /// Events like this one: the members of its cluster.
    pub fn similar(&self, d: &EventDescriptor) -> &[EventSummary] {
        &self.members[self.assign(d)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{HistoryConfig, generate};

    #[test]
    fn hot_and_sleepy_events_fall_in_different_clusters() {
        let h = generate(&HistoryConfig {
            seeds: vec![31, 32],
            events: 4,
            sale_days: 4.0,
            scale: 0.3,
            hotness: (0.1, 1.6),
            snapshot_hours: 12.0,
            price_factors: Vec::new(),
        })
        .unwrap();
        let events = summarise(&h.snapshots);
        assert_eq!(events.len(), 8);
        let clusters = EventClusters::fit(&events, 3).unwrap();
        assert_eq!(clusters.members.iter().map(Vec::len).sum::<usize>(), 8);
        let hottest = events
            .iter()
            .max_by(|a, b| {
                a.descriptor
                    .share_sold_4h
                    .total_cmp(&b.descriptor.share_sold_4h)
            })
            .unwrap();
        let p = clusters.sold_out_prior(&hottest.descriptor);
        assert!((0.0..=1.0).contains(&p));
        assert!(
            clusters
                .similar(&hottest.descriptor)
                .iter()
                .any(|e| e.event_id == hottest.event_id && e.seed == hottest.seed)
        );
        assert!(matches!(
            EventClusters::fit(&[], 3),
            Err(ClusterError::Empty)
        ));
    }
}
