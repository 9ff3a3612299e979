//! RAdam.

use super::moments::{self, Moments};
use super::rule::{Fuse, Gradient, Rule};
use super::powi;
use crate::simd::{Float8, Lanes};
use crate::Result;

/// RAdam, torch's `optim.RAdam`: Adam with the variance of the adaptive learning rate rectified
/// (Liu et al., 2020).
///
/// With `g` the gradient after `maximize` and the weight decay (L2 `g += wd·p`, or with
/// `decoupled_weight_decay` `p *= 1 − lr·wd` first), step `t`, `ρ∞ = 2/(1−β₂) − 1` and
/// `ρₜ = ρ∞ − 2t·β₂ᵗ/(1−β₂ᵗ)`:
///
/// ```text
/// m = m + (1−β₁)·(g − m)
/// v = β₂·v + (1−β₂)·g²
/// p = p − lr · m/(1−β₁ᵗ) · r · √(1−β₂ᵗ)/(√v + eps)     when ρₜ > 5,
///     r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ))
/// p = p − lr · m/(1−β₁ᵗ)                              otherwise (plain momentum SGD)
/// ```
///
/// `ρ` is computed in `f64`. `eps` is added to the *biased* `√v`, as torch does. With
/// β₂ = 0.999 the first five steps are unrectified.
///
/// State, `n` floats each: `exp_avg` (m), `exp_avg_sq` (v).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RAdam {
    /// Learning rate (torch default 1e-3).
    pub lr: f32,
    /// `(β₁, β₂)` (default `(0.9, 0.999)`).
    pub betas: (f32, f32),
    /// Added to `√v` (default 1e-8).
    pub eps: f32,
    /// L2 penalty, or the decoupled decay rate (default 0).
    pub weight_decay: f32,
    /// Decay the parameters as AdamW does (default false).
    pub decoupled_weight_decay: bool,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl RAdam {
    /// torch's defaults.
    pub const DEFAULT: RAdam = RAdam {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled_weight_decay: false,
        maximize: false,
    };

    /// The state planes, `n` floats each: `exp_avg` (m), `exp_avg_sq` (v).
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
}

impl Rule for RAdam {
    type Step = RAdamStep;

    fn validate(&self) -> Result<()> {
        moments::validate(self.lr, self.eps, self.betas, self.weight_decay)
    }

    fn gradient(&self) -> Gradient {
        let decoupled = self.decoupled_weight_decay;
        moments::gradient(self.maximize, self.weight_decay, decoupled)
    }

    fn step(&self, t: u64, _: &mut [f32]) -> RAdamStep {
        let (b1, b2) = (self.betas.0 as f64, self.betas.1 as f64);
        let lr = self.lr as f64;
        let bc1 = 1.0 - powi(b1, t);
        let b2t = powi(b2, t);
        let bc2 = 1.0 - b2t;
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * t as f64 * b2t / bc2;
        // ρₜ > 5 also guards the root: its argument is positive there.
        let rectified = rho_t > 5.0;
        let step = if rectified {
            let r = crate::simd::sqrt_f64(
                (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t),
            );
            lr * r * crate::simd::sqrt_f64(bc2) / bc1
        } else {
            lr / bc1
        };
        let decoupled = self.decoupled_weight_decay;
        RAdamStep {
            moments: Moments::new(self.lr, self.betas, self.weight_decay, decoupled),
            neg_step: -step as f32,
            rectified,
        }
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, k: &RAdamStep, x: impl Fuse<L>) {
        let moments = k.moments.splat(l);
        let (eps, neg_step, rectified) = (l.splat(self.eps), l.splat(k.neg_step), k.rectified);
        x.map2(
            #[inline(always)]
            |p, g, m, v| {
                let (p, m, v) = moments.step(p, g, m, v);
                let u = if rectified { m / (v.sqrt() + eps) } else { m };
                (neg_step.mul_add(u, p), m, v)
            },
        );
    }
}

/// RAdam's per-step scalars.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RAdamStep {
    moments: Moments<f32>,
    neg_step: f32,
    rectified: bool,
}
