//! Whether a trigger satisfies a campaign (kind, conditions, event and venue
//! filters), and the audience selection the installations store must make for it.

use super::rules::{Campaign, TriggerRule};
use super::{Trigger, TriggerKind};

impl Campaign {
    /// True when `trigger` satisfies this campaign's trigger rule and filters.
    pub fn matches(&self, trigger: &Trigger) -> bool {
        let s = &self.spec;
        let same = |want: &Option<String>, got: &Option<String>| want.is_none() || want == got;
        if !s.enabled
            || !same(&s.event_id, &trigger.event_id)
            || !same(&s.venue_id, &trigger.venue_id)
        {
            return false;
        }
        let v = trigger.value;
        match (&s.trigger, trigger.kind) {
            (TriggerRule::QueueLong { zone, longer_than }, TriggerKind::QueueLong) => {
                same(zone, &trigger.zone_id) && v > *longer_than
            }
            (TriggerRule::QueueShort { zone, at_most }, TriggerKind::QueueShort) => {
                same(zone, &trigger.zone_id) && at_most.is_none_or(|max| v <= max)
            }
            (TriggerRule::CartAbandoned { value_above_minor }, TriggerKind::CartAbandoned) => {
                trigger.customer_id.is_some() && v > *value_above_minor as f64
            }
            (TriggerRule::Surge { category, min_z }, TriggerKind::Surge) => {
                same(category, &trigger.category_id) && min_z.is_none_or(|z| v >= z)
            }
            (TriggerRule::Slump { category }, TriggerKind::Slump) => {
                same(category, &trigger.category_id)
            }
            (TriggerRule::Buzz { min_z }, TriggerKind::Buzz) => min_z.is_none_or(|z| v >= z),
            (TriggerRule::Scheduled { .. }, TriggerKind::Scheduled) => {
                trigger.properties.get("campaign").map(String::as_str) == Some(s.id.as_str())
            }
            _ => false,
        }
    }

    /// What the installations store must select for `trigger`.
    pub fn audience_query(&self, trigger: &Trigger) -> AudienceQuery {
        let a = &self.spec.audience;
        AudienceQuery {
            campaign_id: self.spec.id.clone(),
            tags: a.tags.clone(),
            near_zone: a.near_zone.as_ref().and_then(|n| {
                let zone = n.zone.clone().or_else(|| trigger.zone_id.clone())?;
                Some((zone, trigger.time_ms - i64::from(n.within_minutes) * 60_000))
            }),
            customer_id: match self.spec.trigger {
                TriggerRule::CartAbandoned { .. } => trigger.customer_id.clone(),
                _ => None,
            },
        }
    }
}

/// The selection a campaign asks of the installations store for one trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceQuery {
    /// The campaign.
    pub campaign_id: String,
    /// Tag expression to evaluate, when set.
    pub tags: Option<String>,
    /// (zone, seen at or after ms): installations seen near that zone since then.
    pub near_zone: Option<(String, i64)>,
    /// Only this customer's installations (abandoned carts).
    pub customer_id: Option<String>,
}
