//! Lane reductions shared by the penalties, the gradient norms and the max-norm constraint.
//!
//! Sums run in eight `f32` lanes (four independent accumulators of eight) within blocks of
//! [`BLOCK`] elements, and the blocks are added in `f64`: each lane adds at most 32 terms, so a
//! sum of `n` non-negative terms errs by about `32·u` relative (`u = 2⁻²⁴`) whatever `n` is.
//!
//! [`power_sum`] also guards against the range of `f32`: a block whose `f32` sum overflowed
//! (`|x| ≳ 1.8e19` squared) or is so small that its squares lost precision in the subnormals is
//! summed again after an exact scaling by a power of two, and the scale is taken out in `f64`.
//! Blocks in the normal range, which is every block of a realistic gradient, pay one comparison.

use crate::simd::{f32x8, load, load_partial, LANES};

/// Elements per block: 32 vectors of eight lanes.
pub(super) const BLOCK: usize = 256;

/// Block sums below this are summed again scaled: squares of elements under `2⁻⁶³` start to
/// lose bits in the subnormals, and a block sum of at least `2⁻¹⁰⁰` keeps that loss under
/// `2⁻⁴²` relative.
const TINY: f32 = 7.888_609e-31; // 2⁻¹⁰⁰

/// Which power of `|x|` a sum adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Power {
    /// `Σ |x|`.
    One,
    /// `Σ x²`.
    Two,
}

/// `Σ step` over `x` in lanes: `acc = step(acc, v)` for every vector `v` of `x`, the tail as a
/// zero-padded vector (so `step(acc, 0)` must add 0). Four accumulators hide the add latency.
#[inline(always)]
pub(super) fn lane_fold(x: &[f32], step: impl Fn(f32x8, f32x8) -> f32x8) -> f32x8 {
    let (xc, xt) = x.as_chunks::<LANES>();
    let (x4, xr) = xc.as_chunks::<4>();
    let (mut a0, mut a1, mut a2, mut a3) = (f32x8::ZERO, f32x8::ZERO, f32x8::ZERO, f32x8::ZERO);
    for q in x4 {
        a0 = step(a0, load(&q[0]));
        a1 = step(a1, load(&q[1]));
        a2 = step(a2, load(&q[2]));
        a3 = step(a3, load(&q[3]));
    }
    for r in xr {
        a0 = step(a0, load(r));
    }
    if !xt.is_empty() {
        a1 = step(a1, load_partial(xt, 0.0));
    }
    (a0 + a1) + (a2 + a3)
}

/// `Σ |x|^p` of one block in `f32` lanes, each element first multiplied by `scale`.
#[inline(always)]
fn block_sum(x: &[f32], power: Power, scale: f32) -> f32 {
    let vs = f32x8::splat(scale);
    match power {
        Power::One => lane_fold(x, |a, v| a + (v * vs).abs()),
        Power::Two => lane_fold(x, |a, v| {
            let y = v * vs;
            y.mul_add(y, a)
        }),
    }
    .reduce_add()
}

/// `Σ |x|^p` (p = 1 or 2) in `f64`, without overflow or underflow for any finite `f32` input:
/// `+∞` when an element is infinite (and no element is NaN), NaN when one is NaN.
pub(super) fn power_sum(x: &[f32], power: Power) -> f64 {
    let mut total = 0.0f64;
    for block in x.chunks(BLOCK) {
        // Unscaled first: multiplying by 1.0 is exact and free after constant folding.
        let s = block_sum(block, power, 1.0);
        total += if (TINY..=f32::MAX).contains(&s) || s.is_nan() {
            f64::from(s)
        } else {
            rescaled_sum(block, power)
        };
    }
    total
}

