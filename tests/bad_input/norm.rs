//! Bad-input rows of `descent::norm`: [ROWS, COLS] slices, COLS features (and batch norm on
//! [ROWS, COLS, 4] and [ROWS, COLS, 2, 3]), through the [`Layer`] calls.

use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::norm::{BatchNorm, LayerNorm};

use crate::harness::*;

/// The buffers of a batch norm over COLS channels: `running_mean`, `running_var`,
/// `num_batches_tracked`.
pub(crate) const BUFFERS: usize = 2 * COLS + 1;

/// Every argument of a normalisation call (`None`: the slice is absent, i.e. empty for a
/// parameter or the buffers, not asked for for `dx` and the gradients).
#[derive(Clone, Copy)]
pub(crate) struct NormLens {
    input: Shape,
    x: usize,
    weight: Option<usize>,
    bias: Option<usize>,
    buffers: Option<usize>,
    y: usize,
    saved: usize,
    dy: usize,
    dx: Option<usize>,
    dweight: Option<usize>,
    dbias: Option<usize>,
}

pub(crate) const LN_LENS: NormLens = NormLens {
    input: Shape::Features(COLS),
    x: M,
    weight: Some(COLS),
    bias: Some(COLS),
    buffers: None,
    y: M,
    saved: 2 * ROWS,
    dy: M,
    dx: Some(M),
    dweight: Some(COLS),
    dbias: Some(COLS),
};

pub(crate) const BN_LENS: NormLens = NormLens {
    buffers: Some(BUFFERS),
    saved: 2 * COLS,
    ..LN_LENS
};

/// The call a row makes: a forward in evaluation or training mode, or a backward from a
/// training or an evaluation tape.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NormCall {
    ForwardEval,
    ForwardTrain,
    Backward,
    BackwardEval,
}

/// Runs `call` of `layer` with the lengths `l`: `y`, `dx` and a training forward's `saved`
/// are write-only (sentinels); the buffers (running statistics and their counter) and the
/// parameter gradients are read and written (pattern); the generator may draw nothing.
pub(crate) fn run_norm(layer: &dyn Layer, call: NormCall, l: NormLens) -> Outcome {
    let mut rng = Counting::new();
    let x = pattern(l.x);
    let (w, b) = (pattern(l.weight.unwrap_or(0)), pattern(l.bias.unwrap_or(0)));
    let params = Params::new(&w, &b);
    let mut buffers = pattern(l.buffers.unwrap_or(0));
    let mut y = sentinel(l.y);
    let mut saved = sentinel(l.saved);
    let mut dx = l.dx.map(sentinel);
    let (mut dw, mut db) = (l.dweight.map(pattern), l.dbias.map(pattern));
    let grads = Grads {
        weight: dw.as_deref_mut(),
        bias: db.as_deref_mut(),
    };
    // What a backward reads of its forward: the forward's output and saved statistics.
    let (fy, fsaved) = (pattern(l.y), pattern(l.saved));
    let r = match call {
        NormCall::ForwardEval => {
            let mode = Mode::Eval { buffers: &buffers };
            layer.forward(l.input, mode, params, &x, &mut y)
        }
        NormCall::ForwardTrain => {
            let mode = Mode::Train {
                buffers: &mut buffers,
                saved: &mut saved,
                rng: Some(&mut rng),
            };
            layer.forward(l.input, mode, params, &x, &mut y)
        }
        NormCall::Backward => {
            let tape = Tape::train(&x, &fy, &fsaved);
            layer.backward(
                l.input,
                params,
                tape,
                &pattern(l.dy),
                dx.as_deref_mut(),
                grads,
            )
        }
        NormCall::BackwardEval => {
            let tape = Tape::eval(&x, &fy, &buffers);
            layer.backward(
                l.input,
                params,
                tape,
                &pattern(l.dy),
                dx.as_deref_mut(),
                grads,
            )
        }
    };
    let untouched = is_sentinel(&y)
        && is_sentinel(&saved)
        && dx.as_deref().is_none_or(is_sentinel)
        && dw.as_deref().is_none_or(is_pattern)
        && db.as_deref().is_none_or(is_pattern)
        && is_pattern(&buffers)
        && rng.drawn == 0;
    core(r, untouched)
}

/// A layer norm call.
pub(crate) fn run_layer_norm(ln: LayerNorm, call: NormCall, l: NormLens) -> Outcome {
    run_norm(&ln, call, l)
}

/// A batch norm call; the running statistics and their counter must not change.
pub(crate) fn run_batch_norm(bn: BatchNorm, call: NormCall, l: NormLens) -> Outcome {
    run_norm(&bn, call, l)
}

