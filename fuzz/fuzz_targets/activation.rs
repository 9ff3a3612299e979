//! Every activation, forward and backward, out of place and in place, directly and through
//! `Activation`, on arbitrary values, hyper-parameters, slice lengths, row widths and sub-slice
//! offsets: a call returns `Ok` exactly when its arguments are valid (otherwise one of the
//! documented errors, with nothing written), never writes outside its output, the in-place and
//! `Activation` forms give the same bits (NaN payloads aside), and the result agrees with an `f64` reference within
//! the error bound each kernel documents (the same budgets as `tests/activation.rs`).
//!
//! The backward kernels are checked against the analytic `f64` derivative (the unit tests check
//! the same kernels against finite differences on a grid; here the inputs are arbitrary, and at
//! `±∞` and NaN the documented limits and torch's comparisons are checked).
//!
//! Results below the normal range have an absolute floor: `MIN_POSITIVE`, scaled by `dy` (and
//! the slope, `α` or `1/β`) when the subnormal is an intermediate factor (`e^{−100}` times a
//! `dy` of `1e14` is a normal number with the subnormal's absolute error).
//!
//! Where the comparison is limited, and why:
//! * results or intermediate products beyond `1e30` (a huge `dy` times a huge slope or `α`,
//!   a product that overflows `f32` in the kernel but not in `f64`): only the contract;
//! * a non-finite `dy` in a smooth backward: `∞·σ′` where the kernel's `σ′` has underflowed to
//!   0 is NaN in `f32` and `∞` in `f64`; only the contract (the rectifiers' exact branches are
//!   still checked bit for bit);
//! * softmax rows holding `+∞` or NaN must be all NaN, `−∞` entries exactly 0 (or `−∞`), the
//!   other entries as the reference over the finite ones; the backward is compared on rows
//!   whose `y` and `dy` are finite with `|dy| ≤ 1e30`.
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/activation.rs"]
mod reference;

use descent::activation::{self as act, Activation, Elu, LeakyRelu, Saved, Softplus};
use descent::Error;
use input::{guarded, intact, same_bits, same_values, Input, U};
use libfuzzer_sys::fuzz_target;
use reference::{gelu_tanh_w, log_softmax64, normal_cdf, normal_pdf, sigma, softmax64, K, KAPPA};
#[path = "../../tests/common/activation_layer.rs"]
mod activation_layer;
use activation_layer::{act_backward, act_forward};

/// One `simd::math` call: 4 ulp ≤ 8u relative.
const MATH: f64 = 8.0;
/// Below the normal range relative bounds end.
const FLOOR: f64 = f32::MIN_POSITIVE as f64;
/// Beyond this, products may overflow `f32` where `f64` does not: not compared.
const HUGE: f64 = 1e30;

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    let op = i.byte() % 13;
    if op >= 11 {
        softmax(&mut i, op == 12);
    } else {
        elementwise(&mut i, op);
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Gelu,
    GeluTanh,
    Silu,
    Softplus(f32, f32),
    /// `α`, backward from `y`.
    Elu(f32),
    /// `α`, backward from `x`.
    EluInput(f32),
}

impl Op {
    /// The hyper-parameter errors the forward may return.
    fn forward_error(self) -> Option<Error> {
        let bad = |what| Some(Error::InvalidHyperParameter { what });
        match self {
            Op::LeakyRelu(s) if !s.is_finite() => bad("negative_slope"),
            Op::Softplus(b, _) if !(b.is_finite() && b > 0.0) => bad("beta"),
            Op::Softplus(_, t) if t.is_nan() => bad("threshold"),
            Op::Elu(a) | Op::EluInput(a) if !a.is_finite() => bad("alpha"),
            _ => None,
        }
    }

    fn backward_error(self) -> Option<Error> {
        match self {
            Op::Elu(a) if a.is_finite() && a < 0.0 => {
                Some(Error::InvalidHyperParameter { what: "alpha" })
            }
            _ => self.forward_error(),
        }
    }

    fn from_output(self) -> bool {
        matches!(self, Op::Sigmoid | Op::Tanh | Op::Elu(_))
    }

    /// The largest hyper-parameter magnitude (it multiplies `x` or `dy`).
    fn param(self) -> f64 {
        match self {
            Op::LeakyRelu(p) | Op::Elu(p) | Op::EluInput(p) => (p as f64).abs(),
            Op::Softplus(b, _) => 1.0 / b as f64,
            _ => 1.0,
        }
    }

