//! Every public kernel of the library, linked into a bare-metal binary that **cannot panic**.
//!
//! The panic handler calls `descent_core_panics`, a function that no object defines. After LTO
//! the linker keeps only what `_start` can reach, so the binary links only if no panic is
//! reachable from any call below: a bounds check, an `unwrap`, a division by a length, a
//! `chunks_exact(0)` or an overflow check left in the library fails the build with
//! `undefined symbol: descent_core_panics`.
//!
//! Every argument goes through `black_box`, lengths and dimensions included, so the compiler
//! cannot prove an error path dead for these particular values: what links is free of panics
//! for every input. The binary also proves that the core needs neither `std` nor an allocator
//! (`.ci/run` scans it for atomic instructions and allocator symbols).
//!
//! `cargo build --release --target thumbv7em-none-eabihf` (from this folder).
#![no_std]
#![no_main]

use core::hint::black_box as bb;
use core::panic::PanicInfo;

use descent::activation::{self as act, Activation};
use descent::conv::{Conv1d, Conv2d};
use descent::dense::Dense;
use descent::dropout::Dropout;
use descent::gemm;
use descent::layer::{self as ly, Grads, Mode, Shape, Tape};
use descent::loss::{self, Reduction};
use descent::network::{Layer, Params, Sequential};
use descent::norm::{BatchNorm, LayerNorm};
use descent::optim::{self, Optimizer};
use descent::pool::{
    AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d,
};
use descent::regularize::{self as reg, Amount, NormType};
use descent::schedule::{self as sched, Schedule};
use descent::Isa;
use descent::{dropout, init, simd, Result};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

/// Elements per buffer: every kernel below runs on `N` floats (a 6 × 8 matrix, …).
const N: usize = 48;

/// Buffers of `N` floats whose addresses and lengths the compiler cannot see through:
/// `bufs!(x = 0.5, y = 0.0)` binds `x` and `y` as `&mut [f32]`.
macro_rules! bufs {
    ($($name:ident = $v:expr),+ $(,)?) => {
        $(
            let $name = &mut [$v; N];
            let $name = bb(&mut $name[..]);
        )+
    };
}

/// `let name = bb(&mut [value; len][..])`, with the array living to the end of the block.
macro_rules! opaque {
    ($name:ident = [$v:expr; $len:expr]) => {
        let $name = &mut [$v; $len];
        let $name = bb(&mut $name[..]);
    };
}

/// The first element, or 0 (no indexing: that could panic).
fn first(v: &[f32]) -> f32 {
    v.first().copied().unwrap_or(0.0)
}

