//! Factors that end after `total_iters` steps: `LinearLR` and `ConstantLR` (the usual warm-ups).

use super::{check_nonneg, Schedule};
use crate::{Error, Result};

/// A factor moving linearly from `start_factor` to `end_factor` over `total_iters` steps,
/// torch's `LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)`.
///
/// `lr(t) = base_lr · (s + (e − s) · min(t, T)/T)` with `s = start_factor`,
/// `e = end_factor`, `T = total_iters`. torch computes it recursively (each step multiplies by
/// `1 + (e−s)/(T·s + (t−1)·(e−s))`); the two agree to `f64` rounding.
///
/// `total_iters = 0` keeps `base_lr · start_factor` for ever, as torch's recursive form does.
///
/// ```
/// use descent::schedule::{LinearLR, Schedule};
///
/// // Warm up from a tenth of 0.1 to 0.1 in 4 steps.
/// let s = LinearLR { start_factor: 0.1, total_iters: 4, ..LinearLR::new(0.1) };
/// s.validate()?;
/// let lrs: Vec<f32> = (0..6).map(|t| s.lr_at(t)).collect();
/// assert_eq!(lrs, [0.01, 0.0325, 0.055, 0.0775, 0.1, 0.1]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearLR {
    /// The initial value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// The factor at `t = 0`, in `(0, 1]`. torch's default: 1/3.
    pub start_factor: f64,
    /// The factor from `t = total_iters` on, in `[0, 1]`. torch's default: 1.0.
    pub end_factor: f64,
    /// Steps from `start_factor` to `end_factor`. torch's default: 5.
    pub total_iters: u64,
}

impl LinearLR {
    /// torch's defaults: `start_factor = 1/3`, `end_factor = 1.0`, `total_iters = 5`.
    pub const fn new(base_lr: f64) -> Self {
        LinearLR {
            base_lr,
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }
}

impl Schedule for LinearLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        self.base_lr * self.factor_at(step)
    }

    fn factor_at(&self, step: u64) -> f64 {
        let (s, e, total) = (self.start_factor, self.end_factor, self.total_iters);
        if total == 0 {
            return s;
        }
        s + (e - s) * (step.min(total) as f64 / total as f64)
    }

    /// # Errors
    /// `"base_lr"` if negative or not finite; `"start_factor"` outside `(0, 1]` and
    /// `"end_factor"` outside `[0, 1]` (torch's `ValueError`s), NaN included.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            return Err(Error::InvalidHyperParameter {
                what: "start_factor",
            });
        }
        if !(0.0..=1.0).contains(&self.end_factor) {
            return Err(Error::InvalidHyperParameter { what: "end_factor" });
        }
        Ok(())
    }
}

/// A constant factor for the first `total_iters` steps, torch's
/// `ConstantLR(optimizer, factor=1/3, total_iters=5)`.
///
/// `lr(t) = base_lr · factor` for `t < T`, then `base_lr`.
///
/// `total_iters = 0` keeps `base_lr · factor` for ever, as torch's recursive form does (it
/// applies the factor at construction and would restore it only at a step `t = 0`, which never
/// comes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConstantLR {
    /// The initial value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// The factor during the first `total_iters` steps, in `[0, 1]` (`(0, 1]` when
    /// `total_iters > 0`). torch's default: 1/3.
    pub factor: f64,
    /// Steps at the reduced value. torch's default: 5.
    pub total_iters: u64,
}

impl ConstantLR {
    /// torch's defaults: `factor = 1/3`, `total_iters = 5`.
    pub const fn new(base_lr: f64) -> Self {
        ConstantLR {
            base_lr,
            factor: 1.0 / 3.0,
            total_iters: 5,
        }
    }
}

impl Schedule for ConstantLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        self.base_lr * self.factor_at(step)
    }

    fn factor_at(&self, step: u64) -> f64 {
        if step < self.total_iters || self.total_iters == 0 {
            self.factor
        } else {
            1.0
        }
    }

    /// # Errors
    /// `"base_lr"` if negative or not finite; `"factor"` outside `[0, 1]` (torch's
    /// `ValueError`), NaN included, or 0 with `total_iters > 0` (torch divides by it at step
    /// `total_iters`).
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        let f = self.factor;
        if !(0.0..=1.0).contains(&f) || (f == 0.0 && self.total_iters > 0) {
            return Err(Error::InvalidHyperParameter { what: "factor" });
        }
        Ok(())
    }
}
