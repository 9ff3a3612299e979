//! Learning-rate schedules with the semantics of `torch.optim.lr_scheduler`.
//!
//! Every schedule but one is a plain struct of hyper-parameters with a **closed form**:
//! [`Schedule::lr_at`]`(t)` is the value torch's `param_groups[0]["lr"]` holds after `t` calls
//! to `scheduler.step()`, so `lr_at(0)` is the value right after the scheduler's construction.
//! Nothing is stored between calls; a training loop asks for `lr_at(step)` and hands the value
//! to its optimizer. The one stateful schedule, [`ReduceLROnPlateau`], is stateful in torch too:
//! it reacts to a metric.
//!
//! | torch | here | value after `t` steps |
//! |---|---|---|
//! | `StepLR` | [`StepLR`] | `lr·γ^⌊t/step_size⌋` |
//! | `MultiStepLR` | [`MultiStepLR`] | `lr·γ^#{milestones ≤ t}` |
//! | `ExponentialLR` | [`ExponentialLR`] | `lr·γ^t` |
//! | `LinearLR` | [`LinearLR`] | `lr·(s + (e−s)·min(t,T)/T)` |
//! | `ConstantLR` | [`ConstantLR`] | `lr·factor` for `t < T`, then `lr` |
//! | `PolynomialLR` | [`PolynomialLR`] | `lr·(1 − min(t,T)/T)^power` |
//! | `CosineAnnealingLR` | [`CosineAnnealingLR`] | `η_min + (lr−η_min)·(1+cos(πt/T_max))/2` |
//! | `CosineAnnealingWarmRestarts` | [`CosineAnnealingWarmRestarts`] | same, over `T_cur/T_i` |
//! | `CyclicLR` | [`CyclicLR`] | triangles between `base_lr` and `max_lr` |
//! | `OneCycleLR` | [`OneCycleLR`] | warm-up to `max_lr`, anneal to `max_lr/div/final_div` |
//! | `ReduceLROnPlateau` | [`ReduceLROnPlateau`] | `lr·factor` after `patience` bad epochs |
//! | `SequentialLR` | [`SequentialLR`] | child `k` at `t − milestone_k` |
//! | `ChainedScheduler` | [`ChainedScheduler`] | product of the children's factors |
//! | `SequentialLR([LinearLR, s])` | [`LinearWarmup`] | linear warm-up, then `s` |
//!
//! # Any hyper-parameter, not only the learning rate
//! The base value is a field of each struct (`base_lr`), so a schedule is not tied to the
//! learning rate: `StepLR { base_lr: 0.9, ..StepLR::new(0.9, 10) }` schedules a momentum or an
//! Adam `β1` as well. [`CyclicLR`] and [`OneCycleLR`] also cycle the momentum
//! ([`Schedule::momentum_at`]) as torch does with `cycle_momentum=True`.
//!
//! # Hyper-parameters and errors
//! Fields are named as torch's keyword arguments in snake case (`t_max` for `T_max`), with
//! torch's defaults in each `new`. Real-valued fields are `f64` (torch's Python floats) and
//! the schedule is evaluated in `f64`; [`Schedule::lr_at`] rounds once to `f32`.
//! `validate()` returns [`Error::InvalidHyperParameter`] (naming torch's argument) where
//! torch's constructor raises, where torch would divide by zero later (`step_size = 0`,
//! `T_max = 0`, …), and for NaN, infinite or negative real values. `lr_at` never panics,
//! whatever the fields hold: each type documents what it returns for fields that `validate`
//! rejects (NaN where torch raises, typically).
//!
//! # Composition
//! [`SequentialLR`] and [`ChainedScheduler`] borrow their children as
//! `&[&dyn Schedule]`, so they need no allocation and can live in `static`s:
//!
//! ```
//! use descent::schedule::{CosineAnnealingLR, LinearLR, Schedule, SequentialLR};
//!
//! // Five steps of linear warm-up from lr/10, then a cosine over 95 steps.
//! static WARMUP: LinearLR = LinearLR {
//!     start_factor: 0.1,
//!     ..LinearLR::new(0.1)
//! };
//! static COSINE: CosineAnnealingLR = CosineAnnealingLR::new(0.1, 95);
//! static SCHEDULE: SequentialLR = SequentialLR {
//!     schedulers: &[&WARMUP, &COSINE],
//!     milestones: &[5],
//! };
//!
//! SCHEDULE.validate()?;
//! assert!((SCHEDULE.lr_at(0) - 0.01).abs() < 1e-7);
//! assert!((SCHEDULE.lr_at(5) - 0.1).abs() < 1e-7); // the cosine's first value
//! assert!(SCHEDULE.lr_at(100) < 1e-7); // the cosine's end
//! # Ok::<(), descent::Error>(())
//! ```

