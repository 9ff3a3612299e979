//! The fused loops the optimizers run: one pass over the parameters, the gradients and `K`
//! state planes, eight lanes at a time, each element read once and written once.
//!
//! The update is a closure over lanes; the tail (fewer than eight elements) goes through the
//! same closure on zero-padded lanes, so every element gets the same arithmetic wherever it
//! sits. The slices are walked in lock-step up to the shortest one (the optimizers check the
//! lengths before they get here).

use crate::simd::{f32x8, load, load_partial, store_partial, LANES};

/// `p = f(p, g)` over parameters and gradients, no state.
#[inline(always)]
pub(crate) fn fused0(p: &mut [f32], g: &[f32], f: impl Fn(f32x8, f32x8) -> f32x8) {
    let n = p.len().min(g.len());
    let (pc, pt) = p[..n].as_chunks_mut::<LANES>();
    let (gc, gt) = g[..n].as_chunks::<LANES>();
    for (pa, ga) in pc.iter_mut().zip(gc) {
        *pa = f(load(pa), load(ga)).to_array();
    }
    if !pt.is_empty() {
        let v = f(load_partial(pt, 0.0), load_partial(gt, 0.0));
        store_partial(v, pt);
    }
}

/// `(p, s0) = f(p, g, s0)` with one state plane.
#[inline(always)]
pub(crate) fn fused1(
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    f: impl Fn(f32x8, f32x8, f32x8) -> (f32x8, f32x8),
) {
    let n = p.len().min(g.len()).min(s0.len());
    let (pc, pt) = p[..n].as_chunks_mut::<LANES>();
    let (gc, gt) = g[..n].as_chunks::<LANES>();
    let (ac, at) = s0[..n].as_chunks_mut::<LANES>();
    for ((pa, ga), aa) in pc.iter_mut().zip(gc).zip(ac.iter_mut()) {
        let (pv, av) = f(load(pa), load(ga), load(aa));
        *pa = pv.to_array();
        *aa = av.to_array();
    }
    if !pt.is_empty() {
        let (pv, av) = f(
            load_partial(pt, 0.0),
            load_partial(gt, 0.0),
            load_partial(at, 0.0),
        );
        store_partial(pv, pt);
        store_partial(av, at);
    }
}

/// `(p, s0, s1) = f(p, g, s0, s1)` with two state planes.
#[inline(always)]
pub(crate) fn fused2(
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    f: impl Fn(f32x8, f32x8, f32x8, f32x8) -> (f32x8, f32x8, f32x8),
) {
    let n = p.len().min(g.len()).min(s0.len()).min(s1.len());
    let (pc, pt) = p[..n].as_chunks_mut::<LANES>();
    let (gc, gt) = g[..n].as_chunks::<LANES>();
    let (ac, at) = s0[..n].as_chunks_mut::<LANES>();
    let (bc, bt) = s1[..n].as_chunks_mut::<LANES>();
    for (((pa, ga), aa), ba) in pc.iter_mut().zip(gc).zip(ac.iter_mut()).zip(bc.iter_mut()) {
        let (pv, av, bv) = f(load(pa), load(ga), load(aa), load(ba));
        *pa = pv.to_array();
        *aa = av.to_array();
        *ba = bv.to_array();
    }
    if !pt.is_empty() {
        let (pv, av, bv) = f(
            load_partial(pt, 0.0),
            load_partial(gt, 0.0),
            load_partial(at, 0.0),
            load_partial(bt, 0.0),
        );
        store_partial(pv, pt);
        store_partial(av, at);
        store_partial(bv, bt);
    }
}

/// `(p, s0, s1, s2) = f(p, g, s0, s1, s2)` with three state planes.
#[inline(always)]
pub(crate) fn fused3(
    p: &mut [f32],
    g: &[f32],
    s0: &mut [f32],
    s1: &mut [f32],
    s2: &mut [f32],
    f: impl Fn(f32x8, f32x8, f32x8, f32x8, f32x8) -> (f32x8, f32x8, f32x8, f32x8),
) {
    let n = p
        .len()
        .min(g.len())
        .min(s0.len())
        .min(s1.len())
        .min(s2.len());
    let (pc, pt) = p[..n].as_chunks_mut::<LANES>();
    let (gc, gt) = g[..n].as_chunks::<LANES>();
    let (ac, at) = s0[..n].as_chunks_mut::<LANES>();
    let (bc, bt) = s1[..n].as_chunks_mut::<LANES>();
    let (cc, ct) = s2[..n].as_chunks_mut::<LANES>();
    let chunks = pc
        .iter_mut()
        .zip(gc)
        .zip(ac.iter_mut())
        .zip(bc.iter_mut())
        .zip(cc.iter_mut());
    for ((((pa, ga), aa), ba), ca) in chunks {
        let (pv, av, bv, cv) = f(load(pa), load(ga), load(aa), load(ba), load(ca));
        *pa = pv.to_array();
        *aa = av.to_array();
        *ba = bv.to_array();
        *ca = cv.to_array();
    }
    if !pt.is_empty() {
        let (pv, av, bv, cv) = f(
            load_partial(pt, 0.0),
            load_partial(gt, 0.0),
            load_partial(at, 0.0),
            load_partial(bt, 0.0),
            load_partial(ct, 0.0),
        );
        store_partial(pv, pt);
        store_partial(av, at);
        store_partial(bv, bt);
        store_partial(cv, ct);
    }
}

/// The gradient after torch's transforms: `maximize` negates it (`sign = −1`), then the L2
/// weight decay `g + weight_decay·p` when `DECAY` (torch skips it when `weight_decay == 0`, so an
/// infinite parameter does not turn the gradient into NaN).
#[inline(always)]
pub(crate) fn effective_grad<const DECAY: bool>(
    g: f32x8,
    p: f32x8,
    sign: f32x8,
    weight_decay: f32x8,
) -> f32x8 {
    let g = g * sign;
    if DECAY {
        weight_decay.mul_add(p, g)
    } else {
        g
    }
}

/// torch's `maximum`: the larger lane, NaN when either is NaN.
#[inline(always)]
pub(crate) fn maximum(a: f32x8, b: f32x8) -> f32x8 {
    (a.simd_gt(b) | a.is_nan()).select(a, b)
}

/// torch's `sign`: −1, 0 or +1 (signed zero kept as 0), NaN for NaN.
#[inline(always)]
pub(crate) fn sign(x: f32x8) -> f32x8 {
    let zero = f32x8::ZERO;
    x.simd_gt(zero).select(
        f32x8::ONE,
        x.simd_lt(zero).select(f32x8::splat(-1.0), x * zero),
    )
}
