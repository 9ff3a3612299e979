//! GELU, `x·Φ(x)`, in torch's two forms: exact (erf, `approximate="none"`) and the tanh
//! approximation (`approximate="tanh"`).

use super::check_backward;
use super::sigmoid::logistic_pair;
use crate::error::check_len;
use crate::simd::{self, math, Float8, LaneMap, LaneZip, Lanes};
use crate::Result;

/// `1/√(2π)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// Past `|x| = 16`, `φ(x) = e^{−x²/2}/√(2π) < 1e−56` is 0 in `f32`; larger `|x|` (and `±∞`)
/// are clamped there so the exact-square arithmetic below stays finite.
const CLAMP: f32 = 16.0;

/// `P(t)`, highest degree first, for the Mills ratio `M(a) = Q(a)/φ(a) ≈ t·P(t)` with
/// `t = 1/(1 + a/4)`, `a ≥ 0`, `Q(a) = 1 − Φ(a)` the upper normal tail.
///
/// Fitted for this crate (Chebyshev interpolation in `t` over `a ∈ [0, 16]`, computed with mpmath at 40
/// digits): the polynomial's relative error is below 1.5e−8; evaluated in `f32` from a rounded
/// `t`, `t·P(t)` stays within about 6u (`u = 2⁻²⁴`) of `M(a)`.
const MILLS: [f32; 10] = [
    0.041_749_537,
    -0.159_149_07,
    0.135_449_22,
    0.060_591_407,
    0.043_229_84,
    0.209_661_98,
    0.183_634_24,
    0.238_618_85,
    0.249_503_94,
    0.250_024_2,
];

/// `(Φ(x), φ(x))`: the standard normal CDF and density, with `Φ` accurate *relative to itself*
/// also deep in the lower tail.
///
/// With `a = |x|`: `φ = e^{−a²/2}/√(2π)`, where `a²` is split exactly into `hi + lo` (Dekker's
/// product with Veltkamp's split, so no FMA is needed) and `e^{−a²/2} = e^{−hi/2}·(1 − lo/2)`:
/// rounding `a²` directly would cost up to `a²/2·2⁻²⁴` relative (4e−6 at `a = 12`).
/// `Q(a) = φ(a)·t·P(t)` (see [`MILLS`]); `Φ(x) = Q(|x|)` for `x < 0`, `1 − Q(|x|)` otherwise.
/// Budget: `Q` within 18.5u relative (8u `exp`, 6u Mills ratio, 4.5u for the roundings and the
/// rounded `1/√(2π)`), so `Φ` within 19.5u for every `x`; no `1 + erf` cancellation.
#[inline(always)]
fn normal_cdf_pdf<L: Lanes>(l: L, x: L::F) -> (L::F, L::F) {
    let one = l.splat(1.0);
    let half = l.splat(0.5);
    let a = x.abs();
    let a = a.simd_gt(l.splat(CLAMP)).select(l.splat(CLAMP), a);
    // a² = hi + lo exactly.
    let hi = a * a;
    let big = a * l.splat(4097.0);
    let a_hi = big - (big - a);
    let a_lo = a - a_hi;
    let lo = ((a_hi * a_hi - hi) + (a_hi + a_hi) * a_lo) + a_lo * a_lo;
    // |lo/2| ≤ 2⁻²⁵·a² ≤ 8e−6, so 1 − lo/2 matches e^{−lo/2} to 3e−11.
    let gauss = math::exp_lanes(l, -(hi * half)) * (one - lo * half);
    let pdf = gauss * l.splat(INV_SQRT_2PI);
    let t = one / (one + a * l.splat(0.25));
    let [first, rest @ ..] = MILLS;
    let mut p = l.splat(first);
    for c in rest {
        p = p.mul_add(t, l.splat(c));
    }
    let upper_tail = pdf * (t * p);
    let negative = x.simd_lt(l.splat(0.0));
    (negative.select(upper_tail, one - upper_tail), pdf)
}

