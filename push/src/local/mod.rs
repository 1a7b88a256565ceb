//! Local endpoints that speak the APNs provider API and FCM HTTP v1 (with Google's OAuth2
//! token endpoint) faithfully enough that a sender cannot tell them from the real ones
//! apart from the base URL and the extra root certificate. Used by tests, the demo and
//! the benchmark, so they are cheap: verified tokens are cached, and a request costs a
//! few map look-ups.
//!
//! Both record every accepted notification (to count deliveries and duplicates) and
//! take per-device-token [`Fault`]s to inject failures.

pub mod apns;
pub mod creds;
pub mod fcm;
mod linger;
mod oauth;
pub(crate) mod server;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use apns::{ApnsServer, ApnsServerConfig};
pub use creds::{apns_test_key_pem, test_service_account_json};
pub use fcm::{FcmServer, FcmServerConfig};
pub use server::ServerStats;

/// A failure to inject for one device token (or for all, see `inject_all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// APNs 410 `Unregistered`; FCM 404 `UNREGISTERED`.
    Unregistered,
    /// APNs 400 `BadDeviceToken`; FCM 400 `INVALID_ARGUMENT` on `message.token`.
    BadToken,
    /// 429 with `Retry-After: retry_after_s` for the first `times` attempts.
    RateLimited {
        /// Attempts answered 429.
        times: u32,
        /// Seconds in `Retry-After`.
        retry_after_s: u64,
    },
    /// `status` (500 or 503) for the first `times` attempts.
    ServerErrors {
        /// Attempts answered with the error.
        times: u32,
        /// 500 or 503.
        status: u16,
    },
    /// Answer normally, but only after this delay.
    Delay(Duration),
    /// Always answer `status` with this reason (APNs reason or FCM error code).
    Reject {
        /// The HTTP status.
        status: u16,
        /// `TopicDisallowed`, `SENDER_ID_MISMATCH`, ...
        reason: String,
    },
}

/// A storm: a share of all requests (those of tokens without their own fault) answered
/// with 429 (`Retry-After`), 500, 503 or a delay, in equal parts, drawn from a seeded
/// sequence so a drill can be repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct Storm {
    /// Share of requests hit, 0..1.
    pub share: f64,
    /// Seed of the draws.
    pub seed: u64,
    /// Seconds in the 429's `Retry-After`.
    pub retry_after_s: u64,
    /// How long a slow answer waits.
    pub delay: Duration,
}

/// What the fault table says to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hit {
    None,
    Delay(Duration),
    Unregistered,
    BadToken,
    RateLimited(u64),
    ServerError(u16),
    Reject(u16, String),
}

/// Faults by device token, with attempt counters.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    by_token: Mutex<HashMap<String, (Fault, u32)>>,
    all: Mutex<Option<Fault>>,
    storm: Mutex<Option<Storm>>,
    draws: AtomicU64,
    storm_faults: AtomicU64,
}

impl FaultTable {
    /// Sets the fault for one token, resetting its attempt counter.
    pub fn inject(&self, token: &str, fault: Fault) {
        self.by_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.to_owned(), (fault, 0));
    }

    /// Sets (or clears) the `Delay`/`Reject` fault for tokens without their own.
    pub fn inject_all(&self, fault: Option<Fault>) {
        *self.all.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// Starts (or ends) a storm over the tokens without their own fault.
    pub fn storm(&self, storm: Option<Storm>) {
        *self.storm.lock().unwrap_or_else(PoisonError::into_inner) = storm;
    }

    /// Requests a storm answered with a fault so far.
    pub fn storm_faults(&self) -> u64 {
        self.storm_faults.load(Ordering::Relaxed)
    }

    /// Counts one attempt for `token` and says what to do with it.
    pub fn hit(&self, token: &str) -> Hit {
        let mut map = self.by_token.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((fault, seen)) = map.get_mut(token) {
            *seen += 1;
            return apply(fault, *seen);
        }
        drop(map);
        if let Some(storm) = &*self.storm.lock().unwrap_or_else(PoisonError::into_inner) {
            let n = self.draws.fetch_add(1, Ordering::Relaxed);
            let draw = splitmix64(storm.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let unit = (draw >> 11) as f64 / (1u64 << 53) as f64;
            if unit < storm.share {
                self.storm_faults.fetch_add(1, Ordering::Relaxed);
                return match draw % 4 {
                    0 => Hit::RateLimited(storm.retry_after_s),
                    1 => Hit::ServerError(500),
                    2 => Hit::ServerError(503),
                    _ => Hit::Delay(storm.delay),
                };
            }
        }
        match &*self.all.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(f @ (Fault::Delay(_) | Fault::Reject { .. })) => apply(f, 1),
            _ => Hit::None,
        }
    }
}

/// A well-mixed 64-bit value from `x` (SplitMix64's finaliser).
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn apply(fault: &Fault, seen: u32) -> Hit {
    match fault {
        Fault::Unregistered => Hit::Unregistered,
        Fault::BadToken => Hit::BadToken,
        Fault::RateLimited {
            times,
            retry_after_s,
        } if seen <= *times => Hit::RateLimited(*retry_after_s),
        Fault::ServerErrors { times, status } if seen <= *times => Hit::ServerError(*status),
        Fault::Delay(d) => Hit::Delay(*d),
        Fault::Reject { status, reason } => Hit::Reject(*status, reason.clone()),
        Fault::RateLimited { .. } | Fault::ServerErrors { .. } => Hit::None,
    }
}

/// One accepted notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// `apns-id`, or FCM `data.notification_id` (empty when the sender gave none).
    pub id: String,
    /// The device token it was addressed to.
    pub token: String,
    /// Body size in bytes.
    pub payload_len: usize,
}

/// Every accepted notification, and how often each id was accepted.
#[derive(Debug, Default)]
pub(crate) struct DeliveryLog {
    keep_details: bool,
    accepted: Mutex<Vec<Accepted>>,
    by_id: Mutex<HashMap<u128, u32>>,
    duplicates: AtomicU64,
    total: AtomicU64,
}

impl DeliveryLog {
    /// A log that keeps every [`Accepted`] when `keep_details`, else only counts.
    pub fn new(keep_details: bool) -> Self {
        Self {
            keep_details,
            ..Self::default()
        }
    }

    /// Records one accepted notification, counting a duplicate when its id was seen.
    pub fn record(&self, a: Accepted) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if !a.id.is_empty() {
            let mut ids = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
            let n = ids.entry(id_key(&a.id)).or_insert(0);
            *n += 1;
            if *n > 1 {
                self.duplicates.fetch_add(1, Ordering::Relaxed);
            }
        }
        if self.keep_details {
            self.accepted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(a);
        }
    }

    /// Notifications accepted.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Accepted notifications whose id had been accepted before.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Every accepted notification, if details are kept.
    pub fn all(&self) -> Vec<Accepted> {
        self.accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A compact map key for an id: the UUID's 128 bits, or a hash of any other string.
fn id_key(id: &str) -> u128 {
    match crate::delivery::parse_uuid(id) {
        Some(bytes) => u128::from_be_bytes(bytes),
        None => {
            use std::hash::{Hash as _, Hasher as _};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            id.hash(&mut h);
            u128::from(h.finish()) | (1 << 127)
        }
    }
}
