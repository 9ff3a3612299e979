//! Every loss on arbitrary values, hyper-parameters (δ, β, label smoothing), class indices (in
//! and out of range), `pos_weight`, reductions, slice lengths and sub-slice offsets: a call
//! returns `Ok` exactly when its arguments are valid (otherwise the documented error, with
//! nothing written), never writes outside `grad`, gives the same loss with and without a
//! gradient, and agrees with the `f64` reference of `tests/reference/loss.rs` within the bounds
//! derived there: per gradient element the element bound `K_g·U·s·m`; the loss the element
//! bound plus `⌈n/8⌉ + 5` roundings of the lane sums; for the softmax losses, per row, the
//! row-sum budget `δS`.
//!
//! What is compared, and why (an element that is not comparable skips only itself, or its row
//! for the softmax losses, never the call):
//! * a NaN input gives a NaN loss, and NaN in that element's gradient (element-wise losses
//!   without `pos_weight`); the other elements' gradients are still compared;
//! * a gradient element is compared when its `x`, `t` (and `pos_weight`) are finite with
//!   `|x|, |t| ≤ 1e15` (squares of larger values overflow `f32` in one order of operations and
//!   not another); the loss when every element is, and the reference below `1e30`;
//! * `δ` or `β` outside `[1e-6, 1e6]` (`β = 0` included for smooth L1 only): `d/β` overflows;
//! * BCE is compared for targets in `[0, 1]` and `pos_weight` in `[0, 1e6]`, the probability
//!   cross-entropy for targets in `[0, 1e3]`: the bounds assume terms of one sign;
//! * `nll` is exact: the same `f64` sum in the same order, rounded once.
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/loss.rs"]
mod reference;

use descent::loss::{self, Reduction};
use descent::Error;
use input::{guarded, intact, Input};
use libfuzzer_sys::fuzz_target;
use reference::{
    bce_weight_error, call, ce_row, elem_bounds, elem_grad, elem_ref, scale, Kind, FLOOR, U,
};

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
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
}

/// `|got − want| ≤ tol`, counted as a value comparison.
fn close(got: f32, want: f64, tol: f64) -> bool {
    input::compared();
    (got as f64 - want).abs() <= tol
}

