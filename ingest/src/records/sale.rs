//! Sale records: what shoppers do on the seller's channels.

use serde::{Deserialize, Serialize};

use super::{Id, Timestamp};

/// What a shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleKind {
    /// Looked at a category's price.
    View,
    /// Put seats in the cart (a hold of 10 minutes starts).
    CartAdd,
    /// Took seats out of the cart.
    CartRemove,
    /// Started paying.
    Checkout,
    /// Paid: the seats are sold.
    Purchase,
    /// Sold seats returned.
    Refund,
}

impl SaleKind {
    /// Every kind, in funnel order.
    pub const ALL: [SaleKind; 6] = [
        SaleKind::View,
        SaleKind::CartAdd,
        SaleKind::CartRemove,
        SaleKind::Checkout,
        SaleKind::Purchase,
        SaleKind::Refund,
    ];

    /// The `snake_case` name used in JSON and Arrow.
    pub fn as_str(self) -> &'static str {
        match self {
            SaleKind::View => "view",
            SaleKind::CartAdd => "cart_add",
            SaleKind::CartRemove => "cart_remove",
            SaleKind::Checkout => "checkout",
            SaleKind::Purchase => "purchase",
            SaleKind::Refund => "refund",
        }
    }

    /// Parses the `snake_case` name.
    pub fn parse(s: &str) -> Option<SaleKind> {
        SaleKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where the sale happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The web shop.
    Web,
    /// The mobile app.
    App,
    /// The box office at the venue.
    BoxOffice,
    /// A partner or reseller.
    Partner,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 4] = [Channel::Web, Channel::App, Channel::BoxOffice, Channel::Partner];

    /// The `snake_case` name used in JSON and Arrow.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::BoxOffice => "box_office",
            Channel::Partner => "partner",
        }
    }

    /// Parses the `snake_case` name.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One shopper action on one category of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleRecord {
    /// What happened.
    pub kind: SaleKind,
    /// The event being sold.
    pub event_id: Id,
    /// The seat category.
    pub category_id: Id,
    /// The shopping session or cart.
    pub session_id: Id,
    /// A pseudonymous customer id, when the shopper is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Id>,
    /// Number of seats (1..=10 for carts and purchases; 0 allowed for views).
    pub quantity: u32,
    /// Price of one seat in minor units (cents, pence) of `currency`, all-in.
    pub unit_price_minor: i64,
    /// ISO 4217 currency code, upper case.
    pub currency: Id,
    /// Where it happened.
    pub channel: Channel,
    /// The quote the shopper bought with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<Id>,
    /// Event time.
    #[serde(with = "super::time")]
    pub time: Timestamp,
}
