//! Tests for `descent::regularize`.
//!
//! * Every element-wise kernel (penalties with their accumulated gradients, `clip_grad_value`,
//!   `clamp`, `apply_mask`) and the row-wise `max_norm_rows` against a plain scalar reference
//!   at every length 0..=70, on sub-slices at offsets 0..=3 of a larger buffer whose other
//!   elements must stay untouched. These and the norm tests run on every available instruction
//!   set (`common::for_each_isa`).
//! * `clip_grad_norm` over several slices of mixed lengths (empty ones included) against an
//!   `f64` reference for every norm type; NaN and infinity propagation; a zero and a tiny
//!   total; gradients near the ends of the `f32` range, where torch's unscaled sum fails.
//! * Pruning masks against a sort-based reference: exactly `k` zeros, on the `k` smallest
//!   magnitudes, ties to the lower index, NaN as largest; global pruning equals per-slice
//!   pruning of the concatenation; `amount` 0, 1, counts, Python's half-to-even rounding.
//! * The masking recipe keeps pruned weights at exactly zero through SGD with momentum and
//!   weight decay, and each half of it alone does not.
//! * Every error path returns its exact variant and leaves every output untouched.
//!
//! Tolerances are bounds derived from the arithmetic in units of `U = 2⁻²⁴`, explained where
//! they are defined.

mod common;
#[path = "reference/regularize.rs"]
mod reference;

use common::{for_each_isa, Rng, U};
use descent::regularize::{self as reg, Amount, NormType};
use descent::simd::{axpy, scale};
use descent::Error;
use reference::reference_mask;

/// What buffers hold outside the sub-slice under test.
const SENTINEL: f32 = -1234.5;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Weights in [-2, 2) with a few exact zeros of both signs.
fn weights(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| match i % 11 {
            3 => 0.0,
            7 => -0.0,
            _ => 2.0 * rng.next(),
        })
        .collect()
}

/// A buffer of `n + off + 3` sentinels with `data` copied at `off`.
fn embed(data: &[f32], off: usize) -> Vec<f32> {
    let mut buf = vec![SENTINEL; data.len() + off + 3];
    buf[off..off + data.len()].copy_from_slice(data);
    buf
}

/// Asserts the elements of `buf` outside `off..off + n` are still the sentinel.
fn assert_outside_untouched(buf: &[f32], off: usize, n: usize, what: &str) {
    for (i, v) in buf.iter().enumerate() {
        if i < off || i >= off + n {
            assert_eq!(
                v.to_bits(),
                SENTINEL.to_bits(),
                "{what}: element {i} outside changed"
            );
        }
    }
}

fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x.is_nan() {
        x
    } else {
        0.0
    }
}