/// Activations: every free function and the `Activation` table with a kind chosen at run time,
/// as a layer and in place.
fn activations() -> Result<f32> {
    bufs!(x = 0.5f32, y = 0.0f32, dy = 1.0f32, dx = 0.0f32);
    let cols = bb(8usize);
    let a = bb(0.1f32);
    act::relu(x, y)?;
    act::relu_inplace(y);
    act::relu_backward(x, dy, y)?;
    act::relu_backward_inplace(x, dy)?;
    act::leaky_relu(x, y, a)?;
    act::leaky_relu_inplace(y, a)?;
    act::leaky_relu_backward(x, dy, y, a)?;
    act::leaky_relu_backward_inplace(x, dy, a)?;
    act::sigmoid(x, y)?;
    act::sigmoid_inplace(y);
    act::sigmoid_backward(x, dy, y)?;
    act::sigmoid_backward_inplace(x, dy)?;
    act::tanh(x, y)?;
    act::tanh_inplace(y);
    act::tanh_backward(x, dy, y)?;
    act::tanh_backward_inplace(x, dy)?;
    act::gelu(x, y)?;
    act::gelu_inplace(y);
    act::gelu_backward(x, dy, y)?;
    act::gelu_backward_inplace(x, dy)?;
    act::gelu_tanh(x, y)?;
    act::gelu_tanh_inplace(y);
    act::gelu_tanh_backward(x, dy, y)?;
    act::gelu_tanh_backward_inplace(x, dy)?;
    act::silu(x, y)?;
    act::silu_inplace(y);
    act::silu_backward(x, dy, y)?;
    act::silu_backward_inplace(x, dy)?;
    act::softplus(x, y, a, a)?;
    act::softplus_inplace(y, a, a)?;
    act::softplus_backward(x, dy, y, a, a)?;
    act::softplus_backward_inplace(x, dy, a, a)?;
    act::elu(x, y, a)?;
    act::elu_inplace(y, a)?;
    act::elu_backward(x, dy, y, a)?;
    act::elu_backward_inplace(x, dy, a)?;
    act::elu_backward_input(x, dy, y, a)?;
    act::elu_backward_input_inplace(x, dy, a)?;
    act::softmax(x, y, cols)?;
    act::softmax_inplace(y, cols)?;
    act::softmax_backward(x, dy, y, cols)?;
    act::softmax_backward_inplace(x, dy, cols)?;
    act::log_softmax(x, y, cols)?;
    act::log_softmax_inplace(y, cols)?;
    act::log_softmax_backward(x, dy, y, cols)?;
    act::log_softmax_backward_inplace(x, dy, cols)?;
    let kinds = [
        Activation::Relu,
        Activation::LeakyRelu(Default::default()),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus(Default::default()),
        Activation::Elu(Default::default()),
        Activation::Softmax,
        Activation::LogSoftmax,
    ];
    let kind = bb(kinds)
        .get(bb(3usize))
        .copied()
        .unwrap_or(Activation::Relu);
    let rows = Shape::Features(cols);
    ly::Layer::forward(&kind, rows, Mode::EVAL, ly::Params::NONE, x, y)?;
    let tape = Tape::train(x, y, &[]);
    ly::Layer::backward(
        &kind,
        rows,
        ly::Params::NONE,
        tape,
        dy,
        Some(dx),
        Grads::NONE,
    )?;
    bb(ly::Layer::output_shape(&kind, rows)?);
    kind.forward_inplace(y, cols)?;
    kind.backward_inplace(x, dy, cols)?;
    bb(kind.saved());
    kind.validate()?;
    let v = simd::f32x8::splat(bb(0.5));
    let math = simd::math::exp(v)
        + simd::math::expm1(v)
        + simd::math::ln(v)
        + simd::math::ln_1p(v)
        + simd::math::tanh(v)
        + simd::math::erf(v);
    let s = bb(0.5f32);
    let scalars = simd::math::exp_scalar(s)
        + simd::math::expm1_scalar(s)
        + simd::math::ln_scalar(s)
        + simd::math::ln_1p_scalar(s)
        + simd::math::tanh_scalar(s)
        + simd::math::erf_scalar(s);
    simd::axpy(a, x, y)?;
    simd::scale(a, y);
    Ok(math.reduce_add() + scalars + first(y))
}

/// Dense layers (with and without bias, on an instruction set chosen at run time and on the
/// detected one) and the three matrix products on every instruction set.
fn dense_and_gemm() -> Result<f32> {
    bufs!(x = 0.5f32, w = 0.1f32, b = 0.0f32, y = 0.0f32);
    bufs!(dw = 0.0f32, db = 0.0f32, dx = 0.0f32);
    let (batch, inp, out) = (bb(6usize), bb(8usize), bb(6usize));
    let isa = bb(Isa::ALL)
        .get(bb(1usize))
        .copied()
        .unwrap_or(Isa::Portable);
    let input = Shape::Features(inp);
    let b = b.get(..out).unwrap_or_default();
    let db = db.get_mut(..out).unwrap_or_default();
    let layer = Dense::new(inp, out).with_isa(isa);
    let params = ly::Params::new(w, b);
    ly::Layer::forward(&layer, input, Mode::EVAL, params, x, y)?;
    let tape = Tape::train(x, y, &[]);
    let grads = Grads::new(dw, db);
    ly::Layer::backward(&layer, input, params, tape, y, Some(dx), grads)?;
    let plain = Dense::new(inp, out).without_bias();
    let params = ly::Params::new(w, &[]);
    ly::Layer::forward(&plain, input, Mode::train(&mut []), params, x, y)?;
    let tape = Tape::eval(x, y, &[]);
    let grads = Grads {
        weight: Some(dw),
        bias: None,
    };
    ly::Layer::backward(&plain, input, params, tape, y, None, grads)?;
    bb((
        layer.weight_len(),
        layer.bias_len(),
        ly::Layer::output_shape(&layer, input)?,
        layer.isa(),
        plain.isa(),
    ));
    for isa in bb(Isa::ALL) {
        gemm::matmul_nt(isa, batch, out, inp, x, w, y)?;
        gemm::matmul_tn_acc(isa, out, inp, batch, y, x, dw)?;
        gemm::matmul_nn(isa, batch, inp, out, y, w, dx)?;
    }
    bb(Isa::detect());
    Ok(first(y) + first(dw) + first(dx))
}

