//! Bad-input rows of `descent::conv`: `Conv1d` and `Conv2d` forward and backward, as `Layer`s.
//!
//! Both layers run with every hyper-parameter away from its default (groups 2, stride, padding,
//! dilation), so that each row meets the checks on the paths a real call takes. The order of
//! the checks ([`src/conv/plan.rs`]) decides which error a call with one wrong argument gives:
//! hyper-parameters, the input shape (rank, channels, zero dimensions, the windows), `x` whole
//! samples, the batch, `weight`, `bias`, then `y` (forward) or `dy`, `dweight`, `dbias`, `dx`
//! (backward).

use descent::conv::{Conv1d, Conv2d};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape, Window};
use descent::Error;

use crate::harness::*;

/// Channels in and out, and the groups (which divide both).
const IN: usize = 4;
const OUT: usize = 6;
const GROUPS: usize = 2;

/// `nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2)` on `[4, 9]` samples, a
/// batch of `B1`: the window spans 5 of the 11 padded positions, 4 outputs.
const B1: usize = 3;
const L: usize = 9;
const OL: usize = 4;
const CONV1: Conv1d = Conv1d::new(IN, OUT, 3)
    .with_stride(2)
    .with_padding(1)
    .with_dilation(2)
    .with_groups(GROUPS);
const X1: usize = B1 * IN * L;
const W1: usize = OUT * (IN / GROUPS) * 3;
const Y1: usize = B1 * OUT * OL;

/// `nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)` on
/// `[4, 5, 7]` samples, a batch of `B2`: `[3, 5]` outputs.
const B2: usize = 2;
const H: usize = 5;
const W: usize = 7;
const OH: usize = 3;
const OW: usize = 5;
const CONV2: Conv2d = Conv2d::new(IN, OUT, [3, 2])
    .with_stride([2, 1])
    .with_padding([1, 0])
    .with_dilation([1, 2])
    .with_groups(GROUPS);
const X2: usize = B2 * IN * H * W;
const W2: usize = OUT * (IN / GROUPS) * 3 * 2;
const Y2: usize = B2 * OUT * OH * OW;

/// Either layer.
#[derive(Clone, Copy, Debug)]
enum Conv {
    D1(Conv1d),
    D2(Conv2d),
}

impl Conv {
    fn layer(&self) -> &dyn Layer {
        match self {
            Conv::D1(c) => c,
            Conv::D2(c) => c,
        }
    }
}

/// One convolution call: the layer, the input shape and the slices, each of its right length
/// unless a row changes one (`None`: the gradient or `dx` is not asked for).
#[derive(Clone, Copy, Debug)]
struct ConvLens {
    conv: Conv,
    input: Shape,
    x: usize,
    weight: usize,
    bias: usize,
    y: usize,
    dy: usize,
    dweight: Option<usize>,
    dbias: Option<usize>,
    dx: Option<usize>,
}

const LENS1: ConvLens = ConvLens {
    conv: Conv::D1(CONV1),
    input: Shape::Sequence {
        channels: IN,
        length: L,
    },
    x: X1,
    weight: W1,
    bias: OUT,
    y: Y1,
    dy: Y1,
    dweight: Some(W1),
    dbias: Some(OUT),
    dx: Some(X1),
};

const LENS2: ConvLens = ConvLens {
    conv: Conv::D2(CONV2),
    input: Shape::Image {
        channels: IN,
        height: H,
        width: W,
    },
    x: X2,
    weight: W2,
    bias: OUT,
    y: Y2,
    dy: Y2,
    dweight: Some(W2),
    dbias: Some(OUT),
    dx: Some(X2),
};

/// The call a row makes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    /// `forward` in evaluation.
    ForwardEval,
    /// `forward` in training, with a counting generator lent (it must not draw).
    ForwardTrain,
    /// `backward` from a training tape, with `dx` and both gradients.
    Backward,
    /// `backward` from an evaluation tape, with `dx` and both gradients.
    BackwardEval,
    /// `backward` with neither `dx` nor any gradient (`Grads::NONE`): the arguments are
    /// checked all the same.
    BackwardBare,
}

const CALLS: [Call; 5] = [
    Call::ForwardEval,
    Call::ForwardTrain,
    Call::Backward,
    Call::BackwardEval,
    Call::BackwardBare,
];

impl Call {
    fn is_forward(self) -> bool {
        matches!(self, Call::ForwardEval | Call::ForwardTrain)
    }

