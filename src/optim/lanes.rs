//! The fused loops the optimizers run: one pass over the parameters, the gradients and `K`
//! state planes, eight lanes at a time, each element read once and written once.
//!
//! The update is a closure over lanes; the tail (fewer than eight elements) goes through the
//! same closure on zero-padded lanes, so every element gets the same arithmetic wherever it
//! sits. On x86_64 the first elements up to the parameters' 32-byte boundary go the same
//! way (the head), so that the full-width loads and stores after it do not straddle cache
//! lines: large buffers from the allocator start 16 bytes past a page, which would split
//! every other 32-byte access. The slices are walked in lock-step up to the shortest one (the optimizers check the
//! lengths before they get here).
//!
//! The loops are generic over the [`Lanes`] of an instruction set: each optimizer's `update`
//! builds a [`WithLanes`](crate::simd::WithLanes) kernel and hands it to
//! [`simd::dispatch`](crate::simd::dispatch), which picks the lanes once per call (AVX2+FMA
//! on an x86_64 CPU that has them, the portable `wide` lanes otherwise). Everything here is
//! `#[inline(always)]` so that the loop and its closure inline into the dispatching function
//! and get its instruction set.

use crate::simd::{load_partial_in as load_partial, store_partial_in as store_partial};
use crate::simd::{Float8, Lanes, LANES};

/// Elements of `p` (at most `n`) before its first 32-byte boundary where streams are aligned
/// ([`ALIGN_STREAMS`](crate::arch::ALIGN_STREAMS): x86_64); none elsewhere.
#[inline(always)]
fn head(p: &[f32], n: usize) -> usize {
    if crate::arch::ALIGN_STREAMS {
        crate::simd::floats_before_boundary(p.as_ptr(), n)
    } else {
        0
    }
}

/// `p = f(p, g)` over parameters and gradients, no state.
#[inline(always)]
pub(crate) fn fused0<L: Lanes>(l: L, p: &mut [f32], g: &[f32], f: impl Fn(L::F, L::F) -> L::F) {
    // Fewer than eight elements, on zero-padded lanes.
    let partial = |p: &mut [f32], g: &[f32]| {
        store_partial(f(load_partial(l, p, 0.0), load_partial(l, g, 0.0)), p);
    };
    let n = p.len().min(g.len());
    let h = head(p, n);
    let (ph, p) = p[..n].split_at_mut_checked(h).unwrap_or_default();
    let (gh, g) = g[..n].split_at_checked(h).unwrap_or_default();
    if h > 0 {
        partial(ph, gh);
    }
    let (pc, pt) = p.as_chunks_mut::<LANES>();
    let (gc, gt) = g.as_chunks::<LANES>();
    for (pa, ga) in pc.iter_mut().zip(gc) {
        f(l.load(pa), l.load(ga)).store(pa);
    }
    if !pt.is_empty() {
        partial(pt, gt);
    }
}

/// `(p, s0) = f(p, g, s0)` with one state plane.
#[inline(always)]
pub(crate) fn fused1<L: Lanes>(
    l: L,
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    f: impl Fn(L::F, L::F, L::F) -> (L::F, L::F),
) {
    // Fewer than eight elements, on zero-padded lanes.
    let partial = |p: &mut [f32], g: &[f32], a: &mut [f32]| {
        let (pv, av) = f(
            load_partial(l, p, 0.0),
            load_partial(l, g, 0.0),
            load_partial(l, a, 0.0),
        );
        store_partial(pv, p);
        store_partial(av, a);
    };
    let n = p.len().min(g.len()).min(s0.len());
    let h = head(p, n);
    let (ph, p) = p[..n].split_at_mut_checked(h).unwrap_or_default();
    let (gh, g) = g[..n].split_at_checked(h).unwrap_or_default();
    let (ah, s0) = s0[..n].split_at_mut_checked(h).unwrap_or_default();
    if h > 0 {
        partial(ph, gh, ah);
    }
    let (pc, pt) = p.as_chunks_mut::<LANES>();
    let (gc, gt) = g.as_chunks::<LANES>();
    let (ac, at) = s0.as_chunks_mut::<LANES>();
    for ((pa, ga), aa) in pc.iter_mut().zip(gc).zip(ac.iter_mut()) {
        let (pv, av) = f(l.load(pa), l.load(ga), l.load(aa));
        pv.store(pa);
        av.store(aa);
    }
    if !pt.is_empty() {
        partial(pt, gt, at);
    }
}

