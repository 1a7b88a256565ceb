//! Surge/slump detector for one series of rate observations (e.g. purchases per minute of one
//! (event, category), one value per window slide). This module owns only the statistics: it keeps
//! an adaptive baseline per series and decides when the current value is a change worth raising.
//!
//! The maths, per finite observation `x` at event time `t`:
//! - **Baseline**: EWMA mean `m += a·(x − m)` and EWMA variance `v = (1 − a)·(v + a·(x − m_old)²)`,
//!   with `a = max(alpha, 1/w)` where `w` counts the observations behind the current level, so a
//!   young baseline is a plain running mean instead of over-weighting its first value. Once
//!   mature (`1/w ≤ alpha`), `a = alpha·max(0, 1 − 2·max(S⁺, S⁻)/h)`: learning stops while a CUSUM
//!   side is past half its threshold, because learning the values CUSUM is accumulating would
//!   hide the shift it measures.
//! - **z-score**: `z = (x − m) / s`, where `s = max(√v, min_std, min_std_rel·|m|, poisson_std·√m)`;
//!   the floor stops a flat or young series (√v ≈ 0) from turning one extra ticket into a huge z.
//! - **CUSUM** (two-sided, standardised): `S⁺ = max(0, S⁺ + (z − k)/overlap)`,
//!   `S⁻ = max(0, S⁻ − (z + k)/overlap)`; `S > h` flags a sustained small shift that never reaches
//!   the z threshold.
//! - **Hysteresis**: an alarm state is entered when `|z| ≥ z_enter` (or `S > h`) and left only when
//!   `|z| < z_exit`; while in a state no new alarm of that direction is raised.
//! - **Cool-down**: a raised alarm silences the same direction for `cooldown_ms` of event time, even
//!   if the state is left and re-entered meanwhile; the state itself still follows the data.
//! - **In a state** the baseline is frozen (a persisting surge stays a surge) and the in-state
//!   values are averaged aside; after `adapt_after` observations in the state that average becomes
//!   the baseline (`w` = those observations) and the state is left silently, so a permanent level
//!   shift is absorbed. A small shift caught by CUSUM usually leaves the state at once (|z| is
//!   below `z_exit`); a CUSUM alarm therefore sets `w = 1`, so the stale level counts as one
//!   observation and the baseline re-learns as a running mean of what follows, absorbing the
//!   shift well within the cool-down. (Jumping to Page's estimate `m ± s·(k + S/N)` instead
//!   overshoots, since the alarm fires on a noisy high, and a transient bump would then look like
//!   a slump.) CUSUM restarts at zero after every alarm and is held at zero inside a state.
//!
//! Non-finite values (NaN, ±inf) are ignored: they change nothing and raise nothing. An observation
//! whose arithmetic would overflow the state is ignored the same way, so the state is always finite.
//!
//! What it must not do: no windowing or counting (the caller computes the rates), no wall clock
//! (times are event-time milliseconds passed in), no stored configuration (one [`DetectorConfig`] is
//! shared by thousands of small per-key [`ChangeDetector`]s, which are checkpointed with serde).

use serde::{Deserialize, Serialize};

/// Tuning shared by every detector; passed to [`ChangeDetector::observe`], never stored in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// EWMA weight of each new observation in the baseline mean and variance, in (0, 1]; the
    /// baseline remembers roughly the last `2/alpha` observations.
    pub alpha: f64,
    /// |z| at or above which an alarm state is entered (and an alarm raised unless cooling down).
    pub z_enter: f64,
    /// |z| below which an alarm state is left; must be below `z_enter` (the hysteresis band).
    pub z_exit: f64,
    /// CUSUM allowance in standard deviations: drift smaller than this is never accumulated.
    pub cusum_k: f64,
    /// CUSUM decision threshold in standard deviations: a side above it raises a CUSUM alarm.
    pub cusum_h: f64,
    /// Number of first observations that only train the baseline and never raise an alarm (≥ 1).
    pub warmup: u32,
    /// Event-time milliseconds after a raised alarm during which the same direction stays silent.
    pub cooldown_ms: i64,
    /// Absolute floor on the standard deviation used for z, in the unit of the values (> 0).
    pub min_std: f64,
    /// Floor on the standard deviation as a fraction of the baseline mean (0 disables it).
    pub min_std_rel: f64,
    /// Floor on the standard deviation as this factor times √mean, the Poisson noise of a count
    /// (1 for raw counts per window; 0 disables it when values are not counts).
    pub poisson_std: f64,
    /// Observations spent in an alarm state after which its level becomes the new baseline (≥ 1).
    pub adapt_after: u32,
    /// How many consecutive observations share data (window length / slide, ≥ 1); CUSUM
    /// increments are divided by it so overlapping windows do not count as independent evidence.
    pub overlap: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            alpha: 0.02,
            z_enter: 5.0,
            z_exit: 2.0,
            cusum_k: 0.5,
            cusum_h: 12.0,
            warmup: 30,
            cooldown_ms: 10 * 60 * 1000,
            min_std: 0.5,
            min_std_rel: 0.05,
            poisson_std: 1.0,
            adapt_after: 180,
            overlap: 1.0,
        }
    }
}

