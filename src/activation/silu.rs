//! SiLU (swish): `x·σ(x)`.

use super::check_backward;
use super::sigmoid::logistic_pair;
use crate::error::check_len;
use crate::simd::{self, Float8, LaneMap, LaneZip, Lanes};
use crate::Result;

#[inline(always)]
fn silu_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    let (s, _) = logistic_pair(l, x);
    // At x = −∞, x·σ(x) would be −∞·0 = NaN; the limit is −0.
    x.simd_eq(l.splat(f32::NEG_INFINITY))
        .select(l.splat(-0.0), x * s)
}

/// [`silu_lanes`] for the dispatching maps.
#[derive(Clone, Copy)]
struct Silu;

impl LaneMap for Silu {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        silu_lanes(l, x)
    }
}

#[inline(always)]
fn silu_grad_lanes<L: Lanes>(l: L, x: L::F, dy: L::F) -> L::F {
    let (s, c) = logistic_pair(l, x);
    // σ·(1 + x·(1 − σ)); at x = ±∞ the product is 0·∞, the limit is σ (0 or 1).
    let d = s * (l.splat(1.0) + x * c);
    dy * x.is_inf().select(s, d)
}

/// [`silu_grad_lanes`] for the dispatching maps.
#[derive(Clone, Copy)]
struct SiluGrad;

impl LaneZip for SiluGrad {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        silu_grad_lanes(l, x, dy)
    }
}

/// `silu(x) = x·σ(x) = x/(1 + e^{−x})`, torch's `F.silu`, into `y`.
///
/// Relative error within 12u (`u = 2⁻²⁴`) for every finite `x`: σ from
/// [`sigmoid`](fn@super::sigmoid)'s `e^{−|x|}` form (11u), then one product; also in the tail
/// (`silu(−80) ≈ −1.4e−33`).
/// `silu(+∞) = +∞`, `silu(−∞) = −0` (the limit; torch's `x/(1 + e^{−x})` gives NaN there); NaN
/// propagates.
///
/// Derivative: `σ(x)·(1 + x·(1 − σ(x)))`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn silu(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map_dispatch(x, y, Silu);
    Ok(())
}

/// [`silu`] in place: `x ← x·σ(x)` (same bits).
pub fn silu_inplace(x: &mut [f32]) {
    simd::map_inplace_dispatch(x, Silu);
}

/// Gradient of [`silu`] from its input: `dx = dy·σ(x)·(1 + x·(1 − σ(x)))`.
///
/// `1 − σ(x)` is computed directly (not by subtraction), so the factor is accurate for large
/// `|x|`; its absolute error is within `u·(14·|f′(x)| + 12·σ(x)·|x|·(1 − σ(x)))` (the sum
/// cancels near `x ≈ −1.28`, where `f′ = 0`). The limits at `±∞` are `1` and `0`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
pub fn silu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(x.len(), dy.len(), dx.len())?;
    simd::zip_map_dispatch(x, dy, dx, SiluGrad);
    Ok(())
}

/// [`silu_backward`] in place: `dy ← dx`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` is not as long as `x`.
pub fn silu_backward_inplace(x: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), x.len())?;
    simd::zip_map_inplace_dispatch(x, dy, SiluGrad);
    Ok(())
}
