//! Activations at n = 4096 (softmax and log_softmax as 32 rows × 128), forward and backward,
//! each beside a plain scalar loop over `libm` in the same run.
//!
//! ```text
//! cargo bench --bench activation
//! ```
//!
//! Medians are in `target/criterion/activation_*/*/new/estimates.json`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use descent::activation as act;
use std::hint::black_box;
use std::time::Duration;

const N: usize = 4096;
const COLS: usize = 128;
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

fn data(seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..N)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// The plain scalar loops the kernels are measured against: the textbook formulas over `libm`.
mod scalar {
    pub fn relu(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = if *x > 0.0 { *x } else { 0.0 };
        }
    }
    pub fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, x), g) in dx.iter_mut().zip(x).zip(dy) {
            *d = if *x > 0.0 { *g } else { 0.0 };
        }
    }
    pub fn leaky_relu(x: &[f32], y: &mut [f32], s: f32) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = if *x > 0.0 { *x } else { s * x };
        }
    }
    pub fn leaky_relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32], s: f32) {
        for ((d, x), g) in dx.iter_mut().zip(x).zip(dy) {
            *d = if *x > 0.0 { *g } else { s * g };
        }
    }
    pub fn sigmoid(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = 1.0 / (1.0 + libm::expf(-x));
        }
    }
    pub fn sigmoid_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, y), g) in dx.iter_mut().zip(y).zip(dy) {
            *d = g * (1.0 - y) * y;
        }
    }
    pub fn tanh(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = libm::tanhf(*x);
        }
    }
    pub fn tanh_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, y), g) in dx.iter_mut().zip(y).zip(dy) {
            *d = g * (1.0 - y * y);
        }
    }
    pub fn gelu(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = 0.5 * x * (1.0 + libm::erff(x * core::f32::consts::FRAC_1_SQRT_2));
        }
    }
    pub fn gelu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let inv_sqrt_2pi = 0.398_942_3f32;
        for ((d, x), g) in dx.iter_mut().zip(x).zip(dy) {
            let cdf = 0.5 * (1.0 + libm::erff(x * core::f32::consts::FRAC_1_SQRT_2));
            let pdf = inv_sqrt_2pi * libm::expf(-0.5 * x * x);
            *d = g * (cdf + x * pdf);
        }
    }
    pub fn gelu_tanh(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            let u = super::SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            *y = 0.5 * x * (1.0 + libm::tanhf(u));
        }
    }
    pub fn gelu_tanh_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, x), g) in dx.iter_mut().zip(x).zip(dy) {
            let u = super::SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
            let t = libm::tanhf(u);
            let du = super::SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
            *d = g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du);
        }
    }
    pub fn silu(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = x / (1.0 + libm::expf(-x));
        }
    }
    pub fn silu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, x), g) in dx.iter_mut().zip(x).zip(dy) {
            let s = 1.0 / (1.0 + libm::expf(-x));
            *d = g * s * (1.0 + x * (1.0 - s));
        }
    }
    pub fn softplus(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = if *x > 20.0 {
                *x
            } else {
                libm::log1pf(libm::expf(*x))
            };
        }
    }
    pub fn softplus_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, x), g) in dx.iter_mut().zip(x).zip(dy) {
            let z = libm::expf(*x);
            *d = if *x > 20.0 { *g } else { g * z / (z + 1.0) };
        }
    }
    pub fn elu(x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = if *x > 0.0 { *x } else { libm::expm1f(*x) };
        }
    }
    pub fn elu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((d, y), g) in dx.iter_mut().zip(y).zip(dy) {
            *d = if *y <= 0.0 { g * (y + 1.0) } else { *g };
        }
    }
    pub fn softmax(x: &[f32], y: &mut [f32], cols: usize) {
        for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
            let m = xr.iter().fold(f32::NEG_INFINITY, |a, v| a.max(*v));
            let mut s = 0.0;
            for (y, x) in yr.iter_mut().zip(xr) {
                *y = libm::expf(x - m);
                s += *y;
            }
            for y in yr.iter_mut() {
                *y /= s;
            }
        }
    }
    pub fn softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) {
        let rows = y.chunks_exact(cols).zip(dy.chunks_exact(cols));
        for ((yr, gr), dr) in rows.zip(dx.chunks_exact_mut(cols)) {
            let dot: f32 = yr.iter().zip(gr).map(|(a, b)| a * b).sum();
            for ((d, y), g) in dr.iter_mut().zip(yr).zip(gr) {
                *d = y * (g - dot);
            }
        }
    }
    pub fn log_softmax(x: &[f32], y: &mut [f32], cols: usize) {
        for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
            let m = xr.iter().fold(f32::NEG_INFINITY, |a, v| a.max(*v));
            let s: f32 = xr.iter().map(|x| libm::expf(x - m)).sum();
            let lse = libm::logf(s);
            for (y, x) in yr.iter_mut().zip(xr) {
                *y = x - m - lse;
            }
        }
    }
    pub fn log_softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) {
        let rows = y.chunks_exact(cols).zip(dy.chunks_exact(cols));
        for ((yr, gr), dr) in rows.zip(dx.chunks_exact_mut(cols)) {
            let s: f32 = gr.iter().sum();
            for ((d, y), g) in dr.iter_mut().zip(yr).zip(gr) {
                *d = g - libm::expf(*y) * s;
            }
        }
    }
}