#[inline(always)]
fn gelu_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    let (cdf, _) = normal_cdf_pdf(l, x);
    // At x = −∞, x·Φ(x) is −∞·0; the limit is −0.
    x.simd_eq(l.splat(f32::NEG_INFINITY))
        .select(l.splat(-0.0), x * cdf)
}

#[inline(always)]
fn gelu_grad_lanes<L: Lanes>(l: L, x: L::F, dy: L::F) -> L::F {
    let (cdf, pdf) = normal_cdf_pdf(l, x);
    let d = cdf + x * pdf;
    // At x = ±∞, x·φ(x) is ±∞·0; the limit of the derivative is Φ (0 or 1).
    dy * x.is_inf().select(cdf, d)
}

/// `gelu(x) = x·Φ(x) = ½x·(1 + erf(x/√2))`: torch's `F.gelu(x, approximate="none")`, into `y`.
///
/// `Φ` is evaluated through the upper normal tail `Q(|x|) = ½·erfc(|x|/√2)` (see the module
/// notes), so the result is accurate relative to itself for every `x` — within 21u
/// (`u = 2⁻²⁴`, about 1.3e−6) — including the lower tail where `1 + erf(x/√2)` cancels:
/// `gelu(−8) ≈ −5.0e−15`, `gelu(−13) ≈ −8e−38`. Results below the smallest normal `f32`
/// (`x < −13.15`) are subnormal or `−0`. `gelu(+∞) = +∞`, `gelu(−∞) = −0` (torch: NaN);
/// NaN propagates.
///
/// Derivative: `Φ(x) + x·φ(x)`, `φ(x) = e^{−x²/2}/√(2π)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn gelu(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map_dispatch(x, y, Gelu);
    Ok(())
}

/// [`gelu`] in place: `x ← x·Φ(x)` (same bits).
pub fn gelu_inplace(x: &mut [f32]) {
    simd::map_inplace_dispatch(x, Gelu);
}

/// Gradient of [`gelu`] from its input: `dx = dy·(Φ(x) + x·φ(x))`, `φ(x) = e^{−x²/2}/√(2π)`.
///
/// The two terms cancel near `x ≈ −0.75` (where the derivative is 0); the absolute error of the
/// factor stays within `u·(20·Φ(x) + 13·|x|·φ(x) + 2·|f′(x)|)`. Limits `0` at `−∞`, `1` at `+∞`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
pub fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(x.len(), dy.len(), dx.len())?;
    simd::zip_map_dispatch(x, dy, dx, GeluGrad);
    Ok(())
}

/// [`gelu_backward`] in place: `dy ← dx`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` is not as long as `x`.
pub fn gelu_backward_inplace(x: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), x.len())?;
    simd::zip_map_inplace_dispatch(x, dy, GeluGrad);
    Ok(())
}

/// `2·√(2/π)`.
const TWO_K: f32 = 1.595_769_2;
/// `2·√(2/π)·0.044715`.
const TWO_K_KAPPA: f32 = 0.071_354_814;
/// `3·2·√(2/π)·0.044715`.
const SIX_K_KAPPA: f32 = 0.214_064_45;

/// `(σ(w), 1 − σ(w), x²)` for `w = 2√(2/π)·(x + 0.044715x³)`.
#[inline(always)]
fn gelu_tanh_parts<L: Lanes>(l: L, x: L::F) -> (L::F, L::F, L::F) {
    let x2 = x * x;
    let w = x * x2.mul_add(l.splat(TWO_K_KAPPA), l.splat(TWO_K));
    let (s, c) = logistic_pair(l, w);
    (s, c, x2)
}

#[inline(always)]
fn gelu_tanh_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    let (s, _, _) = gelu_tanh_parts(l, x);
    // At x = −∞, x·σ(w) is −∞·0; the limit is −0.
    x.simd_eq(l.splat(f32::NEG_INFINITY))
        .select(l.splat(-0.0), x * s)
}

