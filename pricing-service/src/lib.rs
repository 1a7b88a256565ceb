//! # sellout-pricing
//!
//! Will own the live price book, the guarded repricer, signed quotes and the HTTP API the
//! sales portal calls. Until it lands, the simulator's shoppers see list prices through
//! `sellout_simulator::PriceSource`.
//!
//! Nothing is implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing.