    fn label(self, conv: Conv) -> String {
        let ty = match conv {
            Conv::D1(_) => "Conv1d",
            Conv::D2(_) => "Conv2d",
        };
        let call = match self {
            Call::ForwardEval => "forward (eval)",
            Call::ForwardTrain => "forward (train)",
            Call::Backward => "backward",
            Call::BackwardEval => "backward (eval tape)",
            Call::BackwardBare => "backward (no dx, Grads::NONE)",
        };
        format!("{ty}::{call}")
    }
}

/// Runs `call` with the lengths `l`: `y` and `dx` are write-only (sentinels), `dweight` and
/// `dbias` accumulate (pattern), the generator of a training forward may draw nothing. Returns
/// the outcome and whether some output was written (for the healthy calls' self-check).
fn run_conv(l: ConvLens, call: Call) -> (Outcome, bool) {
    let layer = l.conv.layer();
    let (x, w, b) = (pattern(l.x), pattern(l.weight), pattern(l.bias));
    let params = Params::new(&w, &b);
    let mut y = sentinel(l.y);
    let (mut saved, mut rng) = (sentinel(0), Counting::new());
    let mut dx = l.dx.map(sentinel);
    let (mut dw, mut db) = (l.dweight.map(pattern), l.dbias.map(pattern));
    // What a backward reads of its forward: `x` and the forward's output.
    let (fy, dy) = (pattern(l.y), pattern(l.dy));
    let r = match call {
        Call::ForwardEval => layer.forward(l.input, Mode::EVAL, params, &x, &mut y),
        Call::ForwardTrain => {
            let mode = Mode::Train {
                buffers: &mut [],
                saved: &mut saved,
                rng: Some(&mut rng),
            };
            layer.forward(l.input, mode, params, &x, &mut y)
        }
        Call::Backward | Call::BackwardEval => {
            let tape = if call == Call::Backward {
                Tape::train(&x, &fy, &[])
            } else {
                Tape::eval(&x, &fy, &[])
            };
            let grads = Grads {
                weight: dw.as_deref_mut(),
                bias: db.as_deref_mut(),
            };
            layer.backward(l.input, params, tape, &dy, dx.as_deref_mut(), grads)
        }
        Call::BackwardBare => {
            let tape = Tape::train(&x, &fy, &[]);
            layer.backward(l.input, params, tape, &dy, None, Grads::NONE)
        }
    };
    let untouched = is_sentinel(&y)
        && is_sentinel(&saved)
        && dx.as_deref().is_none_or(is_sentinel)
        && dw.as_deref().is_none_or(is_pattern)
        && db.as_deref().is_none_or(is_pattern)
        && rng.drawn == 0;
    let wrote = match call {
        Call::ForwardEval | Call::ForwardTrain => !is_sentinel(&y),
        Call::Backward | Call::BackwardEval => {
            dx.as_deref().is_some_and(|d| !is_sentinel(d))
                && dw.as_deref().is_some_and(|d| !is_pattern(d))
                && db.as_deref().is_some_and(|d| !is_pattern(d))
        }
        Call::BackwardBare => true,
    };
    (core(r, untouched), wrote)
}

/// The `LengthMismatch` of an `x` of `actual` floats, not a whole number of `sample`-float
/// samples: the whole samples below it are expected.
fn not_whole_samples(sample: usize, actual: usize) -> Error {
    len("x", actual / sample * sample, actual)
}

fn rank(expected: usize, actual: usize) -> Error {
    Error::RankMismatch {
        what: "input",
        expected,
        actual,
    }
}

fn window(span: usize, input: usize) -> Error {
    Error::WindowExceedsInput {
        what: "kernel_size",
        span,
        input,
    }
}

/// The healthy calls succeed and write their outputs: the rows below differ from them in one
/// argument only, and the check that nothing was written can see a write.
fn healthy_calls_succeed() {
    for base in [LENS1, LENS2] {
        for call in CALLS {
            let (outcome, wrote) = run_conv(base, call);
            assert_eq!(outcome.got, Got::Ok, "{}", call.label(base.conv));
            assert!(wrote, "{}: wrote nothing", call.label(base.conv));
        }
    }
}

