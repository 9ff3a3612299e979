//! Vectorised transcendental functions on [`f32x8`] lanes: [`exp`], [`expm1`], [`ln`],
//! [`ln_1p`], [`tanh`], [`erf`].
//!
//! Every function is branch-free straight-line lane code — range reduction, a polynomial
//! in Horner form, and blends for the special values — built from `wide` lane operations
//! only: no table look-ups, no per-lane scalar fallback, no `libm` call, no `unsafe`. The result
//! for an input does not depend on the lane it sits in, and the `*_scalar` conveniences run the
//! same vector code on a splatted lane, so scalar tails match vector bodies bit for bit.
//!
//! # Accuracy
//!
//! Errors are in units in the last place (ulp) of the correctly rounded `f32` result: the
//! reference is `libm`'s `f64` function on the widened input, rounded to `f32`, and the error is
//! `|y − ref| / ulp(ref)` (`ulp = 2⁻¹⁴⁹` for subnormal references). `tests/simd_math.rs` measures
//! it on every 64th `f32` bit pattern (67 million inputs per function, every binade of both signs)
//! plus every bit pattern in windows around the points where the method or the result changes,
//! and asserts the bound on every run; its ignored test `exhaustive_all_f32` checks all 2³² inputs.
//! On x86_64 a default build's [`f32x8`] is SSE2 (`mul_add` is a multiply and an add, two
//! roundings); the `*_lanes` forms on the [`Avx2Fma`](super::Avx2Fma) lanes, which the
//! crate's kernels dispatch to at run time, fuse `mul_add` (as does `f32x8` with
//! `-C target-cpu=native`). The bound holds for both: the tests sweep both paths.
//!
//! Every function has a form generic over the instruction set, `exp_lanes(lanes, x)` and so
//! on, for kernels run through [`dispatch`](fn@super::dispatch); the plain functions are those
//! forms on the [`Portable`] lanes.
//!
//! | function | domain | measured max, all 2³² inputs (SSE2) | measured max, sweep (FMA) | asserted bound |
//! |----------|--------|-------------------------------------|---------------------------|----------------|
//! | [`exp`]   | all `f32`, subnormal results included | 1 ulp (0.96 vs the exact value) | 1 ulp | 2 ulp |
//! | [`expm1`] | all `f32` | 1 ulp (1.49 vs exact) | 1 ulp | 2 ulp |
//! | [`ln`]    | all `f32 ≥ 0`, subnormals included | 1 ulp (0.86 vs exact) | 1 ulp | 2 ulp |
//! | [`ln_1p`] | all `f32 ≥ −1` | 1 ulp (0.89 vs exact) | 1 ulp | 2 ulp |
//! | [`tanh`]  | all `f32` | 2 ulp (2.42 vs exact) | 2 ulp | 2 ulp |
//! | [`erf`]   | all `f32` | 2 ulp (1.76 vs exact) | 1 ulp | 2 ulp |
//!
//! "vs exact" is the same error taken against the unrounded `f64` reference (still in ulp of
//! the rounded one), i.e. how far from the true value the result is; the integer column is the
//! distance to the correctly rounded result.
//!
//! In relative terms the 2-ulp bound is `|y − f(x)| ≤ 2·2⁻²³·|f(x)|` (`2.4e-7` relative) for
//! every normal result, of every function, with no absolute-error floor: [`expm1`], [`ln_1p`],
//! [`tanh`] and [`erf`] keep full *relative* accuracy near 0 (`expm1(1e-30) = 1e-30`,
//! `erf(x) = 2x/√π` to the last bits for tiny `x`, subnormal inputs included). For subnormal
//! results (`exp` below `x ≈ −87.34`, and the near-zero results of the others) an ulp is
//! `2⁻¹⁴⁹`, so the bound is an absolute `2·2⁻¹⁴⁹`.
//!
//! # Special values
//!
//! * All functions: NaN in, NaN out.
//! * [`exp`]: `+∞` for `x ≥ 88.72283935546875` (the first `f32` whose true `eˣ` rounds past
//!   `f32::MAX`), `exp(+∞) = +∞`; results fall gradually through the subnormals and are `+0` for
//!   `x ≤ −103.97208404541016` (the first `f32` whose true `eˣ` rounds to 0), `exp(−∞) = +0`.
//! * [`expm1`]: `+∞` from the same threshold as `exp`; `−1` exactly for `x ≤ −17.32868`
//!   (where the true value rounds to `−1`) and at `−∞`; `expm1(±0) = ±0`.
//! * [`ln`]: `ln(±0) = −∞`, `ln(x < 0) = NaN`, `ln(−∞) = NaN`, `ln(+∞) = +∞`; subnormal
//!   inputs are exact-scaled into the normal range first, so they get the same accuracy.
//! * [`ln_1p`]: `ln_1p(−1) = −∞`, `ln_1p(x < −1) = NaN`, `ln_1p(+∞) = +∞`, `ln_1p(±0) = ±0`.
//! * [`tanh`]: odd, `tanh(±0) = ±0`; exactly `±1` for `|x| ≥ 9.010913848876953`
//!   ([`TANH_SATURATION`], the first `f32` whose true `tanh` rounds to 1) and at `±∞`.
//! * [`erf`]: odd, `erf(±0) = ±0`; exactly `±1` for `|x| ≥ 3.919205904006958`
//!   ([`ERF_SATURATION`], the first `f32` whose true `erf` rounds to 1) and at `±∞`.
//!
//! # Method
//!
//! The polynomial coefficients are minimax (Remez) fits of the stated relative error, refitted
//! after each coefficient was rounded to `f32` (highest degree first).
//!
//! * **`exp`, `expm1`** (shared core): `n = round(x·log₂e)` with the `1.5·2²³` rounding trick,
//!   `r = x − n·ln2` with a two-part (Cody–Waite) `ln2` so that `|r| ≤ ln2/2` is exact to well
//!   under an ulp; `eʳ − 1 = r + r²·Q(r)` with `Q` of degree 5 (relative error `2⁻²⁶·⁴` on
//!   `Q`). `exp` returns `(1 + (eʳ − 1))·2ⁿ`, scaling by two powers of two `2^⌊n/2⌋·2^⌈n/2⌉` so
//!   that subnormal results are rounded once. `expm1` returns `2·(2ⁿ⁻¹·(eʳ − 1) + (2ⁿ⁻¹ − ½))`,
//!   where `2ⁿ⁻¹ − ½` is exact for `n ∈ [−24, 24]`, so small results keep relative accuracy
//!   and `n = 128` (results near `f32::MAX`) does not overflow before the last doubling; for
//!   `x < −2.5` it returns `2·(2ⁿ⁻¹·eʳ − ½)`, which rounds once near `−1`.
//! * **`ln`**: `x = 2ᵉ·m` with `m ∈ [√½, √2)` split from the bits (subnormals first scaled by
//!   `2²³`), `f = m − 1` (exact), `ln(1 + f) = f − f²/2 + f³·P(f)` with `P` of degree 7
//!   (weighted relative error `2⁻²⁷·²` on the result), and `e·ln2` added in two parts.
//! * **`ln_1p`**: `u = 1 + x` rounded, the rounding error `c = (1 + x) − u` recovered exactly
//!   (`x − (u − 1)` or `1 − (u − x)`), then `ln(u)` as for `ln` plus the first-order correction
//!   `c/u`. For tiny `x`, `u = 1` and the result is `c = x` itself.
//! * **`tanh`**: `tanh|x| = E/(E + 2)` with `E = expm1(2|x|)` (the `expm1` core), one division,
//!   the sign copied back; `1` from [`TANH_SATURATION`] on.
//! * **`erf`**: for `|x| < 0.875`, `erf(x) = x·(2/√π) + x·x²·P(x²)` with `2/√π` in two parts and
//!   `P` of degree 4 (relative error `2⁻²⁵·⁶`); for `0.875 ≤ |x| < 3.9192`,
//!   `erf(x) = 1 − e^(−x²)·G(|x| − 2.375)` where `G` (degree 8) fits the scaled complement
//!   `erfc(x)·e^(x²)` with its error weighted by `erfc(x)/erf(x)` (`2⁻²⁶·⁵` of the result), and
//!   `e^(−x²)` uses the `exp` core; `1` from [`ERF_SATURATION`] on; the sign copied back.
//!
//! On x86_64 `f32x8` is one AVX register with `-C target-cpu=native` (or `+avx`), two SSE2
//! registers on a default build; on targets without SIMD it is an array of eight `f32` and the
//! same code compiles to unrolled scalar loops. `mul_add` is fused only where the target has FMA;
//! the bounds above hold both ways.

