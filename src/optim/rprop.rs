//! Rprop.

use super::lanes::sign;
use super::rule::{Fuse, Gradient, Rule};
use crate::error::{check_finite, check_non_negative};
use crate::simd::{Float8, Lanes};
use crate::{Error, Result};

/// Rprop, torch's `optim.Rprop` (resilient backpropagation, Riedmiller & Braun, 1993): each
/// parameter moves by its own step size, which grows while its gradient keeps its sign and
/// shrinks when the sign flips; only the gradients' signs matter.
///
/// With `g` the gradient (negated when `maximize`), `g₋` the previous one and `s` the step
/// size, step `t`:
///
/// ```text
/// g₋ = 0, s = lr                                        at t = 1, before the update
/// η = η₊ where g·g₋ > 0,  η₋ where g·g₋ < 0,  1 where g·g₋ = 0
/// s = clamp(s·η, step_sizes.0, step_sizes.1)
/// g = 0 where g·g₋ < 0                                  (no move after a sign flip)
/// p = p − sign(g)·s
/// g₋ = g
/// ```
///
/// As in torch, a NaN `g·g₋` makes `η` and so the step size NaN, and `clamp` is
/// `min(max(x, lo), hi)` (all `hi` when `lo > hi`). torch's Rprop has no weight decay.
///
/// State, `n` floats each: `prev` (g₋), `step_size` (s); step 1 sets them to 0 and `lr`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rprop {
    /// Learning rate: every step size's starting value (torch default 1e-2).
    pub lr: f32,
    /// `(η₋, η₊)`, the factors that shrink and grow a step size (default `(0.5, 1.2)`; torch
    /// requires `0 < η₋ < 1 < η₊`).
    pub etas: (f32, f32),
    /// The smallest and largest step sizes (default `(1e-6, 50)`).
    pub step_sizes: (f32, f32),
    /// Maximise the objective: negate the gradient (default false).
    pub maximize: bool,
}

impl Rprop {
    /// torch's defaults.
    pub const DEFAULT: Rprop = Rprop {
        lr: 1e-2,
        etas: (0.5, 1.2),
        step_sizes: (1e-6, 50.0),
        maximize: false,
    };

    /// The state planes, `n` floats each: `prev` (g₋), `step_size` (s).
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["prev", "step_size"]
    }
}

impl Rule for Rprop {
    /// Whether this is step 1.
    type Step = bool;

    fn validate(&self) -> Result<()> {
        check_non_negative("lr", self.lr)?;
        let (minus, plus) = self.etas;
        if !(0.0 < minus && minus < 1.0 && 1.0 < plus && plus.is_finite()) {
            return Err(Error::InvalidHyperParameter { what: "etas" });
        }
        check_finite("step_sizes", self.step_sizes.0)?;
        check_finite("step_sizes", self.step_sizes.1)
    }

    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, 0.0)
    }

    /// Step 1 sets both planes in the update, without reading them.
    fn initial(&self) -> Option<f32> {
        None
    }

    fn step(&self, t: u64, _: &mut [f32]) -> bool {
        t == 1
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, &first: &bool, x: impl Fuse<L>) {
        let (zero, one, lr) = (l.splat(0.0), l.splat(1.0), l.splat(self.lr));
        let (eta_minus, eta_plus) = (l.splat(self.etas.0), l.splat(self.etas.1));
        let (lo, hi) = (l.splat(self.step_sizes.0), l.splat(self.step_sizes.1));
        x.map2(
            #[inline(always)]
            |p, g, prev, s| {
                let (prev, s) = if first { (zero, lr) } else { (prev, s) };
                let gg = g * prev;
                let flip = gg.simd_lt(zero);
                // η₊, η₋, 1, or the NaN product itself.
                let same = gg.simd_eq(zero).select(one, gg);
                let eta = gg.simd_gt(zero).select(eta_plus, flip.select(eta_minus, same));
                let s = s * eta;
                // torch's clamp: max with `lo`, then min with `hi`; a NaN stays NaN.
                let s = s.simd_lt(lo).select(lo, s);
                let s = s.simd_gt(hi).select(hi, s);
                let g = flip.select(zero, g);
                (p - sign(l, g) * s, g, s)
            },
        );
    }
}
