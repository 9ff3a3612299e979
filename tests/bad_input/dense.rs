//! Bad-input rows of `descent::dense`: `Dense` forward and backward, as a `Layer`.

use descent::dense::Dense;
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::Error;

use crate::harness::*;

/// A layer `IN → OUT` over a batch of `B`.
pub(crate) const B: usize = 3;
pub(crate) const IN: usize = 5;
pub(crate) const OUT: usize = 4;

/// One dense call: the layer, the input shape and the slices, each of its right length unless
/// a row changes one.
#[derive(Clone, Copy)]
pub(crate) struct DenseLens {
    layer: Dense,
    input: Shape,
    x: usize,
    weight: usize,
    bias: usize,
    y: usize,
    dweight: usize,
    dbias: usize,
    dx: usize,
    /// Whether backward asks for `dweight` (`false`: a frozen weight, `Grads { weight: None }`).
    grad_weight: bool,
}

pub(crate) const DENSE_LENS: DenseLens = DenseLens {
    layer: Dense::new(IN, OUT),
    input: Shape::Features(IN),
    x: B * IN,
    weight: OUT * IN,
    bias: OUT,
    y: B * OUT,
    dweight: OUT * IN,
    dbias: OUT,
    dx: B * IN,
    grad_weight: true,
};

/// `Dense::forward` with these lengths, in evaluation or (when `train`) in training with a
/// counting generator lent, which it must not draw from.
pub(crate) fn dense_forward(l: DenseLens, train: bool) -> Outcome {
    let mut y = sentinel(l.y);
    let (x, w, b) = (pattern(l.x), pattern(l.weight), pattern(l.bias));
    let (mut saved, mut rng) = (sentinel(0), Counting::new());
    let params = Params::new(&w, &b);
    let r = if train {
        let mode = Mode::Train {
            buffers: &mut [],
            saved: &mut saved,
            rng: Some(&mut rng),
        };
        l.layer.forward(l.input, mode, params, &x, &mut y)
    } else {
        l.layer.forward(l.input, Mode::EVAL, params, &x, &mut y)
    };
    core(r, is_sentinel(&y) && rng.drawn == 0)
}

/// `Dense::backward` with these lengths, after an evaluation or (when `train`) a training
/// forward: `dweight` (unless frozen) and `dbias` accumulate (pattern), `dx` is written
/// (sentinel).
pub(crate) fn dense_backward(l: DenseLens, train: bool) -> Outcome {
    let (x, w, b, y, dy) = (
        pattern(l.x),
        pattern(l.weight),
        pattern(l.bias),
        pattern(l.y),
        pattern(l.y),
    );
    let (mut dw, mut db, mut dx) = (pattern(l.dweight), pattern(l.dbias), sentinel(l.dx));
    let tape = if train {
        Tape::train(&x, &y, &[])
    } else {
        Tape::eval(&x, &y, &[])
    };
    let grads = Grads {
        weight: l.grad_weight.then_some(&mut dw[..]),
        bias: Some(&mut db),
    };
    let r = l.layer.backward(
        l.input,
        Params::new(&w, &b),
        tape,
        &dy,
        Some(&mut dx),
        grads,
    );
    core(r, is_pattern(&dw) && is_pattern(&db) && is_sentinel(&dx))
}

/// The `LengthMismatch` of an `x` of `actual` floats, not a whole number of `[IN]` samples:
/// the whole samples below it are expected.
fn not_whole_samples(actual: usize) -> Error {
    len("x", actual / IN * IN, actual)
}

