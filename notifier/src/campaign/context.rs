//! How one notification is made: [`Engine`]'s per-recipient step (offer, voucher,
//! template, payload), the record skeleton, the template properties of one (campaign,
//! trigger, recipient, offer, voucher), and the ids of scheduled triggers.

use super::caps::UtcOffset;
use super::engine::{Engine, Outstanding, PlannedNotification};
use super::offer::{Offer, OfferContext};
use super::rules::Campaign;
use super::{Recipient, Trigger, TriggerKind};
use crate::delivery::{DeliveryRecord, NotificationId, Outcome};
use crate::payload::{self, PushContent};
use crate::template::{Properties, normalise_locale};
use crate::voucher::{self, VoucherClaims};

/// The id of a scheduled campaign's trigger at `at_ms`.
pub fn scheduled_trigger_id(campaign_id: &str, at_ms: i64) -> u64 {
    let id = NotificationId::derive(campaign_id, "scheduled", at_ms as u64);
    let mut first = [0u8; 8];
    first.copy_from_slice(&id.0[..8]);
    u64::from_le_bytes(first)
}

pub(super) fn base_record(
    id: NotificationId,
    campaign: &Campaign,
    recipient: &Recipient,
    trigger: &Trigger,
    now_ms: i64,
) -> DeliveryRecord {
    DeliveryRecord {
        notification_id: id,
        campaign_id: campaign.id().to_owned(),
        installation_id: recipient.installation_id.clone(),
        platform: recipient.platform,
        trigger_id: trigger.id,
        event_id: trigger.event_id.clone(),
        venue_id: trigger.venue_id.clone(),
        zone_id: trigger.zone_id.clone(),
        offer: None,
        voucher_code: None,
        voucher_expires_ms: None,
        outcome: Outcome::Planned,
        reason: None,
        attempts: 0,
        time_ms: now_ms,
    }
}

pub(super) fn properties(
    campaign: &Campaign,
    trigger: &Trigger,
    recipient: &Recipient,
    locale: &str,
    offer: Option<&Offer>,
    voucher: Option<&VoucherClaims>,
    offset: UtcOffset,
) -> Properties {
    let mut p = Properties::new();
    let mut put = |k: &str, v: String| {
        p.insert(k.to_owned(), v);
    };
    put("campaign", campaign.id().to_owned());
    put("locale", locale.to_owned());
    put("installation", recipient.installation_id.clone());
    put("value", trigger.value.to_string());
    for (key, value) in [
        ("event", &trigger.event_id),
        ("venue", &trigger.venue_id),
        ("zone", &trigger.zone_id),
        ("category", &trigger.category_id),
    ] {
        if let Some(v) = value {
            put(key, v.clone());
        }
    }
    match trigger.kind {
        TriggerKind::QueueLong | TriggerKind::QueueShort => {
            put("queue_length", format!("{:.0}", trigger.value))
        }
        TriggerKind::CartAbandoned => put("cart_value", format!("{:.2}", trigger.value / 100.0)),
        _ => {}
    }
    if let Some(offer) = offer {
        put("offer.kind", offer.kind.as_str().to_owned());
        put("offer.percent", offer.percent.to_string());
        if let Some(stand) = &offer.stand {
            put("offer.stand", stand.clone());
        }
    }
    if let Some(v) = voucher {
        put("voucher.code", v.code.clone());
        put("voucher.expires_local", offset.local_hhmm(v.expires_at_ms));
        if let Some(utc) = chrono::DateTime::from_timestamp_millis(v.expires_at_ms) {
            put(
                "voucher.expires_utc",
                utc.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        }
        put(
            "voucher.valid_minutes",
            campaign.spec.validity_minutes.to_string(),
        );
    }
    for (k, v) in &recipient.properties {
        put(&format!("recipient.{k}"), v.clone());
    }
    for (k, v) in &trigger.properties {
        put(&format!("trigger.{k}"), v.clone());
    }
    p
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build(
        &mut self,
        campaign: &Campaign,
        trigger: &Trigger,
        recipient: &Recipient,
        mut record: DeliveryRecord,
        offset: UtcOffset,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<PlannedNotification, String> {
        let locale = normalise_locale(&recipient.locale);
        let context = OfferContext {
            campaign_id: campaign.id().to_owned(),
            trigger_kind: trigger.kind,
            venue_id: trigger.venue_id.clone(),
            zone_id: trigger.zone_id.clone(),
            locale: locale.clone(),
            local_hour: (offset.minute_of_day(now_ms) / 60) as u8,
        };
        let offer = match campaign.offers.as_slice() {
            [] => None,
            [only] => Some(only.clone()),
            options => {
                let pick = self.chooser.choose(options, &context);
                options.get(pick).or(options.first()).cloned()
            }
        };
        let voucher = match &offer {
            Some(offer) => {
                let nonce = voucher::nonce(campaign.id(), &recipient.installation_id, trigger.id);
                Some(
                    voucher::issue(&self.keys, offer, expires_at_ms, nonce)
                        .map_err(|e| format!("voucher_error: {e}"))?,
                )
            }
            None => None,
        };
        let properties = properties(
            campaign,
            trigger,
            recipient,
            &locale,
            offer.as_ref(),
            voucher.as_ref(),
            offset,
        );
        let (used_locale, template) = campaign
            .templates
            .resolve(&locale)
            .map_err(|e| format!("render_error: {e}"))?;
        let message = template
            .render(&properties)
            .map_err(|e| format!("render_error: {e}"))?;
        let content = PushContent {
            notification_id: record.notification_id,
            campaign_id: campaign.id(),
            installation_id: &recipient.installation_id,
            message: &message,
            voucher: voucher.as_ref(),
            offer: offer.as_ref(),
            expires_at_ms,
            now_ms,
            options: &campaign.spec.push,
        };
        let payload = payload::build(recipient.platform, &content)
            .map_err(|e| format!("payload_too_large: {e}"))?;
        record.offer = offer.clone();
        record.voucher_code = voucher.as_ref().map(|v| v.code.clone());
        record.voucher_expires_ms = voucher.as_ref().map(|v| v.expires_at_ms);
        if let (Some(offer), Some(v)) = (offer, &voucher) {
            self.keep_voucher(
                v.code.clone(),
                Outstanding {
                    planned: record.clone(),
                    expires_at_ms: v.expires_at_ms,
                    offer,
                    context: Some(context),
                },
            );
        }
        Ok(PlannedNotification {
            record,
            payload,
            message,
            locale: used_locale.to_owned(),
            voucher,
        })
    }
}
