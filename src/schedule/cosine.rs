//! Cosine annealing: `CosineAnnealingLR` and `CosineAnnealingWarmRestarts` (SGDR).

use super::{check_nonneg, check_nonzero, Schedule};
use crate::{Error, Result};
use core::f64::consts::PI;

/// `η_min + (base − η_min)·(1 + cos(π·cur/period))/2`.
fn anneal(base: f64, eta_min: f64, cur: f64, period: f64) -> f64 {
    eta_min + (base - eta_min) * (1.0 + libm::cos(PI * cur / period)) / 2.0
}

/// Cosine annealing from `base_lr` to `eta_min` over `t_max` steps, torch's
/// `CosineAnnealingLR(optimizer, T_max, eta_min=0.0)`.
///
/// `lr(t) = η_min + (base_lr − η_min) · (1 + cos(π·t/T_max))/2`.
///
/// Like torch, it does **not** stop at `T_max`: the cosine goes on and the value rises back
/// to `base_lr` at `2·T_max` (period `2·T_max`). torch computes it recursively; the closed
/// form agrees to `f64` rounding. `t` is reduced modulo `2·T_max` in integers first, so large
/// steps lose no precision.
///
/// # Invalid fields
/// `t_max = 0` (torch divides by zero on its first `step()`): `lr_at(0) = base_lr`, NaN after.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingLR {
    /// The initial (maximal) value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// Half period, torch's `T_max`; at least 1.
    pub t_max: u64,
    /// The minimal value, `≥ 0`. torch's default: 0.
    pub eta_min: f64,
}

impl CosineAnnealingLR {
    /// `T_max` as given, torch's default `eta_min = 0`.
    pub const fn new(base_lr: f64, t_max: u64) -> Self {
        CosineAnnealingLR {
            base_lr,
            t_max,
            eta_min: 0.0,
        }
    }
}

impl Schedule for CosineAnnealingLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        let t_max = self.t_max;
        if t_max == 0 {
            return if step == 0 { self.base_lr } else { f64::NAN };
        }
        // The period is 2·T_max; when it overflows u64, every step is inside the first one.
        let cur = match t_max.checked_mul(2) {
            Some(period) => step % period,
            None => step,
        };
        anneal(self.base_lr, self.eta_min, cur as f64, t_max as f64)
    }

    fn factor_at(&self, step: u64) -> f64 {
        self.lr_at_f64(step) / self.base_lr
    }

    /// # Errors
    /// `"base_lr"` or `"eta_min"` if negative or not finite; `"T_max"` if 0.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        check_nonzero("T_max", self.t_max)?;
        check_nonneg("eta_min", self.eta_min)
    }
}

/// Cosine annealing with warm restarts (SGDR), torch's
/// `CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0.0)`.
///
/// `lr(t) = η_min + (base_lr − η_min) · (1 + cos(π·T_cur/T_i))/2`, where the first period is
/// `T_0` steps, each next one `T_mult` times longer, and `T_cur` counts the steps since the last
/// restart (it resets to 0 at each one, where the value jumps back to `base_lr`).
///
/// # Invalid fields
/// `t_0 = 0` or `t_mult = 0` (torch's constructor raises): NaN at every step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingWarmRestarts {
    /// The value at each restart (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// Length of the first period, torch's `T_0`; at least 1.
    pub t_0: u64,
    /// Growth of the period at each restart, torch's `T_mult`; at least 1. Default: 1.
    pub t_mult: u64,
    /// The minimal value, `≥ 0`. torch's default: 0.
    pub eta_min: f64,
}

impl CosineAnnealingWarmRestarts {
    /// `T_0` as given, torch's defaults `T_mult = 1`, `eta_min = 0`.
    pub const fn new(base_lr: f64, t_0: u64) -> Self {
        CosineAnnealingWarmRestarts {
            base_lr,
            t_0,
            t_mult: 1,
            eta_min: 0.0,
        }
    }

    /// `(T_cur, T_i)` after `step` steps; `None` for `T_0 = 0` or `T_mult = 0`.
    fn position(&self, step: u64) -> Option<(u64, f64)> {
        let (t_0, t_mult) = (self.t_0, self.t_mult);
        if t_0 == 0 || t_mult == 0 {
            return None;
        }
        if t_mult == 1 {
            return Some((step % t_0, t_0 as f64));
        }
        // T_i at least doubles each restart: at most 64 turns.
        let (mut cur, mut period) = (step, t_0);
        while cur >= period {
            cur -= period;
            match period.checked_mul(t_mult) {
                Some(next) => period = next,
                // The next period exceeds u64, so it holds every remaining step.
                None => return Some((cur, period as f64 * t_mult as f64)),
            }
        }
        Some((cur, period as f64))
    }
}

impl Schedule for CosineAnnealingWarmRestarts {
    fn lr_at_f64(&self, step: u64) -> f64 {
        match self.position(step) {
            Some((cur, period)) => anneal(self.base_lr, self.eta_min, cur as f64, period),
            None => f64::NAN,
        }
    }

    fn factor_at(&self, step: u64) -> f64 {
        self.lr_at_f64(step) / self.base_lr
    }

    /// # Errors
    /// `"base_lr"` or `"eta_min"` if negative or not finite; `"T_0"` if 0 and `"T_mult"` if 0
    /// (torch's `ValueError`s: `T_0 ≥ 1`, `T_mult ≥ 1`).
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        if self.t_0 == 0 {
            return Err(Error::InvalidHyperParameter { what: "T_0" });
        }
        if self.t_mult == 0 {
            return Err(Error::InvalidHyperParameter { what: "T_mult" });
        }
        check_nonneg("eta_min", self.eta_min)
    }
}