pub(crate) fn rows(t: &mut Table) {
    t.module("dense");
    type Set = fn(&mut DenseLens, usize);
    // (argument, right length, setter, the error of a wrong length).
    type Arg = (&'static str, usize, Set, fn(usize) -> Error);
    let forward_args: [Arg; 4] = [
        ("x", B * IN, |l, n| l.x = n, not_whole_samples),
        (
            "weight",
            OUT * IN,
            |l, n| l.weight = n,
            |n| len("weight", OUT * IN, n),
        ),
        ("bias", OUT, |l, n| l.bias = n, |n| len("bias", OUT, n)),
        ("y", B * OUT, |l, n| l.y = n, |n| len("y", B * OUT, n)),
    ];
    let backward_args: [Arg; 7] = [
        ("x", B * IN, |l, n| l.x = n, not_whole_samples),
        (
            "weight",
            OUT * IN,
            |l, n| l.weight = n,
            |n| len("weight", OUT * IN, n),
        ),
        ("bias", OUT, |l, n| l.bias = n, |n| len("bias", OUT, n)),
        ("dy", B * OUT, |l, n| l.y = n, |n| len("dy", B * OUT, n)),
        (
            "dweight",
            OUT * IN,
            |l, n| l.dweight = n,
            |n| len("dweight", OUT * IN, n),
        ),
        ("dbias", OUT, |l, n| l.dbias = n, |n| len("dbias", OUT, n)),
        ("dx", B * IN, |l, n| l.dx = n, |n| len("dx", B * IN, n)),
    ];
    let frozen = DenseLens {
        grad_weight: false,
        ..DENSE_LENS
    };
    let rank = |actual| Error::RankMismatch {
        what: "input",
        expected: 1,
        actual,
    };
    // Zero and overflowing dimensions (slices of the healthy layer's lengths, or what the
    // checks before the failing one need), and input shapes the layer cannot take. The batch
    // is `x`'s length over the input's, so a zero batch is an empty `x`, and `batch·out`
    // overflows only through `out_features`.
    let dims: [(&'static str, DenseLens, Error); 13] = [
        (
            "batch = 0 (empty x)",
            DenseLens { x: 0, ..DENSE_LENS },
            zero("batch"),
        ),
        (
            "in_features = 0",
            DenseLens {
                layer: Dense::new(0, OUT),
                ..DENSE_LENS
            },
            zero("in_features"),
        ),
        (
            "out_features = 0",
            DenseLens {
                layer: Dense::new(IN, 0),
                ..DENSE_LENS
            },
            zero("out_features"),
        ),
        (
            "batch·out_features overflows (y)",
            DenseLens {
                layer: Dense::new(1, usize::MAX / 2 + 1),
                input: Shape::Features(1),
                x: B,
                ..DENSE_LENS
            },
            overflow("y"),
        ),
        (
            "out_features = usize::MAX (weight)",
            DenseLens {
                layer: Dense::new(2, usize::MAX),
                input: Shape::Features(2),
                x: 2,
                ..DENSE_LENS
            },
            overflow("weight"),
        ),
        (
            "out_features = usize::MAX (y)",
            DenseLens {
                layer: Dense::new(1, usize::MAX),
                input: Shape::Features(1),
                x: 2,
                ..DENSE_LENS
            },
            overflow("y"),
        ),
        (
            "input [IN - 1]",
            DenseLens {
                input: Shape::Features(IN - 1),
                ..DENSE_LENS
            },
            len("input", IN, IN - 1),
        ),
        (
            "input [IN + 1]",
            DenseLens {
                input: Shape::Features(IN + 1),
                ..DENSE_LENS
            },
            len("input", IN, IN + 1),
        ),
        (
            "input [0]",
            DenseLens {
                input: Shape::Features(0),
                ..DENSE_LENS
            },
            len("input", IN, 0),
        ),
        (
            "input [IN, 1] (a sequence)",
            DenseLens {
                input: Shape::Sequence {
                    channels: IN,
                    length: 1,
                },
                ..DENSE_LENS
            },
            rank(2),
        ),
        (
            "input [IN, 1, 1] (an image)",
            DenseLens {
                input: Shape::Image {
                    channels: IN,
                    height: 1,
                    width: 1,
                },
                ..DENSE_LENS
            },
            rank(3),
        ),
        // A whole number of samples, but not the batch of the other slices: they name it.
        (
            "x of B + 1 samples",
            DenseLens {
                x: (B + 1) * IN,
                ..DENSE_LENS
            },
            // Forward names y, backward dy (see below).
            len("y", (B + 1) * OUT, B * OUT),
        ),
        (
            "x of B − 1 samples",
            DenseLens {
                x: (B - 1) * IN,
                ..DENSE_LENS
            },
            len("y", (B - 1) * OUT, B * OUT),
        ),
    ];
    for train in [false, true] {
        let f = if train { "(train)" } else { "(eval)" };
        for (arg, n, set, err) in forward_args {
            for actual in wrong(n) {
                t.row(
                    format!("Dense::forward {f}: {arg} len {actual}"),
                    err(actual),
                    move || {
                        let mut l = DENSE_LENS;
                        set(&mut l, actual);
                        dense_forward(l, train)
                    },
                );
            }
        }
        for (arg, n, set, err) in backward_args {
            for actual in wrong(n) {
                t.row(
                    format!("Dense::backward {f}: {arg} len {actual}"),
                    err(actual),
                    move || {
                        let mut l = DENSE_LENS;
                        set(&mut l, actual);
                        dense_backward(l, train)
                    },
                );
            }
        }
        // A frozen weight (no dweight): every other argument is still checked first.
        for (arg, n, set, err) in backward_args {
            if arg == "dweight" {
                continue;
            }
            for actual in wrong(n) {
                t.row(
                    format!("Dense::backward {f}, frozen weight: {arg} len {actual}"),
                    err(actual),
                    move || {
                        let mut l = frozen;
                        set(&mut l, actual);
                        dense_backward(l, train)
                    },
                );
            }
        }
        for (what, lens, e) in dims {
            t.row(format!("Dense::forward {f}: {what}"), e, move || {
                dense_forward(lens, train)
            });
            let e = match e {
                Error::LengthMismatch {
                    what: "y",
                    expected,
                    actual,
                } => len("dy", expected, actual),
                e => e,
            };
            t.row(format!("Dense::backward {f}: {what}"), e, move || {
                dense_backward(lens, train)
            });
        }
        // A bias where the layer has none, and none where it has one.
        let no_bias = DenseLens {
            layer: Dense::new(IN, OUT).without_bias(),
            ..DENSE_LENS
        };
        let empty_bias = DenseLens {
            bias: 0,
            ..DENSE_LENS
        };
        t.row(
            format!("Dense::forward {f}: bias of a layer with bias empty"),
            len("bias", OUT, 0),
            move || dense_forward(empty_bias, train),
        );
        t.row(
            format!("Dense::forward {f}: bias given to a layer without bias"),
            len("bias", 0, OUT),
            move || dense_forward(no_bias, train),
        );
        t.row(
            format!("Dense::backward {f}: bias of a layer with bias empty"),
            len("bias", OUT, 0),
            move || dense_backward(empty_bias, train),
        );
        t.row(
            format!("Dense::backward {f}: bias given to a layer without bias"),
            len("bias", 0, OUT),
            move || dense_backward(no_bias, train),
        );
        t.row(
            format!("Dense::backward {f}: dbias given to a layer without bias"),
            len("dbias", 0, OUT),
            move || dense_backward(DenseLens { bias: 0, ..no_bias }, train),
        );
    }
}
