//! Every loss on arbitrary values, hyper-parameters (δ, β, label smoothing), class indices (in
//! and out of range), `pos_weight`, reductions, slice lengths and sub-slice offsets: a call
//! returns `Ok` exactly when its arguments are valid (otherwise the documented error, with
//! nothing written), never writes outside `grad`, gives the same loss with and without a
//! gradient, and agrees with an `f64` reference within the bounds derived in
//! `tests/loss.rs` (element bound plus `⌈n/8⌉ + 5` roundings of the lane sums; for the
//! softmax losses the row-sum budget `δS`).
//!
//! Where the comparison is limited, and why:
//! * any NaN input must give a NaN loss (and NaN in that element's gradient for the
//!   element-wise losses); other non-finite inputs, and `|x|, |t| > 1e15` (squares that
//!   overflow `f32` in one order), only get the contract;
//! * `δ` or `β` outside `[1e-6, 1e6]` (`β = 0` included for smooth L1 only): `d/β` overflows;
//! * BCE is compared for targets in `[0, 1]` and `pos_weight ≥ 0`, the probability
//!   cross-entropy for targets in `[0, 1e3]`: the bounds assume terms of one sign (as the unit
//!   tests' data); logits are compared up to `|x| ≤ 1e15`.
//! * `nll` is exact: the same `f64` sum in the same order, rounded once.
#![no_main]

#[path = "input.rs"]
mod input;

use descent::loss::{self, Reduction};
use descent::Error;
use input::{guarded, intact, Input, U};
use libfuzzer_sys::fuzz_target;

const FLOOR: f64 = f32::MIN_POSITIVE as f64;

fuzz_target!(|data: &[u8]| {
    let mut i = Input(data);
    let red = if i.bool() {
        Reduction::Mean
    } else {
        Reduction::Sum
    };
    match i.byte() % 8 {
        0 => elementwise(&mut i, Kind::Mse, red),
        1 => elementwise(&mut i, Kind::L1, red),
        2 => {
            let d = i.hparam(0.01, 3.0);
            elementwise(&mut i, Kind::Huber(d), red)
        }
        3 => {
            let b = if i.byte() % 8 == 0 {
                0.0
            } else {
                i.hparam(0.01, 3.0)
            };
            elementwise(&mut i, Kind::SmoothL1(b), red)
        }
        4 => elementwise(&mut i, Kind::Bce, red),
        5 => class_loss(&mut i, red, false),
        6 => class_loss(&mut i, red, true),
        _ => probs(&mut i, red),
    }
});

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Mse,
    L1,
    Huber(f32),
    SmoothL1(f32),
    Bce,
}

fn call(
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
        Kind::Huber(d) => loss::huber(x, t, d, grad, red),
        Kind::SmoothL1(b) => loss::smooth_l1(x, t, b, grad, red),
        Kind::Bce => loss::binary_cross_entropy_with_logits(x, t, pw, grad, red),
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `(ℓ, ∂ℓ/∂x, m)` in `f64` from torch's definitions, `m` the gradient's error scale
/// (`tests/loss.rs`, `elem_ref`).
fn elem_ref(kind: Kind, x: f32, t: f32, p: f32) -> (f64, f64, f64) {
    let (x, t, p) = (x as f64, t as f64, p as f64);
    let d = x - t;
    let a = d.abs();
    let sign = if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
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
            (l, d.clamp(-delta, delta))
        }
        Kind::SmoothL1(beta) => {
            let beta = beta as f64;
            let l = if a < beta {
                0.5 * d * d / beta
            } else {
                a - 0.5 * beta
            };
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
            let lw = 1.0 + (p - 1.0) * t;
            // torch's `(1−t)·x + lw·(ln(1 + e^−|x|) + max(−x, 0))`, with the `x < 0` case
            // rearranged to `−p·t·x + lw·ln(1 + e^−|x|)` (the same value): the direct form
            // cancels in f64 for a large negative x and a tiny t.
            let soft = (-x.abs()).exp().ln_1p();
            let l = if x >= 0.0 {
                (1.0 - t) * x + lw * soft
            } else {
                -p * t * x + lw * soft
            };
            // `lw·σ(x) − p·t`, written without `lw`: `1 + (p − 1)·t` cancels to 0 in f64 for
            // p ≪ 1 and t = 1, which made this reference say −p where the gradient is −p/2.
            let g = (1.0 - t) * sigmoid(x) - p * t * sigmoid(-x);
            let m = ((1.0 - t) * sigmoid(x)).abs() + (p * t * sigmoid(-x)).abs();
            return (l, g, m);
        }
    };
    (l, g, g.abs())
}

