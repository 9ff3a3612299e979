//! Adadelta.

use crate::error::check_non_negative;
use super::rule::{Fuse, Gradient, Rule};
use crate::simd::{Float8, Lanes};
use crate::{Error, Result};

/// Adadelta, torch's `optim.Adadelta` (Zeiler, 2012).
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// v = ρ·v + (1−ρ)·g²
/// δ = √(a + eps) / √(v + eps) · g
/// a = ρ·a + (1−ρ)·δ²
/// p = p − lr·δ
/// ```
///
/// `eps` is inside both square roots. torch adds a learning rate the paper does not have;
/// its default 1.0 gives the paper's update.
///
/// State, `n` floats each: `square_avg` (v), `acc_delta` (a).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adadelta {
    /// Learning rate (torch default 1.0).
    pub lr: f32,
    /// Decay rate ρ of both running averages (default 0.9).
    pub rho: f32,
    /// Added inside the roots (default 1e-6).
    pub eps: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl Adadelta {
    /// torch's defaults.
    pub const DEFAULT: Adadelta = Adadelta {
        lr: 1.0,
        rho: 0.9,
        eps: 1e-6,
        weight_decay: 0.0,
        maximize: false,
    };

    /// The state planes, `n` floats each: `square_avg` (v), `acc_delta` (a).
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["square_avg", "acc_delta"]
    }
}

impl Rule for Adadelta {
    /// `1 − ρ`.
    type Step = f32;

    fn validate(&self) -> Result<()> {
        check_non_negative("lr", self.lr)?;
        if !(0.0..=1.0).contains(&self.rho) {
            return Err(Error::InvalidHyperParameter { what: "rho" });
        }
        check_non_negative("eps", self.eps)?;
        check_non_negative("weight_decay", self.weight_decay)
    }

    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, self.weight_decay)
    }

    fn step(&self, _: u64, _: &mut [f32]) -> f32 {
        (1.0 - self.rho as f64) as f32
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, &one_minus_rho: &f32, x: impl Fuse<L>) {
        let (rho, one_minus_rho) = (l.splat(self.rho), l.splat(one_minus_rho));
        let (eps, neg_lr) = (l.splat(self.eps), l.splat(-self.lr));
        x.map2(
            #[inline(always)]
            |p, g, v, a| {
                let v = v * rho + one_minus_rho * g * g;
                let delta = (a + eps).sqrt() / (v + eps).sqrt() * g;
                let a = a * rho + one_minus_rho * delta * delta;
                (neg_lr.mul_add(delta, p), v, a)
            },
        );
    }
}