/// Convolutions in one and two dimensions (stride, padding, dilation, groups, with and without
/// bias, every hyper-parameter opaque): forward, and backward with `dx` and both gradients and
/// with neither (`Grads::NONE`, no `dx`).
fn convolutions() -> Result<f32> {
    bufs!(x = 0.5f32, w = 0.1f32, b = 0.0f32, y = 0.0f32, dy = 1.0f32);
    bufs!(dw = 0.0f32, db = 0.0f32, dx = 0.0f32);
    let (channels, out, groups) = (bb(2usize), bb(4usize), bb(2usize));
    let (kernel, stride, padding, dilation) = (bb(3usize), bb(2usize), bb(1usize), bb(2usize));

    // nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2, groups=2) on [2, 24] samples.
    let conv = Conv1d::new(channels, out, kernel)
        .with_stride(stride)
        .with_padding(padding)
        .with_dilation(dilation)
        .with_groups(groups);
    let input = Shape::Sequence {
        channels,
        length: bb(24usize),
    };
    let w1 = w.get(..conv.weight_len()).unwrap_or_default();
    let b1 = b.get(..conv.bias_len()).unwrap_or_default();
    let params = ly::Params::new(w1, b1);
    let y_len = ly::Layer::output_shape(&conv, input)?.len();
    let y1 = y.get_mut(..y_len).unwrap_or_default();
    ly::Layer::forward(&conv, input, Mode::EVAL, params, x, y1)?;
    let dw1 = dw.get_mut(..conv.weight_len()).unwrap_or_default();
    let db1 = db.get_mut(..conv.bias_len()).unwrap_or_default();
    let dy1 = dy.get(..y_len).unwrap_or_default();
    let tape = Tape::train(x, y1, &[]);
    ly::Layer::backward(
        &conv,
        input,
        params,
        tape,
        dy1,
        Some(dx),
        Grads::new(dw1, db1),
    )?;
    let plain = conv.without_bias();
    let params = ly::Params::new(w1, &[]);
    ly::Layer::forward(&plain, input, Mode::train(&mut []), params, x, y1)?;
    let tape = Tape::eval(x, y1, &[]);
    ly::Layer::backward(&plain, input, params, tape, dy1, None, Grads::NONE)?;
    bb((conv.weight_len(), conv.bias_len(), plain.bias_len()));

    // nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2) on
    // [2, 4, 6] samples.
    let conv = Conv2d::new(channels, out, [kernel, bb(2usize)])
        .with_stride([stride, bb(1usize)])
        .with_padding([padding, bb(0usize)])
        .with_dilation([bb(1usize), dilation])
        .with_groups(groups);
    let input = Shape::Image {
        channels,
        height: bb(4usize),
        width: bb(6usize),
    };
    let w2 = w.get(..conv.weight_len()).unwrap_or_default();
    let b2 = b.get(..conv.bias_len()).unwrap_or_default();
    let params = ly::Params::new(w2, b2);
    let y_len = ly::Layer::output_shape(&conv, input)?.len();
    let y2 = y.get_mut(..y_len).unwrap_or_default();
    ly::Layer::forward(&conv, input, Mode::EVAL, params, x, y2)?;
    let dw2 = dw.get_mut(..conv.weight_len()).unwrap_or_default();
    let db2 = db.get_mut(..conv.bias_len()).unwrap_or_default();
    let dy2 = dy.get(..y_len).unwrap_or_default();
    let tape = Tape::train(x, y2, &[]);
    ly::Layer::backward(
        &conv,
        input,
        params,
        tape,
        dy2,
        Some(dx),
        Grads::new(dw2, db2),
    )?;
    let plain = conv.without_bias();
    let params = ly::Params::new(w2, &[]);
    ly::Layer::forward(&plain, input, Mode::train(&mut []), params, x, y2)?;
    let tape = Tape::eval(x, y2, &[]);
    ly::Layer::backward(&plain, input, params, tape, dy2, None, Grads::NONE)?;
    bb((conv.weight_len(), conv.bias_len(), plain.bias_len()));
    Ok(first(y) + first(dw) + first(db) + first(dx))
}

