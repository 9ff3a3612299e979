//! Stochastic gradient descent with torch's momentum.

use super::rule::{Fuse, Gradient, Rule};
use crate::error::{check_finite, check_non_negative};
use crate::simd::{Float8, Lanes};
use crate::{Error, Result};

/// Stochastic gradient descent, torch's `optim.SGD`, with momentum, dampening and Nesterov.
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// b = g                              at t = 1
/// b = μ·b + (1 − dampening)·g        after
/// u = g + μ·b  (nesterov)   or   u = b   (or u = g without momentum)
/// p = p − lr·u
/// ```
///
/// This is torch's form, not Sutskever's `v = μ·v − lr·g; p += v`: the two agree for a constant
/// learning rate, but here changing `lr` rescales the whole step at once, and the first step
/// takes the gradient undamped.
///
/// State: `momentum_buffer` (`n` floats) when `momentum ≠ 0`, nothing otherwise (changing
/// `momentum` between zero and non-zero changes the state's length).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// Learning rate (torch default 1e-3).
    pub lr: f32,
    /// Momentum factor μ (default 0).
    pub momentum: f32,
    /// Dampening of the gradient in the momentum buffer (default 0).
    pub dampening: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Nesterov momentum (default false; needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
    /// Maximise the objective: negate the gradient (default false).
    pub maximize: bool,
}

impl Sgd {
    /// torch's defaults.
    pub const DEFAULT: Sgd = Sgd {
        lr: 1e-3,
        momentum: 0.0,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        maximize: false,
    };

    /// The state planes: `momentum_buffer` (`n` floats) when `momentum ≠ 0`, none otherwise.
    pub const fn state_planes(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }
}

impl Rule for Sgd {
    /// Whether this is step 1, and `1 − dampening`.
    type Step = (bool, f32);

    fn validate(&self) -> Result<()> {
        check_non_negative("lr", self.lr)?;
        check_non_negative("momentum", self.momentum)?;
        check_finite("dampening", self.dampening)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::InvalidHyperParameter { what: "nesterov" });
        }
        Ok(())
    }

    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, self.weight_decay)
    }

    /// Step 1 sets the momentum buffer to the gradient without reading it.
    fn initial(&self) -> Option<f32> {
        None
    }

    fn step(&self, t: u64, _: &mut [f32]) -> (bool, f32) {
        (t == 1, (1.0 - self.dampening as f64) as f32)
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, &(first, keep): &(bool, f32), x: impl Fuse<L>) {
        let neg_lr = l.splat(-self.lr);
        if self.momentum == 0.0 {
            x.map0(
                #[inline(always)]
                |p, g| neg_lr.mul_add(g, p),
            );
            return;
        }
        let (mu, keep, nesterov) = (l.splat(self.momentum), l.splat(keep), self.nesterov);
        x.map1(
            #[inline(always)]
            |p, g, b| {
                let b = if first { g } else { keep.mul_add(g, b * mu) };
                let u = if nesterov { mu.mul_add(b, g) } else { b };
                (neg_lr.mul_add(u, p), b)
            },
        );
    }
}
