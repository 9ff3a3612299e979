//! `CyclicLR`: triangles between `base_lr` and `max_lr` (Smith's cyclical learning rates).

use super::{check_cycled_momentum, check_nonneg, check_nonzero, powu, Schedule};
use crate::Result;

/// The amplitude policy of [`CyclicLR`], torch's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CyclicMode {
    /// The full amplitude in every cycle (torch's default).
    #[default]
    Triangular,
    /// The amplitude halves at each cycle: `1/2^(cycle−1)`.
    Triangular2,
    /// The amplitude decays every step: `γ^t`.
    ExpRange,
}

/// What a custom [`CyclicLR::scale_fn`] is evaluated on, torch's `scale_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScaleMode {
    /// The cycle number, from 1 (torch's default).
    #[default]
    Cycle,
    /// The step number `t`.
    Iterations,
}

/// Cyclical learning rates, torch's `CyclicLR(optimizer, base_lr, max_lr, step_size_up=2000,
/// step_size_down=None, mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
/// cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)`.
///
/// With `up = step_size_up`, `down = step_size_down` (`None` means `up`), `c = up + down`,
/// `r = up/c`:
///
/// ```text
/// cycle = 1 + ⌊t / c⌋          x = (t mod c) / c
/// scale = x/r if x ≤ r, else (x − 1)/(r − 1)      (0 → 1 → 0 over a cycle)
/// lr(t) = base_lr + (max_lr − base_lr) · scale · amplitude
/// momentum(t) = max_momentum − (max_momentum − base_momentum) · scale · amplitude
/// ```
///
/// The amplitude is 1 ([`CyclicMode::Triangular`]), `1/2^(cycle−1)`
/// ([`CyclicMode::Triangular2`]) or `γ^t` ([`CyclicMode::ExpRange`]). As in torch, the mode
/// fixes what the amplitude is evaluated on, and `scale_mode` only applies to a custom
/// `scale_fn` (which replaces the mode).
///
/// torch **overwrites the optimizer's lr with `base_lr`** at construction, so `lr(0) =
/// base_lr` whatever the optimizer had, and with `cycle_momentum` the momentum starts at
/// `max_momentum`. torch counts batches: one `step()` per batch.
///
/// # Invalid fields
/// `step_size_up = 0` (torch divides by zero at construction): NaN at every step.
#[derive(Clone, Copy, Debug)]
pub struct CyclicLR {
    /// The lower bound of the cycle (and the value at `t = 0`).
    pub base_lr: f64,
    /// The upper bound of the cycle (reached at the peak when the amplitude is 1).
    pub max_lr: f64,
    /// Steps of the rising half; at least 1. torch's default: 2000.
    pub step_size_up: u64,
    /// Steps of the falling half (0 gives a sawtooth); `None` means `step_size_up`
    /// (torch's default).
    pub step_size_down: Option<u64>,
    /// The amplitude policy. Default: triangular.
    pub mode: CyclicMode,
    /// The decay of [`CyclicMode::ExpRange`], `≥ 0`. torch's default: 1.0.
    pub gamma: f64,
    /// A custom amplitude in place of the mode's, torch's `scale_fn` (`0 ≤ f(x) ≤ 1`).
    pub scale_fn: Option<fn(f64) -> f64>,
    /// What `scale_fn` is evaluated on; ignored without `scale_fn`. Default: cycle.
    pub scale_mode: ScaleMode,
    /// Cycle the momentum inversely to the lr. torch's default: `true`.
    pub cycle_momentum: bool,
    /// The momentum at the lr's peak. torch's default: 0.8.
    pub base_momentum: f64,
    /// The momentum at `t = 0` and at the cycle's ends. torch's default: 0.9.
    pub max_momentum: f64,
}

impl CyclicLR {
    /// `base_lr` and `max_lr` as given, torch's defaults for the rest.
    pub const fn new(base_lr: f64, max_lr: f64) -> Self {
        CyclicLR {
            base_lr,
            max_lr,
            step_size_up: 2000,
            step_size_down: None,
            mode: CyclicMode::Triangular,
            gamma: 1.0,
            scale_fn: None,
            scale_mode: ScaleMode::Cycle,
            cycle_momentum: true,
            base_momentum: 0.8,
            max_momentum: 0.9,
        }
    }

    /// `scale · amplitude` after `step` steps, or `None` when `step_size_up = 0`.
    fn height(&self, step: u64) -> Option<f64> {
        let up = self.step_size_up;
        let down = self.step_size_down.unwrap_or(up);
        if up == 0 {
            return None;
        }
        // u128: `up + down` cannot overflow, and `up ≥ 1` makes the divisor non-zero.
        let total = up as u128 + down as u128;
        let cycle = 1 + step as u128 / total;
        let x = (step as u128 % total) as f64 / total as f64;
        let ratio = up as f64 / total as f64;
        let scale = if x <= ratio {
            x / ratio
        } else {
            (x - 1.0) / (ratio - 1.0)
        };
        let cycle = cycle as f64;
        let amplitude = match (self.scale_fn, self.scale_mode) {
            (Some(f), ScaleMode::Cycle) => f(cycle),
            (Some(f), ScaleMode::Iterations) => f(step as f64),
            (None, _) => match self.mode {
                CyclicMode::Triangular => 1.0,
                CyclicMode::Triangular2 => 1.0 / libm::pow(2.0, cycle - 1.0),
                CyclicMode::ExpRange => powu(self.gamma, step),
            },
        };
        Some(scale * amplitude)
    }
}

impl Schedule for CyclicLR {
    fn lr_at_f64(&self, step: u64) -> f64 {
        match self.height(step) {
            Some(h) => self.base_lr + (self.max_lr - self.base_lr) * h,
            None => f64::NAN,
        }
    }

    fn factor_at(&self, step: u64) -> f64 {
        self.lr_at_f64(step) / self.base_lr
    }

    fn momentum_at(&self, step: u64) -> Option<f32> {
        if !self.cycle_momentum {
            return None;
        }
        let (lo, hi) = (self.base_momentum, self.max_momentum);
        let m = match self.height(step) {
            Some(h) => hi - (hi - lo) * h,
            None => f64::NAN,
        };
        Some(m as f32)
    }

    /// # Errors
    /// `"base_lr"`, `"max_lr"` or `"gamma"` if negative or not finite; `"step_size_up"` if 0;
    /// with `cycle_momentum`, `"base_momentum"` or `"max_momentum"` if negative or not finite.
    fn validate(&self) -> Result<()> {
        check_nonneg("base_lr", self.base_lr)?;
        check_nonneg("max_lr", self.max_lr)?;
        check_nonzero("step_size_up", self.step_size_up)?;
        check_nonneg("gamma", self.gamma)?;
        check_cycled_momentum(self.cycle_momentum, self.base_momentum, self.max_momentum)
    }
}