use super::f32x8;
use super::{Float8, Int8, Lanes, Portable};

/// The smallest `x > 0` from which [`tanh`] returns exactly `1` (and `−1` for `x ≤ −` it):
/// `9.010913848876953` (`0x41102CB4`), the first `f32` whose correctly rounded `tanh` is `1`.
pub const TANH_SATURATION: f32 = 9.010_914;

/// The smallest `x > 0` from which [`erf`] returns exactly `1` (and `−1` for `x ≤ −` it):
/// `3.919205904006958` (`0x407AD445`), the first `f32` whose correctly rounded `erf` is `1`.
pub const ERF_SATURATION: f32 = 3.919_206;

/// `1.5·2²³`: adding it to a float of magnitude below `2²²` rounds that float to an integer
/// (round half to even), which then sits in the low mantissa bits.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// The bit pattern of [`ROUND_MAGIC`].
const ROUND_MAGIC_BITS: i32 = 0x4B40_0000;
/// `log₂ e` rounded to `f32`.
const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// The high part of `ln 2`: 9 significant bits, so `n·LN2_HI` is exact for `|n| < 2¹⁵`.
const LN2_HI: f32 = 0.693_359_4;
/// `ln 2 − LN2_HI` rounded to `f32`.
const LN2_LO: f32 = -2.121_944_4e-4;
/// The bit pattern of `√½` rounded to `f32`; the mantissa split puts `m` in `[√½, √2)`.
const SQRT_HALF_BITS: i32 = 0x3F35_04F3;