/// A row for every call in `calls` (forward rows name `y`, backward rows `dy`, where the error
/// is a `y` length).
fn row_per_call(t: &mut Table, calls: &[Call], what: &str, lens: ConvLens, e: Error) {
    for &call in calls {
        let e = match e {
            Error::LengthMismatch {
                what: "y",
                expected,
                actual,
            } if !call.is_forward() => len("dy", expected, actual),
            e => e,
        };
        t.row(format!("{}: {what}", call.label(lens.conv)), e, move || {
            run_conv(lens, call).0
        });
    }
}

/// Each argument wrong by −1 and +1, in every call that takes it.
fn length_rows(t: &mut Table, base: ConvLens, sample: usize) {
    type Set = fn(&mut ConvLens, usize);
    // (argument, right length, setter, the error of a wrong length, the calls that take it).
    let args: [(&'static str, usize, Set, &[Call]); 6] = [
        ("x", base.x, |l, n| l.x = n, &CALLS),
        ("weight", base.weight, |l, n| l.weight = n, &CALLS),
        ("bias", base.bias, |l, n| l.bias = n, &CALLS),
        (
            "y",
            base.y,
            |l, n| l.y = n,
            &[Call::ForwardEval, Call::ForwardTrain],
        ),
        (
            "dy",
            base.dy,
            |l, n| l.dy = n,
            &[Call::Backward, Call::BackwardEval, Call::BackwardBare],
        ),
        (
            "dweight",
            base.weight,
            |l, n| l.dweight = Some(n),
            &[Call::Backward, Call::BackwardEval],
        ),
    ];
    for (arg, n, set, calls) in args {
        for actual in wrong(n) {
            let e = if arg == "x" {
                not_whole_samples(sample, actual)
            } else {
                len(arg, n, actual)
            };
            let mut l = base;
            set(&mut l, actual);
            row_per_call(t, calls, &format!("{arg} len {actual}"), l, e);
        }
    }
    let grads = [Call::Backward, Call::BackwardEval];
    for actual in wrong(base.bias) {
        let l = ConvLens {
            dbias: Some(actual),
            ..base
        };
        let e = len("dbias", base.bias, actual);
        row_per_call(t, &grads, &format!("dbias len {actual}"), l, e);
    }
    for actual in wrong(base.x) {
        let l = ConvLens {
            dx: Some(actual),
            ..base
        };
        let e = len("dx", base.x, actual);
        row_per_call(t, &grads, &format!("dx len {actual}"), l, e);
    }
    // Less than one sample, and absent parameters.
    row_per_call(
        t,
        &CALLS,
        &format!("x len {} (less than one sample)", sample - 1),
        ConvLens {
            x: sample - 1,
            ..base
        },
        not_whole_samples(sample, sample - 1),
    );
    row_per_call(
        t,
        &CALLS,
        "weight absent",
        ConvLens { weight: 0, ..base },
        len("weight", base.weight, 0),
    );
    row_per_call(
        t,
        &CALLS,
        "bias absent (layer with bias)",
        ConvLens { bias: 0, ..base },
        len("bias", base.bias, 0),
    );
}

/// The bias of a layer without one: a given `bias` or `dbias` is refused.
fn no_bias_rows(t: &mut Table, base: ConvLens) {
    let conv = match base.conv {
        Conv::D1(c) => Conv::D1(c.without_bias()),
        Conv::D2(c) => Conv::D2(c.without_bias()),
    };
    let no_bias = ConvLens {
        conv,
        bias: 0,
        dbias: None,
        ..base
    };
    row_per_call(
        t,
        &CALLS,
        "bias given to a layer without bias",
        ConvLens {
            bias: OUT,
            ..no_bias
        },
        len("bias", 0, OUT),
    );
    row_per_call(
        t,
        &[Call::Backward, Call::BackwardEval],
        "dbias given to a layer without bias",
        ConvLens {
            dbias: Some(OUT),
            ..no_bias
        },
        len("dbias", 0, OUT),
    );
}

/// The largest padding whose doubled value still fits: `2·padding + L` overflows for `L ≥ 2`.
const HALF: usize = usize::MAX / 2;

/// The rows that change the layer, the input shape or the batch, for `Conv1d`.
fn conv1d_dims() -> Vec<(String, ConvLens, Error)> {
    let with = |f: fn(&mut Conv1d)| {
        let mut c = CONV1;
        f(&mut c);
        ConvLens {
            conv: Conv::D1(c),
            ..LENS1
        }
    };
    let seq = |channels, length| ConvLens {
        input: Shape::Sequence { channels, length },
        ..LENS1
    };
    // The padded input is L + 2 = 11 long.
    let padded = L + 2;
    let rows = vec![
        (
            "in_channels = 0",
            with(|c| c.in_channels = 0),
            zero("in_channels"),
        ),
        (
            "out_channels = 0",
            with(|c| c.out_channels = 0),
            zero("out_channels"),
        ),
        ("groups = 0", with(|c| c.groups = 0), zero("groups")),
        (
            "groups = 3 (does not divide in_channels 4)",
            with(|c| c.groups = 3),
            hp("groups"),
        ),
        (
            "groups = 4 (does not divide out_channels 6)",
            with(|c| c.groups = 4),
            hp("groups"),
        ),
        (
            "kernel_size = 0",
            with(|c| c.kernel_size = 0),
            zero("kernel_size"),
        ),
        ("stride = 0", with(|c| c.stride = 0), zero("stride")),
        ("dilation = 0", with(|c| c.dilation = 0), zero("dilation")),
        (
            "kernel_size 7 at dilation 2 spans 13 > 11",
            with(|c| c.kernel_size = 7),
            window(13, padded),
        ),
        (
            "kernel_size 12 at dilation 1 spans 12 > 11",
            with(|c| {
                c.kernel_size = 12;
                c.dilation = 1;
            }),
            window(12, padded),
        ),
        (
            "dilation 6 spans 13 > 11",
            with(|c| c.dilation = 6),
            window(13, padded),
        ),
        (
            "no padding: span 5 > 4",
            ConvLens {
                input: Shape::Sequence {
                    channels: IN,
                    length: 4,
                },
                x: B1 * IN * 4,
                ..with(|c| c.padding = 0)
            },
            window(5, 4),
        ),
        (
            "padding = usize::MAX/2 + 1 (2·padding overflows)",
            with(|c| c.padding = HALF + 1),
            overflow("padding"),
        ),
        (
            "padding = usize::MAX/2 (L + 2·padding overflows)",
            with(|c| c.padding = HALF),
            overflow("padding"),
        ),
        (
            // 2·padding fits in usize, the padded length 2^63 + 9 does not fit in isize.
            "padding = 2^62 (L + 2·padding exceeds isize::MAX)",
            with(|c| c.padding = 1 << (usize::BITS - 2)),
            overflow("padding"),
        ),
        (
            // As above with one output: a stride longer than the padded input.
            "padding = 2^62, stride = usize::MAX",
            with(|c| {
                c.padding = 1 << (usize::BITS - 2);
                c.stride = usize::MAX;
            }),
            overflow("padding"),
        ),
        (
            // Nine outputs 2^60 apart: the ninth starts at 2^63 − 2^62 in the padded input, a
            // position that an `isize` computation `8·2^60 − 2^62` overflows on the way (a
            // panic in a build with overflow checks, before the plan refused this).
            "padding = 2^62, stride = 2^60",
            with(|c| {
                c.padding = 1 << (usize::BITS - 2);
                c.stride = 1 << (usize::BITS - 4);
            }),
            overflow("padding"),
        ),
        (
            "input [4] (a vector)",
            ConvLens {
                input: Shape::Features(IN),
                ..LENS1
            },
            rank(2, 1),
        ),
        (
            "input [4, 1, 9] (an image)",
            ConvLens {
                input: Shape::Image {
                    channels: IN,
                    height: 1,
                    width: L,
                },
                ..LENS1
            },
            rank(2, 3),
        ),
        ("input [3, 9]", seq(IN - 1, L), len("input", IN, IN - 1)),
        ("input [5, 9]", seq(IN + 1, L), len("input", IN, IN + 1)),
        ("input [0, 9]", seq(0, L), len("input", IN, 0)),
        ("input [4, 0]", seq(IN, 0), zero("input")),
        (
            "input [4, 2^62] (channels·length overflows)",
            seq(IN, 1 << (usize::BITS - 2)),
            overflow("input"),
        ),
        (
            "input [4, 2^63] (length past isize::MAX)",
            seq(IN, 1 << (usize::BITS - 1)),
            overflow("input"),
        ),
        (
            "input [4, usize::MAX]",
            seq(IN, usize::MAX),
            overflow("input"),
        ),
        (
            "batch = 0 (empty x)",
            ConvLens { x: 0, ..LENS1 },
            zero("batch"),
        ),
        (
            "x of B + 1 samples",
            ConvLens {
                x: X1 + IN * L,
                ..LENS1
            },
            len("y", Y1 + OUT * OL, Y1),
        ),
        (
            "x of B − 1 samples",
            ConvLens {
                x: X1 - IN * L,
                ..LENS1
            },
            len("y", Y1 - OUT * OL, Y1),
        ),
        (
            // out_length ≈ usize::MAX/4: batch·out_channels·out_length overflows.
            "padding = usize::MAX/8 (y overflows)",
            with(|c| {
                c.set_window(Window {
                    padding: usize::MAX / 8,
                    ..Window::new(3)
                })
            }),
            overflow("y"),
        ),
        (
            // A window of usize::MAX/8 taps fits a padded input as long, at a stride that
            // leaves one output: 6·2·taps overflows, the output does not.
            "kernel_size = usize::MAX/8 (weight overflows)",
            with(|c| {
                c.set_window(Window {
                    kernel_size: usize::MAX / 8,
                    stride: usize::MAX,
                    padding: usize::MAX / 16 + 1,
                    dilation: 1,
                })
            }),
            overflow("weight"),
        ),
    ];
    rows.into_iter()
        .map(|(n, l, e)| (n.to_string(), l, e))
        .collect()
}

/// The rows that change the layer, the input shape or the batch, for `Conv2d`.
fn conv2d_dims() -> Vec<(String, ConvLens, Error)> {
    let with = |f: fn(&mut Conv2d)| {
        let mut c = CONV2;
        f(&mut c);
        ConvLens {
            conv: Conv::D2(c),
            ..LENS2
        }
    };
    let image = |channels, height, width| ConvLens {
        input: Shape::Image {
            channels,
            height,
            width,
        },
        ..LENS2
    };
    let mut rows: Vec<(String, ConvLens, Error)> = vec![
        (
            "in_channels = 0".into(),
            with(|c| c.in_channels = 0),
            zero("in_channels"),
        ),
        (
            "out_channels = 0".into(),
            with(|c| c.out_channels = 0),
            zero("out_channels"),
        ),
        ("groups = 0".into(), with(|c| c.groups = 0), zero("groups")),
        (
            "groups = 3 (does not divide in_channels 4)".into(),
            with(|c| c.groups = 3),
            hp("groups"),
        ),
        (
            "groups = 4 (does not divide out_channels 6)".into(),
            with(|c| c.groups = 4),
            hp("groups"),
        ),
    ];
    // Each axis: a zero kernel, stride and dilation; a window longer than the padded input;
    // a padding whose double overflows. The padded input is [5 + 2, 7 + 0] = [7, 7].
    for (axis, name) in ["height", "width"].into_iter().enumerate() {
        let set = |f: fn(&mut Window)| {
            let mut c = CONV2;
            let mut windows = c.windows();
            f(&mut windows[axis]);
            c.set_windows(windows);
            ConvLens {
                conv: Conv::D2(c),
                ..LENS2
            }
        };
        rows.push((
            format!("kernel_size[{name}] = 0"),
            set(|w| w.kernel_size = 0),
            zero("kernel_size"),
        ));
        rows.push((
            format!("stride[{name}] = 0"),
            set(|w| w.stride = 0),
            zero("stride"),
        ));
        rows.push((
            format!("dilation[{name}] = 0"),
            set(|w| w.dilation = 0),
            zero("dilation"),
        ));
        rows.push((
            format!("padding[{name}] = usize::MAX/2 + 1"),
            set(|w| w.padding = HALF + 1),
            overflow("padding"),
        ));
        rows.push((
            format!("padding[{name}] = usize::MAX/2"),
            set(|w| w.padding = HALF),
            overflow("padding"),
        ));
        rows.push((
            format!("padding[{name}] = 2^62 (padded length exceeds isize::MAX)"),
            set(|w| w.padding = 1 << (usize::BITS - 2)),
            overflow("padding"),
        ));
        // One position too long: span 8 over 7 padded positions.
        let (span, padded) = (8, 7);
        rows.push((
            format!("window[{name}] spans {span} > {padded}"),
            set(|w| {
                w.kernel_size = 8;
                w.dilation = 1;
            }),
            window(span, padded),
        ));
        rows.push((
            format!(
                "dilation[{name}] 7 spans {} > {padded}",
                if axis == 0 { 15 } else { 8 }
            ),
            set(|w| w.dilation = 7),
            window(if axis == 0 { 15 } else { 8 }, padded),
        ));
    }
    rows.extend([
        (
            "input [4] (a vector)".into(),
            ConvLens {
                input: Shape::Features(IN),
                ..LENS2
            },
            rank(3, 1),
        ),
        (
            "input [4, 35] (a sequence)".into(),
            ConvLens {
                input: Shape::Sequence {
                    channels: IN,
                    length: H * W,
                },
                ..LENS2
            },
            rank(3, 2),
        ),
        (
            "input [3, 5, 7]".into(),
            image(IN - 1, H, W),
            len("input", IN, IN - 1),
        ),
        (
            "input [5, 5, 7]".into(),
            image(IN + 1, H, W),
            len("input", IN, IN + 1),
        ),
        (
            "input [0, 5, 7]".into(),
            image(0, H, W),
            len("input", IN, 0),
        ),
        ("input [4, 0, 7]".into(), image(IN, 0, W), zero("input")),
        ("input [4, 5, 0]".into(), image(IN, H, 0), zero("input")),
        (
            "input [4, 2^63, 7] (height past isize::MAX)".into(),
            image(IN, 1 << (usize::BITS - 1), W),
            overflow("input"),
        ),
        (
            "input [4, 5, 2^63] (width past isize::MAX)".into(),
            image(IN, H, 1 << (usize::BITS - 1)),
            overflow("input"),
        ),
        (
            "input [4, 2^33, 2^33] (height·width overflows)".into(),
            image(IN, 1 << (usize::BITS / 2 + 1), 1 << (usize::BITS / 2 + 1)),
            overflow("input"),
        ),
        (
            "input [4, 2^31, 2^31] (channels·height·width overflows)".into(),
            image(IN, 1 << (usize::BITS / 2 - 1), 1 << (usize::BITS / 2 - 1)),
            overflow("input"),
        ),
        (
            "batch = 0 (empty x)".into(),
            ConvLens { x: 0, ..LENS2 },
            zero("batch"),
        ),
        (
            "x of B + 1 samples".into(),
            ConvLens {
                x: X2 + IN * H * W,
                ..LENS2
            },
            len("y", Y2 + OUT * OH * OW, Y2),
        ),
        (
            "x of B − 1 samples".into(),
            ConvLens {
                x: X2 - IN * H * W,
                ..LENS2
            },
            len("y", Y2 - OUT * OH * OW, Y2),
        ),
        (
            // out_height ≈ usize::MAX/8 rows of 5: the output plane overflows.
            "padding[height] = usize::MAX/8 (y overflows)".into(),
            with(|c| c.padding[0] = usize::MAX / 8),
            overflow("y"),
        ),
        (
            // Windows of 2^32 × 2^32 taps over as much padding, one output each: the taps
            // alone overflow.
            "kernel_size = [2^32, 2^32] (weight overflows)".into(),
            with(|c| {
                let big = Window {
                    kernel_size: 1 << (usize::BITS / 2),
                    stride: usize::MAX,
                    padding: 1 << (usize::BITS / 2 - 1),
                    dilation: 1,
                };
                c.set_windows([big, big]);
            }),
            overflow("weight"),
        ),
        (
            // The same windows on one channel in and out: the taps' product is the whole
            // weight, and it overflows just the same.
            "Conv2d(1, 1, [2^32, 2^32]) (weight overflows in the taps alone)".into(),
            ConvLens {
                conv: Conv::D2(
                    Conv2d {
                        in_channels: 1,
                        out_channels: 1,
                        groups: 1,
                        ..Conv2d::new(1, 1, [1 << (usize::BITS / 2); 2])
                    }
                    .with_stride([usize::MAX; 2])
                    .with_padding([1 << (usize::BITS / 2 - 1); 2])
                    .with_dilation([1; 2]),
                ),
                input: Shape::Image {
                    channels: 1,
                    height: H,
                    width: W,
                },
                x: B2 * H * W,
                ..LENS2
            },
            overflow("weight"),
        ),
    ]);
    rows
}

pub(crate) fn rows(t: &mut Table) {
    t.module("conv");
    healthy_calls_succeed();
    length_rows(t, LENS1, IN * L);
    length_rows(t, LENS2, IN * H * W);
    no_bias_rows(t, LENS1);
    no_bias_rows(t, LENS2);
    for (name, lens, e) in conv1d_dims().into_iter().chain(conv2d_dims()) {
        row_per_call(t, &CALLS, &name, lens, e);
    }
}
