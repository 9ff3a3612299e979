//! RAdam.

use super::lanes::fused2;
use super::moments::Moments;
use super::{beta, check_update, non_negative, planes, powi, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
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

    /// Floats of state for `n` parameters: `2n`.
    pub const fn state_len(&self, n: usize) -> usize {
        n.saturating_mul(2)
    }
}

impl Default for RAdam {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for RAdam {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("eps", self.eps)?;
        beta("betas", self.betas.0)?;
        beta("betas", self.betas.1)?;
        non_negative("weight_decay", self.weight_decay)
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        check_update(self, t, params, grads, state)?;
        if t == 1 {
            state.fill(0.0);
        }
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
        let k = RAdamScalars {
            moments: Moments::new(
                self.lr,
                self.betas,
                self.weight_decay,
                self.decoupled_weight_decay,
                self.maximize,
            ),
            eps: self.eps,
            neg_step: -step as f32,
            rectified,
        };
        simd::dispatch(RAdamKernel {
            k,
            params,
            grads,
            state,
        });
        Ok(())
    }
}

/// One RAdam step over checked slices, for [`simd::dispatch`].
struct RAdamKernel<'a> {
    k: RAdamScalars<f32>,
    params: &'a mut [f32],
    grads: &'a [f32],
    state: &'a mut [f32],
}

impl WithLanes for RAdamKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let k = &self.k;
        let k = RAdamScalars {
            moments: k.moments.splat(l),
            eps: l.splat(k.eps),
            neg_step: l.splat(k.neg_step),
            rectified: k.rectified,
        };
        let (p, g, s) = (self.params, self.grads, self.state);
        if k.moments.coupled {
            radam::<true, L>(l, &k, p, g, s);
        } else {
            radam::<false, L>(l, &k, p, g, s);
        }
    }
}

/// RAdam's own per-step scalars beside the shared [`Moments`]: `f32` as computed, or
/// splatted into lanes.
struct RAdamScalars<F> {
    moments: Moments<F>,
    eps: F,
    neg_step: F,
    rectified: bool,
}

#[inline(always)]
fn radam<const DECAY: bool, L: Lanes>(
    l: L,
    k: &RAdamScalars<L::F>,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) {
    let n = params.len();
    let [m, v] = planes::<2>(state, n);
    fused2(
        l,
        params,
        grads,
        m,
        v,
        #[inline(always)]
        |p, g, m, v| {
            let (p, _, m, v) = k.moments.step::<DECAY>(p, g, m, v);
            let u = if k.rectified {
                m / (v.sqrt() + k.eps)
            } else {
                m
            };
            (k.neg_step.mul_add(u, p), m, v)
        },
    );
}