/// `(p, s0, s1) = f(p, g, s0, s1)` with two state planes.
#[inline(always)]
pub(crate) fn fused2<L: Lanes>(
    l: L,
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    f: impl Fn(L::F, L::F, L::F, L::F) -> (L::F, L::F, L::F),
) {
    // Fewer than eight elements, on zero-padded lanes.
    let partial = |p: &mut [f32], g: &[f32], a: &mut [f32], b: &mut [f32]| {
        let (pv, av, bv) = f(
            load_partial(l, p, 0.0),
            load_partial(l, g, 0.0),
            load_partial(l, a, 0.0),
            load_partial(l, b, 0.0),
        );
        store_partial(pv, p);
        store_partial(av, a);
        store_partial(bv, b);
    };
    let n = p.len().min(g.len()).min(s0.len()).min(s1.len());
    let h = head(p, n);
    let (ph, p) = p[..n].split_at_mut_checked(h).unwrap_or_default();
    let (gh, g) = g[..n].split_at_checked(h).unwrap_or_default();
    let (ah, s0) = s0[..n].split_at_mut_checked(h).unwrap_or_default();
    let (bh, s1) = s1[..n].split_at_mut_checked(h).unwrap_or_default();
    if h > 0 {
        partial(ph, gh, ah, bh);
    }
    let (pc, pt) = p.as_chunks_mut::<LANES>();
    let (gc, gt) = g.as_chunks::<LANES>();
    let (ac, at) = s0.as_chunks_mut::<LANES>();
    let (bc, bt) = s1.as_chunks_mut::<LANES>();
    for (((pa, ga), aa), ba) in pc.iter_mut().zip(gc).zip(ac.iter_mut()).zip(bc.iter_mut()) {
        let (pv, av, bv) = f(l.load(pa), l.load(ga), l.load(aa), l.load(ba));
        pv.store(pa);
        av.store(aa);
        bv.store(ba);
    }
    if !pt.is_empty() {
        partial(pt, gt, at, bt);
    }
}

/// `(p, s0, s1, s2) = f(p, g, s0, s1, s2)` with three state planes.
#[inline(always)]
pub(crate) fn fused3<L: Lanes>(
    l: L,
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
    f: impl Fn(L::F, L::F, L::F, L::F, L::F) -> (L::F, L::F, L::F, L::F),
) {
    // Fewer than eight elements, on zero-padded lanes.
    let partial = |p: &mut [f32], g: &[f32], a: &mut [f32], b: &mut [f32], c: &mut [f32]| {
        let (pv, av, bv, cv) = f(
            load_partial(l, p, 0.0),
            load_partial(l, g, 0.0),
            load_partial(l, a, 0.0),
            load_partial(l, b, 0.0),
            load_partial(l, c, 0.0),
        );
        store_partial(pv, p);
        store_partial(av, a);
        store_partial(bv, b);
        store_partial(cv, c);
    };
    let n = p
        .len()
        .min(g.len())
        .min(s0.len())
        .min(s1.len())
        .min(s2.len());
    let h = head(p, n);
    let (ph, p) = p[..n].split_at_mut_checked(h).unwrap_or_default();
    let (gh, g) = g[..n].split_at_checked(h).unwrap_or_default();
    let (ah, s0) = s0[..n].split_at_mut_checked(h).unwrap_or_default();
    let (bh, s1) = s1[..n].split_at_mut_checked(h).unwrap_or_default();
    let (ch, s2) = s2[..n].split_at_mut_checked(h).unwrap_or_default();
    if h > 0 {
        partial(ph, gh, ah, bh, ch);
    }
    let (pc, pt) = p.as_chunks_mut::<LANES>();
    let (gc, gt) = g.as_chunks::<LANES>();
    let (ac, at) = s0.as_chunks_mut::<LANES>();
    let (bc, bt) = s1.as_chunks_mut::<LANES>();
    let (cc, ct) = s2.as_chunks_mut::<LANES>();
    let chunks = pc
        .iter_mut()
        .zip(gc)
        .zip(ac.iter_mut())
        .zip(bc.iter_mut())
        .zip(cc.iter_mut());
    for ((((pa, ga), aa), ba), ca) in chunks {
        let (pv, av, bv, cv) = f(l.load(pa), l.load(ga), l.load(aa), l.load(ba), l.load(ca));
        pv.store(pa);
        av.store(aa);
        bv.store(ba);
        cv.store(ca);
    }
    if !pt.is_empty() {
        partial(pt, gt, at, bt, ct);
    }
}

/// The gradient after torch's transforms: `maximize` negates it (`sign = −1`), then the L2
/// weight decay `g + weight_decay·p` when `DECAY` (torch skips it when `weight_decay == 0`, so an
/// infinite parameter does not turn the gradient into NaN).
///
/// The decay is a rounded product then a rounded sum on every instruction set, never a fused
/// multiply-add: `g` and `weight_decay·p` often nearly cancel, and then a fused sum would
/// differ from torch's formula by far more than an ulp of the result (the product's rounding,
/// an ulp of `weight_decay·p`), and that difference would feed the state non-linearly (`g²`).
/// So the effective gradient is bit-identical on every dispatch path.
#[inline(always)]
pub(crate) fn effective_grad<const DECAY: bool, F: Float8>(
    g: F,
    p: F,
    sign: F,
    weight_decay: F,
) -> F {
    let g = g * sign;
    if DECAY {
        g + weight_decay * p
    } else {
        g
    }
}

/// torch's `maximum`: the larger lane, NaN when either is NaN.
#[inline(always)]
pub(crate) fn maximum<F: Float8>(a: F, b: F) -> F {
    (a.simd_gt(b) | a.is_nan()).select(a, b)
}

/// torch's `sign`: −1, 0 or +1 (signed zero kept as 0), NaN for NaN.
#[inline(always)]
pub(crate) fn sign<L: Lanes>(l: L, x: L::F) -> L::F {
    let zero = l.splat(0.0);
    x.simd_gt(zero).select(
        l.splat(1.0),
        x.simd_lt(zero).select(l.splat(-1.0), x * zero),
    )
}