impl DetectorConfig {
    /// Checks every field; the error names the field, its value and the rule it breaks.
    pub fn validate(&self) -> Result<(), String> {
        // Written as `!(x > 0)` etc. on purpose so NaN fails every check.
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(format!("alpha ({}) must be in (0, 1]", self.alpha));
        }
        if !(self.z_enter.is_finite() && self.z_enter > 0.0) {
            return Err(format!(
                "z_enter ({}) must be a finite number above 0",
                self.z_enter
            ));
        }
        if !(self.z_exit.is_finite() && self.z_exit >= 0.0) {
            return Err(format!(
                "z_exit ({}) must be a finite number at or above 0",
                self.z_exit
            ));
        }
        if self.z_exit >= self.z_enter {
            return Err(format!(
                "z_exit ({}) must be below z_enter ({})",
                self.z_exit, self.z_enter
            ));
        }
        if !(self.cusum_k.is_finite() && self.cusum_k >= 0.0) {
            return Err(format!(
                "cusum_k ({}) must be a finite number at or above 0",
                self.cusum_k
            ));
        }
        if !(self.cusum_h.is_finite() && self.cusum_h > 0.0) {
            return Err(format!(
                "cusum_h ({}) must be a finite number above 0",
                self.cusum_h
            ));
        }
        if self.warmup < 1 {
            return Err(
                "warmup (0) must be at least 1 observation: the baseline needs a value".into(),
            );
        }
        if self.cooldown_ms < 0 {
            return Err(format!(
                "cooldown_ms ({}) must not be negative",
                self.cooldown_ms
            ));
        }
        if !(self.min_std.is_finite() && self.min_std > 0.0) {
            return Err(format!(
                "min_std ({}) must be a finite number above 0, or a flat series divides by zero",
                self.min_std
            ));
        }
        if !(self.min_std_rel.is_finite() && self.min_std_rel >= 0.0) {
            return Err(format!(
                "min_std_rel ({}) must be a finite number at or above 0",
                self.min_std_rel
            ));
        }
        if !(self.poisson_std.is_finite() && self.poisson_std >= 0.0) {
            return Err(format!(
                "poisson_std ({}) must be a finite number at or above 0",
                self.poisson_std
            ));
        }
        if self.adapt_after < 1 {
            return Err("adapt_after (0) must be at least 1 observation".into());
        }
        if !(self.overlap.is_finite() && self.overlap >= 1.0) {
            return Err(format!(
                "overlap ({}) must be a finite number at or above 1",
                self.overlap
            ));
        }
        Ok(())
    }
}

/// Which way the rate moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// A surge: the rate rose above its baseline.
    Up,
    /// A slump: the rate fell below its baseline.
    Down,
}

/// Which test raised the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    /// One observation was at least `z_enter` standard deviations from the baseline.
    ZScore,
    /// Small deviations accumulated past `cusum_h` (a sustained shift).
    Cusum,
}

/// A raised surge or slump, with the numbers that justified it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Surge or slump.
    pub direction: Direction,
    /// The test that fired.
    pub trigger: Trigger,
    /// Event time (ms) of the observation that raised it.
    pub time: i64,
    /// The observed value.
    pub value: f64,
    /// Baseline mean before this observation (the level the value is compared with).
    pub baseline: f64,
    /// Standard deviation used for z, floors included.
    pub baseline_std: f64,
    /// Standardised deviation of the value from the baseline.
    pub z: f64,
    /// The CUSUM side of `direction` at the alarm, before it was reset.
    pub cusum: f64,
}

