//! The sequential model: the same numbers as the layer kernels called by hand, gradients
//! against central finite differences through the whole model, frozen layers, const sizes,
//! and errors.

mod common;

use common::Rng;
use descent::activation::{Activation, LeakyRelu};
use descent::conv::{Conv1d, Conv2d};
use descent::dense::Dense;
use descent::layer::{Grads, Layer as _, Mode, Params as LParams, Shape, Tape};
use descent::network::{Layer, LayerKind, Params, Sequential};
use descent::Error;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

/// The generator dropout layers draw from (these models have none, so it is never used).
fn seeded() -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(0)
}

const LAYERS: [Layer; 6] = [
    Layer::dense(5, 7),
    Layer::activation(Activation::Tanh),
    Layer::dense(7, 6),
    Layer::activation(Activation::Gelu),
    Layer::dense_no_bias(6, 3),
    Layer::activation(Activation::LogSoftmax),
];
const NET: Sequential = Sequential::new(5, &LAYERS);

/// Parameters drawn like `nn.Linear`'s: uniform in ±1/√in.
fn params(net: &Sequential, rng: &mut Rng) -> Vec<f32> {
    let mut p = Vec::new();
    let mut shape = net.input;
    for layer in net.layers {
        let n = layer.param_len();
        let scale = 1.0 / (shape.len() as f32).sqrt();
        p.extend((0..n).map(|_| rng.next() * scale));
        shape = layer.output_shape(shape);
    }
    p
}

#[test]
fn sizes_are_constants() {
    static mut P: [f32; NET.trainable_len()] = [0.0; NET.trainable_len()];
    static mut A: [f32; NET.activation_len(4)] = [0.0; NET.activation_len(4)];
    static mut S: [f32; NET.scratch_len(4)] = [0.0; NET.scratch_len(4)];
    assert_eq!(NET.trainable_len(), 5 * 7 + 7 + 7 * 6 + 6 + 6 * 3);
    assert_eq!(NET.param_len(), NET.trainable_len());
    assert_eq!(NET.frozen_len(), 0);
    assert_eq!(NET.buffer_len(), 0);
    assert_eq!(NET.output_features(), 3);
    assert_eq!(NET.max_width(), 7);
    assert_eq!(NET.activation_len(4), 4 * (7 + 7 + 6 + 6 + 3 + 3));
    assert_eq!(NET.scratch_len(4), 2 * 4 * 7);
    // The statics above have these sizes, fixed at compile time.
    assert_eq!(core::mem::size_of::<[f32; NET.trainable_len()]>(), 4 * 108);
    let _ = (&raw const P, &raw const A, &raw const S);
    assert_eq!(NET.validate(), Ok(()));
}

