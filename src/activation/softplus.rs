//! Softplus: a smooth rectifier, `ln(1 + e^{βx})/β`, linear above a threshold.

use super::check_backward;
use super::sigmoid::logistic_pair;
use crate::error::{check_len, Error};
use crate::simd::{self, f32x8, math};
use crate::Result;

/// `beta` must be finite and positive, `threshold` not NaN.
pub(super) fn check_hyper(beta: f32, threshold: f32) -> Result<()> {
    if !(beta.is_finite() && beta > 0.0) {
        return Err(Error::InvalidHyperParameter { what: "beta" });
    }
    if threshold.is_nan() {
        return Err(Error::InvalidHyperParameter { what: "threshold" });
    }
    Ok(())
}

#[inline(always)]
fn softplus_lanes(x: f32x8, beta: f32x8, threshold: f32x8) -> f32x8 {
    let bx = x * beta;
    // ln(1 + e^{βx})/β = max(x, 0) + ln(1 + e^{−|βx|})/β: no overflow, no cancellation.
    let tail = math::ln_1p(math::exp(-bx.abs())) / beta;
    let positive_part = x.simd_gt(f32x8::ZERO).select(x, f32x8::ZERO);
    bx.simd_gt(threshold).select(x, positive_part + tail)
}

#[inline(always)]
fn softplus_grad_lanes(x: f32x8, dy: f32x8, beta: f32x8, threshold: f32x8) -> f32x8 {
    let bx = x * beta;
    let (s, _) = logistic_pair(simd::Portable, bx);
    bx.simd_gt(threshold).select(dy, dy * s)
}

/// `softplus(x) = ln(1 + e^{βx})/β`, or `x` where `βx > threshold` (strictly; `βx` rounded to
/// `f32` first, as torch): torch's `F.softplus(x, beta, threshold)`, defaults `beta = 1`,
/// `threshold = 20`, into `y`.
///
/// Evaluated as `max(x, 0) + ln(1 + e^{−|βx|})/β` (the same function), so the tail
/// `softplus(−80) ≈ 1.8e−35` keeps its relative accuracy and a large `threshold` cannot overflow
/// (torch's direct `ln(1 + e^{βx})` gives `+∞` once `βx > 88.7`; this gives `x`). The relative
/// error is within 18u (`u = 2⁻²⁴`) plus the effect of rounding `βx` (none when `β = 1`).
/// `softplus(−∞) = 0`, `softplus(+∞) = +∞`; NaN propagates.
///
/// Derivative: `σ(βx)`, or `1` where `βx > threshold`.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] unless `beta` is finite and `> 0` and `threshold` is not
/// NaN; [`Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn softplus(x: &[f32], y: &mut [f32], beta: f32, threshold: f32) -> Result<()> {
    check_hyper(beta, threshold)?;
    check_len("y", y.len(), x.len())?;
    let (b, t) = (f32x8::splat(beta), f32x8::splat(threshold));
    simd::map(x, y, |x| softplus_lanes(x, b, t));
    Ok(())
}

/// [`softplus`] in place: `x ← ln(1 + e^{βx})/β`, or `x` where `βx > threshold` (same bits).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] as [`softplus`].
pub fn softplus_inplace(x: &mut [f32], beta: f32, threshold: f32) -> Result<()> {
    check_hyper(beta, threshold)?;
    let (b, t) = (f32x8::splat(beta), f32x8::splat(threshold));
    simd::map_inplace(x, |x| softplus_lanes(x, b, t));
    Ok(())
}

/// Gradient of [`softplus`] from its input: `dx = dy·σ(βx)`, or `dy` where `βx > threshold`.
///
/// σ comes from the overflow-free `e^{−|βx|}` form (torch's `z/(z + 1)` with `z = e^{βx}` gives
/// NaN once `z` overflows).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] as [`softplus`]; [`Error::LengthMismatch`] when `dy` or `dx`
/// is not as long as `x`.
pub fn softplus_backward(
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    beta: f32,
    threshold: f32,
) -> Result<()> {
    check_hyper(beta, threshold)?;
    check_backward(x.len(), dy.len(), dx.len())?;
    let (b, t) = (f32x8::splat(beta), f32x8::splat(threshold));
    simd::zip_map(x, dy, dx, |x, g| softplus_grad_lanes(x, g, b, t));
    Ok(())
}

/// [`softplus_backward`] in place: `dy ← dx`.
///
/// # Errors
/// As [`softplus_backward`] (`dy` is checked against `x`).
pub fn softplus_backward_inplace(
    x: &[f32],
    dy: &mut [f32],
    beta: f32,
    threshold: f32,
) -> Result<()> {
    check_hyper(beta, threshold)?;
    check_len("dy", dy.len(), x.len())?;
    let (b, t) = (f32x8::splat(beta), f32x8::splat(threshold));
    simd::zip_map_inplace(x, dy, |x, g| softplus_grad_lanes(x, g, b, t));
    Ok(())
}
