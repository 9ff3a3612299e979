//! Penalties, gradient clipping (every `NormType`), value clipping, `clamp`, `max_norm_rows`,
//! magnitude pruning (one slice and global, with scratch) and `apply_mask`, on arbitrary
//! values, hyper-parameters, lengths and sub-slice offsets: each call returns `Ok` exactly when
//! its arguments are valid (otherwise the documented error, with nothing written), never writes
//! outside its slices, and agrees with a scalar reference:
//! * penalties: the value within `40u` relative of the `f64` sum (the documented `32u` of the
//!   lane sums, the product with `λ` and the final rounding), each gradient element within a
//!   few roundings of `g + λ·…`;
//! * norms: L1 and L2 within `40u` relative of `f64`, `Inf` exact, `P(p)` within
//!   `40u + (40 + n + 4·p·max|ln(|g|/m)|)·u/min(p, 1)` relative (the documented per-term
//!   `p·|ln(|g|/m)|·2⁻²³`, the sum's `n` roundings, and the power `1/p` that multiplies the
//!   sum's relative error);
//!   the clipped gradients exactly `g·c` with `c` recomputed from the returned norm as
//!   documented (`min(1, (1/(total + 1e-6))·max_norm)` in `f32`);
//! * value clipping, `clamp`, `apply_mask`: exact;
//! * `max_norm_rows`: rows whose `f64` norm is clearly (1e-5 relative) above the cap scaled by
//!   `max_norm/(‖r‖ + 1e-7)` (an `f32` factor: `40u`, or `2⁻¹⁴⁹·|w|` once it is subnormal), rows clearly below untouched; rows within 1e-5 of the cap
//!   may go either way;
//! * pruning masks: exactly `k = Amount::count(n)` zeros, on the `k` smallest magnitudes as
//!   `f32::total_cmp` orders `|w|` (NaN largest), ties pruned lower index first.
//!
//! Values are compared where the inputs they depend on are finite and below `1e15` (squares
//! that overflow `f32` in one order and not another): a penalty or a norm needs every element,
//! a gradient element its own, a row of `max_norm_rows` its row; NaN inputs must give NaN norms
//! and penalties.
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/regularize.rs"]
mod reference;

use descent::regularize::{
    apply_mask, clamp, clip_grad_norm, clip_grad_value, elastic_net, global_magnitude_mask,
    grad_norm, l1, l2, magnitude_mask, max_norm_rows, prune_scratch_len, Amount, NormType,
};
use descent::Error;
use input::{guarded, intact, same_bits, same_values, Input, U};
use libfuzzer_sys::fuzz_target;
use reference::reference_mask;

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    match i.byte() % 6 {
        0 => penalty(&mut i),
        1 => clip_norm(&mut i),
        2 => clip_value_and_clamp(&mut i),
        3 => rows(&mut i),
        4 => prune(&mut i),
        _ => mask(&mut i),
    }
}

fn scale(i: &mut Input) -> f32 {
    // Squares of these stay normal in `f32` and sums of them finite, so every scale reaches the
    // comparisons; edge cases come from `Input::mostly_tame` and `Input::value`.
    [1.0, 1e-3, 1e3, 1e-9, 1e9][i.byte() as usize % 5]
}

fn len(i: &mut Input) -> usize {
    if i.byte() % 8 == 0 {
        i.len(255) * 3
    } else {
        i.len(40)
    }
}

fn tame(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite() && x.abs() <= 1e15)
}

