//! The rectifiers `relu` and `leaky_relu`: exact (one comparison, at most one multiplication).

use super::check_backward;
use crate::error::{check_len, Error};
use crate::simd::{self, f32x8};
use crate::Result;

#[inline(always)]
fn relu_lanes(x: f32x8) -> f32x8 {
    // `x ≤ 0 → +0`, otherwise `x`: NaN is not `≤ 0` and passes through, as torch's `clamp_min`.
    x.simd_le(f32x8::ZERO).select(f32x8::ZERO, x)
}

#[inline(always)]
fn relu_grad_lanes(s: f32x8, dy: f32x8) -> f32x8 {
    // torch's `threshold_backward(dy, s, 0)`: `s ≤ 0 → 0`, otherwise `dy`.
    s.simd_le(f32x8::ZERO).select(f32x8::ZERO, dy)
}

/// `relu(x) = max(x, 0)`, torch's `F.relu`, into `y`.
///
/// Derivative: `1` for `x > 0`, `0` for `x ≤ 0` (torch's choice at `x = 0`). Exact.
/// `relu(−0) = +0`; NaN propagates.
///
/// # Errors
/// [`Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn relu(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map(x, y, relu_lanes);
    Ok(())
}

/// [`relu`] in place: `x ← max(x, 0)`.
pub fn relu_inplace(x: &mut [f32]) {
    simd::map_inplace(x, relu_lanes);
}

/// Gradient of [`relu`]: `dx = dy` where `x_or_y > 0`, else `0`.
///
/// `x_or_y` is the input `x` or the output `y`: `y > 0` exactly when `x > 0`, so both give the
/// same bits. This is torch's `threshold_backward(dy, y, 0)` (`s ≤ 0 → 0`), so a NaN there lets
/// `dy` through, as in torch.
///
/// # Errors
/// [`Error::LengthMismatch`] when `dy` or `dx` is not as long as `x_or_y`.
pub fn relu_backward(x_or_y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(x_or_y.len(), dy.len(), dx.len())?;
    simd::zip_map(x_or_y, dy, dx, relu_grad_lanes);
    Ok(())
}

/// [`relu_backward`] in place: `dy ← dx`.
///
/// # Errors
/// [`Error::LengthMismatch`] when `dy` is not as long as `x_or_y`.
pub fn relu_backward_inplace(x_or_y: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), x_or_y.len())?;
    simd::zip_map_inplace(x_or_y, dy, relu_grad_lanes);
    Ok(())
}

/// Rejects a non-finite slope.
pub(super) fn check_slope(negative_slope: f32) -> Result<()> {
    if negative_slope.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter {
            what: "negative_slope",
        })
    }
}

#[inline(always)]
fn leaky_lanes(x: f32x8, slope: f32x8) -> f32x8 {
    // torch: `x > 0 ? x : x·s` (NaN goes to `x·s`, still NaN).
    x.simd_gt(f32x8::ZERO).select(x, x * slope)
}

#[inline(always)]
fn leaky_grad_lanes(s: f32x8, dy: f32x8, slope: f32x8) -> f32x8 {
    // torch's `leaky_relu_backward`: `x > 0 ? dy : dy·s`.
    s.simd_gt(f32x8::ZERO).select(dy, dy * slope)
}

/// `leaky_relu(x) = x` for `x > 0`, `negative_slope·x` otherwise: torch's `F.leaky_relu`
/// (default `negative_slope = 0.01`), into `y`.
///
/// Derivative: `1` for `x > 0`, `negative_slope` for `x ≤ 0` (torch's choice at `x = 0`).
/// Exact: one `f32` multiplication, as torch.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `negative_slope` is not finite;
/// [`Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn leaky_relu(x: &[f32], y: &mut [f32], negative_slope: f32) -> Result<()> {
    check_slope(negative_slope)?;
    check_len("y", y.len(), x.len())?;
    let s = f32x8::splat(negative_slope);
    simd::map(x, y, |x| leaky_lanes(x, s));
    Ok(())
}

/// [`leaky_relu`] in place: `x ← x` for `x > 0`, `negative_slope·x` otherwise (same bits).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `negative_slope` is not finite.
pub fn leaky_relu_inplace(x: &mut [f32], negative_slope: f32) -> Result<()> {
    check_slope(negative_slope)?;
    let s = f32x8::splat(negative_slope);
    simd::map_inplace(x, |x| leaky_lanes(x, s));
    Ok(())
}

/// Gradient of [`leaky_relu`]: `dx = dy` where `x_or_y > 0`, else `negative_slope·dy`.
///
/// `x_or_y` is the input `x`, or, when `negative_slope ≥ 0`, the output `y` (then `y > 0`
/// exactly when `x > 0`; torch's in-place `leaky_relu_` makes the same requirement). With a
/// negative slope pass `x`. A NaN there gives `negative_slope·dy`, as torch.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `negative_slope` is not finite;
/// [`Error::LengthMismatch`] when `dy` or `dx` is not as long as `x_or_y`.
pub fn leaky_relu_backward(
    x_or_y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    negative_slope: f32,
) -> Result<()> {
    check_slope(negative_slope)?;
    check_backward(x_or_y.len(), dy.len(), dx.len())?;
    let s = f32x8::splat(negative_slope);
    simd::zip_map(x_or_y, dy, dx, |v, g| leaky_grad_lanes(v, g, s));
    Ok(())
}

/// [`leaky_relu_backward`] in place: `dy ← dx`.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] when `negative_slope` is not finite;
/// [`Error::LengthMismatch`] when `dy` is not as long as `x_or_y`.
pub fn leaky_relu_backward_inplace(
    x_or_y: &[f32],
    dy: &mut [f32],
    negative_slope: f32,
) -> Result<()> {
    check_slope(negative_slope)?;
    check_len("dy", dy.len(), x_or_y.len())?;
    let s = f32x8::splat(negative_slope);
    simd::zip_map_inplace(x_or_y, dy, |v, g| leaky_grad_lanes(v, g, s));
    Ok(())
}
