//! Handing planned notifications to APNs and FCM: the push token is looked up at the
//! last moment (it never travels in a record), each payload becomes its platform's
//! request, and every send runs concurrently up to a bound; each outcome comes back as
//! the notification's next `deliveries` record.

use futures_util::StreamExt as _;
use sellout_push::{ApnsClient, ApnsNotification, FcmClient, FcmNotification, PushType};

use crate::campaign::PlannedNotification;
use crate::delivery::{DeliveryRecord, Outcome};
use crate::payload::Payload;

/// The push clients a runtime sends with; a platform without a client fails its sends
/// with reason `no_sender`.
#[derive(Clone, Default)]
pub struct Senders {
    /// APNs, when configured.
    pub apns: Option<ApnsClient>,
    /// FCM, when configured.
    pub fcm: Option<FcmClient>,
    /// Sends in flight at most.
    pub concurrency: usize,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders")
            .field("apns", &self.apns.is_some())
            .field("fcm", &self.fcm.is_some())
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

/// One notification with the token to send it to.
pub struct Addressed {
    /// What the engine planned.
    pub planned: PlannedNotification,
    /// The installation's push token (`None`: erased since it was selected).
    pub token: Option<String>,
}

impl Senders {
    /// Sends every notification; returns each one's outcome record (in input order),
    /// timed `now_ms`.
    pub async fn send(&self, batch: Vec<Addressed>, now_ms: i64) -> Vec<DeliveryRecord> {
        let concurrency = self.concurrency.max(1);
        futures_util::stream::iter(batch.into_iter().map(|a| self.send_one(a, now_ms)))
            .buffered(concurrency)
            .collect()
            .await
    }

    async fn send_one(&self, a: Addressed, now_ms: i64) -> DeliveryRecord {
        let planned = &a.planned.record;
        let Some(token) = a.token else {
            return planned.with_outcome(
                Outcome::Failed,
                Some("installation_erased".into()),
                0,
                now_ms,
            );
        };
        let id = planned.notification_id.0;
        let delivery = match (&a.planned.payload, &self.apns, &self.fcm) {
            (Payload::Apns(p), Some(apns), _) => {
                let n = ApnsNotification {
                    device_token: token,
                    apns_id: id,
                    push_type: PushType::Alert,
                    priority: p.headers.priority,
                    expiration: Some(p.headers.expiration),
                    collapse_id: Some(p.headers.collapse_id.clone()),
                    payload: p.body.clone().into(),
                };
                apns.send(&n).await
            }
            (Payload::Fcm(p), _, Some(fcm)) => {
                let n = FcmNotification {
                    token,
                    notification_id: id,
                    message: p.message.clone(),
                };
                fcm.send(&n).await
            }
            _ => {
                return planned.with_outcome(Outcome::Failed, Some("no_sender".into()), 0, now_ms);
            }
        };
        let outcome = match delivery.outcome {
            sellout_push::Outcome::Delivered => Outcome::Delivered,
            sellout_push::Outcome::Pruned => Outcome::Pruned,
            sellout_push::Outcome::Failed => Outcome::Failed,
        };
        let reason = match outcome {
            Outcome::Delivered => None,
            _ => Some(
                delivery
                    .reason
                    .or_else(|| delivery.status.map(|s| format!("status {s}")))
                    .unwrap_or_else(|| "unknown".into()),
            ),
        };
        planned.with_outcome(outcome, reason, delivery.attempts, now_ms)
    }
}