    fn forward(self, x: &[f32], y: &mut [f32]) -> descent::Result<()> {
        match self {
            Op::Relu => act::relu(x, y),
            Op::LeakyRelu(s) => act::leaky_relu(x, y, s),
            Op::Sigmoid => act::sigmoid(x, y),
            Op::Tanh => act::tanh(x, y),
            Op::Gelu => act::gelu(x, y),
            Op::GeluTanh => act::gelu_tanh(x, y),
            Op::Silu => act::silu(x, y),
            Op::Softplus(b, t) => act::softplus(x, y, b, t),
            Op::Elu(a) | Op::EluInput(a) => act::elu(x, y, a),
        }
    }

    fn forward_inplace(self, x: &mut [f32]) -> descent::Result<()> {
        match self {
            Op::Relu => act::relu_inplace(x),
            Op::LeakyRelu(s) => act::leaky_relu_inplace(x, s)?,
            Op::Sigmoid => act::sigmoid_inplace(x),
            Op::Tanh => act::tanh_inplace(x),
            Op::Gelu => act::gelu_inplace(x),
            Op::GeluTanh => act::gelu_tanh_inplace(x),
            Op::Silu => act::silu_inplace(x),
            Op::Softplus(b, t) => act::softplus_inplace(x, b, t)?,
            Op::Elu(a) | Op::EluInput(a) => act::elu_inplace(x, a)?,
        }
        Ok(())
    }

    fn backward(self, saved: &[f32], dy: &[f32], dx: &mut [f32]) -> descent::Result<()> {
        match self {
            Op::Relu => act::relu_backward(saved, dy, dx),
            Op::LeakyRelu(s) => act::leaky_relu_backward(saved, dy, dx, s),
            Op::Sigmoid => act::sigmoid_backward(saved, dy, dx),
            Op::Tanh => act::tanh_backward(saved, dy, dx),
            Op::Gelu => act::gelu_backward(saved, dy, dx),
            Op::GeluTanh => act::gelu_tanh_backward(saved, dy, dx),
            Op::Silu => act::silu_backward(saved, dy, dx),
            Op::Softplus(b, t) => act::softplus_backward(saved, dy, dx, b, t),
            Op::Elu(a) => act::elu_backward(saved, dy, dx, a),
            Op::EluInput(a) => act::elu_backward_input(saved, dy, dx, a),
        }
    }

    fn backward_inplace(self, saved: &[f32], dy: &mut [f32]) -> descent::Result<()> {
        match self {
            Op::Relu => act::relu_backward_inplace(saved, dy),
            Op::LeakyRelu(s) => act::leaky_relu_backward_inplace(saved, dy, s),
            Op::Sigmoid => act::sigmoid_backward_inplace(saved, dy),
            Op::Tanh => act::tanh_backward_inplace(saved, dy),
            Op::Gelu => act::gelu_backward_inplace(saved, dy),
            Op::GeluTanh => act::gelu_tanh_backward_inplace(saved, dy),
            Op::Silu => act::silu_backward_inplace(saved, dy),
            Op::Softplus(b, t) => act::softplus_backward_inplace(saved, dy, b, t),
            Op::Elu(a) => act::elu_backward_inplace(saved, dy, a),
            Op::EluInput(a) => act::elu_backward_input_inplace(saved, dy, a),
        }
    }

    /// The same function as an `Activation`, when it is one with the same backward.
    fn activation(self) -> Option<Activation> {
        Some(match self {
            Op::Relu => Activation::Relu,
            Op::LeakyRelu(s) => Activation::LeakyRelu(LeakyRelu { negative_slope: s }),
            Op::Sigmoid => Activation::Sigmoid,
            Op::Tanh => Activation::Tanh,
            Op::Gelu => Activation::Gelu,
            Op::GeluTanh => Activation::GeluTanh,
            Op::Silu => Activation::Silu,
            Op::Softplus(beta, threshold) => Activation::Softplus(Softplus { beta, threshold }),
            Op::Elu(alpha) if alpha >= 0.0 => Activation::Elu(Elu { alpha }),
            Op::EluInput(alpha) if alpha < 0.0 => Activation::Elu(Elu { alpha }),
            Op::Elu(_) | Op::EluInput(_) => return None,
        })
    }

