//! Negative log-likelihood on log-probabilities.

use super::{check_class_targets, Reduction};
use crate::rows::{by_rows, by_rows_mut};
use crate::Result;

/// Negative log-likelihood, torch's `F.nll_loss(log_probs, target, reduction=…)` (no class
/// weights, no `ignore_index`).
///
/// `log_probs` is `[B, classes]` row-major (typically a log-softmax output) and
/// `B = target.len()`. `loss = s · Σ_b −log_probs[b, target[b]]` with `s = 1/B` (mean,
/// over the batch) or `1` (sum). The gradient is `−s` at `[b, target[b]]` and `0` elsewhere;
/// `grad`, when given, is written in full.
///
/// # Errors
/// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `classes` (`"classes"`) or
/// `B` (`"batch"`) is zero; [`Error::DimensionOverflow`](crate::Error::DimensionOverflow)
/// (`"log_probs"`) when `B·classes` overflows; [`Error::LengthMismatch`](crate::Error::LengthMismatch)
/// when `log_probs` (`"log_probs"`) or `grad` (`"grad"`) is not `B·classes` long;
/// [`Error::ClassOutOfRange`](crate::Error::ClassOutOfRange) for the first
/// `target[b] ≥ classes`. Nothing is written on error.
pub fn nll(
    log_probs: &[f32],
    target: &[usize],
    classes: usize,
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    check_class_targets("log_probs", log_probs, target, classes, grad.as_deref())?;
    let b = target.len();
    let mut total = 0.0f64;
    for (row, &t) in by_rows(log_probs, classes).zip(target) {
        if let Some(&v) = row.get(t) {
            total -= f64::from(v);
        }
    }
    if let Some(g) = grad {
        let s = reduction.grad_scale(b);
        for (row, &t) in by_rows_mut(g, classes).zip(target) {
            row.fill(0.0);
            if let Some(v) = row.get_mut(t) {
                *v = -s;
            }
        }
    }
    Ok(reduction.finish(total, b))
}
