//! The hyperbolic tangent.

use super::check_backward;
use crate::error::check_len;
use crate::simd::{self, f32x8, math};
use crate::Result;

#[inline(always)]
fn tanh_grad_lanes(y: f32x8, dy: f32x8) -> f32x8 {
    // torch's `tanh_backward`: `dy·(1 − y²)`.
    dy * (f32x8::ONE - y * y)
}

/// `tanh(x) = (eˣ − e^{−x})/(eˣ + e^{−x})`, torch's `torch.tanh`, into `y`.
///
/// [`math::tanh`](crate::simd::math::tanh): within 4 ulp, exactly `±1` once saturated, odd.
/// NaN propagates.
///
/// Derivative: `1 − tanh²x = 1 − y²`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn tanh(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map(x, y, math::tanh);
    Ok(())
}

/// [`tanh`] in place: `x ← tanh x` (same bits).
pub fn tanh_inplace(x: &mut [f32]) {
    simd::map_inplace(x, math::tanh);
}

/// Gradient of [`tanh`] from its output: `dx = dy·tanh′(x) = dy·(1 − y²)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
pub fn tanh_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(y.len(), dy.len(), dx.len())?;
    simd::zip_map(y, dy, dx, tanh_grad_lanes);
    Ok(())
}

/// [`tanh_backward`] in place: `dy ← dy·(1 − y²)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` is not as long as `y`.
pub fn tanh_backward_inplace(y: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), y.len())?;
    simd::zip_map_inplace(y, dy, tanh_grad_lanes);
    Ok(())
}