/// Every loss, with and without gradients, every reduction.
fn losses() -> Result<f32> {
    bufs!(x = 0.5f32, t = 0.25f32, g = 0.0f32);
    let classes = bb(8usize);
    let target = bb(&[0usize, 1, 2, 3, 4, 5][..]);
    let r = bb(Reduction::Mean);
    let mut v = loss::cross_entropy(x, target, classes, bb(0.1), Some(&mut *g), r)?;
    v += loss::cross_entropy_probs(x, t, classes, bb(0.1), Some(&mut *g), r)?;
    v += loss::nll(x, target, classes, Some(&mut *g), r)?;
    v += loss::binary_cross_entropy_with_logits(x, t, Some(&*t), Some(&mut *g), r)?;
    v += loss::mse(x, t, Some(&mut *g), r)?;
    v += loss::l1(x, t, Some(&mut *g), r)?;
    v += loss::huber(x, t, bb(1.0), Some(&mut *g), r)?;
    v += loss::smooth_l1(x, t, bb(1.0), Some(&mut *g), r)?;
    Ok(v + first(g))
}

/// Layer and batch normalisation, training and evaluation, forward and backward.
fn norms() -> Result<f32> {
    bufs!(x = 0.5f32, w = 1.0f32, b = 0.0f32, y = 0.0f32, dy = 1.0f32);
    bufs!(saved = 0.0f32, dw = 0.0f32, db = 0.0f32, dx = 0.0f32);
    opaque!(buffers = [0.0f32; 2 * 8 + 1]);
    let features = bb(8usize);
    let (input, batch) = (Shape::Features(features), bb(6usize));
    let w = w.get(..features).unwrap_or_default();
    let b = b.get(..features).unwrap_or_default();
    let dw = dw.get_mut(..features).unwrap_or_default();
    let db = db.get_mut(..features).unwrap_or_default();
    let params = ly::Params::new(w, b);

    let ln = LayerNorm::new(features);
    ln.validate()?;
    let saved_len = ly::Layer::saved_len(&ln, input, batch);
    let saved = saved.get_mut(..saved_len).unwrap_or_default();
    ly::Layer::forward(&ln, input, Mode::EVAL, params, x, y)?;
    ly::Layer::forward(&ln, input, Mode::train(saved), params, x, y)?;
    let tape = Tape::train(x, y, saved);
    let grads = Grads::new(dw, db);
    ly::Layer::backward(&ln, input, params, tape, dy, Some(dx), grads)?;
    bb((
        ln.weight_len(),
        ln.bias_len(),
        ly::Layer::output_shape(&ln, input)?,
    ));

    let bn = BatchNorm::new(features);
    bn.validate()?;
    let saved_len = ly::Layer::saved_len(&bn, input, batch);
    let saved = saved.get_mut(..saved_len).unwrap_or_default();
    let buffers = buffers.get_mut(..bn.buffer_len()).unwrap_or_default();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(bb(7));
    let mode = Mode::Train {
        buffers,
        saved,
        rng: Some(&mut rng),
    };
    ly::Layer::forward(&bn, input, mode, params, x, y)?;
    let tape = Tape::train(x, y, saved);
    let grads = Grads::new(dw, db);
    ly::Layer::backward(&bn, input, params, tape, dy, Some(dx), grads)?;
    let mode = Mode::Eval { buffers };
    ly::Layer::forward(&bn, input, mode, params, x, y)?;
    let tape = Tape::eval(x, y, buffers);
    let grads = Grads::new(dw, db);
    ly::Layer::backward(&bn, input, params, tape, dy, Some(dx), grads)?;
    bb((bn.weight_len(), bn.buffer_len(), ly::Layer::bias_len(&bn)));
    Ok(first(y) + first(dx))
}

