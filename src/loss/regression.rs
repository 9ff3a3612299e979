//! Regression losses on element pairs: mean squared error, L1, Huber and smooth L1.
//!
//! All four take `input` and `target` of the same length `n` and reduce over **all** elements
//! (the mean divides by `n`, as torch does), with `d = input − target`.

use super::sum::{fold2, LaneSum};
use super::{check_elementwise, Reduction};
use crate::simd::f32x8;
use crate::{Error, Result};

/// Mean squared error, torch's `F.mse_loss(input, target, reduction)`.
///
/// `loss = s · Σᵢ dᵢ²` with `dᵢ = inputᵢ − targetᵢ`, and the gradient
/// `gradᵢ = ∂loss/∂inputᵢ = 2·s·dᵢ`, where `s = 1/n` for [`Reduction::Mean`] and `1` for
/// [`Reduction::Sum`].
///
/// `grad`, when given, is written (not accumulated).
///
/// # Errors
/// [`Error::ZeroDimension`] (`"input"`) for an empty input; [`Error::LengthMismatch`] when
/// `target` (`"target"`) or `grad` (`"grad"`) is not as long as `input`. Nothing is written
/// on error.
pub fn mse(
    input: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    check_elementwise(input, target, grad.as_deref())?;
    let n = input.len();
    // torch's `norm = 2/n` (or 2), rounded once to f32.
    let k = f32x8::splat(match reduction {
        Reduction::Mean => (2.0 / n as f64) as f32,
        Reduction::Sum => 2.0,
    });
    let mut acc = LaneSum::new();
    fold2(input, target, grad, &mut acc, |x, t| {
        let d = x - t;
        (d * d, k * d)
    });
    Ok(reduction.finish(acc.total(), n))
}

/// Mean absolute error, torch's `F.l1_loss(input, target, reduction)`.
///
/// `loss = s · Σᵢ |dᵢ|` with `dᵢ = inputᵢ − targetᵢ`, and `gradᵢ = s · sign(dᵢ)` with
/// `sign(0) = 0` (torch's subgradient) and NaN propagated; `s = 1/n` (mean) or `1` (sum).
///
/// # Errors
/// As [`mse`].
pub fn l1(
    input: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    check_elementwise(input, target, grad.as_deref())?;
    let n = input.len();
    let s = f32x8::splat(reduction.grad_scale(n));
    let mut acc = LaneSum::new();
    fold2(input, target, grad, &mut acc, |x, t| {
        let d = x - t;
        (d.abs(), s * sign(d))
    });
    Ok(reduction.finish(acc.total(), n))
}

/// Huber loss, torch's `F.huber_loss(input, target, reduction, delta)`.
///
/// With `dᵢ = inputᵢ − targetᵢ`:
/// `ℓᵢ = ½·dᵢ²` if `|dᵢ| < δ`, else `δ·(|dᵢ| − ½·δ)`; `loss = s · Σᵢ ℓᵢ`.
/// The gradient is `gradᵢ = s · clamp(dᵢ, −δ, δ)`; `s = 1/n` (mean) or `1` (sum).
///
/// Huber(δ) is `δ ·` [`smooth_l1`]`(β = δ)`: the quadratic part is not divided by δ, so
/// the two differ by a factor δ, not only in name.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"delta"`) unless `delta > 0` (NaN included), as torch
/// checks; otherwise as [`mse`].
pub fn huber(
    input: &[f32],
    target: &[f32],
    delta: f32,
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    if delta.is_nan() || delta <= 0.0 {
        return Err(Error::InvalidHyperParameter { what: "delta" });
    }
    check_elementwise(input, target, grad.as_deref())?;
    let n = input.len();
    let s = f32x8::splat(reduction.grad_scale(n));
    let vdelta = f32x8::splat(delta);
    let half_delta = f32x8::splat(0.5 * delta);
    let half = f32x8::splat(0.5);
    let mut acc = LaneSum::new();
    fold2(input, target, grad, &mut acc, |x, t| {
        let d = x - t;
        let a = d.abs();
        let quadratic = a.simd_lt(vdelta);
        let loss = quadratic.select(half * d * d, vdelta * (a - half_delta));
        // ±δ outside, d inside (and for NaN, which fails every comparison).
        let outer = d.simd_gt(f32x8::ZERO).select(vdelta, -vdelta);
        let g = a.simd_ge(vdelta).select(outer, d);
        (loss, s * g)
    });
    Ok(reduction.finish(acc.total(), n))
}

/// Smooth L1 loss, torch's `F.smooth_l1_loss(input, target, reduction, beta)`.
///
/// With `dᵢ = inputᵢ − targetᵢ`:
/// `ℓᵢ = ½·dᵢ²/β` if `|dᵢ| < β`, else `|dᵢ| − ½·β`; `loss = s · Σᵢ ℓᵢ`.
/// The gradient is `gradᵢ = s · dᵢ/β` inside, `s · sign(dᵢ)` outside (`|dᵢ| ≥ β`);
/// `s = 1/n` (mean) or `1` (sum).
///
/// `β = 0` is allowed, as in torch, and is the L1 loss. At exactly `d = 0` torch's kernel
/// then gives the gradient `−s` (its `x ≤ −β` branch) where [`l1`] gives 0; this follows
/// torch. [`huber`] with `δ = β` is `β ·` this loss.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"beta"`) unless `beta ≥ 0` (NaN included), as torch
/// checks; otherwise as [`mse`].
pub fn smooth_l1(
    input: &[f32],
    target: &[f32],
    beta: f32,
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    if beta.is_nan() || beta < 0.0 {
        return Err(Error::InvalidHyperParameter { what: "beta" });
    }
    check_elementwise(input, target, grad.as_deref())?;
    let n = input.len();
    let s = f32x8::splat(reduction.grad_scale(n));
    let vbeta = f32x8::splat(beta);
    let half_beta = f32x8::splat(0.5 * beta);
    let half = f32x8::splat(0.5);
    let one = f32x8::ONE;
    let mut acc = LaneSum::new();
    fold2(input, target, grad, &mut acc, |x, t| {
        let d = x - t;
        let a = d.abs();
        // With β = 0 the quadratic branch is never taken (its 0/0 lanes are discarded).
        let loss = a.simd_lt(vbeta).select(half * d * d / vbeta, a - half_beta);
        let outer = d.simd_gt(f32x8::ZERO).select(one, -one);
        let g = a.simd_ge(vbeta).select(outer, d / vbeta);
        (loss, s * g)
    });
    Ok(reduction.finish(acc.total(), n))
}

/// `sign(d)`: 1 for `d > 0`, −1 for `d < 0`, +0 for ±0, NaN for NaN.
#[inline(always)]
fn sign(d: f32x8) -> f32x8 {
    let one = f32x8::ONE;
    let zero_or_nan = d.is_nan().select(d, f32x8::ZERO);
    d.simd_gt(f32x8::ZERO)
        .select(one, d.simd_lt(f32x8::ZERO).select(-one, zero_or_nan))
}