/// The slow path of [`power_sum`] for one block: `Σ |x·2ᵏ|^p · 2^(−k·p)` with `2ᵏ` chosen so
/// that the largest `|x|·2ᵏ` lies in `[1, 2)` (in `[2⁻²³, 1)` when it is subnormal).
#[cold]
fn rescaled_sum(block: &[f32], power: Power) -> f64 {
    let m = max_abs(block);
    if m == 0.0 || m.is_infinite() || m.is_nan() {
        return f64::from(m);
    }
    let (scale, unscale) = pow2_scale(m);
    let s = f64::from(block_sum(block, power, scale));
    match power {
        Power::One => s * unscale,
        Power::Two => s * unscale * unscale,
    }
}

/// `(2ᵏ as f32, 2⁻ᵏ as f64)` with `m·2ᵏ ∈ [1, 2)` for a finite normal `m > 0`, and `k = 126`
/// for a subnormal `m`. Both are exact powers of two (`2⁻¹²⁷` is a subnormal `f32`).
fn pow2_scale(m: f32) -> (f32, f64) {
    let biased = ((m.to_bits() >> 23) & 0xff) as i32;
    let k = if biased == 0 { 126 } else { 127 - biased }; // k ∈ [−127, 126]
    let scale = if k >= -126 {
        f32::from_bits(((k + 127) as u32) << 23)
    } else {
        f32::from_bits(1 << 22) // 2⁻¹²⁷
    };
    let unscale = f64::from_bits(((1023 - k) as u64) << 52);
    (scale, unscale)
}

/// `max |x|`, `0` for an empty slice; NaN when any element is NaN.
pub(super) fn max_abs(x: &[f32]) -> f32 {
    let (xc, xt) = x.as_chunks::<LANES>();
    let mut m = f32x8::ZERO;
    let mut nan = f32x8::ZERO;
    let mut visit = |v: f32x8| {
        let a = v.abs();
        // `a != a` marks NaN lanes; kept apart so that `fast_max` cannot drop one.
        nan |= a.simd_ne(a);
        m = m.fast_max(a);
    };
    for a in xc {
        visit(load(a));
    }
    if !xt.is_empty() {
        visit(load_partial(xt, 0.0));
    }
    if nan.any() {
        return f32::NAN;
    }
    m.to_array().into_iter().fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_scale_brings_the_maximum_into_one_two() {
        for m in [
            f32::MAX,
            1.5e38,
            3.0e19,
            1.0,
            1.0e-20,
            f32::MIN_POSITIVE,
            1.0e-40,
            f32::from_bits(1),
        ] {
            let (s, u) = pow2_scale(m);
            let y = m * s;
            assert!(y < 2.0, "m={m:e}");
            if m >= f32::MIN_POSITIVE {
                assert!(y >= 1.0, "m={m:e}");
            }
            assert_eq!(f64::from(s) * u, 1.0, "m={m:e}");
        }
    }

    #[test]
    fn power_sum_survives_the_ends_of_the_f32_range() {
        for (v, n) in [
            (1.0e30f32, 300usize),
            (3.0e38, 600),
            (1.0e-30, 70),
            (1.0e-44, 5),
        ] {
            let x = std::vec![v; n];
            let want2 = f64::from(v) * f64::from(v) * n as f64;
            let got2 = power_sum(&x, Power::Two);
            assert!(
                (got2 - want2).abs() <= 1e-6 * want2,
                "v={v:e} n={n}: {got2:e}"
            );
            let want1 = f64::from(v) * n as f64;
            let got1 = power_sum(&x, Power::One);
            assert!(
                (got1 - want1).abs() <= 1e-6 * want1,
                "v={v:e} n={n}: {got1:e}"
            );
        }
        let mut x = std::vec![1.0f32; 300];
        x[7] = f32::INFINITY;
        assert_eq!(power_sum(&x, Power::Two), f64::INFINITY);
        x[270] = f32::NAN;
        assert!(power_sum(&x, Power::Two).is_nan());
        assert_eq!(power_sum(&[0.0; 40], Power::Two), 0.0);
    }
}