/// Bound of the penalty sums, relative to the sum of the (non-negative) terms: each lane adds
/// at most `⌈n/8⌉` (≤ 32 per block) terms in f32, then 3 levels of the lane reduction, the
/// rounding of a square, and the final rounding to f32.
fn sum_bound(n: usize) -> f64 {
    (n.div_ceil(8).min(32) as f64 + 5.0) * U
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

// ---------------------------------------------------------------------------------------------
// Penalties
// ---------------------------------------------------------------------------------------------

#[test]
fn penalties_match_scalar_reference_at_every_length_and_offset() {
    for_each_isa(|_| penalties_match_scalar_reference_at_every_length_and_offset_once());
}

/// One instruction set of [`penalties_match_scalar_reference_at_every_length_and_offset`].
fn penalties_match_scalar_reference_at_every_length_and_offset_once() {
    let mut rng = Rng::new(1);
    let lambda = 0.37f32;
    for n in 0..=70 {
        for off in 0..=3 {
            let w = weights(&mut rng, n);
            let g0: Vec<f32> = (0..n).map(|_| rng.next()).collect();
            let wbuf = embed(&w, off);
            let ws = &wbuf[off..off + n];
            let l = f64::from(lambda);
            let sum_abs: f64 = w.iter().map(|x| f64::from(x.abs())).sum();
            let sum_sq: f64 = w.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();

            // l1: the gradient is g0 + λ·sign(w) in f32, exactly.
            let mut gbuf = embed(&g0, off);
            let p = reg::l1(ws, lambda, Some(&mut gbuf[off..off + n])).unwrap();
            let want = l * sum_abs;
            assert!(
                (f64::from(p) - want).abs() <= sum_bound(n) * want,
                "l1 n={n}: {p} vs {want}"
            );
            for i in 0..n {
                assert_eq!(
                    gbuf[off + i],
                    g0[i] + lambda * sign(w[i]),
                    "l1 grad n={n} i={i}"
                );
            }
            assert_outside_untouched(&gbuf, off, n, "l1 grad");
            assert_eq!(
                reg::l1(ws, lambda, None).unwrap(),
                p,
                "l1 without grad n={n}"
            );

            // l2, both conventions: the gradient is g0 + c·w with c = λ or 2λ, exactly.
            for half in [true, false] {
                let mut gbuf = embed(&g0, off);
                let p = reg::l2(ws, lambda, half, Some(&mut gbuf[off..off + n])).unwrap();
                let (k, c) = if half {
                    (0.5, lambda)
                } else {
                    (1.0, 2.0 * lambda)
                };
                let want = k * l * sum_sq;
                assert!(
                    (f64::from(p) - want).abs() <= sum_bound(n) * want,
                    "l2 half={half} n={n}: {p} vs {want}"
                );
                for i in 0..n {
                    assert_eq!(gbuf[off + i], g0[i] + c * w[i], "l2 grad n={n} i={i}");
                }
                assert_outside_untouched(&gbuf, off, n, "l2 grad");
                assert_eq!(reg::l2(ws, lambda, half, None).unwrap(), p);
            }

            // elastic net: the coefficients λr, λ(1−r) are rounded to f32, then one (possibly
            // fused) multiply-add and one add: within 3u of the magnitudes involved.
            for r in [0.0f32, 0.25, 0.8, 1.0] {
                let rr = f64::from(r);
                let mut gbuf = embed(&g0, off);
                let p = reg::elastic_net(ws, lambda, r, Some(&mut gbuf[off..off + n])).unwrap();
                let want = l * (rr * sum_abs + 0.5 * (1.0 - rr) * sum_sq);
                assert!(
                    (f64::from(p) - want).abs() <= sum_bound(n) * want,
                    "elastic r={r} n={n}: {p} vs {want}"
                );
                for i in 0..n {
                    let (a, b) = (l * rr, l * (1.0 - rr));
                    let wi = f64::from(w[i]);
                    let want = f64::from(g0[i]) + a * f64::from(sign(w[i])) + b * wi;
                    let tol = 3.0 * U * (f64::from(g0[i]).abs() + a + b * wi.abs());
                    let got = f64::from(gbuf[off + i]);
                    assert!((got - want).abs() <= tol, "elastic grad r={r} n={n} i={i}");
                }
                assert_outside_untouched(&gbuf, off, n, "elastic grad");
                assert_eq!(reg::elastic_net(ws, lambda, r, None).unwrap(), p);
            }
        }
    }
}

#[test]
fn penalty_sums_stay_accurate_on_long_inputs() {
    for_each_isa(|_| penalty_sums_stay_accurate_on_long_inputs_once());
}

/// One instruction set of [`penalty_sums_stay_accurate_on_long_inputs`].
fn penalty_sums_stay_accurate_on_long_inputs_once() {
    let mut rng = Rng::new(2);
    for n in [255, 256, 257, 1000, 100_003] {
        let w = weights(&mut rng, n);
        let sum_abs: f64 = w.iter().map(|x| f64::from(x.abs())).sum();
        let sum_sq: f64 = w.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
        let p1 = f64::from(reg::l1(&w, 1.0, None).unwrap());
        let p2 = f64::from(reg::l2(&w, 1.0, false, None).unwrap());
        // Blocks of 256 keep the bound at 37u whatever n is.
        assert!((p1 - sum_abs).abs() <= sum_bound(n) * sum_abs, "l1 n={n}");
        assert!((p2 - sum_sq).abs() <= sum_bound(n) * sum_sq, "l2 n={n}");
    }
}

#[test]
fn penalties_propagate_nan_and_handle_empty_and_zero_lambda() {
    for_each_isa(|_| penalties_propagate_nan_and_handle_empty_and_zero_lambda_once());
}

/// One instruction set of [`penalties_propagate_nan_and_handle_empty_and_zero_lambda`].
fn penalties_propagate_nan_and_handle_empty_and_zero_lambda_once() {
    let w = [1.0, f32::NAN, -2.0];
    let mut g = [0.0; 3];
    assert!(reg::l1(&w, 0.1, Some(&mut g)).unwrap().is_nan());
    assert!(g[1].is_nan() && g[0] == 0.1 && g[2] == -0.1);
    let mut g = [0.0; 3];
    assert!(reg::l2(&w, 0.1, true, Some(&mut g)).unwrap().is_nan());
    assert!(g[1].is_nan());
    let mut g = [0.0; 3];
    assert!(reg::elastic_net(&w, 0.1, 0.5, Some(&mut g))
        .unwrap()
        .is_nan());
    assert!(g[1].is_nan() && g[0].is_finite());
    // Σ over nothing is 0; λ = 0 adds (signed) zeros.
    assert_eq!(reg::l1(&[], 0.5, Some(&mut [])).unwrap(), 0.0);
    let mut g = [3.0, -4.0];
    assert_eq!(reg::l2(&[5.0, 6.0], 0.0, false, Some(&mut g)).unwrap(), 0.0);
    assert_eq!(g, [3.0, -4.0]);
}

// ---------------------------------------------------------------------------------------------
// Element-wise clipping and masks
// ---------------------------------------------------------------------------------------------

#[test]
fn clip_value_clamp_and_mask_match_scalar_at_every_length_and_offset() {
    for_each_isa(|_| clip_value_clamp_and_mask_match_scalar_at_every_length_and_offset_once());
}

/// One instruction set of [`clip_value_clamp_and_mask_match_scalar_at_every_length_and_offset`].
fn clip_value_clamp_and_mask_match_scalar_at_every_length_and_offset_once() {
    let mut rng = Rng::new(3);
    for n in 0..=70 {
        for off in 0..=3 {
            let x: Vec<f32> = (0..n)
                .map(|i| {
                    if i % 13 == 5 {
                        f32::NAN
                    } else {
                        3.0 * rng.next()
                    }
                })
                .collect();
            let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());

            let c = 0.75f32;
            let mut buf = embed(&x, off);
            reg::clip_grad_value_flat(&mut buf[off..off + n], c).unwrap();
            for i in 0..n {
                let want = if x[i] < -c {
                    -c
                } else if x[i] > c {
                    c
                } else {
                    x[i]
                };
                assert!(same(buf[off + i], want), "clip_grad_value n={n} i={i}");
            }
            assert_outside_untouched(&buf, off, n, "clip_grad_value");

            for (lo, hi) in [(-0.5f32, 1.25f32), (1.0, -1.0), (f32::NEG_INFINITY, 0.0)] {
                let mut buf = embed(&x, off);
                reg::clamp(&mut buf[off..off + n], lo, hi).unwrap();
                for i in 0..n {
                    // torch: min(max(x, lo), hi); NaN stays; lo > hi gives hi everywhere.
                    let v = if x[i] < lo { lo } else { x[i] };
                    let want = if v > hi { hi } else { v };
                    assert!(same(buf[off + i], want), "clamp({lo}, {hi}) n={n} i={i}");
                    if lo > hi && !x[i].is_nan() {
                        assert_eq!(buf[off + i], hi);
                    }
                }
                assert_outside_untouched(&buf, off, n, "clamp");
            }

            let mask: Vec<f32> = (0..n).map(|i| if i % 3 == 1 { 0.0 } else { 1.0 }).collect();
            let mut buf = embed(&x, off);
            reg::apply_mask(&mask, &mut buf[off..off + n]).unwrap();
            for i in 0..n {
                assert!(same(buf[off + i], x[i] * mask[i]), "apply_mask n={n} i={i}");
            }
            assert_outside_untouched(&buf, off, n, "apply_mask");
        }
    }
}

#[test]
fn max_norm_rows_matches_renorm_reference() {
    for_each_isa(|_| max_norm_rows_matches_renorm_reference_once());
}