#[inline(always)]
fn gelu_tanh_grad_lanes<L: Lanes>(l: L, x: L::F, dy: L::F) -> L::F {
    let (s, c, x2) = gelu_tanh_parts(l, x);
    let w_prime = x2.mul_add(l.splat(SIX_K_KAPPA), l.splat(TWO_K));
    let sc = s * c;
    let d = s + x * sc * w_prime;
    // Once σ(w)·(1 − σ(w)) underflows the second term is 0 (for |x| ≳ 1.8e19 it would be
    // 0·∞ = NaN, and at ±∞ too); the derivative is σ(w).
    dy * sc.simd_eq(l.splat(0.0)).select(s, d)
}

/// `gelu_tanh(x) = ½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))`: torch's
/// `F.gelu(x, approximate="tanh")`, into `y`.
///
/// Evaluated as `x·σ(w)` with `w = 2√(2/π)·(x + 0.044715x³)`, the same function
/// (`½(1 + tanh(w/2)) = σ(w)`), with `σ` from the overflow-free form of
/// [`sigmoid`](fn@super::sigmoid): no `1 + tanh` cancellation, and saturation is exact
/// (`gelu_tanh(80) = 80`, `gelu_tanh(−80) = −0`). The relative error is within
/// `14u + 6u·|w|·(1 − σ(w))` (`u = 2⁻²⁴`): the second term is the rounding of `w`, which the
/// function's steep lower tail amplifies (the tail's own condition number, about `3|w|`).
/// `gelu_tanh(−∞) = −0` (torch: NaN); NaN propagates.
///
/// Derivative: `σ(w) + x·σ(w)·(1 − σ(w))·w′`, `w′ = 2√(2/π)·(1 + 3·0.044715x²)`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
pub fn gelu_tanh(x: &[f32], y: &mut [f32]) -> Result<()> {
    check_len("y", y.len(), x.len())?;
    simd::map_dispatch(x, y, GeluTanh);
    Ok(())
}

/// [`gelu_tanh`] in place: `x ← ½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))` (same bits).
pub fn gelu_tanh_inplace(x: &mut [f32]) {
    simd::map_inplace_dispatch(x, GeluTanh);
}

/// Gradient of [`gelu_tanh`] from its input:
/// `dx = dy·(σ(w) + x·σ(w)·(1 − σ(w))·w′)`, `w′ = 2√(2/π)·(1 + 3·0.044715x²)` — the same as
/// torch's `½(1 + tanh u) + ½x·(1 − tanh²u)·u′` with `u = w/2`.
///
/// `1 − σ(w)` is computed directly, so the `x³`-sized factor `w′` multiplies a relatively
/// accurate small number instead of the difference `1 − tanh²u` (whose error torch's form
/// amplifies by about `x³`). Limits `0` at `−∞`, `1` at `+∞`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
pub fn gelu_tanh_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) -> Result<()> {
    check_backward(x.len(), dy.len(), dx.len())?;
    simd::zip_map_dispatch(x, dy, dx, GeluTanhGrad);
    Ok(())
}

/// [`gelu_tanh_backward`] in place: `dy ← dx`.
///
/// # Errors
/// [`crate::Error::LengthMismatch`] when `dy` is not as long as `x`.
pub fn gelu_tanh_backward_inplace(x: &[f32], dy: &mut [f32]) -> Result<()> {
    check_len("dy", dy.len(), x.len())?;
    simd::zip_map_inplace_dispatch(x, dy, GeluTanhGrad);
    Ok(())
}

/// The four GELU lane functions for the dispatching maps.
#[derive(Clone, Copy)]
struct Gelu;
#[derive(Clone, Copy)]
struct GeluGrad;
#[derive(Clone, Copy)]
struct GeluTanh;
#[derive(Clone, Copy)]
struct GeluTanhGrad;

impl LaneMap for Gelu {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        gelu_lanes(l, x)
    }
}

impl LaneZip for GeluGrad {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        gelu_grad_lanes(l, x, dy)
    }
}

impl LaneMap for GeluTanh {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        gelu_tanh_lanes(l, x)
    }
}

impl LaneZip for GeluTanhGrad {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        gelu_tanh_grad_lanes(l, x, dy)
    }
}