fn scale(red: Reduction, n: usize) -> f64 {
    match red {
        Reduction::Mean => 1.0 / n as f64,
        Reduction::Sum => 1.0,
    }
}

fn close(got: f32, want: f64, tol: f64) -> bool {
    (got as f64 - want).abs() <= tol
}

fn elementwise(i: &mut Input, kind: Kind, red: Reduction) {
    let n = if i.byte() % 8 == 0 {
        i.len(255) * 3
    } else {
        i.len(40)
    };
    let off = i.len(3);
    let sc = [1.0, 10.0, 1e-3, 1e4, 1e16][i.byte() as usize % 5];
    let (tl, gl) = (i.length(n, 16), i.length(n, 16));
    let with_grad = i.byte() % 4 != 0;
    let pw_len = match i.byte() % 4 {
        0 if kind == Kind::Bce => Some(i.len(6)),
        _ => None,
    };
    let x = guarded(off, &i.values(n, sc));
    let t: Vec<f32> = if kind == Kind::Bce {
        (0..tl).map(|_| i.hparam(0.0, 1.0)).collect()
    } else {
        i.values(tl, sc)
    };
    let t = guarded(off, &t);
    let pw: Option<Vec<f32>> = pw_len.map(|c| (0..c).map(|_| i.hparam(0.0, 3.0)).collect());
    let (x, t) = (&x[off..off + n], &t[off..off + tl]);
    let mut g = guarded(off, &vec![7.0; gl]);
    let r = call(
        kind,
        x,
        t,
        pw.as_deref(),
        with_grad.then_some(&mut g[off..off + gl]),
        red,
    );
    assert!(intact(&g, off, gl), "{kind:?}: wrote outside grad");
    let hyper = match kind {
        Kind::Huber(d) if !(d > 0.0) => Some("delta"),
        Kind::SmoothL1(b) if !(b >= 0.0) => Some("beta"),
        _ => None,
    };
    let mismatch = |what, expected, actual| {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    };
    let expected = if let Some(what) = hyper {
        Err(Error::InvalidHyperParameter { what })
    } else if n == 0 {
        Err(Error::ZeroDimension { what: "input" })
    } else if tl != n {
        mismatch("target", n, tl)
    } else if with_grad && gl != n {
        mismatch("grad", n, gl)
    } else {
        match pw_len {
            Some(0) => Err(Error::ZeroDimension { what: "pos_weight" }),
            Some(c) if n % c != 0 => mismatch("pos_weight", n, c),
            _ => Ok(()),
        }
    };
    assert_eq!(r.map(|_| ()), expected, "{kind:?} n={n}");
    let Ok(l) = r else {
        assert!(
            g.iter().skip(off).take(gl).all(|&v| v == 7.0),
            "written on error"
        );
        return;
    };
    // Without a gradient, `grad` may have any length: nothing of it is read.
    let g = &g[off..off + if with_grad { n } else { 0 }];
    // The loss does not depend on whether a gradient is asked for.
    let l2 = call(kind, x, t, pw.as_deref(), None, red).unwrap();
    assert!(l.to_bits() == l2.to_bits() || (l.is_nan() && l2.is_nan()));

    let pw_at = |k: usize| pw.as_ref().map_or(1.0, |p| p[k % p.len()]);
    if (0..n).any(|k| x[k].is_nan() || t[k].is_nan() || pw_at(k).is_nan()) {
        assert!(l.is_nan(), "{kind:?}: NaN input, loss {l}");
        if with_grad && pw.is_none() {
            for k in 0..n {
                if x[k].is_nan() || t[k].is_nan() {
                    assert!(g[k].is_nan(), "{kind:?}: grad[{k}] = {}", g[k]);
                }
            }
        }
        return;
    }
    let tame = |v: f32| v.is_finite() && v.abs() <= 1e15;
    let comparable = (0..n).all(|k| tame(x[k]) && tame(t[k]))
        && match kind {
            Kind::Huber(d) => (1e-6..=1e6).contains(&d),
            Kind::SmoothL1(b) => b == 0.0 || (1e-6..=1e6).contains(&b),
            Kind::Bce => {
                (0..n).all(|k| (0.0..=1.0).contains(&t[k]) && (0.0..=1e6).contains(&pw_at(k)))
            }
            _ => true,
        };
    if !comparable {
        return;
    }
    // Bounds of tests/loss.rs (elem_bounds, elem_reference).
    let (kl, kg) = if kind == Kind::Bce {
        (16.0, 10.0)
    } else {
        (8.0, 4.0)
    };
    let s = scale(red, n);
    let (mut sum, mut sum_abs, mut w_err) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let p = pw_at(k);
        let (lk, gk, m) = elem_ref(kind, x[k], t[k], p);
        sum += lk;
        sum_abs += lk.abs();
        if kind == Kind::Bce {
            // `w = 1 + (p − 1)·t` in f32 cancels for p ≪ 1, t ≈ 1 (as in torch): its absolute
            // error 3u·(1 + |p − 1|·t) times ln(1 + e^−|x|).
            let (p, tk) = (p as f64, t[k] as f64);
            let soft = (-(x[k] as f64).abs()).exp().ln_1p();
            w_err += 3.0 * U * (1.0 + (p - 1.0).abs() * tk) * soft;
        }
        if with_grad {
            let want = s * gk;
            let floor = 2.0 * FLOOR * s * (p as f64).abs().max(1.0);
            let tol = kg * U * s * m + floor;
            assert!(
                close(g[k], want, tol),
                "{kind:?} {red:?} n={n}: grad[{k}] = {:e}, want {want:e} ± {tol:e} (x {}, t {}, p {p})",
                g[k],
                x[k],
                t[k]
            );
        }
    }
    let want = s * sum;
    let tol = (kl + n.div_ceil(8) as f64 + 5.0) * U * s * sum_abs + s * w_err + FLOOR;
    if want.abs() <= 1e30 {
        assert!(
            close(l, want, tol),
            "{kind:?} {red:?} n={n}: loss {l:e}, want {want:e} ± {tol:e}; x={x:?} t={t:?} pw={pw:?}"
        );
    }
}

