//! Adagrad.

use super::lanes::{effective_grad, fused1};
use super::{check_update, non_negative, Optimizer};
use crate::simd::{f32x8, sqrt};
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
        let k = (
            f32x8::splat(if self.maximize { -1.0 } else { 1.0 }),
            f32x8::splat(self.weight_decay),
            f32x8::splat(-clr as f32),
            f32x8::splat(self.eps),
        );
        if self.weight_decay != 0.0 {
            adagrad::<true>(k, params, grads, state);
        } else {
            adagrad::<false>(k, params, grads, state);
        }
        Ok(())
    }
}

fn adagrad<const DECAY: bool>(
    (sign, wd, neg_clr, eps): (f32x8, f32x8, f32x8, f32x8),
    params: &mut [f32],
    grads: &[f32],
    sum: &mut [f32],
) {
    fused1(params, grads, sum, |p, g, s| {
        let g = effective_grad::<DECAY>(g, p, sign, wd);
        let s = g.mul_add(g, s);
        (neg_clr.mul_add(g / (sqrt(s) + eps), p), s)
    });
}
