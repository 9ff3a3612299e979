//! Adagrad.

use super::lanes::{effective_grad, fused1};
use super::{check_update, non_negative, Optimizer};
use crate::simd::{self, Float8, Lanes, WithLanes};
use crate::Result;

/// Adagrad, torch's `optim.Adagrad` (Duchi et al., 2011).
///
/// With `g` the gradient after `maximize` and the L2 `weight_decay` (`g += wd·p`), step `t`:
///
/// ```text
/// clr = lr / (1 + (t − 1)·lr_decay)
/// s   = s + g²                         (s starts at initial_accumulator_value)
/// p   = p − clr · g / (√s + eps)
/// ```
///
/// `eps` is added outside the square root, as torch does.
///
/// State: `sum` (`n` floats), set to `initial_accumulator_value` by step 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adagrad {
    /// Learning rate (torch default 1e-2).
    pub lr: f32,
    /// Decay of the learning rate with the step number (default 0).
    pub lr_decay: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// The accumulator's starting value (default 0).
    pub initial_accumulator_value: f32,
    /// Added to `√s` (default 1e-10).
    pub eps: f32,
    /// Maximise the objective (default false).
    pub maximize: bool,
}

impl Adagrad {
    /// torch's defaults.
    pub const DEFAULT: Adagrad = Adagrad {
        lr: 1e-2,
        lr_decay: 0.0,
        weight_decay: 0.0,
        initial_accumulator_value: 0.0,
        eps: 1e-10,
        maximize: false,
    };

    /// Floats of state for `n` parameters: `n`.
    pub const fn state_len(&self, n: usize) -> usize {
        n
    }
}

impl Default for Adagrad {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Optimizer for Adagrad {
    fn lr(&self) -> f32 {
        self.lr
    }

    fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn state_planes(&self) -> &'static [&'static str] {
        &["sum"]
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("lr_decay", self.lr_decay)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        non_negative("eps", self.eps)
    }

    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()> {
        check_update(self, t, params, grads, state)?;
        if t == 1 {
            state.fill(self.initial_accumulator_value);
        }
        let clr = self.lr as f64 / (1.0 + (t - 1) as f64 * self.lr_decay as f64);
        simd::dispatch(AdagradKernel {
            k: [
                if self.maximize { -1.0 } else { 1.0 },
                self.weight_decay,
                -clr as f32,
                self.eps,
            ],
            params,
            grads,
            sum: state,
        });
        Ok(())
    }
}

/// One Adagrad step over checked slices, for [`simd::dispatch`]: `k` is the gradient's sign,
/// the weight decay, `−clr` and `eps`.
struct AdagradKernel<'a> {
    k: [f32; 4],
    params: &'a mut [f32],
    grads: &'a [f32],
    sum: &'a mut [f32],
}

impl WithLanes for AdagradKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let decay = self.k[1] != 0.0;
        let k = self.k.map(|x| l.splat(x));
        if decay {
            adagrad::<true, L>(l, k, self.params, self.grads, self.sum);
        } else {
            adagrad::<false, L>(l, k, self.params, self.grads, self.sum);
        }
    }
}

#[inline(always)]
fn adagrad<const DECAY: bool, L: Lanes>(
    l: L,
    [sign, wd, neg_clr, eps]: [L::F; 4],
    params: &mut [f32],
    grads: &[f32],
    sum: &mut [f32],
) {
    fused1(
        l,
        params,
        grads,
        sum,
        #[inline(always)]
        |p, g, s| {
            let g = effective_grad::<DECAY, _>(g, p, sign, wd);
            let s = g.mul_add(g, s);
            (neg_clr.mul_add(g / (s.sqrt() + eps), p), s)
        },
    );
}