/// Per-series detector state: small, `Vec`-free and serialisable for checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeDetector {
    /// Finite observations seen (saturating); drives warm-up.
    seen: u32,
    /// Observations the baseline level stands for (saturating); `1/weight` is its minimum alpha.
    weight: u32,
    /// EWMA mean of the baseline.
    mean: f64,
    /// EWMA variance of the baseline.
    var: f64,
    /// Upper CUSUM side, in standard deviations.
    cusum_pos: f64,
    /// Lower CUSUM side, in standard deviations.
    cusum_neg: f64,
    /// Current alarm state, if any.
    state: Option<Direction>,
    /// Observations spent in the current state.
    state_n: u32,
    /// Running mean of the in-state values (Welford), adopted after `adapt_after`.
    state_mean: f64,
    /// Running sum of squared deviations of the in-state values (Welford).
    state_m2: f64,
    /// Event time of the last raised Up alarm.
    last_up: Option<i64>,
    /// Event time of the last raised Down alarm.
    last_down: Option<i64>,
}

impl Default for ChangeDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeDetector {
    /// A detector that has seen nothing yet.
    pub fn new() -> Self {
        Self {
            seen: 0,
            weight: 0,
            mean: 0.0,
            var: 0.0,
            cusum_pos: 0.0,
            cusum_neg: 0.0,
            state: None,
            state_n: 0,
            state_mean: 0.0,
            state_m2: 0.0,
            last_up: None,
            last_down: None,
        }
    }

    /// Feeds one observation; returns a change when one is raised.
    ///
    /// Non-finite values are ignored (no state change, `None`). `config` should have passed
    /// [`DetectorConfig::validate`]; times should not go backwards (an earlier time than the last
    /// alarm simply counts as inside its cool-down).
    pub fn observe(&mut self, config: &DetectorConfig, time: i64, value: f64) -> Option<Change> {
        if !value.is_finite() {
            return None;
        }
        // Work on a copy so an overflowing value (e.g. 1e308 against −1e308) cannot leave a
        // half-updated or infinite state behind; the copy is ~100 bytes.
        let mut next = self.clone();
        let change = next.step(config, time, value);
        if next.is_finite() {
            *self = next;
            change
        } else {
            None
        }
    }

    /// Baseline mean (EWMA, frozen while in an alarm state); 0 before any observation.
    pub fn baseline(&self) -> f64 {
        self.mean
    }

    /// Raw EWMA standard deviation of the baseline, before the `min_std` floors.
    pub fn baseline_std(&self) -> f64 {
        self.var.max(0.0).sqrt()
    }

    /// Standard deviation used for z-scores: the raw one raised to the configured floors.
    pub fn effective_std(&self, config: &DetectorConfig) -> f64 {
        self.baseline_std()
            .max(config.min_std)
            .max(config.min_std_rel * self.mean.abs())
            .max(config.poisson_std * self.mean.max(0.0).sqrt())
    }

    /// The alarm state the series is in, if any.
    pub fn in_alarm(&self) -> Option<Direction> {
        self.state
    }

    fn is_finite(&self) -> bool {
        self.mean.is_finite()
            && self.var.is_finite()
            && self.cusum_pos.is_finite()
            && self.cusum_neg.is_finite()
            && self.state_mean.is_finite()
            && self.state_m2.is_finite()
    }

