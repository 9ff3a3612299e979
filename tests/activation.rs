//! Activation kernels against plain `f64` scalar references.
//!
//! # How the tolerances are set
//!
//! `u = 2⁻²⁴` (half an ulp, relative). Every `simd::math` function (`exp`, `expm1`, `ln`,
//! `ln_1p`, `tanh`, `erf`) is assumed to be within its contract of 4 ulp ≤ 8u relative — not
//! libm's accuracy — and every other `f32` operation rounds once (≤ 1u). Each op's bound below is
//! the sum of those terms along its evaluation chain, plus, where the kernel rounds an argument
//! (`βx` in softplus, `w(x)` in gelu_tanh, `x − max` in softmax), that rounding times the
//! function's sensitivity to it. Results below the smallest normal `f32` get an absolute floor
//! of `f32::MIN_POSITIVE` (relative bounds end there).
//!
//! # How gradients are checked
//!
//! Every backward is compared with `dy·f′(x)` where `f′` is a central finite difference (the
//! five-point stencil) of the `f64` reference forward, never a hand-written derivative. In
//! `f64`, with a step `h = 1e−5·max(1, |x|)`, the difference is good to about 1e−11 relative,
//! far below `u ≈ 6e−8`, so the backward can be held to the same derived tolerance as the
//! forward; its own error is estimated from the spread between steps `h` and `2h` and added.
//! A finite difference of our own `f32` forward could only be trusted to about `u^{2/3} ≈ 1e−5`
//! and would let formula slips of that size through. Points within reach of a kink (0 for the
//! rectifiers and elu, the threshold of softplus) are skipped there and pinned separately to
//! torch's one-sided choices. Backward kernels that read `y` are fed our own forward's `y`, as
//! in use, and their tolerance includes the forward's error carried through the formula.

use descent::activation::{self as act, Activation, Elu, LeakyRelu, Saved, Softplus};
use descent::Error;
mod common;
#[path = "reference/activation.rs"]
mod reference;

use common::for_each_isa;
use reference::{gelu_tanh_w, log_softmax64, normal_cdf, normal_pdf, sigma, softmax64, K, KAPPA};
#[path = "common/activation_layer.rs"]
mod activation_layer;
use activation_layer::{act_backward, act_forward};

const U: f64 = 1.0 / 16_777_216.0;
/// One `simd::math` call: 4 ulp ≤ 8u relative.
const MATH: f64 = 8.0;
/// Below the normal range relative bounds end.
const FLOOR: f64 = f32::MIN_POSITIVE as f64;
/// Fill for the elements around a sub-slice; they must come back untouched.
const GUARD: f32 = -1234.5;

type R = descent::Result<()>;
type Forward = Box<dyn Fn(&[f32], &mut [f32]) -> R>;
type ForwardInplace = Box<dyn Fn(&mut [f32]) -> R>;
type Backward = Box<dyn Fn(&[f32], &[f32], &mut [f32]) -> R>;
type BackwardInplace = Box<dyn Fn(&[f32], &mut [f32]) -> R>;

/// `f′(x)` by the five-point central difference of `f` in `f64`, and a bound on its error: the
/// spread between steps `h` and `2h` (truncation) plus the rounding noise of the evaluations
/// (`noise` absolute per evaluation, at least 4ε·|f|) amplified by the stencil's `1.5/h`.
fn derivative(f: &dyn Fn(f64) -> f64, x: f64, noise: f64) -> (f64, f64) {
    let stencil = |h: f64| {
        let (a, b, c, d) = (f(x + 2.0 * h), f(x + h), f(x - h), f(x - 2.0 * h));
        let big = a.abs().max(b.abs()).max(c.abs()).max(d.abs());
        ((-a + 8.0 * b - 8.0 * c + d) / (12.0 * h), big)
    };
    let h = 1e-5 * x.abs().max(1.0);
    let (d1, big) = stencil(h);
    let (d2, _) = stencil(2.0 * h);
    let noise = noise.max(4.0 * f64::EPSILON * big);
    (d1, (d1 - d2).abs() + 2.0 * noise / h)
}

/// An element-wise activation under test with its reference and tolerances.
struct Elementwise {
    name: String,
    forward: Forward,
    forward_inplace: ForwardInplace,
    /// `(saved, dy, dx)`.
    backward: Backward,
    backward_inplace: BackwardInplace,
    /// Backward reads `y` (otherwise `x`).
    from_output: bool,
    reference: Box<dyn Fn(f64) -> f64>,
    /// Absolute tolerance of `y` at `(x, exact y)`.
    y_tol: Box<dyn Fn(f64, f64) -> f64>,
    /// Absolute tolerance of `dx` at `(x, exact y, exact f′(x), dy)`.
    dx_tol: Box<dyn Fn(f64, f64, f64, f64) -> f64>,
    /// Where `f′` jumps: no finite difference reaches across.
    kinks: Vec<f64>,
}

/// An infallible in-place forward as a fallible one.
fn infallible(f: fn(&mut [f32])) -> ForwardInplace {
    Box::new(move |x| {
        f(x);
        Ok(())
    })
}

fn relu_op() -> Elementwise {
    Elementwise {
        name: "relu".into(),
        forward: Box::new(act::relu),
        forward_inplace: infallible(act::relu_inplace),
        backward: Box::new(act::relu_backward),
        backward_inplace: Box::new(act::relu_backward_inplace),
        from_output: true,
        reference: Box::new(|x| if x > 0.0 { x } else { 0.0 }),
        // Exact: a comparison and a copy.
        y_tol: Box::new(|_, _| 0.0),
        dx_tol: Box::new(|_, _, _, _| 0.0),
        kinks: vec![0.0],
    }
}

fn leaky_relu_op(s: f32) -> Elementwise {
    let s64 = s as f64;
    Elementwise {
        name: format!("leaky_relu({s})"),
        forward: Box::new(move |x, y| act::leaky_relu(x, y, s)),
        forward_inplace: Box::new(move |x| act::leaky_relu_inplace(x, s)),
        backward: Box::new(move |v, g, d| act::leaky_relu_backward(v, g, d, s)),
        backward_inplace: Box::new(move |v, g| act::leaky_relu_backward_inplace(v, g, s)),
        // From y when the slope keeps the sign of x; a negative slope needs x.
        from_output: s >= 0.0,
        reference: Box::new(move |x| if x > 0.0 { x } else { s64 * x }),
        // One rounded product (the correctly rounded `s·x`, torch's bits).
        y_tol: Box::new(|_, y| U * y.abs()),
        dx_tol: Box::new(|_, _, d, dy| U * (d * dy).abs()),
        kinks: vec![0.0],
    }
}

fn sigmoid_op() -> Elementwise {
    Elementwise {
        name: "sigmoid".into(),
        forward: Box::new(act::sigmoid),
        forward_inplace: infallible(act::sigmoid_inplace),
        backward: Box::new(act::sigmoid_backward),
        backward_inplace: Box::new(act::sigmoid_backward_inplace),
        from_output: true,
        reference: Box::new(sigma),
        // e = exp(−|x|): 8u. 1 + e: 1u + 8u·e/(1+e) ≤ 5u. r = 1/(1+e): 6u (x ≥ 0).
        // e·r = e/(1+e): 8u/(1+e) + 3 roundings ≤ 11u (x < 0). Bound 12u.
        y_tol: Box::new(|_, y| 12.0 * U * y.abs()),
        // dy·(1 − ỹ)·ỹ: 3 roundings of the result, plus ỹ's error |Δy| ≤ 12u·y carried
        // by ∂(y(1−y))/∂y = 1 − 2y.
        dx_tol: Box::new(|_, y, _, dy| {
            dy.abs() * (3.0 * U * y * (1.0 - y) + 12.0 * U * y * (1.0 - 2.0 * y).abs())
        }),
        kinks: vec![],
    }
}

