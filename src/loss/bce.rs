//! Binary cross-entropy on logits.

use super::sum::{fold2, LaneSum};
use super::{check_elementwise, Reduction};
use crate::error::check_nonzero;
use crate::simd::math::{exp, ln_1p};
use crate::simd::{f32x8, LANES};
use crate::{Error, Result};

/// Binary cross-entropy on logits, torch's
/// `F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight, reduction=…)`.
///
/// For each element, with logit `x`, target `t` (usually in `[0, 1]`), the positive weight
/// `p` (1 without `pos_weight`) and `w = 1 + (p − 1)·t`:
///
/// `ℓ = −[p·t·ln σ(x) + (1 − t)·ln(1 − σ(x))] = (1 − t)·x + w·softplus(−x)`,
///
/// and `loss = s · Σ ℓ` with `s = 1/n` over **all** `n` elements (mean) or `1` (sum).
/// It is evaluated without cancellation for logits of any size as
/// `ℓ = (1 − t)·x + w·ln(1 + e^−|x|)` for `x ≥ 0` and `ℓ = −p·t·x + w·ln(1 + e^−|x|)` for
/// `x < 0` (the same value as torch's `(1 − t)·x + w·(ln(1 + e^−|x|) + max(−x, 0))`).
///
/// The gradient `gradᵢ = s · (w·σ(x) − p·t)` is evaluated as
/// `s · ((1 − t)·σ(x) − p·t·σ(−x))`, with `σ(±x)` formed from `e^−|x|`, so it keeps its
/// relative accuracy where σ saturates.
///
/// `pos_weight` has one weight per class, `C = pos_weight.len()`; it broadcasts over the last
/// dimension of `input` (row-major `[…, C]`, so `input.len()` must be a multiple of `C`) and
/// weights the positive term only, as torch's does.
///
/// # Errors
/// [`Error::ZeroDimension`] for an empty `input` (`"input"`) or an empty `pos_weight`
/// (`"pos_weight"`); [`Error::LengthMismatch`] when `target` (`"target"`) or `grad`
/// (`"grad"`) is not as long as `input`, or when `pos_weight`'s length does not divide
/// `input`'s (`"pos_weight"`, with `expected` = `input.len()`, a length that always fits).
/// Nothing is written on error.
pub fn binary_cross_entropy_with_logits(
    input: &[f32],
    target: &[f32],
    pos_weight: Option<&[f32]>,
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    check_elementwise(input, target, grad.as_deref())?;
    let n = input.len();
    if let Some(pw) = pos_weight {
        check_nonzero("pos_weight", pw.len())?;
        if !n.is_multiple_of(pw.len()) {
            return Err(Error::LengthMismatch {
                what: "pos_weight",
                expected: n,
                actual: pw.len(),
            });
        }
    }
    let s = f32x8::splat(reduction.grad_scale(n));
    let mut acc = LaneSum::new();
    match pos_weight {
        None => fold2(input, target, grad, &mut acc, |x, t| {
            bce_lanes(x, t, f32x8::ONE, s)
        }),
        Some(pw) => {
            // Lane k of each chunk of eight takes the weight of its class, cycling through
            // `pos_weight` (no division per element). The chunks run over the whole input, so
            // short rows still spread over all eight lanes of the sum.
            let mut class = 0usize;
            fold2(input, target, grad, &mut acc, |x, t| {
                let mut p = [1.0f32; LANES];
                for w in p.iter_mut() {
                    *w = pw.get(class).copied().unwrap_or(1.0);
                    class += 1;
                    if class >= pw.len() {
                        class = 0;
                    }
                }
                bce_lanes(x, t, f32x8::new(p), s)
            })
        }
    }
    Ok(reduction.finish(acc.total(), n))
}

/// The loss and gradient lanes of [`binary_cross_entropy_with_logits`] for logits `x`,
/// targets `t`, positive weights `p` and gradient scale `s`.
#[inline(always)]
fn bce_lanes(x: f32x8, t: f32x8, p: f32x8, s: f32x8) -> (f32x8, f32x8) {
    let one = f32x8::ONE;
    // e = e^−|x| ∈ (0, 1]: no overflow for any x.
    let e = exp(-x.abs());
    let r = one / (one + e);
    let sig_abs = r; // σ(|x|)
    let sig_neg_abs = e * r; // σ(−|x|) = 1 − σ(|x|), without cancellation
    let nonneg = x.simd_ge(f32x8::ZERO);
    let sig = nonneg.select(sig_abs, sig_neg_abs); // σ(x)
    let sig_neg = nonneg.select(sig_neg_abs, sig_abs); // σ(−x)
    let pt = p * t;
    let w = one + (p - one) * t;
    let one_minus_t = one - t;
    let linear = nonneg.select(one_minus_t, -pt);
    let loss = linear * x + w * ln_1p(e);
    let grad = s * (one_minus_t * sig - pt * sig_neg);
    (loss, grad)
}
