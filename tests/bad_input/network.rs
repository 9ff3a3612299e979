//! Bad-input rows of `descent::network`.

use descent::activation::{Activation, LeakyRelu, Softplus};
use descent::network::{Layer, LayerKind, Params, Sequential};
use descent::norm::{BatchNorm, LayerNorm};
use descent::Error;

use crate::harness::*;

/// A model for the rows: `'static` so that rows can own it.
pub(crate) fn net(input: usize, layers: Vec<Layer>) -> Sequential<'static> {
    Sequential::new(input, Vec::leak(layers))
}

/// 4 → dense 6 → batch norm → relu → dropout → layer norm → dense 3: parameters, buffers,
/// saved statistics and a mask, with the first layer frozen when `frozen`.
pub(crate) fn full_net(frozen: bool) -> Sequential<'static> {
    let first = Layer::dense(4, 6);
    net(
        4,
        vec![
            if frozen { first.frozen() } else { first },
            Layer::batch_norm(6),
            Layer::activation(Activation::Relu),
            Layer::dropout(0.5),
            Layer::layer_norm(6),
            Layer::dense(6, 3),
        ],
    )
}

/// The batch of the network rows.
pub(crate) const NB: usize = 2;

/// Every slice of a network call.
#[derive(Clone, Copy)]
pub(crate) struct NetLens {
    frozen: usize,
    params: usize,
    buffers: usize,
    x: usize,
    y: usize,
    acts: usize,
    dy: usize,
    grads: usize,
    scratch: usize,
}

/// Empty slices, for models that do not validate.
pub(crate) const NO_LENS: NetLens = NetLens {
    frozen: 0,
    params: 0,
    buffers: 0,
    x: 0,
    y: 0,
    acts: 0,
    dy: 0,
    grads: 0,
    scratch: 0,
};

/// The right lengths for `n` and `batch`.
pub(crate) fn net_lens(n: &Sequential<'_>, batch: usize) -> NetLens {
    NetLens {
        frozen: n.frozen_len(),
        params: n.trainable_len(),
        buffers: n.buffer_len(),
        x: batch * n.input_features(),
        y: batch * n.output_features(),
        acts: n.activation_len(batch),
        dy: batch * n.output_features(),
        grads: n.trainable_len(),
        scratch: n.scratch_len(batch),
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum NetCall {
    Validate,
    Forward,
    ForwardTrain,
    Backward,
    Init,
    ZeroGrad,
}

/// A network call: parameters and buffers hold a pattern and must keep it (buffers are
/// written by `forward_train` and `init`, parameters by `init`), `y` and `acts` and `scratch`
/// are write-only, `grads` accumulate; no word may be drawn.
pub(crate) fn run_net(n: Sequential<'static>, call: NetCall, l: NetLens) -> Outcome {
    let (mut frozen, mut params, mut buffers) =
        (pattern(l.frozen), pattern(l.params), pattern(l.buffers));
    let (mut y, mut acts, mut scratch) = (sentinel(l.y), sentinel(l.acts), sentinel(l.scratch));
    let mut grads = pattern(l.grads);
    let mut rng = Counting::new();
    let x = pattern(l.x);
    let p = Params {
        frozen: &frozen,
        trainable: &params,
    };
    let r = match call {
        NetCall::Validate => n.validate(),
        NetCall::Forward => n.forward(p, &buffers, &x, &mut y, &mut scratch),
        NetCall::ForwardTrain => n
            .forward_train(p, &mut buffers, &x, &mut acts, &mut rng)
            .map(drop),
        NetCall::Backward => {
            let saved = pattern(l.acts);
            let dy = pattern(l.dy);
            n.backward(p, &x, &saved, &dy, &mut grads, &mut scratch)
        }
        NetCall::Init => n.init(&mut frozen, &mut params, &mut buffers, &mut rng),
        NetCall::ZeroGrad => n.zero_grad(&mut grads),
    };
    let untouched = is_pattern(&frozen)
        && is_pattern(&params)
        && is_pattern(&buffers)
        && is_sentinel(&y)
        && is_sentinel(&acts)
        && is_sentinel(&scratch)
        && is_pattern(&grads)
        && rng.drawn == 0;
    core(r, untouched)
}

/// The slices each call takes, by the names its errors use.
pub(crate) fn net_args(call: NetCall) -> &'static [&'static str] {
    match call {
        NetCall::Validate => &[],
        NetCall::Forward => &["frozen", "params", "buffers", "x", "y", "scratch"],
        NetCall::ForwardTrain => &["frozen", "params", "buffers", "x", "acts"],
        NetCall::Backward => &["frozen", "params", "x", "acts", "dy", "grads", "scratch"],
        NetCall::Init => &["frozen", "params", "buffers"],
        NetCall::ZeroGrad => &["grads"],
    }
}

/// The length field named `what`.
pub(crate) fn net_len<'a>(l: &'a mut NetLens, what: &str) -> &'a mut usize {
    match what {
        "frozen" => &mut l.frozen,
        "params" => &mut l.params,
        "buffers" => &mut l.buffers,
        "x" => &mut l.x,
        "y" => &mut l.y,
        "acts" => &mut l.acts,
        "dy" => &mut l.dy,
        "grads" => &mut l.grads,
        "scratch" => &mut l.scratch,
        _ => unreachable!("{what}"),
    }
}

