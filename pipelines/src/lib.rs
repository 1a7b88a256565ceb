//! # sellout-pipelines
//!
//! Will own the event-time runtime (watermarks, keyed state, timers, checkpoints) and the
//! streaming jobs: abandoned carts, surges and slumps, social buzz, venue flow and
//! sell-out features. They read the `sales`, `beacons`, `social` and `queues` topics
//! written by `sellout-ingest` and write `signals` and `features`.
//!
//! Nothing is implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing, so nothing can mistake it for a working pipeline.
