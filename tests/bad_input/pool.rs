//! Bad-input rows of `descent::pool`: every layer through the [`Layer`] calls (an evaluation
//! and a training forward, a backward from a training and from an evaluation tape) on a batch
//! of [`B`] samples of `[C, L]` = `[2, 7]` or `[C, H, W]` = `[2, 5, 4]`.

use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::pool::{
    AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d,
};
use descent::Error;

use crate::harness::*;

/// Samples per batch.
const B: usize = 3;
/// The 1-D sample `[2, 7]` and the 2-D sample `[2, 5, 4]`.
const SEQ: Shape = Shape::Sequence {
    channels: 2,
    length: 7,
};
const IMG: Shape = Shape::Image {
    channels: 2,
    height: 5,
    width: 4,
};

/// A pooling layer under test (each is `Copy`, so a row can own one).
#[derive(Clone, Copy, Debug)]
enum Pool {
    Max1(MaxPool1d),
    Max2(MaxPool2d),
    Avg1(AvgPool1d),
    Avg2(AvgPool2d),
    Global1,
    Global2,
    Flatten,
}

impl Pool {
    fn layer(self) -> Box<dyn Layer> {
        match self {
            Pool::Max1(p) => Box::new(p),
            Pool::Max2(p) => Box::new(p),
            Pool::Avg1(p) => Box::new(p),
            Pool::Avg2(p) => Box::new(p),
            Pool::Global1 => Box::new(GlobalAvgPool1d),
            Pool::Global2 => Box::new(GlobalAvgPool2d),
            Pool::Flatten => Box::new(Flatten),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Pool::Max1(_) => "MaxPool1d",
            Pool::Max2(_) => "MaxPool2d",
            Pool::Avg1(_) => "AvgPool1d",
            Pool::Avg2(_) => "AvgPool2d",
            Pool::Global1 => "GlobalAvgPool1d",
            Pool::Global2 => "GlobalAvgPool2d",
            Pool::Flatten => "Flatten",
        }
    }

    /// Whether a training forward saves (and a training backward reads) indices.
    fn saves(self) -> bool {
        matches!(self, Pool::Max1(_) | Pool::Max2(_))
    }
}

/// The call a row makes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    ForwardEval,
    ForwardTrain,
    Backward,
    BackwardEval,
}

const CALLS: [Call; 4] = [
    Call::ForwardEval,
    Call::ForwardTrain,
    Call::Backward,
    Call::BackwardEval,
];

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::ForwardEval => "forward (eval)",
            Call::ForwardTrain => "forward (train)",
            Call::Backward => "backward",
            Call::BackwardEval => "backward (eval tape)",
        }
    }

    fn is_forward(self) -> bool {
        matches!(self, Call::ForwardEval | Call::ForwardTrain)
    }
}

/// Every slice of a call (`dx: None`: not asked for).
#[derive(Clone, Copy, Debug)]
struct Lens {
    input: Shape,
    x: usize,
    y: usize,
    saved: usize,
    dy: usize,
    dx: Option<usize>,
}

/// The right lengths of `pool` on [`B`] samples of `input`.
fn lens(pool: Pool, input: Shape) -> Lens {
    let out = pool.layer().output_shape(input).unwrap().len();
    Lens {
        input,
        x: B * input.len(),
        y: B * out,
        saved: if pool.saves() { B * out } else { 0 },
        dy: B * out,
        dx: Some(B * input.len()),
    }
}

/// Runs `call`: `y`, `dx` and a training forward's `saved` are write-only (sentinels); what a
/// backward reads of its forward (`x`, `y`, `saved`) is a pattern.
fn run_pool(pool: Pool, call: Call, l: Lens) -> Outcome {
    let layer = pool.layer();
    let x = pattern(l.x);
    let mut y = sentinel(l.y);
    let mut saved = sentinel(l.saved);
    let mut dx = l.dx.map(sentinel);
    let (fy, fsaved, dy) = (pattern(l.y), pattern(l.saved), pattern(l.dy));
    let r = match call {
        Call::ForwardEval => layer.forward(l.input, Mode::EVAL, Params::NONE, &x, &mut y),
        Call::ForwardTrain => {
            let mode = Mode::train(&mut saved);
            layer.forward(l.input, mode, Params::NONE, &x, &mut y)
        }
        Call::Backward | Call::BackwardEval => {
            let tape = if call == Call::Backward {
                Tape::train(&x, &fy, &fsaved)
            } else {
                Tape::eval(&x, &fy, &[])
            };
            let dx = dx.as_deref_mut();
            layer.backward(l.input, Params::NONE, tape, &dy, dx, Grads::NONE)
        }
    };
    let untouched = is_sentinel(&y) && is_sentinel(&saved) && dx.as_deref().is_none_or(is_sentinel);
    core(r, untouched)
}

