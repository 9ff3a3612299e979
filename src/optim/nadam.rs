//! NAdam.

use super::lanes::fused2;
use super::moments::Moments;
use super::{beta, check_update, non_negative, planes, powi, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
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

    /// Floats of state for `n` parameters: `2n + 1`.
    pub const fn state_len(&self, n: usize) -> usize {
        n.saturating_mul(2).saturating_add(1)
    }
}

impl Default for NAdam {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for NAdam {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }

    fn state_scalars(&self) -> &'static [&'static str] {
        &["mu_product"]
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("eps", self.eps)?;
        beta("betas", self.betas.0)?;
        beta("betas", self.betas.1)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("momentum_decay", self.momentum_decay)
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        check_update(self, t, params, grads, state)?;
        let n = params.len();
        let Some((planes_state, scalars)) = state.split_at_mut_checked(n.saturating_mul(2)) else {
            return Ok(()); // unreachable: check_update saw 2n + 1 floats
        };
        if t == 1 {
            planes_state.fill(0.0);
            scalars.fill(1.0);
        }
        let Some(mu_product) = scalars.first_mut() else {
            return Ok(()); // unreachable: check_update saw 2n + 1 floats
        };
        let (b1, b2) = (self.betas.0 as f64, self.betas.1 as f64);
        let lr = self.lr as f64;
        let mu_at = |t: f64| b1 * (1.0 - 0.5 * libm::pow(0.96, t * self.momentum_decay as f64));
        let mu = mu_at(t as f64);
        let mu_next = mu_at(t as f64 + 1.0);
        // torch multiplies its f32 tensor by the double μ rounded to f32.
        *mu_product *= mu as f32;
        let prod = *mu_product as f64;
        let prod_next = prod * mu_next;
        let k = NAdamScalars {
            moments: Moments::new(
                self.lr,
                self.betas,
                self.weight_decay,
                self.decoupled_weight_decay,
                self.maximize,
            ),
            inv_bc2: (1.0 / (1.0 - powi(b2, t))) as f32,
            eps: self.eps,
            grad_step: (-lr * (1.0 - mu) / (1.0 - prod)) as f32,
            momentum_step: (-lr * mu_next / (1.0 - prod_next)) as f32,
        };
        simd::dispatch(NAdamKernel {
            k,
            params,
            grads,
            state: planes_state,
        });
        Ok(())
    }
}

/// One NAdam step over checked slices, for [`simd::dispatch`].
struct NAdamKernel<'a> {
    k: NAdamScalars<f32>,
    params: &'a mut [f32],
    grads: &'a [f32],
    state: &'a mut [f32],
}

impl WithLanes for NAdamKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let k = &self.k;
        let k = NAdamScalars {
            moments: k.moments.splat(l),
            inv_bc2: l.splat(k.inv_bc2),
            eps: l.splat(k.eps),
            grad_step: l.splat(k.grad_step),
            momentum_step: l.splat(k.momentum_step),
        };
        let (p, g, s) = (self.params, self.grads, self.state);
        if k.moments.coupled {
            nadam::<true, L>(l, &k, p, g, s);
        } else {
            nadam::<false, L>(l, &k, p, g, s);
        }
    }
}

/// NAdam's own per-step scalars beside the shared [`Moments`]: `f32` as computed, or
/// splatted into lanes.
struct NAdamScalars<F> {
    moments: Moments<F>,
    inv_bc2: F,
    eps: F,
    grad_step: F,
    momentum_step: F,
}

#[inline(always)]
fn nadam<const DECAY: bool, L: Lanes>(
    l: L,
    k: &NAdamScalars<L::F>,
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
            let (p, g, m, v) = k.moments.step::<DECAY>(p, g, m, v);
            let d = (v * k.inv_bc2).sqrt() + k.eps;
            let p = k.grad_step.mul_add(g / d, p);
            (k.momentum_step.mul_add(m / d, p), m, v)
        },
    );
}
