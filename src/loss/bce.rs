//! Binary cross-entropy on logits.

use super::sum::{elementwise, ElemLoss};
use super::{check_elementwise, Reduction};
use crate::error::check_nonzero;
use crate::simd::math::{exp_lanes, ln_1p_lanes};
use crate::simd::{Float8, Lanes, LANES};
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
    let s = reduction.grad_scale(n);
    let total = match pos_weight {
        None => elementwise(input, target, grad, Bce { s }),
        Some(pw) => elementwise(input, target, grad, BcePosWeight { s, pw, class: 0 }),
    };
    Ok(reduction.finish(total, n))
}

/// The lanes of [`binary_cross_entropy_with_logits`] without `pos_weight`.
struct Bce {
    s: f32,
}

impl ElemLoss for Bce {
    #[inline(always)]
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F) {
        bce_lanes(l, x, t, l.splat(1.0), l.splat(self.s))
    }
}

/// The lanes of [`binary_cross_entropy_with_logits`] with `pos_weight`: lane `k` of each
/// vector takes the weight of its class, cycling through `pos_weight` (no division per
/// element). The vectors run over the whole input, so short rows still spread over all eight
/// lanes of the sum.
struct BcePosWeight<'a> {
    s: f32,
    pw: &'a [f32],
    /// The class of the next element.
    class: usize,
}

impl ElemLoss for BcePosWeight<'_> {
    #[inline(always)]
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F) {
        let mut p = [1.0f32; LANES];
        for w in p.iter_mut() {
            *w = self.pw.get(self.class).copied().unwrap_or(1.0);
            self.class += 1;
            if self.class >= self.pw.len() {
                self.class = 0;
            }
        }
        bce_lanes(l, x, t, l.load(&p), l.splat(self.s))
    }
}

/// The loss and gradient lanes of [`binary_cross_entropy_with_logits`] for logits `x`,
/// targets `t`, positive weights `p` and gradient scale `s`.
#[inline(always)]
fn bce_lanes<L: Lanes>(l: L, x: L::F, t: L::F, p: L::F, s: L::F) -> (L::F, L::F) {
    let one = l.splat(1.0);
    // e = e^−|x| ∈ (0, 1]: no overflow for any x.
    let e = exp_lanes(l, -x.abs());
    let r = one / (one + e);
    let sig_abs = r; // σ(|x|)
    let sig_neg_abs = e * r; // σ(−|x|) = 1 − σ(|x|), without cancellation
    let nonneg = x.simd_ge(l.splat(0.0));
    let sig = nonneg.select(sig_abs, sig_neg_abs); // σ(x)
    let sig_neg = nonneg.select(sig_neg_abs, sig_abs); // σ(−x)
    let pt = p * t;
    let w = one + (p - one) * t;
    let one_minus_t = one - t;
    let linear = nonneg.select(one_minus_t, -pt);
    let loss = linear * x + w * ln_1p_lanes(l, e);
    let grad = s * (one_minus_t * sig - pt * sig_neg);
    (loss, grad)
}
