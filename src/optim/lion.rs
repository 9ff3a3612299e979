//! Lion.

use super::lanes::{fused1, sign};
use super::{check_update, non_negative, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
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

    /// Floats of state for `n` parameters: `n`.
    pub const fn state_len(&self, n: usize) -> usize {
        n
    }
}

impl Default for Lion {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for Lion {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg"]
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        for b in [self.betas.0, self.betas.1] {
            if !(0.0..=1.0).contains(&b) {
                return Err(Error::InvalidHyperParameter { what: "betas" });
            }
        }
        non_negative("weight_decay", self.weight_decay)
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        check_update(self, t, params, grads, state)?;
        if t == 1 {
            state.fill(0.0);
        }
        simd::dispatch(LionKernel {
            o: self,
            params,
            grads,
            exp_avg: state,
        });
        Ok(())
    }
}

/// One Lion step over checked slices, for [`simd::dispatch`].
struct LionKernel<'a> {
    o: &'a Lion,
    params: &'a mut [f32],
    grads: &'a [f32],
    exp_avg: &'a mut [f32],
}

impl WithLanes for LionKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let o = self.o;
        let (b1, b2) = (o.betas.0 as f64, o.betas.1 as f64);
        let g_sign = l.splat(if o.maximize { -1.0 } else { 1.0 });
        let beta1 = l.splat(o.betas.0);
        let one_minus_beta1 = l.splat((1.0 - b1) as f32);
        let beta2 = l.splat(o.betas.1);
        let one_minus_beta2 = l.splat((1.0 - b2) as f32);
        let neg_lr = l.splat(-o.lr);
        let wd = l.splat(o.weight_decay);
        fused1(
            l,
            self.params,
            self.grads,
            self.exp_avg,
            #[inline(always)]
            |p, g, m| {
                let g = g * g_sign;
                let c = beta1 * m + one_minus_beta1 * g;
                let p = neg_lr.mul_add(wd.mul_add(p, sign(l, c)), p);
                (p, beta2 * m + one_minus_beta2 * g)
            },
        );
    }
}
