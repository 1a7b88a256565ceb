//! # sellout-push
//!
//! Owns the **push transport**: delivering a ready payload to one device through Apple
//! Push Notification service (provider API over HTTP/2, JWT ES256 token auth) or Firebase
//! Cloud Messaging (HTTP v1, OAuth2 from a service account), and classifying the answer
//! into a [`Delivery`]: delivered, pruned (dead token) or failed, after bounded retries
//! with backoff. It also owns local endpoints that speak both protocols ([`local`]), for
//! tests, the demo and the benchmark.
//!
//! It knows nothing about campaigns, tags or templates (that is `sellout-notifier`). It
//! must not read the wall clock for token ages (a [`Clock`](sellout_streams::Clock) is
//! passed in) and must never log device tokens, keys or provider tokens.
//!
//! # Layout
//! - [`apns`]: the APNs sender; its config and notification types, provider-token cache.
//! - [`bulk`]: send many notifications with a fixed number of workers (benchmark, demo).
//! - [`fcm`]: the FCM HTTP v1 sender; its config and notification types, access-token cache.
//! - [`fcm_wire`]: service-account, token and error JSON shapes, and FCM classification.
//! - [`delivery`]: outcomes, the retry policy (exponential backoff, full jitter), UUIDs.
//! - [`jwt`]: ES256/RS256 compact JWS signing and verification over `ring`.
//! - [`transport`]: rustls client config and the pool of HTTP/2 connections (private).
//! - [`local`]: the local APNs and FCM endpoints, fault injection, test credentials.
//! - [`error`]: the error type of configuration, credentials and connections.

pub mod apns;
pub mod bulk;
pub mod delivery;
pub mod error;
pub mod fcm;
pub mod fcm_wire;
pub mod jwt;
pub mod local;
mod transport;

pub use apns::{ApnsClient, ApnsConfig, ApnsNotification, PushType};
pub use delivery::{Delivery, Outcome, RetryPolicy};
pub use error::PushError;
pub use fcm::{FcmClient, FcmConfig, FcmNotification};

// The notifier shares one sender across many tasks: keep them cheap to clone and shareable.
const _: () = {
    const fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<ApnsClient>();
    shareable::<FcmClient>();
};
