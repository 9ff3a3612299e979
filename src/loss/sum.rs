//! The driver of the element-wise losses: runs a lane kernel over the inputs, once on the
//! dispatched lanes, while summing its loss lanes (the crate's blocked `f32` → `f64` sum,
//! [`BlockSum`]) and storing its gradient lanes.

use crate::simd::{
    dispatch, load_partial_in, store_partial_in, BlockSum, Float8, Lanes, WithLanes, LANES,
};

/// An element-wise loss in lanes: `(input, target) ↦ (loss lanes, gradient lanes)`.
///
/// `&mut self` lets a kernel keep state across vectors (the class of each lane of
/// [`binary_cross_entropy_with_logits`](super::binary_cross_entropy_with_logits) with
/// `pos_weight`); vectors come in order, the tail last.
pub(super) trait ElemLoss {
    /// The loss and gradient lanes of one vector of inputs `x` and targets `t`.
    fn lanes<L: Lanes>(&mut self, l: L, x: L::F, t: L::F) -> (L::F, L::F);
}

/// `Σ loss` in `f64` over the common length of `input` and `target` (the callers have checked
/// that all slices have the same length), storing the gradient lanes into `grad` when given:
/// one dispatch for the whole call. The tail runs through the same kernel on zero-padded lanes,
/// and only its real lanes are summed and stored.
#[inline]
pub(super) fn elementwise(
    input: &[f32],
    target: &[f32],
    grad: Option<&mut [f32]>,
    f: impl ElemLoss,
) -> f64 {
    /// The kernel.
    struct Run<'a, E>(&'a [f32], &'a [f32], Option<&'a mut [f32]>, E);
    impl<E: ElemLoss> WithLanes for Run<'_, E> {
        type Output = f64;
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) -> f64 {
            let Run(a, b, grad, mut f) = self;
            let mut acc = BlockSum::new(l);
            fold2(
                l,
                a,
                b,
                grad,
                &mut acc,
                #[inline(always)]
                |x, t| f.lanes(l, x, t),
            );
            acc.total()
        }
    }
    dispatch(Run(input, target, grad, f))
}

/// Runs `f(a, b) → (loss lanes, gradient lanes)` over the common length of `a` and `b`, eight
/// lanes at a time; adds the loss lanes into `acc` and, when `grad` is given, stores the
/// gradient lanes into it. The tail runs through the same `f` on zero-padded lanes, and only
/// its real lanes are summed and stored.
#[inline(always)]
fn fold2<L: Lanes>(
    l: L,
    a: &[f32],
    b: &[f32],
    grad: Option<&mut [f32]>,
    acc: &mut BlockSum<L>,
    mut f: impl FnMut(L::F, L::F) -> (L::F, L::F),
) {
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    match grad {
        Some(g) => {
            let (gc, gt) = g.as_chunks_mut::<LANES>();
            for ((aa, ba), ga) in ac.iter().zip(bc).zip(gc.iter_mut()) {
                let (loss, d) = f(l.load(aa), l.load(ba));
                acc.add(loss);
                d.store(ga);
            }
            if !at.is_empty() {
                let (loss, d) = f(load_partial_in(l, at, 0.0), load_partial_in(l, bt, 0.0));
                acc.add_first(loss, at.len());
                store_partial_in(d, gt);
            }
        }
        None => {
            for (aa, ba) in ac.iter().zip(bc) {
                acc.add(f(l.load(aa), l.load(ba)).0);
            }
            if !at.is_empty() {
                let (loss, _) = f(load_partial_in(l, at, 0.0), load_partial_in(l, bt, 0.0));
                acc.add_first(loss, at.len());
            }
        }
    }
}
