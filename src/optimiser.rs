//! The models as the repricer's optimiser: a Poisson-GLM pricer per category (from
//! `sellout-models`) behind the pricing service's `Optimiser` trait, learning from
//! each new sell-out snapshot of its category before it proposes.
//!
//! Chosen with `models.price_with = "model"`; the rule-based fallback stays the
//! default until the models meet their targets (see `sellout eval`).

use std::collections::HashMap;
use std::sync::Mutex;

use sellout_ingest::catalog::Catalog;
use sellout_models::demand::Prior;
use sellout_models::demand_prior::{SpanPrior, prior_for};
use sellout_models::pricing::{GlmPricer, Optimiser as _, PriceBounds, PricingConfig};
use sellout_pipelines::output::SellOutFeatures;
use sellout_pricing::guardrails::Proposal;
use sellout_pricing::repricer::{MarketView, Optimiser};

type Key = (String, String);

/// One category's learner and the snapshot it last learned from.
struct Learner {
    pricer: GlmPricer,
    last: Option<SellOutFeatures>,
}

/// The model-backed optimiser.
pub struct ModelOptimiser {
    version: String,
    prior: Prior,
    spans: Vec<SpanPrior>,
    bounds: HashMap<Key, (i64, i64)>,
    learners: Mutex<HashMap<Key, Learner>>,
}

impl ModelOptimiser {
    /// Pricers starting from the trained bundle's demand priors, bounded by each
    /// category's floor and cap in `catalog`; `version` names the model. A category
    /// first priced `h` hours before its event starts from the shortest span of
    /// `spans` covering `h` (its booking curve's slope over that span), from `prior`
    /// (the whole history's) when none does.
    pub fn new(prior: Prior, spans: Vec<SpanPrior>, catalog: &Catalog, version: String) -> Self {
        let bounds = catalog
            .events
            .iter()
            .flat_map(|e| {
                e.categories.iter().map(|c| {
                    (
                        (e.event_id.to_string(), c.category_id.to_string()),
                        (c.floor_minor, c.cap_minor),
                    )
                })
            })
            .collect();
        Self {
            version,
            prior,
            spans,
            bounds,
            learners: Mutex::new(HashMap::new()),
        }
    }
}

impl Optimiser for ModelOptimiser {
    fn version(&self) -> &str {
        &self.version
    }

    fn propose(&self, view: &MarketView<'_>) -> Option<Proposal> {
        let features = view.features?;
        let key = (view.event_id.to_owned(), view.category_id.to_owned());
        let (floor_minor, cap_minor) = *self.bounds.get(&key)?;
        let mut learners = self.learners.lock().ok()?;
        let learner = learners.entry(key).or_insert_with(|| Learner {
            pricer: GlmPricer::new(
                prior_for(&self.spans, self.prior, features.hours_to_event),
                PricingConfig::default(),
            ),
            last: None,
        });
        // Learn from the stretch since the last snapshot, once per snapshot.
        if learner.last.as_ref() != Some(features) {
            if let Some(previous) = &learner.last
                && let Err(error) = learner.pricer.learn(previous, features, view.list_minor)
            {
                tracing::warn!(message = "The demand model refused an observation.", %error);
            }
            learner.last = Some(features.clone());
        }
        let bounds = PriceBounds {
            list_minor: view.list_minor,
            floor_minor,
            cap_minor,
        };
        let decision = learner.pricer.optimal_price(features, &bounds).ok()?;
        (decision.price_minor != view.current_minor).then(|| Proposal {
            target_minor: decision.price_minor,
            reason: format!(
                "model: expected revenue {} over the horizon, sell-through {:.2}, binding {:?}",
                decision.expected_revenue_minor, decision.expected_sell_through, decision.binding
            ),
            model_version: self.version.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn catalog() -> Catalog {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines/tests/golden/catalog.json");
        Catalog::load(&path).expect("catalog")
    }

    fn features(sold: u32, remaining: u32, hours_to_event: f64) -> SellOutFeatures {
        SellOutFeatures {
            event_id: "ev-1".into(),
            category_id: "cat-1".into(),
            capacity: sold + remaining,
            sold,
            remaining,
            sales_1m: 0,
            sales_15m: 2,
            sales_1h: 8,
            sales_24h: 150,
            sales_7d: 1050,
            hours_since_on_sale: 0.0,
            opening_sold: 0,
            cart_adds_1h: 12,
            abandonment_rate_24h: 0.2,
            buzz_posts_1h: 5,
            buzz_sentiment_1h: 0.3,
            hours_to_event,
            price_minor: 5000,
            currency: "GBP".into(),
        }
    }

    #[test]
    fn proposals_stay_within_floor_and_cap_and_name_the_model() {
        let catalog = catalog();
        let event = catalog.event("ev-1").expect("ev-1");
        let cat = event.category("cat-1").expect("cat-1");
        let optimiser =
            ModelOptimiser::new(Prior::default(), Vec::new(), &catalog, "glm/test".into());
        let signals = VecDeque::new();
        let mut proposals = 0;
        for (sold, remaining, hours) in [(100, 900, 200.0), (400, 600, 150.0), (990, 10, 100.0)] {
            let f = features(sold, remaining, hours);
            let view = MarketView {
                event_id: "ev-1",
                category_id: "cat-1",
                current_minor: 1,
                list_minor: cat.list_price_minor,
                features: Some(&f),
                signals: &signals,
                now: 0,
            };
            if let Some(p) = optimiser.propose(&view) {
                assert!(
                    (cat.floor_minor..=cat.cap_minor).contains(&p.target_minor),
                    "{p:?}"
                );
                assert_eq!(p.model_version, "glm/test");
                assert!(p.reason.starts_with("model:"));
                proposals += 1;
            }
        }
        assert!(
            proposals > 0,
            "the model always has an opinion about a price of 1"
        );
        // An unknown category gets no proposal (and no panic).
        let f = features(1, 1, 10.0);
        let view = MarketView {
            event_id: "nope",
            category_id: "cat-1",
            current_minor: 5000,
            list_minor: 5000,
            features: Some(&f),
            signals: &signals,
            now: 0,
        };
        assert!(optimiser.propose(&view).is_none());
    }
}
