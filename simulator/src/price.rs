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
