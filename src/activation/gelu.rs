//! GELU, `x·Φ(x)`, torch's exact form (`approximate="none"`, through the normal CDF); the tanh
//! approximation is [`gelu_tanh`](fn@super::gelu_tanh).

use super::elementwise::{backward_fns, forward_fns, gated, Elementwise};
use super::Saved;
use crate::simd::{math, Float8, Lanes};

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

/// [`gelu`](fn@gelu): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gelu;

impl Elementwise for Gelu {
    fn saved(self) -> Saved {
        Saved::Input
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        let (cdf, _) = normal_cdf_pdf(l, x);
        gated(l, x, cdf)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        let (cdf, pdf) = normal_cdf_pdf(l, x);
        let d = cdf + x * pdf;
        // At x = ±∞, x·φ(x) is ±∞·0; the limit of the derivative is Φ (0 or 1).
        dy * x.is_inf().select(cdf, d)
    }
}

forward_fns! {
    /// `gelu(x) = x·Φ(x) = ½x·(1 + erf(x/√2))`: torch's `F.gelu(x, approximate="none")`, into
    /// `y`.
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
    gelu, gelu_inplace = Gelu;
}

backward_fns! {
    /// Gradient of [`gelu`](fn@gelu) from its input: `dx = dy·(Φ(x) + x·φ(x))`,
    /// `φ(x) = e^{−x²/2}/√(2π)`.
    ///
    /// The two terms cancel near `x ≈ −0.75` (where the derivative is 0); the absolute error of
    /// the factor stays within `u·(20·Φ(x) + 13·|x|·φ(x) + 2·|f′(x)|)`. Limits `0` at `−∞`, `1`
    /// at `+∞`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
    gelu_backward, gelu_backward_inplace(x) = Gelu;
}
