//! Bad-input rows of `descent::norm`: [ROWS, COLS] slices, COLS features.

use descent::norm::{BatchNorm, LayerNorm, RunningStats};

use crate::harness::*;

/// Every slice of a normalisation call (`None`: the optional slice is absent).
#[derive(Clone, Copy)]
pub(crate) struct NormLens {
    x: usize,
    weight: Option<usize>,
    bias: Option<usize>,
    running_mean: Option<usize>,
    running_var: Option<usize>,
    y: usize,
    stats: usize,
    dy: usize,
    dx: usize,
    dweight: Option<usize>,
    dbias: Option<usize>,
}

pub(crate) const LN_LENS: NormLens = NormLens {
    x: M,
    weight: Some(COLS),
    bias: Some(COLS),
    running_mean: None,
    running_var: None,
    y: M,
    stats: 2 * ROWS,
    dy: M,
    dx: M,
    dweight: Some(COLS),
    dbias: Some(COLS),
};

pub(crate) const BN_LENS: NormLens = NormLens {
    running_mean: Some(COLS),
    running_var: Some(COLS),
    stats: 2 * COLS,
    ..LN_LENS
};

/// The method of a layer a row calls.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NormCall {
    Forward,
    ForwardTrain,
    Backward,
    ForwardEval,
    BackwardEval,
}

/// A layer norm call; `y` and `stats` (forward) and `dx` are write-only, `dweight`, `dbias`
/// accumulate.
pub(crate) fn run_layer_norm(ln: LayerNorm, call: NormCall, l: NormLens) -> Outcome {
    let x = pattern(l.x);
    let (w, b) = (l.weight.map(pattern), l.bias.map(pattern));
    let mut y = sentinel(l.y);
    let mut stats = sentinel(l.stats);
    let (mut dx, mut dw, mut db) = (sentinel(l.dx), l.dweight.map(pattern), l.dbias.map(pattern));
    let r = match call {
        NormCall::Forward => ln.forward(&x, w.as_deref(), b.as_deref(), &mut y),
        NormCall::ForwardTrain => {
            ln.forward_train(&x, w.as_deref(), b.as_deref(), &mut y, &mut stats)
        }
        NormCall::Backward => {
            let stats = pattern(l.stats);
            ln.backward(
                &x,
                w.as_deref(),
                &stats,
                &pattern(l.dy),
                &mut dx,
                dw.as_deref_mut(),
                db.as_deref_mut(),
            )
        }
        _ => unreachable!("not a layer norm method"),
    };
    let untouched = is_sentinel(&y)
        && is_sentinel(&stats)
        && is_sentinel(&dx)
        && dw.as_deref().is_none_or(is_pattern)
        && db.as_deref().is_none_or(is_pattern);
    core(r, untouched)
}

/// A batch norm call; the running statistics (pattern) and their counter must not change.
pub(crate) fn run_batch_norm(bn: BatchNorm, call: NormCall, l: NormLens) -> Outcome {
    let x = pattern(l.x);
    let (w, b) = (l.weight.map(pattern), l.bias.map(pattern));
    let (mut rm, mut rv) = (l.running_mean.map(pattern), l.running_var.map(pattern));
    let mut tracked = 7u64;
    let mut y = sentinel(l.y);
    let mut stats = sentinel(l.stats);
    let (mut dx, mut dw, mut db) = (sentinel(l.dx), l.dweight.map(pattern), l.dbias.map(pattern));
    let r = match call {
        NormCall::ForwardTrain => {
            let running = match (rm.as_deref_mut(), rv.as_deref_mut()) {
                (Some(mean), Some(var)) => Some(RunningStats {
                    mean,
                    var,
                    num_batches_tracked: &mut tracked,
                }),
                (None, None) => None,
                // One of them absent: pass it as an empty slice (length 0).
                (mean, var) => Some(RunningStats {
                    mean: mean.unwrap_or(&mut []),
                    var: var.unwrap_or(&mut []),
                    num_batches_tracked: &mut tracked,
                }),
            };
            bn.forward_train(&x, w.as_deref(), b.as_deref(), running, &mut y, &mut stats)
        }
        NormCall::ForwardEval => bn.forward_eval(
            &x,
            w.as_deref(),
            b.as_deref(),
            rm.as_deref(),
            rv.as_deref(),
            &mut y,
        ),
        NormCall::Backward => {
            let stats = pattern(l.stats);
            bn.backward_train(
                &x,
                w.as_deref(),
                &stats,
                &pattern(l.dy),
                &mut dx,
                dw.as_deref_mut(),
                db.as_deref_mut(),
            )
        }
        NormCall::BackwardEval => bn.backward_eval(
            &x,
            w.as_deref(),
            rm.as_deref().unwrap_or(&[]),
            rv.as_deref().unwrap_or(&[]),
            &pattern(l.dy),
            &mut dx,
            dw.as_deref_mut(),
            db.as_deref_mut(),
        ),
        NormCall::Forward => unreachable!("not a batch norm method"),
    };
    let untouched = is_sentinel(&y)
        && is_sentinel(&stats)
        && is_sentinel(&dx)
        && dw.as_deref().is_none_or(is_pattern)
        && db.as_deref().is_none_or(is_pattern)
        && rm.as_deref().is_none_or(is_pattern)
        && rv.as_deref().is_none_or(is_pattern)
        && tracked == 7;
    core(r, untouched)
}

