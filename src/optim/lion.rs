//! Lion.

use super::lanes::sign;
use crate::error::check_non_negative;
use super::rule::{Fuse, Gradient, Rule};
use crate::simd::{Float8, Lanes};
use crate::{Error, Result};

/// Lion (EvoLved Sign Momentum), from Chen et al., "Symbolic Discovery of Optimization
/// Algorithms" (2023). Not in torch; one state vector, so a third less RAM than Adam.
///
/// With `g` the gradient (negated when `maximize`), step `t`:
///
/// ```text
/// c = β₁·m + (1−β₁)·g
/// p = p − lr·(sign(c) + λ·p)          (λ = weight_decay, decoupled)
/// m = β₂·m + (1−β₂)·g
/// ```
///
/// `sign(0) = 0`. The update has the same size for every parameter, so the paper advises a
/// learning rate 3–10× smaller than AdamW's and a weight decay 3–10× larger (keeping `lr·λ`).
/// Defaults follow the paper's: `lr = 1e-4`, `betas = (0.9, 0.99)`, `weight_decay = 0`.
///
/// State: `exp_avg` (m), `n` floats, zeroed by step 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lion {
    /// Learning rate (default 1e-4).
    pub lr: f32,
    /// `(β₁, β₂)`: the interpolation for the update and for the momentum (default `(0.9, 0.99)`).
    pub betas: (f32, f32),
    /// Decoupled weight decay λ (default 0).
    pub weight_decay: f32,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl Lion {
    /// The paper's defaults.
    pub const DEFAULT: Lion = Lion {
        lr: 1e-4,
        betas: (0.9, 0.99),
        weight_decay: 0.0,
        maximize: false,
    };

    /// The state plane: `exp_avg` (m), `n` floats, zeroed by step 1.
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg"]
    }
}

impl Rule for Lion {
    /// `1 − β₁` and `1 − β₂`.
    type Step = [f32; 2];

    fn validate(&self) -> Result<()> {
        check_non_negative("lr", self.lr)?;
        for b in [self.betas.0, self.betas.1] {
            if !(0.0..=1.0).contains(&b) {
                return Err(Error::InvalidHyperParameter { what: "betas" });
            }
        }
        check_non_negative("weight_decay", self.weight_decay)
    }

    /// The weight decay is decoupled: the gradient is only negated for `maximize`.
    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, 0.0)
    }

    fn step(&self, _: u64, _: &mut [f32]) -> [f32; 2] {
        let (b1, b2) = (self.betas.0 as f64, self.betas.1 as f64);
        [(1.0 - b1) as f32, (1.0 - b2) as f32]
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, k: &[f32; 2], x: impl Fuse<L>) {
        let [one_minus_beta1, one_minus_beta2] = k.map(|k| l.splat(k));
        let (beta1, beta2) = (l.splat(self.betas.0), l.splat(self.betas.1));
        let (neg_lr, wd) = (l.splat(-self.lr), l.splat(self.weight_decay));
        x.map1(
            #[inline(always)]
            |p, g, m| {
                let c = beta1 * m + one_minus_beta1 * g;
                let p = neg_lr.mul_add(wd.mul_add(p, sign(l, c)), p);
                (p, beta2 * m + one_minus_beta2 * g)
            },
        );
    }
}
