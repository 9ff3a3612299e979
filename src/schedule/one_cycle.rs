//! `OneCycleLR`: the 1cycle policy (warm-up to `max_lr`, then anneal far below the start).

use super::{check_cycled_momentum, check_nonneg, check_positive, Schedule};
use crate::{Error, Result};
use core::f64::consts::PI;

/// How [`OneCycleLR`] moves within a phase, torch's `anneal_strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AnnealStrategy {
    /// `end + (start − end)·(1 + cos(π·pct))/2` (torch's default `"cos"`).
    #[default]
    Cos,
    /// `start + (end − start)·pct` (`"linear"`).
    Linear,
}

impl AnnealStrategy {
    fn anneal(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            AnnealStrategy::Cos => end + (start - end) / 2.0 * (libm::cos(PI * pct) + 1.0),
            AnnealStrategy::Linear => (end - start) * pct + start,
        }
    }
}

/// One phase: where it ends (a real step number, as torch computes it) and the end points of
/// the lr and of the momentum.
#[derive(Clone, Copy)]
struct Phase {
    end: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

/// The 1cycle policy, torch's `OneCycleLR(optimizer, max_lr, total_steps, pct_start=0.3,
/// anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
/// div_factor=25.0, final_div_factor=1e4, three_phase=False)`.
///
/// With `T = total_steps`, `p = pct_start`, `initial = max_lr/div_factor` and
/// `min = initial/final_div_factor`, the phases end at the real steps
///
/// * two phases: `p·T − 1` (`initial → max_lr`), `T − 1` (`max_lr → min`);
/// * `three_phase`: `p·T − 1` (`initial → max_lr`), `2·p·T − 2` (`max_lr → initial`),
///   `T − 1` (`initial → min`).
///
/// Step `t` falls in the first phase whose end is `≥ t` (the last one otherwise), and moves
/// from the phase's start value to its end value by `pct = (t − start)/(end − start)` with the
/// [`AnnealStrategy`]. The momentum moves the opposite way, `max_momentum → base_momentum →
/// max_momentum` (it stays at `max_momentum` in the third phase). As torch does, `t = T` is
/// accepted (`pct > 1` goes slightly past the end of the cosine). torch counts batches: one
/// `step()` per batch.
///
/// torch overwrites the optimizer's lr with `initial` at construction, so there is no
/// separate base value; [`Schedule::factor_at`] is relative to `initial`.
///
/// # Where torch raises
/// `lr_at` and `momentum_at` give NaN where torch raises: for `t > total_steps`, and at a step
/// whose phase has zero length (`t = T` with `pct_start = 1`, for example: torch divides by
/// zero there). [`OneCycleLR::validate`] rejects the configurations where that happens at
/// construction. Other invalid fields give the formula's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycleLR {
    /// The peak value.
    pub max_lr: f64,
    /// Steps in the cycle; at least 1 (torch: `total_steps`, or `epochs · steps_per_epoch`,
    /// see [`OneCycleLR::from_epochs`]).
    pub total_steps: u64,
    /// The fraction of the cycle spent rising, in `[0, 1]`. torch's default: 0.3.
    pub pct_start: f64,
    /// Cosine or linear phases. Default: cosine.
    pub anneal_strategy: AnnealStrategy,
    /// Cycle the momentum inversely to the lr. torch's default: `true`.
    pub cycle_momentum: bool,
    /// The momentum at the lr's peak. torch's default: 0.85.
    pub base_momentum: f64,
    /// The momentum at the start and the end. torch's default: 0.95.
    pub max_momentum: f64,
    /// `initial = max_lr/div_factor`, `> 0`. torch's default: 25.
    pub div_factor: f64,
    /// `min = initial/final_div_factor`, `> 0`. torch's default: 1e4.
    pub final_div_factor: f64,
    /// Three phases (Smith's original) instead of two (fastai's). torch's default: `false`.
    pub three_phase: bool,
}

