//! A `Sequential` model built from the fuzzer's bytes (dense, every activation, layer norm,
//! batch norm, dropout, some layers frozen, widths that may not chain), run through `forward`,
//! `forward_train` and `backward` with arbitrary batch sizes, values and buffer lengths:
//! * every call returns `Ok` or a documented error: what `validate` finds, a
//!   `LengthMismatch` naming the buffer, `ZeroDimension("batch")`, or batch norm's
//!   `ZeroDimension("batch - 1")` for a training batch of one;
//! * a length error writes nothing (outputs, arena, scratch, buffers and gradients are
//!   compared bit for bit);
//! * with finite inputs (`|x| ≤ 10`), parameters from `init` plus small perturbations and
//!   moderate hyper-parameters (slopes and `α` within ±10, `β` in `[0.1, 10]`, dropout
//!   `p ≤ 0.9`), the output, the arena and the gradients are finite (no layer's kernel can overflow there:
//!   widths ≤ 24, a handful of layers);
//! * the same call twice gives the same bits (the same `rng` seed for `forward_train`), and
//!   `forward_train`'s output is `forward`'s when no layer draws or uses batch statistics.
#![no_main]

#[path = "input.rs"]
mod input;

use descent::activation::{Activation, Elu, LeakyRelu, Softplus};
use descent::layer::Shape;
use descent::network::{Layer, LayerKind, Params, Sequential};
use descent::Error;
use input::{same_bits, Input};
use libfuzzer_sys::fuzz_target;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    let input_features = i.len(6);
    let mut width = input_features;
    let mut layers = Vec::new();
    for _ in 0..i.len(5) {
        let mut layer = match i.byte() % 8 {
            0 | 1 => {
                // Mostly chaining, sometimes not.
                let inp = if i.byte() % 16 == 0 { i.len(8) } else { width };
                let out = i.len(24);
                if i.bool() {
                    Layer::dense(inp, out)
                } else {
                    Layer::dense_no_bias(inp, out)
                }
            }
            2 | 3 => Layer::activation(activation(&mut i)),
            4 => Layer::layer_norm(features(&mut i, width)),
            5 => Layer::batch_norm(features(&mut i, width)),
            6 => Layer::dropout(i.hparam(0.0, 0.9)),
            _ => Layer::dense(width, width.max(1)),
        };
        if i.byte() % 8 == 0 {
            layer = layer.frozen();
        }
        width = layer.output_shape(Shape::Features(width)).len();
        layers.push(layer);
    }
    let net = Sequential::new(input_features, &layers);
    run(&net, &mut i);
}

/// A feature count: mostly `width`, sometimes another.
fn features(i: &mut Input, width: usize) -> usize {
    if i.byte() % 16 == 0 {
        i.len(8)
    } else {
        width
    }
}

fn activation(i: &mut Input) -> Activation {
    match i.byte() % 11 {
        0 => Activation::Relu,
        1 => Activation::LeakyRelu(LeakyRelu {
            negative_slope: i.hparam(-0.5, 0.5),
        }),
        2 => Activation::Sigmoid,
        3 => Activation::Tanh,
        4 => Activation::Gelu,
        5 => Activation::GeluTanh,
        6 => Activation::Silu,
        7 => Activation::Softplus(Softplus {
            beta: i.hparam(0.5, 2.0),
            threshold: i.hparam(5.0, 30.0),
        }),
        8 => Activation::Elu(Elu {
            alpha: i.hparam(-1.0, 2.0),
        }),
        9 => Activation::Softmax,
        _ => Activation::LogSoftmax,
    }
}

/// Hyper-parameters a layer's kernel rejects (the model's `validate` checks only dropout's).
fn kernel_rejects(layers: &[Layer]) -> bool {
    layers.iter().any(|l| match l.kind() {
        LayerKind::Activation(Activation::LeakyRelu(p)) => !p.negative_slope.is_finite(),
        LayerKind::Activation(Activation::Softplus(p)) => {
            !(p.beta.is_finite() && p.beta > 0.0) || p.threshold.is_nan()
        }
        LayerKind::Activation(Activation::Elu(p)) => !p.alpha.is_finite(),
        _ => false,
    })
}

/// Hyper-parameters that keep every value finite for moderate inputs (a slope or `α` of
/// `f32::MAX` overflows the next layer legitimately).
fn moderate(layers: &[Layer]) -> bool {
    layers.iter().all(|l| match l.kind() {
        LayerKind::Activation(Activation::LeakyRelu(p)) => p.negative_slope.abs() <= 10.0,
        LayerKind::Activation(Activation::Softplus(p)) => p.beta >= 0.1 && p.beta <= 10.0,
        LayerKind::Activation(Activation::Elu(p)) => p.alpha.abs() <= 10.0,
        LayerKind::Dropout(d) => d.p <= 0.9,
        _ => true,
    })
}

