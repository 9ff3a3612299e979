//! Adamax.

use super::lanes::maximum;
use super::rule::{Fuse, Gradient, Rule};
use super::{moments, powi};
use crate::simd::{Float8, Lanes};
use crate::Result;

/// Adamax, torch's `optim.Adamax`: Adam with the infinity norm (Kingma & Ba, 2015, §7.1).
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// m = m + (1−β₁)·(g − m)
/// u = max(β₂·u, |g| + eps)
/// p = p − lr/(1−β₁ᵗ) · m/u
/// ```
///
/// `eps` sits inside the maximum, added to `|g|` (the paper has no `eps`); a NaN gradient
/// makes `u` NaN, as torch's `amax` does.
///
/// State, `n` floats each: `exp_avg` (m), `exp_inf` (u).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adamax {
    /// Learning rate (torch default 2e-3).
    pub lr: f32,
    /// `(β₁, β₂)` (default `(0.9, 0.999)`).
    pub betas: (f32, f32),
    /// Added to `|g|` inside the maximum (default 1e-8).
    pub eps: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl Adamax {
    /// torch's defaults.
    pub const DEFAULT: Adamax = Adamax {
        lr: 2e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        maximize: false,
    };

    /// The state planes, `n` floats each: `exp_avg` (m), `exp_inf` (u).
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_inf"]
    }
}

impl Rule for Adamax {
    /// `1 − β₁` and `−lr/(1−β₁ᵗ)`.
    type Step = [f32; 2];

    fn validate(&self) -> Result<()> {
        moments::validate(self.lr, self.eps, self.betas, self.weight_decay)
    }

    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, self.weight_decay)
    }

    fn step(&self, t: u64, _: &mut [f32]) -> [f32; 2] {
        let b1 = self.betas.0 as f64;
        let neg_clr = -(self.lr as f64) / (1.0 - powi(b1, t));
        [(1.0 - b1) as f32, neg_clr as f32]
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, k: &[f32; 2], x: impl Fuse<L>) {
        let [one_minus_beta1, neg_clr] = k.map(|k| l.splat(k));
        let (beta2, eps) = (l.splat(self.betas.1), l.splat(self.eps));
        x.map2(
            #[inline(always)]
            |p, g, m, u| {
                let m = one_minus_beta1.mul_add(g - m, m);
                let u = maximum(u * beta2, g.abs() + eps);
                (neg_clr.mul_add(m / u, p), m, u)
            },
        );
    }
}
