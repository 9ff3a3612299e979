//! Metrics over a whole set of outputs, and the loss a training loop minimises.

use super::{Targets, TrainError};
use crate::loss::{self, Reduction};

/// The fraction of rows of `outputs` (`[n, classes]`) whose largest entry is at the label
/// (torch's `(out.argmax(1) == y).float().mean()`; the first maximum wins a tie, NaN never
/// wins).
pub fn accuracy(outputs: &[f32], labels: &[usize], classes: usize) -> f32 {
    if classes == 0 || labels.is_empty() {
        return 0.0;
    }
    let correct = outputs
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, label)| argmax(row) == Some(**label))
        .count();
    correct as f32 / labels.len() as f32
}

/// The index of the first largest entry, `None` for an empty or all-NaN row.
pub fn argmax(row: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, v) in row.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| *v > b) {
            best = Some((i, *v));
        }
    }
    best.map(|(i, _)| i)
}

/// Mean absolute error `Σ|p − t| / n` (in f64, rounded once).
pub fn mae(predictions: &[f32], targets: &[f32]) -> f32 {
    mean_f64(predictions, targets, |d| d.abs())
}

/// Mean squared error `Σ(p − t)² / n` (in f64, rounded once).
pub fn mse(predictions: &[f32], targets: &[f32]) -> f32 {
    mean_f64(predictions, targets, |d| d * d)
}

/// `Σ f(p − t) / n` over the common length, in f64 and rounded once; 0 when it is empty.
fn mean_f64(predictions: &[f32], targets: &[f32], f: impl Fn(f64) -> f64) -> f32 {
    let n = predictions.len().min(targets.len());
    if n == 0 {
        return 0.0;
    }
    let s: f64 = predictions
        .iter()
        .zip(targets)
        .map(|(p, t)| f(f64::from(*p) - f64::from(*t)))
        .sum();
    (s / n as f64) as f32
}

/// The loss a training loop minimises, with mean reduction (torch's default): the model's
/// last layer gives logits for the classification losses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// `F.cross_entropy(logits, labels, label_smoothing)`.
    CrossEntropy {
        /// torch's `label_smoothing` (0 for none).
        label_smoothing: f32,
    },
    /// `F.mse_loss`.
    Mse,
    /// `F.l1_loss`.
    L1,
    /// `F.huber_loss(delta)`.
    Huber {
        /// torch's `delta`.
        delta: f32,
    },
    /// `F.smooth_l1_loss(beta)`.
    SmoothL1 {
        /// torch's `beta`.
        beta: f32,
    },
}

impl Loss {
    /// The loss of `outputs` against `targets` (mean over the batch), writing its gradient
    /// into `grad` when given.
    ///
    /// # Errors
    /// [`TrainError::Data`] when a class loss meets value targets or the reverse;
    /// [`TrainError::Kernel`] from the loss kernel (shapes, labels out of range).
    pub fn value(
        &self,
        outputs: &[f32],
        targets: &Targets,
        grad: Option<&mut [f32]>,
    ) -> Result<f32, TrainError> {
        let mean = Reduction::Mean;
        let v = match (self, targets) {
            (Loss::CrossEntropy { label_smoothing }, Targets::Classes { classes, labels }) => {
                loss::cross_entropy(outputs, labels, *classes, *label_smoothing, grad, mean)?
            }
            (Loss::Mse, Targets::Values { values, .. }) => loss::mse(outputs, values, grad, mean)?,
            (Loss::L1, Targets::Values { values, .. }) => loss::l1(outputs, values, grad, mean)?,
            (Loss::Huber { delta }, Targets::Values { values, .. }) => {
                loss::huber(outputs, values, *delta, grad, mean)?
            }
            (Loss::SmoothL1 { beta }, Targets::Values { values, .. }) => {
                loss::smooth_l1(outputs, values, *beta, grad, mean)?
            }
            _ => {
                return Err(TrainError::Data(std::format!(
                    "loss {self:?} does not fit the data set's targets"
                )))
            }
        };
        Ok(v)
    }
}