/// The model's forward and backward against the kernels called layer by layer.
#[test]
fn model_equals_the_layers_by_hand() {
    let batch = 4;
    let mut rng = Rng::new(1);
    let p = params(&NET, &mut rng);
    let x = rng.vec(batch * 5);
    let mut acts = vec![f32::NAN; NET.activation_len(batch)];
    let out = NET
        .forward_train(&p[..], &mut [], &x, &mut acts, &mut seeded())
        .unwrap()
        .to_vec();

    // By hand.
    let (w1, rest) = p.split_at(35);
    let (b1, rest) = rest.split_at(7);
    let (w2, rest) = rest.split_at(42);
    let (b2, w3) = rest.split_at(6);
    let l1 = Dense::new(5, 7);
    let l2 = Dense::new(7, 6);
    let l3 = Dense::new(6, 3).without_bias();
    let f = Shape::Features;
    let mut h1 = vec![0.0; batch * 7];
    l1.forward(f(5), Mode::EVAL, LParams::new(w1, b1), &x, &mut h1)
        .unwrap();
    let mut a1 = vec![0.0; batch * 7];
    let none = LParams::NONE;
    Activation::Tanh
        .forward(f(7), Mode::EVAL, none, &h1, &mut a1)
        .unwrap();
    let mut h2 = vec![0.0; batch * 6];
    l2.forward(f(7), Mode::EVAL, LParams::new(w2, b2), &a1, &mut h2)
        .unwrap();
    let mut a2 = vec![0.0; batch * 6];
    Activation::Gelu
        .forward(f(6), Mode::EVAL, none, &h2, &mut a2)
        .unwrap();
    let mut h3 = vec![0.0; batch * 3];
    l3.forward(f(6), Mode::EVAL, LParams::new(w3, &[]), &a2, &mut h3)
        .unwrap();
    let mut y = vec![0.0; batch * 3];
    Activation::LogSoftmax
        .forward(f(3), Mode::EVAL, none, &h3, &mut y)
        .unwrap();
    assert_eq!(out, y);

    // Inference gives the same output.
    let mut y_inf = vec![0.0; batch * 3];
    let mut scratch = vec![0.0; NET.scratch_len(batch)];
    NET.forward(&p[..], &[], &x, &mut y_inf, &mut scratch)
        .unwrap();
    assert_eq!(y_inf, y);

    // Backward by hand from the same upstream gradient.
    let dy = rng.vec(batch * 3);
    let mut grads = vec![0.0; NET.trainable_len()];
    NET.backward(&p[..], &x, &acts, &dy, &mut grads, &mut scratch)
        .unwrap();
    let mut want = vec![0.0; NET.trainable_len()];
    let (dw1, rest) = want.split_at_mut(35);
    let (db1, rest) = rest.split_at_mut(7);
    let (dw2, rest) = rest.split_at_mut(42);
    let (db2, dw3) = rest.split_at_mut(6);
    let none = (LParams::NONE, Grads::NONE);
    let mut g3 = vec![0.0; batch * 3];
    let tape = Tape::train(&h3, &y, &[]);
    Activation::LogSoftmax
        .backward(f(3), none.0, tape, &dy, Some(&mut g3), Grads::NONE)
        .unwrap();
    let mut ga2 = vec![0.0; batch * 6];
    let (tape, grads3) = (Tape::train(&a2, &[], &[]), Grads::new(dw3, &mut []));
    l3.backward(
        f(6),
        LParams::new(w3, &[]),
        tape,
        &g3,
        Some(&mut ga2),
        grads3,
    )
    .unwrap();
    let mut g2 = vec![0.0; batch * 6];
    let tape = Tape::train(&h2, &a2, &[]);
    Activation::Gelu
        .backward(f(6), none.0, tape, &ga2, Some(&mut g2), none.1)
        .unwrap();
    let mut ga1 = vec![0.0; batch * 7];
    let (tape, grads2) = (Tape::train(&a1, &[], &[]), Grads::new(dw2, db2));
    l2.backward(
        f(7),
        LParams::new(w2, b2),
        tape,
        &g2,
        Some(&mut ga1),
        grads2,
    )
    .unwrap();
    let mut g1 = vec![0.0; batch * 7];
    let tape = Tape::train(&h1, &a1, &[]);
    Activation::Tanh
        .backward(f(7), LParams::NONE, tape, &ga1, Some(&mut g1), Grads::NONE)
        .unwrap();
    let (tape, grads1) = (Tape::train(&x, &[], &[]), Grads::new(dw1, db1));
    l1.backward(f(5), LParams::new(w1, b1), tape, &g1, None, grads1)
        .unwrap();
    assert_eq!(grads, want);

    // Gradients accumulate; zero_grad resets them.
    NET.backward(&p[..], &x, &acts, &dy, &mut grads, &mut scratch)
        .unwrap();
    for (g, w) in grads.iter().zip(&want) {
        assert_eq!(*g, 2.0 * w);
    }
    NET.zero_grad(&mut grads).unwrap();
    assert!(grads.iter().all(|g| *g == 0.0));
}

/// `L = Σ c·model(x)` for fixed `c`, in f64 from the f32 forward.
fn loss(net: &Sequential, batch: usize, p: &[f32], x: &[f32], c: &[f32]) -> f64 {
    let mut y = vec![0.0; batch * net.output_features()];
    let mut scratch = vec![0.0; net.scratch_len(batch)];
    net.forward(p, &[], x, &mut y, &mut scratch).unwrap();
    y.iter().zip(c).map(|(y, c)| *y as f64 * *c as f64).sum()
}

