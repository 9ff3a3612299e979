//! Multiplicative decays: `StepLR`, `MultiStepLR`, `ExponentialLR` and `PolynomialLR`.

use super::{check_nonneg, check_nonzero, powu, scaled, Schedule};
use crate::Result;

/// Decay by `gamma` every `step_size` steps, torch's
/// `StepLR(optimizer, step_size, gamma=0.1)`.
///
/// `lr(t) = base_lr · γ^⌊t / step_size⌋`.
///
/// # Invalid fields
/// `step_size = 0` (torch divides by zero on its first `step()`): `lr_at(0) = base_lr` and NaN
/// for every later step.
///
/// ```
/// use descent::schedule::{Schedule, StepLR};
///
/// let s = StepLR { gamma: 0.5, ..StepLR::new(0.1, 3) };
/// s.validate()?;
/// let lrs: Vec<f32> = (0..7).map(|t| s.lr_at(t)).collect();
/// assert_eq!(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]);
///
/// // Any hyper-parameter: the base value is a field. A momentum from 0.9, halved every 10 steps.
/// let momentum = StepLR { gamma: 0.5, ..StepLR::new(0.9, 10) };
/// assert_eq!(momentum.lr_at(10), 0.45);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLR {
    /// The initial value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// Steps between two decays; at least 1.
    pub step_size: u64,
    /// Multiplicative decay, `≥ 0`. torch's default: 0.1.
    pub gamma: f64,
}

impl StepLR {
    /// `step_size` as given, torch's default `gamma = 0.1`.
    pub const fn new(base_lr: f64, step_size: u64) -> Self {
        StepLR {
            base_lr,
            step_size,
            gamma: 0.1,
        }
    }
}

impl Schedule for StepLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        scaled(self.base_lr, self.factor_at(step))
    }

    fn factor_at(&self, step: u64) -> f64 {
        match step.checked_div(self.step_size) {
            Some(k) => powu(self.gamma, k),
            None if step == 0 => 1.0,
            None => f64::NAN,
        }
    }

    /// # Errors
    /// `"base_lr"` or `"gamma"` if negative or not finite; `"step_size"` if 0.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        check_nonzero("step_size", self.step_size)?;
        check_nonneg("gamma", self.gamma)
    }
}

/// Decay by `gamma` at each milestone, torch's `MultiStepLR(optimizer, milestones, gamma=0.1)`.
///
/// `lr(t) = base_lr · γ^n(t)` with `n(t)` the number of milestones `≤ t`, **counted with
/// repetition** as torch does (it keeps a `Counter`): `[3, 3, 7]` multiplies by `γ²` at
/// `t = 3`. The milestones need not be sorted; a milestone 0 already applies at `t = 0`.
/// They are borrowed (`&'a [u64]`), so a `static` list works without allocation.
///
/// Every field value is valid for `lr_at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiStepLR<'a> {
    /// The initial value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// The steps at which the value is multiplied by `gamma` (repeats count).
    pub milestones: &'a [u64],
    /// Multiplicative decay, `≥ 0`. torch's default: 0.1.
    pub gamma: f64,
}

impl<'a> MultiStepLR<'a> {
    /// `milestones` as given, torch's default `gamma = 0.1`.
    pub const fn new(base_lr: f64, milestones: &'a [u64]) -> Self {
        MultiStepLR {
            base_lr,
            milestones,
            gamma: 0.1,
        }
    }
}

impl Schedule for MultiStepLR<'_> {
    fn lr_at_f64(&self, step: u64) -> f64 {
        scaled(self.base_lr, self.factor_at(step))
    }

    fn factor_at(&self, step: u64) -> f64 {
        let passed = self.milestones.iter().filter(|&&m| m <= step).count();
        powu(self.gamma, passed as u64)
    }

    /// # Errors
    /// `"base_lr"` or `"gamma"` if negative or not finite.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        check_nonneg("gamma", self.gamma)
    }
}

/// Decay by `gamma` every step, torch's `ExponentialLR(optimizer, gamma)`.
///
/// `lr(t) = base_lr · γ^t`. `γ > 1` grows the value (a learning-rate range test).
///
/// Every field value is valid for `lr_at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialLR {
    /// The initial value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// Multiplicative decay per step, `≥ 0` (torch has no default).
    pub gamma: f64,
}

impl ExponentialLR {
    /// The schedule `base_lr · gamma^t`.
    pub const fn new(base_lr: f64, gamma: f64) -> Self {
        ExponentialLR { base_lr, gamma }
    }
}

impl Schedule for ExponentialLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        scaled(self.base_lr, self.factor_at(step))
    }

    fn factor_at(&self, step: u64) -> f64 {
        powu(self.gamma, step)
    }

    /// # Errors
    /// `"base_lr"` or `"gamma"` if negative or not finite.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        check_nonneg("gamma", self.gamma)
    }
}

/// Polynomial decay to 0 over `total_iters` steps, torch's
/// `PolynomialLR(optimizer, total_iters=5, power=1.0)`.
///
/// `lr(t) = base_lr · (1 − min(t, T)/T)^power` with `T = total_iters`: 0 from `t = T` on
/// (`1` when `power = 0`).
///
/// `total_iters = 0` keeps `base_lr` for ever, as torch's recursive form does (its closed form
/// would divide by zero).
///
/// # Invalid fields
/// A negative `power`: the formula (`+∞` from `t = T` on, where torch raises
/// `ZeroDivisionError`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolynomialLR {
    /// The initial value (torch: the optimizer's `lr`).
    pub base_lr: f64,
    /// Steps of decay. torch's default: 5.
    pub total_iters: u64,
    /// The exponent, `≥ 0`. torch's default: 1.0.
    pub power: f64,
}

impl PolynomialLR {
    /// torch's defaults: `total_iters = 5`, `power = 1.0`.
    pub const fn new(base_lr: f64) -> Self {
        PolynomialLR {
            base_lr,
            total_iters: 5,
            power: 1.0,
        }
    }
}

impl Schedule for PolynomialLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        self.base_lr * self.factor_at(step)
    }

    fn factor_at(&self, step: u64) -> f64 {
        let total = self.total_iters;
        if total == 0 {
            return 1.0;
        }
        let left = total - step.min(total);
        libm::pow(left as f64 / total as f64, self.power)
    }

    /// # Errors
    /// `"base_lr"` or `"power"` if negative or not finite.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        check_nonneg("power", self.power)
    }
}