fn tanh_op() -> Elementwise {
    Elementwise {
        name: "tanh".into(),
        forward: Box::new(act::tanh),
        forward_inplace: infallible(act::tanh_inplace),
        backward: Box::new(act::tanh_backward),
        backward_inplace: Box::new(act::tanh_backward_inplace),
        from_output: true,
        reference: Box::new(f64::tanh),
        // One math call.
        y_tol: Box::new(|_, y| MATH * U * y.abs()),
        // dy·(1 − ỹ²): ỹ² carries 2·8u + 1u relative of y², the subtraction and the product
        // round the result (2u·(1 − y²)).
        dx_tol: Box::new(|_, y, _, dy| dy.abs() * (17.0 * U * y * y + 2.0 * U * (1.0 - y * y))),
        kinks: vec![],
    }
}

fn gelu_op() -> Elementwise {
    Elementwise {
        name: "gelu".into(),
        forward: Box::new(act::gelu),
        forward_inplace: infallible(act::gelu_inplace),
        backward: Box::new(act::gelu_backward),
        backward_inplace: Box::new(act::gelu_backward_inplace),
        from_output: false,
        reference: Box::new(|x| x * normal_cdf(x)),
        // Q(|x|) = φ·t·P(t): exp 8u, (1 − lo/2) and its product 2u, 1/√(2π) and its product
        // 1.5u, the Mills ratio t·P(t) 6u (fit 0.25u + rounding of t and Horner, measured 5.6u
        // over a dense grid when fitted), the last product 1u: 18.5u. Φ = Q or 1 − Q (Q ≤ ½):
        // 19.5u; y = x·Φ: 20.5u. Bound 21u.
        y_tol: Box::new(|_, y| 21.0 * U * y.abs()),
        // Φ + x·φ: Φ 19.5u, φ 11.5u, x·φ 1u, the sum and the product with dy 2u.
        dx_tol: Box::new(|x, _, d, dy| {
            dy.abs() * U * (20.0 * normal_cdf(x) + 13.0 * (x * normal_pdf(x)).abs() + 2.0 * d.abs())
        }),
        kinks: vec![],
    }
}

fn gelu_tanh_op() -> Elementwise {
    Elementwise {
        name: "gelu_tanh".into(),
        forward: Box::new(act::gelu_tanh),
        forward_inplace: infallible(act::gelu_tanh_inplace),
        backward: Box::new(act::gelu_tanh_backward),
        backward_inplace: Box::new(act::gelu_tanh_backward_inplace),
        from_output: false,
        // ½x(1 + tanh(w/2)) = x·σ(w): the same function, without the f64 cancellation of
        // 1 + tanh in the lower tail.
        reference: Box::new(|x| x * sigma(gelu_tanh_w(x))),
        // σ(w̃) 11u, x·σ 1u; w̃ = x·(2k + 2kκ·x²) carries ≤ 4.5u relative (x², the product and
        // sum of the polynomial, the two rounded constants, the outer product), which moves
        // σ(w) by |w|·(1 − σ(w))·4.5u relative. Documented (and used): 14u + 6u·|w|(1 − σ(w)).
        y_tol: Box::new(|x, y| {
            let w = gelu_tanh_w(x);
            U * y.abs() * (14.0 + 6.0 * w.abs() * (1.0 - sigma(w)))
        }),
        // σ + x·σ(1−σ)·w′: σ and 1 − σ 11u each plus 4.5u·|w| from w̃, w′ 4u, the products
        // x·(σ(1−σ))·w′ 3u, the sum and the product with dy 2u.
        dx_tol: Box::new(|x, _, d, dy| {
            let w = gelu_tanh_w(x);
            let (s, c) = (sigma(w), sigma(-w));
            let wp = 2.0 * K * (1.0 + 3.0 * KAPPA * x * x);
            dy.abs()
                * U
                * (s * (12.0 + 5.0 * w.abs() * c)
                    + (x * s * c * wp).abs() * (30.0 + 5.0 * w.abs())
                    + 2.0 * d.abs())
        }),
        kinks: vec![],
    }
}

fn silu_op() -> Elementwise {
    Elementwise {
        name: "silu".into(),
        forward: Box::new(act::silu),
        forward_inplace: infallible(act::silu_inplace),
        backward: Box::new(act::silu_backward),
        backward_inplace: Box::new(act::silu_backward_inplace),
        from_output: false,
        reference: Box::new(|x| x * sigma(x)),
        // σ 11u (see sigmoid), one product.
        y_tol: Box::new(|_, y| 12.0 * U * y.abs()),
        // σ·(1 + x·c): σ and c = 1 − σ 11u each; x·c 1u, 1 + x·c 1u, σ·(…) 1u, ·dy 1u. The
        // sum cancels near x ≈ −1.28, so the bound is on the terms: 14u·|f′| + 12u·|σ·x·c|.
        dx_tol: Box::new(|x, _, d, dy| {
            dy.abs() * U * (14.0 * d.abs() + 12.0 * (sigma(x) * x * sigma(-x)).abs())
        }),
        kinks: vec![],
    }
}

fn softplus_op(beta: f32, threshold: f32) -> Elementwise {
    let (b, t) = (beta as f64, threshold as f64);
    // β·x is rounded unless β is a power of two (tested in f64: f32::MAX.log2() rounds to 128).
    let rounds = if (beta as f64).log2().fract() == 0.0 {
        0.0
    } else {
        1.0
    };
    let above = move |x: f64| (beta * x as f32) > threshold;
    Elementwise {
        name: format!("softplus({beta}, {threshold})"),
        forward: Box::new(move |x, y| act::softplus(x, y, beta, threshold)),
        forward_inplace: Box::new(move |x| act::softplus_inplace(x, beta, threshold)),
        backward: Box::new(move |v, g, d| act::softplus_backward(v, g, d, beta, threshold)),
        backward_inplace: Box::new(move |v, g| {
            act::softplus_backward_inplace(v, g, beta, threshold)
        }),
        from_output: false,
        // torch: `x` where the f32 product βx exceeds the threshold, else ln(1 + e^{βx})/β.
        reference: Box::new(move |x| {
            if above(x) {
                x
            } else {
                libm::log1p((b * x).exp()) / b
            }
        }),
        // l = ln_1p(exp(−|βx|)): 8u + 8u (ln_1p's sensitivity to its argument ≤ 1), /β 1u; the
        // sum with max(x, 0) (same signs) 1u: 18u. Rounding βx moves y by σ(βx)·|x|·u.
        y_tol: Box::new(move |x, y| {
            if above(x) {
                0.0
            } else {
                U * (18.0 * y.abs() + rounds * sigma(b * x) * x.abs())
            }
        }),
        // dy·σ(βx): σ 11u, product 1u; rounding βx moves σ by σ(1−σ)|βx|·u.
        dx_tol: Box::new(move |x, _, _, dy| {
            if above(x) {
                0.0
            } else {
                let s = sigma(b * x);
                dy.abs() * U * (12.0 * s + rounds * s * (1.0 - s) * (b * x).abs())
            }
        }),
        kinks: vec![t / b],
    }
}