    /// `softplus`: the kernel's branch, decided on the rounded `f32` product as torch does.
    fn above(beta: f32, threshold: f32, x: f32) -> bool {
        beta * x > threshold
    }

    /// `(f(x), |tolerance|)` for a finite `x`, the documented bounds.
    fn reference(self, x: f32) -> (f64, f64) {
        let xf = x;
        let x = x as f64;
        match self {
            Op::Relu => (if x > 0.0 { x } else { 0.0 }, 0.0),
            Op::LeakyRelu(s) => {
                let y = if x > 0.0 { x } else { s as f64 * x };
                (y, U * y.abs())
            }
            Op::Sigmoid => {
                let y = sigma(x);
                (y, 12.0 * U * y)
            }
            Op::Tanh => {
                let y = x.tanh();
                (y, MATH * U * y.abs())
            }
            Op::Gelu => {
                let y = x * normal_cdf(x);
                (y, 21.0 * U * y.abs())
            }
            Op::GeluTanh => {
                let w = gelu_tanh_w(x);
                let y = x * sigma(w);
                (y, U * y.abs() * (14.0 + 6.0 * w.abs() * sigma(-w)))
            }
            Op::Silu => {
                let y = x * sigma(x);
                (y, 12.0 * U * y.abs())
            }
            Op::Softplus(beta, threshold) => {
                if Self::above(beta, threshold, xf) {
                    return (x, 0.0);
                }
                let b = beta as f64;
                let y = x.max(0.0) + libm::log1p((-(b * x).abs()).exp()) / b;
                // β·x is rounded unless β is a power of two (tested in f64: in f32,
                // f32::MAX.log2() rounds to 128).
                let rounds = if (beta as f64).log2().fract() == 0.0 {
                    0.0
                } else {
                    1.0
                };
                (y, U * (18.0 * y.abs() + rounds * sigma(b * x) * x.abs()))
            }
            Op::Elu(a) | Op::EluInput(a) => {
                if x > 0.0 {
                    (x, 0.0)
                } else {
                    let y = a as f64 * x.exp_m1();
                    (y, 9.0 * U * y.abs())
                }
            }
        }
    }

    /// `(f′(x), |tolerance of dx|)` for a finite `x` and `dy`; `y` is the exact output.
    fn derivative(self, x: f32, dy: f64) -> (f64, f64) {
        let xf = x;
        let x = x as f64;
        let d = dy.abs();
        match self {
            Op::Relu => (if x > 0.0 { 1.0 } else { 0.0 }, 0.0),
            Op::LeakyRelu(s) => {
                let f = if x > 0.0 { 1.0 } else { s as f64 };
                (f, U * (f * dy).abs())
            }
            Op::Sigmoid => {
                let y = sigma(x);
                let f = y * sigma(-x);
                (f, d * (3.0 * U * f + 12.0 * U * y * (1.0 - 2.0 * y).abs()))
            }
            Op::Tanh => {
                let y = x.tanh();
                let f = 1.0 / x.cosh().powi(2);
                (f, d * (17.0 * U * y * y + 2.0 * U * f))
            }
            Op::Gelu => {
                let f = normal_cdf(x) + x * normal_pdf(x);
                let tol = d
                    * U
                    * (20.0 * normal_cdf(x) + 13.0 * (x * normal_pdf(x)).abs() + 2.0 * f.abs());
                (f, tol)
            }
            Op::GeluTanh => {
                let w = gelu_tanh_w(x);
                let (s, c) = (sigma(w), sigma(-w));
                let wp = 2.0 * K * (1.0 + 3.0 * KAPPA * x * x);
                let f = s + x * s * c * wp;
                let tol = d
                    * U
                    * (s * (12.0 + 5.0 * w.abs() * c)
                        + (x * s * c * wp).abs() * (30.0 + 5.0 * w.abs())
                        + 2.0 * f.abs());
                (f, tol)
            }
            Op::Silu => {
                let f = sigma(x) * (1.0 + x * sigma(-x));
                let tol = d * U * (14.0 * f.abs() + 12.0 * (sigma(x) * x * sigma(-x)).abs());
                (f, tol)
            }
            Op::Softplus(beta, threshold) => {
                if Self::above(beta, threshold, xf) {
                    return (1.0, 0.0);
                }
                let b = beta as f64;
                let s = sigma(b * x);
                let rounds = if (beta as f64).log2().fract() == 0.0 {
                    0.0
                } else {
                    1.0
                };
                (
                    s,
                    d * U * (12.0 * s + rounds * s * (1.0 - s) * (b * x).abs()),
                )
            }
            Op::Elu(a) => {
                if x > 0.0 {
                    return (1.0, 0.0);
                }
                let (a, y) = (a as f64, a as f64 * x.exp_m1());
                (
                    a * x.exp(),
                    d * U * (9.0 * y.abs() + 2.0 * a.abs() * x.exp()),
                )
            }
            Op::EluInput(a) => {
                if x > 0.0 {
                    return (1.0, 0.0);
                }
                let a = a as f64;
                (a * x.exp(), d * 10.0 * U * a.abs() * x.exp())
            }
        }
    }

