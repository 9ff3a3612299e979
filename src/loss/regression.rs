//! Regression losses on element pairs: mean squared error, L1, Huber and smooth L1.
//!
//! All four take `input` and `target` of the same length `n` and reduce over **all** elements
//! (the mean divides by `n`, as torch does), with `d = input − target`.

use super::sum::{elementwise, ElemLoss};
use super::{check_elementwise, Reduction};
use crate::simd::{sign_in, Float8, Lanes};
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
    // `2·s` is torch's `norm = 2/n` (or 2) rounded once to f32: the doubling is exact.
    reduced(input, target, grad, reduction, |s| Mse(2.0 * s))
}

/// The lanes of [`mse`], with the gradient factor `2·s`.
struct Mse(f32);

impl ElemLoss for Mse {
    #[inline(always)]
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F) {
        let d = x - t;
        (d * d, l.splat(self.0) * d)
    }
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
    reduced(input, target, grad, reduction, L1)
}

/// The lanes of [`l1`], with the gradient scale `s`.
struct L1(f32);

impl ElemLoss for L1 {
    #[inline(always)]
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F) {
        let d = x - t;
        (d.abs(), l.splat(self.0) * sign_in(l, d))
    }
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
    reduced(input, target, grad, reduction, |s| Huber { s, delta })
}

/// The lanes of [`huber`], with the gradient scale `s`.
struct Huber {
    s: f32,
    delta: f32,
}

impl ElemLoss for Huber {
    #[inline(always)]
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F) {
        let vdelta = l.splat(self.delta);
        let half_delta = l.splat(0.5 * self.delta);
        let half = l.splat(0.5);
        let d = x - t;
        let a = d.abs();
        let quadratic = a.simd_lt(vdelta);
        let loss = quadratic.select(half * d * d, vdelta * (a - half_delta));
        // ±δ outside, d inside (and for NaN, which fails every comparison).
        let outer = d.simd_gt(l.splat(0.0)).select(vdelta, -vdelta);
        let g = a.simd_ge(vdelta).select(outer, d);
        (loss, l.splat(self.s) * g)
    }
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
    reduced(input, target, grad, reduction, |s| SmoothL1 { s, beta })
}

/// The lanes of [`smooth_l1`], with the gradient scale `s`.
struct SmoothL1 {
    s: f32,
    beta: f32,
}

impl ElemLoss for SmoothL1 {
    #[inline(always)]
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F) {
        let vbeta = l.splat(self.beta);
        let half_beta = l.splat(0.5 * self.beta);
        let half = l.splat(0.5);
        let one = l.splat(1.0);
        let d = x - t;
        let a = d.abs();
        // With β = 0 the quadratic branch is never taken (its 0/0 lanes are discarded).
        let loss = a.simd_lt(vbeta).select(half * d * d / vbeta, a - half_beta);
        let outer = d.simd_gt(l.splat(0.0)).select(one, -one);
        let g = a.simd_ge(vbeta).select(outer, d / vbeta);
        (loss, l.splat(self.s) * g)
    }
}

/// What the four losses share: checks the slices, runs the lanes `lanes(s)` over them, with `s`
/// the reduction's gradient scale (`1/n` or `1`), and reduces the sum of their loss lanes.
fn reduced<E: ElemLoss>(
    input: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    reduction: Reduction,
    lanes: impl FnOnce(f32) -> E,
) -> Result<f32> {
    check_elementwise(input, target, grad.as_deref())?;
    let n = input.len();
    let s = reduction.grad_scale(n);
    Ok(reduction.finish(elementwise(input, target, grad, lanes(s)), n))
}
