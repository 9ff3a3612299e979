//! The SIMD layer: lanes of eight `f32` over [`wide::f32x8`], with tails handled so that every
//! element of a slice gets the same arithmetic wherever it sits.
//!
//! * Element-wise maps (`map`, `zip_map`, …) run the tail through the *same* vector code on a
//!   zero-padded lane, so the result for an element never depends on the slice's length or on
//!   the element's position: a kernel is bit-identical on a slice and on any sub-slice of it.
//! * Reductions (`dot`, `sum`, `max`) accumulate in eight lanes and add the tail in scalar
//!   code; their rounding depends on the length, as any reordered sum does. Sums that must stay
//!   accurate for any length (losses, penalties, gradient norms) use the one blocked `f32` →
//!   `f64` reduction of `reduce.rs` (`BlockSum`, `block_sums_in`), whose bound is
//!   `35·u·Σ|t|` whatever the length.
//! * [`math`] has the vectorised transcendental functions (`exp`, `ln`, `tanh`, `erf`) with
//!   their documented error against `libm`.
//!
//! `wide` picks its instructions from the compile-time target features: SSE2 pairs on a default
//! x86_64 build, AVX with `-C target-cpu=native`, NEON on aarch64, `simd128` on wasm, and plain
//! arrays of eight scalars on targets without SIMD (Cortex-M), where the same code compiles to
//! unrolled scalar loops.
//!
//! # Run-time dispatch
//!
//! The element-wise kernels (every optimizer and activation, the losses, layer and batch
//! norm, the regularisers, the dense layer's bias sums, [`axpy`] and [`scale`]) are written
//! once, generic over a [`Lanes`] token, and run through [`dispatch`](fn@dispatch): on x86_64
//! with `std` it checks `is_x86_feature_detected!("avx2")` and `("fma")` once
//! ([`Isa::detect`](crate::Isa), cached) and runs the kernel on the [`Avx2Fma`] lanes, inside a
//! function compiled with
//! `#[target_feature(enable = "avx2,fma")]`, so a default build (no `RUSTFLAGS`) gets 256-bit
//! registers and fused multiply-adds; without `std` the choice comes from the compile-time
//! target features; elsewhere, with the cargo feature `portable` or with
//! `DESCENT_ISA=portable`, the kernels run on the [`Portable`] lanes (`wide::f32x8`, the same
//! bits as before the dispatch existed). [`dispatch_on`] takes an explicit
//! [`Isa`](crate::Isa) and, under `std`, [`with_isa`] overrides the choice for one
//! thread (what the tests use to run every path). One choice per call, never per element.
//!
//! The two paths differ only where the AVX2 lanes fuse `a·b + c` into one rounding
//! ([`Float8::mul_add`]): within the documented error of each function (the
//! [`math`] bounds hold on both), and for the optimizers by at most the product's rounding per
//! fused update, an ulp of the update's operands (see `tests/optim.rs`).
//!
//! The crate-internal helpers work on the common prefix when slices differ in length: the
//! public kernels check lengths before they call them. The public ones ([`axpy`], [`scale`])
//! check their own arguments.

mod align;
pub mod math;
mod reduce;

#[cfg(feature = "std")]
pub use crate::arch::with_isa;
#[cfg(target_arch = "x86_64")]
pub use crate::arch::x86_64::{Avx2F32, Avx2Fma, Avx2I32};
pub use crate::arch::{dispatch, dispatch_on, fuses_multiply_add, isa};
pub use crate::arch::{Float8, Int8, Lanes, Portable, WithLanes, LANES};
pub use wide::f32x8;

pub(crate) use align::floats_before_boundary;
pub(crate) use reduce::{block_sums_in, fold_in, BlockSum};

/// Loads the first `tail.len()` (< 8) lanes from `tail` and fills the rest with `fill`.
#[inline(always)]
pub(crate) fn load_partial_in<L: Lanes>(l: L, tail: &[f32], fill: f32) -> L::F {
    let mut a = [fill; LANES];
    for (dst, src) in a.iter_mut().zip(tail) {
        *dst = *src;
    }
    l.load(&a)
}

/// Stores the first `out.len()` (< 8) lanes of `v` into `out`.
#[inline(always)]
pub(crate) fn store_partial_in<F: Float8>(v: F, out: &mut [f32]) {
    let a = v.to_array();
    for (dst, src) in out.iter_mut().zip(a.iter()) {
        *dst = *src;
    }
}