fn elu_op(alpha: f32, from_output: bool) -> Elementwise {
    let a = alpha as f64;
    let (backward, backward_inplace): (Backward, BackwardInplace) = if from_output {
        (
            Box::new(move |v, g, d| act::elu_backward(v, g, d, alpha)),
            Box::new(move |v, g| act::elu_backward_inplace(v, g, alpha)),
        )
    } else {
        (
            Box::new(move |v, g, d| act::elu_backward_input(v, g, d, alpha)),
            Box::new(move |v, g| act::elu_backward_input_inplace(v, g, alpha)),
        )
    };
    Elementwise {
        name: format!("elu({alpha}, from {})", if from_output { "y" } else { "x" }),
        forward: Box::new(move |x, y| act::elu(x, y, alpha)),
        forward_inplace: Box::new(move |x| act::elu_inplace(x, alpha)),
        backward,
        backward_inplace,
        from_output,
        reference: Box::new(move |x| if x > 0.0 { x } else { a * x.exp_m1() }),
        // expm1 8u, ·α 1u; x > 0 is exact.
        y_tol: Box::new(|x, y| if x > 0.0 { 0.0 } else { 9.0 * U * y.abs() }),
        dx_tol: Box::new(move |x, y, _, dy| {
            if x > 0.0 {
                0.0
            } else if from_output {
                // dy·(ỹ + α): ỹ's 9u·|y|, the sum and the product 2u of α·eˣ.
                dy.abs() * U * (9.0 * y.abs() + 2.0 * a.abs() * x.exp())
            } else {
                // dy·α·eˣ: exp 8u, two products.
                dy.abs() * 10.0 * U * a.abs() * x.exp()
            }
        }),
        kinks: vec![0.0],
    }
}

fn elementwise_ops() -> Vec<Elementwise> {
    vec![
        relu_op(),
        leaky_relu_op(0.01),
        leaky_relu_op(0.2),
        leaky_relu_op(-0.3),
        sigmoid_op(),
        tanh_op(),
        gelu_op(),
        gelu_tanh_op(),
        silu_op(),
        softplus_op(1.0, 20.0),
        softplus_op(2.0, 10.0),
        softplus_op(0.7, 5.0),
        elu_op(1.0, true),
        elu_op(0.5, true),
        elu_op(1.0, false),
        elu_op(-0.5, false),
    ]
}

/// A deterministic pseudo-random stream.
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f64 / (1u64 << 24) as f64
    }

    /// Mostly moderate values, with tails out to ±90 and some tiny ones.
    fn value(&mut self) -> f32 {
        let scale = [0.5, 3.0, 10.0, 90.0, 1e-6][(self.unit() * 5.0) as usize];
        ((2.0 * self.unit() - 1.0) * scale) as f32
    }

    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.value()).collect()
    }
}

fn bits_equal(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// `got` against `want` within `tol` (+ the subnormal floor); NaN must meet NaN, infinities
/// must be equal.
fn close(got: f32, want: f64, tol: f64) -> bool {
    let g = got as f64;
    if want.is_nan() {
        return g.is_nan();
    }
    if want.is_infinite() {
        return g == want;
    }
    (g - want).abs() <= tol + FLOOR
}

/// Checks one op on `x` (forward, backward from `dy`, both in-place variants) inside buffers
/// whose elements around `[off, off + n)` must stay untouched.
fn check_elementwise(op: &Elementwise, x: &[f32], dy: &[f32], off: usize) {
    let n = x.len();
    let guarded = |v: &[f32]| {
        let mut b = vec![GUARD; off + n + 3];
        b[off..off + n].copy_from_slice(v);
        b
    };
    let guards_intact = |b: &[f32]| {
        b[..off]
            .iter()
            .chain(&b[off + n..])
            .all(|g| g.to_bits() == GUARD.to_bits())
    };
    let ctx = |i: usize| format!("{} n={n} off={off} i={i} x={:e}", op.name, x[i]);

    // Forward, out of place and in place.
    let xb = guarded(x);
    let mut yb = guarded(&vec![0.0; n]);
    (op.forward)(&xb[off..off + n], &mut yb[off..off + n]).unwrap();
    assert!(guards_intact(&yb), "{}: forward wrote outside y", op.name);
    let y = yb[off..off + n].to_vec();
    for i in 0..n {
        let xi = x[i] as f64;
        let want = (op.reference)(xi);
        let tol = (op.y_tol)(xi, want);
        assert!(
            close(y[i], want, tol),
            "{}: y = {:e}, want {want:e} ± {tol:e}",
            ctx(i),
            y[i]
        );
    }
    let mut ib = xb.clone();
    (op.forward_inplace)(&mut ib[off..off + n]).unwrap();
    assert!(
        guards_intact(&ib),
        "{}: in-place forward wrote outside x",
        op.name
    );
    assert!(
        bits_equal(&ib[off..off + n], &y),
        "{}: in-place forward differs",
        op.name
    );

    // Backward, out of place and in place, from our own forward's y when it reads y.
    let saved = if op.from_output {
        yb.clone()
    } else {
        xb.clone()
    };
    let gb = guarded(dy);
    let mut db = guarded(&vec![0.0; n]);
    (op.backward)(
        &saved[off..off + n],
        &gb[off..off + n],
        &mut db[off..off + n],
    )
    .unwrap();
    assert!(guards_intact(&db), "{}: backward wrote outside dx", op.name);
    let dx = db[off..off + n].to_vec();
    for i in 0..n {
        let xi = x[i] as f64;
        let h = 1e-5 * xi.abs().max(1.0);
        if op.kinks.iter().any(|k| (xi - k).abs() <= 3.0 * h) {
            continue;
        }
        let (d, fd_err) = derivative(&*op.reference, xi, 0.0);
        let g = dy[i] as f64;
        let want = g * d;
        let tol = (op.dx_tol)(xi, (op.reference)(xi), d, g) + g.abs() * fd_err;
        assert!(
            close(dx[i], want, tol),
            "{}: dx = {:e}, want {want:e} ± {tol:e} (dy = {g:e})",
            ctx(i),
            dx[i]
        );
    }
    let mut gi = gb.clone();
    (op.backward_inplace)(&saved[off..off + n], &mut gi[off..off + n]).unwrap();
    assert!(
        guards_intact(&gi),
        "{}: in-place backward wrote outside dy",
        op.name
    );
    assert!(
        bits_equal(&gi[off..off + n], &dx),
        "{}: in-place backward differs",
        op.name
    );
}

#[test]
fn elementwise_match_reference_at_every_length_and_offset() {
    for_each_isa(|_| elementwise_match_reference_at_every_length_and_offset_once());
}

/// One instruction set of [`elementwise_match_reference_at_every_length_and_offset`].
fn elementwise_match_reference_at_every_length_and_offset_once() {
    let mut rng = Lcg(1);
    for op in elementwise_ops() {
        for n in 0..=70 {
            for off in 0..=3 {
                let x = rng.values(n);
                let dy = rng.values(n);
                check_elementwise(&op, &x, &dy, off);
            }
        }
    }
}

/// A dense sweep: every op over `[−100, 100]` (finer near 0) and log-spaced magnitudes down to
/// 1e−30, so the tails, the transition regions and the tiny arguments all meet the bound.
#[test]
fn elementwise_match_reference_over_the_range() {
    for_each_isa(|_| elementwise_match_reference_over_the_range_once());
}

/// One instruction set of [`elementwise_match_reference_over_the_range`].
fn elementwise_match_reference_over_the_range_once() {
    let mut x: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.005).collect();
    x.extend((-2000..=2000).map(|i| i as f32 * 0.05));
    for e in -30..=2 {
        for m in [1.0f32, 1.7, 3.3, 6.1] {
            let v = m * 10f32.powi(e);
            x.extend([v, -v]);
        }
    }
    let mut rng = Lcg(2);
    let dy: Vec<f32> = x.iter().map(|_| rng.value() + 0.1).collect();
    for op in elementwise_ops() {
        check_elementwise(&op, &x, &dy, 1);
    }
}

