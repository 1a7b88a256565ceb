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
    pub const ALL: [Channel; 4] = [
        Channel::Web,
        Channel::App,
        Channel::BoxOffice,
        Channel::Partner,
    ];

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
///
/// `Serialize` is written by hand: human-readable formats (JSON) leave absent optional
/// ids out, while binary formats (the postcard wire form) write every field, because a
/// format without field names can't tell which one was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
    #[serde(default)]
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
    #[serde(default)]
    pub quote_id: Option<Id>,
    /// Event time.
    #[serde(with = "super::time")]
    pub time: Timestamp,
}

impl Serialize for SaleRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;

        /// The time field through the shared RFC 3339 / milliseconds form.
        struct Time(Timestamp);
        impl Serialize for Time {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::time::serialize(&self.0, s)
            }
        }

        let binary = !s.is_human_readable();
        let mut st = s.serialize_struct("SaleRecord", 11)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("event_id", &self.event_id)?;
        st.serialize_field("category_id", &self.category_id)?;
        st.serialize_field("session_id", &self.session_id)?;
        if binary || self.customer_id.is_some() {
            st.serialize_field("customer_id", &self.customer_id)?;
        } else {
            st.skip_field("customer_id")?;
        }
        st.serialize_field("quantity", &self.quantity)?;
        st.serialize_field("unit_price_minor", &self.unit_price_minor)?;
        st.serialize_field("currency", &self.currency)?;
        st.serialize_field("channel", &self.channel)?;
        if binary || self.quote_id.is_some() {
            st.serialize_field("quote_id", &self.quote_id)?;
        } else {
            st.skip_field("quote_id")?;
        }
        st.serialize_field("time", &Time(self.time))?;
        st.end()
    }
}