impl OneCycleLR {
    /// `max_lr` and `total_steps` as given, torch's defaults for the rest.
    pub const fn new(max_lr: f64, total_steps: u64) -> Self {
        OneCycleLR {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal_strategy: AnnealStrategy::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }

    /// torch's other way to give the length: `total_steps = epochs · steps_per_epoch`.
    ///
    /// # Errors
    /// `"epochs"` or `"steps_per_epoch"` if 0 (torch's `ValueError`s), `"steps_per_epoch"`
    /// if the product overflows `u64`.
    pub const fn from_epochs(max_lr: f64, epochs: u64, steps_per_epoch: u64) -> Result<Self> {
        if epochs == 0 {
            return Err(Error::InvalidHyperParameter { what: "epochs" });
        }
        match epochs.checked_mul(steps_per_epoch) {
            Some(total) if total > 0 => Ok(OneCycleLR::new(max_lr, total)),
            _ => Err(Error::InvalidHyperParameter {
                what: "steps_per_epoch",
            }),
        }
    }

    /// torch's `initial_lr = max_lr / div_factor`, the value at `t = 0`.
    pub fn initial_lr(&self) -> f64 {
        self.max_lr / self.div_factor
    }

    /// torch's `min_lr = initial_lr / final_div_factor`, the value at `t = total_steps − 1`.
    pub fn min_lr(&self) -> f64 {
        self.initial_lr() / self.final_div_factor
    }

    /// The phases and how many of them are used.
    fn phases(&self) -> ([Phase; 3], usize) {
        let total = self.total_steps as f64;
        let peak = self.pct_start * total;
        let (initial, max, min) = (self.initial_lr(), self.max_lr, self.min_lr());
        let (lo, hi) = (self.base_momentum, self.max_momentum);
        let last = |lr| Phase {
            end: total - 1.0,
            lr,
            momentum: (if self.three_phase { hi } else { lo }, hi),
        };
        let rise = Phase {
            end: peak - 1.0,
            lr: (initial, max),
            momentum: (hi, lo),
        };
        if self.three_phase {
            let fall = Phase {
                end: 2.0 * peak - 2.0,
                lr: (max, initial),
                momentum: (lo, hi),
            };
            ([rise, fall, last((initial, min))], 3)
        } else {
            ([rise, last((max, min)), last((max, min))], 2)
        }
    }

    /// The phase of `step` and its `pct`, as torch finds them; `None` where torch raises.
    fn locate(&self, step: u64) -> Option<(Phase, f64)> {
        if step > self.total_steps {
            return None;
        }
        let (phases, used) = self.phases();
        let t = step as f64;
        let mut start = 0.0;
        for (i, phase) in phases.iter().take(used).enumerate() {
            if t <= phase.end || i + 1 == used {
                let length = phase.end - start;
                if length == 0.0 {
                    return None;
                }
                return Some((*phase, (t - start) / length));
            }
            start = phase.end;
        }
        None
    }
}

impl Schedule for OneCycleLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        match self.locate(step) {
            Some((phase, pct)) => self.anneal_strategy.anneal(phase.lr.0, phase.lr.1, pct),
            None => f64::NAN,
        }
    }

    fn factor_at(&self, step: u64) -> f64 {
        self.lr_at_f64(step) / self.initial_lr()
    }

    fn momentum_at(&self, step: u64) -> Option<f32> {
        if !self.cycle_momentum {
            return None;
        }
        let m = match self.locate(step) {
            Some((phase, pct)) => {
                let (from, to) = phase.momentum;
                self.anneal_strategy.anneal(from, to, pct)
            }
            None => f64::NAN,
        };
        Some(m as f32)
    }

    /// # Errors
    /// torch's `ValueError`s: `"total_steps"` if 0, `"pct_start"` outside `[0, 1]` (NaN
    /// included). Also `"pct_start"` when `pct_start · total_steps = 1` (torch divides by
    /// zero at construction), `"max_lr"` if negative or not finite, `"div_factor"` and
    /// `"final_div_factor"` unless finite and `> 0`, and with `cycle_momentum`
    /// `"base_momentum"` or `"max_momentum"` if negative or not finite.
    fn validate(&self) -> Result<()> {
        if self.total_steps == 0 {
            return Err(Error::InvalidHyperParameter {
                what: "total_steps",
            });
        }
        let p = self.pct_start;
        if !(0.0..=1.0).contains(&p) || p * self.total_steps as f64 - 1.0 == 0.0 {
            return Err(Error::InvalidHyperParameter { what: "pct_start" });
        }
        check_nonneg("max_lr", self.max_lr)?;
        check_positive("div_factor", self.div_factor)?;
        check_positive("final_div_factor", self.final_div_factor)?;
        check_cycled_momentum(self.cycle_momentum, self.base_momentum, self.max_momentum)
    }
}
