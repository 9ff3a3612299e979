//! Normalisation layers, as torch's `nn.LayerNorm`, `nn.BatchNorm1d` and `nn.BatchNorm2d`:
//! forward for inference, forward for training (which saves the statistics backward needs),
//! and backward.
//!
//! * [`LayerNorm`] normalises each row of a row-major `[rows, features]` slice over its last
//!   dimension.
//! * [`BatchNorm`] normalises each channel of a `[batch, channels]`, `[batch, channels,
//!   length]` or `[batch, channels, height, width]` slice over the batch and the positions,
//!   and keeps running statistics for evaluation.
//!
//! Both use the **biased** variance (÷n) with `eps` inside the square root:
//! `x̂ = (x − mean)/√(var + eps)`, `y = x̂·weight + bias`, and the same backward
//! `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))` with `g = dy·weight` and `rstd = 1/√(var + eps)`.
//! Parameter gradients **accumulate** (`dweight += Σ dy·x̂`, `dbias += Σ dy`), as autograd adds
//! into `.grad`; the input gradient `dx` is **written**. Each parameter gradient is summed on
//! its own first and then added, so two identical backward calls give exactly twice one.
//!
//! # Robust statistics
//! The statistics are computed in two passes relative to a *pivot*, the first value of the
//! reduced set: `δ = mean(x − pivot)`, then `var = mean(((x − pivot) − δ)²)`. The pivot makes
//! `x − pivot` exact (or nearly so) when the mean is much larger than the spread (mean `1e4`,
//! std `1e-2`), where the one-pass `E[x²] − E[x]²` cancels catastrophically and even a plain
//! two-pass mean loses digits to the rounding of the mean itself. For the same reason the
//! saved statistics hold the mean *relative to the pivot* (`δ`), not the mean: backward
//! recomputes `x̂` from `x` and loses nothing.
//!
//! # Instruction sets
//! Every call runs once on the lanes [`crate::simd::dispatch`] picks: the AVX2+FMA lanes where
//! the CPU has them, the portable lanes elsewhere. The AVX2 lanes fuse the multiply-adds
//! (`x̂·weight + bias`, the sums of squares and of `dy·x̂`) into one rounding, so their results
//! may differ from the portable lanes' by about an ulp of those terms; both stay within the
//! tolerances of `tests/norm.rs` against an `f64` reference, which run on every available
//! instruction set.
//!
//! # Errors
//! Every call checks everything before it writes anything: [`Error::InvalidHyperParameter`]
//! for `eps` < 0 or NaN and (batch norm) a momentum outside `[0, 1]`,
//! [`Error::ZeroDimension`] for zero features, [`Error::LengthMismatch`] for any slice of the
//! wrong length. An optional slice (`Option<&[f32]>`) that must be absent counts as length 0.
//!
//! [`Error::InvalidHyperParameter`]: crate::Error::InvalidHyperParameter
//! [`Error::ZeroDimension`]: crate::Error::ZeroDimension
//! [`Error::LengthMismatch`]: crate::Error::LengthMismatch

mod batch_norm;
mod layer_norm;

pub use batch_norm::BatchNorm;
pub use layer_norm::LayerNorm;

use crate::error::{check_len, check_nonzero, Error};
use crate::layer::Grads;
use crate::simd::{load_at_in, Float8, Lanes};
use crate::Result;

/// torch's default `eps` for both layers.
pub const DEFAULT_EPS: f32 = 1e-5;

/// `eps ≥ 0`, NaN rejected.
fn check_eps(eps: f32) -> Result<()> {
    if eps >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what: "eps" })
    }
}

/// `len / features` when `features ≠ 0` divides `len` (`features` is named `what_features`).
fn rows_of(what: &'static str, len: usize, features: usize, dim: &'static str) -> Result<usize> {
    check_nonzero(dim, features)?;
    let rows = len.checked_div(features).unwrap_or(0);
    if len.checked_rem(features) == Some(0) {
        Ok(rows)
    } else {
        Err(Error::LengthMismatch {
            what,
            expected: rows.saturating_mul(features),
            actual: len,
        })
    }
}

/// `None` for an empty slice: after the length checks an empty weight or bias is an absent
/// one (the layer has no affine parameters), never a weight of zeros.
fn present(s: &[f32]) -> Option<&[f32]> {
    (!s.is_empty()).then_some(s)
}

/// The lengths of a backward call's `dy` and `dx` (those of `x`) and of the gradients asked
/// for (`(weight_len, bias_len)`).
fn check_grads(
    x: &[f32],
    dy: &[f32],
    dx: Option<&[f32]>,
    grads: &Grads<'_>,
    (weight_len, bias_len): (usize, usize),
) -> Result<()> {
    check_len("dy", dy.len(), x.len())?;
    if let Some(dx) = dx {
        check_len("dx", dx.len(), x.len())?;
    }
    if let Some(dw) = &grads.weight {
        check_len("dweight", dw.len(), weight_len)?;
    }
    if let Some(db) = &grads.bias {
        check_len("dbias", db.len(), bias_len)?;
    }
    Ok(())
}

/// The slices of a forward call after its checks (absent affine parameters as `None`).
struct Forward<'a> {
    x: &'a [f32],
    weight: Option<&'a [f32]>,
    bias: Option<&'a [f32]>,
    y: &'a mut [f32],
    /// `x.len() / features`, as the checks worked it out.
    rows: usize,
    features: usize,
    eps: f32,
}

/// The slices of a backward call after its checks (a frozen or absent parameter as `None`).
struct Backward<'a> {
    x: &'a [f32],
    weight: Option<&'a [f32]>,
    dy: &'a [f32],
    /// `None` when the input gradient is not wanted.
    dx: Option<&'a mut [f32]>,
    dweight: Option<&'a mut [f32]>,
    dbias: Option<&'a mut [f32]>,
    /// `x.len() / features`, as the checks worked it out.
    rows: usize,
    features: usize,
}

/// `1/√(var + eps)`, computed in f64 and rounded once.
#[inline]
fn rstd(var: f64, eps: f32) -> f32 {
    (1.0 / crate::simd::sqrt_f64(var + f64::from(eps))) as f32
}

/// The lanes of an optional slice from `i` (zero-padded past its end), or `fill` when it is
/// absent.
#[inline(always)]
fn ld_or<L: Lanes>(l: L, s: Option<&[f32]>, i: usize, fill: L::F) -> L::F {
    match s {
        Some(s) => load_at_in(l, s, i),
        None => fill,
    }
}

/// Applies `f` to each of the eight lanes of `v` as a scalar.
#[inline(always)]
fn per_lane<L: Lanes>(l: L, v: L::F, f: impl Fn(f32) -> f32) -> L::F {
    let mut a = v.to_array();
    for x in a.iter_mut() {
        *x = f(*x);
    }
    l.load(&a)
}