    /// `(f(+∞), f(−∞), f′(+∞), f′(−∞))`, the documented limits.
    fn limits(self) -> (f32, f32, f32, f32) {
        let inf = f32::INFINITY;
        match self {
            Op::Relu => (inf, 0.0, 1.0, 0.0),
            Op::LeakyRelu(s) => (inf, f32::NEG_INFINITY * s, 1.0, s),
            Op::Sigmoid => (1.0, 0.0, 0.0, 0.0),
            Op::Tanh => (1.0, -1.0, 0.0, 0.0),
            Op::Gelu | Op::GeluTanh | Op::Silu => (inf, -0.0, 1.0, 0.0),
            Op::Softplus(..) => (inf, 0.0, 1.0, 0.0),
            Op::Elu(a) | Op::EluInput(a) => (inf, -a, 1.0, 0.0),
        }
    }

    /// The backward at `x = NaN` with `dy`: torch's comparisons let `dy` (or `s·dy`) through
    /// for the rectifiers and elu; NaN for the others.
    fn at_nan(self, dy: f32) -> f32 {
        match self {
            Op::Relu | Op::Elu(_) | Op::EluInput(_) => dy,
            Op::LeakyRelu(s) => dy * s,
            _ => f32::NAN,
        }
    }

    /// The rectifiers' and elu's pass-through branch: `dx` is `dy`'s bits where `x > 0`.
    fn exact_branch(self, x: f32) -> bool {
        matches!(
            self,
            Op::Relu | Op::LeakyRelu(_) | Op::Elu(_) | Op::EluInput(_)
        ) && x > 0.0
    }
}

fn close(got: f32, want: f64, tol: f64) -> bool {
    let g = got as f64;
    if want.is_nan() {
        return g.is_nan();
    }
    if want.is_infinite() {
        return g == want;
    }
    input::compared();
    (g - want).abs() <= tol + FLOOR
}