#[test]
fn gradients_match_finite_differences_through_the_model() {
    let layers = [
        Layer::dense(4, 6),
        Layer::activation(Activation::Silu),
        Layer::dense(6, 5),
        Layer::activation(Activation::Tanh),
        Layer::dense(5, 3),
        Layer::activation(Activation::Softmax),
    ];
    let net = Sequential::new(4, &layers);
    let batch = 3;
    let mut rng = Rng::new(2);
    let p = params(&net, &mut rng);
    let x = rng.vec(batch * 4);
    let c = rng.vec(batch * 3);
    let mut acts = vec![0.0; net.activation_len(batch)];
    net.forward_train(&p[..], &mut [], &x, &mut acts, &mut seeded())
        .unwrap();
    let mut grads = vec![0.0; net.trainable_len()];
    let mut scratch = vec![0.0; net.scratch_len(batch)];
    net.backward(&p[..], &x, &acts, &c, &mut grads, &mut scratch)
        .unwrap();
    // Central differences with h = 1e-2: truncation O(h²·|f'''|) ~ 1e-4, f32 rounding of the
    // loss ~ 1e-7·|L|/h ~ 1e-5.
    let h = 1e-2f32;
    for i in 0..p.len() {
        let (mut up, mut down) = (p.clone(), p.clone());
        up[i] += h;
        down[i] -= h;
        let fd = (loss(&net, batch, &up, &x, &c) - loss(&net, batch, &down, &x, &c))
            / (up[i] as f64 - down[i] as f64);
        let err = (fd - grads[i] as f64).abs();
        assert!(
            err <= 5e-4 * (1.0 + fd.abs()),
            "param {i}: finite difference {fd}, backward {}",
            grads[i]
        );
    }
}

#[test]
fn frozen_layers_read_their_own_slice_and_get_no_gradient() {
    // The first two dense layers frozen (their weights could sit in flash), the last trains.
    let frozen_layers = [
        Layer::dense(5, 7).frozen(),
        Layer::activation(Activation::Tanh),
        Layer::dense(7, 6).frozen(),
        Layer::activation(Activation::LeakyRelu(LeakyRelu::DEFAULT)),
        Layer::dense(6, 3),
    ];
    let all_layers = frozen_layers.map(Layer::trainable);
    let frozen_net = Sequential::new(5, &frozen_layers);
    let full_net = Sequential::new(5, &all_layers);
    assert_eq!(frozen_net.frozen_len(), 35 + 7 + 42 + 6);
    assert_eq!(frozen_net.trainable_len(), 18 + 3);
    let batch = 6;
    let mut rng = Rng::new(3);
    let p = params(&full_net, &mut rng);
    let (frozen, trainable) = p.split_at(frozen_net.frozen_len());
    let x = rng.vec(batch * 5);
    let params = Params { frozen, trainable };

    let mut acts = vec![0.0; frozen_net.activation_len(batch)];
    let out = frozen_net
        .forward_train(params, &mut [], &x, &mut acts, &mut seeded())
        .unwrap()
        .to_vec();
    let mut full_acts = vec![0.0; full_net.activation_len(batch)];
    let full_out = full_net
        .forward_train(&p[..], &mut [], &x, &mut full_acts, &mut seeded())
        .unwrap()
        .to_vec();
    assert_eq!(out, full_out);

    let dy = rng.vec(batch * 3);
    let mut scratch = vec![0.0; frozen_net.scratch_len(batch)];
    let mut grads = vec![0.0; frozen_net.trainable_len()];
    frozen_net
        .backward(params, &x, &acts, &dy, &mut grads, &mut scratch)
        .unwrap();
    let mut full_grads = vec![0.0; full_net.trainable_len()];
    full_net
        .backward(&p[..], &x, &full_acts, &dy, &mut full_grads, &mut scratch)
        .unwrap();
    assert_eq!(grads, full_grads[frozen_net.frozen_len()..]);

    // The backward pass stops at the lowest trainable layer: NaN in the frozen layers below it
    // (in their parameters and saved activations) cannot reach the gradients.
    let nan_frozen = vec![f32::NAN; frozen.len()];
    let mut poisoned = acts.clone();
    let first_two = batch * (7 + 7);
    poisoned[..first_two].fill(f32::NAN);
    let mut again = vec![0.0; grads.len()];
    let nan_params = Params {
        frozen: &nan_frozen,
        trainable,
    };
    frozen_net
        .backward(nan_params, &x, &poisoned, &dy, &mut again, &mut scratch)
        .unwrap();
    // Only the last dense layer reads the layer below its input (the LeakyReLU output).
    assert_eq!(again, grads);
}

