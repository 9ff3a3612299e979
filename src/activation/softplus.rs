//! Softplus: a smooth rectifier, `ln(1 + e^{βx})/β`, linear above a threshold.

use super::elementwise::{backward_fns, forward_fns, Elementwise};
use super::sigmoid::logistic_pair;
use super::Saved;
use crate::simd::{math, Float8, Lanes};
use crate::{Error, Result};

/// Hyper-parameters of [`softplus`](fn@softplus) (torch's `nn.Softplus`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// `β` in `ln(1 + e^{βx})/β`; must be finite and `> 0`. torch's default: `1`.
    pub beta: f32,
    /// Above `βx > threshold` the function is `x`; must not be NaN. torch's default: `20`.
    pub threshold: f32,
}

impl Softplus {
    /// torch's defaults: `beta = 1`, `threshold = 20`.
    pub const DEFAULT: Self = Self {
        beta: 1.0,
        threshold: 20.0,
    };
}

impl Elementwise for Softplus {
    fn saved(self) -> Saved {
        Saved::Input
    }

    /// `beta` must be finite and positive, `threshold` not NaN.
    fn validate(self) -> Result<()> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(Error::InvalidHyperParameter { what: "beta" });
        }
        if self.threshold.is_nan() {
            return Err(Error::InvalidHyperParameter { what: "threshold" });
        }
        Ok(())
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        let beta = l.splat(self.beta);
        let bx = x * beta;
        // ln(1 + e^{βx})/β = max(x, 0) + ln(1 + e^{−|βx|})/β: no overflow, no cancellation.
        let tail = math::ln_1p_lanes(l, math::exp_lanes(l, -bx.abs())) / beta;
        let zero = l.splat(0.0);
        let positive_part = x.simd_gt(zero).select(x, zero);
        bx.simd_gt(l.splat(self.threshold))
            .select(x, positive_part + tail)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        let bx = x * l.splat(self.beta);
        let (s, _) = logistic_pair(l, bx);
        bx.simd_gt(l.splat(self.threshold)).select(dy, dy * s)
    }
}

forward_fns! {
    /// `softplus(x) = ln(1 + e^{βx})/β`, or `x` where `βx > threshold` (strictly; `βx` rounded
    /// to `f32` first, as torch): torch's `F.softplus(x, beta, threshold)`, defaults `beta = 1`,
    /// `threshold = 20`, into `y`.
    ///
    /// Evaluated as `max(x, 0) + ln(1 + e^{−|βx|})/β` (the same function), so the tail
    /// `softplus(−80) ≈ 1.8e−35` keeps its relative accuracy and a large `threshold` cannot
    /// overflow (torch's direct `ln(1 + e^{βx})` gives `+∞` once `βx > 88.7`; this gives `x`).
    /// The relative error is within 18u (`u = 2⁻²⁴`) plus the effect of rounding `βx` (none
    /// when `β = 1`). `softplus(−∞) = 0`, `softplus(+∞) = +∞`; NaN propagates.
    ///
    /// Derivative: `σ(βx)`, or `1` where `βx > threshold`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] unless `beta` is finite and `> 0` and `threshold` is not
    /// NaN; [`Error::LengthMismatch`] when `y.len() != x.len()`.
    softplus, softplus_inplace(beta: f32, threshold: f32) = Softplus { beta, threshold };
}

backward_fns! {
    /// Gradient of [`softplus`](fn@softplus) from its input: `dx = dy·σ(βx)`, or `dy` where
    /// `βx > threshold`.
    ///
    /// σ comes from the overflow-free `e^{−|βx|}` form (torch's `z/(z + 1)` with `z = e^{βx}`
    /// gives NaN once `z` overflows).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] as [`softplus`](fn@softplus);
    /// [`Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
    softplus_backward, softplus_backward_inplace(x, beta: f32, threshold: f32) =
        Softplus { beta, threshold };
}
