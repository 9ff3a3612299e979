//! Composition: `SequentialLR`, `ChainedScheduler` and a linear warm-up.

use super::Schedule;
use crate::{Error, Result};

/// Children one after the other, switching at milestones, torch's
/// `SequentialLR(optimizer, schedulers, milestones)`.
///
/// With milestones `m₁ ≤ m₂ ≤ …`, child 0 runs for `t < m₁` and child `k` for
/// `m_k ≤ t < m_{k+1}`, where it sees the step `t − m_k`: as in torch, which restarts a child
/// at its milestone from its closed form at step 0. The momentum is the running child's.
///
/// Children are borrowed, `&'a [&'a dyn Schedule]`, so no allocation is needed and a `static`
/// schedule works in firmware (see the [module](super) example). There is no
/// `ReduceLROnPlateau` child (torch forbids it too: it is not a [`Schedule`]).
///
/// A milestone at 0 makes child 1 start at `t = 0` (torch instead shows child 0's value at
/// construction and then steps child 1 from a state it never reset).
///
/// # Invalid fields
/// With fewer milestones than `schedulers.len() − 1`, the later children never run; with more
/// (or no children), NaN from the first step that has no child. Unsorted milestones: a child
/// runs from its milestone until the first later milestone that is greater.
#[derive(Clone, Copy)]
pub struct SequentialLR<'a> {
    /// The children, at least one.
    pub schedulers: &'a [&'a dyn Schedule],
    /// The steps at which the next child takes over: one fewer than children, non-decreasing.
    pub milestones: &'a [u64],
}

impl SequentialLR<'_> {
    /// The running child and its own step.
    fn locate(&self, step: u64) -> Option<(&dyn Schedule, u64)> {
        let mut index = 0;
        let mut offset = 0;
        for &m in self.milestones {
            if m > step {
                break;
            }
            index += 1;
            offset = m;
        }
        let child = self.schedulers.get(index)?;
        Some((*child, step - offset))
    }
}

impl Schedule for SequentialLR<'_> {
    fn lr_at_f64(&self, step: u64) -> f64 {
        match self.locate(step) {
            Some((child, t)) => child.lr_at_f64(t),
            None => f64::NAN,
        }
    }

    fn factor_at(&self, step: u64) -> f64 {
        match self.locate(step) {
            Some((child, t)) => child.factor_at(t),
            None => f64::NAN,
        }
    }

    fn momentum_at(&self, step: u64) -> Option<f32> {
        let (child, t) = self.locate(step)?;
        child.momentum_at(t)
    }

    /// # Errors
    /// `"schedulers"` if empty; `"milestones"` unless there is one fewer than children and
    /// they do not decrease (torch raises for the count; it assumes the order); then the first
    /// error of a child.
    fn validate(&self) -> Result<()> {
        if self.schedulers.is_empty() {
            return Err(Error::InvalidHyperParameter { what: "schedulers" });
        }
        let sorted = self
            .milestones
            .windows(2)
            .all(|w| matches!(w, [a, b] if a <= b));
        if self.milestones.len() + 1 != self.schedulers.len() || !sorted {
            return Err(Error::InvalidHyperParameter { what: "milestones" });
        }
        self.schedulers.iter().try_for_each(|s| s.validate())
    }
}

/// Children applied together, torch's `ChainedScheduler(schedulers)`.
///
/// `lr(t) = lr₀(t) · Π_{k≥1} factor_k(t)`: the first child's value times the other children's
/// [factors](Schedule::factor_at) `lr_k(t)/base_k`. torch chains schedulers by letting each
/// one's recursive step act on the lr the previous ones left, all from the optimizer's one
/// initial lr; for the multiplicative schedules ([`StepLR`](super::StepLR),
/// [`MultiStepLR`](super::MultiStepLR), [`ExponentialLR`](super::ExponentialLR),
/// [`LinearLR`](super::LinearLR), [`ConstantLR`](super::ConstantLR),
/// [`PolynomialLR`](super::PolynomialLR)) that is exactly this product, whatever their order.
/// The others are not multiplicative in torch (a cosine with `eta_min > 0` is affine, cyclic
/// and one-cycle schedules overwrite the lr), so there torch's result depends on the order and
/// this product is the well-defined meaning. The momentum is the last cycling child's, as in
/// torch, where the last one to set it wins.
///
/// # Invalid fields
/// No children: NaN.
#[derive(Clone, Copy)]
pub struct ChainedScheduler<'a> {
    /// The children, at least one; the first one's base value is the chain's.
    pub schedulers: &'a [&'a dyn Schedule],
}