/// `(eʳ − 1 − r)/r²` on `|r| ≤ ln2/2`, degree 5, coefficients from degree 0 up.
const EXPM1_Q: [f32; 6] = [
    5.0e-1,
    1.666_666_7e-1,
    4.166_646e-2,
    8.333_362e-3,
    1.393_411_5e-3,
    1.985_799e-4,
];

/// `(ln(1 + f) − f + f²/2)/f³` on `f ∈ [√½ − 1, √2 − 1]`, degree 7.
const LN_P: [f32; 8] = [
    3.333_333e-1,
    -2.500_082e-1,
    2.000_122_7e-1,
    -1.662_335_7e-1,
    1.420_175_7e-1,
    -1.316_018_1e-1,
    1.276_157_6e-1,
    -7.634_497_4e-2,
];

/// `2/√π` in two parts: `ERF_C0_HI` rounded to `f32`, `ERF_C0_LO` the rest.
const ERF_C0_HI: f32 = core::f32::consts::FRAC_2_SQRT_PI;
const ERF_C0_LO: f32 = -5.863_538_3e-8;
/// `(erf(x)/x − 2/√π)/x²` as a polynomial in `u = x²` on `[0, 0.875²]`, degree 4.
const ERF_SMALL_P: [f32; 5] = [
    -3.761_257_5e-1,
    1.128_264_9e-1,
    -2.679_726_3e-2,
    5.039_755_7e-3,
    -6.239_186_6e-4,
];
/// Below this `|x|`, [`erf`] uses the odd polynomial; from it on, `1 − erfc`.
const ERF_SPLIT: f32 = 0.875;
/// The centre of the `erfc` fit.
const ERFC_CENTRE: f32 = 2.375;
/// `erfc(x)·e^(x²)` as a polynomial in `t = x − 2.375` on `[0.875, 3.92]`, degree 8.
const ERFC_G: [f32; 9] = [
    2.205_074_4e-1,
    -8.096_631e-2,
    2.816_843e-2,
    -9.527_243e-3,
    2.713_271_4e-3,
    -8.989_353e-4,
    6.619_069_6e-4,
    2.931_955e-4,
    1.455e-4,
];