fn elementwise(i: &mut Input, which: u8) {
    let op = match which {
        0 => Op::Relu,
        1 => Op::LeakyRelu(i.hparam(-0.5, 0.5)),
        2 => Op::Sigmoid,
        3 => Op::Tanh,
        4 => Op::Gelu,
        5 => Op::GeluTanh,
        6 => Op::Silu,
        7 => Op::Softplus(i.hparam(0.1, 4.0), i.hparam(-5.0, 30.0)),
        8 => Op::Elu(i.hparam(0.0, 2.0)),
        9 => Op::EluInput(i.hparam(-2.0, 2.0)),
        _ => {
            // relu's backward reads x or y: the same bits.
            relu_from_either(i);
            return;
        }
    };
    let n = i.size(70);
    let off = i.len(3);
    let scale = [1.0, 10.0, 100.0, 1e-6, 1e4][i.byte() as usize % 5];
    let x = i.values(n, scale);
    let dy = i.values(n, 2.0);
    let (yl, dyl, dxl) = (i.length(n, 32), i.length(n, 32), i.length(n, 32));
    let (x, dy) = (&x[..], &dy[..dyl.min(n)]);
    let mut dyv = dy.to_vec();
    dyv.resize(dyl, 0.5);

    // Forward.
    let xb = guarded(off, x);
    let mut yb = guarded(off, &vec![7.0; yl]);
    let r = op.forward(&xb[off..off + n], &mut yb[off..off + yl]);
    assert!(intact(&yb, off, yl), "{op:?}: forward wrote outside y");
    let hyper = op.forward_error();
    match (r, hyper) {
        (Ok(()), None) => assert_eq!(yl, n),
        (Err(e), Some(h)) => assert_eq!(e, h, "{op:?}"),
        (Err(e), None) => assert_eq!(
            e,
            Error::LengthMismatch {
                what: "y",
                expected: n,
                actual: yl
            }
        ),
        (Ok(()), Some(h)) => panic!("{op:?}: Ok despite {h:?}"),
    }
    let mut ib = xb.clone();
    let ri = op.forward_inplace(&mut ib[off..off + n]);
    assert!(intact(&ib, off, n));
    assert_eq!(ri.err(), hyper, "{op:?} in place");
    if ri.is_err() {
        assert!(same_bits(&ib, &xb), "in place: written on error");
    }
    if r.is_err() {
        assert!(
            yb[off..off + yl].iter().all(|&v| v == 7.0),
            "written on error"
        );
        return;
    }
    let y = yb[off..off + n].to_vec();
    assert!(
        same_values(&ib[off..off + n], &y),
        "{op:?}: in place differs"
    );
    if let Some(a) = op.activation() {
        let mut ya = vec![0.0; n];
        let cols = 1 + i.len(4);
        let ra = act_forward(&a, x, &mut ya, cols);
        if n % cols == 0 {
            ra.unwrap();
            assert!(same_values(&ya, &y), "{a:?} differs from the kernel");
        } else {
            assert!(matches!(ra, Err(Error::LengthMismatch { what: "x", .. })));
        }
    }
    let (p_inf, n_inf, dp_inf, dn_inf) = op.limits();
    for k in 0..n {
        let xk = x[k];
        let ctx = || format!("{op:?} x={xk:e} (k={k}, n={n}, off={off})");
        if xk.is_nan() {
            assert!(y[k].is_nan(), "{}: y={}", ctx(), y[k]);
        } else if xk.is_infinite() {
            let want = if xk > 0.0 { p_inf } else { n_inf };
            let same = y[k].to_bits() == want.to_bits() || (want.is_nan() && y[k].is_nan());
            input::compared();
            assert!(same, "{}: y={}, want {want}", ctx(), y[k]);
        } else {
            let (want, tol) = op.reference(xk);
            // softplus's `ln(1 + e^{−|βx|})/β` ends below the normal range before the `/β`.
            let tol = tol + 2.0 * FLOOR * op.param();
            if want.abs() <= HUGE && (xk as f64).abs() * op.param() <= HUGE {
                assert!(
                    close(y[k], want, tol),
                    "{}: y={:e}, want {want:e} ± {tol:e}",
                    ctx(),
                    y[k]
                );
            }
        }
    }

    // Backward, from our own y where it reads y.
    let saved = if op.from_output() {
        yb.clone()
    } else {
        xb.clone()
    };
    let saved = &saved[off..off + n];
    let gb = guarded(off, &dyv);
    let mut db = guarded(off, &vec![7.0; dxl]);
    let r = op.backward(saved, &gb[off..off + dyl], &mut db[off..off + dxl]);
    assert!(intact(&db, off, dxl), "{op:?}: backward wrote outside dx");
    let hyper = op.backward_error();
    match (r, hyper) {
        (Ok(()), None) => assert!(dyl == n && dxl == n),
        (Err(e), Some(h)) => assert_eq!(e, h, "{op:?}"),
        (Err(e), None) => assert!(
            e == Error::LengthMismatch {
                what: "dy",
                expected: n,
                actual: dyl
            } || e
                == Error::LengthMismatch {
                    what: "dx",
                    expected: n,
                    actual: dxl
                },
            "{op:?}: {e:?}"
        ),
        (Ok(()), Some(h)) => panic!("{op:?}: backward Ok despite {h:?}"),
    }
    let mut gi = gb.clone();
    let ri = op.backward_inplace(saved, &mut gi[off..off + dyl]);
    assert!(intact(&gi, off, dyl));
    assert_eq!(ri.is_ok(), hyper.is_none() && dyl == n, "{op:?}: {ri:?}");
    if r.is_err() {
        assert!(
            db[off..off + dxl].iter().all(|&v| v == 7.0),
            "written on error"
        );
        if ri.is_err() {
            assert!(same_bits(&gi, &gb), "in place: written on error");
        }
        return;
    }
    let dx = db[off..off + n].to_vec();
    if let Some(k) = (0..n).find(|&k| !same_values(&gi[off + k..off + k + 1], &dx[k..k + 1])) {
        panic!(
            "{op:?}: in-place backward differs at {k} of {n} (off {off}): {:e} vs {:e}, \
             saved {:e}, dy {:e}",
            gi[off + k],
            dx[k],
            saved[k],
            dy[k]
        );
    }
    if let Some(a) = op.activation() {
        assert_eq!(
            a.saved() == Saved::Output,
            op.from_output()
                || matches!(op, Op::Relu)
                || matches!(op, Op::LeakyRelu(s) if s >= 0.0)
        );
        if a.saved() == Saved::Output || !op.from_output() {
            let mut da = vec![0.0; n];
            act_backward(&a, saved, dy, &mut da, 1).unwrap();
            assert!(
                same_values(&da, &dx),
                "{a:?} backward differs from the kernel"
            );
        }
    }
    for k in 0..n {
        let (xk, g) = (x[k], dy[k]);
        let ctx = || format!("{op:?} x={xk:e} dy={g:e} (k={k})");
        if op.exact_branch(xk) {
            input::compared();
            assert_eq!(dx[k].to_bits(), g.to_bits(), "{}: dx={}", ctx(), dx[k]);
        } else if xk.is_nan() {
            let want = op.at_nan(g);
            assert!(
                dx[k].to_bits() == want.to_bits() || (want.is_nan() && dx[k].is_nan()),
                "{}: dx={} want {want}",
                ctx(),
                dx[k]
            );
        } else if !g.is_finite() || (g as f64).abs() * op.param() > HUGE {
            continue;
        } else if xk.is_infinite() {
            let f = if xk > 0.0 { dp_inf } else { dn_inf };
            // One rounded product (leaky_relu's `s·dy`), exact for the others.
            let want = g as f64 * f as f64;
            let tol = U * want.abs();
            assert!(
                close(dx[k], want, tol),
                "{}: dx={}, want {want}",
                ctx(),
                dx[k]
            );
        } else if matches!(op, Op::Relu) {
            input::compared();
            assert_eq!(dx[k].to_bits(), 0f32.to_bits(), "{}: dx={}", ctx(), dx[k]);
        } else {
            let (f, tol) = op.derivative(xk, g as f64);
            // A factor (`eˣ`, `σ`, `φ`) below the normal range carries an absolute error of
            // about MIN_POSITIVE, not a relative one; `dy` and the slope scale it.
            let tol = tol + 4.0 * FLOOR * (g as f64).abs() * op.param().max(1.0);
            let want = g as f64 * f;
            if want.abs() <= HUGE {
                assert!(
                    close(dx[k], want, tol),
                    "{}: dx={:e}, want {want:e} ± {tol:e}",
                    ctx(),
                    dx[k]
                );
            }
        }
    }
}