/// The eight lanes of `s` from `i`, zero-padded past the end (all zero when `i ≥ s.len()`).
#[inline(always)]
pub(crate) fn load_at_in<L: Lanes>(l: L, s: &[f32], i: usize) -> L::F {
    let rest = s.get(i..).unwrap_or(&[]);
    match rest.first_chunk::<LANES>() {
        Some(a) => l.load(a),
        None => load_partial_in(l, rest, 0.0),
    }
}

/// Stores the lanes of `v` at `s[i..]` that fall inside `s`.
#[inline(always)]
pub(crate) fn store_at_in<F: Float8>(s: &mut [f32], i: usize, v: F) {
    if let Some(rest) = s.get_mut(i..) {
        match rest.first_chunk_mut::<LANES>() {
            Some(a) => v.store(a),
            None => store_partial_in(v, rest),
        }
    }
}

/// `s[i..i + 8] += v`, the lanes that fall inside `s` (a gradient that accumulates a sum
/// taken apart).
#[inline(always)]
pub(crate) fn add_at_in<L: Lanes>(l: L, s: &mut [f32], i: usize, v: L::F) {
    let sum = load_at_in(l, s, i) + v;
    store_at_in(s, i, sum);
}

/// `sign(x)`: 1 for `x > 0`, −1 for `x < 0`, +0 for ±0, NaN for NaN (torch's `sign`, the
/// subgradient of `|x|` that the L1 loss and penalty use).
#[inline(always)]
pub(crate) fn sign_in<L: Lanes>(l: L, x: L::F) -> L::F {
    let (one, zero) = (l.splat(1.0), l.splat(0.0));
    let zero_or_nan = x.is_nan().select(x, zero);
    x.simd_gt(zero)
        .select(one, x.simd_lt(zero).select(-one, zero_or_nan))
}

/// `y[i] = f(x[i])` for every element, eight lanes at a time, on the lanes `l`; the tail goes
/// through `f` on a zero-padded lane.
#[inline(always)]
pub(crate) fn map_in<L: Lanes>(l: L, x: &[f32], y: &mut [f32], f: impl Fn(L::F) -> L::F) {
    let n = x.len().min(y.len());
    let (xc, xt) = x[..n].as_chunks::<LANES>();
    let (yc, yt) = y[..n].as_chunks_mut::<LANES>();
    for (xa, ya) in xc.iter().zip(yc.iter_mut()) {
        f(l.load(xa)).store(ya);
    }
    if !xt.is_empty() {
        store_partial_in(f(load_partial_in(l, xt, 0.0)), yt);
    }
}

/// `x[i] = f(x[i])` in place, on the lanes `l`; the tail through `f` on a zero-padded lane.
#[inline(always)]
pub(crate) fn map_inplace_in<L: Lanes>(l: L, x: &mut [f32], f: impl Fn(L::F) -> L::F) {
    let (xc, xt) = x.as_chunks_mut::<LANES>();
    for xa in xc.iter_mut() {
        f(l.load(xa)).store(xa);
    }
    if !xt.is_empty() {
        let v = f(load_partial_in(l, xt, 0.0));
        store_partial_in(v, xt);
    }
}

/// `out[i] = f(a[i], b[i])` on the lanes `l`.
#[inline(always)]
pub(crate) fn zip_map_in<L: Lanes>(
    l: L,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    f: impl Fn(L::F, L::F) -> L::F,
) {
    let n = a.len().min(b.len()).min(out.len());
    let (ac, at) = a[..n].as_chunks::<LANES>();
    let (bc, bt) = b[..n].as_chunks::<LANES>();
    let (oc, ot) = out[..n].as_chunks_mut::<LANES>();
    for ((aa, ba), oa) in ac.iter().zip(bc).zip(oc.iter_mut()) {
        f(l.load(aa), l.load(ba)).store(oa);
    }
    if !at.is_empty() {
        store_partial_in(
            f(load_partial_in(l, at, 0.0), load_partial_in(l, bt, 0.0)),
            ot,
        );
    }
}

/// `b[i] = f(a[i], b[i])`: the second operand overwritten with the result, on the lanes `l`.
#[inline(always)]
pub(crate) fn zip_map_inplace_in<L: Lanes>(
    l: L,
    a: &[f32],
    b: &mut [f32],
    f: impl Fn(L::F, L::F) -> L::F,
) {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<LANES>();
    let (bc, bt) = b[..n].as_chunks_mut::<LANES>();
    for (aa, ba) in ac.iter().zip(bc.iter_mut()) {
        f(l.load(aa), l.load(ba)).store(ba);
    }
    if !at.is_empty() {
        let v = f(load_partial_in(l, at, 0.0), load_partial_in(l, bt, 0.0));
        store_partial_in(v, bt);
    }
}