/// `c[0] + c[1]·x + … + c[n]·xⁿ` by Horner's rule.
#[inline(always)]
fn horner<L: Lanes>(l: L, x: L::F, c: &[f32]) -> L::F {
    let Some((last, rest)) = c.split_last() else {
        return l.splat(0.0);
    };
    let mut acc = l.splat(*last);
    for k in rest.iter().rev() {
        acc = acc.mul_add(x, l.splat(*k));
    }
    acc
}

/// The sign bit of each lane (all other bits zero).
#[inline(always)]
fn sign_bit<L: Lanes>(l: L, x: L::F) -> L::F {
    x & l.splat(-0.0)
}

/// `2ⁿ` for integer lanes `n ∈ [−126, 127]`, built from the exponent bits.
#[inline(always)]
fn pow2i<L: Lanes>(l: L, n: L::I) -> L::F {
    l.bits_to_f32((n + l.splat_i32(127)).shl::<23>())
}

/// Range reduction for `eˣ`: `n = round(x·log₂e)` as an integer and `eʳ − 1` for
/// `r = x − n·ln2`, `|r| ≤ ln2/2 + tiny`. Valid for `|x| < 2¹⁵·ln2`; callers clamp.
#[inline(always)]
fn exp_core<L: Lanes>(l: L, x: L::F) -> (L::I, L::F) {
    let shifted = x.mul_add(l.splat(LOG2_E), l.splat(ROUND_MAGIC));
    let n = shifted - l.splat(ROUND_MAGIC);
    let ni = l.f32_to_bits(shifted) - l.splat_i32(ROUND_MAGIC_BITS);
    // `n·LN2_HI` is exact and so is `x − n·LN2_HI` (both are multiples of ulp(x), and the
    // difference is below 2²⁴ of them); the low part carries the rest of ln 2.
    let r = n.mul_neg_add(l.splat(LN2_HI), x);
    let r = n.mul_neg_add(l.splat(LN2_LO), r);
    let em1 = (r * r).mul_add(horner(l, r, &EXPM1_Q), r);
    (ni, em1)
}

/// The parts of `(eˣ − 1)/2 = 2ⁿ⁻¹·(eʳ − 1) + (2ⁿ⁻¹ − ½)`: `(2ⁿ⁻¹, eʳ − 1)`, for
/// `x ∈ [−86, 89]` (so that `2ⁿ⁻¹` is a normal float).
#[inline(always)]
fn half_expm1_parts<L: Lanes>(l: L, x: L::F) -> (L::F, L::F) {
    let (n, em1) = exp_core(l, x);
    (pow2i(l, n - l.splat_i32(1)), em1)
}

/// `eˣ` in each lane.
///
/// Maximum error 2 ulp over all `f32` (see the [module table](self)), subnormal results
/// included; `+∞` from `x ≥ 88.72283935546875`, `+0` from `x ≤ −103.97208404541016`, NaN
/// propagates. Same as `torch.exp` / `f32::exp` up to that error.
#[inline(always)]
pub fn exp_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    // Clamp (NaN passes: comparisons with NaN are false). e^89 overflows and e^-104 rounds
    // to 0 through the scaling below, so the clamped values give the right limits.
    let x = x.simd_gt(l.splat(89.0)).select(l.splat(89.0), x);
    let x = x.simd_lt(l.splat(-104.0)).select(l.splat(-104.0), x);
    let (n, em1) = exp_core(l, x);
    let p = l.splat(1.0) + em1;
    // n ∈ [−150, 128]: scale by 2^(n>>1) (exact) then by 2^(n − n>>1) (one rounding).
    let n1 = n.shr::<1>();
    let n2 = n - n1;
    p * pow2i(l, n1) * pow2i(l, n2)
}