pub(crate) fn rows(t: &mut Table) {
    t.module("network");
    // Models that do not validate, through every call that validates.
    let mut bad: Vec<(&'static str, Sequential<'static>, Error)> = vec![
        ("no layer", net(4, vec![]), zero("layers")),
        (
            "input_features = 0",
            net(0, vec![Layer::dense(0, 3)]),
            zero("input_features"),
        ),
        (
            "dense in_features = 0",
            net(4, vec![Layer::dense(0, 3)]),
            zero("in_features"),
        ),
        (
            "dense out_features = 0",
            net(4, vec![Layer::dense(4, 0)]),
            zero("out_features"),
        ),
        (
            "dense in_features 5 after width 4",
            net(4, vec![Layer::dense(5, 3)]),
            len("in_features", 4, 5),
        ),
        (
            "second dense in_features 4 after width 3",
            net(4, vec![Layer::dense(4, 3), Layer::dense(4, 2)]),
            len("in_features", 3, 4),
        ),
        (
            "dense usize::MAX → 2",
            net(usize::MAX, vec![Layer::dense(usize::MAX, 2)]),
            overflow("weight"),
        ),
        (
            "layer_norm(4) after width 3",
            net(4, vec![Layer::dense(4, 3), Layer::layer_norm(4)]),
            len("normalized_shape", 3, 4),
        ),
        (
            "batch_norm(2) after width 3",
            net(4, vec![Layer::dense(4, 3), Layer::batch_norm(2)]),
            len("normalized_shape", 3, 2),
        ),
    ];
    for p in NOT_UNIT {
        bad.push((
            Box::leak(format!("dropout p = {p}").into_boxed_str()),
            net(4, vec![Layer::dense(4, 3), Layer::dropout(p)]),
            hp("p"),
        ));
    }
    for (what, n, e) in bad {
        for call in [
            NetCall::Validate,
            NetCall::Forward,
            NetCall::ForwardTrain,
            NetCall::Backward,
            NetCall::Init,
        ] {
            // Validation comes first: the slices do not matter (all empty).
            t.row(format!("Sequential::{call:?}: {what}"), e, move || {
                run_net(n, call, NO_LENS)
            });
        }
    }

    // Every slice wrong by ±1, on a model with and without a frozen layer.
    for frozen in [false, true] {
        let n = full_net(frozen);
        let right = net_lens(&n, NB);
        for call in [
            NetCall::Forward,
            NetCall::ForwardTrain,
            NetCall::Backward,
            NetCall::Init,
            NetCall::ZeroGrad,
        ] {
            for &what in net_args(call) {
                if what == "frozen" && !frozen {
                    // No frozen layer: only a non-empty slice is wrong.
                    t.row(
                        format!("Sequential::{call:?}: frozen len 1 (no frozen layer)"),
                        len("frozen", 0, 1),
                        move || {
                            let mut l = right;
                            l.frozen = 1;
                            run_net(n, call, l)
                        },
                    );
                    continue;
                }
                let mut l = right;
                let n_right = *net_len(&mut l, what);
                for actual in wrong(n_right) {
                    // The batch is `x`'s length over the input width: a wrong `x` is reported
                    // against the whole samples it holds.
                    let expected = match what {
                        "x" => actual - actual % n.input_features(),
                        _ => n_right,
                    };
                    t.row(
                        format!("Sequential::{call:?} (frozen = {frozen}): {what} len {actual}"),
                        len(what, expected, actual),
                        move || {
                            let mut l = right;
                            *net_len(&mut l, what) = actual;
                            run_net(n, call, l)
                        },
                    );
                }
            }
        }
        for call in [NetCall::Forward, NetCall::ForwardTrain, NetCall::Backward] {
            t.row(
                format!("Sequential::{call:?} (frozen = {frozen}): batch = 0"),
                zero("batch"),
                move || run_net(n, call, net_lens(&n, 0)),
            );
            // The batch is `x`'s length over the input width: a partial sample is refused.
            let right = net_lens(&n, NB);
            t.row(
                format!("Sequential::{call:?} (frozen = {frozen}): x of a partial sample"),
                len("x", right.x, right.x + 1),
                move || {
                    run_net(
                        n,
                        call,
                        NetLens {
                            x: right.x + 1,
                            ..right
                        },
                    )
                },
            );
        }
    }
}

