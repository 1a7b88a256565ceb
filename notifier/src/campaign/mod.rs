//! Campaigns: what to send, to whom, when. A campaign is a rule (trigger conditions,
//! audience, offer, validity, caps, quiet hours, localised templates) loaded from TOML
//! or put through the HTTP routes; the [`Engine`] turns a [`Trigger`] and a candidate
//! audience of [`Recipient`]s into a [`Plan`]: notifications to send and suppressions,
//! each a record for the `deliveries` topic.
//!
//! This module sees installations only as [`Recipient`]s and pipeline signals only as
//! [`Trigger`]s; mapping the installations store and the `signals` topic onto them is
//! the wiring's job.

pub mod caps;
mod context;
pub mod engine;
pub mod http;
mod matching;
mod memory;
pub mod offer;
pub mod rules;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use caps::{CapState, QuietHours, UtcOffset};
pub use engine::{
    AdmitAll, AudienceFilter, Engine, EngineConfig, Plan, PlannedNotification, RedeemError,
};
pub use matching::AudienceQuery;
pub use offer::{FirstOption, Offer, OfferChooser, OfferContext, OfferKind};
pub use rules::{Campaign, CampaignSpec, CampaignsFile, RuleError, TriggerRule};

use crate::payload::Platform;

/// One installation as a campaign sees it (no push token: the sender looks it up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The installation id.
    pub installation_id: String,
    /// Which push service reaches it.
    pub platform: Platform,
    /// Its locale tag (`fr-CA`).
    pub locale: String,
    /// The pseudonymous customer, when signed in.
    pub customer_id: Option<String>,
    /// Extra properties, usable in templates as `$(recipient.NAME)`.
    pub properties: BTreeMap<String, String>,
}

/// What kind of thing triggers a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A stand's queue became long.
    QueueLong,
    /// A stand's queue is short.
    QueueShort,
    /// A cart's hold expired without a purchase.
    CartAbandoned,
    /// Sales of a category surged.
    Surge,
    /// Sales of a category slumped.
    Slump,
    /// Social buzz moved.
    Buzz,
    /// A scheduled campaign is due (see [`Engine::scheduled_triggers`]).
    Scheduled,
}

impl TriggerKind {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::QueueLong => "queue_long",
            TriggerKind::QueueShort => "queue_short",
            TriggerKind::CartAbandoned => "cart_abandoned",
            TriggerKind::Surge => "surge",
            TriggerKind::Slump => "slump",
            TriggerKind::Buzz => "buzz",
            TriggerKind::Scheduled => "scheduled",
        }
    }
}

/// A signal a campaign may react to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Deterministic signal id (replays carry the same id).
    pub id: u64,
    /// What happened.
    pub kind: TriggerKind,
    /// Event time, ms since the epoch.
    pub time_ms: i64,
    /// The event, when known.
    pub event_id: Option<String>,
    /// The venue, when known.
    pub venue_id: Option<String>,
    /// The zone, when known.
    pub zone_id: Option<String>,
    /// The category, when known.
    pub category_id: Option<String>,
    /// Queue length, cart value in minor units, or z-score, by kind.
    pub value: f64,
    /// The pseudonymous customer (abandoned carts).
    pub customer_id: Option<String>,
    /// Extra properties, usable in templates as `$(trigger.NAME)`.
    pub properties: BTreeMap<String, String>,
}
