//! # sellout-dashboards
//!
//! Will own the InfluxDB sink, the live web board for marketing and the Grafana
//! provisioning files.
//!
//! Nothing is implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing.