/// `Σ a[i]·b[i]` on the lanes `l`, with two independent accumulators of eight lanes.
#[inline(always)]
pub(crate) fn dot_in<L: Lanes>(l: L, a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (ac, at) = a[..n].as_chunks::<LANES>();
    let (bc, bt) = b[..n].as_chunks::<LANES>();
    let mut acc0 = l.splat(0.0);
    let mut acc1 = l.splat(0.0);
    let (ac2, ar) = ac.as_chunks::<2>();
    let (bc2, br) = bc.as_chunks::<2>();
    for (aa, ba) in ac2.iter().zip(bc2) {
        acc0 = l.load(&aa[0]).mul_add(l.load(&ba[0]), acc0);
        acc1 = l.load(&aa[1]).mul_add(l.load(&ba[1]), acc1);
    }
    for (aa, ba) in ar.iter().zip(br) {
        acc0 = l.load(aa).mul_add(l.load(ba), acc0);
    }
    let mut s = (acc0 + acc1).reduce_add();
    for (x, y) in at.iter().zip(bt) {
        s += x * y;
    }
    s
}

/// `Σ a[i]` on the lanes `l`.
#[inline(always)]
pub(crate) fn sum_in<L: Lanes>(l: L, a: &[f32]) -> f32 {
    let (ac, at) = a.as_chunks::<LANES>();
    let mut acc = l.splat(0.0);
    for aa in ac {
        acc += l.load(aa);
    }
    let mut s = acc.reduce_add();
    for x in at {
        s += x;
    }
    s
}

/// `max a[i]` on the lanes `l`, or `-∞` for an empty slice. A NaN anywhere gives NaN.
#[inline(always)]
pub(crate) fn max_in<L: Lanes>(l: L, a: &[f32]) -> f32 {
    let (ac, at) = a.as_chunks::<LANES>();
    let mut acc = l.splat(f32::NEG_INFINITY);
    let mut nan = l.splat(0.0);
    for aa in ac {
        let v = l.load(aa);
        // `x != x` is all-ones for NaN lanes; track them apart so `max` cannot drop one.
        nan = nan | v.simd_ne(v);
        acc = acc.fast_max(v);
    }
    let mut m = f32::NEG_INFINITY;
    for x in acc.to_array() {
        m = m.max(x);
    }
    let mut any_nan = nan.any();
    for &x in at {
        any_nan |= x.is_nan();
        m = m.max(x);
    }
    if any_nan {
        f32::NAN
    } else {
        m
    }
}

/// A lane function `x ↦ f(x)`, generic over the instruction set: what
/// [`map_dispatch`] and [`map_inplace_dispatch`] run (a closure cannot be generic).
pub(crate) trait LaneMap: Copy {
    /// `f(x)` on the lanes `l`.
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F;
}

/// A lane function `(a, b) ↦ f(a, b)`, generic over the instruction set.
pub(crate) trait LaneZip: Copy {
    /// `f(a, b)` on the lanes `l`.
    fn apply<L: Lanes>(self, l: L, a: L::F, b: L::F) -> L::F;
}

/// [`map_in`] of `f`, on the lanes [`dispatch`](fn@dispatch) picks (once for the whole slice).
#[inline]
pub(crate) fn map_dispatch(x: &[f32], y: &mut [f32], f: impl LaneMap) {
    /// The kernel.
    struct Run<'a, M>(&'a [f32], &'a mut [f32], M);
    impl<M: LaneMap> WithLanes for Run<'_, M> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let f = self.2;
            map_in(
                l,
                self.0,
                self.1,
                #[inline(always)]
                |v| f.apply(l, v),
            );
        }
    }
    dispatch(Run(x, y, f));
}

/// [`map_inplace_in`] of `f`, on the lanes [`dispatch`](fn@dispatch) picks.
#[inline]
pub(crate) fn map_inplace_dispatch(x: &mut [f32], f: impl LaneMap) {
    /// The kernel.
    struct Run<'a, M>(&'a mut [f32], M);
    impl<M: LaneMap> WithLanes for Run<'_, M> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let f = self.1;
            map_inplace_in(
                l,
                self.0,
                #[inline(always)]
                |v| f.apply(l, v),
            );
        }
    }
    dispatch(Run(x, f));
}