/// Batch norm over positions (`nn.BatchNorm2d` on `[4, 2, 2, 3]`, the kernel along the
/// positions), training and evaluation, forward and backward. The shape itself is opaque, so
/// neither kernel can be proven unreachable.
fn batch_norm_2d() -> Result<f32> {
    bufs!(x = 0.5f32, w = 1.0f32, b = 0.0f32, y = 0.0f32, dy = 1.0f32);
    bufs!(saved = 0.0f32, dw = 0.0f32, db = 0.0f32, dx = 0.0f32);
    opaque!(buffers = [0.0f32; 2 * 8 + 1]);
    let channels = bb(2usize);
    let input = bb(Shape::Image {
        channels,
        height: 2,
        width: 3,
    });
    let batch = bb(4usize);
    let w = w.get(..channels).unwrap_or_default();
    let b = b.get(..channels).unwrap_or_default();
    let dw = dw.get_mut(..channels).unwrap_or_default();
    let db = db.get_mut(..channels).unwrap_or_default();
    let params = ly::Params::new(w, b);
    let bn = BatchNorm::new(channels);
    bn.validate()?;
    let saved_len = ly::Layer::saved_len(&bn, input, batch);
    let saved = saved.get_mut(..saved_len).unwrap_or_default();
    let buffers = buffers.get_mut(..bn.buffer_len()).unwrap_or_default();
    let mode = Mode::Train {
        buffers,
        saved,
        rng: None,
    };
    ly::Layer::forward(&bn, input, mode, params, x, y)?;
    let tape = Tape::train(x, y, saved);
    let grads = Grads::new(dw, db);
    ly::Layer::backward(&bn, input, params, tape, dy, Some(dx), grads)?;
    let mode = Mode::Eval { buffers };
    ly::Layer::forward(&bn, input, mode, params, x, y)?;
    let tape = Tape::eval(x, y, buffers);
    let grads = Grads::new(dw, db);
    ly::Layer::backward(&bn, input, params, tape, dy, Some(dx), grads)?;
    bb(ly::Layer::output_shape(&bn, input)?);
    Ok(first(y) + first(dx))
}

