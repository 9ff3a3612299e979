//! The hyperbolic tangent.

use super::check_backward;
use crate::error::check_len;
use crate::simd::{self, math, LaneMap, LaneZip, Lanes};
use crate::Result;

#[inline(always)]
fn tanh_grad_lanes<L: Lanes>(l: L, y: L::F, dy: L::F) -> L::F {
    // torch's `tanh_backward`: `dy·(1 − y²)`.
    dy * (l.splat(1.0) - y * y)
}

/// [`math::tanh_lanes`] for the dispatching maps.
#[derive(Clone, Copy)]
struct Tanh;

impl LaneMap for Tanh {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        math::tanh_lanes(l, x)
    }
}

/// [`tanh_grad_lanes`] for the dispatching maps.
#[derive(Clone, Copy)]
struct TanhGrad;

impl LaneZip for TanhGrad {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, y: L::F, dy: L::F) -> L::F {
        tanh_grad_lanes(l, y, dy)
    }
}

/// `tanh(x) = (eˣ − e^{−x})/(eˣ + e^{−x})`, torch's `torch.tanh`, into `y`.
///
/// [`math::tanh`]: within 4 ulp, exactly `±1` once saturated, odd.
/// NaN propagates.
///
/// Derivative: `1 − tanh²x = 1 − y²`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn tanh(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map_dispatch(x, y, Tanh);
    Ok(())
}

/// [`tanh`] in place: `x ← tanh x` (same bits).
pub fn tanh_inplace(x: &mut [f32]) {
    simd::map_inplace_dispatch(x, Tanh);
}

/// Gradient of [`tanh`] from its output: `dx = dy·tanh′(x) = dy·(1 − y²)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
pub fn tanh_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(y.len(), dy.len(), dx.len())?;
    simd::zip_map_dispatch(y, dy, dx, TanhGrad);
    Ok(())
}

/// [`tanh_backward`] in place: `dy ← dy·(1 − y²)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` is not as long as `y`.
pub fn tanh_backward_inplace(y: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), y.len())?;
    simd::zip_map_inplace_dispatch(y, dy, TanhGrad);
    Ok(())
}