/// A field of [`NormLens`] a row sets: its name in the error, its right length, the setter.
pub(crate) type NormArg = (&'static str, usize, fn(&mut NormLens, Option<usize>));

pub(crate) const X_ARG: fn(&mut NormLens, Option<usize>) = |l, n| l.x = n.unwrap_or(0);

pub(crate) fn norm_arg(name: &'static str) -> NormArg {
    match name {
        "weight" => ("weight", COLS, |l, n| l.weight = n),
        "bias" => ("bias", COLS, |l, n| l.bias = n),
        "buffers" => ("buffers", BUFFERS, |l, n| l.buffers = n),
        "y" => ("y", M, |l, n| l.y = n.unwrap_or(0)),
        "dy" => ("dy", M, |l, n| l.dy = n.unwrap_or(0)),
        "dx" => ("dx", M, |l, n| l.dx = n),
        "dweight" => ("dweight", COLS, |l, n| l.dweight = n),
        "dbias" => ("dbias", COLS, |l, n| l.dbias = n),
        _ => unreachable!("{name}"),
    }
}

/// The rows every normalisation call shares: `eps`, zero features, an input shape whose last
/// dimension is not the features, `x` not whole rows, and each listed slice wrong by ±1 (a
/// parameter or the buffers also absent when required); `saved` (`Some(right length)`) wrong
/// by ±1 when the call takes it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn norm_call_rows(
    t: &mut Table,
    name: String,
    run: fn(NormCall, usize, f32, NormLens) -> Outcome,
    call: NormCall,
    base: NormLens,
    features_dim: &'static str,
    args: &[&'static str],
    saved: Option<usize>,
) {
    for eps in NEGATIVE_OR_NAN {
        t.row(format!("{name}: eps = {eps}"), hp("eps"), move || {
            run(call, COLS, eps, base)
        });
    }
    t.row(
        format!("{name}: features = 0"),
        zero(features_dim),
        move || run(call, 0, 1e-5, base),
    );
    for actual in wrong(COLS) {
        t.row(
            format!("{name}: input [{actual}] for {COLS} features"),
            len("input", COLS, actual),
            move || {
                let mut l = base;
                l.input = Shape::Features(actual);
                run(call, COLS, 1e-5, l)
            },
        );
    }
    for actual in wrong(M) {
        t.row(
            format!("{name}: x len {actual} (not whole rows)"),
            not_whole_rows("x", actual),
            move || {
                let mut l = base;
                X_ARG(&mut l, Some(actual));
                run(call, COLS, 1e-5, l)
            },
        );
    }
    for &arg in args {
        let (what, n, set) = norm_arg(arg);
        for actual in wrong(n) {
            t.row(
                format!("{name}: {what} len {actual}"),
                len(what, n, actual),
                move || {
                    let mut l = base;
                    set(&mut l, Some(actual));
                    run(call, COLS, 1e-5, l)
                },
            );
        }
        // A required parameter or buffer slice that is absent (empty) has length 0.
        if matches!(arg, "weight" | "bias" | "buffers") {
            t.row(
                format!("{name}: {what} absent"),
                len(what, n, 0),
                move || {
                    let mut l = base;
                    set(&mut l, None);
                    run(call, COLS, 1e-5, l)
                },
            );
        }
    }
    if let Some(n) = saved {
        for actual in wrong(n) {
            t.row(
                format!("{name}: saved len {actual}"),
                len("saved", n, actual),
                move || {
                    let mut l = base;
                    l.saved = actual;
                    run(call, COLS, 1e-5, l)
                },
            );
        }
    }
    // A backward that is not asked for `dx` checks its arguments all the same.
    if matches!(call, NormCall::Backward | NormCall::BackwardEval) {
        t.row(
            format!("{name}: dy len {} without dx", M + 1),
            len("dy", M, M + 1),
            move || {
                let mut l = base;
                l.dx = None;
                l.dy = M + 1;
                run(call, COLS, 1e-5, l)
            },
        );
    }
}

pub(crate) fn rows(t: &mut Table) {
    t.module("norm");
    let ln: fn(NormCall, usize, f32, NormLens) -> Outcome = |call, features, eps, l| {
        run_layer_norm(
            LayerNorm {
                eps,
                ..LayerNorm::new(features)
            },
            call,
            l,
        )
    };
    let bn: fn(NormCall, usize, f32, NormLens) -> Outcome = |call, features, eps, l| {
        run_batch_norm(
            BatchNorm {
                eps,
                ..BatchNorm::new(features)
            },
            call,
            l,
        )
    };
    let dim = "normalized_shape";
    norm_call_rows(
        t,
        "LayerNorm::forward (eval)".into(),
        ln,
        NormCall::ForwardEval,
        LN_LENS,
        dim,
        &["weight", "bias", "y"],
        None,
    );
    norm_call_rows(
        t,
        "LayerNorm::forward (train)".into(),
        ln,
        NormCall::ForwardTrain,
        LN_LENS,
        dim,
        &["weight", "bias", "y"],
        Some(2 * ROWS),
    );
    norm_call_rows(
        t,
        "LayerNorm::backward".into(),
        ln,
        NormCall::Backward,
        LN_LENS,
        dim,
        &["weight", "dy", "dx", "dweight", "dbias"],
        Some(2 * ROWS),
    );
    // Layer norm saves its statistics in training: an evaluation tape has none.
    t.row(
        "LayerNorm::backward: evaluation tape",
        len("saved", 2 * ROWS, 0),
        move || run_layer_norm(LayerNorm::new(COLS), NormCall::BackwardEval, LN_LENS),
    );
    // Without affine parameters a given weight or bias must be empty.
    for (call, name) in [
        (NormCall::ForwardEval, "forward (eval)"),
        (NormCall::ForwardTrain, "forward (train)"),
        (NormCall::Backward, "backward"),
    ] {
        let plain = LayerNorm {
            elementwise_affine: false,
            ..LayerNorm::new(COLS)
        };
        t.row(
            format!("LayerNorm::{name}: weight given without elementwise_affine"),
            len("weight", 0, COLS),
            move || run_layer_norm(plain, call, LN_LENS),
        );
        if matches!(call, NormCall::Backward) {
            t.row(
                format!("LayerNorm::{name}: dweight given without elementwise_affine"),
                len("dweight", 0, COLS),
                move || {
                    run_layer_norm(
                        plain,
                        call,
                        NormLens {
                            weight: None,
                            bias: None,
                            dbias: None,
                            ..LN_LENS
                        },
                    )
                },
            );
        }
        let no_bias = LayerNorm {
            bias: false,
            ..LayerNorm::new(COLS)
        };
        if !matches!(call, NormCall::Backward) {
            t.row(
                format!("LayerNorm::{name}: bias given with bias = false"),
                len("bias", 0, COLS),
                move || run_layer_norm(no_bias, call, LN_LENS),
            );
        } else {
            t.row(
                format!("LayerNorm::{name}: bias given with bias = false"),
                len("bias", 0, COLS),
                move || {
                    let l = NormLens {
                        dbias: None,
                        ..LN_LENS
                    };
                    run_layer_norm(no_bias, call, l)
                },
            );
            t.row(
                format!("LayerNorm::{name}: dbias given with bias = false"),
                len("dbias", 0, COLS),
                move || {
                    let l = NormLens {
                        bias: None,
                        ..LN_LENS
                    };
                    run_layer_norm(no_bias, call, l)
                },
            );
        }
    }

    let dim = "num_features";
    for (call, name, args, saved) in [
        (
            NormCall::ForwardTrain,
            "forward (train)",
            &["weight", "bias", "buffers", "y"][..],
            Some(2 * COLS),
        ),
        (
            NormCall::ForwardEval,
            "forward (eval)",
            &["weight", "bias", "buffers", "y"][..],
            None,
        ),
        (
            NormCall::Backward,
            "backward",
            &["weight", "bias", "dy", "dx", "dweight", "dbias"][..],
            Some(2 * COLS),
        ),
        (
            NormCall::BackwardEval,
            "backward (eval tape)",
            &["weight", "bias", "buffers", "dy", "dx", "dweight", "dbias"][..],
            None,
        ),
    ] {
        let name = format!("BatchNorm::{name}");
        norm_call_rows(t, name.clone(), bn, call, BN_LENS, dim, args, saved);
    }
    spatial_rows(t);
    // momentum ∈ [0, 1] (None is torch's cumulative average).
    for m in NOT_UNIT {
        for call in [
            NormCall::ForwardTrain,
            NormCall::ForwardEval,
            NormCall::Backward,
            NormCall::BackwardEval,
        ] {
            let layer = BatchNorm {
                momentum: Some(m),
                ..BatchNorm::new(COLS)
            };
            t.row(
                format!("BatchNorm::{call:?}: momentum = {m}"),
                hp("momentum"),
                move || run_batch_norm(layer, call, BN_LENS),
            );
        }
    }
    // Training statistics need two rows.
    let one_row = NormLens {
        x: COLS,
        y: COLS,
        dy: COLS,
        dx: Some(COLS),
        ..BN_LENS
    };
    let no_row = NormLens {
        x: 0,
        y: 0,
        dy: 0,
        dx: Some(0),
        ..BN_LENS
    };
    let untracked = BatchNorm {
        track_running_stats: false,
        ..BatchNorm::new(COLS)
    };
    let no_running = NormLens {
        buffers: None,
        ..BN_LENS
    };
    for (call, layer, lens, e) in [
        (
            NormCall::ForwardTrain,
            BatchNorm::new(COLS),
            one_row,
            zero("batch - 1"),
        ),
        (
            NormCall::ForwardTrain,
            BatchNorm::new(COLS),
            no_row,
            zero("batch"),
        ),
        (
            NormCall::Backward,
            BatchNorm::new(COLS),
            one_row,
            zero("batch - 1"),
        ),
        (
            NormCall::Backward,
            BatchNorm::new(COLS),
            no_row,
            zero("batch"),
        ),
        (
            NormCall::ForwardEval,
            untracked,
            one_row_untracked(),
            zero("batch - 1"),
        ),
        (
            NormCall::ForwardEval,
            untracked,
            NormLens {
                x: 0,
                y: 0,
                ..no_running
            },
            zero("batch"),
        ),
    ] {
        t.row(
            format!("BatchNorm::{call:?}: {} rows", lens.x / COLS),
            e,
            move || run_batch_norm(layer, call, lens),
        );
    }
    // Without track_running_stats: no buffers may be given, and a backward from an evaluation
    // tape (which would need running statistics) is refused.
    for call in [NormCall::ForwardTrain, NormCall::ForwardEval] {
        t.row(
            format!("BatchNorm::{call:?}: buffers given without track_running_stats"),
            len("buffers", 0, BUFFERS),
            move || run_batch_norm(untracked, call, BN_LENS),
        );
    }
    t.row(
        "BatchNorm::BackwardEval: track_running_stats = false",
        hp("track_running_stats"),
        move || run_batch_norm(untracked, NormCall::BackwardEval, BN_LENS),
    );
    // Without affine parameters weight, bias and their gradients must be empty.
    let plain = BatchNorm {
        affine: false,
        ..BatchNorm::new(COLS)
    };
    for call in [
        NormCall::ForwardTrain,
        NormCall::ForwardEval,
        NormCall::Backward,
        NormCall::BackwardEval,
    ] {
        t.row(
            format!("BatchNorm::{call:?}: weight given without affine"),
            len("weight", 0, COLS),
            move || run_batch_norm(plain, call, BN_LENS),
        );
        let lens = NormLens {
            weight: None,
            ..BN_LENS
        };
        t.row(
            format!("BatchNorm::{call:?}: bias given without affine"),
            len("bias", 0, COLS),
            move || run_batch_norm(plain, call, lens),
        );
        if matches!(call, NormCall::Backward | NormCall::BackwardEval) {
            let lens = NormLens {
                weight: None,
                bias: None,
                dbias: None,
                ..BN_LENS
            };
            t.row(
                format!("BatchNorm::{call:?}: dweight given without affine"),
                len("dweight", 0, COLS),
                move || run_batch_norm(plain, call, lens),
            );
        }
    }
}

/// One row of `[1, COLS]` for a batch norm without running statistics.
pub(crate) fn one_row_untracked() -> NormLens {
    NormLens {
        x: COLS,
        y: COLS,
        dy: COLS,
        dx: Some(COLS),
        buffers: None,
        ..BN_LENS
    }
}

/// `[N, C, L]` (`nn.BatchNorm1d` on 3-D input) with `L = 4` and `[N, C, H, W]`
/// (`nn.BatchNorm2d`) with `H·W = 2·3`, both of COLS channels.
const SPATIAL: [Shape; 2] = [
    Shape::Sequence {
        channels: COLS,
        length: 4,
    },
    Shape::Image {
        channels: COLS,
        height: 2,
        width: 3,
    },
];

/// The lengths of a batch norm call on ROWS samples of `input`.
fn spatial_lens(input: Shape) -> NormLens {
    let n = ROWS * input.len();
    NormLens {
        input,
        x: n,
        y: n,
        dy: n,
        dx: Some(n),
        ..BN_LENS
    }
}

/// The lengths of a call on `batch` samples of `input`.
fn with_batch(input: Shape, batch: usize) -> NormLens {
    let n = batch * input.len();
    NormLens {
        x: n,
        y: n,
        dy: n,
        dx: Some(n),
        ..spatial_lens(input)
    }
}

/// The rows of batch norm over positions: another channel count, no position, a sample that
/// overflows, `x` not whole samples, `y`, `dy`, `dx` and `saved` (still `2·C`) wrong by ±1, and
/// training on one value per channel (`N·P = 1`: torch's "Expected more than 1 value per
/// channel when training") or on none.
fn spatial_rows(t: &mut Table) {
    let calls = [
        (NormCall::ForwardTrain, &["y"][..], true),
        (NormCall::ForwardEval, &["y"][..], false),
        (NormCall::Backward, &["dy", "dx"][..], true),
        (NormCall::BackwardEval, &["dy", "dx"][..], false),
    ];
    for input in SPATIAL {
        let base = spatial_lens(input);
        let (sample, n) = (input.len(), base.x);
        for (call, outputs, saves) in calls {
            let name = format!("BatchNorm::{call:?} on {input:?}");
            let bn = BatchNorm::new(COLS);
            for channels in wrong(COLS) {
                let other = match input {
                    Shape::Sequence { length, .. } => Shape::Sequence { channels, length },
                    Shape::Image { height, width, .. } => Shape::Image {
                        channels,
                        height,
                        width,
                    },
                    Shape::Features(_) => unreachable!(),
                };
                let lens = NormLens {
                    input: other,
                    ..base
                };
                t.row(
                    format!("{name}: {channels} channels for {COLS} features"),
                    len("input", COLS, channels),
                    move || run_batch_norm(bn, call, lens),
                );
            }
            for (other, e) in [
                (
                    Shape::Sequence {
                        channels: COLS,
                        length: 0,
                    },
                    zero("input"),
                ),
                (
                    Shape::Image {
                        channels: COLS,
                        height: 0,
                        width: 3,
                    },
                    zero("input"),
                ),
                (
                    Shape::Image {
                        channels: COLS,
                        height: usize::MAX / 2,
                        width: 3,
                    },
                    overflow("input"),
                ),
            ] {
                let lens = NormLens {
                    input: other,
                    ..with_batch(input, 0)
                };
                t.row(format!("{name}: input {other:?}"), e, move || {
                    run_batch_norm(bn, call, lens)
                });
            }
            for actual in wrong(n) {
                let lens = NormLens { x: actual, ..base };
                t.row(
                    format!("{name}: x len {actual} (not whole samples of {sample})"),
                    len("x", actual / sample * sample, actual),
                    move || run_batch_norm(bn, call, lens),
                );
            }
            for &arg in outputs {
                for actual in wrong(n) {
                    let mut lens = base;
                    match arg {
                        "y" => lens.y = actual,
                        "dy" => lens.dy = actual,
                        _ => lens.dx = Some(actual),
                    }
                    t.row(
                        format!("{name}: {arg} len {actual}"),
                        len(arg, n, actual),
                        move || run_batch_norm(bn, call, lens),
                    );
                }
            }
            for actual in wrong(COLS) {
                let lens = NormLens {
                    weight: Some(actual),
                    ..base
                };
                t.row(
                    format!("{name}: weight len {actual}"),
                    len("weight", COLS, actual),
                    move || run_batch_norm(bn, call, lens),
                );
            }
            if saves {
                for actual in wrong(2 * COLS) {
                    let lens = NormLens {
                        saved: actual,
                        ..base
                    };
                    t.row(
                        format!("{name}: saved len {actual}"),
                        len("saved", 2 * COLS, actual),
                        move || run_batch_norm(bn, call, lens),
                    );
                }
            }
        }
        // Training on an empty batch.
        for call in [NormCall::ForwardTrain, NormCall::Backward] {
            t.row(
                format!("BatchNorm::{call:?} on {input:?}: 0 samples"),
                zero("batch"),
                move || run_batch_norm(BatchNorm::new(COLS), call, with_batch(input, 0)),
            );
        }
    }
    // One sample of one position: N·P = 1, in any shape.
    let untracked = BatchNorm {
        track_running_stats: false,
        ..BatchNorm::new(COLS)
    };
    for input in [
        Shape::Sequence {
            channels: COLS,
            length: 1,
        },
        Shape::Image {
            channels: COLS,
            height: 1,
            width: 1,
        },
    ] {
        for (call, layer, buffers) in [
            (NormCall::ForwardTrain, BatchNorm::new(COLS), Some(BUFFERS)),
            (NormCall::Backward, BatchNorm::new(COLS), Some(BUFFERS)),
            (NormCall::ForwardEval, untracked, None),
        ] {
            let lens = NormLens {
                buffers,
                ..with_batch(input, 1)
            };
            t.row(
                format!("BatchNorm::{call:?} on one sample of {input:?}"),
                zero("batch - 1"),
                move || run_batch_norm(layer, call, lens),
            );
        }
    }
}