/// Cross-entropy against smoothed targets `qs` (`[B, C]`, `f64`): `(loss, tol, grad, tol)`,
/// the bounds of `tests/loss.rs` (`ce_reference`).
fn ce_reference(x: &[f32], qs: &[f64], c: usize, red: Reduction) -> (f64, f64, Vec<(f64, f64)>) {
    let b = x.len() / c;
    let s = scale(red, b);
    let (mut loss, mut loss_tol) = (0.0, 0.0);
    let mut grad = Vec::new();
    let k = if c <= 16 {
        c as f64
    } else {
        c.div_ceil(8) as f64 + 3.0
    };
    let ds = k + c as f64 / 2.0 + 5.0;
    for (row, q) in x.chunks_exact(c).zip(qs.chunks_exact(c)) {
        let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v as f64));
        let z: Vec<f64> = row.iter().map(|v| *v as f64 - m).collect();
        let sum: f64 = z.iter().map(|z| z.exp()).sum();
        let lse = sum.ln();
        let sum_q: f64 = q.iter().sum();
        let l: f64 = q.iter().zip(&z).map(|(q, z)| q * (lse - z)).sum();
        loss += l;
        loss_tol += U * (ds + (2.0 * k + 12.0) * l.abs());
        for (qc, zc) in q.iter().zip(&z) {
            let p = zc.exp() / sum;
            let g = p * sum_q - qc;
            let kp = ds + k + 12.0 + zc.abs();
            // The gradient is `p·Σq − q`: the error of `p` is multiplied by `Σq`, which the
            // probability targets here do not hold to 1 (a row summing to 3.27 made the bound
            // without this factor too small for a tiny `p` far below the row's maximum).
            let tol = s * U * (p * kp * sum_q.abs().max(1.0) + 2.0 * qc.abs() + 2.0 * g.abs())
                + 2.0 * FLOOR * s;
            grad.push((s * g, tol));
        }
    }
    (s * loss, s * loss_tol + U * (s * loss).abs(), grad)
}

