//! Adam and AdamW.

use super::lanes::maximum;
use super::moments::{self, Moments};
use super::rule::{Fuse, Gradient, Rule};
use super::{powi, Optimizer};
use crate::simd::{Float8, Lanes};
use crate::Result;

/// Adam, torch's `optim.Adam` (Kingma & Ba, 2015), with torch's placement of `eps`.
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// m = m + (1−β₁)·(g − m)                      (torch's lerp)
/// v = β₂·v + (1−β₂)·g²
/// v̂ = max(v̂, v); use v̂ for v               (amsgrad: the running max of the biased v)
/// p = p − lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + eps)
/// ```
///
/// `eps` is added **after** un-biasing `√v`, as torch does; the paper's efficient form
/// `lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε̂)` differs when gradients are tiny. With
/// `decoupled_weight_decay` the decay is AdamW's `p *= 1 − lr·wd` before the update (torch ≥ 2.5
/// has the same flag); see [`AdamW`].
///
/// State: `exp_avg` (m), `exp_avg_sq` (v), and with `amsgrad` `max_exp_avg_sq` (v̂), `n`
/// floats each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    /// Learning rate (torch default 1e-3).
    pub lr: f32,
    /// `(β₁, β₂)`, the decay rates of the first and second moments (default `(0.9, 0.999)`).
    pub betas: (f32, f32),
    /// Added to the un-biased `√v` (default 1e-8).
    pub eps: f32,
    /// L2 penalty added to the gradient, or the decoupled decay rate (default 0).
    pub weight_decay: f32,
    /// Use the running maximum of `v` (AMSGrad, default false).
    pub amsgrad: bool,
    /// Maximise the objective: negate the gradient (default false).
    pub maximize: bool,
    /// Decay the parameters as AdamW does instead of adding to the gradient (default false).
    pub decoupled_weight_decay: bool,
}

impl Adam {
    /// torch's defaults.
    pub const DEFAULT: Adam = Adam {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 0.0,
        amsgrad: false,
        maximize: false,
        decoupled_weight_decay: false,
    };

    /// The state planes, `n` floats each: `exp_avg` and `exp_avg_sq`, and `max_exp_avg_sq`
    /// with `amsgrad`.
    pub const fn state_planes(&self) -> &'static [&'static str] {
        if self.amsgrad {
            &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
        } else {
            &["exp_avg", "exp_avg_sq"]
        }
    }
}

impl Rule for Adam {
    type Step = AdamStep;

    fn validate(&self) -> Result<()> {
        moments::validate(self.lr, self.eps, self.betas, self.weight_decay)
    }

    fn gradient(&self) -> Gradient {
        let decoupled = self.decoupled_weight_decay;
        moments::gradient(self.maximize, self.weight_decay, decoupled)
    }

    fn step(&self, t: u64, _: &mut [f32]) -> AdamStep {
        let (b1, b2) = (self.betas.0 as f64, self.betas.1 as f64);
        let bc1 = 1.0 - powi(b1, t);
        let bc2 = 1.0 - powi(b2, t);
        let decoupled = self.decoupled_weight_decay;
        AdamStep {
            moments: Moments::new(self.lr, self.betas, self.weight_decay, decoupled),
            step_size: (self.lr as f64 / bc1) as f32,
            inv_sqrt_bc2: (1.0 / crate::simd::sqrt_f64(bc2)) as f32,
            eps: self.eps,
        }
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, k: &AdamStep, x: impl Fuse<L>) {
        let k = k.splat(l);
        if self.amsgrad {
            x.map3(
                #[inline(always)]
                |p, g, m, v, vmax| {
                    let (p, m, v) = k.moments.step(p, g, m, v);
                    let vmax = maximum(vmax, v);
                    (k.apply(p, m, vmax), m, v, vmax)
                },
            );
        } else {
            x.map2(
                #[inline(always)]
                |p, g, m, v| {
                    let (p, m, v) = k.moments.step(p, g, m, v);
                    (k.apply(p, m, v), m, v)
                },
            );
        }
    }
}

/// Adam's per-step scalars: `f32` as computed, or splatted into lanes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep<F = f32> {
    moments: Moments<F>,
    step_size: F,
    inv_sqrt_bc2: F,
    eps: F,
}

impl AdamStep {
    /// The scalars in every lane of `l`.
    #[inline(always)]
    fn splat<L: Lanes>(&self, l: L) -> AdamStep<L::F> {
        AdamStep {
            moments: self.moments.splat(l),
            step_size: l.splat(self.step_size),
            inv_sqrt_bc2: l.splat(self.inv_sqrt_bc2),
            eps: l.splat(self.eps),
        }
    }
}

impl<F: Float8> AdamStep<F> {
    /// The parameter after the step, from the moments (`v` already max-ed for amsgrad).
    #[inline(always)]
    fn apply(&self, p: F, m: F, v: F) -> F {
        let denom = v.sqrt().mul_add(self.inv_sqrt_bc2, self.eps);
        p - self.step_size * (m / denom)
    }
}

/// AdamW, torch's `optim.AdamW` (Loshchilov & Hutter, 2019): [`Adam`] with the weight decay
/// decoupled from the gradient.
///
/// Before the Adam update of step `t`, `p *= 1 − lr·weight_decay` (on the parameter before the
/// step, with the current `lr`); the gradient is not touched. torch's default `weight_decay` is
/// 1e-2 (Adam's is 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    /// Learning rate (torch default 1e-3).
    pub lr: f32,
    /// `(β₁, β₂)` (default `(0.9, 0.999)`).
    pub betas: (f32, f32),
    /// Added to the un-biased `√v` (default 1e-8).
    pub eps: f32,
    /// Decoupled decay rate (default 1e-2).
    pub weight_decay: f32,
    /// Use the running maximum of `v` (default false).
    pub amsgrad: bool,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl AdamW {
    /// torch's defaults.
    pub const DEFAULT: AdamW = AdamW {
        lr: 1e-3,
        betas: (0.9, 0.999),
        eps: 1e-8,
        weight_decay: 1e-2,
        amsgrad: false,
        maximize: false,
    };

    /// The state planes: [`Adam::state_planes`].
    pub const fn state_planes(&self) -> &'static [&'static str] {
        self.as_adam().state_planes()
    }

    /// Floats of state for `n` parameters: [`Adam::state_len`].
    pub const fn state_len(&self, n: usize) -> usize {
        self.as_adam().state_len(n)
    }

    /// The same optimizer as an [`Adam`] with `decoupled_weight_decay`.
    pub const fn as_adam(&self) -> Adam {
        Adam {
            lr: self.lr,
            betas: self.betas,
            eps: self.eps,
            weight_decay: self.weight_decay,
            amsgrad: self.amsgrad,
            maximize: self.maximize,
            decoupled_weight_decay: true,
        }
    }
}

impl Default for AdamW {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The state, the checks and the step are [`Adam`]'s, through [`as_adam`](AdamW::as_adam), so
/// that AdamW runs Adam's code instead of a second copy of it.
impl Optimizer for AdamW {
    fn state_planes(&self) -> &'static [&'static str] {
        AdamW::state_planes(self)
    }

    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn validate(&self) -> Result<()> {
        Optimizer::validate(&self.as_adam())
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        self.as_adam().update(t, params, grads, state)
    }
}
