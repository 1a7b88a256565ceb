//! # sellout-notifier
//!
//! Will own device installations, tag expressions, localised templates, campaigns, the
//! APNs and FCM senders and delivery outcomes (the `deliveries` topic).
//!
//! Nothing is implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing.
