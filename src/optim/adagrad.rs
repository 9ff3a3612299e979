//! Adagrad.

use crate::error::check_non_negative;
use super::rule::{Fuse, Gradient, Rule};
use crate::simd::{Float8, Lanes};
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

    /// The state plane: `sum` (`n` floats), set to `initial_accumulator_value` by step 1.
    pub const fn state_planes(&self) -> &'static [&'static str] {
        &["sum"]
    }
}

impl Rule for Adagrad {
    /// `−clr`.
    type Step = f32;

    fn validate(&self) -> Result<()> {
        check_non_negative("lr", self.lr)?;
        check_non_negative("lr_decay", self.lr_decay)?;
        check_non_negative("weight_decay", self.weight_decay)?;
        check_non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        check_non_negative("eps", self.eps)
    }

    fn gradient(&self) -> Gradient {
        Gradient::l2(self.maximize, self.weight_decay)
    }

    fn initial(&self) -> Option<f32> {
        Some(self.initial_accumulator_value)
    }

    fn step(&self, t: u64, _: &mut [f32]) -> f32 {
        let clr = self.lr as f64 / (1.0 + (t - 1) as f64 * self.lr_decay as f64);
        -clr as f32
    }

    #[inline(always)]
    fn run<L: Lanes>(&self, l: L, &neg_clr: &f32, x: impl Fuse<L>) {
        let (neg_clr, eps) = (l.splat(neg_clr), l.splat(self.eps));
        x.map1(
            #[inline(always)]
            |p, g, s| {
                let s = g.mul_add(g, s);
                (neg_clr.mul_add(g / (s.sqrt() + eps), p), s)
            },
        );
    }
}
