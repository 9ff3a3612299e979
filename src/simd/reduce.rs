//! The blocked `f32` → `f64` reduction shared by the losses, the penalties and the gradient
//! norms: terms are added in `f32` lanes within blocks of [`BLOCK`] elements, and each block's
//! partial sum is widened to `f64` and added to the total.
//!
//! Two forms of the same scheme, generic over the [`Lanes`] the caller was dispatched to:
//!
//! * [`BlockSum`] is fed one vector at a time by a kernel that also writes per-element results
//!   (a loss and its gradient): one accumulator of eight lanes per block.
//! * [`block_sums_in`] reduces a slice on its own (a gradient norm): four accumulators of
//!   eight lanes per block, so that the adds do not wait on each other; each block's `f32`
//!   sum passes through a caller's function on its way to `f64` (the gradient norms rescale a
//!   block whose sum left the normal range).
//!
//! # Error bound
//! Within a block every lane adds at most `BLOCK / 8 = 32` terms, the lanes (and, in
//! [`block_sums_in`], the four accumulators) are then added pairwise, and the block enters the
//! `f64` total with one more rounding of `2⁻⁵³`. For any length `n` and terms `tᵢ`:
//!
//! `|computed − Σ tᵢ| ≤ (32 + 3)·u·Σ|tᵢ| + n/256·2⁻⁵²·Σ|tᵢ|`, `u = 2⁻²⁴`,
//!
//! about `35·u` relative for non-negative terms, whatever `n` is (a plain `f32` sum grows as
//! `n·u`). Fused multiply-adds in the terms (on the AVX2 lanes) change the terms' own rounding,
//! not this bound. The order of the additions is fixed by `n` alone, so a result is
//! deterministic for a given length and instruction set.

use super::{load_partial_in, Float8, Lanes, LANES};

/// Elements per block: 32 vectors of eight lanes.
pub(crate) const BLOCK: usize = 256;

/// Vectors per block.
const BLOCK_VECTORS: u32 = (BLOCK / LANES) as u32;

/// A running sum of vectors of the lanes `L`: eight `f32` accumulators within a block of
/// [`BLOCK`] elements (32 vectors), the blocks added in `f64`.
pub(crate) struct BlockSum<L: Lanes> {
    lanes: L,
    block: L::F,
    vectors: u32,
    total: f64,
    flushed: bool,
}

impl<L: Lanes> BlockSum<L> {
    /// An empty sum.
    #[inline(always)]
    pub(crate) fn new(lanes: L) -> Self {
        BlockSum {
            lanes,
            block: lanes.splat(0.0),
            vectors: 0,
            total: 0.0,
            flushed: false,
        }
    }

    /// Adds the eight lanes of `v`.
    #[inline(always)]
    pub(crate) fn add(&mut self, v: L::F) {
        self.block += v;
        self.vectors += 1;
        if self.vectors == BLOCK_VECTORS {
            self.flush();
        }
    }