/// relu's backward from `x` and from `y` give the same bits.
fn relu_from_either(i: &mut Input) {
    let n = i.len(40);
    let x = i.values(n, 10.0);
    let dy = i.values(n, 2.0);
    let mut y = vec![0.0; n];
    act::relu(&x, &mut y).unwrap();
    // torch's `relu`: `x` where `x > 0`, `+0` where `x < 0` (exact).
    for k in 0..n {
        if x[k] != 0.0 && !x[k].is_nan() {
            input::compared();
            let want = if x[k] > 0.0 { x[k] } else { 0.0 };
            assert_eq!(y[k].to_bits(), want.to_bits(), "relu({})", x[k]);
        }
    }
    let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
    act::relu_backward(&x, &dy, &mut a).unwrap();
    act::relu_backward(&y, &dy, &mut b).unwrap();
    assert!(same_values(&a, &b));
    let s = i.hparam(0.0, 1.0);
    if s.is_finite() && s >= 0.0 {
        act::leaky_relu(&x, &mut y, s).unwrap();
        act::leaky_relu_backward(&x, &dy, &mut a, s).unwrap();
        act::leaky_relu_backward(&y, &dy, &mut b, s).unwrap();
        for k in 0..n {
            // y = s·x may underflow to ±0 from a tiny negative x: still `≤ 0`, same branch.
            assert_eq!(a[k].to_bits(), b[k].to_bits(), "x={} s={s}", x[k]);
        }
    }
}

