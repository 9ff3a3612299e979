//! Bad-input rows of `descent::dense`: `Dense` forward and backward.

use descent::dense::Dense;
use descent::{dense, Error};

use crate::harness::*;

/// A layer `IN → OUT` over a batch of `B`.
pub(crate) const B: usize = 3;
pub(crate) const IN: usize = 5;
pub(crate) const OUT: usize = 4;

/// The slices of one dense call, each of its right length unless a row changes one.
#[derive(Clone, Copy)]
pub(crate) struct DenseLens {
    x: usize,
    weight: usize,
    bias: usize,
    y: usize,
    dweight: usize,
    dx: usize,
}

pub(crate) const DENSE_LENS: DenseLens = DenseLens {
    x: B * IN,
    weight: OUT * IN,
    bias: OUT,
    y: B * OUT,
    dweight: OUT * IN,
    dx: B * IN,
};

/// `Dense::forward` (or the free `dense::forward` when `free`) with these lengths.
pub(crate) fn dense_forward(layer: Dense, l: DenseLens, free: bool) -> Outcome {
    let mut y = sentinel(l.y);
    let (x, w, b) = (pattern(l.x), pattern(l.weight), pattern(l.bias));
    let r = if free {
        dense::forward(
            &x,
            &w,
            Some(&b),
            &mut y,
            layer.batch,
            layer.in_features,
            layer.out_features,
        )
    } else {
        layer.forward(&x, &w, Some(&b), &mut y)
    };
    core(r, is_sentinel(&y))
}

/// `Dense::backward` (or the free `dense::backward`) with these lengths: `dweight` and `dbias`
/// accumulate (pattern), `dx` is written (sentinel).
pub(crate) fn dense_backward(layer: Dense, l: DenseLens, free: bool) -> Outcome {
    let (x, w, dy) = (pattern(l.x), pattern(l.weight), pattern(l.y));
    let (mut dw, mut db, mut dx) = (pattern(l.dweight), pattern(l.bias), sentinel(l.dx));
    let r = if free {
        dense::backward(
            &x,
            &w,
            &dy,
            &mut dw,
            Some(&mut db),
            Some(&mut dx),
            layer.batch,
            layer.in_features,
            layer.out_features,
        )
    } else {
        layer.backward(&x, &w, &dy, &mut dw, Some(&mut db), Some(&mut dx))
    };
    core(r, is_pattern(&dw) && is_pattern(&db) && is_sentinel(&dx))
}

pub(crate) fn rows(t: &mut Table) {
    t.module("dense");
    let layer = Dense::new(B, IN, OUT);
    type Set = fn(&mut DenseLens, usize);
    let forward_args: [(&'static str, usize, Set); 4] = [
        ("x", B * IN, |l, n| l.x = n),
        ("weight", OUT * IN, |l, n| l.weight = n),
        ("bias", OUT, |l, n| l.bias = n),
        ("y", B * OUT, |l, n| l.y = n),
    ];
    let backward_args: [(&'static str, usize, Set); 6] = [
        ("x", B * IN, |l, n| l.x = n),
        ("weight", OUT * IN, |l, n| l.weight = n),
        ("dy", B * OUT, |l, n| l.y = n),
        ("dweight", OUT * IN, |l, n| l.dweight = n),
        ("dbias", OUT, |l, n| l.bias = n),
        ("dx", B * IN, |l, n| l.dx = n),
    ];
    // Zero and overflowing dimensions (slices of the healthy layer's lengths, or what the
    // checks before the failing one need).
    let dims: [(&'static str, Dense, DenseLens, Error); 6] = [
        (
            "batch = 0",
            Dense::new(0, IN, OUT),
            DENSE_LENS,
            zero("batch"),
        ),
        (
            "in_features = 0",
            Dense::new(B, 0, OUT),
            DENSE_LENS,
            zero("in_features"),
        ),
        (
            "out_features = 0",
            Dense::new(B, IN, 0),
            DENSE_LENS,
            zero("out_features"),
        ),
        (
            "batch = usize::MAX",
            Dense::new(usize::MAX, 2, 1),
            DENSE_LENS,
            overflow("x"),
        ),
        (
            "out_features = usize::MAX (weight)",
            Dense::new(1, 2, usize::MAX),
            DenseLens { x: 2, ..DENSE_LENS },
            overflow("weight"),
        ),
        (
            "out_features = usize::MAX (y)",
            Dense::new(2, 1, usize::MAX),
            DenseLens { x: 2, ..DENSE_LENS },
            overflow("y"),
        ),
    ];
    for free in [false, true] {
        let f = if free { "dense::" } else { "Dense::" };
        for (arg, n, set) in forward_args {
            for actual in wrong(n) {
                t.row(
                    format!("{f}forward: {arg} len {actual}"),
                    len(arg, n, actual),
                    move || {
                        let mut l = DENSE_LENS;
                        set(&mut l, actual);
                        dense_forward(layer, l, free)
                    },
                );
            }
        }
        for (arg, n, set) in backward_args {
            for actual in wrong(n) {
                t.row(
                    format!("{f}backward: {arg} len {actual}"),
                    len(arg, n, actual),
                    move || {
                        let mut l = DENSE_LENS;
                        set(&mut l, actual);
                        dense_backward(layer, l, free)
                    },
                );
            }
        }
        for (what, bad, lens, e) in dims {
            t.row(format!("{f}forward: {what}"), e, move || {
                dense_forward(bad, lens, free)
            });
            t.row(format!("{f}backward: {what}"), e, move || {
                dense_backward(bad, lens, free)
            });
        }
    }
}
