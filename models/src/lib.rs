//! # sellout-models
//!
//! Will own sell-out probability, demand (price response), price optimisation,
//! event/customer clustering and offer choice: training, evaluation and the model
//! registry. It reads features produced by `sellout-pipelines`.
//!
//! Nothing is implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing.
