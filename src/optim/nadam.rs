//! NAdam.

use super::moments::{self, Moments};
use super::rule::{Fuse, Gradient, Rule};
use super::powi;
use crate::error::check_non_negative;
use crate::simd::{Float8, Lanes};
use crate::Result;

/// NAdam, torch's `optim.NAdam`: Adam with Nesterov momentum (Dozat, 2016), with the momentum
/// schedule `μₜ = β₁·(1 − ½·0.96^(t·momentum_decay))`.
///
/// With `g` the gradient after `maximize` and the weight decay (L2 `g += wd·p`, or with
/// `decoupled_weight_decay` `p *= 1 − lr·wd` first), step `t`:
///
/// ```text
/// Π = Π·μₜ                                       (the product of the μ so far, an f32)
/// m = m + (1−β₁)·(g − m)
/// v = β₂·v + (1−β₂)·g²
/// d = √(v/(1−β₂ᵗ)) + eps
/// p = p − lr·(1−μₜ)/(1−Π) · g/d − lr·μₜ₊₁/(1−Π·μₜ₊₁) · m/d
/// ```
///
/// As in torch, `eps` is added after the square root and the product `Π` is kept in `f32`.
///
/// State: `exp_avg` (m) and `exp_avg_sq` (v), `n` floats each, then one float `mu_product`
/// (Π, set to 1 by step 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NAdam {
    /// Learning rate (torch default 2e-3).
    pub lr: f32,
    /// `(β₁, β₂)` (default `(0.9, 0.999)`).
    pub betas: (f32, f32),
    /// Added to the un-biased root (default 1e-8).
    pub eps: f32,
    /// L2 penalty, or the decoupled decay rate (default 0).
    pub weight_decay: f32,
    /// The momentum schedule's decay ψ (default 4e-3).
    pub momentum_decay: f32,
    /// Decay the parameters as AdamW does (default false).
    pub decoupled_weight_decay: bool,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl NAdam {
    /// torch's defaults.
    pub const DEFAULT: NAdam = NAdam {
        lr: 2e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        momentum_decay: 4e-3,
        decoupled_weight_decay: false,
        maximize: false,
    };

    /// The state planes, `n` floats each: `exp_avg` (m), `exp_avg_sq` (v); then the scalar
    /// `mu_product`.
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
}

impl Rule for NAdam {
    const SCALARS: &'static [&'static str] = &["mu_product"];

    type Step = NAdamStep;

    fn validate(&self) -> Result<()> {
        moments::validate(self.lr, self.eps, self.betas, self.weight_decay)?;
        check_non_negative("momentum_decay", self.momentum_decay)
    }

    fn gradient(&self) -> Gradient {
        let decoupled = self.decoupled_weight_decay;
        moments::gradient(self.maximize, self.weight_decay, decoupled)
    }

    /// Updates `mu_product` (set to 1 by step 1) to `Π·μₜ`.
    fn step(&self, t: u64, scalars: &mut [f32]) -> NAdamStep {
        if t == 1 {
            scalars.fill(1.0);
        }
        let (b1, b2) = (self.betas.0 as f64, self.betas.1 as f64);
        let lr = self.lr as f64;
        let mu_at = |t: f64| b1 * (1.0 - 0.5 * libm::pow(0.96, t * self.momentum_decay as f64));
        let mu = mu_at(t as f64);
        let mu_next = mu_at(t as f64 + 1.0);
        let mut prod = 1.0;
        if let Some(mu_product) = scalars.first_mut() {
            // torch multiplies its f32 tensor by the double μ rounded to f32.
            *mu_product *= mu as f32;
            prod = *mu_product as f64;
        }
        let prod_next = prod * mu_next;
        let decoupled = self.decoupled_weight_decay;
        NAdamStep {
            moments: Moments::new(self.lr, self.betas, self.weight_decay, decoupled),
            inv_bc2: (1.0 / (1.0 - powi(b2, t))) as f32,
            eps: self.eps,
            grad_step: (-lr * (1.0 - mu) / (1.0 - prod)) as f32,
            momentum_step: (-lr * mu_next / (1.0 - prod_next)) as f32,
        }
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, k: &NAdamStep, x: impl Fuse<L>) {
        let moments = k.moments.splat(l);
        let [inv_bc2, eps, grad_step, momentum_step] =
            [k.inv_bc2, k.eps, k.grad_step, k.momentum_step].map(|k| l.splat(k));
        x.map2(
            #[inline(always)]
            |p, g, m, v| {
                let (p, m, v) = moments.step(p, g, m, v);
                let d = (v * inv_bc2).sqrt() + eps;
                let p = grad_step.mul_add(g / d, p);
                (momentum_step.mul_add(m / d, p), m, v)
            },
        );
    }
}

/// NAdam's per-step scalars.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NAdamStep {
    moments: Moments<f32>,
    inv_bc2: f32,
    eps: f32,
    grad_step: f32,
    momentum_step: f32,
}