#[test]
fn errors_are_reported_before_anything_is_written() {
    let batch = 2;
    let mut rng = Rng::new(4);
    let p = params(&NET, &mut rng);
    let x = rng.vec(batch * 5);
    let mut y = vec![7.0; batch * 3];
    let mut scratch = vec![7.0; NET.scratch_len(batch)];
    let short = &p[1..];
    assert_eq!(
        NET.forward(short, &[], &x, &mut y, &mut scratch),
        Err(Error::LengthMismatch {
            what: "params",
            expected: p.len(),
            actual: p.len() - 1
        })
    );
    assert_eq!(
        NET.forward(&p[..], &[], &x[1..], &mut y, &mut scratch),
        Err(Error::LengthMismatch {
            what: "x",
            // The batch is `x`'s length over the input width: the whole samples it holds.
            expected: (batch - 1) * 5,
            actual: batch * 5 - 1
        })
    );
    assert_eq!(
        NET.forward(&p[..], &[], &[], &mut [], &mut []),
        Err(Error::ZeroDimension { what: "batch" })
    );
    assert!(y.iter().chain(&scratch).all(|v| *v == 7.0));

    // A chain that does not fit.
    let bad = [Layer::dense(5, 4), Layer::dense(3, 2)];
    assert_eq!(
        Sequential::new(5, &bad).validate(),
        Err(Error::LengthMismatch {
            what: "in_features",
            expected: 4,
            actual: 3
        })
    );
    assert_eq!(
        Sequential::new(5, &[]).validate(),
        Err(Error::ZeroDimension { what: "layers" })
    );
    let zero = [Layer::new(LayerKind::Dense(Dense::new(5, 0)))];
    assert_eq!(
        Sequential::new(5, &zero).validate(),
        Err(Error::ZeroDimension {
            what: "out_features"
        })
    );

    let mut acts = vec![7.0; NET.activation_len(batch)];
    let mut grads = vec![7.0; NET.trainable_len()];
    assert_eq!(
        NET.backward(&p[..], &x, &acts, &y[1..], &mut grads, &mut scratch),
        Err(Error::LengthMismatch {
            what: "dy",
            expected: batch * 3,
            actual: batch * 3 - 1
        })
    );
    assert!(grads.iter().all(|v| *v == 7.0));
    assert_eq!(
        NET.forward_train(&p[..], &mut [], &x, &mut acts[1..], &mut seeded())
            .map(|_| ()),
        Err(Error::LengthMismatch {
            what: "acts",
            expected: NET.activation_len(batch),
            actual: NET.activation_len(batch) - 1
        })
    );
}

/// `L = Σ c·model(x)` in training mode (batch statistics, a dropout mask fixed by the seed).
fn train_loss(net: &Sequential, batch: usize, p: &[f32], x: &[f32], c: &[f32]) -> f64 {
    let mut acts = vec![0.0; net.activation_len(batch)];
    let mut buffers = vec![0.0; net.buffer_len()];
    let y = net
        .forward_train(p, &mut buffers, x, &mut acts, &mut seeded())
        .unwrap();
    y.iter().zip(c).map(|(y, c)| *y as f64 * *c as f64).sum()
}

#[test]
fn gradients_match_finite_differences_through_norms_and_dropout() {
    let layers = [
        Layer::dense(4, 6),
        Layer::layer_norm(6),
        Layer::activation(Activation::Gelu),
        Layer::dense(6, 5),
        Layer::batch_norm(5),
        Layer::activation(Activation::Tanh),
        Layer::dropout(0.3),
        Layer::dense(5, 3),
    ];
    let net = Sequential::new(4, &layers);
    assert_eq!(net.validate(), Ok(()));
    let batch = 5;
    let mut rng = Rng::new(12);
    // Norm weights away from 1 and biases away from 0, so their gradients are exercised.
    let p = params(&net, &mut rng);
    let x = rng.vec(batch * 4);
    let c = rng.vec(batch * 3);
    let mut acts = vec![0.0; net.activation_len(batch)];
    let mut buffers = vec![0.0; net.buffer_len()];
    net.forward_train(&p[..], &mut buffers, &x, &mut acts, &mut seeded())
        .unwrap();
    let mut grads = vec![0.0; net.trainable_len()];
    let mut scratch = vec![0.0; net.scratch_len(batch)];
    net.backward(&p[..], &x, &acts, &c, &mut grads, &mut scratch)
        .unwrap();
    // Layer norm and batch norm on a batch of 5 make the loss strongly curved: central
    // differences alone err by ~8 % at h = 1e-2 (falling as h², checked at 3e-3 and 1e-3).
    // Richardson's extrapolation (4·D(h/2) − D(h))/3 cancels the h² term, leaving O(h⁴)
    // without shrinking h into f32's rounding noise.
    let central = |i: usize, h: f32| {
        let (mut up, mut down) = (p.clone(), p.clone());
        up[i] += h;
        down[i] -= h;
        (train_loss(&net, batch, &up, &x, &c) - train_loss(&net, batch, &down, &x, &c))
            / (up[i] as f64 - down[i] as f64)
    };
    for (i, g) in grads.iter().enumerate() {
        let fd = (4.0 * central(i, 5e-3) - central(i, 1e-2)) / 3.0;
        let err = (fd - *g as f64).abs();
        assert!(
            err <= 2e-3 * (1.0 + fd.abs()),
            "param {i}: finite difference {fd}, backward {g}"
        );
    }
}