/// The edge values of the golden vectors (±0, ±1e−7, ±20, ±20.5, ±80) and beyond, against the
/// reference with the same tolerances.
#[test]
fn elementwise_edge_values() {
    for_each_isa(|_| elementwise_edge_values_once());
}

/// One instruction set of [`elementwise_edge_values`].
fn elementwise_edge_values_once() {
    let mut x = vec![];
    for v in [0.0f32, 1e-7, 20.0, 20.5, 80.0, 1e4, 1e20, 3e38] {
        x.extend([v, -v]);
    }
    let dy: Vec<f32> = (0..x.len()).map(|i| 1.0 - 0.1 * i as f32).collect();
    for op in elementwise_ops() {
        // Huge |x| would overflow the finite difference's stencil: forward only there.
        let n = x.len();
        let mut y = vec![0.0; n];
        (op.forward)(&x, &mut y).unwrap();
        for i in 0..n {
            let xi = x[i] as f64;
            let want = (op.reference)(xi);
            let tol = (op.y_tol)(xi, want);
            assert!(
                close(y[i], want, tol),
                "{} x={:e}: y={:e} want {want:e}",
                op.name,
                x[i],
                y[i]
            );
        }
        check_elementwise(&op, &x[..12], &dy[..12], 2);
    }
}

/// Exactly at the kinks torch picks a side: relu′(0) = 0, leaky_relu′(0) = slope, elu′(0) = α,
/// for +0 and −0, from x and from y.
#[test]
fn derivatives_at_zero_follow_torch() {
    for_each_isa(|_| derivatives_at_zero_follow_torch_once());
}

/// One instruction set of [`derivatives_at_zero_follow_torch`].
fn derivatives_at_zero_follow_torch_once() {
    let zeros = [0.0f32, -0.0];
    let dy = [2.0f32, 2.0];
    let mut y = [9.0f32; 2];
    let mut dx = [9.0f32; 2];
    act::relu(&zeros, &mut y).unwrap();
    assert!(y.iter().all(|v| v.to_bits() == 0), "relu(±0) = +0");
    act::relu_backward(&zeros, &dy, &mut dx).unwrap();
    assert_eq!(dx, [0.0, 0.0]);
    act::relu_backward(&y, &dy, &mut dx).unwrap();
    assert_eq!(dx, [0.0, 0.0]);
    act::leaky_relu(&zeros, &mut y, 0.2).unwrap();
    act::leaky_relu_backward(&zeros, &dy, &mut dx, 0.2).unwrap();
    assert_eq!(dx, [2.0 * 0.2, 2.0 * 0.2]);
    act::leaky_relu_backward(&y, &dy, &mut dx, 0.2).unwrap();
    assert_eq!(dx, [2.0 * 0.2, 2.0 * 0.2]);
    act::elu(&zeros, &mut y, 0.5).unwrap();
    assert_eq!(y, [0.0, 0.0]);
    act::elu_backward(&y, &dy, &mut dx, 0.5).unwrap();
    assert_eq!(dx, [1.0, 1.0]);
    act::elu_backward_input(&zeros, &dy, &mut dx, 0.5).unwrap();
    assert_eq!(dx, [1.0, 1.0]);
    // softplus at exactly the threshold takes the smooth branch (βx > threshold is strict).
    let x = [20.0f32, 20.5];
    act::softplus(&x, &mut y, 1.0, 20.0).unwrap();
    assert_eq!(y[1], 20.5);
    assert!(((y[0] as f64) - (20.0 + (-20f64).exp())).abs() <= 18.0 * U * 20.0);
    act::softplus_backward(&x, &dy, &mut dx, 1.0, 20.0).unwrap();
    assert_eq!(dx[1], 2.0);
    assert!(((dx[0] as f64) - 2.0 * sigma(20.0)).abs() <= 2.0 * 12.0 * U);
}

/// ±∞ and NaN: forward values and backward factors (with `dy = 1`) of every op.
#[test]
fn non_finite_inputs() {
    for_each_isa(|_| non_finite_inputs_once());
}

