//! Offers and how one is chosen: the [`Offer`] a voucher promises, and the
//! [`OfferChooser`] trait that picks among a campaign's `choose_from` options and
//! learns from redemptions (the models crate's Thompson sampler plugs in here;
//! [`FirstOption`] is the trivial default).

use serde::{Deserialize, Serialize};

use super::TriggerKind;

/// What an offer is for; encoded in 3 bits of a voucher code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// Food.
    Food,
    /// Drinks.
    Drink,
    /// Merchandise.
    Merchandise,
    /// Tickets (an abandoned cart, an upgrade).
    Ticket,
    /// Parking.
    Parking,
    /// Anything else.
    Other,
}

impl OfferKind {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::Food => "food",
            OfferKind::Drink => "drink",
            OfferKind::Merchandise => "merchandise",
            OfferKind::Ticket => "ticket",
            OfferKind::Parking => "parking",
            OfferKind::Other => "other",
        }
    }

    /// Its 3-bit code in a voucher.
    pub fn code(self) -> u8 {
        match self {
            OfferKind::Food => 0,
            OfferKind::Drink => 1,
            OfferKind::Merchandise => 2,
            OfferKind::Ticket => 3,
            OfferKind::Parking => 4,
            OfferKind::Other => 5,
        }
    }

    /// The kind of a 3-bit code.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => OfferKind::Food,
            1 => OfferKind::Drink,
            2 => OfferKind::Merchandise,
            3 => OfferKind::Ticket,
            4 => OfferKind::Parking,
            5 => OfferKind::Other,
            _ => return None,
        })
    }
}

/// A discount: what for, how much, and optionally where.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// What it is for.
    pub kind: OfferKind,
    /// Percent off, 1..=100.
    pub percent: u8,
    /// The stand it applies at, when one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stand: Option<String>,
}

/// What an offer is chosen for: the features a learning chooser conditions on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OfferContext {
    /// The campaign.
    pub campaign_id: String,
    /// The trigger kind.
    pub trigger_kind: TriggerKind,
    /// The venue, when known.
    pub venue_id: Option<String>,
    /// The zone, when known.
    pub zone_id: Option<String>,
    /// The recipient's locale (normalised).
    pub locale: String,
    /// Local hour of day (0..24) at the venue.
    pub local_hour: u8,
}

/// Picks one of a campaign's offers and learns whether it was redeemed.
pub trait OfferChooser: Send {
    /// The index into `options` (non-empty) to offer; out of range means the first.
    fn choose(&mut self, options: &[Offer], context: &OfferContext) -> usize;
    /// Feedback: `offer`, made in `context`, was redeemed or expired unredeemed.
    fn observe(&mut self, offer: &Offer, context: &OfferContext, redeemed: bool);
}

/// Always the first option; learns nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct FirstOption;

impl OfferChooser for FirstOption {
    fn choose(&mut self, _options: &[Offer], _context: &OfferContext) -> usize {
        0
    }

    fn observe(&mut self, _offer: &Offer, _context: &OfferContext, _redeemed: bool) {}
}