fn elementwise(i: &mut Input, kind: Kind, red: Reduction) {
    // Mostly 1..=40, sometimes long, sometimes empty (an input that ran out gives 1).
    let n = match i.byte() % 16 {
        15 => 0,
        13 | 14 => i.len(255) * 3,
        _ => 1 + i.len(39),
    };
    let off = i.len(3);
    let sc = [1.0, 10.0, 1e-3, 1e4, 1e12][i.byte() as usize % 5];
    let (tl, gl) = (i.length(n, 32), i.length(n, 32));
    let with_grad = i.byte() % 4 != 0;
    let pw_len = match i.byte() % 4 {
        0 if kind == Kind::Bce => Some(i.len(6)),
        _ => None,
    };
    let x = guarded(off, &i.mostly_tame(n, sc));
    let t: Vec<f32> = if kind == Kind::Bce {
        (0..tl).map(|_| i.hparam(0.0, 1.0)).collect()
    } else {
        i.mostly_tame(tl, sc)
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
    let nan_at = |k: usize| x[k].is_nan() || t[k].is_nan() || pw_at(k).is_nan();
    if (0..n).any(nan_at) {
        assert!(l.is_nan(), "{kind:?}: NaN input, loss {l}");
    }
    let hyper_ok = match kind {
        Kind::Huber(d) => (1e-6..=1e6).contains(&d),
        Kind::SmoothL1(b) => b == 0.0 || (1e-6..=1e6).contains(&b),
        _ => true,
    };
    let tame = |v: f32| v.is_finite() && v.abs() <= 1e15;
    let comparable = |k: usize| {
        hyper_ok
            && tame(x[k])
            && tame(t[k])
            && (kind != Kind::Bce
                || ((0.0..=1.0).contains(&t[k]) && (0.0..=1e6).contains(&pw_at(k))))
    };
    let s = scale(red, n);
    if with_grad {
        for k in 0..n {
            if nan_at(k) && pw.is_none() {
                assert!(g[k].is_nan(), "{kind:?}: grad[{k}] = {}", g[k]);
            }
            if !comparable(k) {
                continue;
            }
            let (want, tol) = elem_grad(kind, x[k], t[k], pw_at(k), s);
            assert!(
                close(g[k], want, tol),
                "{kind:?} {red:?} n={n}: grad[{k}] = {:e}, want {want:e} ± {tol:e} (x {}, t {}, p {})",
                g[k],
                x[k],
                t[k],
                pw_at(k)
            );
        }
    }
    if !(0..n).all(comparable) {
        return;
    }
    // The loss: `tests/reference/loss.rs`'s `elem_reference` bound.
    let (kl, _) = elem_bounds(kind);
    let (mut sum, mut sum_abs, mut w_err) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let (lk, _, _) = elem_ref(kind, x[k], t[k], pw_at(k));
        sum += lk;
        sum_abs += lk.abs();
        if kind == Kind::Bce {
            w_err += bce_weight_error(x[k], t[k], pw_at(k));
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

/// A class index: mostly in range, sometimes (one in 64) one past it or anything.
fn class(i: &mut Input, classes: usize) -> usize {
    match i.byte() % 128 {
        0 => classes,
        1 => i.u32() as usize,
        _ => i.len(classes.saturating_sub(1)),
    }
}

/// `cross_entropy` (or `nll`) with class indices.
fn class_loss(i: &mut Input, red: Reduction, nll: bool) {
    let classes = i.size(40);
    let b = i.size(6);
    let eps = if i.bool() { 0.0 } else { i.hparam(0.0, 1.0) };
    let off = i.len(3);
    let sc = [1.0, 10.0, 1e-3, 100.0, 1e4][i.byte() as usize % 5];
    let n = b * classes;
    let (xl, gl) = (i.length(n, 32), i.length(n, 32));
    let with_grad = i.byte() % 4 != 0;
    let target: Vec<usize> = (0..b).map(|_| class(i, classes)).collect();
    let x = guarded(off, &i.mostly_tame(xl, sc));
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
        input::compared();
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
        |_| true,
    );
}

/// The softmax losses row by row: a row whose logits are finite with `|x| ≤ 1e15` (and, for
/// probability targets, whose targets lie in `[0, 1e3]`) has its gradient compared with
/// `tests/reference/loss.rs`'s `ce_row`; the loss is compared when every row is.
fn check_ce(
    what: &str,
    x: &[f32],
    q: &[f64],
    classes: usize,
    red: Reduction,
    l: f32,
    g: Option<&[f32]>,
    row_ok: impl Fn(usize) -> bool,
) {
    let b = x.len() / classes;
    let s = scale(red, b);
    let (mut loss, mut loss_tol, mut all) = (0.0, 0.0, true);
    for r in 0..b {
        let row = r * classes..(r + 1) * classes;
        if !(row_ok(r)
            && x[row.clone()]
                .iter()
                .all(|v| v.is_finite() && v.abs() <= 1e15))
        {
            all = false;
            continue;
        }
        let (lr, tol, grad) = ce_row(&x[row.clone()], &q[row.clone()], s);
        loss += lr;
        loss_tol += tol;
        if let Some(g) = g {
            for (k, (want, tol)) in row.zip(grad) {
                assert!(
                    close(g[k], want, tol),
                    "{what} C={classes} {red:?}: grad[{k}] = {:e}, want {want:e} ± {tol:e}",
                    g[k]
                );
            }
        }
    }
    if all {
        let (want, tol) = (s * loss, s * loss_tol + U * (s * loss).abs() + FLOOR);
        assert!(
            close(l, want, tol),
            "{what} C={classes} {red:?}: loss {l:e}, want {want:e} ± {tol:e}"
        );
    }
}

/// `cross_entropy_probs`.
fn probs(i: &mut Input, red: Reduction) {
    let classes = i.size(40);
    let b = i.size(6);
    let eps = if i.bool() { 0.0 } else { i.hparam(0.0, 1.0) };
    let off = i.len(3);
    let sc = [1.0, 10.0, 1e-3, 100.0, 1e4][i.byte() as usize % 5];
    let n = b * classes;
    let xl = i.length(n, 32);
    let (tl, gl) = (i.length(xl, 32), i.length(xl, 32));
    let with_grad = i.byte() % 4 != 0;
    let x = guarded(off, &i.mostly_tame(xl, sc));
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
    }
    let e = eps as f64;
    let q: Vec<f64> = t
        .iter()
        .map(|v| (1.0 - e) * *v as f64 + e / classes as f64)
        .collect();
    let g = &g[off..off + if with_grad { xl } else { 0 }];
    let row_ok = |r: usize| {
        t[r * classes..(r + 1) * classes]
            .iter()
            .all(|v| (0.0..=1e3).contains(v))
    };
    check_ce(
        "cross_entropy_probs",
        x,
        &q,
        classes,
        red,
        l,
        with_grad.then_some(g),
        row_ok,
    );
}
