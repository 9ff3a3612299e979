//! Lane-parallel accumulation of loss terms, and the drivers that run a lane kernel over the
//! inputs while summing its loss lanes and storing its gradient lanes.

use crate::simd::{f32x8, load, load_partial, store_partial, LANES};

/// Vectors added into the `f32` lanes before the lanes are flushed into the `f64` total.
///
/// Each lane then sums at most 32 terms (error ≤ ~32·u relative for non-negative terms), and
/// the flushes add a few `u` more, whatever the length.
const BLOCK: u32 = 32;

/// A sum of `f32x8` lanes: eight `f32` accumulators within a block of [`BLOCK`] vectors, the
/// blocks added in `f64`.
pub(super) struct LaneSum {
    block: f32x8,
    vectors: u32,
    total: f64,
    flushed: bool,
}

impl LaneSum {
    /// An empty sum.
    #[inline(always)]
    pub(super) fn new() -> Self {
        LaneSum {
            block: f32x8::ZERO,
            vectors: 0,
            total: 0.0,
            flushed: false,
        }
    }

    /// Adds the eight lanes of `v`.
    #[inline(always)]
    pub(super) fn add(&mut self, v: f32x8) {
        self.block += v;
        self.vectors += 1;
        if self.vectors == BLOCK {
            self.flush();
        }
    }

    /// Adds the first `k` lanes of `v` (the others may hold anything, NaN included).
    #[inline(always)]
    pub(super) fn add_first(&mut self, v: f32x8, k: usize) {
        if k >= LANES {
            self.add(v);
        } else {
            self.add(keep_first(v, k));
        }
    }

    #[inline]
    fn flush(&mut self) {
        self.total += f64::from(self.block.reduce_add());
        self.block = f32x8::ZERO;
        self.vectors = 0;
        self.flushed = true;
    }

    /// The sum, in `f64`.
    #[inline]
    pub(super) fn total(&self) -> f64 {
        self.total + f64::from(self.block.reduce_add())
    }

    /// The sum rounded to `f32`; stays in `f32` arithmetic when no block was flushed (short
    /// sums, such as one row of a small softmax).
    #[inline]
    pub(super) fn total_f32(&self) -> f32 {
        if self.flushed {
            self.total() as f32
        } else {
            self.block.reduce_add()
        }
    }
}

/// `v` with the lanes from `k` on set to zero, by a lane mask (no trip through memory).
#[inline(always)]
fn keep_first(v: f32x8, k: usize) -> f32x8 {
    const INDEX: f32x8 = f32x8::new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    // k < 8 here, exact in f32.
    INDEX.simd_lt(f32x8::splat(k as f32)).select(v, f32x8::ZERO)
}

/// Runs `f(a, b) → (loss lanes, gradient lanes)` over the common length of `a` and `b`, eight
/// lanes at a time; adds the loss lanes into `acc` and, when `grad` is given, stores the
/// gradient lanes into it. The tail runs through the same `f` on zero-padded lanes, and only
/// its real lanes are summed and stored.
///
/// The callers have checked that all slices have the same length.
#[inline(always)]
pub(super) fn fold2(
    a: &[f32],
    b: &[f32],
    grad: Option<&mut [f32]>,
    acc: &mut LaneSum,
    mut f: impl FnMut(f32x8, f32x8) -> (f32x8, f32x8),
) {
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    match grad {
        Some(g) => {
            let (gc, gt) = g.as_chunks_mut::<LANES>();
            for ((aa, ba), ga) in ac.iter().zip(bc).zip(gc.iter_mut()) {
                let (l, d) = f(load(aa), load(ba));
                acc.add(l);
                *ga = d.to_array();
            }
            if !at.is_empty() {
                let (l, d) = f(load_partial(at, 0.0), load_partial(bt, 0.0));
                acc.add_first(l, at.len());
                store_partial(d, gt);
            }
        }
        None => {
            for (aa, ba) in ac.iter().zip(bc) {
                acc.add(f(load(aa), load(ba)).0);
            }
            if !at.is_empty() {
                let (l, _) = f(load_partial(at, 0.0), load_partial(bt, 0.0));
                acc.add_first(l, at.len());
            }
        }
    }
}