impl Schedule for ChainedScheduler<'_> {
    fn lr_at_f64(&self, step: u64) -> f64 {
        match self.schedulers.split_first() {
            Some((first, rest)) => rest
                .iter()
                .fold(first.lr_at_f64(step), |lr, s| lr * s.factor_at(step)),
            None => f64::NAN,
        }
    }

    fn factor_at(&self, step: u64) -> f64 {
        if self.schedulers.is_empty() {
            return f64::NAN;
        }
        self.schedulers
            .iter()
            .fold(1.0, |f, s| f * s.factor_at(step))
    }

    fn momentum_at(&self, step: u64) -> Option<f32> {
        self.schedulers
            .iter()
            .rev()
            .find_map(|s| s.momentum_at(step))
    }

    /// # Errors
    /// `"schedulers"` if empty (torch's `ValueError`); then the first error of a child.
    fn validate(&self) -> Result<()> {
        if self.schedulers.is_empty() {
            return Err(Error::InvalidHyperParameter { what: "schedulers" });
        }
        self.schedulers.iter().try_for_each(|s| s.validate())
    }
}

/// A linear warm-up over `warmup_steps` steps, then `schedule` from its step 0.
///
/// `lr(t) = v · (s + (1 − s) · t/W)` for `t < W`, then `schedule.lr_at(t − W)`, with
/// `v = schedule.lr_at(0)`, `s = start_factor` and `W = warmup_steps`: the value climbs from
/// `s·v` to `v` and the schedule starts where the ramp ends.
///
/// This is torch's idiom `SequentialLR(optimizer, [LinearLR(optimizer, start_factor, 1.0,
/// total_iters=W), schedule], milestones=[W])` whenever the schedule starts at the lr torch's
/// warm-up ramps to: the optimizer's lr, or `max_lr/div_factor` for a
/// [`OneCycleLR`](super::OneCycleLR) (which overwrites torch's `initial_lr`). That excludes
/// [`ConstantLR`](super::ConstantLR), a [`LinearLR`](super::LinearLR) with
/// `start_factor < 1`, a [`MultiStepLR`](super::MultiStepLR) with a milestone 0 and a
/// [`CyclicLR`](super::CyclicLR) whose `base_lr` is not the optimizer's lr, where torch's
/// result jumps at `W`. During the warm-up the momentum is the
/// schedule's at step 0, as the optimizer keeps it then.
///
/// It owns or borrows its schedule (`LinearWarmup<CosineAnnealingLR>`,
/// `LinearWarmup<&dyn Schedule>`).
///
/// ```
/// use descent::schedule::{CosineAnnealingLR, LinearWarmup, Schedule};
///
/// let s = LinearWarmup {
///     warmup_steps: 4,
///     start_factor: 0.25,
///     schedule: CosineAnnealingLR::new(0.1, 100),
/// };
/// s.validate()?;
/// let lrs: Vec<f32> = (0..5).map(|t| s.lr_at(t)).collect();
/// assert_eq!(lrs, [0.025, 0.04375, 0.0625, 0.08125, 0.1]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearWarmup<S> {
    /// Steps of warm-up, `W` (0: none).
    pub warmup_steps: u64,
    /// The fraction of the schedule's first value at `t = 0`, in `(0, 1]` (as
    /// [`LinearLR`](super::LinearLR)'s `start_factor`).
    pub start_factor: f64,
    /// The schedule that follows.
    pub schedule: S,
}

impl<S: Schedule> LinearWarmup<S> {
    /// The ramp's factor at `step < W`.
    fn ramp(&self, step: u64) -> f64 {
        let s = self.start_factor;
        s + (1.0 - s) * (step as f64 / self.warmup_steps as f64)
    }
}

impl<S: Schedule> Schedule for LinearWarmup<S> {
    fn lr_at_f64(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            self.schedule.lr_at_f64(0) * self.ramp(step)
        } else {
            self.schedule.lr_at_f64(step - self.warmup_steps)
        }
    }

    fn factor_at(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            self.schedule.factor_at(0) * self.ramp(step)
        } else {
            self.schedule.factor_at(step - self.warmup_steps)
        }
    }

    fn momentum_at(&self, step: u64) -> Option<f32> {
        self.schedule
            .momentum_at(step.saturating_sub(self.warmup_steps))
    }

    /// # Errors
    /// `"start_factor"` outside `(0, 1]` (NaN included); then the schedule's error.
    fn validate(&self) -> Result<()> {
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            return Err(Error::InvalidHyperParameter {
                what: "start_factor",
            });
        }
        self.schedule.validate()
    }
}
