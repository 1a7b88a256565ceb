//! # sellout-models
//!
//! Owns the models beside the pipelines: price optimisation, demand (price response),
//! sell-out probability, training from history, the model registry and evaluation
//! against the simulator's ground truth. It reads
//! [`sellout_pipelines::output::SellOutFeatures`] snapshots and the simulator's records.
//!
//! It must not read the wall clock (times are passed in), must not panic on bad input
//! (errors name what is wrong) and does I/O only in [`registry`] and [`history_io`].
//!
//! # Layout
//! - [`optimiser`]: the finite-horizon DP and the fluid relaxation over a price grid
//!   between floor and cap ([`optimiser::PriceDecision`] with its [`optimiser::Binding`]).
//! - [`pricing`]: what the pricing service calls: [`pricing::Optimiser::optimal_price`]
//!   from a feature snapshot and [`pricing::PriceBounds`].
//! - [`demand`]: the Poisson GLM per category, with a prior and online updates.
//! - [`demand_prior`]: that prior fitted on history, over the span being priced.
//! - [`sellout`]: calibrated `P(sold out within 7 d / 14 d / by start)` and the expected
//!   sell-out time ([`sellout::SellOutModel::score`]).
//! - [`context`]: the event around a category (its siblings' seats left and pace).
//! - [`shape`]: sales profiles from history: by hour of day, and the booking curve's
//!   shape by days to the event (the late rise).
//! - [`level`]: the structural forecast: the opening spike still to come and the
//!   daily level inferred from the sales path (a history-learned prior on the first
//!   day), with their uncertainty.
//! - [`logistic`]: logistic regression (linfa, label trap handled) and Platt scaling.
//! - [`calibration`]: isotonic regression and the held-out choice of Platt or isotonic.
//! - [`history`]: labelled training history generated from the simulator.
//! - [`history_io`]: that history as Parquet (polars), read from a directory.
//! - [`pace`]: the pace forecast a board shows before any model is trained.
//! - [`recorded`]: history from what the system recorded (the pipelines' archived
//!   features), labelled from their own future.
//! - [`train`]: history → [`train::ModelBundle`] → registry ([`train::train_dir`]).
//! - [`registry`]: versioned `model.json` + `meta.json`, newest or pinned, clear errors.
//! - [`cluster`]: k-means of events (cold-start priors, "events like this one").
//! - [`coldstart`]: a new event's sell-out and demand priors from its cluster
//!   ([`coldstart::ColdStartModel::prior_for`], in [`train::ModelBundle::cold_start`]).
//! - [`offers`]: Thompson-sampling voucher choice learning from redemptions.
//! - [`metrics`]: Brier, ECE, AUC.
//! - [`eval`]: the standalone evaluation ([`eval::evaluate`] → [`eval::EvalReport`]).
//! - `linalg`: the small Cholesky solve behind the Newton steps.

pub mod calibration;
pub mod cluster;
pub mod coldstart;
pub mod context;
pub mod demand;
pub mod demand_prior;
pub mod eval;
pub mod history;
pub mod history_io;
pub mod level;
mod linalg;
pub mod logistic;
pub mod metrics;
pub mod offers;
pub mod optimiser;
pub mod pace;
pub mod pricing;
pub mod recorded;
pub mod registry;
pub mod sellout;
pub mod shape;
pub mod train;