/// [`exp_lanes`] for kernels that take many exponentials in one function: inlined where the
/// lanes are vector registers, and elsewhere (Cortex-M, RISC-V: eight scalar lanes, where one
/// inlined `exp` is hundreds of instructions) one out-of-line copy that every caller shares, so
/// the flash of such a kernel does not grow with its number of `exp` sites. The same bits
/// either way.
#[inline(always)]
pub(crate) fn exp_lanes_shared<L: Lanes>(l: L, x: L::F) -> L::F {
    if crate::arch::VECTOR_LANES {
        exp_lanes(l, x)
    } else {
        l.load(&exp_out_of_line(x.to_array()))
    }
}

/// [`exp_lanes`] on the portable lanes, never inlined (see [`exp_lanes_shared`]).
#[inline(never)]
fn exp_out_of_line(x: [f32; 8]) -> [f32; 8] {
    exp_lanes(Portable, f32x8::new(x)).to_array()
}

/// `eˣ − 1` in each lane, accurate near 0 (`expm1(x) = x` for `|x| < 2⁻²⁴`).
///
/// Maximum error 2 ulp over all `f32` with full relative accuracy for small `|x|`; `+∞` from
/// the same threshold as [`exp`], `−1` for `x ≤ −17.32868` and at `−∞`, `expm1(±0) = ±0`, NaN
/// propagates. `torch.expm1`.
#[inline(always)]
pub fn expm1_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    // Below −30 the result is −1 anyway; the clamp keeps 2^(n−1) a normal float.
    let xc = x.simd_gt(l.splat(89.0)).select(l.splat(89.0), x);
    let xc = xc.simd_lt(l.splat(-30.0)).select(l.splat(-30.0), xc);
    let (s, em1) = half_expm1_parts(l, xc);
    // 2ⁿ⁻¹ − ½ is exact for n ∈ [−24, 24] (and harmlessly rounded above), so this sum rounds
    // once; below n = −24 it would round twice, so for x < −2.5 (n ≤ −4) the result, close
    // to −½ there, is taken as 2ⁿ⁻¹·eʳ − ½ instead.
    let near_zero = s.mul_add(em1, s - l.splat(0.5));
    let near_minus_half = s.mul_add(em1, s) - l.splat(0.5);
    let y = x.simd_lt(l.splat(-2.5)).select(near_minus_half, near_zero);
    let y = y + y;
    // For |x| < 2⁻²⁴, x is the correctly rounded result; this also keeps −0 and subnormals
    // exact (the core would lose them in the halving).
    let tiny = x.abs().simd_lt(l.splat(5.960_464_5e-8));
    tiny.select(x, y)
}

/// `ln(2ᵉ·(1 + f)) = e·ln2 + ln(1 + f)` for `f ∈ [√½ − 1, √2 − 1]`, with the extra `corr`
/// added to the small part (used by [`ln_1p`]).
#[inline(always)]
fn ln_reduced<L: Lanes>(l: L, e: L::F, f: L::F, corr: L::F) -> L::F {
    let f2 = f * f;
    let y = (f2 * f) * horner(l, f, &LN_P);
    let y = e.mul_add(l.splat(LN2_LO), y) + corr;
    let y = f2.mul_neg_add(l.splat(0.5), y);
    e.mul_add(l.splat(LN2_HI), f + y)
}

