//! The closed loop: where shoppers read prices.
//!
//! Every shopper decision (a view, adding to the cart, checking out) asks the
//! [`PriceSource`] for the category's price at that moment of simulated time, so a
//! pricing service plugged in here sees its price changes move demand. An answer of
//! `None` means "no opinion": the catalog's list price applies.

use sellout_streams::Timestamp;

/// Answers the current all-in price of one seat of a category, in minor units.
pub trait PriceSource: Send + Sync {
    /// The price at simulated time `at`, or `None` for the catalog's list price.
    fn price(&self, event_id: &str, category_id: &str, at: Timestamp) -> Option<i64>;

    /// A quote for `quantity` seats at `unit_price_minor`, the price the shopper was
    /// just shown at `at`: its id, honoured until the cart hold ends, so the shopper
    /// pays that price at checkout. `None` (the default): no quotes, and the shopper
    /// reads the price again at checkout.
    fn quote(
        &self,
        _event_id: &str,
        _category_id: &str,
        _quantity: u32,
        _unit_price_minor: i64,
        _at: Timestamp,
    ) -> Option<sellout_ingest::records::Id> {
        None
    }
}

/// Static pricing: every category sells at the catalog's list price.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListPrices;

impl PriceSource for ListPrices {
    fn price(&self, _event_id: &str, _category_id: &str, _at: Timestamp) -> Option<i64> {
        // `None` is "the list price": the simulator holds the catalog, this type doesn't.
        None
    }
}

/// Seeded price changes for training history: each event's categories move together,
/// once a UTC day, to their list price times one of `factors`, picked by a hash of
/// (seed, event, day). History sold only at list says nothing about price response;
/// with these changes the demand model's elasticity is identifiable from history.
/// Deterministic: the same seed gives the same prices.
#[derive(Debug, Clone)]
pub struct SeededPriceChanges {
    seed: u64,
    factors: Vec<f64>,
    list: std::collections::HashMap<(String, String), i64>,
}

impl SeededPriceChanges {
    /// Price changes over the catalog's list prices.
    pub fn new(seed: u64, catalog: &sellout_ingest::catalog::Catalog, factors: &[f64]) -> Self {
        let list = catalog
            .events
            .iter()
            .flat_map(|e| {
                e.categories.iter().map(|c| {
                    (
                        (e.event_id.to_string(), c.category_id.to_string()),
                        c.list_price_minor,
                    )
                })
            })
            .collect();
        Self {
            seed,
            factors: factors
                .iter()
                .copied()
                .filter(|f| f.is_finite() && *f > 0.0)
                .collect(),
            list,
        }
    }

    /// The factor over list of an event's prices on the UTC day of `at`.
    pub fn factor(&self, event_id: &str, at: Timestamp) -> f64 {
        if self.factors.is_empty() {
            return 1.0;
        }
        let day = at.div_euclid(86_400_000) as u64;
        let mut h = self.seed ^ day.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in event_id.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h ^= h >> 29;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 32;
        self.factors[(h % self.factors.len() as u64) as usize]
    }
}

impl PriceSource for SeededPriceChanges {
    fn price(&self, event_id: &str, category_id: &str, at: Timestamp) -> Option<i64> {
        let list = self
            .list
            .get(&(event_id.to_owned(), category_id.to_owned()))?;
        Some((*list as f64 * self.factor(event_id, at)).round() as i64)
    }
}