    fn step(&mut self, c: &DetectorConfig, time: i64, x: f64) -> Option<Change> {
        if self.seen < c.warmup.max(1) {
            self.seen += 1;
            self.learn(c, x);
            return None;
        }
        self.seen = self.seen.saturating_add(1);

        let std = self.effective_std(c);
        let z = (x - self.mean) / std;

        // Leave first, so a reversal (surge straight into slump) can enter the opposite state on
        // this very observation.
        match self.state {
            Some(Direction::Up) if z < c.z_exit => self.state = None,
            Some(Direction::Down) if z > -c.z_exit => self.state = None,
            _ => {}
        }

        let mut change = None;
        if self.state.is_none() {
            // CUSUM only runs outside a state: inside, the frozen baseline would make it grow
            // without bound and fire again the moment the state is left.
            let w = 1.0 / c.overlap;
            self.cusum_pos = (self.cusum_pos + (z - c.cusum_k) * w).max(0.0);
            self.cusum_neg = (self.cusum_neg - (z + c.cusum_k) * w).max(0.0);

            let hit = if z >= c.z_enter {
                Some((Direction::Up, Trigger::ZScore))
            } else if z <= -c.z_enter {
                Some((Direction::Down, Trigger::ZScore))
            } else if self.cusum_pos > c.cusum_h {
                Some((Direction::Up, Trigger::Cusum))
            } else if self.cusum_neg > c.cusum_h {
                Some((Direction::Down, Trigger::Cusum))
            } else {
                None
            };

            match hit {
                Some((direction, trigger)) => {
                    change = self.enter(c, time, x, std, z, direction, trigger);
                }
                None => {
                    self.learn(c, x);
                    return None;
                }
            }
        }

        // In a state (entered now or before): keep the baseline frozen, average the values aside
        // and adopt that level once the state has lasted `adapt_after` observations.
        self.state_n = self.state_n.saturating_add(1);
        let d = x - self.state_mean;
        self.state_mean += d / f64::from(self.state_n);
        self.state_m2 += d * (x - self.state_mean);
        if self.state_n >= c.adapt_after {
            self.mean = self.state_mean;
            self.var = self.state_m2 / f64::from(self.state_n);
            self.weight = self.state_n;
            self.state = None;
            self.reset_state_stats();
            self.reset_cusum();
        }
        change
    }

    /// Enters the alarm state `direction`; returns the change unless that direction cools down.
    #[allow(clippy::too_many_arguments)] // private helper; a struct would only rename the locals
    fn enter(
        &mut self,
        c: &DetectorConfig,
        time: i64,
        x: f64,
        std: f64,
        z: f64,
        direction: Direction,
        trigger: Trigger,
    ) -> Option<Change> {
        let cusum = match direction {
            Direction::Up => self.cusum_pos,
            Direction::Down => self.cusum_neg,
        };
        if trigger == Trigger::Cusum {
            // CUSUM says the old level is stale: let it count as a single observation, so the
            // baseline restarts as a running mean of what follows and absorbs a small shift well
            // within the cool-down instead of re-alarming on the residual.
            self.weight = 1;
        }
        self.state = Some(direction);
        self.reset_state_stats();
        self.reset_cusum();

        let last = match direction {
            Direction::Up => &mut self.last_up,
            Direction::Down => &mut self.last_down,
        };
        let cooled = last.is_none_or(|t0| time.saturating_sub(t0) >= c.cooldown_ms);
        if !cooled {
            return None;
        }
        *last = Some(time);
        Some(Change {
            direction,
            trigger,
            time,
            value: x,
            baseline: self.mean,
            baseline_std: std,
            z,
            cusum,
        })
    }

    /// One EWMA step (West's incremental form); a running mean while `1/weight` exceeds `alpha`.
    fn learn(&mut self, c: &DetectorConfig, x: f64) {
        self.weight = self.weight.saturating_add(1);
        let running = 1.0 / f64::from(self.weight);
        let a = if running > c.alpha {
            // A young or re-learning baseline (warm-up, just after a CUSUM alarm) averages
            // ungated: it must catch up with the level, and gating it here would freeze a lagging
            // baseline while CUSUM hovers between h/2 and h.
            running
        } else {
            // A mature baseline learns slower as a CUSUM side grows, not at all past h/2: those
            // observations are what CUSUM is accumulating as a possible shift, and learning them
            // at full rate would hide it (a +1σ shift is often absorbed before CUSUM reaches h).
            let gate = (1.0 - 2.0 * self.cusum_pos.max(self.cusum_neg) / c.cusum_h).max(0.0);
            c.alpha * gate
        };
        let d = x - self.mean;
        let incr = a * d;
        self.mean += incr;
        self.var = (1.0 - a) * (self.var + d * incr);
    }