/// One instruction set of [`max_norm_rows_matches_renorm_reference`].
fn max_norm_rows_matches_renorm_reference_once() {
    let mut rng = Rng::new(4);
    for cols in 0..=70 {
        for off in 0..=3 {
            let rows = 4;
            let n = rows * cols;
            // Rows of norms around the cap: scaled by 0.2, 0.6, 1.0, 1.4 of a unit-ish row.
            let w: Vec<f32> = (0..n)
                .map(|i| rng.next() * (0.2 + 0.4 * (i / cols.max(1)) as f32))
                .collect();
            let max_norm = 0.25 * (cols as f32).sqrt();
            let mut buf = embed(&w, off);
            reg::max_norm_rows(&mut buf[off..off + n], rows, cols, max_norm).unwrap();
            for r in 0..rows {
                let row = &w[r * cols..(r + 1) * cols];
                let norm = row
                    .iter()
                    .map(|x| f64::from(*x).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let norm32 = norm as f32;
                for (j, x) in row.iter().enumerate() {
                    let got = buf[off + r * cols + j];
                    if norm32 > max_norm {
                        // The lane sum of ≤ 70 squares errs by ≤ 13u (≤ 9 terms per lane, 3
                        // reduction levels, the squares), so the norm by ≤ 7u + the sqrt and
                        // the rounding to f32; the factor (add, divide) and the product add 3u:
                        // 12u in all.
                        let want = f64::from(*x) * f64::from(max_norm) / (norm + 1e-7);
                        let tol = 16.0 * U * want.abs();
                        assert!(
                            (f64::from(got) - want).abs() <= tol,
                            "cols={cols} r={r} j={j}"
                        );
                    } else {
                        assert_eq!(got, *x, "cols={cols} r={r}: unclipped row changed");
                    }
                }
                if norm32 > max_norm {
                    let after = (0..cols)
                        .map(|j| f64::from(buf[off + r * cols + j]).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    assert!(
                        after <= f64::from(max_norm) * (1.0 + 8.0 * U),
                        "cols={cols} r={r}"
                    );
                }
            }
            assert_outside_untouched(&buf, off, n, "max_norm_rows");
        }
    }
    // A NaN row is left as it is (torch's `norm > maxnorm` is false), the others are clipped.
    let mut w = [f32::NAN, 1.0, 30.0, 40.0];
    reg::max_norm_rows(&mut w, 2, 2, 1.0).unwrap();
    assert!(w[0].is_nan() && w[1] == 1.0);
    assert!((w[2] - 0.6).abs() < 1e-6 && (w[3] - 0.8).abs() < 1e-6);
    // Overflow-safe norm: a row of 1e30s is clipped to the ball, not to NaN or zero.
    let mut w = [1e30, -1e30, 1e30, 1e30];
    reg::max_norm_rows(&mut w, 1, 4, 2.0).unwrap();
    for v in w {
        assert!((v.abs() - 1.0).abs() < 1e-6, "{v}");
    }
    // Empty shapes are fine.
    reg::max_norm_rows(&mut [], 0, 5, 1.0).unwrap();
    reg::max_norm_rows(&mut [], 7, 0, 1.0).unwrap();
}

// ---------------------------------------------------------------------------------------------
// clip_grad_norm
// ---------------------------------------------------------------------------------------------

/// Mixed lengths, empty slices included, over several blocks in all.
fn grad_set(rng: &mut Rng, lens: &[usize], amplitude: f32) -> Vec<Vec<f32>> {
    lens.iter()
        .map(|&n| (0..n).map(|_| amplitude * rng.next()).collect())
        .collect()
}

/// The f64 reference total norm and a bound of our error on it (absolute).
fn reference_norm(grads: &[Vec<f32>], norm_type: NormType) -> (f64, f64) {
    let all = || grads.iter().flatten().map(|x| f64::from(x.abs()));
    let n: usize = grads.iter().map(Vec::len).sum();
    // Sum bound as for the penalties (per slice, ≤ 32 terms per lane), + the f64 flushes.
    let sum_rel = (n.div_ceil(8).min(32) as f64 + 6.0) * U;
    match norm_type {
        NormType::L1 => {
            let s: f64 = all().sum();
            (s, (sum_rel + U) * s)
        }
        NormType::L2 => {
            let s: f64 = all().map(|x| x * x).sum::<f64>().sqrt();
            // Half the relative error of the sum of squares (+ a square's rounding), the
            // sqrt and the rounding to f32.
            (s, (0.5 * (sum_rel + U) + 2.0 * U) * s)
        }
        NormType::Inf => (all().fold(0.0, f64::max), 0.0),
        NormType::P(p) => {
            let p = f64::from(p);
            let m = all().fold(0.0, f64::max);
            if m == 0.0 {
                return (0.0, 0.0);
            }
            // Terms x^p with x = |g|/m computed as exp(p·ln x): x rounded (u), ln within
            // 2 ulp (4u·|ln x| absolute), the product p·ln x rounded, exp within 2 ulp; so
            // each term errs by at most x^p·(4u + p·u + 5u·p·|ln x|), plus the sum's error.
            let mut s = 0.0;
            let mut err = 0.0;
            for x in all().map(|a| a / m) {
                let t = x.powf(p);
                s += t;
                if x > 0.0 {
                    err += t * (4.0 * U + p * U + 5.0 * U * p * x.ln().abs());
                }
            }
            err += sum_rel * s;
            let total = m * s.powf(1.0 / p);
            // (S + δ)^(1/p) ≈ S^(1/p)·(1 + δ/(p·S)); then pow, the product and the rounding.
            (total, total * (err / (p * s) + 4.0 * U))
        }
    }
}

/// torch's coefficient from a total, in f32 as `clip_grads_with_norm_` computes it.
fn coef(max_norm: f32, total: f32) -> f32 {
    let c = (1.0 / (total + 1e-6)) * max_norm;
    if c > 1.0 {
        1.0
    } else {
        c
    }
}

#[test]
fn clip_grad_norm_matches_f64_reference_for_every_norm_type() {
    for_each_isa(|_| clip_grad_norm_matches_f64_reference_for_every_norm_type_once());
}

/// One instruction set of [`clip_grad_norm_matches_f64_reference_for_every_norm_type`].
fn clip_grad_norm_matches_f64_reference_for_every_norm_type_once() {
    let mut rng = Rng::new(5);
    let layouts: [&[usize]; 5] = [
        &[],
        &[0],
        &[3, 0, 17, 1, 64, 0, 70],
        &[300, 5, 0, 1029],
        &[9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    let norms = [
        NormType::L1,
        NormType::L2,
        NormType::Inf,
        NormType::P(3.0),
        NormType::P(0.5),
        NormType::P(1.5),
    ];
    for layout in layouts {
        for norm_type in norms {
            for max_norm in [0.0f32, 0.5, 3.0, 1e6] {
                let grads = grad_set(&mut rng, layout, 2.0);
                let (want, tol) = reference_norm(&grads, norm_type);
                let views: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
                let measured = reg::grad_norm(&views, norm_type).unwrap();

                let mut clipped = grads.clone();
                let mut views: Vec<&mut [f32]> =
                    clipped.iter_mut().map(Vec::as_mut_slice).collect();
                let total = reg::clip_grad_norm(&mut views, max_norm, norm_type).unwrap();
                let what = format!("{layout:?} {norm_type:?} max_norm={max_norm}");
                assert!(
                    (f64::from(total) - want).abs() <= tol,
                    "{what}: {total} vs {want} ± {tol:e}"
                );
                assert_eq!(
                    total.to_bits(),
                    measured.to_bits(),
                    "{what}: grad_norm differs"
                );

                // The clipped gradients are g·coef with torch's f32 coefficient of our total;
                // and that coefficient is within the total's error of the reference one.
                let c = coef(max_norm, total);
                let c_ref = (f64::from(max_norm) / (want + 1e-6)).min(1.0);
                let rel = if want > 0.0 { tol / want } else { 0.0 };
                assert!(
                    (f64::from(c) - c_ref).abs() <= (rel + 4.0 * U) * c_ref,
                    "{what}: coef"
                );
                for (g, orig) in clipped.iter().zip(&grads) {
                    for (x, o) in g.iter().zip(orig) {
                        assert_eq!(x.to_bits(), (o * c).to_bits(), "{what}");
                    }
                }
                if c < 1.0 && want > 0.0 {
                    let (after, tol_after) = reference_norm(&clipped, norm_type);
                    let limit = f64::from(max_norm) * (1.0 + rel + 8.0 * U) + tol_after;
                    assert!(after <= limit, "{what}: norm after clipping {after}");
                }

                // The two halves give the same as the whole.
                let mut halves = grads.clone();
                let mut views: Vec<&mut [f32]> = halves.iter_mut().map(Vec::as_mut_slice).collect();
                reg::clip_grads_with_norm(&mut views, max_norm, measured).unwrap();
                assert_eq!(halves, clipped, "{what}: clip_grads_with_norm");
            }
        }
    }
}

#[test]
fn clip_grad_norm_flat_is_the_one_slice_case() {
    for_each_isa(|_| clip_grad_norm_flat_is_the_one_slice_case_once());
}

/// One instruction set of [`clip_grad_norm_flat_is_the_one_slice_case`].
fn clip_grad_norm_flat_is_the_one_slice_case_once() {
    let mut rng = Rng::new(6);
    let g: Vec<f32> = (0..777).map(|_| rng.next()).collect();
    for norm_type in [NormType::L1, NormType::L2, NormType::Inf, NormType::P(4.0)] {
        let mut a = g.clone();
        let mut b = g.clone();
        let ta = reg::clip_grad_norm_flat(&mut a, 1.0, norm_type).unwrap();
        let tb = reg::clip_grad_norm(&mut [&mut b[..]], 1.0, norm_type).unwrap();
        assert_eq!(
            (ta.to_bits(), bits(&a)),
            (tb.to_bits(), bits(&b)),
            "{norm_type:?}"
        );
    }
    // P(1), P(2), P(∞) are the named norms.
    for (p, named) in [
        (1.0, NormType::L1),
        (2.0, NormType::L2),
        (f32::INFINITY, NormType::Inf),
    ] {
        let x = reg::grad_norm(&[&g], NormType::P(p)).unwrap();
        assert_eq!(x, reg::grad_norm(&[&g], named).unwrap(), "p={p}");
    }
}

#[test]
fn clip_grad_norm_propagates_nan_and_infinity() {
    for_each_isa(|_| clip_grad_norm_propagates_nan_and_infinity_once());
}

/// One instruction set of [`clip_grad_norm_propagates_nan_and_infinity`].
fn clip_grad_norm_propagates_nan_and_infinity_once() {
    for norm_type in [NormType::L1, NormType::L2, NormType::Inf, NormType::P(3.0)] {
        // A NaN anywhere: the total is NaN, so is the coefficient, so is every gradient.
        let mut a = [1.0, 2.0, 3.0];
        let mut b = vec![0.5f32; 300];
        b[299] = f32::NAN;
        let total = reg::clip_grad_norm(&mut [&mut a, &mut b], 1.0, norm_type).unwrap();
        assert!(total.is_nan(), "{norm_type:?}");
        assert!(a.iter().chain(&b).all(|x| x.is_nan()), "{norm_type:?}");

        // NaN and +∞ together still give NaN.
        let mut a = [f32::INFINITY, 1.0];
        let mut b = [f32::NAN];
        assert!(reg::clip_grad_norm(&mut [&mut a, &mut b], 1.0, norm_type)
            .unwrap()
            .is_nan());

        // An infinity: the total is +∞, the coefficient 0: finite gradients become (signed)
        // zeros and the infinite one NaN (∞·0), as in torch.
        let mut a = [1.0, -2.0];
        let mut b = [f32::NEG_INFINITY, 3.0];
        let total = reg::clip_grad_norm(&mut [&mut a, &mut b], 1.0, norm_type).unwrap();
        assert_eq!(total, f32::INFINITY, "{norm_type:?}");
        assert_eq!(bits(&a), bits(&[0.0, -0.0]));
        assert!(b[0].is_nan() && b[1].to_bits() == 0.0f32.to_bits());
    }
}

#[test]
fn clip_grad_norm_zero_and_tiny_totals() {
    for_each_isa(|_| clip_grad_norm_zero_and_tiny_totals_once());
}

/// One instruction set of [`clip_grad_norm_zero_and_tiny_totals`].
fn clip_grad_norm_zero_and_tiny_totals_once() {
    for norm_type in [NormType::L1, NormType::L2, NormType::Inf, NormType::P(3.0)] {
        // All zero (and no slices, and only empty slices): total 0, coefficient clamped to 1.
        let mut a = [0.0f32; 37];
        let mut b = [-0.0f32; 5];
        let total = reg::clip_grad_norm(&mut [&mut a, &mut b], 1.0, norm_type).unwrap();
        assert_eq!(total, 0.0);
        assert!(
            a.iter().all(|x| x.to_bits() == 0)
                && b.iter().all(|x| x.to_bits() == (-0.0f32).to_bits())
        );
        assert_eq!(reg::clip_grad_norm(&mut [], 1.0, norm_type).unwrap(), 0.0);
        assert_eq!(
            reg::clip_grad_norm(&mut [&mut [], &mut []], 1.0, norm_type).unwrap(),
            0.0
        );

        // A total of 1e-5 with max_norm 1e-6: the +1e-6 makes the coefficient 1/11, not 1/10.
        let mut g = [1e-5f32];
        let total = reg::clip_grad_norm_flat(&mut g, 1e-6, norm_type).unwrap();
        assert_eq!(total, 1e-5);
        assert_eq!(g[0], 1e-5 * coef(1e-6, 1e-5));
        assert!(
            (f64::from(g[0]) - 1e-6 / 1.1).abs() < 1e-6 * 8.0 * U,
            "{}",
            g[0]
        );
    }
}

#[test]
fn clip_grad_norm_is_right_where_torch_overflows_or_underflows() {
    for_each_isa(|_| clip_grad_norm_is_right_where_torch_overflows_or_underflows_once());
}

/// One instruction set of [`clip_grad_norm_is_right_where_torch_overflows_or_underflows`].
fn clip_grad_norm_is_right_where_torch_overflows_or_underflows_once() {
    // |g| ~ 1e20: torch's f32 squares overflow to +∞ and zero the gradients; ours do not.
    for (amplitude, lens) in [
        (1e20f32, [3usize, 300, 41]),
        (1e37, [1, 257, 2]),
        (1e-25, [100, 0, 500]),
    ] {
        let mut rng = Rng::new(7);
        let grads = grad_set(&mut rng, &lens, amplitude);
        for norm_type in [NormType::L1, NormType::L2, NormType::P(3.0)] {
            let (want, tol) = reference_norm(&grads, norm_type);
            let views: Vec<&[f32]> = grads.iter().map(Vec::as_slice).collect();
            let got = f64::from(reg::grad_norm(&views, norm_type).unwrap());
            if want <= f64::from(f32::MAX) {
                // The rescaled blocks add a scaling that is exact; the bound is unchanged.
                assert!(
                    (got - want).abs() <= tol,
                    "{amplitude:e} {norm_type:?}: {got:e} vs {want:e}"
                );
            } else {
                assert_eq!(
                    got,
                    f64::INFINITY,
                    "{amplitude:e} {norm_type:?}: the norm itself overflows"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pruning
// ---------------------------------------------------------------------------------------------

/// Python's `round(amount * n)`.
fn python_k(amount: f64, n: usize) -> usize {
    (amount * n as f64).round_ties_even() as usize
}

fn mask_of(w: &[f32], amount: Amount) -> (usize, Vec<f32>) {
    let mut mask = vec![SENTINEL; w.len()];
    let mut scratch = vec![0.0; reg::prune_scratch_len(w.len())];
    let k = reg::magnitude_mask(w, amount, &mut mask, &mut scratch).unwrap();
    (k, mask)
}

#[test]
fn magnitude_mask_prunes_exactly_the_k_smallest() {
    let mut rng = Rng::new(8);
    let fractions = [0.0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.9, 1.0];
    for n in (0..=70).chain([255, 256, 1000, 4099]) {
        let w: Vec<f32> = (0..n).map(|_| 5.0 * rng.next()).collect();
        let mut amounts: Vec<Amount> = fractions.iter().map(|&f| Amount::Fraction(f)).collect();
        amounts.extend([0, 1.min(n), n / 2, n].map(Amount::Count));
        for amount in amounts {
            let k_want = match amount {
                Amount::Fraction(f) => python_k(f, n),
                Amount::Count(c) => c,
            };
            let (k, mask) = mask_of(&w, amount);
            assert_eq!(k, k_want, "n={n} {amount:?}");
            assert_eq!(
                mask.iter().filter(|m| **m == 0.0).count(),
                k,
                "n={n} {amount:?}"
            );
            assert!(mask.iter().all(|m| *m == 0.0 || *m == 1.0));
            assert_eq!(mask, reference_mask(&w, k), "n={n} {amount:?}");
            // Every pruned magnitude is at most every kept one.
            let pruned_max = w
                .iter()
                .zip(&mask)
                .filter(|(_, m)| **m == 0.0)
                .map(|(x, _)| x.abs())
                .fold(0.0, f32::max);
            let kept_min = w
                .iter()
                .zip(&mask)
                .filter(|(_, m)| **m == 1.0)
                .map(|(x, _)| x.abs())
                .fold(f32::INFINITY, f32::min);
            assert!(pruned_max <= kept_min, "n={n} {amount:?}");
        }
    }
}

#[test]
fn amount_rounds_half_to_even_in_f64() {
    assert_eq!(Amount::Fraction(0.5).count(5), Ok(2));
    assert_eq!(Amount::Fraction(0.5).count(7), Ok(4));
    assert_eq!(Amount::Fraction(0.5).count(9), Ok(4));
    assert_eq!(Amount::Fraction(0.3).count(10), Ok(3)); // 3.0000000000000004
    assert_eq!(Amount::Fraction(0.7).count(10), Ok(7)); // 6.999999999999999
    assert_eq!(Amount::Fraction(0.125).count(12), Ok(2)); // 1.5 → 2
    assert_eq!(Amount::Fraction(0.125).count(20), Ok(2)); // 2.5 → 2
    assert_eq!(Amount::Fraction(1.0).count(0), Ok(0));
    assert_eq!(Amount::Fraction(1.0).count(usize::MAX), Ok(usize::MAX));
    for n in 0..200 {
        for f in [0.05, 0.15, 0.35, 0.45, 0.55, 0.65, 0.85, 0.95, 1.0 / 3.0] {
            assert_eq!(
                Amount::Fraction(f).count(n),
                Ok(python_k(f, n)),
                "{f} · {n}"
            );
        }
    }
}

#[test]
fn magnitude_mask_breaks_ties_by_lower_index_and_keeps_nan() {
    // Many equal magnitudes (±0 tie, ±0.5 tie): the lower index is pruned first.
    let w = [0.5, -0.0, 0.5, 0.0, -0.5, 1.0, 0.0, 0.5];
    for k in 0..=w.len() {
        let (_, mask) = mask_of(&w, Amount::Count(k));
        assert_eq!(mask, reference_mask(&w, k), "k={k}");
    }
    assert_eq!(
        mask_of(&w, Amount::Count(4)).1,
        [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    );
    // NaN counts as larger than +∞: kept until k reaches it.
    let w = [f32::NAN, 1.0, f32::INFINITY, -f32::NAN, 0.25];
    assert_eq!(mask_of(&w, Amount::Count(3)).1, [1.0, 0.0, 0.0, 1.0, 0.0]);
    assert_eq!(mask_of(&w, Amount::Count(4)).1, reference_mask(&w, 4));
    assert_eq!(mask_of(&w, Amount::Count(5)).1, [0.0; 5]);
    // Random data with heavy ties against the reference.
    let mut rng = Rng::new(9);
    for n in 0..=70 {
        let w: Vec<f32> = (0..n).map(|_| (rng.next() * 3.0).round() * 0.5).collect();
        for k in [0, n / 3, n / 2, n] {
            assert_eq!(
                mask_of(&w, Amount::Count(k)).1,
                reference_mask(&w, k),
                "n={n} k={k}"
            );
        }
    }
}

#[test]
fn global_mask_equals_mask_of_the_concatenation() {
    let mut rng = Rng::new(10);
    let layouts: [&[usize]; 4] = [&[5, 0, 9, 1], &[0], &[64, 33, 0, 70, 2], &[300, 1, 257]];
    for layout in layouts {
        for ties in [false, true] {
            let slices: Vec<Vec<f32>> = layout
                .iter()
                .map(|&n| {
                    (0..n)
                        .map(|_| {
                            if ties {
                                (rng.next() * 4.0).round() * 0.25
                            } else {
                                rng.next()
                            }
                        })
                        .collect()
                })
                .collect();
            let flat: Vec<f32> = slices.iter().flatten().copied().collect();
            let n = flat.len();
            for amount in [
                Amount::Fraction(0.0),
                Amount::Fraction(0.37),
                Amount::Fraction(1.0),
                Amount::Count(n / 2),
            ] {
                let (k_flat, mask_flat) = mask_of(&flat, amount);
                let mut masks: Vec<Vec<f32>> = layout.iter().map(|&n| vec![SENTINEL; n]).collect();
                let mut views: Vec<&mut [f32]> = masks.iter_mut().map(Vec::as_mut_slice).collect();
                let weights: Vec<&[f32]> = slices.iter().map(Vec::as_slice).collect();
                // A longer scratch than needed is fine.
                let mut scratch = vec![0.0; reg::prune_scratch_len(n) + 3];
                let k =
                    reg::global_magnitude_mask(&weights, amount, &mut views, &mut scratch).unwrap();
                assert_eq!(k, k_flat);
                let joined: Vec<f32> = masks.concat();
                assert_eq!(joined, mask_flat, "{layout:?} ties={ties} {amount:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The masking recipe through optimizer steps
// ---------------------------------------------------------------------------------------------

/// torch's SGD with momentum and weight decay (buf = g on the first step, then μ·buf + g),
/// on the loss ½‖w − target‖²; `mask_grad` / `mask_weights` choose the halves of the recipe.
/// Returns the weights and the momentum buffer after every step from `prune_at` on.
fn train(mask_grad: bool, mask_weights: bool) -> Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let mut rng = Rng::new(11);
    let n = 40;
    let target: Vec<f32> = (0..n).map(|_| rng.next()).collect();
    let mut w: Vec<f32> = (0..n).map(|_| rng.next()).collect();
    let mut buf = vec![0.0f32; n];
    let (lr, momentum, wd) = (0.1f32, 0.9f32, 0.01f32);
    let mut mask = vec![1.0f32; n];
    let mut scratch = vec![0.0f32; reg::prune_scratch_len(n)];
    let prune_at = 3;
    let mut history = Vec::new();
    for step in 0..10 {
        if step == prune_at {
            reg::magnitude_mask(&w, Amount::Fraction(0.5), &mut mask, &mut scratch).unwrap();
            reg::apply_mask(&mask, &mut w).unwrap();
        }
        let mut g: Vec<f32> = w.iter().zip(&target).map(|(a, b)| a - b).collect();
        if mask_grad {
            reg::apply_mask(&mask, &mut g).unwrap();
        }
        axpy(wd, &w, &mut g).unwrap(); // weight decay: g += wd·w
        if step == 0 {
            buf.copy_from_slice(&g);
        } else {
            scale(momentum, &mut buf);
            axpy(1.0, &g, &mut buf).unwrap();
        }
        axpy(-lr, &buf, &mut w).unwrap();
        if mask_weights {
            reg::apply_mask(&mask, &mut w).unwrap();
        }
        if step >= prune_at {
            history.push((w.clone(), buf.clone(), mask.clone()));
        }
    }
    history
}

#[test]
fn masking_recipe_keeps_pruned_weights_at_zero() {
    let full = train(true, true);
    assert_eq!(full.len(), 7);
    for (step, (w, _, mask)) in full.iter().enumerate() {
        assert_eq!(mask.iter().filter(|m| **m == 0.0).count(), 20);
        for i in 0..w.len() {
            if mask[i] == 0.0 {
                // ±0: the mask multiplies, so a negative weight becomes −0 (as in torch).
                assert_eq!(w[i], 0.0, "step {step}: pruned weight {i} = {}", w[i]);
            } else {
                assert_ne!(w[i], 0.0);
            }
        }
    }
    // The momentum buffer of the pruned weights only decays (μ^t·old): no new gradient.
    let (_, buf_first, mask) = &full[0];
    let (_, buf_last, _) = &full[6];
    for i in 0..mask.len() {
        if mask[i] == 0.0 && buf_first[i] != 0.0 {
            assert!(
                buf_last[i].abs() < buf_first[i].abs(),
                "buffer of pruned {i} grew"
            );
        }
    }

    // Masking only the gradient: the old momentum moves pruned weights off zero.
    let grad_only = train(true, false);
    let (w, _, mask) = &grad_only[0];
    assert!(w.iter().zip(mask).any(|(x, m)| *m == 0.0 && *x != 0.0));
    // Masking only the weights: the pruned weights' gradients still feed the momentum buffer,
    // which the full recipe does not let grow.
    let weights_only = train(false, true);
    let (w, buf, mask) = &weights_only[6];
    assert!(w.iter().zip(mask).all(|(x, m)| *m == 1.0 || *x == 0.0));
    let (_, buf_full, _) = &full[6];
    assert!(buf
        .iter()
        .zip(buf_full)
        .zip(mask)
        .any(|((a, b), m)| *m == 0.0 && a != b));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn hp(what: &'static str) -> Error {
    Error::InvalidHyperParameter { what }
}

fn len(what: &'static str, expected: usize, actual: usize) -> Error {
    Error::LengthMismatch {
        what,
        expected,
        actual,
    }
}

#[test]
fn penalty_errors_leave_the_gradient_untouched() {
    let w = [1.0f32, -2.0, 0.5];
    let g0 = [7.0f32, 8.0, 9.0];
    for lambda in [-1.0, -0.0001, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut g = g0;
        assert_eq!(reg::l1(&w, lambda, Some(&mut g)), Err(hp("lambda")));
        assert_eq!(reg::l2(&w, lambda, true, Some(&mut g)), Err(hp("lambda")));
        assert_eq!(reg::l2(&w, lambda, false, Some(&mut g)), Err(hp("lambda")));
        assert_eq!(
            reg::elastic_net(&w, lambda, 0.5, Some(&mut g)),
            Err(hp("lambda"))
        );
        assert_eq!(g, g0);
    }
    for ratio in [-0.1, 1.1, f32::NAN, f32::INFINITY] {
        let mut g = g0;
        assert_eq!(
            reg::elastic_net(&w, 0.1, ratio, Some(&mut g)),
            Err(hp("l1_ratio"))
        );
        assert_eq!(g, g0);
    }
    for glen in [0, 2, 4] {
        let mut g = vec![SENTINEL; glen];
        assert_eq!(reg::l1(&w, 0.1, Some(&mut g)), Err(len("grad", 3, glen)));
        assert_eq!(
            reg::l2(&w, 0.1, true, Some(&mut g)),
            Err(len("grad", 3, glen))
        );
        assert_eq!(
            reg::elastic_net(&w, 0.1, 0.5, Some(&mut g)),
            Err(len("grad", 3, glen))
        );
        assert!(g.iter().all(|x| *x == SENTINEL));
    }
}

#[test]
fn clipping_errors_leave_the_gradients_untouched() {
    let a0 = [3.0f32, -4.0];
    let b0 = [12.0f32];
    for max_norm in [-1.0, -1e-30, f32::NAN, f32::NEG_INFINITY] {
        let (mut a, mut b) = (a0, b0);
        assert_eq!(
            reg::clip_grad_norm(&mut [&mut a, &mut b], max_norm, NormType::L2),
            Err(hp("max_norm"))
        );
        assert_eq!(
            reg::clip_grad_norm_flat(&mut a, max_norm, NormType::Inf),
            Err(hp("max_norm"))
        );
        assert_eq!(
            reg::clip_grads_with_norm(&mut [&mut a, &mut b], max_norm, 13.0),
            Err(hp("max_norm"))
        );
        assert_eq!((a, b), (a0, b0));
    }
    for p in [0.0, -0.0, -2.0, f32::NAN, f32::NEG_INFINITY] {
        let (mut a, mut b) = (a0, b0);
        assert_eq!(
            reg::clip_grad_norm(&mut [&mut a, &mut b], 1.0, NormType::P(p)),
            Err(hp("norm_type"))
        );
        assert_eq!(
            reg::grad_norm(&[&a, &b], NormType::P(p)),
            Err(hp("norm_type"))
        );
        assert_eq!((a, b), (a0, b0));
    }
    for clip_value in [-0.5, f32::NAN, f32::NEG_INFINITY] {
        let (mut a, mut b) = (a0, b0);
        assert_eq!(
            reg::clip_grad_value(&mut [&mut a, &mut b], clip_value),
            Err(hp("clip_value"))
        );
        assert_eq!(
            reg::clip_grad_value_flat(&mut a, clip_value),
            Err(hp("clip_value"))
        );
        assert_eq!((a, b), (a0, b0));
    }
    // The edges that are valid: max_norm 0 zeroes, +∞ leaves as is; clip_value 0 zeroes.
    let (mut a, mut b) = (a0, b0);
    assert_eq!(
        reg::clip_grad_norm(&mut [&mut a, &mut b], f32::INFINITY, NormType::L2),
        Ok(13.0)
    );
    assert_eq!((a, b), (a0, b0));
    assert_eq!(
        reg::clip_grad_norm(&mut [&mut a, &mut b], 0.0, NormType::L2),
        Ok(13.0)
    );
    assert_eq!((a, b), ([0.0, -0.0], [0.0]));
}

#[test]
fn constraint_errors_leave_the_weights_untouched() {
    let w0 = [3.0f32, -4.0, 0.5, 2.0];
    let mut w = w0;
    assert_eq!(reg::clamp(&mut w, f32::NAN, 1.0), Err(hp("min")));
    assert_eq!(reg::clamp(&mut w, -1.0, f32::NAN), Err(hp("max")));
    for m in [-1.0, f32::NAN] {
        assert_eq!(reg::max_norm_rows(&mut w, 2, 2, m), Err(hp("maxnorm")));
    }
    assert_eq!(reg::max_norm_rows(&mut w, 2, 3, 1.0), Err(len("w", 6, 4)));
    assert_eq!(reg::max_norm_rows(&mut w, 1, 3, 1.0), Err(len("w", 3, 4)));
    assert_eq!(
        reg::max_norm_rows(&mut w, usize::MAX, 2, 1.0),
        Err(Error::DimensionOverflow { what: "w" })
    );
    assert_eq!(w, w0);
}

#[test]
fn pruning_errors_leave_the_masks_and_scratch_untouched() {
    let w = [0.3f32, -0.1, 0.2, 0.9];
    let fresh = || ([SENTINEL; 4], [SENTINEL; 4]);
    let untouched = |m: &[f32], s: &[f32]| m.iter().chain(s).all(|x| *x == SENTINEL);
    for amount in [
        Amount::Fraction(-0.1),
        Amount::Fraction(1.0001),
        Amount::Fraction(f64::NAN),
        Amount::Count(5),
    ] {
        let (mut mask, mut scratch) = fresh();
        assert_eq!(
            reg::magnitude_mask(&w, amount, &mut mask, &mut scratch),
            Err(hp("amount"))
        );
        assert_eq!(
            reg::global_magnitude_mask(&[&w], amount, &mut [&mut mask], &mut scratch),
            Err(hp("amount"))
        );
        assert!(untouched(&mask, &scratch));
        assert_eq!(amount.count(4), Err(hp("amount")));
    }
    let (mut mask, mut scratch) = fresh();
    assert_eq!(
        reg::magnitude_mask(&w, Amount::Count(1), &mut mask[..3], &mut scratch),
        Err(len("mask", 4, 3))
    );
    assert_eq!(
        reg::magnitude_mask(&w, Amount::Count(1), &mut mask, &mut scratch[..3]),
        Err(len("scratch", 4, 3))
    );
    assert!(untouched(&mask, &scratch));

    let w2 = [1.0f32, 2.0];
    let mut m2 = [SENTINEL; 2];
    let mut big_scratch = [SENTINEL; 6];
    assert_eq!(
        reg::global_magnitude_mask(
            &[&w, &w2],
            Amount::Count(1),
            &mut [&mut mask],
            &mut big_scratch
        ),
        Err(len("masks", 2, 1))
    );
    assert_eq!(
        reg::global_magnitude_mask(
            &[&w, &w2],
            Amount::Count(1),
            &mut [&mut mask, &mut m2[..1]],
            &mut big_scratch
        ),
        Err(len("masks", 2, 1))
    );
    assert_eq!(
        reg::global_magnitude_mask(
            &[&w, &w2],
            Amount::Count(7),
            &mut [&mut mask, &mut m2],
            &mut big_scratch
        ),
        Err(hp("amount"))
    );
    assert_eq!(
        reg::global_magnitude_mask(
            &[&w, &w2],
            Amount::Count(1),
            &mut [&mut mask, &mut m2],
            &mut big_scratch[..5]
        ),
        Err(len("scratch", 6, 5))
    );
    assert!(untouched(&mask, &big_scratch) && untouched(&m2, &[]));

    let mut x = [SENTINEL; 3];
    assert_eq!(reg::apply_mask(&[1.0, 0.0], &mut x), Err(len("x", 2, 3)));
    assert!(untouched(&x, &[]));
}

#[test]
fn scratch_length_is_a_const_fn() {
    const N: usize = 12;
    static SCRATCH_LEN: usize = reg::prune_scratch_len(N);
    let mut scratch = [0.0f32; reg::prune_scratch_len(N)];
    let mut mask = [0.0f32; N];
    let w: [f32; N] = core::array::from_fn(|i| i as f32 - 5.5);
    assert_eq!(SCRATCH_LEN, N);
    assert_eq!(
        reg::magnitude_mask(&w, Amount::Fraction(0.5), &mut mask, &mut scratch),
        Ok(6)
    );
    assert_eq!(
        mask,
        [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    );
}

/// `l2(half = false)` adds `2λ·w`: with `λ > f32::MAX/2` the constant `2λ` overflowed and a
/// finite gradient came out `+∞`. Found by `fuzz/` (`regularize`).
#[test]
fn l2_gradient_does_not_overflow_for_a_huge_lambda() {
    let lambda = f32::MAX;
    let w = [1e-37f32, -2e-38, 0.0, 1e-30];
    let mut grad = [1.0f32; 4];
    reg::l2(&w, lambda, false, Some(&mut grad)).unwrap();
    for (g, x) in grad.iter().zip(&w) {
        let want = 1.0 + 2.0 * lambda as f64 * *x as f64;
        if want.abs() < f32::MAX as f64 {
            assert!(
                ((*g as f64) - want).abs() <= 4.0 * U * want.abs(),
                "{g} vs {want}"
            );
        } else {
            assert_eq!(*g, f32::INFINITY);
        }
    }
    assert!(grad[..3].iter().all(|g| g.is_finite()));
}

/// Found by the `regularize` fuzz target: a p-norm with a small p divided every element by the
/// largest in f32, and `1e-30 / 1e30` underflowed to 0, dropping terms that count at p = 0.07
/// (the norm was 1.4e-3 too small). The ratio's logarithm is now taken as a difference there.
#[test]
fn small_p_norm_keeps_terms_whose_ratio_underflows() {
    let g: [&[f32]; 3] = [
        &[1e-30, -0.0, 1e-30, -244.741_13, 732.757_57],
        &[-607.843_14],
        &[
            -607.843_14,
            788.9159,
            1e30,
            -773.3442,
            -934.8786,
            159.115_19,
            -351.539_67,
            -601.109_86,
        ],
    ];
    let p = 0.070_740_94f32;
    let s: f64 = g
        .iter()
        .flat_map(|x| x.iter())
        .map(|&x| f64::from(x).abs().powf(f64::from(p)))
        .sum();
    let want = s.powf(1.0 / f64::from(p));
    let got = f64::from(reg::grad_norm(&g, NormType::P(p)).unwrap());
    // The sum's relative error (a few ulps of the terms, each through exp and ln) grows by
    // 1/p in the root.
    let tol = 64.0 * 2f64.powi(-24) / f64::from(p) * want;
    assert!((got - want).abs() <= tol, "{got:e} vs {want:e}");
}
