//! `ReduceLROnPlateau`: the one stateful schedule, driven by a metric.

use super::check_nonneg;
use crate::{Error, Result};

/// Whether [`ReduceLROnPlateau`] wants the metric to fall or rise, torch's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (a loss). torch's default.
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How [`ReduceLROnPlateau`] measures a significant improvement, torch's `threshold_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Relative: better than `best·(1 ∓ threshold)`. torch's default.
    #[default]
    Rel,
    /// Absolute: better than `best ∓ threshold`.
    Abs,
}

/// Reduce the learning rate when a metric stops improving, torch's
/// `ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
/// threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8)`.
///
/// Each [`step`](ReduceLROnPlateau::step)`(metric)`, exactly as torch:
///
/// 1. the metric is *better* if (strictly) `a < best·(1 − threshold)` (min, rel),
///    `a < best − threshold` (min, abs), `a > best·(1 + threshold)` (max, rel) or
///    `a > best + threshold` (max, abs), where `best` starts at `+∞` (min) or `−∞` (max).
///    A better metric becomes `best` and resets `num_bad_epochs`; otherwise
///    `num_bad_epochs += 1`;
/// 2. during a cooldown (`cooldown_counter > 0`), the counter is decremented and
///    `num_bad_epochs` reset;
/// 3. if `num_bad_epochs > patience` (strictly), `new = max(lr·factor, min_lr)` replaces `lr`
///    only if `lr − new > eps`; then `cooldown_counter = cooldown` and `num_bad_epochs = 0`.
///
/// With negative metrics in max/rel mode the threshold works backwards, as in torch
/// (`best·(1 + threshold)` is *below* `best`): a metric equal to `best` counts as better.
/// A NaN metric is never better (every comparison with NaN is false) and never panics.
///
/// The state is in public fields, as torch's attributes are, so a checkpoint can save and
/// restore it. `best = None` stands for torch's initial `±∞` (it does not depend on when
/// `mode` was set).
///
/// ```
/// use descent::schedule::ReduceLROnPlateau;
///
/// let mut s = ReduceLROnPlateau { factor: 0.5, patience: 1, ..ReduceLROnPlateau::new(0.1) };
/// s.validate()?;
/// let lrs: Vec<f32> = [1.0, 0.5, 0.6, 0.7, 0.4].iter().map(|&loss| s.step(loss)).collect();
/// // 0.6 and 0.7 are two bad epochs in a row (> patience = 1): halve.
/// assert_eq!(lrs, [0.1, 0.1, 0.1, 0.05, 0.05]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceLROnPlateau {
    /// The current learning rate (torch: the optimizer's `lr`), changed by `step`.
    pub lr: f64,
    /// Minimise or maximise the metric. Default: min.
    pub mode: PlateauMode,
    /// The reduction, `new = lr·factor`; in `[0, 1)`. torch's default: 0.1.
    pub factor: f64,
    /// Bad epochs tolerated before a reduction. torch's default: 10.
    pub patience: u64,
    /// The margin of a significant improvement, `≥ 0`. torch's default: 1e-4.
    pub threshold: f64,
    /// Relative or absolute `threshold`. Default: relative.
    pub threshold_mode: ThresholdMode,
    /// Epochs without counting bad ones after a reduction. torch's default: 0.
    pub cooldown: u64,
    /// The lower bound of the lr, `≥ 0`. torch's default: 0.
    pub min_lr: f64,
    /// Reductions smaller than `eps` are skipped, `≥ 0`. torch's default: 1e-8.
    pub eps: f64,
    /// The best metric so far; `None` before the first better one (torch's `±∞`).
    pub best: Option<f64>,
    /// Bad epochs since the last improvement or reduction (torch's `num_bad_epochs`).
    pub num_bad_epochs: u64,
    /// Epochs of cooldown left (torch's `cooldown_counter`).
    pub cooldown_counter: u64,
    /// Calls to `step` so far (torch's `last_epoch`).
    pub last_epoch: u64,
}

impl ReduceLROnPlateau {
    /// A fresh scheduler for an optimizer whose lr is `lr`, with torch's defaults.
    pub const fn new(lr: f64) -> Self {
        ReduceLROnPlateau {
            lr,
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            best: None,
            num_bad_epochs: 0,
            cooldown_counter: 0,
            last_epoch: 0,
        }
    }

    /// Checks the hyper-parameters.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`]: `"factor"` unless `0 ≤ factor < 1` (torch raises for
    /// `factor ≥ 1`), `"lr"`, `"threshold"`, `"min_lr"` or `"eps"` if negative or not finite.
    pub fn validate(&self) -> Result<()> {
        check_nonneg("lr", self.lr)?;
        if !(self.factor >= 0.0 && self.factor < 1.0) {
            return Err(Error::InvalidHyperParameter { what: "factor" });
        }
        check_nonneg("threshold", self.threshold)?;
        check_nonneg("min_lr", self.min_lr)?;
        check_nonneg("eps", self.eps)
    }

    /// torch's `_is_better(a, best)`, strict.
    pub fn is_better(&self, a: f64) -> bool {
        let th = self.threshold;
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, mode) => {
                let best = self.best.unwrap_or(f64::INFINITY);
                match mode {
                    ThresholdMode::Rel => a < best * (1.0 - th),
                    ThresholdMode::Abs => a < best - th,
                }
            }
            (PlateauMode::Max, mode) => {
                let best = self.best.unwrap_or(f64::NEG_INFINITY);
                match mode {
                    ThresholdMode::Rel => a > best * (th + 1.0),
                    ThresholdMode::Abs => a > best + th,
                }
            }
        }
    }

    /// Whether a cooldown is running (torch's `in_cooldown`).
    pub fn in_cooldown(&self) -> bool {
        self.cooldown_counter > 0
    }

    /// The current learning rate, rounded to `f32` (torch's `get_last_lr()[0]`).
    pub fn last_lr(&self) -> f32 {
        self.lr as f32
    }

    /// Takes the epoch's metric, updates the state as torch's `step(metrics)` and returns the
    /// learning rate to use next.
    pub fn step(&mut self, metric: f32) -> f32 {
        let current = f64::from(metric);
        self.last_epoch = self.last_epoch.saturating_add(1);
        if self.is_better(current) {
            self.best = Some(current);
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs = self.num_bad_epochs.saturating_add(1);
        }
        if self.in_cooldown() {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let old = self.lr;
            let scaled = old * self.factor;
            // Python's `max(scaled, min_lr)`: the first unless the second is greater.
            let new = if self.min_lr > scaled {
                self.min_lr
            } else {
                scaled
            };
            if old - new > self.eps {
                self.lr = new;
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
        self.last_lr()
    }
}