mod compose;
mod cosine;
mod cyclic;
mod decay;
mod factor;
mod one_cycle;
mod plateau;

pub use compose::{ChainedScheduler, LinearWarmup, SequentialLR};
pub use cosine::{CosineAnnealingLR, CosineAnnealingWarmRestarts};
pub use cyclic::{CyclicLR, CyclicMode, ScaleMode};
pub use decay::{ExponentialLR, MultiStepLR, PolynomialLR, StepLR};
pub use factor::{ConstantLR, LinearLR};
pub use one_cycle::{AnnealStrategy, OneCycleLR};
pub use plateau::{PlateauMode, ReduceLROnPlateau, ThresholdMode};

use crate::{Error, Result};

/// A schedule with a closed form: the value after any number of steps, without state.
///
/// `step` counts calls to torch's `scheduler.step()` after construction: `lr_at(0)` is the
/// value right after torch builds the scheduler (which already performs one internal step).
///
/// The trait is object safe; `&S` is a `Schedule` when `S` is, so composites take
/// `&dyn Schedule` children or owned ones alike. It requires `Sync` (a schedule is plain data,
/// read-only), so that a composite of `&dyn Schedule` children can be a `static`.
pub trait Schedule: Sync {
    /// The scheduled value after `step` steps, in `f64` (torch computes in Python floats).
    fn lr_at_f64(&self, step: u64) -> f64;

    /// The scheduled value divided by the base value (`base_lr`): the multiplicative factor
    /// that this schedule contributes in a [`ChainedScheduler`]. Multiplicative schedules
    /// compute it directly (it does not depend on `base_lr`); the others (cosine, cyclic,
    /// one-cycle) return `lr_at_f64(step) / base`, which is NaN or infinite for a base of 0.
    fn factor_at(&self, step: u64) -> f64;

    /// Checks the hyper-parameters as torch's constructor does (and a little more: NaN,
    /// infinite and negative real values, and zeros that torch would later divide by).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming the first argument at fault, as torch spells it.
    fn validate(&self) -> Result<()>;

    /// The scheduled value after `step` steps, rounded once to `f32`.
    fn lr_at(&self, step: u64) -> f32 {
        self.lr_at_f64(step) as f32
    }

    /// The momentum (or Adam's `β1`) after `step` steps, for schedules that cycle it
    /// ([`CyclicLR`] and [`OneCycleLR`] with `cycle_momentum`); `None` for the others, which
    /// leave the optimizer's momentum alone.
    fn momentum_at(&self, step: u64) -> Option<f32> {
        let _ = step;
        None
    }
}

impl<S: Schedule + ?Sized> Schedule for &S {
    fn lr_at_f64(&self, step: u64) -> f64 {
        (**self).lr_at_f64(step)
    }
    fn factor_at(&self, step: u64) -> f64 {
        (**self).factor_at(step)
    }
    fn validate(&self) -> Result<()> {
        (**self).validate()
    }
    fn lr_at(&self, step: u64) -> f32 {
        (**self).lr_at(step)
    }
    fn momentum_at(&self, step: u64) -> Option<f32> {
        (**self).momentum_at(step)
    }
}

/// `Ok` for a finite `x ≥ 0` (learning rates, decay rates, momenta, thresholds).
fn check_nonneg(what: &'static str, x: f64) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// `Ok` for a finite `x > 0` (divisors).
fn check_positive(what: &'static str, x: f64) -> Result<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// `Ok` for a non-zero integer.
fn check_nonzero(what: &'static str, n: u64) -> Result<()> {
    if n == 0 {
        Err(Error::InvalidHyperParameter { what })
    } else {
        Ok(())
    }
}

/// With `cycle_momentum`, `base_momentum` and `max_momentum` as [`check_nonneg`]: the momentum
/// checks of [`CyclicLR`] and [`OneCycleLR`]. Without it the momenta are not read.
fn check_cycled_momentum(
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
) -> Result<()> {
    if cycle_momentum {
        check_nonneg("base_momentum", base_momentum)?;
        check_nonneg("max_momentum", max_momentum)?;
    }
    Ok(())
}

/// `x^n` for an integer count `n` (`x^0 = 1`, also for `x = 0` and NaN-free `x`).
fn powu(x: f64, n: u64) -> f64 {
    libm::pow(x, n as f64)
}

/// `base · factor` for the multiplicative decays, where torch multiplies step by step: a base
/// of 0 stays 0 even once `γ^k` has overflowed to `+∞` (where the product would be NaN). A NaN
/// factor (an invalid field) stays NaN.
fn scaled(base: f64, factor: f64) -> f64 {
    if base == 0.0 && !factor.is_nan() {
        0.0
    } else {
        base * factor
    }
}
