//! Stochastic gradient descent with torch's momentum.

use super::lanes::{effective_grad, fused0, fused1};
use super::{check_update, finite, non_negative, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
use crate::{Error, Result};

/// Stochastic gradient descent, torch's `optim.SGD`, with momentum, dampening and Nesterov.
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// b = g                              at t = 1
/// b = μ·b + (1 − dampening)·g        after
/// u = g + μ·b  (nesterov)   or   u = b   (or u = g without momentum)
/// p = p − lr·u
/// ```
///
/// This is torch's form, not Sutskever's `v = μ·v − lr·g; p += v`: the two agree for a constant
/// learning rate, but here changing `lr` rescales the whole step at once, and the first step
/// takes the gradient undamped.
///
/// State: `momentum_buffer` (`n` floats) when `momentum ≠ 0`, nothing otherwise (changing
/// `momentum` between zero and non-zero changes the state's length).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// Learning rate (torch default 1e-3).
    pub lr: f32,
    /// Momentum factor μ (default 0).
    pub momentum: f32,
    /// Dampening of the gradient in the momentum buffer (default 0).
    pub dampening: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Nesterov momentum (default false; needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
    /// Maximise the objective: negate the gradient (default false).
    pub maximize: bool,
}

impl Sgd {
    /// torch's defaults.
    pub const DEFAULT: Sgd = Sgd {
        lr: 1e-3,
        momentum: 0.0,
        dampening: 0.0,
        weight_decay: 0.0,
        nesterov: false,
        maximize: false,
    };

    /// Floats of state for `n` parameters: `n` with momentum, else 0.
    pub const fn state_len(&self, n: usize) -> usize {
        if self.momentum != 0.0 {
            n
        } else {
            0
        }
    }
}

impl Default for Sgd {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for Sgd {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("momentum", self.momentum)?;
        finite("dampening", self.dampening)?;
        non_negative("weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::InvalidHyperParameter { what: "nesterov" });
        }
        Ok(())
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        check_update(self, t, params, grads, state)?;
        simd::dispatch(SgdKernel {
            o: self,
            t,
            params,
            grads,
            buf: state,
        });
        Ok(())
    }
}

/// One SGD step over checked slices, for [`simd::dispatch`].
struct SgdKernel<'a> {
    o: &'a Sgd,
    t: u64,
    params: &'a mut [f32],
    grads: &'a [f32],
    buf: &'a mut [f32],
}

impl WithLanes for SgdKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let (o, t, p, g, b) = (self.o, self.t, self.params, self.grads, self.buf);
        if o.weight_decay != 0.0 {
            sgd::<true, L>(l, o, t, p, g, b);
        } else {
            sgd::<false, L>(l, o, t, p, g, b);
        }
    }
}

#[inline(always)]
fn sgd<const DECAY: bool, L: Lanes>(
    l: L,
    o: &Sgd,
    t: u64,
    params: &mut [f32],
    grads: &[f32],
    buf: &mut [f32],
) {
    let sign = l.splat(if o.maximize { -1.0 } else { 1.0 });
    let wd = l.splat(o.weight_decay);
    let neg_lr = l.splat(-o.lr);
    if o.momentum == 0.0 {
        fused0(
            l,
            params,
            grads,
            #[inline(always)]
            |p, g| {
                let g = effective_grad::<DECAY, _>(g, p, sign, wd);
                neg_lr.mul_add(g, p)
            },
        );
        return;
    }
    let mu = l.splat(o.momentum);
    let keep = l.splat((1.0 - o.dampening as f64) as f32);
    let (first, nesterov) = (t == 1, o.nesterov);
    fused1(
        l,
        params,
        grads,
        buf,
        #[inline(always)]
        |p, g, b| {
            let g = effective_grad::<DECAY, _>(g, p, sign, wd);
            let b = if first { g } else { keep.mul_add(g, b * mu) };
            let u = if nesterov { mu.mul_add(b, g) } else { b };
            (neg_lr.mul_add(u, p), b)
        },
    );
}
