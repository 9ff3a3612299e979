//! Lane reductions shared by the penalties, the gradient norms and the max-norm constraint,
//! generic over the [`Lanes`] their public function was dispatched to.
//!
//! Sums are the crate's blocked `f32` → `f64` reduction ([`block_sums_in`]): four accumulators
//! of eight `f32` lanes within blocks of 256 elements, the blocks added in `f64`, so a sum of
//! `n` non-negative terms errs by about `35·u` relative (`u = 2⁻²⁴`) whatever `n` is.
//!
//! [`power_sum_in`] also guards against the range of `f32`: a block whose `f32` sum overflowed
//! (`|x| ≳ 1.8e19` squared) or is so small that its squares lost precision in the subnormals is
//! summed again after an exact scaling by a power of two, and the scale is taken out in `f64`.
//! Blocks in the normal range, which is every block of a realistic gradient, pay one comparison.

use crate::simd::{
    block_sums_in, dispatch, fold_in, load_partial_in, map_inplace_in, Float8, LaneMap, Lanes,
    WithLanes, LANES,
};

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

/// `Σ |x|^p` of one block in `f32` lanes, each element first multiplied by `scale`.
#[inline(always)]
fn block_sum<L: Lanes>(l: L, x: &[f32], power: Power, scale: f32) -> f32 {
    let vs = l.splat(scale);
    match power {
        Power::One => fold_in(
            l,
            x,
            #[inline(always)]
            |a, v| a + (v * vs).abs(),
        ),
        Power::Two => fold_in(
            l,
            x,
            #[inline(always)]
            |a, v| {
                let y = v * vs;
                y.mul_add(y, a)
            },
        ),
    }
    .reduce_add()
}

/// `Σ |x|^p` (p = 1 or 2) in `f64`, without overflow or underflow for any finite `f32` input:
/// `+∞` when an element is infinite (and no element is NaN), NaN when one is NaN.
#[inline(always)]
pub(super) fn power_sum_in<L: Lanes>(l: L, x: &[f32], power: Power) -> f64 {
    match power {
        Power::One => block_sums_in(
            l,
            x,
            #[inline(always)]
            |a, v| a + v.abs(),
            #[inline(always)]
            |block, s| widen(l, block, s, power),
        ),
        Power::Two => block_sums_in(
            l,
            x,
            #[inline(always)]
            |a, v| v.mul_add(v, a),
            #[inline(always)]
            |block, s| widen(l, block, s, power),
        ),
    }
}

/// A block's `f32` sum `s` in `f64`; out of the normal range, the block is summed again
/// rescaled.
#[inline(always)]
fn widen<L: Lanes>(l: L, block: &[f32], s: f32, power: Power) -> f64 {
    if (TINY..=f32::MAX).contains(&s) || s.is_nan() {
        f64::from(s)
    } else {
        rescaled_sum(l, block, power)
    }
}

/// The slow path of [`power_sum_in`] for one block: `Σ |x·2ᵏ|^p · 2^(−k·p)` with `2ᵏ` chosen
/// so that the largest `|x|·2ᵏ` lies in `[1, 2)` (in `[2⁻²³, 1)` when it is subnormal).
#[cold]
fn rescaled_sum<L: Lanes>(l: L, block: &[f32], power: Power) -> f64 {
    let m = max_abs_in(l, block);
    if m == 0.0 || m.is_infinite() || m.is_nan() {
        return f64::from(m);
    }
    let (scale, unscale) = pow2_scale(m);
    let s = f64::from(block_sum(l, block, power, scale));
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
#[inline(always)]
pub(super) fn max_abs_in<L: Lanes>(l: L, x: &[f32]) -> f32 {
    let (xc, xt) = x.as_chunks::<LANES>();
    let (mut m, mut nan) = (l.splat(0.0), l.splat(0.0));
    for a in xc {
        (m, nan) = max_abs_step(l.load(a), m, nan);
    }
    if !xt.is_empty() {
        (m, nan) = max_abs_step(load_partial_in(l, xt, 0.0), m, nan);
    }
    if nan.any() {
        return f32::NAN;
    }
    m.to_array().into_iter().fold(0.0, f32::max)
}

/// One vector `v` of [`max_abs_in`]: the running maximum of `|v|` and the mask of NaN lanes.
#[inline(always)]
fn max_abs_step<F: Float8>(v: F, m: F, nan: F) -> (F, F) {
    let a = v.abs();
    // `a != a` marks NaN lanes; kept apart so that `fast_max` cannot drop one.
    (m.fast_max(a), nan | a.simd_ne(a))
}

/// `x ↦ min(max(x, lo), hi)`; a NaN element stays NaN (comparisons with NaN are false, so it
/// passes through both selects).
#[derive(Clone, Copy)]
pub(super) struct Clamp {
    pub(super) lo: f32,
    pub(super) hi: f32,
}

impl LaneMap for Clamp {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        let (lo, hi) = (l.splat(self.lo), l.splat(self.hi));
        let x = x.simd_lt(lo).select(lo, x);
        x.simd_gt(hi).select(hi, x)
    }
}

/// `g = f(g)` for every element of every gradient: one dispatch for all of them.
pub(super) fn map_grads(grads: &mut [&mut [f32]], f: impl LaneMap) {
    /// The kernel.
    struct Run<'a, 'b, M>(&'a mut [&'b mut [f32]], M);
    impl<M: LaneMap> WithLanes for Run<'_, '_, M> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let f = self.1;
            for g in self.0.iter_mut() {
                map_inplace_in(
                    l,
                    g,
                    #[inline(always)]
                    |x| f.apply(l, x),
                );
            }
        }
    }
    dispatch(Run(grads, f));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{dispatch_on, WithLanes};
    use crate::Isa;

    /// [`power_sum_in`] on every available instruction set; they must agree to the bound of
    /// the blocked sum, and this returns the first.
    fn power_sum(x: &[f32], power: Power) -> f64 {
        struct Run<'a>(&'a [f32], Power);
        impl WithLanes for Run<'_> {
            type Output = f64;
            fn run<L: Lanes>(self, l: L) -> f64 {
                power_sum_in(l, self.0, self.1)
            }
        }
        let first = dispatch_on(Isa::Portable, Run(x, power));
        for isa in Isa::available() {
            let got = dispatch_on(isa, Run(x, power));
            let same = got == first || (got.is_nan() && first.is_nan());
            assert!(same || (got - first).abs() <= 1e-6 * first.abs(), "{isa}");
        }
        first
    }

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
