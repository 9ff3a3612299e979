//! Adamax.

use super::lanes::{effective_grad, fused2, maximum};
use super::{beta, check_update, non_negative, planes, powi, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
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

    /// Floats of state for `n` parameters: `2n`.
    pub const fn state_len(&self, n: usize) -> usize {
        n.saturating_mul(2)
    }
}

impl Default for Adamax {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for Adamax {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_inf"]
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
        simd::dispatch(AdamaxKernel {
            o: self,
            t,
            params,
            grads,
            state,
        });
        Ok(())
    }
}

/// One Adamax step over checked slices, for [`simd::dispatch`].
struct AdamaxKernel<'a> {
    o: &'a Adamax,
    t: u64,
    params: &'a mut [f32],
    grads: &'a [f32],
    state: &'a mut [f32],
}

impl WithLanes for AdamaxKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let (o, t, p, g, s) = (self.o, self.t, self.params, self.grads, self.state);
        if o.weight_decay != 0.0 {
            adamax::<true, L>(l, o, t, p, g, s);
        } else {
            adamax::<false, L>(l, o, t, p, g, s);
        }
    }
}

#[inline(always)]
fn adamax<const DECAY: bool, L: Lanes>(
    l: L,
    o: &Adamax,
    t: u64,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) {
    let n = params.len();
    let b1 = o.betas.0 as f64;
    let sign = l.splat(if o.maximize { -1.0 } else { 1.0 });
    let wd = l.splat(o.weight_decay);
    let one_minus_beta1 = l.splat((1.0 - b1) as f32);
    let beta2 = l.splat(o.betas.1);
    let eps = l.splat(o.eps);
    let neg_clr = l.splat((-(o.lr as f64) / (1.0 - powi(b1, t))) as f32);
    let [m, u] = planes::<2>(state, n);
    fused2(
        l,
        params,
        grads,
        m,
        u,
        #[inline(always)]
        |p, g, m, u| {
            let g = effective_grad::<DECAY, _>(g, p, sign, wd);
            let m = one_minus_beta1.mul_add(g - m, m);
            let u = maximum(u * beta2, g.abs() + eps);
            (neg_clr.mul_add(m / u, p), m, u)
        },
    );
}