/// Splits a positive normal `x` into `(e, m − 1)` with `x = 2ᵉ·m`, `m ∈ [√½, √2)`.
#[inline(always)]
fn split_exponent<L: Lanes>(l: L, x: L::F) -> (L::F, L::F) {
    let ix = l.f32_to_bits(x) - l.splat_i32(SQRT_HALF_BITS);
    let e = ix.shr::<23>();
    let m = l.bits_to_f32((ix & l.splat_i32(0x007F_FFFF)) + l.splat_i32(SQRT_HALF_BITS));
    // Integer to float for |e| < 2²²: place e in the mantissa of 1.5·2²³ and subtract.
    let ef = l.bits_to_f32(e + l.splat_i32(ROUND_MAGIC_BITS)) - l.splat(ROUND_MAGIC);
    (ef, m - l.splat(1.0))
}

/// Natural logarithm in each lane.
///
/// Maximum error 2 ulp over all positive `f32`, subnormals included; `ln(±0) = −∞`,
/// `ln(x < 0) = NaN`, `ln(+∞) = +∞`, NaN propagates. `torch.log`.
#[inline(always)]
pub fn ln_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    // Subnormals (and 0, negatives: replaced below) are scaled by 2²³ exactly.
    let sub = x.simd_lt(l.splat(f32::MIN_POSITIVE));
    let xs = sub.select(x * l.splat(8_388_608.0), x);
    let (e, f) = split_exponent(l, xs);
    let e = e - (sub & l.splat(23.0));
    let y = ln_reduced(l, e, f, l.splat(0.0));
    let y = x
        .simd_eq(l.splat(f32::INFINITY))
        .select(l.splat(f32::INFINITY), y);
    let y = x
        .simd_eq(l.splat(0.0))
        .select(l.splat(f32::NEG_INFINITY), y);
    // Negative and NaN lanes: not (x ≥ 0).
    x.simd_ge(l.splat(0.0)).select(y, l.splat(f32::NAN))
}

/// `ln(1 + x)` in each lane, accurate near 0 (`ln_1p(x) = x` for tiny `x`).
///
/// Maximum error 2 ulp over all `f32 ≥ −1` with full relative accuracy for small `|x|`;
/// `ln_1p(−1) = −∞`, `ln_1p(x < −1) = NaN`, `ln_1p(+∞) = +∞`, `ln_1p(±0) = ±0`, NaN
/// propagates. `torch.log1p`.
#[inline(always)]
pub fn ln_1p_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    let one = l.splat(1.0);
    let u = one + x;
    // The rounding error of u = fl(1 + x), exactly: every difference below is exact
    // (Sterbenz, or u − x ∈ {0, 1, 2} for huge x).
    let big = x.simd_ge(one);
    let err = big.select(one - (u - x), x - (u - one));
    let (e, f) = split_exponent(l, u);
    let y = ln_reduced(l, e, f, err / u);
    let y = x
        .simd_eq(l.splat(f32::INFINITY))
        .select(l.splat(f32::INFINITY), y);
    let y = u
        .simd_eq(l.splat(0.0))
        .select(l.splat(f32::NEG_INFINITY), y);
    let y = x.simd_eq(l.splat(0.0)).select(x, y);
    x.simd_ge(-one).select(y, l.splat(f32::NAN))
}

