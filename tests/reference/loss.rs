//! `f64` references of the losses, written from torch's documented formulas, with the rounding
//! bounds of the `f32` kernels (in units of `U = 2⁻²⁴`, assuming the contract of
//! `descent::simd::math`: `exp`, `ln_1p` within 4 ulp).
//!
//! Shared by `tests/loss.rs` and `fuzz/fuzz_targets/loss.rs`.
#![allow(dead_code)]

use descent::loss::{self, Reduction};

/// The unit round-off of `f32`.
pub const U: f64 = f32::EPSILON as f64 / 2.0;
/// The smallest normal `f32`, as `f64`.
pub const FLOOR: f64 = f32::MIN_POSITIVE as f64;

/// The element-wise losses, with their hyper-parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Mse,
    L1,
    Huber(f32),
    SmoothL1(f32),
    Bce,
}

/// The crate's kernel for `kind`.
pub fn call(
    kind: Kind,
    x: &[f32],
    t: &[f32],
    pw: Option<&[f32]>,
    grad: Option<&mut [f32]>,
    red: Reduction,
) -> descent::Result<f32> {
    match kind {
        Kind::Mse => loss::mse(x, t, grad, red),
        Kind::L1 => loss::l1(x, t, grad, red),
        Kind::Huber(delta) => loss::huber(x, t, delta, grad, red),
        Kind::SmoothL1(beta) => loss::smooth_l1(x, t, beta, grad, red),
        Kind::Bce => loss::binary_cross_entropy_with_logits(x, t, pw, grad, red),
    }
}

/// `s`, the factor of the reduction on the sum of `n` terms.
pub fn scale(red: Reduction, n: usize) -> f64 {
    match red {
        Reduction::Mean => 1.0 / n as f64,
        Reduction::Sum => 1.0,
    }
}

/// `|got − want| ≤ tol`.
pub fn close(got: f32, want: f64, tol: f64) -> bool {
    (got as f64 - want).abs() <= tol
}

/// `σ(x)` without overflow.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// One element in `f64`, from torch's definitions: `(ℓ, ∂ℓ/∂x, m)`, where `m` is the magnitude
/// the gradient's rounding error is proportional to.
pub fn elem_ref(kind: Kind, x: f32, t: f32, p: f32) -> (f64, f64, f64) {
    let (x, t, p) = (x as f64, t as f64, p as f64);
    let d = x - t;
    let a = d.abs();
    let sign = if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else if d == 0.0 {
        0.0
    } else {
        f64::NAN
    };
    let (l, g) = match kind {
        Kind::Mse => (d * d, 2.0 * d),
        Kind::L1 => (a, sign),
        Kind::Huber(delta) => {
            let delta = delta as f64;
            let l = if a < delta {
                0.5 * d * d
            } else {
                delta * (a - 0.5 * delta)
            };
            // torch's backward kernel: x ≤ −δ → −δ, x ≥ δ → δ, else x.
            let g = if d <= -delta {
                -delta
            } else if d >= delta {
                delta
            } else {
                d
            };
            (l, g)
        }
        Kind::SmoothL1(beta) => {
            let beta = beta as f64;
            let l = if a < beta {
                0.5 * d * d / beta
            } else {
                a - 0.5 * beta
            };
            // torch's backward kernel, literally (β = 0 gives −1 at d = 0).
            let g = if d <= -beta {
                -1.0
            } else if d >= beta {
                1.0
            } else {
                d / beta
            };
            (l, g)
        }
        Kind::Bce => {
            // torch (FORMAT.md): `(1−t)·x + lw·(ln(1 + e^−|x|) + max(−x, 0))`,
            // `lw = 1 + (p − 1)·t`, with the `x < 0` case rearranged to
            // `−p·t·x + lw·ln(1 + e^−|x|)` (the same value): the direct form cancels in f64 for
            // a large negative x and a tiny t.
            let lw = 1.0 + (p - 1.0) * t;
            let soft = (-x.abs()).exp().ln_1p();
            let l = if x >= 0.0 {
                (1.0 - t) * x + lw * soft
            } else {
                -p * t * x + lw * soft
            };
            // `lw·σ(x) − p·t`, written without `lw`: `1 + (p − 1)·t` cancels to 0 in f64 for
            // p ≪ 1 and t = 1, which made the direct form say −p where the gradient is −p/2.
            let g = (1.0 - t) * sigmoid(x) - p * t * sigmoid(-x);
            let m = ((1.0 - t) * sigmoid(x)).abs() + (p * t * sigmoid(-x)).abs();
            return (l, g, m);
        }
    };
    (l, g, g.abs())
}