type Unary = Box<dyn Fn(&[f32], &mut [f32])>;
type Binary = Box<dyn Fn(&[f32], &[f32], &mut [f32])>;

/// One op: (name, descent forward, scalar forward, descent backward, scalar backward, backward
/// reads y).
type Op = (&'static str, Unary, Unary, Binary, Binary, bool);

fn ops() -> Vec<Op> {
    macro_rules! unary {
        ($f:expr) => {
            Box::new(move |x: &[f32], y: &mut [f32]| $f(x, y).unwrap())
        };
    }
    macro_rules! binary {
        ($f:expr) => {
            Box::new(move |s: &[f32], g: &[f32], d: &mut [f32]| $f(s, g, d).unwrap())
        };
    }
    vec![
        (
            "relu",
            unary!(act::relu),
            Box::new(scalar::relu),
            binary!(act::relu_backward),
            Box::new(scalar::relu_backward),
            true,
        ),
        (
            "leaky_relu",
            unary!(|x, y| act::leaky_relu(x, y, 0.01)),
            Box::new(|x, y| scalar::leaky_relu(x, y, 0.01)),
            binary!(|s, g, d| act::leaky_relu_backward(s, g, d, 0.01)),
            Box::new(|s, g, d| scalar::leaky_relu_backward(s, g, d, 0.01)),
            true,
        ),
        (
            "sigmoid",
            unary!(act::sigmoid),
            Box::new(scalar::sigmoid),
            binary!(act::sigmoid_backward),
            Box::new(scalar::sigmoid_backward),
            true,
        ),
        (
            "tanh",
            unary!(act::tanh),
            Box::new(scalar::tanh),
            binary!(act::tanh_backward),
            Box::new(scalar::tanh_backward),
            true,
        ),
        (
            "gelu",
            unary!(act::gelu),
            Box::new(scalar::gelu),
            binary!(act::gelu_backward),
            Box::new(scalar::gelu_backward),
            false,
        ),
        (
            "gelu_tanh",
            unary!(act::gelu_tanh),
            Box::new(scalar::gelu_tanh),
            binary!(act::gelu_tanh_backward),
            Box::new(scalar::gelu_tanh_backward),
            false,
        ),
        (
            "silu",
            unary!(act::silu),
            Box::new(scalar::silu),
            binary!(act::silu_backward),
            Box::new(scalar::silu_backward),
            false,
        ),
        (
            "softplus",
            unary!(|x, y| act::softplus(x, y, 1.0, 20.0)),
            Box::new(scalar::softplus),
            binary!(|s, g, d| act::softplus_backward(s, g, d, 1.0, 20.0)),
            Box::new(scalar::softplus_backward),
            false,
        ),
        (
            "elu",
            unary!(|x, y| act::elu(x, y, 1.0)),
            Box::new(scalar::elu),
            binary!(|s, g, d| act::elu_backward(s, g, d, 1.0)),
            Box::new(scalar::elu_backward),
            true,
        ),
        (
            "softmax",
            unary!(|x, y| act::softmax(x, y, COLS)),
            Box::new(|x, y| scalar::softmax(x, y, COLS)),
            binary!(|s, g, d| act::softmax_backward(s, g, d, COLS)),
            Box::new(|s, g, d| scalar::softmax_backward(s, g, d, COLS)),
            true,
        ),
        (
            "log_softmax",
            unary!(|x, y| act::log_softmax(x, y, COLS)),
            Box::new(|x, y| scalar::log_softmax(x, y, COLS)),
            binary!(|s, g, d| act::log_softmax_backward(s, g, d, COLS)),
            Box::new(|s, g, d| scalar::log_softmax_backward(s, g, d, COLS)),
            true,
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let x = data(1, 6.0);
    let dy = data(2, 1.0);
    for (name, fwd, fwd_scalar, bwd, bwd_scalar, from_output) in ops() {
        let mut y = vec![0.0f32; N];
        fwd(&x, &mut y);
        let saved = if from_output { y.clone() } else { x.clone() };
        let mut out = vec![0.0f32; N];

        let mut group = c.benchmark_group(format!("activation_{name}"));
        group
            .throughput(Throughput::Elements(N as u64))
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(800))
            .sample_size(30);
        group.bench_function("forward/descent", |b| {
            b.iter(|| fwd(black_box(&x), black_box(&mut out)))
        });
        group.bench_function("forward/scalar", |b| {
            b.iter(|| fwd_scalar(black_box(&x), black_box(&mut out)))
        });
        group.bench_function("backward/descent", |b| {
            b.iter(|| bwd(black_box(&saved), black_box(&dy), black_box(&mut out)))
        });
        group.bench_function("backward/scalar", |b| {
            b.iter(|| bwd_scalar(black_box(&saved), black_box(&dy), black_box(&mut out)))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