    fn reset_cusum(&mut self) {
        self.cusum_pos = 0.0;
        self.cusum_neg = 0.0;
    }

    fn reset_state_stats(&mut self) {
        self.state_n = 0;
        self.state_mean = 0.0;
        self.state_m2 = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Event-time step between observations: one slide of 10 s.
    const SLIDE_MS: i64 = 10_000;

    /// xorshift64* — tiny, deterministic, good enough for test noise.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
            // 53 high bits → [0, 1).
            (r >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Poisson(lambda) by inversion of the CDF (fine for lambda well below 700).
        fn poisson(&mut self, lambda: f64) -> f64 {
            let u = self.uniform();
            let mut k = 0u32;
            let mut p = (-lambda).exp();
            let mut cdf = p;
            while u > cdf && k < 10_000 {
                k += 1;
                p *= lambda / f64::from(k);
                cdf += p;
            }
            f64::from(k)
        }
    }

    /// Feeds `values` one slide apart starting at time 0; returns (index, change) for each alarm.
    fn feed(
        det: &mut ChangeDetector,
        cfg: &DetectorConfig,
        values: &[f64],
    ) -> Vec<(usize, Change)> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, &v)| det.observe(cfg, i as i64 * SLIDE_MS, v).map(|c| (i, c)))
            .collect()
    }

    /// Poisson noise whose mean is `level(i)` for observation i.
    fn series(seed: u64, n: usize, level: impl Fn(usize) -> f64) -> Vec<f64> {
        let mut rng = Rng::new(seed);
        (0..n).map(|i| rng.poisson(level(i))).collect()
    }

    fn cfg() -> DetectorConfig {
        let c = DetectorConfig::default();
        c.validate().expect("defaults are valid");
        c
    }

    #[test]
    fn stationary_noise_raises_no_alarm() {
        let cfg = cfg();
        // Several seeds so one lucky seed cannot hide a noisy detector. Each series is 5,000
        // observations around 20/min. At the defaults, 200 such series (10^6 observations) gave
        // ~6 false alarms in calibration (mostly Poisson's heavy upper tail crossing z = 5), so 0
        // is expected here; 1 per series is tolerated so a rare tail event is not a failure.
        let mut total = 0;
        for seed in 1..=8 {
            let values = series(seed, 5_000, |_| 20.0);
            let mut det = ChangeDetector::new();
            let alarms = feed(&mut det, &cfg, &values);
            assert!(alarms.len() <= 1, "seed {seed}: {alarms:?}");
            total += alarms.len();
            assert!(
                (det.baseline() - 20.0).abs() < 2.0,
                "baseline {}",
                det.baseline()
            );
        }
        assert!(
            total <= 1,
            "{total} false alarms over 40,000 stationary observations"
        );
    }

    #[test]
    fn step_up_raises_one_alarm_promptly() {
        let cfg = cfg();
        // 200 at 20/min, 100 at 80/min, then back to 20/min.
        let values = series(
            7,
            400,
            |i| if (200..300).contains(&i) { 80.0 } else { 20.0 },
        );
        let mut det = ChangeDetector::new();
        let alarms = feed(&mut det, &cfg, &values);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        let (i, c) = alarms[0];
        assert!((200..=202).contains(&i), "raised at {i}");
        assert_eq!(c.direction, Direction::Up);
        assert_eq!(c.trigger, Trigger::ZScore);
        assert_eq!(c.time, i as i64 * SLIDE_MS);
        assert!((c.baseline - 20.0).abs() < 3.0, "baseline {}", c.baseline);
        assert!(c.z >= cfg.z_enter);
        // The surge ended before adapt_after, so the baseline was never dragged up to 80.
        assert!(
            (det.baseline() - 20.0).abs() < 3.0,
            "baseline {}",
            det.baseline()
        );
        assert_eq!(det.in_alarm(), None);
    }

    #[test]
    fn surge_keeps_alarm_state_and_frozen_baseline() {
        let cfg = cfg();
        let values = series(11, 300, |i| if i >= 200 { 80.0 } else { 20.0 });
        let mut det = ChangeDetector::new();
        feed(&mut det, &cfg, &values[..200]);
        let before = det.baseline();
        let alarms = feed(&mut det, &cfg, &values[200..]);
        assert_eq!(alarms.len(), 1);
        assert_eq!(det.in_alarm(), Some(Direction::Up));
        assert_eq!(det.baseline(), before, "baseline must not chase the surge");
    }

    #[test]
    fn drop_raises_one_down_alarm() {
        let cfg = cfg();
        let values = series(3, 300, |i| if i >= 150 { 5.0 } else { 50.0 });
        let mut det = ChangeDetector::new();
        let alarms = feed(&mut det, &cfg, &values);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        let (i, c) = alarms[0];
        assert_eq!(c.direction, Direction::Down);
        assert!((150..=152).contains(&i), "raised at {i}");
        assert!((c.baseline - 50.0).abs() < 5.0, "baseline {}", c.baseline);
        assert!(c.z <= -cfg.z_enter);
    }

    #[test]
    fn small_sustained_shift_is_caught_by_cusum() {
        let cfg = cfg();
        // 20 → 26 is +1.34 σ of Poisson(20): far below z_enter = 5 on average.
        let mut caught = 0;
        for seed in 1..=5 {
            let values = series(100 + seed, 400, |i| if i >= 200 { 26.0 } else { 20.0 });
            let mut det = ChangeDetector::new();
            let alarms = feed(&mut det, &cfg, &values);
            assert!(
                alarms.iter().all(|(i, _)| *i >= 200),
                "seed {seed}: false alarm before the shift: {alarms:?}"
            );
            let &(i, c) = alarms.first().expect("shift not detected");
            assert_eq!(c.direction, Direction::Up, "seed {seed}");
            assert!(i < 230, "seed {seed}: caught only at {i}");
            if c.trigger == Trigger::Cusum {
                caught += 1;
                assert!(c.cusum > cfg.cusum_h);
                assert!(c.z < cfg.z_enter);
            }
            // Absorbed after the alarm: no second alarm for the same shift, either way, in the
            // 200 observations (over 3 cool-downs) that follow.
            assert_eq!(alarms.len(), 1, "seed {seed}: {alarms:?}");
            assert!(
                (det.baseline() - 26.0).abs() < 3.0,
                "baseline {}",
                det.baseline()
            );
        }
        assert_eq!(
            caught, 5,
            "CUSUM, not a lucky z-score, must catch the shift"
        );
    }

    #[test]
    fn cooldown_merges_close_steps_and_separates_distant_ones() {
        let cfg = cfg();
        let gap_for = |separation_ms: i64| {
            let start2 = 200 + (separation_ms / SLIDE_MS) as usize;
            let surge =
                move |i: usize| (200..210).contains(&i) || (start2..start2 + 10).contains(&i);
            let values = series(5, start2 + 100, |i| if surge(i) { 80.0 } else { 20.0 });
            let mut det = ChangeDetector::new();
            feed(&mut det, &cfg, &values)
        };
        // Second step starts 5 min after the first (cool-down 10 min): one alarm.
        let close = gap_for(cfg.cooldown_ms / 2);
        assert_eq!(close.len(), 1, "{close:?}");
        // 15 min after: two alarms, both Up.
        let far = gap_for(cfg.cooldown_ms * 3 / 2);
        assert_eq!(far.len(), 2, "{far:?}");
        assert!(far.iter().all(|(_, c)| c.direction == Direction::Up));
        assert!(far[1].1.time - far[0].1.time >= cfg.cooldown_ms);
    }

    #[test]
    fn hysteresis_oscillation_raises_one_alarm() {
        // No cool-down: only the hysteresis band can stop a storm here.
        let cfg = DetectorConfig {
            cooldown_ms: 0,
            ..cfg()
        };
        let mut det = ChangeDetector::new();
        feed(&mut det, &cfg, &vec![20.0; 100]);
        let (m, s) = (det.baseline(), det.effective_std(&cfg));
        // Alternates just above and just below z_enter (both far above z_exit).
        let wobble: Vec<f64> = (0..150)
            .map(|i| m + s * (cfg.z_enter + if i % 2 == 0 { 0.2 } else { -0.2 }))
            .collect();
        let mut alarms = 0;
        for (i, &v) in wobble.iter().enumerate() {
            alarms += usize::from(det.observe(&cfg, (100 + i as i64) * SLIDE_MS, v).is_some());
        }
        assert_eq!(alarms, 1);
        // Control: dropping back to the baseline (below z_exit) between highs re-arms every time,
        // so the single alarm above is the hysteresis at work, not a blind detector.
        let mut det = ChangeDetector::new();
        feed(&mut det, &cfg, &vec![20.0; 100]);
        let mut alarms = 0;
        for i in 0..20 {
            let v = if i % 2 == 0 {
                m + s * (cfg.z_enter + 0.2)
            } else {
                m
            };
            alarms += usize::from(det.observe(&cfg, (100 + i) * SLIDE_MS, v).is_some());
        }
        assert_eq!(alarms, 10);
    }

    #[test]
    fn permanent_level_shift_is_absorbed() {
        let cfg = cfg();
        let values = series(9, 1_500, |i| if i >= 200 { 60.0 } else { 20.0 });
        let mut det = ChangeDetector::new();
        let alarms = feed(&mut det, &cfg, &values);
        assert_eq!(alarms.len(), 1, "{alarms:?}");
        assert_eq!(alarms[0].1.direction, Direction::Up);
        // Absorbed: the state ended and the baseline is the new level.
        assert_eq!(det.in_alarm(), None);
        assert!(
            (det.baseline() - 60.0).abs() < 4.0,
            "baseline {}",
            det.baseline()
        );
        // And it left the state no later than adapt_after observations after the step.
        let mut det = ChangeDetector::new();
        let bound = 200 + cfg.adapt_after as usize + 1;
        feed(&mut det, &cfg, &values[..bound]);
        assert_eq!(det.in_alarm(), None);
    }

    #[test]
    fn warmup_suppresses_alarms() {
        let cfg = cfg();
        let mut det = ChangeDetector::new();
        for i in 0..cfg.warmup {
            let wild = if i % 2 == 0 { 1e6 } else { 0.0 } * f64::from(i);
            assert_eq!(det.observe(&cfg, i64::from(i) * SLIDE_MS, wild), None);
        }
        // The detector is live right after warm-up: a stable series then a huge jump alarms.
        let mut det = ChangeDetector::new();
        let mut values = vec![20.0; cfg.warmup as usize];
        values.push(1_000.0);
        let alarms = feed(&mut det, &cfg, &values);
        assert_eq!(alarms.len(), 1);
        assert_eq!(alarms[0].0, cfg.warmup as usize);
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let cfg = cfg();
        let mut fresh = ChangeDetector::new();
        assert_eq!(fresh.observe(&cfg, 0, f64::NAN), None);
        assert_eq!(fresh, ChangeDetector::new());

        let mut det = ChangeDetector::new();
        feed(&mut det, &cfg, &series(1, 100, |_| 20.0));
        let before = det.clone();
        for (i, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
            .into_iter()
            .enumerate()
        {
            assert_eq!(det.observe(&cfg, 2_000_000 + i as i64, v), None);
        }
        assert_eq!(det, before);
        // Finite values whose arithmetic overflows are dropped too: as a first value, f64::MAX
        // would make the variance inf·0 = NaN.
        let mut fresh = ChangeDetector::new();
        assert_eq!(fresh.observe(&cfg, 0, f64::MAX), None);
        assert_eq!(fresh, ChangeDetector::new());
        // Extremes after warm-up are legitimate alarms and must leave a finite, usable state.
        for (i, v) in [f64::MAX, -f64::MAX, f64::MAX, f64::MIN_POSITIVE]
            .into_iter()
            .enumerate()
        {
            det.observe(&cfg, 3_000_000 + i as i64 * SLIDE_MS, v);
            assert!(det.baseline().is_finite() && det.baseline_std().is_finite());
        }
        // Checkpoints use postcard, which round-trips floats exactly.
        let bytes = postcard::to_allocvec(&det).unwrap();
        assert_eq!(postcard::from_bytes::<ChangeDetector>(&bytes).unwrap(), det);
    }

    #[test]
    fn state_round_trips_through_serde() {
        let cfg = cfg();
        let values = series(
            21,
            400,
            |i| if (200..260).contains(&i) { 80.0 } else { 20.0 },
        );
        let mut det = ChangeDetector::new();
        feed(&mut det, &cfg, &values[..230]);
        assert_eq!(det.in_alarm(), Some(Direction::Up), "mid-state checkpoint");
        let bytes = postcard::to_allocvec(&det).unwrap();
        let mut back: ChangeDetector = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, det);
        // The restored detector behaves identically from there on.
        for (i, &v) in values.iter().enumerate().skip(230) {
            let t = i as i64 * SLIDE_MS;
            assert_eq!(back.observe(&cfg, t, v), det.observe(&cfg, t, v));
        }
        assert_eq!(back, det);

        let cfg_json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(
            serde_json::from_str::<DetectorConfig>(&cfg_json).unwrap(),
            cfg
        );
        // Missing fields take defaults; unknown fields are refused.
        let partial: DetectorConfig = serde_json::from_str(r#"{"z_enter": 6}"#).unwrap();
        assert_eq!(
            partial,
            DetectorConfig {
                z_enter: 6.0,
                ..cfg
            }
        );
        assert!(serde_json::from_str::<DetectorConfig>(r#"{"z_entr": 6}"#).is_err());
    }

    #[test]
    fn validate_rejects_bad_configs() {
        let bad = |c: DetectorConfig| c.validate().expect_err("must be rejected");
        let d = DetectorConfig::default;
        assert_eq!(
            bad(DetectorConfig {
                z_exit: 3.5,
                z_enter: 3.0,
                ..d()
            }),
            "z_exit (3.5) must be below z_enter (3)"
        );
        assert!(bad(DetectorConfig { alpha: 0.0, ..d() }).starts_with("alpha (0)"));
        assert!(
            bad(DetectorConfig {
                alpha: f64::NAN,
                ..d()
            })
            .starts_with("alpha (NaN)")
        );
        assert!(bad(DetectorConfig { alpha: 1.5, ..d() }).contains("(0, 1]"));
        assert!(
            bad(DetectorConfig {
                z_enter: -1.0,
                ..d()
            })
            .starts_with("z_enter (-1)")
        );
        assert!(
            bad(DetectorConfig {
                cusum_h: 0.0,
                ..d()
            })
            .starts_with("cusum_h (0)")
        );
        assert!(
            bad(DetectorConfig {
                cusum_k: -0.5,
                ..d()
            })
            .starts_with("cusum_k (-0.5)")
        );
        assert!(bad(DetectorConfig { warmup: 0, ..d() }).starts_with("warmup (0)"));
        assert!(
            bad(DetectorConfig {
                cooldown_ms: -1,
                ..d()
            })
            .starts_with("cooldown_ms (-1)")
        );
        assert!(
            bad(DetectorConfig {
                min_std: 0.0,
                ..d()
            })
            .starts_with("min_std (0)")
        );
        assert!(
            bad(DetectorConfig {
                min_std_rel: -0.1,
                ..d()
            })
            .starts_with("min_std_rel")
        );
        assert!(
            bad(DetectorConfig {
                poisson_std: f64::INFINITY,
                ..d()
            })
            .starts_with("poisson_std")
        );
        assert!(
            bad(DetectorConfig {
                adapt_after: 0,
                ..d()
            })
            .starts_with("adapt_after (0)")
        );
        assert!(
            bad(DetectorConfig {
                overlap: 0.5,
                ..d()
            })
            .starts_with("overlap (0.5)")
        );
        assert_eq!(d().validate(), Ok(()));
    }

    #[test]
    fn reversal_goes_straight_from_surge_to_slump() {
        let cfg = cfg();
        let level = |i: usize| match i {
            200..230 => 80.0,
            230..260 => 2.0,
            _ => 20.0,
        };
        let values = series(13, 300, level);
        let mut det = ChangeDetector::new();
        let alarms = feed(&mut det, &cfg, &values);
        let dirs: Vec<Direction> = alarms.iter().map(|(_, c)| c.direction).collect();
        // The recovery to 20 is not a surge: the slump state kept the pre-surge baseline.
        assert_eq!(dirs, [Direction::Up, Direction::Down], "{alarms:?}");
        assert!(
            (230..=233).contains(&alarms[1].0),
            "slump at {}",
            alarms[1].0
        );
        assert!((alarms[1].1.baseline - 20.0).abs() < 3.0);
    }
}
