//! The oracle's futures of one event seen from one snapshot time: Monte Carlo paths of
//! its expected shopper arrivals, each with the waves (announcements, social spikes)
//! that have happened by then, as they happened, and future waves drawn from their
//! true laws ([`sellout_simulator::waves`]) given how many have happened already.
//!
//! Given `k` waves of a kind seen by time `t` out of a window `[lo, hi]`, the count `n`
//! (uniform prior over the law's range) has posterior weight `C(n, k)·f^k·(1 − f)^(n−k)`
//! with `f` the share of the window already past; the `n − k` future ones are uniform
//! over `[max(t, lo), hi]` with amplitudes and minutes from the law. Each path keeps its
//! cumulative expected arrivals on a 15-minute grid from `t` to sales close.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sellout_ingest::records::Timestamp;
use sellout_simulator::truth::{EventTruth, SocialSpike, Wave};
use sellout_simulator::waves::{ANNOUNCEMENT_LAW, SPIKE_LAW, WaveLaw, wave_window};

/// Grid step of the cumulative arrivals.
const STEP_MS: i64 = 15 * 60_000;
/// Hours after a wave past which its extra arrivals are negligible and dropped.
const SUPPORT_HOURS: i64 = 48;

/// Cumulative expected arrivals from `start` on the grid, per path.
pub struct Futures {
    start: Timestamp,
    paths: Vec<Vec<f64>>,
}

impl Futures {
    /// Draws `n` paths of the event's arrivals after `at` (times `scale`).
    pub fn draw(
        event: &EventTruth,
        scale: f64,
        at: Timestamp,
        n: usize,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let close = event.curve.sales_close;
        let start = at.max(event.curve.on_sale);
        let cells = ((close - start).max(0) + STEP_MS - 1) / STEP_MS;
        let cells = cells.max(0) as usize;
        let mid = |i: usize| start + i as i64 * STEP_MS + STEP_MS / 2;
        let width = |i: usize| {
            let from = start + i as i64 * STEP_MS;
            (close.min(from + STEP_MS) - from) as f64 / 60_000.0
        };
        // What is known at `at`: the curve and the waves that have happened.
        let past_waves: Vec<&Wave> = event
            .announcements
            .iter()
            .filter(|w| w.time <= at)
            .collect();
        let past_spikes: Vec<&SocialSpike> = event
            .social_spikes
            .iter()
            .filter(|s| s.time <= at)
            .collect();
        let daily: Vec<f64> = (0..cells).map(|i| event.curve.daily_rate(mid(i))).collect();
        let known: Vec<f64> = (0..cells)
            .map(|i| {
                let t = mid(i);
                let boost = 1.0
                    + past_waves.iter().map(|w| w.boost(t)).sum::<f64>()
                    + past_spikes.iter().map(|s| s.boost(t)).sum::<f64>();
                scale * (event.curve.opening_rate(t) + daily[i] * boost) * width(i)
            })
            .collect();
        let window = wave_window(event.curve.on_sale, close);
        let paths = (0..n)
            .map(|_| {
                let mut rate = known.clone();
                let waves = future(&ANNOUNCEMENT_LAW, past_waves.len(), at, window, rng);
                for (time, amplitude, minutes) in waves {
                    let wave = Wave {
                        time,
                        label: String::new(),
                        amplitude: amplitude * ANNOUNCEMENT_LAW.hotness_factor(event.hotness),
                        decay_min: minutes,
                    };
                    add(&mut rate, start, time, &daily, scale, &width, |t| {
                        wave.boost(t)
                    });
                }
                let spikes = future(&SPIKE_LAW, past_spikes.len(), at, window, rng);
                for (time, amplitude, minutes) in spikes {
                    let spike = SocialSpike {
                        time,
                        posts_per_min: 0.0,
                        post_decay_min: 45.0,
                        arrival_boost: amplitude * SPIKE_LAW.hotness_factor(event.hotness),
                        arrival_lag_min: minutes,
                    };
                    add(&mut rate, start, time, &daily, scale, &width, |t| {
                        spike.boost(t)
                    });
                }
                let mut cum = Vec::with_capacity(cells + 1);
                cum.push(0.0);
                let mut total = 0.0;
                for r in rate {
                    total += r;
                    cum.push(total);
                }
                cum
            })
            .collect();
        Self { start, paths }
    }

    /// Number of paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Cumulative expected arrivals of `path` from the start to `t`.
    fn cum(&self, path: usize, t: Timestamp) -> f64 {
        let Some(cum) = self.paths.get(path) else {
            return 0.0;
        };
        let x = (t - self.start).max(0) as f64 / STEP_MS as f64;
        let i = (x.floor() as usize).min(cum.len() - 1);
        let j = (i + 1).min(cum.len() - 1);
        let frac = (x - i as f64).clamp(0.0, 1.0);
        cum[i] + frac * (cum[j] - cum[i])
    }

