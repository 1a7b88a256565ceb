//! Admin operations of [`PricingService`]: manual override and limits (floor, cap,
//! published range). Each is a policy update on `price-policy`, maybe a price change on
//! `prices` (moving the price to the override, or back inside new limits), and an
//! audit entry.

use super::*;
use crate::guardrails::{band, clamp_into_band};
use sellout_ingest::live_catalog::CatalogChange;

impl PricingService {
    /// Applies a catalog edit (audited): checked against the current catalog, then
    /// appended to the `catalog` topic, from which every replica, the ingest
    /// validation and the pipelines take it in. Returns the catalog after it.
    pub fn change_catalog(&self, change: CatalogChange) -> Result<Arc<Catalog>, PricingError> {
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up()?;
        let now = self.clock.now_ms();
        let (event, category, what) = match &change {
            CatalogChange::UpsertVenue(v) => (
                String::new(),
                String::new(),
                format!("venue {} with {} zones", v.venue_id, v.zones.len()),
            ),
            CatalogChange::UpsertEvent(e) => (
                e.event_id.to_string(),
                String::new(),
                format!(
                    "event {} with {} categories",
                    e.event_id,
                    e.categories.len()
                ),
            ),
            CatalogChange::SetCapacity {
                event_id,
                category_id,
                capacity,
            } => (
                event_id.to_string(),
                category_id.to_string(),
                format!("capacity of {event_id}/{category_id} set to {capacity}"),
            ),
        };
        let catalog = self.catalog.change(self.transport.as_ref(), change, now)?;
        self.book.sync_catalog(&catalog);
        let d = Decision {
            outcome: Outcome::NoChange {
                reason: format!("catalog: {what}"),
            },
            guardrail: None,
            proposed_minor: 0,
            proposal_reason: format!("catalog edited by an admin: {what}"),
            model_version: "admin".into(),
            time: now,
        };
        self.audit_entry(&event, &category, Actor::Admin, "catalog", &d, None)?;
        self.catch_up()?;
        Ok(catalog)
    }

    /// Freezes or unfreezes a category (audited).
    pub fn set_freeze(
        &self,
        event: &str,
        category: &str,
        frozen: bool,
    ) -> Result<Decision, PricingError> {
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let cat = self.category(event, category)?;
        self.append_policy(event, category, PolicyChange::Freeze { frozen })?;
        let word = if frozen { "frozen" } else { "unfrozen" };
        let d = self.admin_decision(
            format!("{word} by an admin"),
            GuardrailKind::Freeze,
            Outcome::NoChange {
                reason: format!("category {word}"),
            },
            cat.price_minor,
        );
        self.audit_entry(event, category, Actor::Admin, "freeze", &d, None)?;
        self.catch_up()?;
        Ok(d)
    }

    /// Sets (`Some`) or clears (`None`) a manual price. A manual price must lie inside
    /// floor, cap and the published range; while set, the repricer leaves it alone.
    pub fn set_override(
        &self,
        event: &str,
        category: &str,
        price_minor: Option<i64>,
    ) -> Result<Decision, PricingError> {
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up()?;
        let cat = self.category(event, category)?;
        let state = self.guard_state(event, &cat);
        if let Some(p) = price_minor {
            let (lo, hi) = band(&state);
            if !(lo..=hi).contains(&p) {
                return Err(PricingError::Invalid(format!(
                    "override {p} is outside the allowed band {lo}..={hi} (floor, cap and published range)"
                )));
            }
        }
        self.append_policy(event, category, PolicyChange::Override { price_minor })?;
        let (outcome, reason) = match price_minor {
            Some(p) if p != cat.price_minor => (
                Outcome::Changed {
                    old_minor: cat.price_minor,
                    new_minor: p,
                },
                format!("manual override to {p}"),
            ),
            Some(p) => (
                Outcome::NoChange {
                    reason: "override equals the current price".into(),
                },
                format!("manual override to {p}"),
            ),
            None => (
                Outcome::NoChange {
                    reason: "override cleared: the repricer resumes".into(),
                },
                "manual override cleared".into(),
            ),
        };
        let d = self.admin_decision(
            reason,
            GuardrailKind::Override,
            outcome,
            price_minor.unwrap_or(cat.price_minor),
        );
        let trigger = [d.time.to_le_bytes(), d.proposed_minor.to_le_bytes()].concat();
        let action = Action {
            actor: Actor::Admin,
            name: "override",
            reason: ChangeReason::Override,
            trigger: &trigger,
        };
        self.apply_locked(event, &cat, action, &d)?;
        Ok(d)
    }

    /// Sets floor, cap and published range. The published range is what fans are shown
    /// when they join the queue, so it may only be set or changed before the sale
    /// opens (409 after). A price outside the new limits is moved inside at once.
    pub fn set_limits(
        &self,
        event: &str,
        category: &str,
        req: LimitsRequest,
    ) -> Result<Decision, PricingError> {
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        self.catch_up()?;
        let cat = self.category(event, category)?;
        if !(0 <= req.floor_minor && req.floor_minor <= req.cap_minor) {
            return Err(PricingError::Invalid(format!(
                "need 0 <= floor ({}) <= cap ({})",
                req.floor_minor, req.cap_minor
            )));
        }
        if let Some(r) = req.published_range
            && !(req.floor_minor <= r.min_minor
                && r.min_minor <= r.max_minor
                && r.max_minor <= req.cap_minor)
        {
            return Err(PricingError::Invalid(format!(
                "need floor ({}) <= published min ({}) <= published max ({}) <= cap ({})",
                req.floor_minor, r.min_minor, r.max_minor, req.cap_minor
            )));
        }
        let now = self.clock.now_ms();
        let on_sale = self.catalog.load().event(event).map(|e| e.on_sale);
        if req.published_range != cat.published_range && on_sale.is_some_and(|t| now >= t) {
            return Err(PricingError::Conflict(
                "the published range can't change once the sale has opened: fans were shown it"
                    .into(),
            ));
        }
        let mut state = self.guard_state(event, &cat);
        state.floor_minor = req.floor_minor;
        state.cap_minor = req.cap_minor;
        state.published = req.published_range;
        if let Some(p) = cat.override_minor {
            let (lo, hi) = band(&state);
            if !(lo..=hi).contains(&p) {
                return Err(PricingError::Conflict(format!(
                    "the manual override {p} would be outside the new limits {lo}..={hi}: clear it first"
                )));
            }
        }
        self.append_policy(
            event,
            category,
            PolicyChange::Limits {
                floor_minor: req.floor_minor,
                cap_minor: req.cap_minor,
                published: req.published_range,
            },
        )?;
        let (inside, guardrail) = clamp_into_band(cat.price_minor, &state);
        let outcome = if inside == cat.price_minor {
            Outcome::NoChange {
                reason: "the price is inside the new limits".into(),
            }
        } else {
            Outcome::Changed {
                old_minor: cat.price_minor,
                new_minor: inside,
            }
        };
        let reason = format!(
            "limits set: floor {}, cap {}, published range {:?}",
            req.floor_minor, req.cap_minor, req.published_range
        );
        let mut d = self.admin_decision(reason, GuardrailKind::PublishedRange, outcome, inside);
        d.guardrail = guardrail.or(req.published_range.map(|_| GuardrailKind::PublishedRange));
        let trigger = [d.time.to_le_bytes(), inside.to_le_bytes()].concat();
        let action = Action {
            actor: Actor::Admin,
            name: "limits",
            reason: ChangeReason::Limits,
            trigger: &trigger,
        };
        self.apply_locked(event, &cat, action, &d)?;
        Ok(d)
    }
}