/// A class index: mostly in range, sometimes one past it or anything.
fn class(i: &mut Input, classes: usize) -> usize {
    match i.byte() % 32 {
        0 => classes,
        1 => i.u32() as usize,
        _ => i.len(classes.saturating_sub(1)),
    }
}

/// `cross_entropy` (or `nll`) with class indices.
fn class_loss(i: &mut Input, red: Reduction, nll: bool) {
    let classes = i.len(40);
    let b = i.len(6);
    let eps = if i.bool() { 0.0 } else { i.hparam(0.0, 1.0) };
    let off = i.len(3);
    let sc = [1.0, 10.0, 1e-3, 100.0, 1e4][i.byte() as usize % 5];
    let n = b * classes;
    let (xl, gl) = (i.length(n, 16), i.length(n, 16));
    let with_grad = i.byte() % 4 != 0;
    let target: Vec<usize> = (0..b).map(|_| class(i, classes)).collect();
    let x = guarded(off, &i.values(xl, sc));
    let x = &x[off..off + xl];
    let mut g = guarded(off, &vec![7.0; gl]);
    let grad = with_grad.then_some(&mut g[off..off + gl]);
    let (r, what) = if nll {
        (loss::nll(x, &target, classes, grad, red), "log_probs")
    } else {
        (
            loss::cross_entropy(x, &target, classes, eps, grad, red),
            "logits",
        )
    };
    assert!(intact(&g, off, gl), "wrote outside grad");
    let mismatch = |what, expected, actual| {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    };
    let bad_class = target.iter().position(|&t| t >= classes);
    let expected = if !nll && !(0.0..=1.0).contains(&eps) {
        Err(Error::InvalidHyperParameter {
            what: "label_smoothing",
        })
    } else if classes == 0 {
        Err(Error::ZeroDimension { what: "classes" })
    } else if b == 0 {
        Err(Error::ZeroDimension { what: "batch" })
    } else if xl != n {
        mismatch(what, n, xl)
    } else if with_grad && gl != n {
        mismatch("grad", n, gl)
    } else if let Some(sample) = bad_class {
        Err(Error::ClassOutOfRange {
            sample,
            index: target[sample],
            classes,
        })
    } else {
        Ok(())
    };
    assert_eq!(r.map(|_| ()), expected, "{what} B={b} C={classes}");
    let Ok(l) = r else {
        assert!(
            g.iter().skip(off).take(gl).all(|&v| v == 7.0),
            "written on error"
        );
        return;
    };
    // Without a gradient, `grad` may have any length: nothing of it is read.
    let g = &g[off..off + if with_grad { n } else { 0 }];
    let l2 = if nll {
        loss::nll(x, &target, classes, None, red)
    } else {
        loss::cross_entropy(x, &target, classes, eps, None, red)
    }
    .unwrap();
    assert!(l.to_bits() == l2.to_bits() || (l.is_nan() && l2.is_nan()));
    if nll {
        // Exact: the same f64 sum in the same order, rounded once; the gradient is −s at the
        // targets and +0 elsewhere.
        let mut total = 0.0f64;
        for (row, &t) in x.chunks_exact(classes).zip(&target) {
            total -= row[t] as f64;
        }
        let want = match red {
            Reduction::Mean => (total / b as f64) as f32,
            Reduction::Sum => total as f32,
        };
        assert!(
            l.to_bits() == want.to_bits() || (l.is_nan() && want.is_nan()),
            "nll {l} vs {want}"
        );
        if with_grad {
            let s = match red {
                Reduction::Mean => (1.0 / b as f64) as f32,
                Reduction::Sum => 1.0,
            };
            for (r, &t) in target.iter().enumerate() {
                for c in 0..classes {
                    let want = if c == t { -s } else { 0.0 };
                    assert_eq!(g[r * classes + c].to_bits(), want.to_bits());
                }
            }
        }
        return;
    }
    if x.iter().any(|v| v.is_nan()) {
        assert!(l.is_nan(), "NaN logit, loss {l}");
        return;
    }
    if !x.iter().all(|v| v.is_finite() && v.abs() <= 1e15) {
        return;
    }
    let e = eps as f64;
    let mut q = vec![e / classes as f64; n];
    for (r, &t) in target.iter().enumerate() {
        q[r * classes + t] += 1.0 - e;
    }
    check_ce(
        "cross_entropy",
        x,
        &q,
        classes,
        red,
        l,
        with_grad.then_some(g),
    );
}