#[test]
fn norm_and_dropout_layers_equal_their_kernels() {
    use descent::dropout;
    use descent::norm::{BatchNorm, LayerNorm};
    let layers = [
        Layer::layer_norm(6),
        Layer::batch_norm(6),
        Layer::dropout(0.5),
    ];
    let net = Sequential::new(6, &layers);
    let batch = 4;
    let mut rng = Rng::new(13);
    let p = rng.vec(net.trainable_len());
    assert_eq!(p.len(), 12 + 12);
    let x = rng.vec(batch * 6);
    let mut buffers = vec![0.0; net.buffer_len()];
    let mut r = seeded();
    use rand::Rng as _;
    net.init(&mut [], &mut vec![0.0; p.len()], &mut buffers, &mut r)
        .unwrap();
    assert_eq!(
        buffers,
        [[0.0; 6], [1.0; 6]]
            .concat()
            .into_iter()
            .chain([0.0])
            .collect::<Vec<_>>()
    );
    let mut acts = vec![0.0; net.activation_len(batch)];
    let out = net
        .forward_train(&p[..], &mut buffers, &x, &mut acts, &mut seeded())
        .unwrap()
        .to_vec();

    let ln = LayerNorm::new(6);
    let bn = BatchNorm::new(6);
    let shape = Shape::Features(6);
    let mut y1 = vec![0.0; batch * 6];
    let mut s1 = vec![0.0; ln.saved_len(shape, batch)];
    let ln_params = LParams::new(&p[..6], &p[6..12]);
    ln.forward(shape, Mode::train(&mut s1), ln_params, &x, &mut y1)
        .unwrap();
    let mut running = [[0.0; 6], [1.0; 6]].concat();
    running.push(0.0);
    let mut y2 = vec![0.0; batch * 6];
    let mut s2 = vec![0.0; bn.saved_len(shape, batch)];
    let bn_params = LParams::new(&p[12..18], &p[18..24]);
    let mode = Mode::Train {
        buffers: &mut running,
        saved: &mut s2,
        rng: None,
    };
    bn.forward(shape, mode, bn_params, &y1, &mut y2).unwrap();
    let mut y3 = vec![0.0; batch * 6];
    let mut mask = vec![0u32; dropout::mask_len(batch * 6)];
    dropout::dropout(&y2, &mut y3, &mut mask, 0.5, &mut seeded()).unwrap();
    assert_eq!(out, y3);
    assert_eq!(buffers, running);
    assert_eq!(buffers[12], 1.0);

    // Inference: layer norm, batch norm on the running statistics, dropout off.
    let mut y = vec![0.0; batch * 6];
    let mut scratch = vec![0.0; net.scratch_len(batch)];
    net.forward(&p[..], &buffers, &x, &mut y, &mut scratch)
        .unwrap();
    let mut e2 = vec![0.0; batch * 6];
    let mode = Mode::Eval { buffers: &running };
    bn.forward(shape, mode, bn_params, &y1, &mut e2).unwrap();
    assert_eq!(y, e2);
    let _ = r.next_u32();

    // The tensors have torch's names, buffers included.
    let names: Vec<String> = net
        .tensors()
        .map(|t| format!("{}.{} {:?}", t.layer, t.name, t.dims()))
        .collect();
    assert_eq!(
        names,
        [
            "0.weight [6]",
            "0.bias [6]",
            "1.weight [6]",
            "1.bias [6]",
            "1.running_mean [6]",
            "1.running_var [6]",
            "1.num_batches_tracked []"
        ]
    );
}