/// [`zip_map_in`] of `f`, on the lanes [`dispatch`](fn@dispatch) picks.
#[inline]
pub(crate) fn zip_map_dispatch(a: &[f32], b: &[f32], out: &mut [f32], f: impl LaneZip) {
    /// The kernel.
    struct Run<'a, Z>(&'a [f32], &'a [f32], &'a mut [f32], Z);
    impl<Z: LaneZip> WithLanes for Run<'_, Z> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let f = self.3;
            zip_map_in(
                l,
                self.0,
                self.1,
                self.2,
                #[inline(always)]
                |a, b| f.apply(l, a, b),
            );
        }
    }
    dispatch(Run(a, b, out, f));
}

/// [`zip_map_inplace_in`] of `f`, on the lanes [`dispatch`](fn@dispatch) picks.
#[inline]
pub(crate) fn zip_map_inplace_dispatch(a: &[f32], b: &mut [f32], f: impl LaneZip) {
    /// The kernel.
    struct Run<'a, Z>(&'a [f32], &'a mut [f32], Z);
    impl<Z: LaneZip> WithLanes for Run<'_, Z> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let f = self.2;
            zip_map_inplace_in(
                l,
                self.0,
                self.1,
                #[inline(always)]
                |a, b| f.apply(l, a, b),
            );
        }
    }
    dispatch(Run(a, b, f));
}

/// `y[i] += alpha·x[i]` (BLAS `saxpy`; torch's `y.add_(x, alpha=alpha)`), eight lanes at a
/// time with a fused multiply-add where the target has one.
///
/// # Errors
/// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"y"` when
/// `y.len() != x.len()`; nothing is written then.
///
/// ```
/// let mut p = [1.0, 2.0, 3.0];
/// descent::simd::axpy(-0.5, &[2.0, 2.0, 2.0], &mut p)?; // an SGD step p -= lr·g
/// assert_eq!(p, [0.0, 1.0, 2.0]);
/// # Ok::<(), descent::Error>(())
/// ```
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) -> crate::Result<()> {
    crate::error::check_len("y", y.len(), x.len())?;
    zip_map_inplace_dispatch(x, y, Axpy(alpha));
    Ok(())
}

/// The lanes of [`axpy`]: `(x, y) ↦ α·x + y`.
#[derive(Clone, Copy)]
struct Axpy(f32);

impl LaneZip for Axpy {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F, y: L::F) -> L::F {
        l.splat(self.0).mul_add(x, y)
    }
}

/// `x[i] *= alpha` (BLAS `sscal`; torch's `x.mul_(alpha)`).
///
/// ```
/// let mut g = [1.0, -2.0, 4.0];
/// descent::simd::scale(0.5, &mut g);
/// assert_eq!(g, [0.5, -1.0, 2.0]);
/// ```
#[inline]
pub fn scale(alpha: f32, x: &mut [f32]) {
    map_inplace_dispatch(x, Scale(alpha));
}

/// The lanes of [`scale`]: `x ↦ α·x`.
#[derive(Clone, Copy)]
pub(crate) struct Scale(pub(crate) f32);

impl LaneMap for Scale {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        x * l.splat(self.0)
    }
}

/// [`scale`] on the lanes `l`.
#[inline(always)]
pub(crate) fn scale_in<L: Lanes>(l: L, alpha: f32, x: &mut [f32]) {
    let f = Scale(alpha);
    map_inplace_in(
        l,
        x,
        #[inline(always)]
        |x| f.apply(l, x),
    );
}