/// Relative error bounds (in U) of one loss term and of one gradient element.
///
/// Loss terms: `d = x − t` rounds once (relative U); `d·d` and `½·d·d` add one or two
/// roundings (≤ 3U); huber's `δ·(|d| − ½δ)` has `|d| − ½δ ≥ |d|/2`, so the rounding of `d` is
/// at most doubled there (≤ 4U); smooth L1 likewise (≤ 4U). BCE: `e = e^−|x|` within 4 ulp,
/// `ln_1p(e)` within 4 ulp plus at most 4U inherited from `e` (`∂ ln(1+e)/∂e · e ≤ ln(1+e)`),
/// `w = 1 + (p−1)·t` and the products ≤ 4U: ≤ 13U; every term is non-negative for
/// `t ∈ [0, 1]`, `p ≥ 0`, so the element bound carries to the sum. Rounded up: 8 and 16.
///
/// Gradients: `fl(k·fl(d))` with `k = fl(2/n)` or `fl(1/n)`: ≤ 3U; `d/β·s` ≤ 4U. BCE: each
/// of `(1−t)·σ(x)` and `p·t·σ(−x)` is within ~8U (σ from `e` and one division), their
/// difference within 8U of the sum of their magnitudes, times `s`: ≤ 10U of `m`.
pub fn elem_bounds(kind: Kind) -> (f64, f64) {
    match kind {
        Kind::Bce => (16.0, 10.0),
        _ => (8.0, 4.0),
    }
}

/// The absolute errors of one BCE term that are not relative to it: `w = 1 + (p − 1)·t` in
/// `f32` cancels for p ≪ 1 and t ≈ 1 (as in torch), `3u·(1 + |p − 1|·t)` times
/// `ln(1 + e^−|x|)`; and a product `p·t` below the normal range (a subnormal `pos_weight`)
/// rounds to the subnormal grid, an absolute `2⁻¹⁵⁰` which `|x|` then multiplies.
pub fn bce_weight_error(x: f32, t: f32, p: f32) -> f64 {
    let (x, p, t) = (x as f64, p as f64, t as f64);
    let soft = (-x.abs()).exp().ln_1p();
    let subnormal = if (p * t).abs() < FLOOR {
        2f64.powi(-150) * x.abs()
    } else {
        0.0
    };
    3.0 * U * (1.0 + (p - 1.0).abs() * t) * soft + subnormal
}

/// One gradient element of an element-wise loss: `(want, tol)` for `s·∂ℓ/∂x`. The tolerance
/// is `K_g·U·s·m` (see [`elem_bounds`]) plus `2·MIN_POSITIVE·s·max(1, p)` for a subnormal or
/// underflowed `σ(−x)·p·t`.
pub fn elem_grad(kind: Kind, x: f32, t: f32, p: f32, s: f64) -> (f64, f64) {
    let (_, g, m) = elem_ref(kind, x, t, p);
    let (_, kg) = elem_bounds(kind);
    let floor = 2.0 * FLOOR * s * (p as f64).abs().max(1.0);
    (s * g, kg * U * s * m + floor)
}

/// The reference loss, its error bound, and the reference gradient with per-element bounds.
///
/// Sum bound: the kernel adds 8 lanes of at most ⌈n/8⌉ terms each (γ ≤ ⌈n/8⌉·U for
/// non-negative terms), a 3-level horizontal sum (3U), and rounds the f64 total once (U);
/// with the element bound K_l and a U of slack: `(K_l + ⌈n/8⌉ + 5)·U·Σ|ℓ|·s`, plus BCE's
/// [`bce_weight_error`] per term and a `MIN_POSITIVE` floor.
pub struct ElemRef {
    pub loss: f64,
    pub loss_tol: f64,
    pub grad: Vec<f64>,
    pub grad_tol: Vec<f64>,
}

/// [`ElemRef`] of `kind` over `x`, `t` and `pos_weight` (broadcast over rows).
pub fn elem_reference(
    kind: Kind,
    x: &[f32],
    t: &[f32],
    pw: Option<&[f32]>,
    red: Reduction,
) -> ElemRef {
    let n = x.len();
    let s = scale(red, n);
    let (kl, _) = elem_bounds(kind);
    let (mut sum, mut sum_abs, mut w_err) = (0.0, 0.0, 0.0);
    let (mut grad, mut grad_tol) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let p = pw.map_or(1.0, |pw| pw[i % pw.len()]);
        let (l, _, _) = elem_ref(kind, x[i], t[i], p);
        sum += l;
        sum_abs += l.abs();
        if kind == Kind::Bce {
            w_err += bce_weight_error(x[i], t[i], p);
        }
        let (g, tol) = elem_grad(kind, x[i], t[i], p, s);
        grad.push(g);
        grad_tol.push(tol);
    }
    ElemRef {
        loss: s * sum,
        loss_tol: (kl + n.div_ceil(8) as f64 + 5.0) * U * s * sum_abs + s * w_err + FLOOR,
        grad,
        grad_tol,
    }
}

