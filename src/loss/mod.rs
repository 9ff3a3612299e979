//! Losses: the value of a loss and its gradient with respect to the input, in one pass.
//!
//! Every function follows `torch.nn.functional` (names, defaults, reductions, label smoothing,
//! `pos_weight`) and returns the reduced loss as `f32`. When `grad` is `Some`, it is **written**
//! (not accumulated) with `∂loss/∂input`, the reduction's `1/n` included, so it can be handed
//! straight to a layer's backward pass. Nothing is written when the call returns `Err`: every
//! argument is checked first.
//!
//! | function | torch | mean divides by |
//! |---|---|---|
//! | [`mse`] | `F.mse_loss` | all elements |
//! | [`l1`] | `F.l1_loss` | all elements |
//! | [`huber`] | `F.huber_loss` | all elements |
//! | [`smooth_l1`] | `F.smooth_l1_loss` | all elements |
//! | [`binary_cross_entropy_with_logits`] | `F.binary_cross_entropy_with_logits` | all elements |
//! | [`cross_entropy`](fn@cross_entropy) | `F.cross_entropy`, class-index targets | the batch `B` |
//! | [`cross_entropy_probs`] | `F.cross_entropy`, probability targets | the batch `B` (not `B·C`) |
//! | [`nll`](fn@nll) | `F.nll_loss` | the batch `B` |
//!
//! torch's per-class `weight`, `ignore_index` and `reduction="none"` are not offered.
//!
//! Numerics: the element losses are summed by the crate's blocked reduction (eight `f32` lanes
//! within blocks of 256 elements, the blocks in `f64`), so the rounding error of a sum of `n`
//! non-negative terms stays below ~40 `u` (`u = 2⁻²⁴`) relative for any `n`: `35·u` for the sum,
//! plus the terms' own rounding. Softmax rows are summed in lanes (or
//! sequentially for rows of at most 16 classes), the per-sample losses in `f64`. Softmax-based
//! losses subtract the row maximum before exponentiating (finite for logits of any magnitude),
//! and the logistic loss uses a form without cancellation; see each function. Exponentials and
//! logarithms come from [`crate::simd::math`].
//!
//! Every call runs once on the lanes [`crate::simd::dispatch`] picks: the AVX2+FMA lanes where
//! the CPU has them, the portable lanes elsewhere. The two may differ by the rounding of the
//! multiply-adds the AVX2 lanes fuse (inside `exp` and `ln_1p`); the bounds above hold on both,
//! and the tests check every function on every available instruction set.
//!
//! ```
//! use descent::loss::{cross_entropy, Reduction};
//!
//! // Two samples, three classes.
//! let logits = [2.0, 0.5, -1.0, 0.0, 0.0, 3.0];
//! let target = [0, 2];
//! let mut grad = [0.0; 6];
//! let l = cross_entropy(&logits, &target, 3, 0.0, Some(&mut grad), Reduction::Mean)?;
//! assert!(l > 0.0);
//! // Each row of the gradient is (softmax − one_hot) / B and sums to zero.
//! assert!((grad[0] + grad[1] + grad[2]).abs() < 1e-7);
//! # Ok::<(), descent::Error>(())
//! ```

mod bce;
mod cross_entropy;
mod nll;
mod regression;
mod sum;

pub use bce::binary_cross_entropy_with_logits;
pub use cross_entropy::{cross_entropy, cross_entropy_probs};
pub use nll::nll;
pub use regression::{huber, l1, mse, smooth_l1};

use crate::error::{check_len, check_nonzero};
use crate::{Error, Result};

/// How the per-element (or per-sample) losses are combined: torch's `reduction` argument.
///
/// torch's `"none"` is not offered (it needs an output buffer per element and a gradient
/// from upstream; compose an element-wise kernel for that).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean: the sum divided by the number of elements, or by the batch size `B` for
    /// the class losses ([`cross_entropy`](fn@cross_entropy), [`cross_entropy_probs`],
    /// [`nll`](fn@nll)). torch's default.
    #[default]
    Mean,
    /// The plain sum.
    Sum,
}

impl Reduction {
    /// The factor applied to every gradient element: `1/n` for the mean, `1` for the sum.
    ///
    /// Computed in `f64` and rounded once, as torch does with its `norm` scalar.
    #[inline]
    pub(crate) fn grad_scale(self, n: usize) -> f32 {
        match self {
            Reduction::Mean => (1.0 / n as f64) as f32,
            Reduction::Sum => 1.0,
        }
    }

    /// Reduces a sum of `n` terms accumulated in `f64` to the loss.
    #[inline]
    pub(crate) fn finish(self, total: f64, n: usize) -> f32 {
        match self {
            Reduction::Mean => (total / n as f64) as f32,
            Reduction::Sum => total as f32,
        }
    }
}

/// The checks shared by the element-wise losses: a non-empty `input`, a `target` and a
/// `grad` of the same length.
fn check_elementwise(input: &[f32], target: &[f32], grad: Option<&[f32]>) -> Result<()> {
    check_nonzero("input", input.len())?;
    check_len("target", target.len(), input.len())?;
    if let Some(g) = grad {
        check_len("grad", g.len(), input.len())?;
    }
    Ok(())
}

/// The checks shared by the class-index losses ([`cross_entropy`](fn@cross_entropy),
/// [`nll`](fn@nll)): `classes > 0`, `B = target.len() > 0`, `input` of `B·classes` elements
/// (named `what`), `grad` alike, and every target below `classes`.
fn check_class_targets(
    what: &'static str,
    input: &[f32],
    target: &[usize],
    classes: usize,
    grad: Option<&[f32]>,
) -> Result<()> {
    check_nonzero("classes", classes)?;
    check_nonzero("batch", target.len())?;
    let n = crate::error::checked_len(what, target.len(), classes)?;
    check_len(what, input.len(), n)?;
    if let Some(g) = grad {
        check_len("grad", g.len(), n)?;
    }
    match target.iter().enumerate().find(|(_, &t)| t >= classes) {
        Some((sample, &index)) => Err(Error::ClassOutOfRange {
            sample,
            index,
            classes,
        }),
        None => Ok(()),
    }
}

/// `label_smoothing` must lie in `[0, 1]` (NaN is rejected), as torch checks.
fn check_label_smoothing(label_smoothing: f32) -> Result<()> {
    if (0.0..=1.0).contains(&label_smoothing) {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter {
            what: "label_smoothing",
        })
    }
}
