//! ELU: `x` for `x > 0`, `α·(eˣ − 1)` otherwise.

use super::check_backward;
use crate::error::{check_len, Error};
use crate::simd::{self, f32x8, math};
use crate::Result;

/// `alpha` must be finite.
pub(super) fn check_alpha(alpha: f32) -> Result<()> {
    if alpha.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what: "alpha" })
    }
}

/// Backward from the output needs `y ≤ 0 ⇔ x ≤ 0`, which holds for `alpha ≥ 0`.
fn check_alpha_for_output(alpha: f32) -> Result<()> {
    check_alpha(alpha)?;
    if alpha >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what: "alpha" })
    }
}

#[inline(always)]
fn elu_lanes(x: f32x8, alpha: f32x8) -> f32x8 {
    // torch: `x > 0 ? x : α·expm1(x)` (NaN goes to the second branch and stays NaN).
    x.simd_gt(f32x8::ZERO).select(x, alpha * math::expm1(x))
}

#[inline(always)]
fn elu_grad_from_output(y: f32x8, dy: f32x8, alpha: f32x8) -> f32x8 {
    // torch's `elu_backward(is_result = true)`: `y ≤ 0 ? dy·(y + α) : dy`.
    y.simd_le(f32x8::ZERO).select(dy * (y + alpha), dy)
}

#[inline(always)]
fn elu_grad_from_input(x: f32x8, dy: f32x8, alpha: f32x8) -> f32x8 {
    // torch's `elu_backward(is_result = false)`: `x ≤ 0 ? dy·α·eˣ : dy`.
    x.simd_le(f32x8::ZERO).select(dy * alpha * math::exp(x), dy)
}

/// `elu(x) = x` for `x > 0`, `α·(eˣ − 1)` otherwise: torch's `F.elu(x, alpha)` (default
/// `alpha = 1`), into `y`.
///
/// `eˣ − 1` is [`math::expm1`], so tiny negative `x` keep their relative accuracy
/// (`elu(−1e−7) = −1e−7·α`); the error is within 4 ulp of `expm1` plus one rounding.
/// `elu(−∞) = −α`; NaN propagates.
///
/// Derivative: `1` for `x > 0`, `α·eˣ = y + α` for `x ≤ 0` (torch's choice at `x = 0`).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `alpha` is not finite; [`Error::LengthMismatch`] when
/// `y.len() != x.len()`.
pub fn elu(x: &[f32], y: &mut [f32], alpha: f32) -> Result<()> {
    check_alpha(alpha)?;
    check_len("y", y.len(), x.len())?;
    let a = f32x8::splat(alpha);
    simd::map(x, y, |x| elu_lanes(x, a));
    Ok(())
}

/// [`elu`] in place: `x ← x` for `x > 0`, `α·(eˣ − 1)` otherwise (same bits).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `alpha` is not finite.
pub fn elu_inplace(x: &mut [f32], alpha: f32) -> Result<()> {
    check_alpha(alpha)?;
    let a = f32x8::splat(alpha);
    simd::map_inplace(x, |x| elu_lanes(x, a));
    Ok(())
}

/// Gradient of [`elu`] from its **output**: `dx = dy` where `y > 0`, `dy·(y + α)` otherwise
/// (`y + α = α·eˣ`, so no exponential is evaluated; torch's formula for in-place `elu_`).
///
/// At `x = 0`, `y = 0` and the gradient is `α·dy`, torch's choice. Needs `alpha ≥ 0` (then
/// `y ≤ 0` exactly when `x ≤ 0`); with a negative `alpha` use [`elu_backward_input`]. Deep in
/// the tail `y + α` loses relative digits (`y` rounds to `−α`), but its absolute error stays
/// within a few ulp of `α`.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `alpha` is negative or not finite;
/// [`Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
pub fn elu_backward(y: &[f32], dy: &[f32], dx: &mut [f32], alpha: f32) -> Result<()> {
    check_alpha_for_output(alpha)?;
    check_backward(y.len(), dy.len(), dx.len())?;
    let a = f32x8::splat(alpha);
    simd::zip_map(y, dy, dx, |y, g| elu_grad_from_output(y, g, a));
    Ok(())
}

/// [`elu_backward`] in place: `dy ← dx`.
///
/// # Errors
/// As [`elu_backward`] (`dy` is checked against `y`).
pub fn elu_backward_inplace(y: &[f32], dy: &mut [f32], alpha: f32) -> Result<()> {
    check_alpha_for_output(alpha)?;
    check_len("dy", dy.len(), y.len())?;
    let a = f32x8::splat(alpha);
    simd::zip_map_inplace(y, dy, |y, g| elu_grad_from_output(y, g, a));
    Ok(())
}

/// Gradient of [`elu`] from its **input**: `dx = dy` where `x > 0`, `dy·α·eˣ` otherwise (torch's
/// autograd formula, any finite `alpha`; `α·dy` at `x = 0`). Relatively accurate in the tail.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `alpha` is not finite; [`Error::LengthMismatch`] when
/// `dy` or `dx` is not as long as `x`.
pub fn elu_backward_input(x: &[f32], dy: &[f32], dx: &mut [f32], alpha: f32) -> Result<()> {
    check_alpha(alpha)?;
    check_backward(x.len(), dy.len(), dx.len())?;
    let a = f32x8::splat(alpha);
    simd::zip_map(x, dy, dx, |x, g| elu_grad_from_input(x, g, a));
    Ok(())
}

/// [`elu_backward_input`] in place: `dy ← dx`.
///
/// # Errors
/// As [`elu_backward_input`] (`dy` is checked against `x`).
pub fn elu_backward_input_inplace(x: &[f32], dy: &mut [f32], alpha: f32) -> Result<()> {
    check_alpha(alpha)?;
    check_len("dy", dy.len(), x.len())?;
    let a = f32x8::splat(alpha);
    simd::zip_map_inplace(x, dy, |x, g| elu_grad_from_input(x, g, a));
    Ok(())
}
