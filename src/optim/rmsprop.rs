//! RMSprop.

use crate::error::check_non_negative;
use super::rule::{Fuse, Gradient, Rule};
use crate::simd::{Float8, Lanes};
use crate::Result;

/// RMSprop, torch's `optim.RMSprop` (Hinton's lecture 6e; centered form from Graves, 2013).
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// v = α·v + (1−α)·g²
/// ḡ = ḡ + (1−α)·(g − ḡ)                       (centered only)
/// a = √max(v − ḡ², 0) + eps   (centered)   or   a = √v + eps
/// b = μ·b + g/a;  p = p − lr·b               (momentum > 0)
/// p = p − lr·g/a                             (otherwise)
/// ```
///
/// `eps` is added **after** the square root (Keras and the lecture put it inside), and the
/// momentum buffer starts at zero (unlike SGD's, which starts at the first gradient).
/// Centered, a `v − ḡ²` that rounding takes below zero counts as zero, where torch's square
/// root gives NaN.
///
/// State, `n` floats each: `square_avg`, then `momentum_buffer` when `momentum > 0`, then
/// `grad_avg` when `centered`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsProp {
    /// Learning rate (torch default 1e-2).
    pub lr: f32,
    /// Smoothing constant α of the squared-gradient average (default 0.99).
    pub alpha: f32,
    /// Added to the root (default 1e-8).
    pub eps: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Momentum factor μ (default 0).
    pub momentum: f32,
    /// Normalise by the estimated variance instead of the raw second moment (default false).
    pub centered: bool,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl RmsProp {
    /// torch's defaults.
    pub const DEFAULT: RmsProp = RmsProp {
        lr: 1e-2,
        alpha: 0.99,
        eps: 1e-8,
        weight_decay: 0.0,
        momentum: 0.0,
        centered: false,
        maximize: false,
    };

    /// The state planes, `n` floats each: `square_avg`, then `momentum_buffer` when
    /// `momentum > 0`, then `grad_avg` when `centered`.
    pub const fn state_planes(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["square_avg"],
            (true, false) => &["square_avg", "momentum_buffer"],
            (false, true) => &["square_avg", "grad_avg"],
            (true, true) => &["square_avg", "momentum_buffer", "grad_avg"],
        }
    }
}

impl Rule for RmsProp {
    /// `1 − α`.
    type Step = f32;

    fn validate(&self) -> Result<()> {
        check_non_negative("lr", self.lr)?;
        check_non_negative("eps", self.eps)?;
        check_non_negative("momentum", self.momentum)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        check_non_negative("alpha", self.alpha)
    }

    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, self.weight_decay)
    }

    fn step(&self, _: u64, _: &mut [f32]) -> f32 {
        (1.0 - self.alpha as f64) as f32
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, &one_minus_alpha: &f32, x: impl Fuse<L>) {
        let (alpha, one_minus_alpha) = (l.splat(self.alpha), l.splat(one_minus_alpha));
        let (eps, neg_lr) = (l.splat(self.eps), l.splat(-self.lr));
        let (mu, zero) = (l.splat(self.momentum), l.splat(0.0));
        match (self.momentum > 0.0, self.centered) {
            (false, false) => x.map1(
                #[inline(always)]
                |p, g, v| {
                    let v = square_avg(g, v, alpha, one_minus_alpha);
                    (neg_lr.mul_add(g / (v.sqrt() + eps), p), v)
                },
            ),
            (true, false) => x.map2(
                #[inline(always)]
                |p, g, v, b| {
                    let v = square_avg(g, v, alpha, one_minus_alpha);
                    let b = b.mul_add(mu, g / (v.sqrt() + eps));
                    (neg_lr.mul_add(b, p), v, b)
                },
            ),
            (false, true) => x.map2(
                #[inline(always)]
                |p, g, v, gm| {
                    let v = square_avg(g, v, alpha, one_minus_alpha);
                    let gm = one_minus_alpha.mul_add(g - gm, gm);
                    let a = centered_root(zero, v, gm) + eps;
                    (neg_lr.mul_add(g / a, p), v, gm)
                },
            ),
            (true, true) => x.map3(
                #[inline(always)]
                |p, g, v, b, gm| {
                    let v = square_avg(g, v, alpha, one_minus_alpha);
                    let gm = one_minus_alpha.mul_add(g - gm, gm);
                    let a = centered_root(zero, v, gm) + eps;
                    let b = b.mul_add(mu, g / a);
                    (neg_lr.mul_add(b, p), v, b, gm)
                },
            ),
        }
    }
}
/// `√max(v − ḡ², 0)`, NaN where `v − ḡ²` is NaN.
///
/// `v − ḡ²` is never negative in exact arithmetic (it is a running variance), but roundings
/// of `v` and `ḡ` can take it a few units below zero where the two nearly cancel (α near 0,
/// or a steady gradient), and torch's square root then gives NaN. Zero is the nearest
/// variance. `ḡ²` is rounded before the subtraction, as the reference does.
#[inline(always)]
fn centered_root<F: Float8>(zero: F, v: F, gm: F) -> F {
    let var = v - gm * gm;
    // A compare and a select, not `fast_max`: which operand a NaN lane keeps differs between
    // instruction sets, and a NaN must stay NaN here.
    var.simd_lt(zero).select(zero, var).sqrt()
}

/// `v = α·v + (1 − α)·g²`.
#[inline(always)]
fn square_avg<F: Float8>(g: F, v: F, alpha: F, one_minus_alpha: F) -> F {
    v * alpha + one_minus_alpha * g * g
}
