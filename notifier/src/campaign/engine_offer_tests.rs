//! Offers, redemptions, audience filters, render errors and scheduled campaigns.

use super::*;

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(u8, bool)>>>);

impl OfferChooser for Recorder {
    fn choose(&mut self, options: &[Offer], _context: &OfferContext) -> usize {
        options.len() - 1
    }

    fn observe(&mut self, offer: &Offer, _context: &OfferContext, redeemed: bool) {
        if let Ok(mut seen) = self.0.lock() {
            seen.push((offer.percent, redeemed));
        }
    }
}

#[test]
fn offers_are_chosen_redeemed_once_and_fed_back() {
    let recorder = Recorder::default();
    let mut e = engine().with_chooser(Box::new(recorder.clone()));
    let people = crowd();
    let plan = e.plan(&merch(3, T0), &people[..2], T0);
    assert_eq!(plan.notifications.len(), 2);
    assert!(
        plan.notifications
            .iter()
            .all(|n| n.record.offer.as_ref().map(|o| o.percent) == Some(15))
    );
    let code = plan.notifications[0].record.voucher_code.clone().unwrap();
    let typed = code.replace('-', "").to_lowercase();
    let redemption = Redemption {
        voucher_code: typed,
        time_ms: T0 + 60_000,
        stand_id: "shop-east".into(),
    };
    assert_eq!(e.redeem(&redemption).unwrap().percent, 15);
    assert_eq!(e.redeem(&redemption), Err(RedeemError::NotOutstanding));
    assert_eq!(e.stats("merch-nearby").redeemed, 1);
    // The other voucher expires unredeemed (15 minutes + 10 margin).
    e.evict(T0 + 26 * 60_000);
    assert_eq!(*recorder.0.lock().unwrap(), [(15, true), (15, false)]);
    let late = Redemption {
        time_ms: T0 + 16 * 60_000,
        ..redemption
    };
    assert!(matches!(
        e.redeem(&late),
        Err(RedeemError::Voucher(VoucherError::Expired { .. }))
    ));
}

struct OnlyTagged;

impl AudienceFilter for OnlyTagged {
    fn admits(&self, query: &AudienceQuery, recipient: &Recipient) -> bool {
        query.tags.is_none() || recipient.properties.contains_key("fan")
    }
}

#[test]
fn audience_filter_render_errors_and_scheduled_triggers() {
    let mut e = engine().with_filter(Box::new(OnlyTagged));
    let mut people = crowd();
    people[0].properties.insert("fan".into(), "1".into());
    let surge = Trigger {
        kind: TriggerKind::Surge,
        event_id: Some("coldplay-2026-06-12".into()),
        value: 4.0,
        ..queue_short(5, T0)
    };
    // The surge template needs $(trigger.event_name), which this trigger lacks.
    let p = e.plan(&surge, &people, T0);
    assert_eq!(p.notifications.len(), 0);
    assert_eq!(p.suppressed.len(), 1);
    assert!(
        reasons(&p)[0].starts_with("render_error"),
        "{:?}",
        reasons(&p)
    );
    let mut named = surge.clone();
    named.id = 6;
    named
        .properties
        .insert("event_name".into(), "Coldplay".into());
    let p = e.plan(&named, &people, T0);
    assert_eq!(p.notifications.len(), 1);
    assert_eq!(
        p.notifications[0].message.body,
        "Tickets for Coldplay are going quickly. Don't miss out."
    );
    assert!(p.notifications[0].voucher.is_none());

    let sched = CampaignsFile::parse_toml(
        "[[campaign]]\nid = \"doors\"\ntrigger = { kind = \"scheduled\", at = \"2025-11-24T18:00:00+01:00\" }\n\
         default_locale = \"en\"\n[campaign.templates.en]\ntitle = \"Doors open\"\nbody = \"Welcome\"\n",
    )
    .unwrap();
    let mut e = Engine::new(sched, keys(), EngineConfig::default());
    assert!(e.scheduled_triggers(T0 + HOUR - 1).is_empty());
    let due = e.scheduled_triggers(T0 + HOUR + 1000);
    assert_eq!(due.len(), 1);
    assert_eq!(due, e.scheduled_triggers(T0 + HOUR + 2000));
    assert!(e.scheduled_triggers(T0 + HOUR + 5 * 60_000).is_empty());
    let p = e.plan(&due[0], &people, T0 + HOUR + 1000);
    assert_eq!(p.notifications.len(), 4);
}