/// Hyperbolic tangent in each lane.
///
/// Maximum error 2 ulp over all `f32`; odd (`tanh(±0) = ±0`), exactly `±1` for
/// `|x| ≥` [`TANH_SATURATION`] and at `±∞`, NaN propagates. `torch.tanh`.
#[inline(always)]
pub fn tanh_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    let a = x.abs();
    let sat = a.simd_ge(l.splat(TANH_SATURATION));
    let ac = sat.select(l.splat(0.0), a);
    // tanh a = (e^{2a} − 1)/(e^{2a} + 1) = E/(E + 2) with E = expm1(2a) = 2·h.
    let (s, em1) = half_expm1_parts(l, ac + ac);
    let h = s.mul_add(em1, s - l.splat(0.5));
    let t = h / (h + l.splat(1.0));
    sat.select(l.splat(1.0), t) | sign_bit(l, x)
}

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt` in each lane.
///
/// Maximum error 2 ulp over all `f32` with full relative accuracy near 0; odd
/// (`erf(±0) = ±0`), exactly `±1` for `|x| ≥` [`ERF_SATURATION`] and at `±∞`, NaN propagates.
/// `torch.erf`.
#[inline(always)]
pub fn erf_lanes<L: Lanes>(l: L, x: L::F) -> L::F {
    let a = x.abs();
    // |x| < 0.875: a·2/√π + a·u·P(u), u = a².
    let u = a * a;
    let tail = horner(l, u, &ERF_SMALL_P).mul_add(u, l.splat(ERF_C0_LO));
    let small = a.mul_add(l.splat(ERF_C0_HI), a * tail);
    // 0.875 ≤ |x| < saturation: 1 − e^(−a²)·G(a − 2.375). Out-of-range lanes are clamped so
    // that the discarded branch stays finite and normal.
    let large_range = a.simd_ge(l.splat(ERF_SPLIT));
    let sat = a.simd_ge(l.splat(ERF_SATURATION));
    let ac = large_range.select(a, l.splat(ERF_SPLIT));
    let ac = sat.select(l.splat(ERF_SATURATION), ac);
    let (n, em1) = exp_core(l, -(ac * ac));
    let gauss = (l.splat(1.0) + em1) * pow2i(l, n);
    let g = horner(l, ac - l.splat(ERFC_CENTRE), &ERFC_G);
    let large = gauss.mul_neg_add(g, l.splat(1.0));
    let y = large_range.select(large, small);
    sat.select(l.splat(1.0), y) | sign_bit(l, x)
}

/// [`exp_lanes`] on the portable lanes (`wide::f32x8`).
#[inline]
pub fn exp(x: f32x8) -> f32x8 {
    exp_lanes(Portable, x)
}

/// [`expm1_lanes`] on the portable lanes (`wide::f32x8`).
#[inline]
pub fn expm1(x: f32x8) -> f32x8 {
    expm1_lanes(Portable, x)
}

/// [`ln_lanes`] on the portable lanes (`wide::f32x8`).
#[inline]
pub fn ln(x: f32x8) -> f32x8 {
    ln_lanes(Portable, x)
}

/// [`ln_1p_lanes`] on the portable lanes (`wide::f32x8`).
#[inline]
pub fn ln_1p(x: f32x8) -> f32x8 {
    ln_1p_lanes(Portable, x)
}

/// [`tanh_lanes`] on the portable lanes (`wide::f32x8`).
#[inline]
pub fn tanh(x: f32x8) -> f32x8 {
    tanh_lanes(Portable, x)
}

/// [`erf_lanes`] on the portable lanes (`wide::f32x8`).
#[inline]
pub fn erf(x: f32x8) -> f32x8 {
    erf_lanes(Portable, x)
}

/// [`exp`] of one `f32`, through the same vector code (bit-identical to a lane).
#[inline]
pub fn exp_scalar(x: f32) -> f32 {
    exp(f32x8::splat(x)).to_array()[0]
}

/// [`expm1`] of one `f32`, through the same vector code (bit-identical to a lane).
#[inline]
pub fn expm1_scalar(x: f32) -> f32 {
    expm1(f32x8::splat(x)).to_array()[0]
}

/// [`ln`] of one `f32`, through the same vector code (bit-identical to a lane).
#[inline]
pub fn ln_scalar(x: f32) -> f32 {
    ln(f32x8::splat(x)).to_array()[0]
}

/// [`ln_1p`] of one `f32`, through the same vector code (bit-identical to a lane).
#[inline]
pub fn ln_1p_scalar(x: f32) -> f32 {
    ln_1p(f32x8::splat(x)).to_array()[0]
}

/// [`tanh`] of one `f32`, through the same vector code (bit-identical to a lane).
#[inline]
pub fn tanh_scalar(x: f32) -> f32 {
    tanh(f32x8::splat(x)).to_array()[0]
}

/// [`erf`] of one `f32`, through the same vector code (bit-identical to a lane).
#[inline]
pub fn erf_scalar(x: f32) -> f32 {
    erf(f32x8::splat(x)).to_array()[0]
}