/// Cross-entropy against smoothed targets `qs` (`[B, C]`, `f64`), from the definition:
/// `ℓ_b = −Σ_c q'_c·log_softmax(x_b)_c` and `∂ℓ_b/∂x_bc = p_c·Σq' − q'_c`.
///
/// Bounds, with `S = Σ e^{z}`, `z = x − max ≤ 0`, and `k` the error of one row sum of
/// non-negative (or non-positive) terms in U: `C` for the sequential sums of rows of ≤ 16
/// classes, `⌈C/8⌉ + 3` for the lane sums of longer rows (⌈C/8⌉ terms a lane, 3 levels of
/// horizontal adds):
/// * `S` is within `δS = (k + C/2 + 5)·U` relative: the sum `k`, `exp` 4U, and the rounding of
///   `z` (relative U, hence `U·|z|·e^{z} ≤ 0.37U` absolute per class, with `S ≥ 1`), plus one.
/// * The row loss `ln S − (1−ε)·z_y − (ε/C)·Σz` (or `ln S·Σq' − …` for probabilities) is a
///   sum of non-negative terms: its error is `δS + 4U·ln S` plus `(2k + 8)U` of the row loss
///   (the rounding of `z`, of the weights and of the sums `Σz`, `Σq·z`, `Σq`), rounded up
///   to `U·(δS/U + (2k + 12)·ℓ_b)`.
/// * A gradient element `s·(e^{z}·(Σq'/S) − q')` errs by `s·U·(p·(δS/U + k + 12 + |z|)·
///   max(1, |Σq'|) + 2q' + 2|g|)` (`Σq'` another `k`, `exp` and `z` as above, the products
///   and the subtraction; the error of `p` is multiplied by `Σq'`, which probability targets
///   need not hold to 1), plus `2·MIN_POSITIVE·s` for an underflowing `e^{z}`.
pub struct CeRef {
    pub loss: f64,
    pub loss_tol: f64,
    pub grad: Vec<f64>,
    pub grad_tol: Vec<f64>,
}

/// One row of [`ce_reference`]: `(ℓ_b, its tolerance in units of s, [(∂, tol)] for s)`.
pub fn ce_row(row: &[f32], q: &[f64], s: f64) -> (f64, f64, Vec<(f64, f64)>) {
    let c = row.len();
    let k = if c <= 16 {
        c as f64
    } else {
        c.div_ceil(8) as f64 + 3.0
    };
    let ds = k + c as f64 / 2.0 + 5.0;
    let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v as f64));
    let z: Vec<f64> = row.iter().map(|v| *v as f64 - m).collect();
    let sum: f64 = z.iter().map(|z| z.exp()).sum();
    let lse = sum.ln();
    let sum_q: f64 = q.iter().sum();
    let l: f64 = q.iter().zip(&z).map(|(q, z)| q * (lse - z)).sum();
    let grad = q
        .iter()
        .zip(&z)
        .map(|(qc, zc)| {
            let p = zc.exp() / sum;
            let g = p * sum_q - qc;
            let kp = ds + k + 12.0 + zc.abs();
            let tol = s * U * (p * kp * sum_q.abs().max(1.0) + 2.0 * qc.abs() + 2.0 * g.abs())
                + 2.0 * FLOOR * s;
            (s * g, tol)
        })
        .collect();
    (l, U * (ds + (2.0 * k + 12.0) * l.abs()), grad)
}

/// [`CeRef`] of the logits `x` (`[B, C]`) against `qs`.
pub fn ce_reference(x: &[f32], qs: &[f64], c: usize, red: Reduction) -> CeRef {
    let b = x.len() / c;
    let s = scale(red, b);
    let (mut loss, mut loss_tol) = (0.0, 0.0);
    let (mut grad, mut grad_tol) = (Vec::new(), Vec::new());
    for (row, q) in x.chunks_exact(c).zip(qs.chunks_exact(c)) {
        let (l, tol, g) = ce_row(row, q, s);
        loss += l;
        loss_tol += tol;
        for (g, t) in g {
            grad.push(g);
            grad_tol.push(t);
        }
    }
    CeRef {
        loss: s * loss,
        // One more U for the f64 total's rounding to f32.
        loss_tol: s * loss_tol + U * (s * loss).abs() + FLOOR,
        grad,
        grad_tol,
    }
}

/// `q' = (1−ε)·onehot(y) + ε/C` in `f64`.
pub fn smoothed_class_targets(target: &[usize], c: usize, eps: f32) -> Vec<f64> {
    let eps = eps as f64;
    let mut q = vec![eps / c as f64; target.len() * c];
    for (b, &y) in target.iter().enumerate() {
        q[b * c + y] += 1.0 - eps;
    }
    q
}

/// `q' = (1−ε)·q + ε/C` in `f64`.
pub fn smoothed_probs(target: &[f32], c: usize, eps: f32) -> Vec<f64> {
    let eps = eps as f64;
    target
        .iter()
        .map(|q| (1.0 - eps) * *q as f64 + eps / c as f64)
        .collect()
}
