//! Quote operations of [`PricingService`]: issue at the current price (and register
//! the hold the guardrails consult), verify signature and expiry.

use super::*;

/// A request for a quote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// The event.
    pub event_id: String,
    /// The category.
    pub category_id: String,
    /// Seats (1 to `max_quote_quantity`).
    pub quantity: u32,
}

impl PricingService {
    /// Issues a signed quote at the current price and registers its hold.
    pub fn issue_quote(&self, req: &QuoteRequest) -> Result<Quote, PricingError> {
        let max = self.config.max_quote_quantity;
        if req.quantity == 0 || req.quantity > max {
            return Err(PricingError::Invalid(format!(
                "quantity must be 1 to {max}, got {}",
                req.quantity
            )));
        }
        let cat = self.category(&req.event_id, &req.category_id)?;
        let now = self.clock.now_ms();
        let ttl_ms = (self.config.quote_ttl_s as i64).saturating_mul(1000);
        let mut quote = Quote {
            id: self.ids.next_id(),
            event_id: req.event_id.as_str().into(),
            category_id: req.category_id.as_str().into(),
            quantity: req.quantity,
            unit_price_minor: cat.price_minor,
            total_minor: cat.price_minor.saturating_mul(i64::from(req.quantity)),
            currency: cat.currency,
            issued_at: now,
            expires_at: now.saturating_add(ttl_ms),
            key_id: String::new(),
            signature: String::new(),
        };
        self.keys.sign(&mut quote);
        self.holds.hold(&quote);
        self.metrics.quotes_issued.fetch_add(1, Ordering::Relaxed);
        Ok(quote)
    }

    /// A signed quote with id `id` for `quantity` seats at `unit_price_minor`, issued
    /// at `issued_at`, without registering its hold: for callers that register holds
    /// in an order of their own (the demo's closed loop does it in simulated time).
    pub fn make_quote(
        &self,
        id: String,
        req: &QuoteRequest,
        unit_price_minor: i64,
        issued_at: Timestamp,
    ) -> Result<Quote, PricingError> {
        let cat = self.category(&req.event_id, &req.category_id)?;
        let ttl_ms = (self.config.quote_ttl_s as i64).saturating_mul(1000);
        let mut quote = Quote {
            id,
            event_id: req.event_id.as_str().into(),
            category_id: req.category_id.as_str().into(),
            quantity: req.quantity,
            unit_price_minor,
            total_minor: unit_price_minor.saturating_mul(i64::from(req.quantity)),
            currency: cat.currency,
            issued_at,
            expires_at: issued_at.saturating_add(ttl_ms),
            key_id: String::new(),
            signature: String::new(),
        };
        self.keys.sign(&mut quote);
        self.metrics.quotes_issued.fetch_add(1, Ordering::Relaxed);
        Ok(quote)
    }

    /// Verifies a quote's signature and expiry: a valid quote is honoured at its price.
    pub fn verify_quote(&self, quote: &Quote) -> Result<(), QuoteError> {
        let result = self.keys.verify(quote, self.clock.now_ms());
        let counter = if result.is_ok() {
            &self.metrics.quotes_valid
        } else {
            &self.metrics.quotes_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }
}