// A network's layers: their own hyper-parameters and a batch of one through a batch norm are
// A network's layers: their own hyper-parameters and a batch of one through a batch norm are
// reported before a pass writes anything.

/// Bad layers inside a network: `validate` names them, and no pass writes before it fails.
pub(crate) fn layer_hyper_parameters(t: &mut Table) {
    t.module("network layers");
    let slope_nan = Layer::activation(Activation::LeakyRelu(LeakyRelu {
        negative_slope: f32::NAN,
    }));
    let ln_bad_eps = Layer::new(LayerKind::LayerNorm(LayerNorm {
        eps: -1.0,
        ..LayerNorm::new(6)
    }));
    let bn_bad_momentum = Layer::new(LayerKind::BatchNorm(BatchNorm {
        momentum: Some(2.0),
        ..BatchNorm::new(6)
    }));
    let softplus_zero = Layer::activation(Activation::Softplus(Softplus {
        beta: 0.0,
        threshold: 20.0,
    }));

    // `Sequential::validate` checks the layers' own hyper-parameters (an activation's slope,
    // alpha or beta; a norm's eps or momentum), so `Model::new` refuses a model that cannot run.
    for (name, layer, e) in [
        ("leaky_relu slope NaN", slope_nan, hp("negative_slope")),
        ("layer_norm eps = -1", ln_bad_eps, hp("eps")),
        ("batch_norm momentum = 2", bn_bad_momentum, hp("momentum")),
        ("softplus beta = 0", softplus_zero, hp("beta")),
    ] {
        let n = net(4, vec![Layer::dense(4, 6), layer, Layer::dense(6, 3)]);
        t.row(format!("Sequential::validate: {name}"), e, move || {
            run_net(n, NetCall::Validate, NO_LENS)
        });
        // The same layer above others: found before the layers below write `acts`, a batch
        // norm below updates its running statistics or a dropout below draws.
        let n = net(
            4,
            vec![
                Layer::dense(4, 6),
                Layer::batch_norm(6),
                Layer::dropout(0.5),
                layer,
                Layer::dense(6, 3),
            ],
        );
        t.row(format!("Sequential::ForwardTrain: {name}"), e, move || {
            run_net(n, NetCall::ForwardTrain, net_lens(&n, NB))
        });
        // Backward: found before the dense layer above accumulates into `grads`.
        t.row(format!("Sequential::Backward: {name}"), e, move || {
            run_net(n, NetCall::Backward, net_lens(&n, NB))
        });
    }
    // A batch of one through a training batch norm: refused before the layers below write
    // `acts` (forward) or the layers above accumulate `grads` (backward).
    let n = net(
        4,
        vec![Layer::dense(4, 6), Layer::batch_norm(6), Layer::dense(6, 3)],
    );
    for call in [NetCall::ForwardTrain, NetCall::Backward] {
        t.row(
            format!("Sequential::{call:?}: batch 1 through a batch norm"),
            zero("batch - 1"),
            move || run_net(n, call, net_lens(&n, 1)),
        );
    }
}