fn check_ce(
    what: &str,
    x: &[f32],
    q: &[f64],
    classes: usize,
    red: Reduction,
    l: f32,
    g: Option<&[f32]>,
) {
    let (want, tol, grad) = ce_reference(x, q, classes, red);
    assert!(
        close(l, want, tol + FLOOR),
        "{what} C={classes} {red:?}: loss {l:e}, want {want:e} ± {tol:e}"
    );
    if let Some(g) = g {
        for (k, (gk, (want, tol))) in g.iter().zip(&grad).enumerate() {
            assert!(
                close(*gk, *want, *tol),
                "{what} C={classes} {red:?}: grad[{k}] = {gk:e}, want {want:e} ± {tol:e}"
            );
        }
    }
}

/// `cross_entropy_probs`.
fn probs(i: &mut Input, red: Reduction) {
    let classes = i.len(40);
    let b = i.len(6);
    let eps = if i.bool() { 0.0 } else { i.hparam(0.0, 1.0) };
    let off = i.len(3);
    let sc = [1.0, 10.0, 1e-3, 100.0, 1e4][i.byte() as usize % 5];
    let n = b * classes;
    let xl = i.length(n, 16);
    let (tl, gl) = (i.length(xl, 16), i.length(xl, 16));
    let with_grad = i.byte() % 4 != 0;
    let x = guarded(off, &i.values(xl, sc));
    let t: Vec<f32> = (0..tl).map(|_| i.hparam(0.0, 0.3)).collect();
    let t = guarded(off, &t);
    let (x, t) = (&x[off..off + xl], &t[off..off + tl]);
    let mut g = guarded(off, &vec![7.0; gl]);
    let grad = with_grad.then_some(&mut g[off..off + gl]);
    let r = loss::cross_entropy_probs(x, t, classes, eps, grad, red);
    assert!(intact(&g, off, gl), "wrote outside grad");
    let mismatch = |what, expected, actual| {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    };
    let expected = if !(0.0..=1.0).contains(&eps) {
        Err(Error::InvalidHyperParameter {
            what: "label_smoothing",
        })
    } else if classes == 0 {
        Err(Error::ZeroDimension { what: "classes" })
    } else if xl == 0 {
        Err(Error::ZeroDimension { what: "batch" })
    } else if xl % classes != 0 {
        mismatch("logits", xl - xl % classes, xl)
    } else if tl != xl {
        mismatch("target", xl, tl)
    } else if with_grad && gl != xl {
        mismatch("grad", xl, gl)
    } else {
        Ok(())
    };
    assert_eq!(r.map(|_| ()), expected, "probs C={classes} len {xl}");
    let Ok(l) = r else {
        assert!(
            g.iter().skip(off).take(gl).all(|&v| v == 7.0),
            "written on error"
        );
        return;
    };
    let l2 = loss::cross_entropy_probs(x, t, classes, eps, None, red).unwrap();
    assert!(l.to_bits() == l2.to_bits() || (l.is_nan() && l2.is_nan()));
    if x.iter().chain(t).any(|v| v.is_nan()) {
        assert!(l.is_nan(), "NaN input, loss {l}");
        return;
    }
    let tame = x.iter().all(|v| v.is_finite() && v.abs() <= 1e15)
        && t.iter().all(|v| (0.0..=1e3).contains(v));
    if !tame {
        return;
    }
    let e = eps as f64;
    let q: Vec<f64> = t
        .iter()
        .map(|v| (1.0 - e) * *v as f64 + e / classes as f64)
        .collect();
    let g = &g[off..off + if with_grad { xl } else { 0 }];
    check_ce(
        "cross_entropy_probs",
        x,
        &q,
        classes,
        red,
        l,
        with_grad.then_some(g),
    );
}