    /// Expected arrivals of `path` between `from` and `to`.
    pub fn arrivals(&self, path: usize, from: Timestamp, to: Timestamp) -> f64 {
        (self.cum(path, to) - self.cum(path, from)).max(0.0)
    }

    /// When the expected arrivals of `path` after `from` reach `amount` (`None` if they
    /// don't by `end`), to the minute.
    pub fn time_of(
        &self,
        path: usize,
        from: Timestamp,
        amount: f64,
        end: Timestamp,
    ) -> Option<i64> {
        if self.arrivals(path, from, end) < amount {
            return None;
        }
        let (mut lo, mut hi) = (from, end);
        while hi - lo > 60_000 {
            let mid = lo + (hi - lo) / 2;
            if self.arrivals(path, from, mid) < amount {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }
}

/// Adds a wave's extra arrivals (its boost on the daily rate) to the grid's cells.
fn add(
    rate: &mut [f64],
    start: Timestamp,
    time: Timestamp,
    daily: &[f64],
    scale: f64,
    width: &dyn Fn(usize) -> f64,
    boost: impl Fn(Timestamp) -> f64,
) {
    let first = ((time - start).max(0) / STEP_MS) as usize;
    let last = (first + (SUPPORT_HOURS * 3_600_000 / STEP_MS) as usize).min(rate.len());
    for i in first..last {
        let t = start + i as i64 * STEP_MS + STEP_MS / 2;
        rate[i] += scale * daily[i] * boost(t) * width(i);
    }
}

/// The future waves of one kind after `at` given `past` seen: (time, amplitude before
/// the hotness factor, minutes).
fn future(
    law: &WaveLaw,
    past: usize,
    at: Timestamp,
    (lo, hi): (f64, f64),
    rng: &mut ChaCha8Rng,
) -> Vec<(Timestamp, f64, f64)> {
    let f = if hi > lo {
        ((at as f64 - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let counts: Vec<(usize, f64)> = (law.count.0 as usize..=law.count.1 as usize)
        .map(|n| {
            let w = if n < past {
                0.0
            } else {
                binomial(n, past) * f.powi(past as i32) * (1.0 - f).powi((n - past) as i32)
            };
            (n, w)
        })
        .collect();
    let total: f64 = counts.iter().map(|(_, w)| w).sum();
    let mut n = past;
    if total > 0.0 {
        let mut x = rng.random::<f64>() * total;
        for (k, w) in &counts {
            n = *k;
            if x < *w {
                break;
            }
            x -= w;
        }
    }
    let from = (at as f64).max(lo);
    (past..n)
        .map(|_| {
            let u: f64 = rng.random();
            let time = (from + (hi - from).max(0.0) * u) as Timestamp;
            let amplitude =
                law.amplitude.0 + (law.amplitude.1 - law.amplitude.0) * rng.random::<f64>();
            let minutes = law.minutes.0 + (law.minutes.1 - law.minutes.0) * rng.random::<f64>();
            (time.max(at + 1), amplitude, minutes)
        })
        .collect()
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_future_count_follows_the_posterior() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let law = WaveLaw {
            count: (1, 3),
            amplitude: (1.0, 2.0),
            hotness_base: None,
            minutes: (60.0, 60.0),
        };
        let (lo, hi) = (0.0, 1_000_000.0);
        // Half the window gone, one wave seen: n = 1, 2, 3 with weights ½, ½, ⅜ over
        // 11/8, so the future count's mean is (4/11)·1 + (3/11)·2 = 10/11.
        let draws = 40_000;
        let mean = (0..draws)
            .map(|_| future(&law, 1, 500_000, (lo, hi), &mut rng).len() as f64)
            .sum::<f64>()
            / draws as f64;
        assert!((mean - 10.0 / 11.0).abs() < 0.02, "{mean}");
        // Past the window nothing more comes; before it, the prior (mean 2).
        assert!(future(&law, 2, 2_000_000, (lo, hi), &mut rng).is_empty());
        let prior = (0..draws)
            .map(|_| future(&law, 0, -5, (lo, hi), &mut rng).len() as f64)
            .sum::<f64>()
            / draws as f64;
        assert!((prior - 2.0).abs() < 0.03, "{prior}");
        for (t, a, _) in future(&law, 0, 700_000, (lo, hi), &mut rng) {
            assert!(t > 700_000 && t <= 1_000_000 && (1.0..=2.0).contains(&a));
        }
    }
}