/// A row of one slice's wrong length: its name, the length, the error, the setter.
type LenRow = (&'static str, usize, Error, fn(&mut Lens, usize));

/// The `LengthMismatch` of a slice of `actual` floats that is not whole samples of `sample`.
fn not_whole(what: &'static str, actual: usize, sample: usize) -> Error {
    len(what, actual / sample * sample, actual)
}

/// The rows every layer and call share: each slice the call checks wrong by ±1 (`x`, `y`,
/// `saved`, `dy`, `dx`, and the tape's `x` where a backward reads it), `dy` wrong without
/// `dx`, a shape of another rank, and each zero dimension.
fn shared_rows(t: &mut Table, pool: Pool, input: Shape) {
    let base = lens(pool, input);
    let sample = input.len();
    let out = base.y / B;
    for call in CALLS {
        let name = format!("{}::{}", pool.name(), call.name());
        let mut args: Vec<LenRow> = vec![];
        for actual in wrong(base.x) {
            let reads_x = call.is_forward() || (call == Call::BackwardEval && pool.saves());
            if reads_x {
                // A forward's batch is x's; a backward from an evaluation tape checks x
                // against the batch of dy.
                let e = if call.is_forward() {
                    not_whole("x", actual, sample)
                } else {
                    len("x", base.x, actual)
                };
                args.push(("x", actual, e, |l, n| l.x = n));
            }
        }
        if call.is_forward() {
            for actual in wrong(base.y) {
                args.push(("y", actual, len("y", base.y, actual), |l, n| l.y = n));
            }
        } else {
            for actual in wrong(base.dy) {
                args.push(("dy", actual, not_whole("dy", actual, out), |l, n| l.dy = n));
            }
            for actual in wrong(base.x) {
                args.push(("dx", actual, len("dx", base.x, actual), |l, n| {
                    l.dx = Some(n)
                }));
            }
        }
        if pool.saves() && matches!(call, Call::ForwardTrain | Call::Backward) {
            for actual in wrong(base.saved) {
                let e = len("saved", base.saved, actual);
                args.push(("saved", actual, e, |l, n| l.saved = n));
            }
        }
        for (what, actual, e, set) in args {
            t.row(format!("{name}: {what} len {actual}"), e, move || {
                let mut l = base;
                set(&mut l, actual);
                run_pool(pool, call, l)
            });
        }
        // A backward that is not asked for dx checks its arguments all the same.
        if !call.is_forward() {
            t.row(
                format!("{name}: dy len {} without dx", base.dy + 1),
                not_whole("dy", base.dy + 1, out),
                move || {
                    let l = Lens {
                        dx: None,
                        dy: base.dy + 1,
                        ..base
                    };
                    run_pool(pool, call, l)
                },
            );
        }
        // A training tape without saved indices (an evaluation forward's).
        if pool.saves() && call == Call::Backward {
            t.row(
                format!("{name}: tape without saved indices"),
                len("saved", base.saved, 0),
                move || run_pool(pool, call, Lens { saved: 0, ..base }),
            );
        }
        // Shapes of another rank.
        let others = [Shape::Features(14), SEQ, IMG];
        if !matches!(pool, Pool::Flatten) {
            for other in others.into_iter().filter(|s| s.rank() != input.rank()) {
                let e = Error::RankMismatch {
                    what: "input",
                    expected: input.rank(),
                    actual: other.rank(),
                };
                t.row(format!("{name}: input {other:?}"), e, move || {
                    run_pool(
                        pool,
                        call,
                        Lens {
                            input: other,
                            ..base
                        },
                    )
                });
            }
        }
        // Each zero dimension.
        let zeros: Vec<Shape> = match input {
            Shape::Sequence { channels, length } => vec![
                Shape::Sequence {
                    channels: 0,
                    length,
                },
                Shape::Sequence {
                    channels,
                    length: 0,
                },
            ],
            Shape::Image {
                channels,
                height,
                width,
            } => vec![
                Shape::Image {
                    channels: 0,
                    height,
                    width,
                },
                Shape::Image {
                    channels,
                    height: 0,
                    width,
                },
                Shape::Image {
                    channels,
                    height,
                    width: 0,
                },
            ],
            Shape::Features(_) => vec![Shape::Features(0)],
        };
        for z in zeros {
            t.row(format!("{name}: input {z:?}"), zero("input"), move || {
                run_pool(pool, call, Lens { input: z, ..base })
            });
        }
        // Sizes that overflow usize.
        let huge = match input {
            Shape::Sequence { length, .. } => Shape::Sequence {
                channels: usize::MAX / 2,
                length,
            },
            _ => Shape::Image {
                channels: usize::MAX / 16,
                height: 5,
                width: 4,
            },
        };
        t.row(
            format!("{name}: input {huge:?}"),
            overflow("input"),
            move || {
                run_pool(
                    pool,
                    call,
                    Lens {
                        input: huge,
                        ..base
                    },
                )
            },
        );
    }
}

/// Rows of a hyper-parameter a window pooling refuses: `pool` is the bad layer, `e` its error;
/// the lengths are the good layer's.
fn hyper_rows(t: &mut Table, good: Pool, bad: Pool, input: Shape, what: &str, e: Error) {
    let base = lens(good, input);
    for call in CALLS {
        let name = format!("{}::{}: {what}", bad.name(), call.name());
        t.row(name, e, move || run_pool(bad, call, base));
    }
}

pub(crate) fn rows(t: &mut Table) {
    t.module("pool");
    let max1 = MaxPool1d::new(3);
    let max2 = MaxPool2d::new(2);
    let avg1 = AvgPool1d::new(3);
    let avg2 = AvgPool2d::new(2);
    for (pool, input) in [
        (Pool::Max1(max1), SEQ),
        (Pool::Max2(max2), IMG),
        (Pool::Avg1(avg1), SEQ),
        (Pool::Avg2(avg2), IMG),
        (Pool::Global1, SEQ),
        (Pool::Global2, IMG),
        (Pool::Flatten, IMG),
        (Pool::Flatten, SEQ),
    ] {
        shared_rows(t, pool, input);
    }

    // Hyper-parameters, 1-D: zero kernel, stride, dilation; a padding beyond half the kernel
    // (dilated or not: torch checks the kernel);
    // a window larger than the padded input.
    let win = |span, input| Error::WindowExceedsInput {
        what: "kernel_size",
        span,
        input,
    };
    let g = Pool::Max1(max1);
    for (bad, what, e) in [
        (
            MaxPool1d {
                kernel_size: 0,
                ..max1
            },
            "kernel_size = 0",
            zero("kernel_size"),
        ),
        (
            MaxPool1d { stride: 0, ..max1 },
            "stride = 0",
            zero("stride"),
        ),
        (
            MaxPool1d {
                dilation: 0,
                ..max1
            },
            "dilation = 0",
            zero("dilation"),
        ),
        (
            MaxPool1d { padding: 2, ..max1 },
            "padding 2 > 3/2",
            hp("padding"),
        ),
        (
            MaxPool1d {
                padding: 2,
                dilation: 2,
                ..max1
            },
            "padding 2 > 3/2 with dilation 2",
            hp("padding"),
        ),
        (MaxPool1d::new(8), "kernel 8 on 7", win(8, 7)),
        (
            MaxPool1d {
                dilation: 4,
                ..max1
            },
            "span 9 on 7",
            win(9, 7),
        ),
    ] {
        hyper_rows(t, g, Pool::Max1(bad), SEQ, what, e);
    }
    let g = Pool::Avg1(avg1);
    for (bad, what, e) in [
        (
            AvgPool1d {
                kernel_size: 0,
                ..avg1
            },
            "kernel_size = 0",
            zero("kernel_size"),
        ),
        (
            AvgPool1d { stride: 0, ..avg1 },
            "stride = 0",
            zero("stride"),
        ),
        (
            AvgPool1d { padding: 2, ..avg1 },
            "padding 2 > 3/2",
            hp("padding"),
        ),
        (AvgPool1d::new(8), "kernel 8 on 7", win(8, 7)),
        (
            AvgPool1d {
                padding: 1,
                ..AvgPool1d::new(10)
            },
            "kernel 10 on 7 + 2",
            win(10, 9),
        ),
    ] {
        hyper_rows(t, g, Pool::Avg1(bad), SEQ, what, e);
    }
    // 2-D: each axis on its own.
    let g = Pool::Max2(max2);
    for (bad, what, e) in [
        (
            MaxPool2d {
                kernel_size: [0, 2],
                ..max2
            },
            "kernel_size [0, 2]",
            zero("kernel_size"),
        ),
        (
            MaxPool2d {
                kernel_size: [2, 0],
                ..max2
            },
            "kernel_size [2, 0]",
            zero("kernel_size"),
        ),
        (
            MaxPool2d {
                stride: [0, 2],
                ..max2
            },
            "stride [0, 2]",
            zero("stride"),
        ),
        (
            MaxPool2d {
                stride: [2, 0],
                ..max2
            },
            "stride [2, 0]",
            zero("stride"),
        ),
        (
            MaxPool2d {
                dilation: [0, 1],
                ..max2
            },
            "dilation [0, 1]",
            zero("dilation"),
        ),
        (
            MaxPool2d {
                dilation: [1, 0],
                ..max2
            },
            "dilation [1, 0]",
            zero("dilation"),
        ),
        (
            MaxPool2d {
                padding: [2, 0],
                ..max2
            },
            "padding [2, 0]",
            hp("padding"),
        ),
        (
            MaxPool2d {
                padding: [0, 2],
                ..max2
            },
            "padding [0, 2]",
            hp("padding"),
        ),
        (
            MaxPool2d {
                kernel_size: [6, 2],
                ..max2
            },
            "kernel [6, 2] on 5 × 4",
            win(6, 5),
        ),
        (
            MaxPool2d {
                kernel_size: [2, 5],
                ..max2
            },
            "kernel [2, 5] on 5 × 4",
            win(5, 4),
        ),
    ] {
        hyper_rows(t, g, Pool::Max2(bad), IMG, what, e);
    }
    let g = Pool::Avg2(avg2);
    for (bad, what, e) in [
        (
            AvgPool2d {
                kernel_size: [0, 2],
                ..avg2
            },
            "kernel_size [0, 2]",
            zero("kernel_size"),
        ),
        (
            AvgPool2d {
                kernel_size: [2, 0],
                ..avg2
            },
            "kernel_size [2, 0]",
            zero("kernel_size"),
        ),
        (
            AvgPool2d {
                stride: [0, 2],
                ..avg2
            },
            "stride [0, 2]",
            zero("stride"),
        ),
        (
            AvgPool2d {
                stride: [2, 0],
                ..avg2
            },
            "stride [2, 0]",
            zero("stride"),
        ),
        (
            AvgPool2d {
                padding: [2, 0],
                ..avg2
            },
            "padding [2, 0]",
            hp("padding"),
        ),
        (
            AvgPool2d {
                padding: [0, 2],
                ..avg2
            },
            "padding [0, 2]",
            hp("padding"),
        ),
        (
            AvgPool2d {
                divisor_override: Some(0),
                ..avg2
            },
            "divisor_override = 0",
            hp("divisor_override"),
        ),
        (
            AvgPool2d {
                kernel_size: [6, 2],
                ..avg2
            },
            "kernel [6, 2] on 5 × 4",
            win(6, 5),
        ),
        (
            AvgPool2d {
                kernel_size: [2, 5],
                ..avg2
            },
            "kernel [2, 5] on 5 × 4",
            win(5, 4),
        ),
    ] {
        hyper_rows(t, g, Pool::Avg2(bad), IMG, what, e);
    }
    // A max pooling refuses planes whose indices f32 cannot hold (the shape alone decides).
    for (pool, input) in [
        (
            Pool::Max2(max2),
            Shape::Image {
                channels: 1,
                height: 4097,
                width: 4096,
            },
        ),
        (
            Pool::Max1(max1),
            Shape::Sequence {
                channels: 1,
                length: (1 << 24) + 1,
            },
        ),
    ] {
        let base = Lens {
            input,
            ..lens(pool, if input.rank() == 2 { SEQ } else { IMG })
        };
        for call in CALLS {
            t.row(
                format!(
                    "{}::{}: a plane of more than 2^24",
                    pool.name(),
                    call.name()
                ),
                overflow("input"),
                move || run_pool(pool, call, base),
            );
        }
    }
}
