//! Pipeline signals as campaign triggers: which signal kinds a campaign can react to,
//! and the value each carries (queue length, cart value, z-score).

use std::collections::BTreeMap;

use sellout_pipelines::output::{Signal, SignalDetail, SignalKind};

use crate::campaign::{Trigger, TriggerKind};

/// The trigger a signal makes, if campaigns can react to its kind (a recovered cart
/// makes none).
pub fn from_signal(s: &Signal) -> Option<Trigger> {
    let kind = match s.kind {
        SignalKind::QueueLong => TriggerKind::QueueLong,
        SignalKind::QueueShort => TriggerKind::QueueShort,
        SignalKind::CartAbandoned => TriggerKind::CartAbandoned,
        SignalKind::Surge => TriggerKind::Surge,
        SignalKind::Slump => TriggerKind::Slump,
        SignalKind::Buzz => TriggerKind::Buzz,
        SignalKind::CartRecovered => return None,
    };
    let mut properties = BTreeMap::new();
    let mut customer_id = None;
    let value = match &s.detail {
        SignalDetail::Queue {
            stand_id,
            length,
            wait_minutes,
            ..
        } => {
            properties.insert("stand".to_owned(), stand_id.to_string());
            properties.insert("wait_minutes".to_owned(), format!("{wait_minutes:.0}"));
            f64::from(*length)
        }
        SignalDetail::Cart {
            customer_id: c,
            value_minor,
            currency,
            quantity,
            ..
        } => {
            customer_id = c.as_ref().map(ToString::to_string);
            properties.insert("currency".to_owned(), currency.to_string());
            properties.insert("quantity".to_owned(), quantity.to_string());
            *value_minor as f64
        }
        SignalDetail::Rate { z, .. } | SignalDetail::Buzz { z, .. } => *z,
    };
    Some(Trigger {
        id: s.id,
        kind,
        time_ms: s.time,
        event_id: s.event_id.as_ref().map(ToString::to_string),
        venue_id: s.venue_id.as_ref().map(ToString::to_string),
        zone_id: s.zone_id.as_ref().map(ToString::to_string),
        category_id: s.category_id.as_ref().map(ToString::to_string),
        value,
        customer_id,
        properties,
    })
}

/// The tag a signed-in installation carries for its customer, as Notification Hubs'
/// `$UserId:` tag: cart reminders reach the customer's installations through it.
pub fn customer_tag(customer_id: &str) -> String {
    format!("customer:{customer_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_and_cart_signals_carry_their_values_and_recovered_carts_none() {
        let queue = Signal {
            id: 9,
            kind: SignalKind::QueueShort,
            time: 1_000,
            event_id: Some("ev-1".into()),
            category_id: None,
            venue_id: Some("ven-1".into()),
            zone_id: Some("food-1".into()),
            detail: SignalDetail::Queue {
                stand_id: "stand-1".into(),
                length: 3,
                wait_minutes: 1.4,
                nearby: 40,
                estimated: false,
            },
        };
        let t = from_signal(&queue).expect("a trigger");
        assert_eq!((t.id, t.kind, t.value), (9, TriggerKind::QueueShort, 3.0));
        assert_eq!(t.zone_id.as_deref(), Some("food-1"));
        assert_eq!(t.properties["stand"], "stand-1");
        let cart = Signal {
            kind: SignalKind::CartAbandoned,
            detail: SignalDetail::Cart {
                session_id: "s".into(),
                customer_id: Some("cus-000001".into()),
                categories: vec![],
                quantity: 2,
                value_minor: 18_000,
                currency: "EUR".into(),
                held_at: 0,
            },
            ..queue.clone()
        };
        let t = from_signal(&cart).expect("a trigger");
        assert_eq!(
            (t.value, t.customer_id.as_deref()),
            (18_000.0, Some("cus-000001"))
        );
        let recovered = Signal {
            kind: SignalKind::CartRecovered,
            ..cart
        };
        assert!(from_signal(&recovered).is_none());
    }
}
