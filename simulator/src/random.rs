//! Small distributions on seeded generators, and the per-shopper generator.
//!
//! Every stream of randomness is a [`ChaCha8Rng`] derived from the config seed and a
//! fixed stream number, so adding draws to one part of the simulation (social posts,
//! say) never shifts another (arrivals). Shoppers get their own tiny [`Dice`], seeded
//! from their event's stream when they arrive: what one shopper does never changes
//! another's dice, so two runs that differ only in prices face the same shoppers.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// Stream numbers: one per purpose, events offset by their index.
pub(crate) mod streams {
    /// Catalog generation.
    pub const CATALOG: u64 = 1;
    /// Ground-truth parameters (hotness, waves, spikes).
    pub const TRUTH: u64 = 2;
    /// Social posts.
    pub const SOCIAL: u64 = 3;
    /// Arrivals of event `i`: `ARRIVALS + i`.
    pub const ARRIVALS: u64 = 1 << 20;
    /// Venue day of event `i`: `VENUE + i`.
    pub const VENUE: u64 = 2 << 20;
}

/// The generator of one purpose.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Uniform in `[0, 1)`.
#[inline]
pub(crate) fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.random::<f64>()
}

/// Uniform in `[lo, hi)`.
#[inline]
pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

/// Exponential with the given mean.
#[inline]
pub(crate) fn exponential<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> f64 {
    -mean * (1.0 - unit(rng)).ln()
}

/// Standard normal.
#[inline]
pub(crate) fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// Poisson count with mean `lambda` (0 for a non-positive or non-finite mean).
pub(crate) fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> u64 {
    if !(lambda.is_finite() && lambda > 0.0) {
        return 0;
    }
    if lambda < 12.0 {
        // Knuth's method: cheap for the small means of most minutes.
        let limit = (-lambda).exp();
        let mut product = unit(rng);
        let mut n = 0;
        while product > limit {
            product *= unit(rng);
            n += 1;
        }
        return n;
    }
    match Poisson::new(lambda) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => lambda as u64,
    }
}

/// Pareto with scale `min` and shape `alpha`: heavy-tailed sizes such as follower counts.
pub(crate) fn pareto<R: Rng + ?Sized>(rng: &mut R, min: f64, alpha: f64) -> f64 {
    min / (1.0 - unit(rng)).powf(1.0 / alpha)
}

/// Index drawn from cumulative weights (`cdf` ascending, last = total).
pub(crate) fn pick_cdf(cdf: &[f64], u: f64) -> usize {
    let total = cdf.last().copied().unwrap_or(0.0);
    let x = u * total;
    cdf.iter()
        .position(|&c| x < c)
        .unwrap_or(cdf.len().saturating_sub(1))
}

/// Cumulative sums of `weights`.
pub(crate) fn cdf(weights: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w.max(0.0);
            acc
        })
        .collect()
}

/// Standard normal cumulative distribution (Abramowitz–Stegun 7.1.26, error < 1.5e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// A shopper's own dice: SplitMix64, eight bytes of state, seeded from a ChaCha stream.
#[derive(Debug, Clone)]
pub(crate) struct Dice(u64);

impl Dice {
    /// Dice seeded from `rng`.
    pub(crate) fn from_rng<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Dice(rng.next_u64())
    }
}

impl RngCore for Dice {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_known_values() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = stream(1, 9);
        for lambda in [0.3, 5.0, 40.0, 3000.0] {
            let n = 2000;
            let sum: u64 = (0..n).map(|_| poisson(&mut rng, lambda)).sum();
            let mean = sum as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < 4.0 * (lambda / n as f64).sqrt() + 0.01,
                "{lambda}: {mean}"
            );
        }
    }

    #[test]
    fn pick_cdf_respects_weights() {
        let c = cdf(&[1.0, 0.0, 3.0]);
        assert_eq!(pick_cdf(&c, 0.1), 0);
        assert_eq!(pick_cdf(&c, 0.3), 2);
        assert_eq!(pick_cdf(&c, 0.999), 2);
    }
}
