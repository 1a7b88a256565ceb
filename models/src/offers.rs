//! Offer choice for vouchers: Thompson sampling over a Beta–Bernoulli model of
//! redemption per (context bucket, offer), learning from redemptions.
//!
//! For each candidate offer the chooser draws a redemption probability from its Beta
//! posterior and picks the offer with the highest `draw × margin` (expected margin per
//! voucher sent). Outcomes update the posterior: redeemed → α + 1, not → β + 1. The
//! caller passes the random generator, so choices are reproducible; no clock is read.

use std::collections::BTreeMap;

use rand::Rng;
use rand_distr::{Beta, Distribution};
use serde::{Deserialize, Serialize};

/// One voucher that could be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Offer id (e.g. `food-20pct-5min`).
    pub id: String,
    /// Margin earned when redeemed, minor units (may be small for deep discounts).
    pub margin_minor: i64,
}

/// Beta posterior of one (bucket, offer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Redemptions + prior α.
    pub alpha: f64,
    /// Non-redemptions + prior β.
    pub beta: f64,
}

/// Thompson-sampling chooser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferChooser {
    /// Prior of an arm never tried.
    pub prior: Arm,
    /// Posteriors by `"bucket/offer"`.
    arms: BTreeMap<String, Arm>,
}

impl Default for OfferChooser {
    fn default() -> Self {
        Self {
            prior: Arm {
                alpha: 1.0,
                beta: 9.0,
            },
            arms: BTreeMap::new(),
        }
    }
}

impl OfferChooser {
    fn key(bucket: &str, offer: &str) -> String {
        format!("{bucket}/{offer}")
    }

    /// The posterior of an arm (the prior when never tried).
    pub fn arm(&self, bucket: &str, offer: &str) -> Arm {
        self.arms
            .get(&Self::key(bucket, offer))
            .copied()
            .unwrap_or(self.prior)
    }

    /// Chooses an offer for a context bucket; `None` when there are no offers.
    pub fn choose<'a, R: Rng + ?Sized>(
        &self,
        bucket: &str,
        offers: &'a [Offer],
        rng: &mut R,
    ) -> Option<&'a Offer> {
        offers
            .iter()
            .map(|o| {
                let arm = self.arm(bucket, &o.id);
                let p = Beta::new(arm.alpha.max(1e-3), arm.beta.max(1e-3))
                    .map_or(0.0, |b| b.sample(rng));
                (p * o.margin_minor as f64, o)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, o)| o)
    }

    /// Records whether a sent offer was redeemed.
    pub fn update(&mut self, bucket: &str, offer: &str, redeemed: bool) {
        let prior = self.prior;
        let arm = self.arms.entry(Self::key(bucket, offer)).or_insert(prior);
        if redeemed {
            arm.alpha += 1.0;
        } else {
            arm.beta += 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn learns_the_offer_with_the_best_expected_margin_per_bucket() {
        let offers = vec![
            Offer {
                id: "20pct".into(),
                margin_minor: 300,
            },
            Offer {
                id: "10pct".into(),
                margin_minor: 500,
            },
        ];
        // Short queue: 20% redeems at 40%, 10% at 10% → 20% wins (120 vs 50).
        // Long queue: both redeem at 30% → 10% wins on margin.
        let rate = |bucket: &str, offer: &str| match (bucket, offer) {
            ("short", "20pct") => 0.4,
            ("short", _) => 0.1,
            _ => 0.3,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut chooser = OfferChooser::default();
        let mut late = BTreeMap::<(String, String), u32>::new();
        for round in 0..4000 {
            for bucket in ["short", "long"] {
                let o = chooser
                    .choose(bucket, &offers, &mut rng)
                    .unwrap()
                    .id
                    .clone();
                let redeemed = rng.random::<f64>() < rate(bucket, &o);
                chooser.update(bucket, &o, redeemed);
                if round >= 3000 {
                    *late.entry((bucket.into(), o)).or_default() += 1;
                }
            }
        }
        let count = |b: &str, o: &str| late.get(&(b.into(), o.into())).copied().unwrap_or(0);
        assert!(count("short", "20pct") > 900, "{late:?}");
        assert!(count("long", "10pct") > 900, "{late:?}");
        assert!(chooser.choose("x", &[], &mut rng).is_none());
    }
}