fn penalty(i: &mut Input) {
    let n = len(i);
    let off = i.len(3);
    let lambda = i.hparam(0.0, 1.0);
    let ratio = i.hparam(0.0, 1.0);
    let half = i.bool();
    let which = i.byte() % 3;
    let with_grad = i.byte() % 4 != 0;
    let gl = i.length(n, 16);
    let s = scale(i);
    let w = guarded(off, &i.mostly_tame(n, s));
    let g0 = i.mostly_tame(gl, 1.0);
    let mut g = guarded(off, &g0);
    let w = &w[off..off + n];
    let grad = with_grad.then_some(&mut g[off..off + gl]);
    let r = match which {
        0 => l1(w, lambda, grad),
        1 => l2(w, lambda, half, grad),
        _ => elastic_net(w, lambda, ratio, grad),
    };
    assert!(intact(&g, off, gl));
    let bad = |what| Err(Error::InvalidHyperParameter { what });
    let expected = if !(lambda.is_finite() && lambda >= 0.0) {
        bad("lambda")
    } else if which == 2 && !(0.0..=1.0).contains(&ratio) {
        bad("l1_ratio")
    } else if with_grad && gl != n {
        Err(Error::LengthMismatch {
            what: "grad",
            expected: n,
            actual: gl,
        })
    } else {
        Ok(())
    };
    assert_eq!(r.map(|_| ()), expected, "penalty {which}");
    let g = &g[off..off + gl];
    let Ok(p) = r else {
        assert!(same_bits(g, &g0), "written on error");
        return;
    };
    if w.iter().any(|v| v.is_nan()) {
        assert!(p.is_nan());
    }
    // The penalty needs every element tame; a gradient element only its own `w` and `g`.
    let tame1 = |v: f32| v.is_finite() && v.abs() <= 1e15;
    let (lam, r) = (lambda as f64, ratio as f64);
    let sign = |v: f64| {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    let sum_abs: f64 = w.iter().map(|v| (*v as f64).abs()).sum();
    let sum_sq: f64 = w.iter().map(|v| (*v as f64).powi(2)).sum();
    let want = match which {
        0 => lam * sum_abs,
        1 => lam * sum_sq * if half { 0.5 } else { 1.0 },
        _ => lam * (r * sum_abs + 0.5 * (1.0 - r) * sum_sq),
    };
    if tame(w) && want.abs() < 1e30 {
        // Squares below the normal range (|w| < 1e-19) are subnormal in the f32 lanes: an
        // absolute 2⁻¹⁴⁹ each, which λ scales (the documented 32u is relative to normal terms).
        let sub = lam * n as f64 * f32::from_bits(1) as f64;
        let tol = 40.0 * U * want.abs() + f32::MIN_POSITIVE as f64 + sub;
        input::compared();
        assert!(
            (p as f64 - want).abs() <= tol,
            "penalty {which}: {p:e}, want {want:e} ± {tol:e}; λ={lambda} half={half} w={w:?}"
        );
    }
    if with_grad {
        for k in 0..n {
            if !(tame1(w[k]) && tame1(g0[k])) {
                continue;
            }
            let (wk, gk) = (w[k] as f64, g0[k] as f64);
            let term = match which {
                0 => lam * sign(wk),
                1 => lam * wk * if half { 1.0 } else { 2.0 },
                _ => lam * r * sign(wk) + lam * (1.0 - r) * wk,
            };
            let want = gk + term;
            let scale = match which {
                2 => lam * r + (lam * (1.0 - r) * wk).abs(),
                _ => term.abs(),
            };
            // The kernel's coefficients `λ·r` and `λ·(1 − r)` are f32: for a subnormal λ they
            // round to the subnormal grid, an absolute 2⁻¹⁵⁰ each, which |w| multiplies (λ =
            // 2.9e-39 beside |w| = 4.3e8 was 6 ulps off the f64 value).
            let quantum = if which == 2 {
                (wk.abs() + 1.0) * 2f64.powi(-149)
            } else {
                0.0
            };
            let tol = 4.0 * U * (gk.abs() + scale) + f32::MIN_POSITIVE as f64 + quantum;
            if want.abs() < 1e30 {
                input::compared();
                assert!(
                    (g[k] as f64 - want).abs() <= tol,
                    "penalty {which} grad[{k}]: {:e}, want {want:e} ± {tol:e}",
                    g[k]
                );
            }
        }
    }
}

fn norm_type(i: &mut Input) -> NormType {
    match i.byte() % 5 {
        0 => NormType::L1,
        1 => NormType::L2,
        2 => NormType::Inf,
        3 => NormType::P([1.0, 2.0, f32::INFINITY][i.byte() as usize % 3]),
        _ => NormType::P(i.hparam(0.2, 6.0)),
    }
}

/// The `f64` norm of the slices, and its relative tolerance.
fn norm64(gs: &[Vec<f32>], nt: NormType) -> (f64, f64) {
    let all = || gs.iter().flatten().map(|v| (*v as f64).abs());
    let max = all().fold(0.0, f64::max);
    match nt {
        NormType::L1 | NormType::P(1.0) => (all().sum(), 40.0 * U),
        NormType::L2 | NormType::P(2.0) => (all().map(|v| v * v).sum::<f64>().sqrt(), 40.0 * U),
        NormType::Inf => (max, 0.0),
        NormType::P(p) if p == f32::INFINITY => (max, 0.0),
        NormType::P(p) => {
            if max == 0.0 {
                return (0.0, 0.0);
            }
            let p = p as f64;
            let s: f64 = all().map(|v| (v / max).powf(p)).sum();
            // Terms below 1e-30 of the largest are lost to exp's range: the log is bounded
            // where the term matters.
            let worst = all()
                .filter(|v| (v / max).powf(p) > 1e-30)
                .map(|v| (v / max).ln().abs())
                .fold(0.0, f64::max);
            // The sum's relative error is raised to the power 1/p.
            let terms = gs.iter().map(|g| g.len()).sum::<usize>() as f64;
            let sum_err = (40.0 + terms + 4.0 * p * worst) * U;
            (
                max * s.powf(1.0 / p),
                40.0 * U + sum_err / p.min(1.0) + 1e-30,
            )
        }
    }
}

fn clip_norm(i: &mut Input) {
    let slices = i.len(3);
    let s = scale(i);
    let gs: Vec<Vec<f32>> = (0..slices)
        .map(|_| {
            let n = i.len(20);
            i.mostly_tame(n, s)
        })
        .collect();
    let nt = norm_type(i);
    let max_norm = i.hparam(0.0, 2.0);
    let only_norm = i.bool();
    let p_ok = match nt {
        NormType::P(p) => p > 0.0,
        _ => true,
    };
    let views: Vec<&[f32]> = gs.iter().map(|g| g.as_slice()).collect();
    let r = grad_norm(&views, nt);
    assert_eq!(r.is_ok(), p_ok, "{nt:?}");
    if let Err(e) = r {
        assert_eq!(e, Error::InvalidHyperParameter { what: "norm_type" });
    }
    let mut clipped = gs.clone();
    let mut refs: Vec<&mut [f32]> = clipped.iter_mut().map(|g| g.as_mut_slice()).collect();
    let rc = if only_norm {
        return check_norm(&gs, nt, r);
    } else {
        clip_grad_norm(&mut refs, max_norm, nt)
    };
    let expected = if !(max_norm >= 0.0) {
        Err(Error::InvalidHyperParameter { what: "max_norm" })
    } else if !p_ok {
        Err(Error::InvalidHyperParameter { what: "norm_type" })
    } else {
        Ok(())
    };
    assert_eq!(rc.map(|_| ()), expected, "{nt:?} max_norm {max_norm}");
    let Ok(total) = rc else {
        assert!(clipped.iter().zip(&gs).all(|(a, b)| same_bits(a, b)));
        return;
    };
    // The same norm as grad_norm, and every element multiplied by the documented coefficient.
    let n = r.unwrap();
    assert!(n.to_bits() == total.to_bits() || (n.is_nan() && total.is_nan()));
    let c = (1.0 / (total + 1e-6)) * max_norm;
    let c = if c > 1.0 { 1.0 } else { c };
    for (a, b) in clipped.iter().zip(&gs) {
        let want: Vec<f32> = b.iter().map(|v| v * c).collect();
        input::compared();
        assert!(same_values(a, &want), "{nt:?}: clipped by {c}");
    }
    check_norm(&gs, nt, r);
}

fn check_norm(gs: &[Vec<f32>], nt: NormType, r: descent::Result<f32>) {
    let Ok(total) = r else { return };
    let all = || gs.iter().flatten();
    if all().any(|v| v.is_nan()) {
        assert!(total.is_nan(), "{nt:?}: NaN element, norm {total}");
        return;
    }
    if all().any(|v| v.is_infinite()) {
        assert_eq!(total, f32::INFINITY, "{nt:?}");
        return;
    }
    let (want, rel) = norm64(gs, nt);
    if want > f32::MAX as f64 * 0.99 {
        return;
    }
    let tol = rel * want + f32::from_bits(1) as f64;
    input::compared();
    assert!(
        (total as f64 - want).abs() <= tol,
        "{nt:?}: norm {total:e}, want {want:e} ± {tol:e}; {gs:?}"
    );
}

fn clip_value_and_clamp(i: &mut Input) {
    let n = len(i);
    let off = i.len(3);
    let s = scale(i);
    let x0 = i.values(n, s);
    let (a, b) = (i.hparam(0.0, 2.0), i.hparam(-2.0, 2.0));
    let mut x = guarded(off, &x0);
    if i.bool() {
        let r = clip_grad_value(&mut [&mut x[off..off + n]], a);
        assert!(intact(&x, off, n));
        if !(a >= 0.0) {
            assert_eq!(r, Err(Error::InvalidHyperParameter { what: "clip_value" }));
            assert!(same_bits(&x[off..off + n], &x0));
            return;
        }
        r.unwrap();
        for k in 0..n {
            let v = x0[k];
            let want = if v < -a {
                -a
            } else if v > a {
                a
            } else {
                v
            };
            input::compared();
            assert_eq!(x[off + k].to_bits(), want.to_bits(), "clip_value {a}: {v}");
        }
    } else {
        let r = clamp(&mut x[off..off + n], b, a);
        assert!(intact(&x, off, n));
        if b.is_nan() || a.is_nan() {
            let what = if b.is_nan() { "min" } else { "max" };
            assert_eq!(r, Err(Error::InvalidHyperParameter { what }));
            assert!(same_bits(&x[off..off + n], &x0));
            return;
        }
        r.unwrap();
        for k in 0..n {
            let v = x0[k];
            let v = if v < b { b } else { v };
            let want = if v > a { a } else { v };
            input::compared();
            assert_eq!(x[off + k].to_bits(), want.to_bits(), "clamp [{b}, {a}]");
        }
    }
}

fn rows(i: &mut Input) {
    let (r, c) = (i.len(6), i.len(40));
    let off = i.len(3);
    let max_norm = i.hparam(0.0, 3.0);
    let wl = i.length(r * c, 16);
    let s = scale(i);
    let w0 = i.mostly_tame(wl, s);
    let mut w = guarded(off, &w0);
    let res = max_norm_rows(&mut w[off..off + wl], r, c, max_norm);
    assert!(intact(&w, off, wl));
    let expected = if !(max_norm >= 0.0) {
        Err(Error::InvalidHyperParameter { what: "maxnorm" })
    } else if wl != r * c {
        Err(Error::LengthMismatch {
            what: "w",
            expected: r * c,
            actual: wl,
        })
    } else {
        Ok(())
    };
    assert_eq!(res, expected);
    let w = &w[off..off + wl];
    if res.is_err() {
        assert!(same_bits(w, &w0));
        return;
    }
    for row in 0..r {
        let (got, before) = (&w[row * c..(row + 1) * c], &w0[row * c..(row + 1) * c]);
        if !tame(before) {
            continue;
        }
        let norm = before
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let m = max_norm as f64;
        if norm < m * (1.0 - 1e-5) {
            input::compared();
            assert!(same_bits(got, before), "row {row} of norm {norm} below {m}");
        } else if norm > m * (1.0 + 1e-5) {
            // The factor is an f32 (as torch's): the norm's 32u and its own rounding, or an
            // absolute 2⁻¹⁴⁹ once it is subnormal, times |w|.
            let f = m / (norm + 1e-7);
            for (g, b) in got.iter().zip(before) {
                let want = *b as f64 * f;
                input::compared();
                let tol = 40.0 * U * want.abs()
                    + (*b as f64).abs() * f32::from_bits(1) as f64
                    + f32::MIN_POSITIVE as f64;
                assert!(
                    (*g as f64 - want).abs() <= tol,
                    "row {row} of norm {norm} > {m}: {g:e}, want {want:e}"
                );
            }
        }
    }
}

fn prune(i: &mut Input) {
    let parts: Vec<usize> = (0..1 + i.len(3)).map(|_| i.len(30)).collect();
    let n: usize = parts.iter().sum();
    let amount = if i.bool() {
        Amount::Count(i.len(n + 2))
    } else {
        Amount::Fraction(f64::from(i.hparam(0.0, 1.0)))
    };
    let global = i.bool();
    let s = scale(i);
    // Ties are the interesting case: draw from a few values sometimes.
    let ties = i.bool();
    let w: Vec<f32> = (0..n)
        .map(|_| {
            if ties {
                [0.0, -0.0, 1.0, -1.0, 0.5, f32::NAN][i.byte() as usize % 6]
            } else {
                i.value(s)
            }
        })
        .collect();
    let scratch_len = i.length(prune_scratch_len(n), 8);
    let mut scratch = vec![3.0; scratch_len];
    let k_ok = amount.count(n);
    if global {
        let wrong_mask = i.byte() % 16 == 0;
        let mut masks: Vec<Vec<f32>> = parts
            .iter()
            .enumerate()
            .map(|(t, &p)| vec![7.0; if wrong_mask && t == 0 { p + 1 } else { p }])
            .collect();
        let ws: Vec<&[f32]> = {
            let mut at = 0;
            parts
                .iter()
                .map(|&p| {
                    at += p;
                    &w[at - p..at]
                })
                .collect()
        };
        let mut ms: Vec<&mut [f32]> = masks.iter_mut().map(|m| m.as_mut_slice()).collect();
        let r = global_magnitude_mask(&ws, amount, &mut ms, &mut scratch);
        if wrong_mask {
            assert!(matches!(
                r,
                Err(Error::LengthMismatch { what: "masks", .. })
            ));
            assert!(masks.iter().flatten().all(|&v| v == 7.0));
            return;
        }
        check_prune(&w, amount, k_ok, scratch_len, r, masks.concat());
    } else {
        let ml = i.length(n, 16);
        let mut m = vec![7.0; ml];
        let r = magnitude_mask(&w, amount, &mut m, &mut scratch);
        if ml != n {
            assert_eq!(
                r,
                Err(Error::LengthMismatch {
                    what: "mask",
                    expected: n,
                    actual: ml
                })
            );
            assert!(m.iter().all(|&v| v == 7.0));
            return;
        }
        check_prune(&w, amount, k_ok, scratch_len, r, m);
    }
}

fn check_prune(
    w: &[f32],
    amount: Amount,
    k: descent::Result<usize>,
    scratch_len: usize,
    r: descent::Result<usize>,
    mask: Vec<f32>,
) {
    let n = w.len();
    let expected = k.and_then(|k| {
        if scratch_len < n {
            Err(Error::LengthMismatch {
                what: "scratch",
                expected: n,
                actual: scratch_len,
            })
        } else {
            Ok(k)
        }
    });
    assert_eq!(r, expected, "{amount:?} n={n}");
    let Ok(k) = r else {
        assert!(mask.iter().all(|&v| v == 7.0), "written on error");
        return;
    };
    if let Amount::Count(c) = amount {
        assert_eq!(k, c);
    }
    assert_eq!(mask.iter().filter(|&&v| v == 0.0).count(), k);
    input::compared();
    assert_eq!(mask, reference_mask(w, k), "{amount:?} w={w:?}");
}

fn mask(i: &mut Input) {
    let n = len(i);
    let off = i.len(3);
    let xl = i.length(n, 16);
    let m: Vec<f32> = (0..n)
        .map(|_| if i.bool() { 1.0 } else { i.value(1.0) })
        .collect();
    let x0 = i.values(xl, 10.0);
    let mut x = guarded(off, &x0);
    let r = apply_mask(&m, &mut x[off..off + xl]);
    assert!(intact(&x, off, xl));
    if xl != n {
        assert_eq!(
            r,
            Err(Error::LengthMismatch {
                what: "x",
                expected: n,
                actual: xl
            })
        );
        assert!(same_bits(&x[off..off + xl], &x0));
        return;
    }
    r.unwrap();
    let want: Vec<f32> = x0.iter().zip(&m).map(|(x, m)| x * m).collect();
    input::compared();
    assert!(same_values(&x[off..off + n], &want));
}
