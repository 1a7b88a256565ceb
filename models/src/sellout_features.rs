//! The sell-out model's feature row: the sold share, the day's coverage, the booking
//! curve's shaped shortfall, and the structural forecast's shortfalls
//! ([`crate::level`]) for the category alone, on its first day, and with its siblings'
//! unmet demand.

use sellout_ingest::records::Timestamp;
use sellout_pipelines::output::SellOutFeatures;

use super::Horizon;
use crate::context::EventContext;
use crate::level::{Forecast, LevelModel, Path};
use crate::shape::{expected_days, hour_before, shortfall_z};

/// Names of the features, in order (stored in model metadata). Kept by out-of-fold
/// Brier on the training runs (each dropped where the training runs' held-out folds
/// scored better without it; the validation runs agreed): the raw paces, the seats
/// left, the days to the event, buzz, cart adds and the event's own shortfalls let the
/// logistic learn the training events rather than the forecast's shortfall. `lnz_`:
/// shortfalls read on the forecast's log-normal law ([`Forecast::shortfall_z`]); models
/// trained on the normal law's (`z_structural`...) read them differently and are refused
/// when loaded.
pub const SELLOUT_FEATURES: [&str; NF] = [
    "sold_share",
    "ln1p_horizon_hours",
    "ln_price_over_list",
    "ln_coverage_24h_squared",
    "ln_coverage_24h_shaped",
    "z_24h_shaped",
    "lnz_structural",
    "ln_coverage_structural",
    "first_day",
    "lnz_structural_first_day",
    "lnz_structural_spill",
    "opening_share",
];

/// Number of sell-out features.
pub const NF: usize = 12;

/// The feature row of a snapshot taken at `at` for a horizon (unstandardised);
/// `diurnal` is the [`super::diurnal_profile`] (empty: no adjustment), `shape` the
/// booking curve's [`crate::shape::shape_profile`] (empty: a flat pace), `event` the
/// category's event ([`EventContext::alone`] when unknown), `level` the structural
/// forecast ([`crate::level`]).
#[allow(clippy::too_many_arguments)]
pub fn feature_row(
    f: &SellOutFeatures,
    list_minor: i64,
    at: Timestamp,
    horizon: Horizon,
    diurnal: &[f64],
    shape: &[f64],
    level: &LevelModel,
    event: &EventContext,
) -> [f64; NF] {
    let h = horizon.effective_hours(f.hours_to_event);
    let remaining = f64::from(f.remaining) + 1.0;
    let pace_24 = f64::from(f.sales_24h) / 24.0;
    let coverage_24 = ((pace_24 * h + 1.0) / remaining).ln();
    let days = expected_days(shape, f.hours_to_event, h);
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let relative = diurnal.get(hour_before(at)).copied().unwrap_or(1.0);
    let own = Path::of(f);
    let mine = level.forecast(&own, shape, relative, f.hours_to_event, h);
    let theirs = Path::of_event(event);
    let whole = level.forecast(&theirs, shape, relative, f.hours_to_event, h);
    // The first day reads the opening: its features may weigh differently.
    let first = if own.first_day() { 1.0 } else { 0.0 };
    let spilled =
        spilled(&mine, &whole, &own, &theirs, level.spill, event).shortfall_z(own.remaining);
    [
        f64::from(f.sold) / f64::from(f.capacity.max(1)),
        h.ln_1p(),
        (f.price_minor.max(1) as f64 / list_minor.max(1) as f64).ln(),
        coverage_24.clamp(-6.0, 6.0).powi(2),
        ((f64::from(f.sales_24h) * days + 1.0) / remaining).ln(),
        shortfall_z(
            f64::from(f.sales_24h) * days,
            f64::from(f.sales_24h),
            remaining - 1.0,
        ),
        mine.shortfall_z(own.remaining),
        ((mine.mean + 1.0) / remaining).ln(),
        first,
        first * mine.shortfall_z(own.remaining),
        spilled,
        f64::from(f.opening_sold) / f64::from(f.capacity.max(1)),
    ]
    .map(finite)
}

/// The category's forecast with a share `spill` of its siblings' unmet demand (their
/// forecast beyond their seats left): shoppers who find a category sold out look at
/// another ([`LevelModel::spill`], chosen in training). Siblings sold out within the
/// last day send the category their shoppers in proportion to its share of the seats
/// still open, which its last day's sales hold only in part: its forecast grows by the
/// same share of their seats over the open ones.
fn spilled(
    mine: &Forecast,
    whole: &Forecast,
    own: &Path,
    theirs: &Path,
    spill: f64,
    event: &EventContext,
) -> Forecast {
    let asked = (whole.mean - mine.mean).max(0.0);
    let left = (theirs.remaining - own.remaining).max(0.0);
    let recent = if own.first_day() {
        0.0
    } else {
        event.recently_sold_out_capacity as f64 / theirs.capacity.max(1.0)
    };
    let extra = spill * ((asked - left).max(0.0) + mine.mean * recent);
    Forecast {
        mean: mine.mean + extra,
        variance: mine.variance + extra * extra * 0.1,
    }
}