/// Dropout with its bit mask: the free functions, and the layer in both modes (its mask in
/// the `saved` floats of a training forward).
fn dropouts() -> Result<f32> {
    bufs!(x = 0.5f32, y = 0.0f32, dx = 0.0f32);
    opaque!(mask = [0u32; dropout::mask_len(N)]);
    opaque!(saved = [0.0f32; dropout::mask_len(N)]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(bb(3));
    let p = bb(0.25f32);
    dropout::dropout(x, y, mask, p, &mut rng)?;
    dropout::dropout_inplace(y, mask, p, &mut rng)?;
    dropout::dropout_backward(x, y, mask, p)?;
    dropout::dropout_backward_inplace(y, mask, p)?;
    let layer = Dropout::new(p);
    let input = Shape::Features(bb(8usize));
    let saved_len = ly::Layer::saved_len(&layer, input, bb(6));
    let saved = saved.get_mut(..saved_len).unwrap_or_default();
    let mode = Mode::Train {
        buffers: &mut [],
        saved,
        rng: Some(&mut rng),
    };
    ly::Layer::forward(&layer, input, mode, ly::Params::NONE, x, y)?;
    let tape = Tape::train(x, y, saved);
    ly::Layer::backward(
        &layer,
        input,
        ly::Params::NONE,
        tape,
        y,
        Some(dx),
        Grads::NONE,
    )?;
    ly::Layer::forward(&layer, input, Mode::EVAL, ly::Params::NONE, x, y)?;
    let tape = Tape::eval(x, y, &[]);
    ly::Layer::backward(
        &layer,
        input,
        ly::Params::NONE,
        tape,
        y,
        Some(dx),
        Grads::NONE,
    )?;
    Ok(first(y) + first(dx))
}

/// One pooling layer's four calls: an evaluation and a training forward (what it saves in
/// `saved`), a backward from each tape.
fn pool_calls(layer: &dyn ly::Layer, input: Shape, x: &[f32], y: &mut [f32]) -> Result<f32> {
    opaque!(saved = [0.0f32; N]);
    opaque!(dx = [0.0f32; N]);
    let batch = bb(2usize);
    let out = ly::Layer::output_shape(layer, input)?.len();
    let y = y.get_mut(..batch * out).unwrap_or_default();
    let saved = saved
        .get_mut(..layer.saved_len(input, batch))
        .unwrap_or_default();
    let x = x.get(..batch * input.len()).unwrap_or_default();
    let dx = dx.get_mut(..x.len()).unwrap_or_default();
    layer.forward(input, Mode::EVAL, ly::Params::NONE, x, y)?;
    layer.forward(input, Mode::train(saved), ly::Params::NONE, x, y)?;
    let tape = Tape::train(x, y, saved);
    layer.backward(input, ly::Params::NONE, tape, y, Some(dx), Grads::NONE)?;
    let tape = Tape::eval(x, y, &[]);
    layer.backward(input, ly::Params::NONE, tape, y, Some(dx), Grads::NONE)?;
    Ok(first(y) + first(dx))
}

/// Every pooling layer and `Flatten`, on `[C, L]` and `[C, H, W]` samples with hyper-parameters
/// the compiler cannot see.
fn pools() -> Result<f32> {
    bufs!(x = 0.5f32, y = 0.0f32);
    let (k, s, p, d) = (bb(3usize), bb(2usize), bb(1usize), bb(1usize));
    let ceil_mode = bb(true);
    let seq = Shape::Sequence {
        channels: bb(2),
        length: bb(12),
    };
    let img = Shape::Image {
        channels: bb(2),
        height: bb(3),
        width: bb(4),
    };
    let max1 = MaxPool1d {
        stride: s,
        padding: p,
        dilation: d,
        ceil_mode,
        ..MaxPool1d::new(k)
    };
    let max2 = MaxPool2d {
        stride: [s, s],
        padding: [p, p],
        dilation: [d, d],
        ceil_mode,
        ..MaxPool2d::new(k)
    };
    let avg1 = AvgPool1d {
        stride: s,
        padding: p,
        ceil_mode,
        count_include_pad: bb(false),
        ..AvgPool1d::new(k)
    };
    let avg2 = AvgPool2d {
        stride: [s, s],
        padding: [p, p],
        ceil_mode,
        divisor_override: bb(Some(5)),
        ..AvgPool2d::new(k)
    };
    let layers: [(&dyn ly::Layer, Shape); 8] = [
        (&max1, seq),
        (&max2, img),
        (&avg1, seq),
        (&avg2, img),
        (&GlobalAvgPool1d, seq),
        (&GlobalAvgPool2d, img),
        (&Flatten, img),
        (&Flatten, seq),
    ];
    let mut v = 0.0;
    for (layer, input) in bb(layers) {
        v += pool_calls(layer, input, x, y)?;
    }
    Ok(v)
}

/// Every initialisation scheme.
fn inits() -> Result<f32> {
    bufs!(w = 0.0f32, b = 0.0f32);
    let shape = bb(&[6usize, 8][..]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(bb(5));
    let (lo, hi) = (bb(-1.0f32), bb(1.0f32));
    bb(init::fans(shape)?);
    let gain = init::calculate_gain(bb(init::Nonlinearity::Tanh))?;
    init::uniform(w, lo, hi, &mut rng)?;
    init::normal(w, lo, hi, &mut rng)?;
    init::trunc_normal(w, 0.0, hi, lo, hi, &mut rng)?;
    init::constant(w, gain)?;
    init::zeros(w);
    init::ones(w);
    init::xavier_uniform(w, shape, gain, &mut rng)?;
    init::xavier_normal(w, shape, gain, &mut rng)?;
    init::kaiming_uniform(w, shape, bb(Default::default()), &mut rng)?;
    init::kaiming_normal(w, shape, bb(Default::default()), &mut rng)?;
    init::lecun_uniform(w, shape, &mut rng)?;
    init::lecun_normal(w, shape, &mut rng)?;
    init::dense_default(w, Some(b), bb(8), bb(N / 8), &mut rng)?;
    Ok(first(w) + first(b))
}

/// Penalties, clipping, constraints and pruning.
fn regularisation() -> Result<f32> {
    bufs!(
        w = 0.5f32,
        g = 0.1f32,
        w2 = -0.5f32,
        g2 = 0.2f32,
        mask = 1.0f32
    );
    bufs!(mask2 = 1.0f32);
    opaque!(scratch = [0.0f32; reg::prune_scratch_len(2 * N)]);
    let lambda = bb(1e-3f32);
    let norm = bb(NormType::P(3.0));
    let mut v = reg::l1(w, lambda, Some(&mut *g))?;
    v += reg::l2(w, lambda, bb(true), Some(&mut *g))?;
    v += reg::elastic_net(w, lambda, bb(0.5), Some(&mut *g))?;
    v += reg::grad_norm(&[&*g, &*g2], norm)?;
    reg::clip_grads_with_norm(&mut [&mut *g, &mut *g2], bb(1.0), v)?;
    v += reg::clip_grad_norm(&mut [&mut *g, &mut *g2], bb(1.0), norm)?;
    v += reg::clip_grad_norm_flat(g, bb(1.0), norm)?;
    reg::clip_grad_value(&mut [&mut *g, &mut *g2], bb(0.5))?;
    reg::clip_grad_value_flat(g, bb(0.5))?;
    reg::clamp(w, bb(-1.0), bb(1.0))?;
    reg::max_norm_rows(w, bb(6), bb(8), bb(1.0))?;
    let amount = bb(Amount::Fraction(0.5));
    bb(amount.count(bb(N))?);
    reg::magnitude_mask(w, amount, mask, scratch)?;
    reg::global_magnitude_mask(
        &[&*w, &*w2],
        amount,
        &mut [&mut *mask, &mut *mask2],
        scratch,
    )?;
    reg::apply_mask(mask, g)?;
    Ok(v + first(w) + first(g))
}

/// Every optimizer through the trait (chosen at run time), its inherent `state_len`, and groups.
fn optimizers() -> Result<f32> {
    bufs!(p = 0.5f32, g = 0.1f32);
    opaque!(state = [0.0f32; 3 * N]);
    let (adam, sgd) = (optim::Adam::DEFAULT, optim::Sgd::DEFAULT);
    let all: [&dyn Optimizer; 12] = [
        &sgd,
        &optim::Adagrad::DEFAULT,
        &optim::RmsProp::DEFAULT,
        &adam,
        &optim::AdamW::DEFAULT,
        &optim::Adamax::DEFAULT,
        &optim::NAdam::DEFAULT,
        &optim::RAdam::DEFAULT,
        &optim::Adadelta::DEFAULT,
        &optim::Lion::DEFAULT,
        &optim::Rprop::DEFAULT,
        &optim::Adam {
            amsgrad: true,
            ..optim::Adam::DEFAULT
        },
    ];
    let mut counter = 0u64;
    for opt in bb(all) {
        let n = p.len();
        opt.validate()?;
        bb((
            opt.state_planes(),
            opt.state_scalars(),
            opt.state_len(n),
            opt.lr(),
        ));
        let state = state.get_mut(..opt.state_len(n)).unwrap_or_default();
        opt.update(bb(1), p, g, state)?;
        opt.step(&mut counter, p, g, state)?;
    }
    let mut copy = bb(adam);
    copy.set_lr(bb(1e-3));
    let mut groups = [
        optim::ParamGroup::new(copy, bb(16)),
        optim::ParamGroup::new(copy, bb(32)),
    ];
    let len = optim::groups_state_len(&groups);
    let state = state.get_mut(..len).unwrap_or_default();
    optim::step_groups(&mut groups, p, g, state)?;
    bb((
        optim::Adam::state_len(&adam, N),
        optim::Sgd::state_len(&sgd, N),
        optim::Lion::DEFAULT.state_len(N),
    ));
    Ok(first(p))
}

static MILESTONES: [u64; 2] = [3, 7];
static STEP: sched::StepLR = sched::StepLR::new(0.1, 3);
static COSINE: sched::CosineAnnealingLR = sched::CosineAnnealingLR::new(0.1, 10);
static SCHEDULES: [&dyn Schedule; 2] = [&STEP, &COSINE];

/// Every schedule through the trait (chosen at run time), compositions and the plateau rule.
fn schedules() -> Result<f32> {
    let warmup = sched::LinearWarmup {
        warmup_steps: bb(5),
        start_factor: bb(0.1),
        schedule: sched::ExponentialLR::new(0.1, 0.9),
    };
    let one_cycle = sched::OneCycleLR::from_epochs(bb(0.1), bb(3), bb(10))?;
    let all: [&dyn Schedule; 14] = [
        &STEP,
        &sched::MultiStepLR::new(0.1, &MILESTONES),
        &sched::ExponentialLR::new(0.1, 0.9),
        &sched::PolynomialLR::new(0.1),
        &sched::LinearLR::new(0.1),
        &sched::ConstantLR::new(0.1),
        &COSINE,
        &sched::CosineAnnealingWarmRestarts::new(0.1, 4),
        &sched::CyclicLR::new(0.01, 0.1),
        &one_cycle,
        &sched::OneCycleLR::new(0.1, 20),
        &warmup,
        &sched::SequentialLR {
            schedulers: &SCHEDULES,
            milestones: &[4],
        },
        &sched::ChainedScheduler {
            schedulers: &SCHEDULES,
        },
    ];
    let mut v = 0.0;
    let t = bb(7u64);
    for s in bb(all) {
        s.validate()?;
        v += s.lr_at(t) + s.factor_at(t) as f32 + s.lr_at_f64(t) as f32;
        v += s.momentum_at(t).unwrap_or(0.0);
    }
    bb((one_cycle.initial_lr(), one_cycle.min_lr()));
    let mut plateau = sched::ReduceLROnPlateau::new(bb(0.1));
    plateau.validate()?;
    for metric in bb([1.0f32, 0.9, 0.95, 0.97, 0.99]) {
        v += plateau.step(metric);
    }
    bb((
        plateau.is_better(bb(0.5)),
        plateau.in_cooldown(),
        plateau.last_lr(),
    ));
    Ok(v)
}

const LAYERS: [Layer; 8] = [
    Layer::dense(8, 6).frozen(),
    Layer::layer_norm(6),
    Layer::activation(Activation::Gelu),
    Layer::dropout(0.25),
    Layer::dense_no_bias(6, 6),
    Layer::batch_norm(6),
    Layer::activation(Activation::Tanh),
    Layer::dense(6, 3),
];
const NET: Sequential<'static> = Sequential::new(8, &LAYERS);

/// A network of every layer kind: init, training forward, backward, evaluation forward.
fn network() -> Result<f32> {
    const B: usize = 6;
    opaque!(frozen = [0.0f32; NET.frozen_len()]);
    opaque!(params = [0.0f32; NET.trainable_len()]);
    opaque!(grads = [0.0f32; NET.trainable_len()]);
    opaque!(buffers = [0.0f32; NET.buffer_len()]);
    opaque!(acts = [0.0f32; NET.activation_len(B)]);
    opaque!(scratch = [0.0f32; NET.scratch_len(B)]);
    bufs!(x = 0.5f32, dy = 0.1f32, y = 0.0f32);
    let batch = bb(B);
    let net = bb(NET);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(bb(11));
    net.validate()?;
    net.init(frozen, params, buffers, &mut rng)?;
    let p = Params {
        frozen,
        trainable: params,
    };
    let out = net.forward_train(p, buffers, x, acts, &mut rng)?;
    let out_first = first(out);
    net.zero_grad(grads)?;
    let dy = dy.get(..batch * net.output_features()).unwrap_or_default();
    net.backward(p, x, acts, dy, grads, scratch)?;
    let y = y
        .get_mut(..batch * net.output_features())
        .unwrap_or_default();
    net.forward(p, buffers, x, y, scratch)?;
    for t in net.tensors() {
        bb(t.dims());
    }
    for g in net.geometry(batch) {
        bb(g);
    }
    for s in net.param_spans() {
        bb(s);
    }
    bb((net.param_len(), net.max_width(), net.input_width(batch)));
    bb(LAYERS.map(|l| (l.kind(), l.is_frozen(), l.trainable())));
    Ok(out_first + first(grads) + first(y))
}

/// The entry point the linker starts from.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let runs: [fn() -> Result<f32>; 13] = [
        activations,
        dense_and_gemm,
        convolutions,
        losses,
        norms,
        batch_norm_2d,
        dropouts,
        pools,
        inits,
        regularisation,
        optimizers,
        schedules,
        network,
    ];
    for run in bb(runs) {
        let _ = bb(run());
    }
    loop {
        core::hint::spin_loop();
    }
}

/// Any panic: a call to a function that no object defines, so a reachable panic fails the link.
#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    extern "Rust" {
        fn descent_core_panics() -> !;
    }
    // SAFETY: never executed: the binary links only when this call is unreachable.
    unsafe { descent_core_panics() }
}