/// A field of [`NormLens`] a row sets: its name in the error, its right length, the setter.
pub(crate) type NormArg = (&'static str, usize, fn(&mut NormLens, Option<usize>));

pub(crate) const X_ARG: fn(&mut NormLens, Option<usize>) = |l, n| l.x = n.unwrap_or(0);

pub(crate) fn norm_arg(name: &'static str) -> NormArg {
    match name {
        "weight" => ("weight", COLS, |l, n| l.weight = n),
        "bias" => ("bias", COLS, |l, n| l.bias = n),
        "running_mean" => ("running_mean", COLS, |l, n| l.running_mean = n),
        "running_var" => ("running_var", COLS, |l, n| l.running_var = n),
        "y" => ("y", M, |l, n| l.y = n.unwrap_or(0)),
        "dy" => ("dy", M, |l, n| l.dy = n.unwrap_or(0)),
        "dx" => ("dx", M, |l, n| l.dx = n.unwrap_or(0)),
        "dweight" => ("dweight", COLS, |l, n| l.dweight = n),
        "dbias" => ("dbias", COLS, |l, n| l.dbias = n),
        _ => unreachable!("{name}"),
    }
}

/// The rows every normalisation call shares: `eps`, zero features, `x` not whole rows, and
/// each listed slice wrong by ±1 (an optional one also absent when it is required).
#[allow(clippy::too_many_arguments)]
pub(crate) fn norm_call_rows(
    t: &mut Table,
    name: String,
    run: fn(NormCall, usize, f32, NormLens) -> Outcome,
    call: NormCall,
    base: NormLens,
    features_dim: &'static str,
    args: &[&'static str],
    stats: Option<usize>,
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
        // A required optional slice that is absent counts as length 0.
        if matches!(arg, "weight" | "bias" | "running_mean" | "running_var") {
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
    if let Some(n) = stats {
        for actual in wrong(n) {
            t.row(
                format!("{name}: stats len {actual}"),
                len("stats", n, actual),
                move || {
                    let mut l = base;
                    l.stats = actual;
                    run(call, COLS, 1e-5, l)
                },
            );
        }
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
        "LayerNorm::forward".into(),
        ln,
        NormCall::Forward,
        LN_LENS,
        dim,
        &["weight", "bias", "y"],
        None,
    );
    norm_call_rows(
        t,
        "LayerNorm::forward_train".into(),
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
    // Without affine parameters a given weight or bias must be empty.
    for (call, name) in [
        (NormCall::Forward, "forward"),
        (NormCall::ForwardTrain, "forward_train"),
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
                format!("LayerNorm::{name}: dbias given with bias = false"),
                len("dbias", 0, COLS),
                move || run_layer_norm(no_bias, call, LN_LENS),
            );
        }
    }

    let dim = "num_features";
    norm_call_rows(
        t,
        "BatchNorm::forward_train".into(),
        bn,
        NormCall::ForwardTrain,
        BN_LENS,
        dim,
        &["weight", "bias", "running_mean", "running_var", "y"],
        Some(2 * COLS),
    );
    norm_call_rows(
        t,
        "BatchNorm::forward_eval".into(),
        bn,
        NormCall::ForwardEval,
        BN_LENS,
        dim,
        &["weight", "bias", "running_mean", "running_var", "y"],
        None,
    );
    norm_call_rows(
        t,
        "BatchNorm::backward_train".into(),
        bn,
        NormCall::Backward,
        BN_LENS,
        dim,
        &["weight", "dy", "dx", "dweight", "dbias"],
        Some(2 * COLS),
    );
    norm_call_rows(
        t,
        "BatchNorm::backward_eval".into(),
        bn,
        NormCall::BackwardEval,
        BN_LENS,
        dim,
        &[
            "weight",
            "running_mean",
            "running_var",
            "dy",
            "dx",
            "dweight",
            "dbias",
        ],
        None,
    );
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
        dx: COLS,
        ..BN_LENS
    };
    let no_row = NormLens {
        x: 0,
        y: 0,
        dy: 0,
        dx: 0,
        ..BN_LENS
    };
    let untracked = BatchNorm {
        track_running_stats: false,
        ..BatchNorm::new(COLS)
    };
    let no_running = NormLens {
        running_mean: None,
        running_var: None,
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
    // Without track_running_stats: no running statistics may be given, and backward_eval (which
    // needs them) is refused.
    for call in [NormCall::ForwardTrain, NormCall::ForwardEval] {
        t.row(
            format!("BatchNorm::{call:?}: running_mean given without track_running_stats"),
            len("running_mean", 0, COLS),
            move || run_batch_norm(untracked, call, BN_LENS),
        );
    }
    t.row(
        "BatchNorm::backward_eval: track_running_stats = false",
        hp("track_running_stats"),
        move || run_batch_norm(untracked, NormCall::BackwardEval, BN_LENS),
    );
    // Without affine parameters weight and bias must be empty.
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
        let (what, lens) = match call {
            NormCall::ForwardTrain | NormCall::ForwardEval => (
                "bias",
                NormLens {
                    weight: None,
                    ..BN_LENS
                },
            ),
            _ => (
                "dweight",
                NormLens {
                    weight: None,
                    dbias: None,
                    ..BN_LENS
                },
            ),
        };
        t.row(
            format!("BatchNorm::{call:?}: {what} given without affine"),
            len(what, 0, COLS),
            move || run_batch_norm(plain, call, lens),
        );
    }
}

/// One row of `[1, COLS]` for a batch norm without running statistics.
pub(crate) fn one_row_untracked() -> NormLens {
    NormLens {
        x: COLS,
        y: COLS,
        dy: COLS,
        dx: COLS,
        running_mean: None,
        running_var: None,
        ..BN_LENS
    }
}
