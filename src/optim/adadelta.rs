//! Adadelta.

use super::lanes::{effective_grad, fused2};
use super::{check_update, non_negative, planes, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
use crate::{Error, Result};

/// Adadelta, torch's `optim.Adadelta` (Zeiler, 2012).
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// v = ρ·v + (1−ρ)·g²
/// δ = √(a + eps) / √(v + eps) · g
/// a = ρ·a + (1−ρ)·δ²
/// p = p − lr·δ
/// ```
///
/// `eps` is inside both square roots. torch adds a learning rate the paper does not have;
/// its default 1.0 gives the paper's update.
///
/// State, `n` floats each: `square_avg` (v), `acc_delta` (a).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adadelta {
    /// Learning rate (torch default 1.0).
    pub lr: f32,
    /// Decay rate ρ of both running averages (default 0.9).
    pub rho: f32,
    /// Added inside the roots (default 1e-6).
    pub eps: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl Adadelta {
    /// torch's defaults.
    pub const DEFAULT: Adadelta = Adadelta {
        lr: 1.0,
        rho: 0.9,
        eps: 1e-6,
        weight_decay: 0.0,
        maximize: false,
    };

    /// Floats of state for `n` parameters: `2n`.
    pub const fn state_len(&self, n: usize) -> usize {
        n.saturating_mul(2)
    }
}

impl Default for Adadelta {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for Adadelta {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        &["square_avg", "acc_delta"]
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        if !(0.0..=1.0).contains(&self.rho) {
            return Err(Error::InvalidHyperParameter { what: "rho" });
        }
        non_negative("eps", self.eps)?;
        non_negative("weight_decay", self.weight_decay)
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        check_update(self, t, params, grads, state)?;
        if t == 1 {
            state.fill(0.0);
        }
        simd::dispatch(AdadeltaKernel {
            o: self,
            params,
            grads,
            state,
        });
        Ok(())
    }
}

/// One Adadelta step over checked slices, for [`simd::dispatch`].
struct AdadeltaKernel<'a> {
    o: &'a Adadelta,
    params: &'a mut [f32],
    grads: &'a [f32],
    state: &'a mut [f32],
}

impl WithLanes for AdadeltaKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let (o, p, g, s) = (self.o, self.params, self.grads, self.state);
        if o.weight_decay != 0.0 {
            adadelta::<true, L>(l, o, p, g, s);
        } else {
            adadelta::<false, L>(l, o, p, g, s);
        }
    }
}

#[inline(always)]
fn adadelta<const DECAY: bool, L: Lanes>(
    l: L,
    o: &Adadelta,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) {
    let n = params.len();
    let sign = l.splat(if o.maximize { -1.0 } else { 1.0 });
    let wd = l.splat(o.weight_decay);
    let rho = l.splat(o.rho);
    let one_minus_rho = l.splat((1.0 - o.rho as f64) as f32);
    let eps = l.splat(o.eps);
    let neg_lr = l.splat(-o.lr);
    let [v, a] = planes::<2>(state, n);
    fused2(
        l,
        params,
        grads,
        v,
        a,
        #[inline(always)]
        |p, g, v, a| {
            let g = effective_grad::<DECAY, _>(g, p, sign, wd);
            let v = v * rho + one_minus_rho * g * g;
            let delta = (a + eps).sqrt() / (v + eps).sqrt() * g;
            let a = a * rho + one_minus_rho * delta * delta;
            (neg_lr.mul_add(delta, p), v, a)
        },
    );
}