fn softmax(i: &mut Input, log: bool) {
    let name = if log { "log_softmax" } else { "softmax" };
    let cols = i.size(40);
    let rows = i.size(4);
    let off = i.len(3);
    let scale = [1.0, 10.0, 100.0, 1e4, 1e-3][i.byte() as usize % 5];
    let n = rows * cols;
    let xl = i.length(n, 32);
    let (yl, dyl, dxl) = (i.length(xl, 32), i.length(xl, 32), i.length(xl, 32));
    let x = i.mostly_tame(xl, scale);
    let dyv = i.mostly_tame(dyl, 2.0);
    let (fwd, fwd_ip, bwd, bwd_ip): (
        fn(&[f32], &mut [f32], usize) -> descent::Result<()>,
        fn(&mut [f32], usize) -> descent::Result<()>,
        fn(&[f32], &[f32], &mut [f32], usize) -> descent::Result<()>,
        fn(&[f32], &mut [f32], usize) -> descent::Result<()>,
    ) = if log {
        (
            act::log_softmax,
            act::log_softmax_inplace,
            act::log_softmax_backward,
            act::log_softmax_backward_inplace,
        )
    } else {
        (
            act::softmax,
            act::softmax_inplace,
            act::softmax_backward,
            act::softmax_backward_inplace,
        )
    };
    let shape_ok = cols > 0 && xl % cols == 0;
    let xb = guarded(off, &x);
    let mut yb = guarded(off, &vec![7.0; yl]);
    let r = fwd(&xb[off..off + xl], &mut yb[off..off + yl], cols);
    assert!(intact(&yb, off, yl), "{name}: wrote outside y");
    assert_eq!(r.is_ok(), shape_ok && yl == xl, "{name} cols={cols}: {r:?}");
    if cols == 0 {
        assert_eq!(r, Err(Error::ZeroDimension { what: "cols" }));
    }
    let mut ib = xb.clone();
    let ri = fwd_ip(&mut ib[off..off + xl], cols);
    assert_eq!(ri.is_ok(), shape_ok);
    assert!(intact(&ib, off, xl));
    if r.is_err() {
        assert!(
            yb[off..off + yl].iter().all(|&v| v == 7.0),
            "written on error"
        );
        if ri.is_err() {
            assert!(same_bits(&ib, &xb));
        }
        return;
    }
    let y = yb[off..off + xl].to_vec();
    assert!(
        same_values(&ib[off..off + xl], &y),
        "{name}: in place differs"
    );
    let a = if log {
        Activation::LogSoftmax
    } else {
        Activation::Softmax
    };
    let mut ya = vec![0.0; xl];
    act_forward(&a, &x, &mut ya, cols).unwrap();
    assert!(same_values(&ya, &y));

    let gb = guarded(off, &dyv);
    let mut db = guarded(off, &vec![7.0; dxl]);
    let r = bwd(&y, &gb[off..off + dyl], &mut db[off..off + dxl], cols);
    assert!(intact(&db, off, dxl), "{name}: backward wrote outside dx");
    assert_eq!(r.is_ok(), dyl == xl && dxl == xl, "{name}: {r:?}");
    let mut gi = gb.clone();
    let ri = bwd_ip(&y, &mut gi[off..off + dyl], cols);
    assert!(intact(&gi, off, dyl));
    assert_eq!(ri.is_ok(), dyl == xl);
    let dx = if r.is_ok() {
        let dx = db[off..off + xl].to_vec();
        assert!(
            same_values(&gi[off..off + xl], &dx),
            "{name}: in-place backward differs"
        );
        Some(dx)
    } else {
        assert!(
            db[off..off + dxl].iter().all(|&v| v == 7.0),
            "written on error"
        );
        None
    };

    for r in 0..xl / cols {
        let range = r * cols..(r + 1) * cols;
        let (xr, yr) = (&x[range.clone()], &y[range.clone()]);
        let ctx = || format!("{name} cols={cols} row {r} x={xr:?}");
        if xr.iter().any(|v| v.is_nan() || *v == f32::INFINITY)
            || xr.iter().all(|v| *v == f32::NEG_INFINITY)
        {
            assert!(yr.iter().all(|v| v.is_nan()), "{}: y={yr:?}", ctx());
            continue;
        }
        // −∞ entries: exactly 0 (or −∞); the others as the reference over the finite ones.
        let finite: Vec<usize> = (0..cols).filter(|&j| xr[j].is_finite()).collect();
        for j in 0..cols {
            if !xr[j].is_finite() {
                let want = if log { f32::NEG_INFINITY } else { 0.0 };
                assert_eq!(yr[j], want, "{}: y[{j}]={}", ctx(), yr[j]);
            }
        }
        let xf: Vec<f64> = finite.iter().map(|&j| xr[j] as f64).collect();
        let m = xf.iter().fold(f64::NEG_INFINITY, |a, v| a.max(*v));
        let p = softmax64(&xf);
        let c = finite.len() as f64;
        // The relative error budget of S = Σ e^{x − m} (tests/activation.rs, sum_budget).
        let s_err = U
            * (xf
                .iter()
                .zip(&p)
                .map(|(v, pk)| pk * (MATH + (v - m).abs()))
                .sum::<f64>()
                + c);
        let s: f64 = xf.iter().map(|v| (v - m).exp()).sum();
        let (want, tol): (Vec<f64>, Vec<f64>) = if log {
            let ls = log_softmax64(&xf);
            let tol = ls
                .iter()
                .zip(&xf)
                .map(|(yj, v)| U * ((v - m).abs() + yj.abs() + MATH * s.ln()) + s_err)
                .collect();
            (ls, tol)
        } else {
            let tol = p
                .iter()
                .zip(&xf)
                .map(|(pj, v)| pj * (U * (MATH + 1.0 + (v - m).abs()) + s_err))
                .collect();
            (p.clone(), tol)
        };
        for (q, &j) in finite.iter().enumerate() {
            if (xf[q] - m).abs() > 1e38 {
                // x − m overflows f32: −∞ (log) or 0 in the kernel, finite in f64.
                continue;
            }
            assert!(
                close(yr[j], want[q], tol[q]),
                "{}: y[{j}]={:e}, want {:e} ± {:e}",
                ctx(),
                yr[j],
                want[q],
                tol[q]
            );
        }
        // Backward on rows without −∞ (the unit tests pin those), finite dy.
        let Some(dx) = &dx else { continue };
        let (gr, dr) = (&dyv[range.clone()], &dx[range]);
        if finite.len() != cols || gr.iter().any(|g| !(g.abs() <= 1e30)) {
            continue;
        }
        let g: Vec<f64> = gr.iter().map(|v| *v as f64).collect();
        for j in 0..cols {
            let (want, tol) = if log {
                let sum_dy: f64 = g.iter().sum();
                let abs_dy: f64 = g.iter().map(|v| v.abs()).sum();
                let want = g[j] - p[j] * sum_dy;
                // e^{y_j} below the normal range: an absolute MIN_POSITIVE, times Σdy.
                let tol = p[j]
                    * (sum_dy.abs() * (tol[j] + (MATH + 1.0) * U) + (c - 1.0) * U * abs_dy)
                    + U * (want.abs() + g[j].abs())
                    + 2.0 * FLOOR * sum_dy.abs();
                (want, tol)
            } else {
                let d: f64 = p.iter().zip(&g).map(|(a, b)| a * b).sum();
                let want = p[j] * (g[j] - d);
                let dot_err: f64 =
                    c * U * p.iter().zip(&g).map(|(a, b)| (a * b).abs()).sum::<f64>()
                        + tol.iter().zip(&g).map(|(t, b)| t * b.abs()).sum::<f64>();
                // Subnormal y's carry an absolute MIN_POSITIVE into the dot and the product.
                let abs_dy: f64 = g.iter().map(|v| v.abs()).sum();
                let tol = p[j] * dot_err
                    + tol[j] * (g[j] - d).abs()
                    + 2.0 * U * want.abs()
                    + 2.0 * FLOOR * ((g[j] - d).abs() + abs_dy);
                (want, tol)
            };
            assert!(
                close(dr[j], want, tol),
                "{}′ dy={gr:?}: dx[{j}]={:e}, want {want:e} ± {tol:e}",
                ctx(),
                dr[j]
            );
        }
    }
}