/// Every activation's kernel table (chosen by the `const` constructor) computes what
/// `Activation::forward` and `Activation::backward` compute.
#[test]
fn every_activation_layer_uses_its_own_kernels() {
    use descent::activation::{Elu, Softplus};
    let all = [
        Activation::Relu,
        Activation::LeakyRelu(LeakyRelu {
            negative_slope: 0.2,
        }),
        Activation::LeakyRelu(LeakyRelu {
            negative_slope: -0.5,
        }),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus(Softplus {
            beta: 2.0,
            threshold: 1.0,
        }),
        Activation::Elu(Elu { alpha: 0.7 }),
        Activation::Elu(Elu { alpha: -0.3 }),
        Activation::Softmax,
        Activation::LogSoftmax,
    ];
    let batch = 3;
    let mut rng = Rng::new(21);
    for act in all {
        let layers = [
            Layer::dense(4, 5),
            Layer::activation(act),
            Layer::dense(5, 2),
        ];
        let net = Sequential::new(4, &layers);
        assert_eq!(net.layers[1].kind(), LayerKind::Activation(act));
        let p = params(&net, &mut rng);
        let x = rng.vec(batch * 4);
        let mut acts = vec![0.0; net.activation_len(batch)];
        net.forward_train(&p[..], &mut [], &x, &mut acts, &mut seeded())
            .unwrap();
        let (h, rest) = acts.split_at(batch * 5);
        let a = &rest[..batch * 5];
        let mut want = vec![0.0; batch * 5];
        act.forward(Shape::Features(5), Mode::EVAL, LParams::NONE, h, &mut want)
            .unwrap();
        assert_eq!(a, &want[..], "{act:?} forward");

        let dy = rng.vec(batch * 2);
        let mut grads = vec![0.0; net.trainable_len()];
        let mut scratch = vec![0.0; net.scratch_len(batch)];
        net.backward(&p[..], &x, &acts, &dy, &mut grads, &mut scratch)
            .unwrap();
        // By hand: through the last dense layer, the activation, the first dense layer.
        let (w1, rest) = p.split_at(20);
        let (_, w2) = rest.split_at(5);
        let w2 = &w2[..10];
        let mut da = vec![0.0; batch * 5];
        let mut dw2 = vec![0.0; 10];
        let mut db2 = vec![0.0; 2];
        let f = Shape::Features;
        let b2 = &p[30..32];
        let g = Grads::new(&mut dw2, &mut db2);
        let tape = Tape::train(a, &[], &[]);
        Dense::new(5, 2)
            .backward(f(5), LParams::new(w2, b2), tape, &dy, Some(&mut da), g)
            .unwrap();
        let mut dh = vec![0.0; batch * 5];
        let tape = Tape::train(h, a, &[]);
        act.backward(f(5), LParams::NONE, tape, &da, Some(&mut dh), Grads::NONE)
            .unwrap();
        let mut dw1 = vec![0.0; 20];
        let mut db1 = vec![0.0; 5];
        let g = Grads::new(&mut dw1, &mut db1);
        let tape = Tape::train(&x, &[], &[]);
        Dense::new(4, 5)
            .backward(f(4), LParams::new(w1, &rest[..5]), tape, &dh, None, g)
            .unwrap();
        let want = [dw1, db1, dw2, db2].concat();
        assert_eq!(grads, want, "{act:?} backward");
    }
}