/// Whether a layer's training output differs from its evaluation output.
fn trains_differently(l: &Layer) -> bool {
    matches!(l.kind(), LayerKind::BatchNorm(_) | LayerKind::Dropout(_))
}

/// `v` clamped into `[−limit, limit]`, NaN as 0.
fn finite(v: f32, limit: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-limit, limit)
    }
}

fn run(net: &Sequential<'_>, i: &mut Input) {
    let batch = i.len(5);
    let valid = net.validate();
    let seed = u64::from(i.u32());
    let (fl, tl, bl) = (net.frozen_len(), net.trainable_len(), net.buffer_len());
    // The buffers' lengths: mostly right, sometimes not.
    let odds = 24;
    let (fl2, tl2, bl2) = (i.length(fl, odds), i.length(tl, odds), i.length(bl, odds));
    // The passes take the batch from `x`: whole samples of `input_features`, or an error
    // naming `x` with the whole samples it holds.
    let width = net.input_features();
    let xl2 = i.length(batch.saturating_mul(width), odds);
    let x_err = (width != 0 && xl2 % width != 0).then(|| Error::LengthMismatch {
        what: "x",
        expected: xl2 - xl2 % width,
        actual: xl2,
    });
    let batch = match x_err {
        None if width != 0 => xl2 / width,
        _ => batch,
    };
    let yl = batch.saturating_mul(net.output_features());
    let (al, sl) = (net.activation_len(batch), net.scratch_len(batch));
    let (yl2, al2, sl2) = (i.length(yl, odds), i.length(al, odds), i.length(sl, odds));
    let (dyl2, gl2) = (i.length(yl, odds), i.length(tl, odds));
    let mut frozen = vec![0.0f32; fl2];
    let mut params = vec![0.0f32; tl2];
    let mut buffers = vec![0.0f32; bl2];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let init = net.init(&mut frozen, &mut params, &mut buffers, &mut rng);
    let lengths_ok = fl2 == fl && tl2 == tl && bl2 == bl;
    assert_eq!(init.is_ok(), valid.is_ok() && lengths_ok, "init: {init:?}");
    if init.is_ok() {
        for p in frozen.iter_mut().chain(params.iter_mut()) {
            *p += finite(i.value(0.1), 0.1);
        }
    }
    let x: Vec<f32> = (0..xl2).map(|_| finite(i.value(10.0), 10.0)).collect();
    let dy: Vec<f32> = (0..dyl2).map(|_| finite(i.value(1.0), 1.0)).collect();
    let params_of = || Params {
        frozen: &frozen,
        trainable: &params,
    };
    // Everything but the kernels' own verdicts: what each call checks before writing.
    let common = valid.and_then(|()| {
        let mismatch = |what, expected, actual| {
            Err(Error::LengthMismatch {
                what,
                expected,
                actual,
            })
        };
        if fl2 != fl {
            return mismatch("frozen", fl, fl2);
        }
        if tl2 != tl {
            return mismatch("params", tl, tl2);
        }
        Ok(())
    });
    let batch_err = || Err(Error::ZeroDimension { what: "batch" });

    // Inference.
    let mut y = vec![7.0f32; yl2];
    let mut scratch = vec![7.0f32; sl2];
    let r = net.forward(params_of(), &buffers, &x, &mut y, &mut scratch);
    let lengths = common.and_then(|()| match () {
        _ if bl2 != bl => Err(Error::LengthMismatch {
            what: "buffers",
            expected: bl,
            actual: bl2,
        }),
        _ if x_err.is_some() => x_err.map_or(Ok(()), Err),
        _ if batch == 0 => batch_err(),
        _ if yl2 != yl => Err(Error::LengthMismatch {
            what: "y",
            expected: yl,
            actual: yl2,
        }),
        _ if sl2 != sl => Err(Error::LengthMismatch {
            what: "scratch",
            expected: sl,
            actual: sl2,
        }),
        _ => Ok(()),
    });
    match lengths {
        Err(e) => {
            assert_eq!(r, Err(e), "forward");
            assert!(
                y.iter().chain(&scratch).all(|&v| v == 7.0),
                "written on error"
            );
        }
        Ok(()) if kernel_rejects(net.layers) => {
            assert!(
                matches!(r, Err(Error::InvalidHyperParameter { .. })),
                "{r:?}"
            );
        }
        Ok(()) => {
            r.unwrap();
            let finite = y.iter().all(|v| v.is_finite());
            assert!(finite || !moderate(net.layers), "{net:?}: y = {y:?}");
            let mut y2 = vec![0.0f32; yl];
            net.forward(params_of(), &buffers, &x, &mut y2, &mut scratch)
                .unwrap();
            input::compared();
            assert!(same_bits(&y, &y2), "forward is not deterministic");
        }
    }

    // Training.
    let mut acts = vec![7.0f32; al2];
    let buffers0 = buffers.clone();
    let r = net
        .forward_train(params_of(), &mut buffers, &x, &mut acts, &mut rng)
        .map(|out| out.to_vec());
    let lengths = common.and_then(|()| match () {
        _ if bl2 != bl => Err(Error::LengthMismatch {
            what: "buffers",
            expected: bl,
            actual: bl2,
        }),
        _ if x_err.is_some() => x_err.map_or(Ok(()), Err),
        _ if batch == 0 => batch_err(),
        _ if al2 != al => Err(Error::LengthMismatch {
            what: "acts",
            expected: al,
            actual: al2,
        }),
        _ => Ok(()),
    });
    let bn = net
        .layers
        .iter()
        .any(|l| matches!(l.kind(), LayerKind::BatchNorm(_)));
    let out = match lengths {
        Err(e) => {
            assert_eq!(r, Err(e), "forward_train");
            assert!(acts.iter().all(|&v| v == 7.0), "written on error");
            assert!(same_bits(&buffers, &buffers0), "buffers written on error");
            return;
        }
        Ok(()) if kernel_rejects(net.layers) => {
            // Whichever layer comes first reports.
            let bn_first = batch == 1 && bn;
            assert!(
                matches!(r, Err(Error::InvalidHyperParameter { .. }))
                    || bn_first && r == Err(Error::ZeroDimension { what: "batch - 1" }),
                "{r:?}"
            );
            return;
        }
        Ok(()) if batch == 1 && bn => {
            assert_eq!(r, Err(Error::ZeroDimension { what: "batch - 1" }));
            return;
        }
        Ok(()) => r.unwrap(),
    };
    assert_eq!(out.len(), yl);
    // The layers' outputs (the saved part holds dropout masks as raw bits).
    let finite = net
        .geometry(batch)
        .all(|g| acts[g.output].iter().all(|v| v.is_finite()));
    assert!(finite || !moderate(net.layers), "{net:?}: acts = {acts:?}");
    if !net.layers.iter().any(trains_differently) && yl2 == yl && sl2 == sl {
        input::compared();
        assert!(
            same_bits(&out, &y),
            "training output differs from inference"
        );
    }
    // Deterministic: the same seed, the same bits.
    let mut acts2 = vec![0.0f32; al];
    let mut buffers2 = buffers0.clone();
    let mut rng2 = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut throwaway = (vec![0.0f32; fl], vec![0.0f32; tl], vec![0.0f32; bl]);
    net.init(
        &mut throwaway.0,
        &mut throwaway.1,
        &mut throwaway.2,
        &mut rng2,
    )
    .unwrap();
    net.forward_train(params_of(), &mut buffers2, &x, &mut acts2, &mut rng2)
        .unwrap();
    assert!(
        same_bits(&acts, &acts2),
        "forward_train is not deterministic"
    );

    // Backward.
    let mut grads = vec![0.0f32; gl2];
    let mut scratch = vec![7.0f32; sl2];
    let r = net.backward(params_of(), &x, &acts, &dy, &mut grads, &mut scratch);
    let expected = match () {
        _ if dyl2 != yl => Err(Error::LengthMismatch {
            what: "dy",
            expected: yl,
            actual: dyl2,
        }),
        _ if gl2 != tl => Err(Error::LengthMismatch {
            what: "grads",
            expected: tl,
            actual: gl2,
        }),
        _ if sl2 != sl => Err(Error::LengthMismatch {
            what: "scratch",
            expected: sl,
            actual: sl2,
        }),
        _ => Ok(()),
    };
    assert_eq!(r, expected, "backward");
    if r.is_err() {
        assert!(grads.iter().all(|&v| v == 0.0) && scratch.iter().all(|&v| v == 7.0));
        return;
    }
    let finite = grads.iter().all(|v| v.is_finite());
    assert!(
        finite || !moderate(net.layers),
        "{net:?}: grads = {grads:?}"
    );
    let mut grads2 = vec![0.0f32; tl];
    net.backward(params_of(), &x, &acts, &dy, &mut grads2, &mut scratch)
        .unwrap();
    assert!(same_bits(&grads, &grads2), "backward is not deterministic");
}