    /// Adds the first `k` lanes of `v` (the others may hold anything, NaN included).
    #[inline(always)]
    pub(crate) fn add_first(&mut self, v: L::F, k: usize) {
        if k >= LANES {
            self.add(v);
        } else {
            self.add(keep_first(self.lanes, v, k));
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        self.total += f64::from(self.block.reduce_add());
        self.block = self.lanes.splat(0.0);
        self.vectors = 0;
        self.flushed = true;
    }

    /// The sum, in `f64`.
    #[inline(always)]
    pub(crate) fn total(&self) -> f64 {
        self.total + f64::from(self.block.reduce_add())
    }

    /// The sum rounded to `f32`; stays in `f32` arithmetic when no block was flushed (short
    /// sums, such as one row of a small softmax).
    #[inline(always)]
    pub(crate) fn total_f32(&self) -> f32 {
        if self.flushed {
            self.total() as f32
        } else {
            self.block.reduce_add()
        }
    }
}

/// `v` with the lanes from `k` on set to zero, by a lane mask (no trip through memory).
#[inline(always)]
fn keep_first<L: Lanes>(l: L, v: L::F, k: usize) -> L::F {
    const INDEX: [f32; LANES] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    // k < 8 here, exact in f32.
    l.load(&INDEX)
        .simd_lt(l.splat(k as f32))
        .select(v, l.splat(0.0))
}

/// `acc = step(acc, v)` over the vectors `v` of `x` (at most one block), in four
/// accumulators of eight lanes; the tail is one zero-padded vector (so `step(acc, 0)` must
/// add 0). Returns the four accumulators added pairwise.
#[inline(always)]
pub(crate) fn fold_in<L: Lanes>(l: L, x: &[f32], step: impl Fn(L::F, L::F) -> L::F) -> L::F {
    let (xc, xt) = x.as_chunks::<LANES>();
    let (x4, xr) = xc.as_chunks::<4>();
    let zero = l.splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
    for q in x4 {
        a0 = step(a0, l.load(&q[0]));
        a1 = step(a1, l.load(&q[1]));
        a2 = step(a2, l.load(&q[2]));
        a3 = step(a3, l.load(&q[3]));
    }
    for r in xr {
        a0 = step(a0, l.load(r));
    }
    if !xt.is_empty() {
        a1 = step(a1, load_partial_in(l, xt, 0.0));
    }
    (a0 + a1) + (a2 + a3)
}

/// `Σ_blocks widen(block, Σ_block terms)` in `f64`: each block of [`BLOCK`] elements of `x`
/// is folded by [`fold_in`] with `step` and its lanes added in `f32`; `widen` turns the
/// block's `f32` sum into its `f64` contribution (`f64::from` for a plain sum).
#[inline(always)]
pub(crate) fn block_sums_in<L: Lanes>(
    l: L,
    x: &[f32],
    step: impl Fn(L::F, L::F) -> L::F + Copy,
    mut widen: impl FnMut(&[f32], f32) -> f64,
) -> f64 {
    let mut total = 0.0f64;
    for block in x.chunks(BLOCK) {
        total += widen(block, fold_in(l, block, step).reduce_add());
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{dispatch_on, WithLanes};
    use crate::Isa;
    use std::vec::Vec;

    fn data(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                lo + (hi - lo) * ((s >> 8) as f32 / (1u32 << 24) as f32)
            })
            .collect()
    }

    /// Both forms' sums of `x`: through [`block_sums_in`] and through a [`BlockSum`] fed
    /// vector by vector (the tail by [`BlockSum::add_first`] of a vector padded with NaN).
    struct Sums<'a>(&'a [f32]);

    impl WithLanes for Sums<'_> {
        type Output = (f64, f64, f32);
        fn run<L: Lanes>(self, l: L) -> (f64, f64, f32) {
            let a = block_sums_in(l, self.0, |acc, v| acc + v, |_, s| f64::from(s));
            let mut b = BlockSum::new(l);
            let (c, t) = self.0.as_chunks::<LANES>();
            for v in c {
                b.add(l.load(v));
            }
            if !t.is_empty() {
                b.add_first(load_partial_in(l, t, f32::NAN), t.len());
            }
            (a, b.total(), b.total_f32())
        }
    }

    /// The documented bound: `35·u·Σ|t| + n/256·2⁻⁵²·Σ|t|`.
    fn bound(x: &[f32]) -> f64 {
        let abs: f64 = x.iter().map(|v| f64::from(v.abs())).sum();
        let u = f64::from(f32::EPSILON) / 2.0;
        (35.0 * u + (x.len() / BLOCK + 1) as f64 * f64::EPSILON) * abs
    }

    fn check(x: &[f32], what: &str) {
        let want: f64 = x.iter().map(|v| f64::from(*v)).sum();
        let tol = bound(x);
        for isa in Isa::available() {
            let (a, b, b32) = dispatch_on(isa, Sums(x));
            assert!((a - want).abs() <= tol, "{what} {isa}: {a} vs {want}");
            assert!((b - want).abs() <= tol, "{what} {isa}: {b} vs {want}");
            // The f32 total adds one rounding of the result.
            let tol32 = tol + want.abs() * f64::from(f32::EPSILON);
            assert!((f64::from(b32) - want).abs() <= tol32, "{what} {isa}");
        }
    }

    #[test]
    fn both_forms_meet_the_bound_at_every_length_and_offset() {
        for n in 0..=70 {
            for off in 0..4 {
                let x = data(n + off, n as u32 + 1, -2.0, 3.0);
                check(&x[off..], "mixed");
                let x = data(n + off, n as u32 + 7, 0.0, 1.0);
                check(&x[off..], "positive");
            }
        }
    }

    #[test]
    fn both_forms_meet_the_bound_at_large_lengths() {
        for n in [255, 256, 257, 4096 + 3, 100_000, 1 << 20] {
            let x = data(n, 3, 0.0, 1.0);
            check(&x, "positive");
            // A sum whose terms are all equal is where a plain f32 sum drifts the most: 2²⁰
            // times 0.1 in one f32 accumulator errs by ~2 %; blocked it stays within the bound.
            let x = std::vec![0.1f32; n];
            check(&x, "constant");
        }
    }
}