/// A convolutional model over `[1, 6, 5]` images: the passes equal the layers called by hand,
/// the sizes follow the shapes, and the tensors carry torch's names and shapes.
#[test]
fn convolutional_model_is_its_layers() {
    let c1 = Conv2d::new(1, 4, [3, 3]).with_padding([1, 1]);
    let c2 = Conv2d::new(4, 2, [2, 2]).with_stride([2, 2]).without_bias();
    let layers = [
        Layer::conv2d(c1),
        Layer::activation(Activation::Relu),
        Layer::conv2d(c2),
    ];
    let image = |channels, height, width| Shape::Image {
        channels,
        height,
        width,
    };
    let net = Sequential::shaped(image(1, 6, 5), &layers);
    assert_eq!(net.input_shape(1), image(4, 6, 5));
    assert_eq!(net.output_shape(), image(2, 3, 2));
    assert_eq!(net.trainable_len(), 4 * 9 + 4 + 2 * 4 * 4);
    assert_eq!(net.max_width(), 120);
    let names: Vec<_> = net
        .tensors()
        .map(|t| (format!("{}.{}", t.layer, t.name), t.dims().to_vec()))
        .collect();
    assert_eq!(
        names,
        [
            ("0.weight".to_string(), vec![4, 1, 3, 3]),
            ("0.bias".to_string(), vec![4]),
            ("2.weight".to_string(), vec![2, 4, 2, 2]),
        ]
    );

    let batch = 3;
    let mut rng = Rng::new(5);
    let p = rng.vec(net.trainable_len());
    let x = rng.vec(batch * 30);
    let mut acts = vec![0.0; net.activation_len(batch)];
    let mut gen = Xoshiro256PlusPlus::seed_from_u64(1);
    let y = net
        .forward_train(&p[..], &mut [], &x, &mut acts, &mut gen)
        .unwrap()
        .to_vec();
    let (w1, rest) = p.split_at(36);
    let (b1, w2) = rest.split_at(4);
    let mut h = vec![0.0; batch * 120];
    c1.forward(image(1, 6, 5), Mode::EVAL, LParams::new(w1, b1), &x, &mut h)
        .unwrap();
    let mut a = vec![0.0; h.len()];
    let relu = Activation::Relu;
    relu.forward(image(4, 6, 5), Mode::EVAL, LParams::NONE, &h, &mut a)
        .unwrap();
    let mut want = vec![0.0; batch * 12];
    c2.forward(
        image(4, 6, 5),
        Mode::EVAL,
        LParams::new(w2, &[]),
        &a,
        &mut want,
    )
    .unwrap();
    assert_eq!(y, want);
    let mut y_eval = vec![0.0; y.len()];
    let mut scratch = vec![0.0; net.scratch_len(batch)];
    net.forward(&p[..], &[], &x, &mut y_eval, &mut scratch)
        .unwrap();
    assert_eq!(y_eval, want);

    let dy = rng.vec(y.len());
    let mut grads = vec![0.0; net.trainable_len()];
    net.backward(&p[..], &x, &acts, &dy, &mut grads, &mut scratch)
        .unwrap();
    let (mut da, mut dw2) = (vec![0.0; a.len()], vec![0.0; w2.len()]);
    let tape = Tape::train(&a, &[], &[]);
    let g = Grads::new(&mut dw2, &mut []);
    c2.backward(
        image(4, 6, 5),
        LParams::new(w2, &[]),
        tape,
        &dy,
        Some(&mut da),
        g,
    )
    .unwrap();
    let mut dh = vec![0.0; h.len()];
    let tape = Tape::train(&h, &a, &[]);
    relu.backward(
        image(4, 6, 5),
        LParams::NONE,
        tape,
        &da,
        Some(&mut dh),
        Grads::NONE,
    )
    .unwrap();
    let (mut dw1, mut db1) = (vec![0.0; 36], vec![0.0; 4]);
    let g = Grads::new(&mut dw1, &mut db1);
    let tape = Tape::train(&x, &[], &[]);
    c1.backward(image(1, 6, 5), LParams::new(w1, b1), tape, &dh, None, g)
        .unwrap();
    assert_eq!(grads, [dw1, db1, dw2].concat());
}

/// A model whose layers do not chain says where: a dense layer after an image, a
/// convolution of the wrong rank, a window longer than its input.
#[test]
fn convolutional_model_errors() {
    let seq = Shape::Sequence {
        channels: 2,
        length: 4,
    };
    let dense_after_conv = [Layer::conv1d(Conv1d::new(2, 3, 3)), Layer::dense(6, 1)];
    let rank = Error::RankMismatch {
        what: "input",
        expected: 1,
        actual: 2,
    };
    assert_eq!(
        Sequential::shaped(seq, &dense_after_conv).validate(),
        Err(rank)
    );
    let conv2d_on_sequence = [Layer::conv2d(Conv2d::new(2, 3, [1, 1]))];
    assert_eq!(
        Sequential::shaped(seq, &conv2d_on_sequence).validate(),
        Err(Error::RankMismatch {
            what: "input",
            expected: 3,
            actual: 2
        })
    );
    let too_long = [Layer::conv1d(Conv1d::new(2, 3, 5))];
    assert_eq!(
        Sequential::shaped(seq, &too_long).validate(),
        Err(Error::WindowExceedsInput {
            what: "kernel_size",
            span: 5,
            input: 4
        })
    );
    let net = Sequential::shaped(seq, &too_long);
    assert_eq!((net.output_features(), net.activation_len(8)), (0, 0));
}
