//! Words for people: money in minor units and one-line descriptions of signals, for
//! the alerts feed and the event page. No session, customer or installation id is
//! ever written into them.

use sellout_pipelines::output::{Signal, SignalDetail};

/// Minor units as `12.34`.
pub fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// (value, z, text) of a signal, for the sink and the alerts feed.
pub(super) fn describe(signal: &Signal) -> (f64, f64, String) {
    let kind = signal.kind.as_str();
    match &signal.detail {
        SignalDetail::Cart {
            quantity,
            value_minor,
            currency,
            ..
        } => (
            f64::from(*quantity),
            0.0,
            format!(
                "cart of {quantity} seat(s), {} {currency}",
                money(*value_minor)
            ),
        ),
        SignalDetail::Rate {
            metric,
            rate_per_min,
            baseline_per_min,
            z,
            ..
        } => {
            let metric = serde_json::to_value(metric)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let cat = signal.category_id.as_deref().unwrap_or("");
            (
                *rate_per_min,
                *z,
                format!(
                    "{cat}: {kind} in {metric}, {rate_per_min:.1}/min vs {baseline_per_min:.1}/min (z {z:.1})"
                ),
            )
        }
        SignalDetail::Buzz {
            value,
            z,
            posts,
            sentiment,
            ..
        } => (
            *value,
            *z,
            format!("buzz, {posts} posts/min, sentiment {sentiment:+.2} (z {z:.1})"),
        ),
        SignalDetail::Queue {
            stand_id,
            length,
            wait_minutes,
            ..
        } => (
            f64::from(*length),
            0.0,
            format!("{stand_id}: queue {length}, wait {wait_minutes:.1} min"),
        ),
    }
}