/// One instruction set of [`non_finite_inputs`].
fn non_finite_inputs_once() {
    let inf = f32::INFINITY;
    let nan = f32::NAN;
    // (op, f(+∞), f(−∞), f′(+∞), f′(−∞), backward at NaN with dy = 1 is NaN?)
    struct Case {
        op: Elementwise,
        at_inf: [f32; 2],
        grad_inf: [f32; 2],
        /// `Some(v)`: backward at NaN gives `v` (torch's comparisons); `None`: NaN.
        grad_nan: Option<f32>,
    }
    let cases = [
        Case {
            op: relu_op(),
            at_inf: [inf, 0.0],
            grad_inf: [1.0, 0.0],
            grad_nan: Some(1.0),
        },
        Case {
            op: leaky_relu_op(0.2),
            at_inf: [inf, -inf],
            grad_inf: [1.0, 0.2],
            grad_nan: Some(0.2),
        },
        Case {
            op: sigmoid_op(),
            at_inf: [1.0, 0.0],
            grad_inf: [0.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: tanh_op(),
            at_inf: [1.0, -1.0],
            grad_inf: [0.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: gelu_op(),
            at_inf: [inf, -0.0],
            grad_inf: [1.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: gelu_tanh_op(),
            at_inf: [inf, -0.0],
            grad_inf: [1.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: silu_op(),
            at_inf: [inf, -0.0],
            grad_inf: [1.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: softplus_op(1.0, 20.0),
            at_inf: [inf, 0.0],
            grad_inf: [1.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: softplus_op(2.0, f32::INFINITY),
            at_inf: [inf, 0.0],
            grad_inf: [1.0, 0.0],
            grad_nan: None,
        },
        Case {
            op: elu_op(0.5, true),
            at_inf: [inf, -0.5],
            grad_inf: [1.0, 0.0],
            grad_nan: Some(1.0),
        },
        Case {
            op: elu_op(0.5, false),
            at_inf: [inf, -0.5],
            grad_inf: [1.0, 0.0],
            grad_nan: Some(1.0),
        },
    ];
    let x = [inf, -inf, nan];
    for c in &cases {
        let mut y = [0.0f32; 3];
        (c.op.forward)(&x, &mut y).unwrap();
        assert_eq!(
            y[0].to_bits(),
            c.at_inf[0].to_bits(),
            "{}(+∞) = {}",
            c.op.name,
            y[0]
        );
        assert_eq!(
            y[1].to_bits(),
            c.at_inf[1].to_bits(),
            "{}(−∞) = {}",
            c.op.name,
            y[1]
        );
        assert!(y[2].is_nan(), "{}(NaN) = {}", c.op.name, y[2]);
        let saved = if c.op.from_output { y } else { x };
        let mut dx = [0.0f32; 3];
        (c.op.backward)(&saved, &[1.0; 3], &mut dx).unwrap();
        assert_eq!(&dx[..2], &c.grad_inf, "{}′(±∞)", c.op.name);
        match c.grad_nan {
            Some(v) => assert_eq!(dx[2], v, "{}′(NaN)", c.op.name),
            None => assert!(dx[2].is_nan(), "{}′(NaN) = {}", c.op.name, dx[2]),
        }
    }
}

/// The relative accuracy of the tails, where a direct transcription loses every digit.
#[test]
fn tails_keep_relative_accuracy() {
    for_each_isa(|_| tails_keep_relative_accuracy_once());
}

/// One instruction set of [`tails_keep_relative_accuracy`].
fn tails_keep_relative_accuracy_once() {
    let mut y = [0.0f32; 4];
    let x = [-8.0f32, -12.0, -30.0, -80.0];
    act::gelu(&x[..2], &mut y[..2]).unwrap();
    for i in 0..2 {
        let want = x[i] as f64 * normal_cdf(x[i] as f64);
        assert!(
            ((y[i] as f64) - want).abs() <= 21.0 * U * want.abs(),
            "gelu({})",
            x[i]
        );
    }
    act::sigmoid(&x, &mut y).unwrap();
    for i in 0..4 {
        let want = sigma(x[i] as f64);
        assert!(
            ((y[i] as f64) - want).abs() <= 12.0 * U * want,
            "sigmoid({})",
            x[i]
        );
    }
    act::softplus(&x, &mut y, 1.0, 20.0).unwrap();
    for i in 0..4 {
        let want = libm::log1p((x[i] as f64).exp());
        assert!(
            ((y[i] as f64) - want).abs() <= 18.0 * U * want,
            "softplus({})",
            x[i]
        );
    }
    let tiny = [1e-7f32, -1e-7, 3e-30, -3e-30];
    act::elu(&tiny, &mut y, 1.0).unwrap();
    for i in 0..4 {
        let xi = tiny[i] as f64;
        let want = if xi > 0.0 { xi } else { xi.exp_m1() };
        assert!(
            ((y[i] as f64) - want).abs() <= 9.0 * U * want.abs(),
            "elu({})",
            tiny[i]
        );
    }
    // 1 − σ(x) for large x enters silu′ and gelu_tanh′ directly.
    let big = [10.0f32, 15.0];
    let mut dx = [0.0f32; 2];
    act::silu_backward(&big, &[1.0; 2], &mut dx).unwrap();
    for i in 0..2 {
        let xi = big[i] as f64;
        let want = sigma(xi) * (1.0 + xi * sigma(-xi));
        assert!(
            ((dx[i] as f64) - want).abs() <= 30.0 * U * want,
            "silu′({})",
            big[i]
        );
    }
}

fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|v| *v as f64).collect()
}

/// `∂/∂x_j Σ_i dy_i·f(x)_i` for every `j`, by the five-point difference of the `f64` reference,
/// with its error bound.
fn vjp_fd(f: fn(&[f64]) -> Vec<f64>, x: &[f32], dy: &[f32]) -> Vec<(f64, f64)> {
    let xs = widen(x);
    let dy = widen(dy);
    // One evaluation of Σ dy_i·f_i rounds each term and the sum: (n + 4)ε of Σ|dy_i·f_i|.
    let terms: f64 = f(&xs).iter().zip(&dy).map(|(a, b)| (a * b).abs()).sum();
    let noise = (x.len() as f64 + 4.0) * f64::EPSILON * terms;
    (0..x.len())
        .map(|j| {
            let loss = |t: f64| {
                let mut row = xs.clone();
                row[j] = t;
                f(&row).iter().zip(&dy).map(|(a, b)| a * b).sum::<f64>()
            };
            derivative(&loss, xs[j], noise)
        })
        .collect()
}

/// The relative error budget of `S = Σ e^{x_k − m}`: each term's exp 8u plus the rounding of
/// `x_k − m` (`|x_k − m|·u`), weighted by its share `p_k`, plus `n − 1` roundings of the sum.
fn sum_budget(x: &[f32], p: &[f64]) -> f64 {
    let m = x.iter().fold(f64::NEG_INFINITY, |a, v| a.max(*v as f64));
    let n = x.len() as f64;
    U * (x
        .iter()
        .zip(p)
        .map(|(v, pk)| pk * (MATH + (*v as f64 - m).abs()))
        .sum::<f64>()
        + n)
}

/// (forward, forward in place, backward, backward in place) of softmax or log-softmax.
type RowKernels = (
    fn(&[f32], &mut [f32], usize) -> R,
    fn(&mut [f32], usize) -> R,
    fn(&[f32], &[f32], &mut [f32], usize) -> R,
    fn(&[f32], &mut [f32], usize) -> R,
);

fn row_kernels(log: bool) -> RowKernels {
    if log {
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
    }
}

/// Checks softmax or log-softmax on `rows × cols` data inside a guarded buffer at offset `off`.
fn check_softmax(log: bool, x: &[f32], dy: &[f32], cols: usize, off: usize) {
    let n = x.len();
    let name = if log { "log_softmax" } else { "softmax" };
    let guarded = |v: &[f32]| {
        let mut b = vec![GUARD; off + n + 3];
        b[off..off + n].copy_from_slice(v);
        b
    };
    let intact = |b: &[f32]| {
        b[..off]
            .iter()
            .chain(&b[off + n..])
            .all(|g| g.to_bits() == GUARD.to_bits())
    };
    let (fwd, fwd_ip, bwd, bwd_ip) = row_kernels(log);

    let xb = guarded(x);
    let mut yb = guarded(&vec![0.0; n]);
    fwd(&xb[off..off + n], &mut yb[off..off + n], cols).unwrap();
    assert!(intact(&yb), "{name}: wrote outside y");
    let y = yb[off..off + n].to_vec();
    let mut ib = xb.clone();
    fwd_ip(&mut ib[off..off + n], cols).unwrap();
    assert!(
        intact(&ib) && bits_equal(&ib[off..off + n], &y),
        "{name}: in place differs"
    );
    let gb = guarded(dy);
    let mut db = guarded(&vec![0.0; n]);
    bwd(
        &yb[off..off + n],
        &gb[off..off + n],
        &mut db[off..off + n],
        cols,
    )
    .unwrap();
    assert!(intact(&db), "{name}: wrote outside dx");
    let dx = db[off..off + n].to_vec();
    let mut gi = gb.clone();
    bwd_ip(&yb[off..off + n], &mut gi[off..off + n], cols).unwrap();
    assert!(
        intact(&gi) && bits_equal(&gi[off..off + n], &dx),
        "{name}: in-place backward differs"
    );

    for r in 0..n / cols {
        let row = r * cols..(r + 1) * cols;
        let (xr, yr, gr, dr) = (&x[row.clone()], &y[row.clone()], &dy[row.clone()], &dx[row]);
        let m = xr.iter().fold(f64::NEG_INFINITY, |a, v| a.max(*v as f64));
        let p = softmax64(&widen(xr));
        let s_err = sum_budget(xr, &p);
        let c = cols as f64;
        // Forward tolerance per element (see the doc comments of the kernels).
        let y_tol: Vec<f64> = if log {
            // (x_j − m) rounds (u·|x_j − m|); ln S̃ = ln S + ΔS/S, ln's own 8u·|ln S|; the last
            // subtraction u·|y_j|.
            let s: f64 = xr.iter().map(|v| (*v as f64 - m).exp()).sum();
            log_softmax64(&widen(xr))
                .iter()
                .zip(xr)
                .map(|(yj, v)| U * ((*v as f64 - m).abs() + yj.abs() + MATH * s.ln()) + s_err)
                .collect()
        } else {
            // e_j: 8u + u·|x_j − m|; S̃: s_err; the division 1u.
            p.iter()
                .zip(xr)
                .map(|(pj, v)| pj * (U * (MATH + 1.0 + (*v as f64 - m).abs()) + s_err))
                .collect()
        };
        let want_y = if log {
            log_softmax64(&widen(xr))
        } else {
            p.clone()
        };
        for j in 0..cols {
            assert!(
                close(yr[j], want_y[j], y_tol[j]),
                "{name} cols={cols} off={off} row {r} j={j}: y={:e} want {:e} ± {:e}",
                yr[j],
                want_y[j],
                y_tol[j]
            );
        }
        if !log {
            // Rows sum to 1 within the elements' bounds plus the sum's own cols·u.
            let total: f64 = yr.iter().map(|v| *v as f64).sum();
            let bound: f64 = y_tol.iter().sum::<f64>() + c * U;
            assert!(
                (total - 1.0).abs() <= bound,
                "softmax row {r} sums to {total}"
            );
        }
        let fd = vjp_fd(if log { log_softmax64 } else { softmax64 }, xr, gr);
        let g64: Vec<f64> = gr.iter().map(|v| *v as f64).collect();
        for j in 0..cols {
            let (want, fd_err) = fd[j];
            let tol = if log {
                // dy_j − e^{ỹ_j}·Σdy: Σdy (cols − 1)u·Σ|dy|; e^{ỹ} carries ỹ's error (absolute
                // y_tol) and exp's 8u; a product and a subtraction 2u.
                let sum_dy: f64 = g64.iter().sum();
                let abs_dy: f64 = g64.iter().map(|v| v.abs()).sum();
                p[j] * (sum_dy.abs() * (y_tol[j] + (MATH + 1.0) * U) + (c - 1.0) * U * abs_dy)
                    + U * (want.abs() + g64[j].abs())
            } else {
                // ỹ_j·(dy_j − D), D = Σ ỹ_k dy_k: the dot product cols·u·Σ|y dy| and ỹ's
                // errors Σ y_tol·|dy|; ỹ_j's own error times |dy_j − D|; two roundings.
                let d: f64 = p.iter().zip(&g64).map(|(a, b)| a * b).sum();
                let dot_err: f64 =
                    c * U * p.iter().zip(&g64).map(|(a, b)| (a * b).abs()).sum::<f64>()
                        + y_tol
                            .iter()
                            .zip(&g64)
                            .map(|(t, b)| t * b.abs())
                            .sum::<f64>();
                p[j] * dot_err + y_tol[j] * (g64[j] - d).abs() + 2.0 * U * want.abs()
            };
            assert!(
                close(dr[j], want, tol + fd_err),
                "{name}′ cols={cols} off={off} row {r} j={j}: dx={:e} want {want:e} ± {:e}; x={xr:?}",
                dr[j],
                tol + fd_err
            );
        }
    }
}

#[test]
fn softmax_match_reference_at_every_width_and_offset() {
    for_each_isa(|_| softmax_match_reference_at_every_width_and_offset_once());
}

/// One instruction set of [`softmax_match_reference_at_every_width_and_offset`].
fn softmax_match_reference_at_every_width_and_offset_once() {
    let mut rng = Lcg(3);
    for cols in 1..=70 {
        for off in 0..=3 {
            for rows in [1, 3] {
                let x = rng.values(rows * cols);
                let dy = rng.values(rows * cols);
                check_softmax(false, &x, &dy, cols, off);
                check_softmax(true, &x, &dy, cols, off);
            }
        }
    }
    // Zero rows is fine and writes nothing.
    check_softmax(false, &[], &[], 5, 1);
    check_softmax(true, &[], &[], 5, 1);
}

#[test]
fn softmax_extremes() {
    for_each_isa(|_| softmax_extremes_once());
}

/// One instruction set of [`softmax_extremes`].
fn softmax_extremes_once() {
    // ±80 and ±1e4 in one row: max-subtracted, so nothing overflows.
    let x = [80.0f32, -80.0, 1e4, -1e4, 0.0, 9999.0, 1e4 - 1.0, 20.5];
    let dy = [0.5f32, -1.0, 2.0, 0.25, -0.75, 1.0, 0.1, 3.0];
    check_softmax(false, &x, &dy, 8, 0);
    check_softmax(true, &x, &dy, 8, 2);
    check_softmax(false, &x, &dy, 4, 1);
    check_softmax(true, &x, &dy, 2, 3);

    // −∞ entries: exactly 0 (softmax) or −∞ (log_softmax), the rest as without them.
    let x = [1.0f32, f32::NEG_INFINITY, 2.0, f32::NEG_INFINITY, 0.5];
    let mut y = [0.0f32; 5];
    act::softmax(&x, &mut y, 5).unwrap();
    assert_eq!((y[1], y[3]), (0.0, 0.0));
    let mut y3 = [0.0f32; 3];
    act::softmax(&[1.0, 2.0, 0.5], &mut y3, 3).unwrap();
    assert_eq!([y[0], y[2], y[4]], y3);
    let mut dx = [0.0f32; 5];
    act::softmax_backward(&y, &[1.0, 5.0, 2.0, -3.0, 0.5], &mut dx, 5).unwrap();
    assert_eq!((dx[1], dx[3]), (0.0, 0.0));
    act::log_softmax(&x, &mut y, 5).unwrap();
    assert_eq!((y[1], y[3]), (f32::NEG_INFINITY, f32::NEG_INFINITY));
    assert!(y.iter().all(|v| !v.is_nan()));
    act::log_softmax_backward(&y, &[1.0, 5.0, 2.0, -3.0, 0.5], &mut dx, 5).unwrap();
    assert_eq!((dx[1], dx[3]), (5.0, -3.0), "e^{{−∞}} = 0: dx = dy there");

    // A row of all −∞ gives NaN (torch: −∞ − (−∞)); other rows are unaffected.
    let x = [f32::NEG_INFINITY, f32::NEG_INFINITY, 1.0, 1.0];
    let mut y = [0.0f32; 4];
    act::softmax(&x, &mut y, 2).unwrap();
    assert!(y[0].is_nan() && y[1].is_nan());
    assert_eq!([y[2], y[3]], [0.5, 0.5]);
    act::log_softmax(&x, &mut y, 2).unwrap();
    assert!(y[0].is_nan() && y[1].is_nan());
    // −ln 2: ln within 8u, one subtraction.
    let ln2 = std::f64::consts::LN_2;
    assert!((y[2] as f64 + ln2).abs() <= (MATH + 1.0) * U * ln2);

    // NaN or +∞ in a row poisons that row only.
    for bad in [f32::NAN, f32::INFINITY] {
        let x = [0.0f32, bad, 3.0, 1.0, 2.0, 3.0];
        let mut y = [0.0f32; 6];
        act::softmax(&x, &mut y, 3).unwrap();
        assert!(y[..3].iter().all(|v| v.is_nan()));
        assert!(y[3..].iter().all(|v| v.is_finite()));
        act::log_softmax(&x, &mut y, 3).unwrap();
        assert!(y[..3].iter().all(|v| v.is_nan()));
        assert!(y[3..].iter().all(|v| v.is_finite()));
    }

    // One column: softmax is 1, log_softmax is 0, gradients are 0.
    let x = [3.0f32, -80.0, 1e4];
    let mut y = [9.0f32; 3];
    act::softmax(&x, &mut y, 1).unwrap();
    assert_eq!(y, [1.0; 3]);
    let mut dx = [9.0f32; 3];
    act::softmax_backward(&y, &[1.0, 2.0, 3.0], &mut dx, 1).unwrap();
    assert_eq!(dx, [0.0; 3]);
    act::log_softmax(&x, &mut y, 1).unwrap();
    assert_eq!(y, [0.0; 3]);
    act::log_softmax_backward(&y, &[1.0, 2.0, 3.0], &mut dx, 1).unwrap();
    assert_eq!(dx, [0.0; 3]);
}

#[test]
fn errors() {
    let x = [1.0f32; 6];
    let mut y5 = [0.0f32; 5];
    let mut y6 = [0.0f32; 6];
    let mismatch = |what, expected, actual| Error::LengthMismatch {
        what,
        expected,
        actual,
    };
    let bad = |what| Error::InvalidHyperParameter { what };

    // Element-wise: y, dy, dx lengths.
    assert_eq!(act::relu(&x, &mut y5), Err(mismatch("y", 6, 5)));
    assert_eq!(act::sigmoid(&x, &mut y5), Err(mismatch("y", 6, 5)));
    assert_eq!(act::tanh(&x, &mut y5), Err(mismatch("y", 6, 5)));
    assert_eq!(act::gelu(&x, &mut y5), Err(mismatch("y", 6, 5)));
    assert_eq!(act::gelu_tanh(&x, &mut y5), Err(mismatch("y", 6, 5)));
    assert_eq!(act::silu(&x, &mut y5), Err(mismatch("y", 6, 5)));
    assert_eq!(act::leaky_relu(&x, &mut y5, 0.1), Err(mismatch("y", 6, 5)));
    assert_eq!(
        act::softplus(&x, &mut y5, 1.0, 20.0),
        Err(mismatch("y", 6, 5))
    );
    assert_eq!(act::elu(&x, &mut y5, 1.0), Err(mismatch("y", 6, 5)));
    assert_eq!(
        act::relu_backward(&x, &x[..5], &mut y6),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::relu_backward(&x, &x, &mut y5),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::sigmoid_backward(&x, &x, &mut y5),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::tanh_backward(&x, &x[..4], &mut y6),
        Err(mismatch("dy", 6, 4))
    );
    assert_eq!(
        act::gelu_backward(&x, &x, &mut y5),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::gelu_tanh_backward(&x, &x, &mut y5),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::silu_backward(&x, &x, &mut y5),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::leaky_relu_backward(&x, &x, &mut y5, 0.1),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::softplus_backward(&x, &x, &mut y5, 1.0, 20.0),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::elu_backward(&x, &x, &mut y5, 1.0),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::elu_backward_input(&x, &x, &mut y5, 1.0),
        Err(mismatch("dx", 6, 5))
    );
    assert_eq!(
        act::relu_backward_inplace(&x, &mut y5),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::sigmoid_backward_inplace(&x, &mut y5),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::tanh_backward_inplace(&x, &mut y5),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::gelu_backward_inplace(&x, &mut y5),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::gelu_tanh_backward_inplace(&x, &mut y5),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::silu_backward_inplace(&x, &mut y5),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::leaky_relu_backward_inplace(&x, &mut y5, 0.1),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::softplus_backward_inplace(&x, &mut y5, 1.0, 20.0),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::elu_backward_inplace(&x, &mut y5, 1.0),
        Err(mismatch("dy", 6, 5))
    );
    assert_eq!(
        act::elu_backward_input_inplace(&x, &mut y5, 1.0),
        Err(mismatch("dy", 6, 5))
    );
    // A failed call writes nothing.
    assert_eq!(y5, [0.0; 5]);

    // Hyper-parameters.
    let mut z = [0.0f32; 6];
    for s in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(act::leaky_relu(&x, &mut y6, s), Err(bad("negative_slope")));
        assert_eq!(
            act::leaky_relu_inplace(&mut z, s),
            Err(bad("negative_slope"))
        );
        assert_eq!(
            act::leaky_relu_backward(&x, &x, &mut y6, s),
            Err(bad("negative_slope"))
        );
        assert_eq!(
            act::leaky_relu_backward_inplace(&x, &mut z, s),
            Err(bad("negative_slope"))
        );
        assert_eq!(act::elu(&x, &mut y6, s), Err(bad("alpha")));
        assert_eq!(act::elu_inplace(&mut z, s), Err(bad("alpha")));
        assert_eq!(
            act::elu_backward_input(&x, &x, &mut y6, s),
            Err(bad("alpha"))
        );
        assert_eq!(
            act::elu_backward_input_inplace(&x, &mut z, s),
            Err(bad("alpha"))
        );
    }
    for a in [f32::NAN, f32::INFINITY, -0.5] {
        assert_eq!(act::elu_backward(&x, &x, &mut y6, a), Err(bad("alpha")));
        assert_eq!(act::elu_backward_inplace(&x, &mut z, a), Err(bad("alpha")));
    }
    for b in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        assert_eq!(act::softplus(&x, &mut y6, b, 20.0), Err(bad("beta")));
        assert_eq!(act::softplus_inplace(&mut z, b, 20.0), Err(bad("beta")));
        assert_eq!(
            act::softplus_backward(&x, &x, &mut y6, b, 20.0),
            Err(bad("beta"))
        );
        assert_eq!(
            act::softplus_backward_inplace(&x, &mut z, b, 20.0),
            Err(bad("beta"))
        );
    }
    assert_eq!(
        act::softplus(&x, &mut y6, 1.0, f32::NAN),
        Err(bad("threshold"))
    );
    assert_eq!(
        act::softplus_inplace(&mut z, 1.0, f32::NAN),
        Err(bad("threshold"))
    );
    assert_eq!(
        act::softplus_backward(&x, &x, &mut y6, 1.0, f32::NAN),
        Err(bad("threshold"))
    );
    assert_eq!(
        act::softplus_backward_inplace(&x, &mut z, 1.0, f32::NAN),
        Err(bad("threshold"))
    );
    assert_eq!(
        z, [0.0; 6],
        "a rejected in-place call leaves its slice alone"
    );

    // Softmax shapes.
    let zero = Error::ZeroDimension { what: "cols" };
    for log in [false, true] {
        let (f, fi, b, bi) = row_kernels(log);
        assert_eq!(f(&x, &mut y6, 0), Err(zero));
        assert_eq!(f(&[], &mut [], 0), Err(zero));
        assert_eq!(fi(&mut z, 0), Err(zero));
        assert_eq!(b(&x, &x, &mut y6, 0), Err(zero));
        assert_eq!(bi(&x, &mut z, 0), Err(zero));
        assert_eq!(f(&x, &mut y6, 4), Err(mismatch("x", 4, 6)));
        assert_eq!(fi(&mut z, 5), Err(mismatch("x", 5, 6)));
        assert_eq!(f(&x, &mut y5, 3), Err(mismatch("y", 6, 5)));
        assert_eq!(b(&x, &x, &mut y6, 4), Err(mismatch("y", 4, 6)));
        assert_eq!(b(&x, &x[..3], &mut y6, 3), Err(mismatch("dy", 6, 3)));
        assert_eq!(b(&x, &x, &mut y5, 3), Err(mismatch("dx", 6, 5)));
        assert_eq!(bi(&x, &mut z, 4), Err(mismatch("y", 4, 6)));
        assert_eq!(bi(&x, &mut y5, 3), Err(mismatch("dy", 6, 5)));
        assert_eq!(z, [0.0; 6]);
    }
}

fn all_activations() -> Vec<Activation> {
    vec![
        Activation::Relu,
        Activation::LeakyRelu(LeakyRelu::default()),
        Activation::LeakyRelu(LeakyRelu {
            negative_slope: -0.25,
        }),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Softplus(Softplus::default()),
        Activation::Softplus(Softplus {
            beta: 2.0,
            threshold: 3.0,
        }),
        Activation::Elu(Elu::default()),
        Activation::Elu(Elu { alpha: -0.5 }),
        Activation::Softmax,
        Activation::LogSoftmax,
    ]
}

#[test]
fn activation_defaults_are_torchs() {
    assert_eq!(LeakyRelu::default().negative_slope, 0.01);
    assert_eq!(
        Softplus::default(),
        Softplus {
            beta: 1.0,
            threshold: 20.0
        }
    );
    assert_eq!(Elu::default().alpha, 1.0);
    assert_eq!(LeakyRelu::DEFAULT, LeakyRelu::default());
}

/// The enum gives the kernels' bits, in place and out of place, and its `saved` is the tensor
/// the kernel reads.
#[test]
fn activation_dispatches_to_the_kernels() {
    for_each_isa(|_| activation_dispatches_to_the_kernels_once());
}

/// One instruction set of [`activation_dispatches_to_the_kernels`].
fn activation_dispatches_to_the_kernels_once() {
    let mut rng = Lcg(4);
    let (rows, cols) = (3, 7);
    let x = rng.values(rows * cols);
    let dy = rng.values(rows * cols);
    for a in all_activations() {
        let mut y = vec![0.0; x.len()];
        act_forward(&a, &x, &mut y, cols).unwrap();
        let mut direct = vec![0.0; x.len()];
        match a {
            Activation::Relu => act::relu(&x, &mut direct).unwrap(),
            Activation::LeakyRelu(p) => act::leaky_relu(&x, &mut direct, p.negative_slope).unwrap(),
            Activation::Sigmoid => act::sigmoid(&x, &mut direct).unwrap(),
            Activation::Tanh => act::tanh(&x, &mut direct).unwrap(),
            Activation::Gelu => act::gelu(&x, &mut direct).unwrap(),
            Activation::GeluTanh => act::gelu_tanh(&x, &mut direct).unwrap(),
            Activation::Silu => act::silu(&x, &mut direct).unwrap(),
            Activation::Softplus(p) => act::softplus(&x, &mut direct, p.beta, p.threshold).unwrap(),
            Activation::Elu(p) => act::elu(&x, &mut direct, p.alpha).unwrap(),
            Activation::Softmax => act::softmax(&x, &mut direct, cols).unwrap(),
            Activation::LogSoftmax => act::log_softmax(&x, &mut direct, cols).unwrap(),
        }
        assert!(bits_equal(&y, &direct), "{a:?} forward");
        let mut inplace = x.clone();
        a.forward_inplace(&mut inplace, cols).unwrap();
        assert!(bits_equal(&y, &inplace), "{a:?} forward_inplace");

        let saved = match a.saved() {
            Saved::Input => &x,
            Saved::Output => &y,
        };
        let mut dx = vec![0.0; x.len()];
        act_backward(&a, saved, &dy, &mut dx, cols).unwrap();
        let mut dx_inplace = dy.clone();
        a.backward_inplace(saved, &mut dx_inplace, cols).unwrap();
        assert!(bits_equal(&dx, &dx_inplace), "{a:?} backward_inplace");
        // The gradient matches the derivative of the reference where one is at hand.
        let mut direct = vec![0.0; x.len()];
        match a {
            Activation::Relu => act::relu_backward(&x, &dy, &mut direct).unwrap(),
            Activation::LeakyRelu(p) => {
                act::leaky_relu_backward(&x, &dy, &mut direct, p.negative_slope).unwrap()
            }
            Activation::Sigmoid => act::sigmoid_backward(&y, &dy, &mut direct).unwrap(),
            Activation::Tanh => act::tanh_backward(&y, &dy, &mut direct).unwrap(),
            Activation::Gelu => act::gelu_backward(&x, &dy, &mut direct).unwrap(),
            Activation::GeluTanh => act::gelu_tanh_backward(&x, &dy, &mut direct).unwrap(),
            Activation::Silu => act::silu_backward(&x, &dy, &mut direct).unwrap(),
            Activation::Softplus(p) => {
                act::softplus_backward(&x, &dy, &mut direct, p.beta, p.threshold).unwrap()
            }
            Activation::Elu(p) => act::elu_backward_input(&x, &dy, &mut direct, p.alpha).unwrap(),
            Activation::Softmax => act::softmax_backward(&y, &dy, &mut direct, cols).unwrap(),
            Activation::LogSoftmax => {
                act::log_softmax_backward(&y, &dy, &mut direct, cols).unwrap()
            }
        }
        if let Activation::Elu(p) = a {
            // From y (α ≥ 0) and from x agree to a few ulp of α·dy.
            for i in 0..x.len() {
                // From y: 9u·|y| + 2u·α·eˣ; from x: 10u·α·eˣ (see elu_op); |y| ≤ α.
                let tol = 21.0 * U * (p.alpha.abs() * dy[i].abs()) as f64;
                assert!(((dx[i] - direct[i]) as f64).abs() <= tol, "{a:?} backward");
            }
        } else {
            assert!(bits_equal(&dx, &direct), "{a:?} backward");
        }
    }
}

#[test]
fn activation_saved_and_shape_errors() {
    assert_eq!(Activation::Relu.saved(), Saved::Output);
    assert_eq!(
        Activation::LeakyRelu(LeakyRelu {
            negative_slope: 0.0
        })
        .saved(),
        Saved::Output
    );
    assert_eq!(
        Activation::LeakyRelu(LeakyRelu {
            negative_slope: -0.1
        })
        .saved(),
        Saved::Input
    );
    assert_eq!(Activation::Sigmoid.saved(), Saved::Output);
    assert_eq!(Activation::Tanh.saved(), Saved::Output);
    assert_eq!(Activation::Gelu.saved(), Saved::Input);
    assert_eq!(Activation::GeluTanh.saved(), Saved::Input);
    assert_eq!(Activation::Silu.saved(), Saved::Input);
    assert_eq!(
        Activation::Softplus(Softplus::default()).saved(),
        Saved::Input
    );
    assert_eq!(Activation::Elu(Elu::default()).saved(), Saved::Output);
    assert_eq!(Activation::Elu(Elu { alpha: -1.0 }).saved(), Saved::Input);
    assert_eq!(Activation::Softmax.saved(), Saved::Output);
    assert_eq!(Activation::LogSoftmax.saved(), Saved::Output);

    let x = [0.5f32; 6];
    let mut y = [0.0f32; 6];
    let mut z = [0.0f32; 6];
    for a in all_activations() {
        let zero = Err(Error::ZeroDimension { what: "cols" });
        assert_eq!(act_forward(&a, &x, &mut y, 0), zero, "{a:?}");
        assert_eq!(a.forward_inplace(&mut z, 0), zero, "{a:?}");
        assert_eq!(act_backward(&a, &x, &x, &mut y, 0), zero, "{a:?}");
        assert_eq!(a.backward_inplace(&x, &mut z, 0), zero, "{a:?}");
        let not_rows = |what| {
            Err(Error::LengthMismatch {
                what,
                expected: 4,
                actual: 6,
            })
        };
        assert_eq!(act_forward(&a, &x, &mut y, 4), not_rows("x"), "{a:?}");
        assert_eq!(a.forward_inplace(&mut z, 4), not_rows("x"), "{a:?}");
        assert_eq!(
            act_backward(&a, &x, &x, &mut y, 4),
            not_rows("saved"),
            "{a:?}"
        );
        assert_eq!(
            a.backward_inplace(&x, &mut z, 4),
            not_rows("saved"),
            "{a:?}"
        );
        assert_eq!(
            act_backward(&a, &x, &x, &mut y[..3], 3),
            Err(Error::LengthMismatch {
                what: "dx",
                expected: 6,
                actual: 3
            }),
            "{a:?}"
        );
        assert_eq!(y, [0.0; 6]);
        assert_eq!(z, [0.0; 6]);
    }
    let bad = Activation::Softplus(Softplus {
        beta: 0.0,
        threshold: 20.0,
    });
    assert_eq!(
        act_forward(&bad, &x, &mut y, 2),
        Err(Error::InvalidHyperParameter { what: "beta" })
    );
}
