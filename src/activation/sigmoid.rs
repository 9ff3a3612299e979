//! The logistic sigmoid, and the lane helper that sigmoid, silu, softplus and gelu_tanh share.

use super::check_backward;
use crate::error::check_len;
use crate::simd::{self, math, Float8, LaneMap, LaneZip, Lanes};
use crate::Result;

/// `(σ(x), 1 − σ(x))` in each lane, both to a small *relative* error over the whole line.
///
/// With `e = e^{−|x|} ∈ [0, 1]` (never overflows) and `r = 1/(1 + e) = σ(|x|)`:
/// `σ(x) = r` and `1 − σ(x) = e·r` for `x ≥ 0`, swapped for `x < 0`. Neither is formed as
/// `1 − something`, so `1 − σ(20) ≈ 2.1e−9` keeps its digits. Error budget, in units of
/// `u = 2⁻²⁴` relative, with `exp` within 4 ulp (≤ 8u): `r` ≤ 6u, `e·r` ≤ 11u.
/// `x = ±∞` gives `(1, 0)` / `(0, 1)`; NaN gives NaN in both.
#[inline(always)]
pub(super) fn logistic_pair<L: Lanes>(l: L, x: L::F) -> (L::F, L::F) {
    let e = math::exp_lanes(l, -x.abs());
    let one = l.splat(1.0);
    let r = one / (one + e);
    let er = e * r;
    let negative = x.simd_lt(l.splat(0.0));
    (negative.select(er, r), negative.select(r, er))
}

#[inline(always)]
fn sigmoid_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    logistic_pair(l, x).0
}

/// [`sigmoid_lanes`] for the dispatching maps.
#[derive(Clone, Copy)]
struct Sigmoid;

impl LaneMap for Sigmoid {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        sigmoid_lanes(l, x)
    }
}

#[inline(always)]
fn sigmoid_grad_lanes<L: Lanes>(l: L, y: L::F, dy: L::F) -> L::F {
    // torch's `sigmoid_backward`: `dy·(1 − y)·y`.
    dy * (l.splat(1.0) - y) * y
}

/// [`sigmoid_grad_lanes`] for the dispatching maps.
#[derive(Clone, Copy)]
struct SigmoidGrad;

impl LaneZip for SigmoidGrad {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, y: L::F, dy: L::F) -> L::F {
        sigmoid_grad_lanes(l, y, dy)
    }
}

/// `σ(x) = 1/(1 + e^{−x})`, torch's `torch.sigmoid`, into `y`.
///
/// Computed as `1/(1 + e^{−|x|})` or `e^{−|x|}/(1 + e^{−|x|})` by the sign of `x`, so there is no
/// overflow and the relative error stays within 12u (`u = 2⁻²⁴`, about 7e−7) for every `x`,
/// including the tail `σ(−80) ≈ 1.8e−35`. `σ(±∞) = 1, 0`; NaN propagates.
///
/// Derivative: `σ′(x) = σ(x)·(1 − σ(x)) = y·(1 − y)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn sigmoid(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map_dispatch(x, y, Sigmoid);
    Ok(())
}

/// [`sigmoid`] in place: `x ← σ(x)` (same bits).
pub fn sigmoid_inplace(x: &mut [f32]) {
    simd::map_inplace_dispatch(x, Sigmoid);
}

/// Gradient of [`sigmoid`] from its output: `dx = dy·σ′(x) = dy·(1 − y)·y`.
///
/// Three roundings on top of the error already in `y` (torch's formula and order).
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
pub fn sigmoid_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(y.len(), dy.len(), dx.len())?;
    simd::zip_map_dispatch(y, dy, dx, SigmoidGrad);
    Ok(())
}

/// [`sigmoid_backward`] in place: `dy ← dy·(1 − y)·y`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` is not as long as `y`.
pub fn sigmoid_backward_inplace(y: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), y.len())?;
    simd::zip_map_inplace_dispatch(y, dy, SigmoidGrad);
    Ok(())
}