/// `√x` in `f64`, correctly rounded: the instruction through `std` when it is linked,
/// `libm`'s soft square root without it (the same result; `libm`'s x86 assembly is not used,
/// so Miri can run every path).
#[inline]
pub(crate) fn sqrt_f64(x: f64) -> f64 {
    #[cfg(feature = "std")]
    {
        x.sqrt()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::sqrt(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> [f32; 80] {
        let mut a = [0.0f32; 80];
        let mut s = seed;
        for v in a.iter_mut().take(n) {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *v = (s >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0;
        }
        a
    }

    /// `(dot_in, sum_in, max_in)` of `a`, `b`, and `zip_map_in` of `a·b` into `y`.
    struct Kernels<'a>(&'a [f32], &'a [f32], &'a mut [f32]);

    impl WithLanes for Kernels<'_> {
        type Output = (f32, f32, f32);
        fn run<L: Lanes>(self, l: L) -> (f32, f32, f32) {
            let Kernels(a, b, y) = self;
            zip_map_in(l, a, b, y, |x, y| x * y);
            (dot_in(l, a, b), sum_in(l, a), max_in(l, a))
        }
    }

    #[test]
    fn reductions_and_maps_match_scalar_at_every_length_and_offset_on_every_isa() {
        use crate::Isa;
        for isa in Isa::available() {
            for n in 0..=70 {
                for off in 0..3 {
                    let a = data(n + off, 1);
                    let b = data(n + off, 2);
                    let (a, b) = (&a[off..off + n], &b[off..off + n]);
                    let mut y = [7.0f32; 80];
                    let (dot, sum, max) = dispatch_on(isa, Kernels(a, b, &mut y[off..off + n]));
                    for i in 0..n {
                        assert_eq!(y[off + i], a[i] * b[i], "{isa} zip_map n={n}");
                    }
                    assert_eq!(y[off + n], 7.0, "{isa}: past the slice");
                    let d: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
                    let abs: f64 = a
                        .iter()
                        .zip(b)
                        .map(|(x, y)| (*x as f64 * *y as f64).abs())
                        .sum();
                    // A reordered f32 sum of n terms errs by at most ~n·u·Σ|terms|.
                    let tol = (n as f64 + 2.0) * f32::EPSILON as f64 * abs;
                    assert!((dot as f64 - d).abs() <= tol, "{isa} dot n={n}");
                    let s: f64 = a.iter().map(|x| *x as f64).sum();
                    let sabs: f64 = a.iter().map(|x| (*x as f64).abs()).sum();
                    let tol = (n as f64 + 2.0) * f32::EPSILON as f64 * sabs;
                    assert!((sum as f64 - s).abs() <= tol, "{isa} sum n={n}");
                    let m = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    assert_eq!(max, m, "{isa} max n={n}");
                }
            }
        }
    }

    #[test]
    fn max_propagates_nan_from_any_position_on_every_isa() {
        use crate::Isa;
        for isa in Isa::available() {
            for n in 1..=20 {
                for p in 0..n {
                    let mut a = data(n, 3);
                    a[p] = f32::NAN;
                    let mut y = [0.0f32; 80];
                    let (_, _, max) = dispatch_on(isa, Kernels(&a[..n], &a[..n], &mut y[..n]));
                    assert!(max.is_nan(), "{isa} n={n} p={p}");
                }
            }
        }
    }

    /// `axpy` and `scale` through the dispatch, on every instruction set.
    fn axpy_and_scale(isa: crate::Isa) {
        for n in 0..=70 {
            for off in 0..3 {
                let a = data(n + off, 4);
                let b = data(n + off, 5);
                let (a, b) = (&a[off..off + n], &b[off..off + n]);
                let mut z = [7.0f32; 80];
                z[off..off + n].copy_from_slice(b);
                axpy(0.5, a, &mut z[off..off + n]).unwrap();
                for i in 0..n {
                    // 0.5·a is exact: fused or not, one rounding of the sum.
                    let want = (0.5 * a[i] as f64 + b[i] as f64) as f32;
                    assert_eq!(z[off + i], want, "{isa} axpy n={n} i={i}");
                }
                // Elements past the slice are untouched.
                assert_eq!(z[off + n], 7.0);
                scale(2.0, &mut z[off..off + n]);
                for i in 0..n {
                    let want = (0.5 * a[i] as f64 + b[i] as f64) as f32 * 2.0;
                    assert_eq!(z[off + i], want, "{isa} scale n={n} i={i}");
                }
            }
        }
    }

    #[test]
    fn axpy_and_scale_are_exact_at_every_length_and_offset() {
        #[cfg(feature = "std")]
        for isa in crate::Isa::available() {
            with_isa(isa, || axpy_and_scale(isa));
        }
        #[cfg(not(feature = "std"))]
        axpy_and_scale(isa());
    }

    /// The name of the lanes a kernel ran on.
    struct LanesName;

    impl WithLanes for LanesName {
        type Output = &'static str;
        fn run<L: Lanes>(self, _: L) -> &'static str {
            core::any::type_name::<L>()
        }
    }

    #[test]
    fn dispatch_runs_the_requested_lanes() {
        use crate::Isa;
        assert!(dispatch_on(Isa::Portable, LanesName).ends_with("Portable"));
        assert!(dispatch_on(Isa::Scalar, LanesName).ends_with("Portable"));
        let avx = dispatch_on(Isa::Avx2Fma, LanesName);
        assert_eq!(
            avx.ends_with("Avx2Fma"),
            Isa::Avx2Fma.is_available(),
            "{avx}"
        );
        // AVX-512 CPUs run the AVX2 lanes.
        let avx512 = dispatch_on(Isa::Avx512F, LanesName);
        assert_eq!(
            avx512.ends_with("Avx2Fma"),
            Isa::Avx512F.is_available(),
            "{avx512}"
        );
        #[cfg(feature = "std")]
        for isa in [Isa::Portable, Isa::Avx2Fma, Isa::Avx512F] {
            let name = with_isa(isa, || dispatch(LanesName));
            let want = if isa != Isa::Portable && isa.is_available() {
                "Avx2Fma"
            } else {
                "Portable"
            };
            assert!(name.ends_with(want), "{isa}: {name}");
        }
    }

    /// Every lane operation of `l` against the portable lanes on `a`, `b`: bit for bit, except
    /// the fused ones, which must be the correctly rounded `a·b ± c`.
    struct SameOps([f32; 8], [f32; 8]);

    impl WithLanes for SameOps {
        type Output = ();
        fn run<L: Lanes>(self, l: L) {
            let (a, b) = (self.0, self.1);
            let (x, y) = (l.load(&a), l.load(&b));
            let (p, q) = (f32x8::new(a), f32x8::new(b));
            let same = |got: L::F, want: f32x8, what: &str| {
                for (g, w) in got.to_array().iter().zip(want.to_array()) {
                    assert!(
                        g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                        "{what}"
                    );
                }
            };
            same(x + y, p + q, "add");
            same(x - y, p - q, "sub");
            same(x * y, p * q, "mul");
            same(x / y, p / q, "div");
            same(-x, -p, "neg");
            same(x.sqrt(), Float8::sqrt(p), "sqrt");
            same(x.abs(), p.abs(), "abs");
            same(x.simd_lt(y), p.simd_lt(q), "lt");
            same(x.simd_le(y), p.simd_le(q), "le");
            same(x.simd_gt(y), p.simd_gt(q), "gt");
            same(x.simd_ge(y), p.simd_ge(q), "ge");
            same(x.simd_eq(y), p.simd_eq(q), "eq");
            same(x.simd_ne(y), p.simd_ne(q), "ne");
            same(x.is_nan(), p.is_nan(), "is_nan");
            same(x.is_inf(), p.is_inf(), "is_inf");
            same(
                x.simd_lt(y).select(x, y),
                p.simd_lt(q).select(p, q),
                "select",
            );
            same(x.simd_lt(y) & x, p.simd_lt(q) & p, "and");
            same(x.simd_lt(y) | x, p.simd_lt(q) | p, "or");
            same(
                l.bits_to_f32(l.f32_to_bits(x).shr::<3>()),
                {
                    let i: wide::i32x8 = wide::bytemuck::cast(p);
                    wide::bytemuck::cast(i >> 3)
                },
                "shr",
            );
            assert_eq!(x.simd_lt(y).any(), p.simd_lt(q).any());
            let fused = x.mul_add(y, x).to_array();
            let neg = x.mul_neg_add(y, x).to_array();
            for k in 0..8 {
                let exact = a[k] as f64 * b[k] as f64;
                assert!(bits_or_nan(fused[k], (exact + a[k] as f64) as f32) || !fused_is(l));
                assert!(bits_or_nan(neg[k], (a[k] as f64 - exact) as f32) || !fused_is(l));
            }
        }
    }

    fn bits_or_nan(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Whether the lanes `L` fuse `mul_add`.
    fn fused_is<L: Lanes>(_: L) -> bool {
        core::any::type_name::<L>().ends_with("Avx2Fma")
    }

    #[test]
    fn lane_operations_agree_on_every_path() {
        use crate::Isa;
        let specials = [
            0.0,
            -0.0,
            1.5,
            -2.25,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
        ];
        for seed in 0..64 {
            let mut a = data(8, seed);
            let b = data(8, seed + 100);
            a[(seed % 8) as usize] = specials[(seed / 8) as usize % 8];
            for isa in [Isa::Portable, Isa::Avx2Fma] {
                dispatch_on(
                    isa,
                    SameOps(a[..8].try_into().unwrap(), b[..8].try_into().unwrap()),
                );
            }
        }
    }
}
