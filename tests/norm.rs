//! `descent::norm`: layer and batch normalisation against plain f64 references (every width
//! 1..=70, several row counts, unaligned sub-slices with sentinels), gradients against central
//! finite differences of the f64 forward, large-mean inputs, running statistics over several
//! batches, accumulation of parameter gradients, and every error path. The numerical tests run
//! on every available instruction set (`common::for_each_isa`).
//!
//! Tolerances are those of `tests/data/conformance/FORMAT.md` for float32 results against the
//! float64 answer, with `u = 2⁻²⁴` and `n` the length of the reduction behind a value:
//! `y` and running statistics `4u√n·max|want|`, `dx` `8u√n·max|want|`, `dweight`/`dbias`
//! `4u√rows·max|want|` (the rows' `x̂` each carry their own error, so `n` there is
//! `rows·features` for layer norm), eval `y` `4u·max|want|`; plus `2u·|want|` per element for
//! the final rounding.

#![allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas

mod common;
#[path = "reference/norm.rs"]
mod reference;

use common::{for_each_isa, Rng, U};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::norm::{BatchNorm, LayerNorm};
use reference::{
    bn_apply, bn_apply_p, bn_backward_ref, bn_backward_ref_p, bn_dx_scale, bn_dx_scale_p,
    bn_eval_backward_ref, bn_eval_backward_ref_p, bn_moments, bn_moments_p, bn_train_ref,
    bn_train_ref_p, bn_xhat, bn_xhat_p, chan, chan_pivot, f64s, ln_backward_ref, ln_dx_scale,
    ln_ref, ln_xhat, param_scales, param_scales_p, xhat_scale,
};

const SENTINEL: f32 = -7777.0;

// ---------------------------------------------------------------------------------------------
// comparison helpers
// ---------------------------------------------------------------------------------------------

/// `|got − want| ≤ k·u·max|want| + 2u·|want|` for every element.
fn assert_close(what: &str, got: &[f32], want: &[f64], k: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let max = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = k * U * max + 2.0 * U * w.abs();
        let err = (*g as f64 - w).abs();
        assert!(
            err <= tol,
            "{what}[{i}]: got {g:e}, want {w:e}, |err| {err:.3e} > {tol:.3e}"
        );
    }
}

/// `|got − want| ≤ k·u·scaleᵢ + 2u·|want|` for every element, with a per-element scale.
fn assert_scaled(what: &str, got: &[f32], want: &[f64], k: f64, scale: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, ((g, w), s)) in got.iter().zip(want).zip(scale).enumerate() {
        let tol = k * U * s + 2.0 * U * w.abs();
        let err = (*g as f64 - w).abs();
        assert!(
            err <= tol,
            "{what}[{i}]: got {g:e}, want {w:e}, |err| {err:.3e} > {tol:.3e}"
        );
    }
}

fn sqrt(n: usize) -> f64 {
    (n as f64).sqrt()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A buffer of `len + off + 3` sentinels; the working slice is `[off..off + len]`.
fn padded(len: usize, off: usize) -> Vec<f32> {
    vec![SENTINEL; len + off + 3]
}

fn padded_with(v: &[f32], off: usize) -> Vec<f32> {
    let mut p = padded(v.len(), off);
    p[off..off + v.len()].copy_from_slice(v);
    p
}

/// The slice `[off..off + len]` of a padded buffer, after checking the sentinels around it.
fn inner(p: &[f32], off: usize, len: usize) -> &[f32] {
    assert!(
        p[..off]
            .iter()
            .chain(&p[off + len..])
            .all(|&v| v == SENTINEL),
        "a sentinel was overwritten"
    );
    &p[off..off + len]
}

/// Uniform values in `[lo, hi)`.
fn uniform(rng: &mut Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|_| lo + (hi - lo) * (rng.next() * 0.5 + 0.5))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// layer norm
// ---------------------------------------------------------------------------------------------

/// The affine variants: (elementwise_affine, bias).
const AFFINE: [(bool, bool); 3] = [(true, true), (true, false), (false, false)];

fn ln(c: usize, affine: bool, bias: bool, eps: f32) -> LayerNorm {
    LayerNorm {
        features: c,
        eps,
        elementwise_affine: affine,
        bias,
    }
}

/// Everything one layer-norm call sequence produces: `y` (train), `y` (inference), stats,
/// `dx`, `dweight`, `dbias`.
struct LnOut {
    y: Vec<f32>,
    stats: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

/// Runs forward (both modes), backward on sub-slices at offset `off` of sentinel-filled
/// buffers, checks the sentinels and that both forwards agree bit for bit.
fn run_ln(
    m: &LayerNorm,
    x: &[f32],
    w: Option<&[f32]>,
    b: Option<&[f32]>,
    dy: &[f32],
    off: usize,
) -> LnOut {
    let n = x.len();
    let rows = n / m.features;
    let input = Shape::Features(m.features);
    let sl = m.saved_len(input, rows);
    let xp = padded_with(x, off);
    let dyp = padded_with(dy, off);
    let wp = w.map(|w| padded_with(w, off));
    let bp = b.map(|b| padded_with(b, off));
    let (wl, bl) = (m.weight_len(), m.bias_len());
    let ws = wp.as_ref().map_or(&[][..], |p| &p[off..off + wl]);
    let bs = bp.as_ref().map_or(&[][..], |p| &p[off..off + bl]);
    let params = Params::new(ws, bs);
    let (mut y, mut y2, mut stats) = (padded(n, off), padded(n, off), padded(sl, off));
    let xs = &xp[off..off + n];
    m.forward(
        input,
        Mode::train(&mut stats[off..off + sl]),
        params,
        xs,
        &mut y[off..off + n],
    )
    .unwrap();
    m.forward(input, Mode::EVAL, params, xs, &mut y2[off..off + n])
        .unwrap();
    let (mut dx, mut dw, mut db) = (
        padded(n, off),
        padded_with(&vec![0.0; wl], off),
        padded_with(&vec![0.0; bl], off),
    );
    let tape = Tape::train(xs, &y[off..off + n], &stats[off..off + sl]);
    m.backward(
        input,
        params,
        tape,
        &dyp[off..off + n],
        Some(&mut dx[off..off + n]),
        Grads::new(&mut dw[off..off + wl], &mut db[off..off + bl]),
    )
    .unwrap();
    let out = LnOut {
        y: inner(&y, off, n).to_vec(),
        stats: inner(&stats, off, sl).to_vec(),
        dx: inner(&dx, off, n).to_vec(),
        dw: inner(&dw, off, wl).to_vec(),
        db: inner(&db, off, bl).to_vec(),
    };
    assert_eq!(
        bits(inner(&y2, off, n)),
        bits(&out.y),
        "evaluation forward ≠ training forward"
    );
    out
}

#[test]
fn layer_norm_matches_the_f64_reference_at_every_width_and_offset() {
    for_each_isa(|_| layer_norm_matches_the_f64_reference_at_every_width_and_offset_once());
}

/// One instruction set of [`layer_norm_matches_the_f64_reference_at_every_width_and_offset`].
fn layer_norm_matches_the_f64_reference_at_every_width_and_offset_once() {
    let mut rng = Rng::new(1);
    for c in 1..=70usize {
        for rows in [1usize, 2, 3, 5] {
            for (k, &(affine, bias)) in AFFINE.iter().enumerate() {
                let eps = if k == 1 { 1e-3 } else { 1e-5 };
                let m = ln(c, affine, bias, eps);
                let n = rows * c;
                // A shifted mean in some rows, so the pivot matters.
                let x: Vec<f32> = rng.vec(n).iter().map(|v| v * 2.0 + 0.5).collect();
                let dy = rng.vec(n);
                let w = affine.then(|| uniform(&mut rng, c, 0.5, 1.5));
                let b = (affine && bias).then(|| rng.vec(c));
                let base = run_ln(&m, &x, w.as_deref(), b.as_deref(), &dy, 0);

                let (xd, dyd) = (f64s(&x), f64s(&dy));
                let wd = w.as_deref().map(f64s);
                let bd = b.as_deref().map(f64s);
                let (y, means, rstds) = ln_ref(&xd, wd.as_deref(), bd.as_deref(), c, eps as f64);
                let ctx = format!("c={c} rows={rows} affine={affine} bias={bias}");
                assert_close(&format!("y {ctx}"), &base.y, &y, 4.0 * sqrt(c));
                // stats: mean relative to the row's first element, then rstd.
                let rel: Vec<f64> = (0..rows).map(|r| means[r] - xd[r * c]).collect();
                let spread = (0..rows).fold(0.0f64, |s, r| s.max(1.0 / rstds[r]));
                for r in 0..rows {
                    let err = (base.stats[r] as f64 - rel[r]).abs();
                    assert!(
                        err <= 4.0 * U * sqrt(c) * (spread + rel[r].abs()),
                        "δ {ctx}"
                    );
                }
                assert_close(
                    &format!("rstd {ctx}"),
                    &base.stats[rows..],
                    &rstds,
                    4.0 * sqrt(c),
                );
                let (dx, dw, db) = ln_backward_ref(&xd, wd.as_deref(), &dyd, c, eps as f64);
                let sc = ln_dx_scale(&xd, wd.as_deref(), &dyd, c, eps as f64);
                assert_scaled(&format!("dx {ctx}"), &base.dx, &dx, 8.0 * sqrt(c), &sc);
                let (sw, sb) = param_scales(
                    &xhat_scale(&ln_xhat(&xd, c, eps as f64), |i| i / c * c),
                    &dyd,
                    c,
                );
                let k = 4.0 * (sqrt(c) + sqrt(rows));
                if affine {
                    assert_scaled(&format!("dweight {ctx}"), &base.dw, &dw, k, &sw);
                } else {
                    assert!(base.dw.is_empty());
                }
                if affine && bias {
                    assert_scaled(&format!("dbias {ctx}"), &base.db, &db, k, &sb);
                } else {
                    assert!(base.db.is_empty());
                }
                // Unaligned sub-slices give the same bits.
                for off in 1..=3 {
                    let o = run_ln(&m, &x, w.as_deref(), b.as_deref(), &dy, off);
                    assert_eq!(bits(&o.y), bits(&base.y), "{ctx} off={off}");
                    assert_eq!(bits(&o.stats), bits(&base.stats));
                    assert_eq!(bits(&o.dx), bits(&base.dx));
                    assert_eq!(bits(&o.dw), bits(&base.dw));
                    assert_eq!(bits(&o.db), bits(&base.db));
                }
            }
        }
    }
}

/// `L(x, w, b) = Σ y·probe` in f64, for finite differences.
fn loss(y: &[f64], probe: &[f64]) -> f64 {
    y.iter().zip(probe).map(|(a, b)| a * b).sum()
}

/// The central difference `(f(v + h) − f(v − h))/2h` of `f` in element `i` of `v`, with
/// `h = 1e-6·max(1, |vᵢ|)`: the truncation error `h²·f'''/6` and the f64 rounding error
/// `ε·|f|/h` are both near 1e-10 relative for these O(1) functions.
fn central(v: &[f64], i: usize, f: impl Fn(&[f64]) -> f64) -> f64 {
    let h = 1e-6 * v[i].abs().max(1.0);
    let (mut p, mut m) = (v.to_vec(), v.to_vec());
    p[i] += h;
    m[i] -= h;
    (f(&p) - f(&m)) / (2.0 * h)
}

/// Checks the kernel's f32 gradient against central differences of the f64 forward, with
/// the tolerance `k·u·scale` of the f32 result plus `1e-7·scale` for the difference; the scale
/// is `max|fd|`, or per element where given ([`dx_scale`]).
fn assert_grad(what: &str, got: &[f32], fd: &[f64], k: f64) {
    let max = fd.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert_grad_scaled(what, got, fd, k, &vec![max; fd.len()]);
}

fn assert_grad_scaled(what: &str, got: &[f32], fd: &[f64], k: f64, scale: &[f64]) {
    for (i, ((g, w), s)) in got.iter().zip(fd).zip(scale).enumerate() {
        let tol = (k * U + 1e-7) * s + 2.0 * U * w.abs();
        let err = (*g as f64 - w).abs();
        assert!(
            err <= tol,
            "{what}[{i}]: got {g:e}, fd {w:e}, |err| {err:.3e} > {tol:.3e}"
        );
    }
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    for_each_isa(|_| layer_norm_gradients_match_finite_differences_once());
}

/// One instruction set of [`layer_norm_gradients_match_finite_differences`].
fn layer_norm_gradients_match_finite_differences_once() {
    let mut rng = Rng::new(2);
    for (rows, c) in [(1usize, 1usize), (2, 2), (3, 5), (4, 17), (2, 64)] {
        for &(affine, bias) in &AFFINE {
            for eps in [1e-5f32, 1e-2] {
                let m = ln(c, affine, bias, eps);
                let n = rows * c;
                let x = rng.vec(n);
                let dy = rng.vec(n);
                let w = affine.then(|| uniform(&mut rng, c, -1.5, 1.5));
                let b = (affine && bias).then(|| rng.vec(c));
                let o = run_ln(&m, &x, w.as_deref(), b.as_deref(), &dy, 0);
                let (xd, probe) = (f64s(&x), f64s(&dy));
                let wd = w.as_deref().map(f64s);
                let bd = b.as_deref().map(f64s);
                let e = eps as f64;
                let f = |x: &[f64], w: Option<&[f64]>, b: Option<&[f64]>| {
                    loss(&ln_ref(x, w, b, c, e).0, &probe)
                };
                let fd_x: Vec<f64> = (0..n)
                    .map(|i| central(&xd, i, |x| f(x, wd.as_deref(), bd.as_deref())))
                    .collect();
                let ctx = format!("rows={rows} c={c} affine={affine} bias={bias} eps={eps}");
                let sc = ln_dx_scale(&xd, wd.as_deref(), &probe, c, e);
                assert_grad_scaled(&format!("dx {ctx}"), &o.dx, &fd_x, 8.0 * sqrt(c), &sc);
                if let Some(wd) = &wd {
                    let fd_w: Vec<f64> = (0..c)
                        .map(|j| central(wd, j, |w| f(&xd, Some(w), bd.as_deref())))
                        .collect();
                    assert_grad(&format!("dweight {ctx}"), &o.dw, &fd_w, 4.0 * sqrt(n));
                }
                if let Some(bd) = &bd {
                    let fd_b: Vec<f64> = (0..c)
                        .map(|j| central(bd, j, |b| f(&xd, wd.as_deref(), Some(b))))
                        .collect();
                    assert_grad(&format!("dbias {ctx}"), &o.db, &fd_b, 4.0 * sqrt(rows));
                }
            }
        }
    }
}

#[test]
fn layer_norm_is_accurate_when_the_mean_dwarfs_the_spread() {
    for_each_isa(|_| layer_norm_is_accurate_when_the_mean_dwarfs_the_spread_once());
}

/// One instruction set of [`layer_norm_is_accurate_when_the_mean_dwarfs_the_spread`].
fn layer_norm_is_accurate_when_the_mean_dwarfs_the_spread_once() {
    let mut rng = Rng::new(3);
    for c in [7usize, 37, 256] {
        let rows = 4;
        let n = rows * c;
        // mean 1e4, std ≈ 1e-2 (uniform ±√3·1e-2), rounded to f32 (spacing 1e-3 there).
        let x: Vec<f32> = rng.vec(n).iter().map(|v| 1e4 + v * 1.7e-2).collect();
        let dy = rng.vec(n);
        let w = uniform(&mut rng, c, 0.5, 1.5);
        let b = rng.vec(c);
        let m = LayerNorm::new(c);
        let o = run_ln(&m, &x, Some(&w), Some(&b), &dy, 0);
        let (xd, dyd, wd, bd) = (f64s(&x), f64s(&dy), f64s(&w), f64s(&b));
        let (y, _, _) = ln_ref(&xd, Some(&wd), Some(&bd), c, 1e-5);
        assert_close(&format!("y c={c}"), &o.y, &y, 4.0 * sqrt(c));
        let (dx, dw, db) = ln_backward_ref(&xd, Some(&wd), &dyd, c, 1e-5);
        let sc = ln_dx_scale(&xd, Some(&wd), &dyd, c, 1e-5);
        assert_scaled(&format!("dx c={c}"), &o.dx, &dx, 8.0 * sqrt(c), &sc);
        let (sw, sb) = param_scales(&xhat_scale(&ln_xhat(&xd, c, 1e-5), |i| i / c * c), &dyd, c);
        let k = 4.0 * (sqrt(c) + sqrt(rows));
        assert_scaled(&format!("dweight c={c}"), &o.dw, &dw, k, &sw);
        assert_scaled(&format!("dbias c={c}"), &o.db, &db, k, &sb);
        // The normalised rows really have mean 0 and variance 1 (the reference agrees).
        let ones = vec![1.0f32; c];
        let zeros = vec![0.0f32; c];
        let mut yn = vec![0.0; n];
        let exact = LayerNorm { eps: 0.0, ..m };
        let params = Params::new(&ones, &zeros);
        exact
            .forward(Shape::Features(c), Mode::EVAL, params, &x, &mut yn)
            .unwrap();
        for row in yn.chunks(c) {
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / c as f64;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / c as f64;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
                "{mean} {var}"
            );
        }
    }
}

#[test]
fn layer_norm_parameter_gradients_accumulate_and_dx_is_written() {
    for_each_isa(|_| layer_norm_parameter_gradients_accumulate_and_dx_is_written_once());
}

/// One instruction set of [`layer_norm_parameter_gradients_accumulate_and_dx_is_written`].
fn layer_norm_parameter_gradients_accumulate_and_dx_is_written_once() {
    let mut rng = Rng::new(4);
    let (rows, c) = (6, 19);
    let m = LayerNorm::new(c);
    let x = rng.vec(rows * c);
    let dy = rng.vec(rows * c);
    let (w, b) = (rng.vec(c), rng.vec(c));
    let input = Shape::Features(c);
    let params = Params::new(&w, &b);
    let mut y = vec![0.0; rows * c];
    let mut stats = vec![0.0; m.saved_len(input, rows)];
    m.forward(input, Mode::train(&mut stats), params, &x, &mut y)
        .unwrap();
    let tape = Tape::train(&x, &y, &stats);
    let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
    let mut dx = vec![f32::NAN; rows * c];
    m.backward(
        input,
        params,
        tape,
        &dy,
        Some(&mut dx),
        Grads::new(&mut dw, &mut db),
    )
    .unwrap();
    let (dx1, dw1, db1) = (dx.clone(), dw.clone(), db.clone());
    m.backward(
        input,
        params,
        tape,
        &dy,
        Some(&mut dx),
        Grads::new(&mut dw, &mut db),
    )
    .unwrap();
    assert_eq!(bits(&dx), bits(&dx1));
    let doubled = |v: &[f32]| bits(&v.iter().map(|a| a * 2.0).collect::<Vec<_>>());
    assert_eq!(bits(&dw), doubled(&dw1));
    assert_eq!(bits(&db), doubled(&db1));
    // Skipping the parameter gradients leaves dx as it was.
    let mut dx3 = vec![f32::NAN; rows * c];
    m.backward(input, params, tape, &dy, Some(&mut dx3), Grads::NONE)
        .unwrap();
    assert_eq!(bits(&dx3), bits(&dx1));
    // Skipping dx leaves the parameter gradients as they were.
    let (mut dw4, mut db4) = (vec![0.0; c], vec![0.0; c]);
    m.backward(
        input,
        params,
        tape,
        &dy,
        None,
        Grads::new(&mut dw4, &mut db4),
    )
    .unwrap();
    assert_eq!(bits(&dw4), bits(&dw1));
    assert_eq!(bits(&db4), bits(&db1));
    // Zero rows: nothing to do, no error (as torch).
    m.forward(input, Mode::train(&mut []), params, &[], &mut [])
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// batch norm
// ---------------------------------------------------------------------------------------------

fn bn(c: usize, affine: bool, eps: f32) -> BatchNorm {
    BatchNorm {
        features: c,
        eps,
        momentum: Some(0.1),
        affine,
        track_running_stats: true,
    }
}

struct BnOut {
    y: Vec<f32>,
    stats: Vec<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
    eval_y: Vec<f32>,
    eval_dx: Vec<f32>,
    eval_dw: Vec<f32>,
    eval_db: Vec<f32>,
}

/// The buffers of a batch norm with running statistics: `running_mean`, `running_var`, then
/// `num_batches_tracked`.
fn buffers(rm: &[f32], rv: &[f32], batches: f32) -> Vec<f32> {
    let mut v = rm.to_vec();
    v.extend_from_slice(rv);
    v.push(batches);
    v
}

/// Training forward + backward, then evaluation forward + backward with the updated running
/// statistics, all on sub-slices at `off` of sentinel-filled buffers.
#[allow(clippy::too_many_arguments)]
fn run_bn(
    m: &BatchNorm,
    x: &[f32],
    w: Option<&[f32]>,
    b: Option<&[f32]>,
    rm: &[f32],
    rv: &[f32],
    dy: &[f32],
    off: usize,
) -> BnOut {
    run_bn_in(m, Shape::Features(m.features), x, w, b, rm, rv, dy, off)
}

/// [`run_bn`] on samples of shape `input`.
#[allow(clippy::too_many_arguments)]
fn run_bn_in(
    m: &BatchNorm,
    input: Shape,
    x: &[f32],
    w: Option<&[f32]>,
    b: Option<&[f32]>,
    rm: &[f32],
    rv: &[f32],
    dy: &[f32],
    off: usize,
) -> BnOut {
    let (n, c) = (x.len(), m.features);
    let wl = m.weight_len();
    let xp = padded_with(x, off);
    let dyp = padded_with(dy, off);
    let wp = w.map(|w| padded_with(w, off));
    let bp = b.map(|b| padded_with(b, off));
    let ws = wp.as_ref().map_or(&[][..], |p| &p[off..off + wl]);
    let bs = bp.as_ref().map_or(&[][..], |p| &p[off..off + wl]);
    let params = Params::new(ws, bs);
    let bl = m.buffer_len();
    let mut bufp = padded_with(&buffers(rm, rv, 0.0), off);
    let (mut y, mut stats) = (padded(n, off), padded(2 * c, off));
    let xs = &xp[off..off + n];
    let mode = Mode::Train {
        buffers: &mut bufp[off..off + bl],
        saved: &mut stats[off..off + 2 * c],
        rng: None,
    };
    m.forward(input, mode, params, xs, &mut y[off..off + n])
        .unwrap();
    assert_eq!(bufp[off + 2 * c], 1.0, "num_batches_tracked");
    let zeros = vec![0.0; wl];
    let (mut dx, mut dw, mut db) = (
        padded(n, off),
        padded_with(&zeros, off),
        padded_with(&zeros, off),
    );
    let tape = Tape::train(xs, &y[off..off + n], &stats[off..off + 2 * c]);
    m.backward(
        input,
        params,
        tape,
        &dyp[off..off + n],
        Some(&mut dx[off..off + n]),
        Grads::new(&mut dw[off..off + wl], &mut db[off..off + wl]),
    )
    .unwrap();
    let mut ey = padded(n, off);
    let bufs = &bufp[off..off + bl];
    m.forward(
        input,
        Mode::Eval { buffers: bufs },
        params,
        xs,
        &mut ey[off..off + n],
    )
    .unwrap();
    let (mut edx, mut edw, mut edb) = (
        padded(n, off),
        padded_with(&zeros, off),
        padded_with(&zeros, off),
    );
    let tape = Tape::eval(xs, &ey[off..off + n], bufs);
    m.backward(
        input,
        params,
        tape,
        &dyp[off..off + n],
        Some(&mut edx[off..off + n]),
        Grads::new(&mut edw[off..off + wl], &mut edb[off..off + wl]),
    )
    .unwrap();
    let running = inner(&bufp, off, bl);
    BnOut {
        y: inner(&y, off, n).to_vec(),
        stats: inner(&stats, off, 2 * c).to_vec(),
        running_mean: running[..c].to_vec(),
        running_var: running[c..2 * c].to_vec(),
        dx: inner(&dx, off, n).to_vec(),
        dw: inner(&dw, off, wl).to_vec(),
        db: inner(&db, off, wl).to_vec(),
        eval_y: inner(&ey, off, n).to_vec(),
        eval_dx: inner(&edx, off, n).to_vec(),
        eval_dw: inner(&edw, off, wl).to_vec(),
        eval_db: inner(&edb, off, wl).to_vec(),
    }
}

#[test]
fn batch_norm_matches_the_f64_reference_at_every_width_and_offset() {
    for_each_isa(|_| batch_norm_matches_the_f64_reference_at_every_width_and_offset_once());
}

/// One instruction set of [`batch_norm_matches_the_f64_reference_at_every_width_and_offset`].
fn batch_norm_matches_the_f64_reference_at_every_width_and_offset_once() {
    let mut rng = Rng::new(5);
    for c in 1..=70usize {
        for rows in [2usize, 3, 5, 9] {
            for affine in [true, false] {
                let eps = if affine { 1e-5 } else { 1e-3 };
                let m = bn(c, affine, eps);
                let n = rows * c;
                let x: Vec<f32> = rng.vec(n).iter().map(|v| v * 3.0 - 0.5).collect();
                let dy = rng.vec(n);
                let w = affine.then(|| uniform(&mut rng, c, 0.5, 1.5));
                let b = affine.then(|| rng.vec(c));
                let rm = rng.vec(c);
                let rv = uniform(&mut rng, c, 0.5, 2.0);
                let o = run_bn(&m, &x, w.as_deref(), b.as_deref(), &rm, &rv, &dy, 0);

                let (xd, dyd) = (f64s(&x), f64s(&dy));
                let wd = w.as_deref().map(f64s);
                let bd = b.as_deref().map(f64s);
                let e = eps as f64;
                let ctx = format!("c={c} rows={rows} affine={affine}");
                let y = bn_train_ref(&xd, wd.as_deref(), bd.as_deref(), c, e);
                assert_close(&format!("y {ctx}"), &o.y, &y, 4.0 * sqrt(rows));
                let (mean, var, unbiased) = bn_moments(&xd, c);
                let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + e).sqrt()).collect();
                assert_close(
                    &format!("rstd {ctx}"),
                    &o.stats[c..],
                    &rstd,
                    4.0 * sqrt(rows),
                );
                let want_rm: Vec<f64> =
                    (0..c).map(|j| 0.9 * rm[j] as f64 + 0.1 * mean[j]).collect();
                let want_rv: Vec<f64> = (0..c)
                    .map(|j| 0.9 * rv[j] as f64 + 0.1 * unbiased[j])
                    .collect();
                assert_close(
                    &format!("running_mean {ctx}"),
                    &o.running_mean,
                    &want_rm,
                    4.0 * sqrt(rows),
                );
                assert_close(
                    &format!("running_var {ctx}"),
                    &o.running_var,
                    &want_rv,
                    4.0 * sqrt(rows),
                );
                let (dx, dw, db) = bn_backward_ref(&xd, wd.as_deref(), &dyd, c, e);
                let sc = bn_dx_scale(&xd, wd.as_deref(), &dyd, c, e);
                assert_scaled(&format!("dx {ctx}"), &o.dx, &dx, 8.0 * sqrt(rows), &sc);
                let (sw, sb) = param_scales(
                    &xhat_scale(&bn_xhat(&xd, &mean, &var, c, e), |i| i % c),
                    &dyd,
                    c,
                );
                if affine {
                    assert_scaled(&format!("dweight {ctx}"), &o.dw, &dw, 8.0 * sqrt(rows), &sw);
                    assert_scaled(&format!("dbias {ctx}"), &o.db, &db, 8.0 * sqrt(rows), &sb);
                }
                // Evaluation with the (f32) running statistics the kernel produced.
                let (rmd, rvd) = (f64s(&o.running_mean), f64s(&o.running_var));
                let ey = bn_apply(&xd, wd.as_deref(), bd.as_deref(), &rmd, &rvd, c, e);
                // Per element, the scale of the terms of `x̂·w + b` (they may cancel).
                let no_bias_y = bn_apply(&xd, wd.as_deref(), None, &rmd, &rvd, c, e);
                let sc: Vec<f64> = (0..n)
                    .map(|i| no_bias_y[i].abs() + bd.as_deref().map_or(0.0, |b| b[i % c].abs()))
                    .collect();
                assert_scaled(&format!("eval y {ctx}"), &o.eval_y, &ey, 4.0, &sc);
                let (edx, edw, edb) =
                    bn_eval_backward_ref(&xd, wd.as_deref(), &rmd, &rvd, &dyd, c, e);
                assert_close(&format!("eval dx {ctx}"), &o.eval_dx, &edx, 4.0);
                let (sw, sb) = param_scales(
                    &bn_xhat(&xd, &rmd, &rvd, c, e)
                        .iter()
                        .map(|v| v.abs())
                        .collect::<Vec<_>>(),
                    &dyd,
                    c,
                );
                if affine {
                    assert_scaled(
                        &format!("eval dweight {ctx}"),
                        &o.eval_dw,
                        &edw,
                        8.0 * sqrt(rows),
                        &sw,
                    );
                    assert_scaled(
                        &format!("eval dbias {ctx}"),
                        &o.eval_db,
                        &edb,
                        8.0 * sqrt(rows),
                        &sb,
                    );
                }
                for off in 1..=3 {
                    let p = run_bn(&m, &x, w.as_deref(), b.as_deref(), &rm, &rv, &dy, off);
                    for (a, b) in [
                        (&p.y, &o.y),
                        (&p.stats, &o.stats),
                        (&p.running_mean, &o.running_mean),
                        (&p.running_var, &o.running_var),
                        (&p.dx, &o.dx),
                        (&p.dw, &o.dw),
                        (&p.db, &o.db),
                        (&p.eval_y, &o.eval_y),
                        (&p.eval_dx, &o.eval_dx),
                        (&p.eval_dw, &o.eval_dw),
                        (&p.eval_db, &o.eval_db),
                    ] {
                        assert_eq!(bits(a), bits(b), "{ctx} off={off}");
                    }
                }
            }
        }
    }
}

#[test]
fn batch_norm_gradients_match_finite_differences() {
    for_each_isa(|_| batch_norm_gradients_match_finite_differences_once());
}

/// One instruction set of [`batch_norm_gradients_match_finite_differences`].
fn batch_norm_gradients_match_finite_differences_once() {
    let mut rng = Rng::new(6);
    for (rows, c) in [(2usize, 1usize), (2, 3), (5, 8), (16, 17)] {
        for affine in [true, false] {
            let eps = 1e-5f32;
            let e = eps as f64;
            let m = bn(c, affine, eps);
            let n = rows * c;
            let x = rng.vec(n);
            let dy = rng.vec(n);
            let w = affine.then(|| uniform(&mut rng, c, -1.5, 1.5));
            let b = affine.then(|| rng.vec(c));
            let rm = rng.vec(c);
            let rv = uniform(&mut rng, c, 0.5, 2.0);
            let o = run_bn(&m, &x, w.as_deref(), b.as_deref(), &rm, &rv, &dy, 0);
            let (xd, probe) = (f64s(&x), f64s(&dy));
            let wd = w.as_deref().map(f64s);
            let bd = b.as_deref().map(f64s);
            let ctx = format!("rows={rows} c={c} affine={affine}");

            // Training: the loss through the batch statistics.
            let f = |x: &[f64], w: Option<&[f64]>, b: Option<&[f64]>| {
                loss(&bn_train_ref(x, w, b, c, e), &probe)
            };
            let fd_x: Vec<f64> = (0..n)
                .map(|i| central(&xd, i, |x| f(x, wd.as_deref(), bd.as_deref())))
                .collect();
            let sc = bn_dx_scale(&xd, wd.as_deref(), &probe, c, e);
            assert_grad_scaled(
                &format!("train dx {ctx}"),
                &o.dx,
                &fd_x,
                8.0 * sqrt(rows),
                &sc,
            );
            if let (Some(wd), Some(bd)) = (&wd, &bd) {
                let fd_w: Vec<f64> = (0..c)
                    .map(|j| central(wd, j, |w| f(&xd, Some(w), Some(bd))))
                    .collect();
                let fd_b: Vec<f64> = (0..c)
                    .map(|j| central(bd, j, |b| f(&xd, Some(wd), Some(b))))
                    .collect();
                assert_grad(
                    &format!("train dweight {ctx}"),
                    &o.dw,
                    &fd_w,
                    4.0 * sqrt(rows),
                );
                assert_grad(
                    &format!("train dbias {ctx}"),
                    &o.db,
                    &fd_b,
                    4.0 * sqrt(rows),
                );
            }

            // Evaluation: the loss through fixed (the updated) running statistics.
            let (rmd, rvd) = (f64s(&o.running_mean), f64s(&o.running_var));
            let g = |x: &[f64], w: Option<&[f64]>, b: Option<&[f64]>| {
                loss(&bn_apply(x, w, b, &rmd, &rvd, c, e), &probe)
            };
            let fd_x: Vec<f64> = (0..n)
                .map(|i| central(&xd, i, |x| g(x, wd.as_deref(), bd.as_deref())))
                .collect();
            assert_grad(&format!("eval dx {ctx}"), &o.eval_dx, &fd_x, 4.0);
            if let (Some(wd), Some(bd)) = (&wd, &bd) {
                let fd_w: Vec<f64> = (0..c)
                    .map(|j| central(wd, j, |w| g(&xd, Some(w), Some(bd))))
                    .collect();
                let fd_b: Vec<f64> = (0..c)
                    .map(|j| central(bd, j, |b| g(&xd, Some(wd), Some(b))))
                    .collect();
                assert_grad(
                    &format!("eval dweight {ctx}"),
                    &o.eval_dw,
                    &fd_w,
                    4.0 * sqrt(rows),
                );
                assert_grad(
                    &format!("eval dbias {ctx}"),
                    &o.eval_db,
                    &fd_b,
                    4.0 * sqrt(rows),
                );
            }
        }
    }
}

#[test]
fn batch_norm_is_accurate_when_the_mean_dwarfs_the_spread() {
    for_each_isa(|_| batch_norm_is_accurate_when_the_mean_dwarfs_the_spread_once());
}

/// One instruction set of [`batch_norm_is_accurate_when_the_mean_dwarfs_the_spread`].
fn batch_norm_is_accurate_when_the_mean_dwarfs_the_spread_once() {
    let mut rng = Rng::new(7);
    for (rows, c) in [(8usize, 5usize), (64, 37)] {
        let n = rows * c;
        let x: Vec<f32> = rng.vec(n).iter().map(|v| 1e4 + v * 1.7e-2).collect();
        let dy = rng.vec(n);
        let w = uniform(&mut rng, c, 0.5, 1.5);
        let b = rng.vec(c);
        let (rm, rv) = (vec![0.0f32; c], vec![1.0f32; c]);
        let m = BatchNorm::new(c);
        let o = run_bn(&m, &x, Some(&w), Some(&b), &rm, &rv, &dy, 0);
        let (xd, dyd, wd, bd) = (f64s(&x), f64s(&dy), f64s(&w), f64s(&b));
        let y = bn_train_ref(&xd, Some(&wd), Some(&bd), c, 1e-5);
        assert_close(&format!("y {rows}x{c}"), &o.y, &y, 4.0 * sqrt(rows));
        let (dx, dw, db) = bn_backward_ref(&xd, Some(&wd), &dyd, c, 1e-5);
        let sc = bn_dx_scale(&xd, Some(&wd), &dyd, c, 1e-5);
        assert_scaled("dx", &o.dx, &dx, 8.0 * sqrt(rows), &sc);
        let (mean, var, unbiased) = bn_moments(&xd, c);
        let (sw, sb) = param_scales(
            &xhat_scale(&bn_xhat(&xd, &mean, &var, c, 1e-5), |i| i % c),
            &dyd,
            c,
        );
        assert_scaled("dweight", &o.dw, &dw, 8.0 * sqrt(rows), &sw);
        assert_scaled("dbias", &o.db, &db, 8.0 * sqrt(rows), &sb);
        let want_rm: Vec<f64> = mean.iter().map(|m| 0.1 * m).collect();
        let want_rv: Vec<f64> = unbiased.iter().map(|v| 0.9 + 0.1 * v).collect();
        assert_close("running_mean", &o.running_mean, &want_rm, 4.0 * sqrt(rows));
        assert_close("running_var", &o.running_var, &want_rv, 4.0 * sqrt(rows));
        // The batch variance itself (≈ 1e-4), from rstd, to 1e-5 relative.
        for j in 0..c {
            let var = 1.0 / (o.stats[c + j] as f64).powi(2) - 1e-5;
            let want = unbiased[j] * (rows as f64 - 1.0) / rows as f64;
            assert!(
                (var - want).abs() <= 1e-5 * want + 1e-5 * 4.0 * U * sqrt(rows),
                "{var} {want}"
            );
        }
    }
}

#[test]
fn batch_norm_eval_without_running_statistics_normalises_like_training() {
    for_each_isa(|_| batch_norm_eval_without_running_statistics_once());
}

/// One instruction set of [`batch_norm_eval_without_running_statistics_normalises_like_training`]:
/// without `track_running_stats`, evaluation (which then has no buffers) uses the batch's
/// statistics and computes `y` as the training forward does (the same bits), also when the
/// mean dwarfs the spread. Both failed before: absent running statistics were read as a zero
/// mean and variance, and the batch mean was rounded to `f32` before the subtraction (2 % off
/// on the second case below).
fn batch_norm_eval_without_running_statistics_once() {
    let cases: [(&[f32], f32); 3] = [
        (&[-1.0, -1.0], 1e-6),
        (&[-0.999_975_74, -0.999_979], 1.209_787_3e-6),
        (&[3.0, -1.0, 0.5, 7.25, 1e4, 1e4 + 0.5], 1e-5),
    ];
    for (x, eps) in cases {
        let m = BatchNorm {
            features: 1,
            eps,
            momentum: None,
            affine: false,
            track_running_stats: false,
        };
        let input = Shape::Features(1);
        let rows = x.len();
        let (mut train_y, mut stats) = (
            vec![0.0f32; x.len()],
            vec![0.0f32; m.saved_len(input, rows)],
        );
        m.forward(
            input,
            Mode::train(&mut stats),
            Params::NONE,
            x,
            &mut train_y,
        )
        .unwrap();
        let xd = f64s(x);
        let want = bn_train_ref(&xd, None, None, 1, f64::from(eps));
        assert_close("train y", &train_y, &want, 4.0 * sqrt(x.len()));
        let mut y = vec![f32::NAN; x.len()];
        m.forward(input, Mode::EVAL, Params::NONE, x, &mut y)
            .unwrap();
        assert_eq!(bits(&y), bits(&train_y), "{x:?}");
    }
}

#[test]
fn running_statistics_over_several_batches() {
    for_each_isa(|_| running_statistics_over_several_batches_once());
}

/// One instruction set of [`running_statistics_over_several_batches`].
fn running_statistics_over_several_batches_once() {
    let mut rng = Rng::new(8);
    let (rows, c) = (6usize, 11usize);
    let input = Shape::Features(c);
    for momentum in [Some(0.1f32), Some(0.0), Some(1.0), Some(0.37), None] {
        for start in [0u64, 3] {
            let m = BatchNorm {
                momentum,
                ..BatchNorm::new(c)
            };
            let rm = rng.vec(c);
            let rv = uniform(&mut rng, c, 0.5, 2.0);
            let (mut want_rm, mut want_rv) = (f64s(&rm), f64s(&rv));
            let mut bufs = buffers(&rm, &rv, start as f32);
            let (w, b) = (vec![1.0f32; c], vec![0.0f32; c]);
            for t in 1..=5u64 {
                let x: Vec<f32> = rng
                    .vec(rows * c)
                    .iter()
                    .map(|v| v * t as f32 + t as f32)
                    .collect();
                let mut y = vec![0.0; rows * c];
                let mut stats = vec![0.0; m.saved_len(input, rows)];
                let mode = Mode::Train {
                    buffers: &mut bufs,
                    saved: &mut stats,
                    rng: None,
                };
                m.forward(input, mode, Params::new(&w, &b), &x, &mut y)
                    .unwrap();
                assert_eq!(bufs[2 * c], (start + t) as f32, "num_batches_tracked");
                let factor = momentum.map_or(1.0 / (start + t) as f64, |m| m as f64);
                let (mean, _, unbiased) = bn_moments(&f64s(&x), c);
                for j in 0..c {
                    want_rm[j] = (1.0 - factor) * want_rm[j] + factor * mean[j];
                    want_rv[j] = (1.0 - factor) * want_rv[j] + factor * unbiased[j];
                }
                // Each update rounds once more: t·4u·√rows.
                let k = 4.0 * t as f64 * sqrt(rows);
                assert_close(
                    &format!("running_mean {momentum:?} t={t}"),
                    &bufs[..c],
                    &want_rm,
                    k,
                );
                assert_close(
                    &format!("running_var {momentum:?} t={t}"),
                    &bufs[c..2 * c],
                    &want_rv,
                    k,
                );
            }
            if momentum == Some(0.0) {
                // Nothing moves.
                assert!(bufs[..c].iter().zip(&want_rm).all(|(a, b)| *a as f64 == *b));
            }
        }
    }
    // A cumulative average from a fresh counter is the plain mean of the batch means.
    let m = BatchNorm {
        momentum: None,
        ..BatchNorm::new(c)
    };
    let mut bufs = buffers(&vec![5.0f32; c], &vec![5.0f32; c], 0.0);
    let mut sum = vec![0.0f64; c];
    for _ in 0..4 {
        let x = rng.vec(rows * c);
        let mode = Mode::Train {
            buffers: &mut bufs,
            saved: &mut vec![0.0; 2 * c],
            rng: None,
        };
        m.forward(
            input,
            mode,
            Params::new(&vec![1.0; c], &vec![0.0; c]),
            &x,
            &mut vec![0.0; rows * c],
        )
        .unwrap();
        let (mean, _, _) = bn_moments(&f64s(&x), c);
        sum.iter_mut().zip(&mean).for_each(|(s, m)| *s += m);
    }
    let avg: Vec<f64> = sum.iter().map(|s| s / 4.0).collect();
    assert_close("cumulative mean", &bufs[..c], &avg, 16.0 * sqrt(rows));
    // Without running statistics there are no buffers, and eval uses the batch's statistics.
    let m = BatchNorm {
        track_running_stats: false,
        ..BatchNorm::new(c)
    };
    assert_eq!(m.buffer_len(), 0);
    let x = rng.vec(rows * c);
    let (w, b) = (rng.vec(c), rng.vec(c));
    let params = Params::new(&w, &b);
    let (mut y1, mut y2) = (vec![0.0; rows * c], vec![0.0; rows * c]);
    let mut stats = vec![0.0; 2 * c];
    m.forward(input, Mode::train(&mut stats), params, &x, &mut y1)
        .unwrap();
    m.forward(input, Mode::EVAL, params, &x, &mut y2).unwrap();
    let want = bn_train_ref(&f64s(&x), Some(&f64s(&w)), Some(&f64s(&b)), c, 1e-5);
    assert_close("untracked eval y", &y2, &want, 4.0 * sqrt(rows));
    assert_close("untracked train y", &y1, &want, 4.0 * sqrt(rows));
}

#[test]
fn batch_norm_parameter_gradients_accumulate_and_dx_is_written() {
    for_each_isa(|_| batch_norm_parameter_gradients_accumulate_and_dx_is_written_once());
}

/// One instruction set of [`batch_norm_parameter_gradients_accumulate_and_dx_is_written`].
fn batch_norm_parameter_gradients_accumulate_and_dx_is_written_once() {
    let mut rng = Rng::new(9);
    let (rows, c) = (7, 13);
    let m = BatchNorm::new(c);
    let input = Shape::Features(c);
    let x = rng.vec(rows * c);
    let dy = rng.vec(rows * c);
    let (w, b) = (rng.vec(c), rng.vec(c));
    let params = Params::new(&w, &b);
    let mut bufs = buffers(&vec![0.0; c], &vec![1.0; c], 0.0);
    let mut y = vec![0.0; rows * c];
    let mut stats = vec![0.0; m.saved_len(input, rows)];
    let mode = Mode::Train {
        buffers: &mut bufs,
        saved: &mut stats,
        rng: None,
    };
    m.forward(input, mode, params, &x, &mut y).unwrap();
    let doubled = |v: &[f32]| bits(&v.iter().map(|a| a * 2.0).collect::<Vec<_>>());
    for eval in [false, true] {
        let tape = if eval {
            Tape::eval(&x, &y, &bufs)
        } else {
            Tape::train(&x, &y, &stats)
        };
        let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
        let mut dx = vec![f32::NAN; rows * c];
        let call = |dx: Option<&mut [f32]>, grads: Grads<'_>| {
            m.backward(input, params, tape, &dy, dx, grads).unwrap()
        };
        call(Some(&mut dx), Grads::new(&mut dw, &mut db));
        let (dx1, dw1, db1) = (dx.clone(), dw.clone(), db.clone());
        call(Some(&mut dx), Grads::new(&mut dw, &mut db));
        assert_eq!(bits(&dx), bits(&dx1), "eval={eval}");
        assert_eq!(bits(&dw), doubled(&dw1), "eval={eval}");
        assert_eq!(bits(&db), doubled(&db1), "eval={eval}");
        // Skipping the parameter gradients leaves dx as it was, skipping dx the gradients.
        let mut dx3 = vec![f32::NAN; rows * c];
        call(Some(&mut dx3), Grads::NONE);
        assert_eq!(bits(&dx3), bits(&dx1), "eval={eval}");
        let (mut dw4, mut db4) = (vec![0.0; c], vec![0.0; c]);
        call(None, Grads::new(&mut dw4, &mut db4));
        assert_eq!(bits(&dw4), bits(&dw1), "eval={eval}");
        assert_eq!(bits(&db4), bits(&db1), "eval={eval}");
    }
}

/// The error rows of the norms are in `tests/bad_input/norm.rs`. What they do not check:
/// evaluation with running statistics needs no batch statistics, so it works on one row and on
/// none, where training (and evaluation without running statistics) refuse them.
#[test]
fn evaluation_with_running_statistics_takes_any_batch() {
    let c = 4;
    let bn = BatchNorm::new(c);
    let (w, b) = (vec![1.5f32; c], vec![0.25f32; c]);
    let bufs = buffers(&vec![0.5f32; c], &vec![4.0f32; c], 0.0);
    for rows in [0usize, 1] {
        let x = vec![2.5f32; rows * c];
        let mut y = vec![SENTINEL; rows * c];
        let mode = Mode::Eval { buffers: &bufs };
        bn.forward(Shape::Features(c), mode, Params::new(&w, &b), &x, &mut y)
            .unwrap();
        // (2.5 − 0.5)/√(4 + 1e-5)·1.5 + 0.25
        let want = (2.0 / (4.0f64 + 1e-5).sqrt() * 1.5 + 0.25) as f32;
        assert!(
            y.iter().all(|&v| (v - want).abs() <= 4.0 * f32::EPSILON),
            "{y:?}"
        );
    }
}

/// An empty weight or bias is an absent one, never a weight of zeros (found by the fuzzer),
/// and an empty gradient is one not asked for.
#[test]
fn empty_parameters_are_absent_ones() {
    for_each_isa(|_| empty_parameters_are_absent_ones_once());
}

/// One instruction set of [`empty_parameters_are_absent_ones`].
fn empty_parameters_are_absent_ones_once() {
    let mut rng = Rng::new(10);
    let (rows, c) = (3usize, 11usize);
    let n = rows * c;
    let input = Shape::Features(c);
    let x = rng.vec(n);
    let dy = rng.vec(n);
    let empty: &[f32] = &[];
    let ln = LayerNorm {
        elementwise_affine: false,
        ..LayerNorm::new(c)
    };
    let run_ln = |params: Params<'_>, grads: Grads<'_>| {
        let (mut y, mut stats, mut dx) = (vec![0.0; n], vec![0.0; 2 * rows], vec![0.0; n]);
        ln.forward(input, Mode::train(&mut stats), params, &x, &mut y)
            .unwrap();
        let tape = Tape::train(&x, &y, &stats);
        ln.backward(input, params, tape, &dy, Some(&mut dx), grads)
            .unwrap();
        (bits(&y), bits(&dx))
    };
    let none = run_ln(Params::NONE, Grads::NONE);
    assert_eq!(
        run_ln(Params::new(empty, empty), Grads::new(&mut [], &mut [])),
        none
    );
    let (y, _) = &none;
    assert!(y.iter().any(|&v| f32::from_bits(v) != 0.0));
    let bn = BatchNorm {
        affine: false,
        ..BatchNorm::new(c)
    };
    let run_bn = |params: Params<'_>| {
        let (mut y, mut stats, mut dx) = (vec![0.0; n], vec![0.0; 2 * c], vec![0.0; n]);
        let mut bufs = buffers(&vec![0.0; c], &vec![1.0; c], 0.0);
        let mode = Mode::Train {
            buffers: &mut bufs,
            saved: &mut stats,
            rng: None,
        };
        bn.forward(input, mode, params, &x, &mut y).unwrap();
        let tape = Tape::train(&x, &y, &stats);
        bn.backward(input, params, tape, &dy, Some(&mut dx), Grads::NONE)
            .unwrap();
        let mut ey = vec![0.0; n];
        let mode = Mode::Eval { buffers: &bufs };
        bn.forward(input, mode, params, &x, &mut ey).unwrap();
        let mut edx = vec![0.0; n];
        let tape = Tape::eval(&x, &ey, &bufs);
        bn.backward(input, params, tape, &dy, Some(&mut edx), Grads::NONE)
            .unwrap();
        (bits(&y), bits(&dx), bits(&ey), bits(&edx))
    };
    let none = run_bn(Params::NONE);
    assert_eq!(run_bn(Params::new(empty, empty)), none);
    assert!(none.1.iter().any(|&v| f32::from_bits(v) != 0.0));
}

// ---------------------------------------------------------------------------------------------
// batch norm over positions: [N, C, L] and [N, C, H, W]
// ---------------------------------------------------------------------------------------------

/// `nn.BatchNorm1d(C)` on `[N, C, L]`.
fn seq(c: usize, l: usize) -> Shape {
    Shape::Sequence {
        channels: c,
        length: l,
    }
}

/// `nn.BatchNorm2d(C)` on `[N, C, H, W]`.
fn img(c: usize, h: usize, w: usize) -> Shape {
    Shape::Image {
        channels: c,
        height: h,
        width: w,
    }
}

/// One random case of a batch norm over `input` (`N` samples): the data and the layer.
#[derive(Clone)]
struct BnCase {
    m: BatchNorm,
    input: Shape,
    x: Vec<f32>,
    dy: Vec<f32>,
    w: Option<Vec<f32>>,
    b: Option<Vec<f32>>,
    rm: Vec<f32>,
    rv: Vec<f32>,
}

impl BnCase {
    fn new(rng: &mut Rng, m: BatchNorm, input: Shape, batch: usize) -> Self {
        let (c, n) = (m.features, batch * input.len());
        // A shifted mean, so the pivot matters.
        let x = rng.vec(n).iter().map(|v| v * 3.0 - 0.5).collect();
        let dy = rng.vec(n);
        let w = m.affine.then(|| uniform(rng, c, 0.5, 1.5));
        let b = m.affine.then(|| rng.vec(c));
        let rm = rng.vec(c);
        let rv = uniform(rng, c, 0.5, 2.0);
        BnCase {
            m,
            input,
            x,
            dy,
            w,
            b,
            rm,
            rv,
        }
    }

    fn run(&self, off: usize) -> BnOut {
        run_bn_in(
            &self.m,
            self.input,
            &self.x,
            self.w.as_deref(),
            self.b.as_deref(),
            &self.rm,
            &self.rv,
            &self.dy,
            off,
        )
    }

    /// The context of a failure.
    fn ctx(&self) -> String {
        let batch = self.x.len() / self.input.len();
        let m = &self.m;
        format!(
            "N={batch} {:?} affine={} momentum={:?} eps={}",
            self.input, m.affine, m.momentum, m.eps
        )
    }
}

/// Checks every output of [`run_bn_in`] (tracking running statistics, which start at
/// `num_batches_tracked = 0`) against the f64 reference over `n = N·P` values per channel,
/// with the tolerances of this file's header: `y`, `rstd`, running statistics `4u√n`, `δ`
/// `4u√n·(√var + |δ|)`, `dx` `8u√n` of `dx_scale`, `dweight`/`dbias` `8u√n` of their scales;
/// evaluation `y` and `dx` `4u`, `dweight`/`dbias` `8u√n`.
fn check_bn_case(t: &BnCase, o: &BnOut) {
    let (m, c, p) = (&t.m, t.m.features, t.input.positions());
    let n = t.x.len();
    let count = n / c; // N·P
    let k = sqrt(count);
    let (xd, dyd) = (f64s(&t.x), f64s(&t.dy));
    let wd = t.w.as_deref().map(f64s);
    let bd = t.b.as_deref().map(f64s);
    let e = m.eps as f64;
    let ctx = t.ctx();
    let y = bn_train_ref_p(&xd, wd.as_deref(), bd.as_deref(), c, p, e);
    assert_close(&format!("y {ctx}"), &o.y, &y, 4.0 * k);
    let (mean, var, unbiased) = bn_moments_p(&xd, c, p);
    let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + e).sqrt()).collect();
    assert_close(&format!("rstd {ctx}"), &o.stats[c..], &rstd, 4.0 * k);
    for j in 0..c {
        let rel = mean[j] - xd[j * p];
        let err = (o.stats[j] as f64 - rel).abs();
        let tol = 4.0 * U * k * (var[j].sqrt() + rel.abs());
        assert!(err <= tol, "δ[{j}] {ctx}: {} vs {rel}", o.stats[j]);
    }
    // A fresh counter: the cumulative average's first weight is 1.
    let f = m.momentum.map_or(1.0, f64::from);
    let want_rm: Vec<f64> = (0..c)
        .map(|j| (1.0 - f) * t.rm[j] as f64 + f * mean[j])
        .collect();
    let want_rv: Vec<f64> = (0..c)
        .map(|j| (1.0 - f) * t.rv[j] as f64 + f * unbiased[j])
        .collect();
    assert_close(
        &format!("running_mean {ctx}"),
        &o.running_mean,
        &want_rm,
        4.0 * k,
    );
    assert_close(
        &format!("running_var {ctx}"),
        &o.running_var,
        &want_rv,
        4.0 * k,
    );
    let (dx, dw, db) = bn_backward_ref_p(&xd, wd.as_deref(), &dyd, c, p, e);
    let sc = bn_dx_scale_p(&xd, wd.as_deref(), &dyd, c, p, e);
    assert_scaled(&format!("dx {ctx}"), &o.dx, &dx, 8.0 * k, &sc);
    let xs = xhat_scale(&bn_xhat_p(&xd, &mean, &var, c, p, e), |i| {
        chan_pivot(i, c, p)
    });
    let (sw, sb) = param_scales_p(&xs, &dyd, c, p);
    if m.affine {
        assert_scaled(&format!("dweight {ctx}"), &o.dw, &dw, 8.0 * k, &sw);
        assert_scaled(&format!("dbias {ctx}"), &o.db, &db, 8.0 * k, &sb);
    } else {
        assert!(o.dw.is_empty() && o.db.is_empty());
    }
    // Evaluation with the (f32) running statistics the kernel produced.
    let (rmd, rvd) = (f64s(&o.running_mean), f64s(&o.running_var));
    let ey = bn_apply_p(&xd, wd.as_deref(), bd.as_deref(), &rmd, &rvd, c, p, e);
    let no_bias_y = bn_apply_p(&xd, wd.as_deref(), None, &rmd, &rvd, c, p, e);
    let sc: Vec<f64> = (0..n)
        .map(|i| no_bias_y[i].abs() + bd.as_deref().map_or(0.0, |b| b[chan(i, c, p)].abs()))
        .collect();
    assert_scaled(&format!("eval y {ctx}"), &o.eval_y, &ey, 4.0, &sc);
    let (edx, edw, edb) = bn_eval_backward_ref_p(&xd, wd.as_deref(), &rmd, &rvd, &dyd, c, p, e);
    assert_close(&format!("eval dx {ctx}"), &o.eval_dx, &edx, 4.0);
    let xs: Vec<f64> = bn_xhat_p(&xd, &rmd, &rvd, c, p, e)
        .iter()
        .map(|v| v.abs())
        .collect();
    let (sw, sb) = param_scales_p(&xs, &dyd, c, p);
    if m.affine {
        assert_scaled(
            &format!("eval dweight {ctx}"),
            &o.eval_dw,
            &edw,
            8.0 * k,
            &sw,
        );
        assert_scaled(&format!("eval dbias {ctx}"), &o.eval_db, &edb, 8.0 * k, &sb);
    }
}

/// Every output of two runs, bit for bit.
fn assert_same_bits(a: &BnOut, b: &BnOut, ctx: &str) {
    for (what, p, q) in [
        ("y", &a.y, &b.y),
        ("stats", &a.stats, &b.stats),
        ("running_mean", &a.running_mean, &b.running_mean),
        ("running_var", &a.running_var, &b.running_var),
        ("dx", &a.dx, &b.dx),
        ("dweight", &a.dw, &b.dw),
        ("dbias", &a.db, &b.db),
        ("eval y", &a.eval_y, &b.eval_y),
        ("eval dx", &a.eval_dx, &b.eval_dx),
        ("eval dweight", &a.eval_dw, &b.eval_dw),
        ("eval dbias", &a.eval_db, &b.eval_db),
    ] {
        assert_eq!(bits(p), bits(q), "{what} {ctx}");
    }
}

/// Without running statistics: training forward (no buffers) and backward, and the
/// evaluation forward, which uses the batch's statistics and must give the training `y`'s
/// bits; an evaluation tape is refused. Checks `y`, `dx`, `dweight`, `dbias` against the
/// reference with [`check_bn_case`]'s tolerances.
fn check_bn_untracked(t: &BnCase) {
    let (m, input, c, p) = (&t.m, t.input, t.m.features, t.input.positions());
    assert!(!m.track_running_stats);
    let n = t.x.len();
    let k = sqrt(n / c);
    let (w, b) = (t.w.as_deref().unwrap_or(&[]), t.b.as_deref().unwrap_or(&[]));
    let params = Params::new(w, b);
    let (mut y, mut stats) = (vec![SENTINEL; n], vec![SENTINEL; 2 * c]);
    m.forward(input, Mode::train(&mut stats), params, &t.x, &mut y)
        .unwrap();
    let mut ey = vec![SENTINEL; n];
    m.forward(input, Mode::EVAL, params, &t.x, &mut ey).unwrap();
    let ctx = format!("untracked {}", t.ctx());
    assert_eq!(bits(&ey), bits(&y), "{ctx}");
    let (mut dx, mut dw, mut db) = (vec![SENTINEL; n], vec![0.0; w.len()], vec![0.0; b.len()]);
    let tape = Tape::train(&t.x, &y, &stats);
    m.backward(
        input,
        params,
        tape,
        &t.dy,
        Some(&mut dx),
        Grads::new(&mut dw, &mut db),
    )
    .unwrap();
    let mut edx = vec![SENTINEL; n];
    assert_eq!(
        m.backward(
            input,
            params,
            Tape::eval(&t.x, &ey, &[]),
            &t.dy,
            Some(&mut edx),
            Grads::NONE
        ),
        Err(descent::Error::InvalidHyperParameter {
            what: "track_running_stats"
        })
    );
    assert!(edx.iter().all(|v| v.to_bits() == SENTINEL.to_bits()));
    let (xd, dyd) = (f64s(&t.x), f64s(&t.dy));
    let wd = t.w.as_deref().map(f64s);
    let bd = t.b.as_deref().map(f64s);
    let e = m.eps as f64;
    let want = bn_train_ref_p(&xd, wd.as_deref(), bd.as_deref(), c, p, e);
    assert_close(&format!("y {ctx}"), &y, &want, 4.0 * k);
    let (want_dx, want_dw, want_db) = bn_backward_ref_p(&xd, wd.as_deref(), &dyd, c, p, e);
    let sc = bn_dx_scale_p(&xd, wd.as_deref(), &dyd, c, p, e);
    assert_scaled(&format!("dx {ctx}"), &dx, &want_dx, 8.0 * k, &sc);
    let (mean, var, _) = bn_moments_p(&xd, c, p);
    let xs = xhat_scale(&bn_xhat_p(&xd, &mean, &var, c, p, e), |i| {
        chan_pivot(i, c, p)
    });
    let (sw, sb) = param_scales_p(&xs, &dyd, c, p);
    if m.affine {
        assert_scaled(&format!("dweight {ctx}"), &dw, &want_dw, 8.0 * k, &sw);
        assert_scaled(&format!("dbias {ctx}"), &db, &want_db, 8.0 * k, &sb);
    }
}

/// A random sequence or image shape of `c` channels with at least two positions.
fn random_shape(rng: &mut Rng, c: usize) -> Shape {
    let draw = |rng: &mut Rng, n: usize| ((rng.next() * 0.5 + 0.5) * n as f32) as usize % n + 1;
    if rng.next() < 0.0 {
        seq(c, 1 + draw(rng, 40))
    } else {
        let h = draw(rng, 9);
        let w = draw(rng, 9).max(3 - h.min(2));
        img(c, h, w)
    }
}

#[test]
fn batch_norm_over_sequences_and_images_matches_the_f64_reference() {
    for_each_isa(|_| batch_norm_over_sequences_and_images_matches_the_f64_reference_once());
}

/// One instruction set of [`batch_norm_over_sequences_and_images_matches_the_f64_reference`]:
/// random `[N, C, L]` and `[N, C, H, W]`, training and evaluation, affine or not, running
/// statistics or not, three momenta; and shapes whose channels span many blocks of the
/// blocked sums (`N·P` up to 6400, a run of 300 positions).
fn batch_norm_over_sequences_and_images_matches_the_f64_reference_once() {
    let mut rng = Rng::new(11);
    let mut shapes: Vec<(usize, Shape)> = Vec::new();
    for _ in 0..60 {
        let c = 1 + (rng.next() * 0.5 + 0.5).mul_add(6.0, 0.0) as usize % 6;
        let batch = 1 + (rng.next() * 0.5 + 0.5).mul_add(5.0, 0.0) as usize % 5;
        shapes.push((batch, random_shape(&mut rng, c)));
    }
    shapes.extend([
        (4, img(3, 40, 40)),
        (2, seq(2, 300)),
        (1, seq(1, 2)),
        (32, img(2, 8, 8)),
    ]);
    for (i, &(batch, input)) in shapes.iter().enumerate() {
        let c = input.channels();
        let m = BatchNorm {
            features: c,
            eps: [1e-5, 1e-3][i % 2],
            momentum: [Some(0.1), Some(0.7), None][i % 3],
            affine: i % 4 < 2,
            track_running_stats: i % 5 != 4,
        };
        let t = BnCase::new(&mut rng, m, input, batch);
        if !m.track_running_stats {
            check_bn_untracked(&t);
            continue;
        }
        let o = t.run(0);
        check_bn_case(&t, &o);
        for off in 1..=3 {
            assert_same_bits(&t.run(off), &o, &format!("{} off={off}", t.ctx()));
        }
    }
}

#[test]
fn batch_norm_over_every_position_count_on_every_instruction_set() {
    // Every instruction set, the scalar one included; without `std` there is no override,
    // and the one the build dispatches to runs.
    #[cfg(feature = "std")]
    for isa in descent::Isa::available() {
        descent::simd::with_isa(isa, || batch_norm_over_every_position_count_once(isa));
    }
    #[cfg(not(feature = "std"))]
    batch_norm_over_every_position_count_once(descent::simd::isa());
}

/// One instruction set of [`batch_norm_over_every_position_count_on_every_instruction_set`]:
/// every `P` in 0..=70 (every tail length of the lanes, and runs of up to nine vectors), as
/// `[N, 3, P]` against the f64 reference and on sub-slices at offsets 1 to 3 (the same bits),
/// and as `[N, 3, H, W]` with `H·W = P` (the same bits again: only `P` matters). `P = 0` is
/// an error (`ZeroDimension` naming `"input"`) with nothing written.
fn batch_norm_over_every_position_count_once(isa: descent::Isa) {
    let mut rng = Rng::new(12);
    let c = 3;
    for p in 0..=70usize {
        if p == 0 {
            let bn = BatchNorm::new(c);
            let want: descent::Result<()> = Err(descent::Error::ZeroDimension { what: "input" });
            let mut bufs = buffers(&[0.0; 3], &[1.0; 3], 0.0);
            let mut saved = vec![SENTINEL; 2 * c];
            let mut y: Vec<f32> = vec![];
            for input in [seq(c, 0), img(c, 0, 4), img(c, 5, 0)] {
                assert_eq!(bn.output_shape(input).map(|_| ()), want);
                let mode = Mode::Train {
                    buffers: &mut bufs,
                    saved: &mut saved,
                    rng: None,
                };
                assert_eq!(bn.forward(input, mode, Params::NONE, &[], &mut y), want);
                let mode = Mode::Eval { buffers: &bufs };
                assert_eq!(bn.forward(input, mode, Params::NONE, &[], &mut y), want);
                let tape = Tape::train(&[], &[], &saved);
                let r = bn.backward(input, Params::NONE, tape, &[], None, Grads::NONE);
                assert_eq!(r, want);
            }
            assert_eq!(bufs, buffers(&[0.0; 3], &[1.0; 3], 0.0));
            assert!(saved.iter().all(|v| v.to_bits() == SENTINEL.to_bits()));
            continue;
        }
        // Two positions or more train on one sample.
        let batches: &[usize] = if p == 1 { &[2, 3] } else { &[1, 2, 3] };
        for &batch in batches {
            for affine in [true, false] {
                let m = bn(c, affine, if affine { 1e-5 } else { 1e-3 });
                let t = BnCase::new(&mut rng, m, seq(c, p), batch);
                let o = t.run(0);
                check_bn_case(&t, &o);
                let ctx = format!("{isa} {}", t.ctx());
                for off in 1..=3 {
                    assert_same_bits(&t.run(off), &o, &format!("{ctx} off={off}"));
                }
                let h = (1..=p)
                    .rev()
                    .find(|h| p % h == 0 && h * h <= p)
                    .unwrap_or(1);
                let as_image = BnCase {
                    input: img(c, h, p / h),
                    ..t
                };
                assert_same_bits(&as_image.run(0), &o, &format!("{ctx} as [{h}, {}]", p / h));
            }
        }
    }
}

#[test]
fn batch_norm_with_one_position_is_the_vector_kernel() {
    for_each_isa(|_| batch_norm_with_one_position_is_the_vector_kernel_once());
}

/// One instruction set of [`batch_norm_with_one_position_is_the_vector_kernel`]: `[N, C, 1]`
/// and `[N, C, 1, 1]` give the bits of `[N, C]` in every output, with running statistics and
/// without.
fn batch_norm_with_one_position_is_the_vector_kernel_once() {
    let mut rng = Rng::new(13);
    for (batch, c) in [(2usize, 1usize), (3, 8), (5, 13), (9, 37)] {
        for affine in [true, false] {
            let m = bn(c, affine, 1e-5);
            let t = BnCase::new(&mut rng, m, Shape::Features(c), batch);
            let o = t.run(0);
            for input in [seq(c, 1), img(c, 1, 1)] {
                let other = BnCase { input, ..t.clone() };
                assert_same_bits(&other.run(0), &o, &format!("{input:?}"));
            }
            let m = BatchNorm {
                track_running_stats: false,
                ..m
            };
            let params = Params::new(t.w.as_deref().unwrap_or(&[]), t.b.as_deref().unwrap_or(&[]));
            let untracked = |input: Shape| {
                let n = t.x.len();
                let (mut y, mut ey, mut stats) = (vec![0.0; n], vec![0.0; n], vec![0.0; 2 * c]);
                m.forward(input, Mode::train(&mut stats), params, &t.x, &mut y)
                    .unwrap();
                m.forward(input, Mode::EVAL, params, &t.x, &mut ey).unwrap();
                let mut dx = vec![0.0; n];
                let tape = Tape::train(&t.x, &y, &stats);
                m.backward(input, params, tape, &t.dy, Some(&mut dx), Grads::NONE)
                    .unwrap();
                (bits(&y), bits(&ey), bits(&stats), bits(&dx))
            };
            let want = untracked(Shape::Features(c));
            assert_eq!(untracked(seq(c, 1)), want);
            assert_eq!(untracked(img(c, 1, 1)), want);
        }
    }
}

#[test]
fn batch_norm_over_positions_gradients_match_finite_differences() {
    for_each_isa(|_| batch_norm_over_positions_gradients_match_finite_differences_once());
}

/// One instruction set of [`batch_norm_over_positions_gradients_match_finite_differences`]:
/// the training tape against central differences of the f64 forward through the batch
/// statistics, the evaluation tape through the fixed (updated) running statistics; the
/// tolerances of [`batch_norm_gradients_match_finite_differences`] with `n = N·P`.
fn batch_norm_over_positions_gradients_match_finite_differences_once() {
    let mut rng = Rng::new(14);
    for (batch, input) in [
        (1usize, seq(2, 3)),
        (2, seq(3, 5)),
        (3, img(2, 3, 3)),
        (2, img(1, 1, 17)),
        (2, img(3, 4, 5)),
    ] {
        for affine in [true, false] {
            let (c, p) = (input.channels(), input.positions());
            let e = 1e-5;
            let m = bn(c, affine, e as f32);
            let mut t = BnCase::new(&mut rng, m, input, batch);
            t.x = rng.vec(t.x.len());
            t.w = affine.then(|| uniform(&mut rng, c, -1.5, 1.5));
            let o = t.run(0);
            let n = t.x.len();
            let k = sqrt(n / c);
            let (xd, probe) = (f64s(&t.x), f64s(&t.dy));
            let wd = t.w.as_deref().map(f64s);
            let bd = t.b.as_deref().map(f64s);
            let ctx = t.ctx();

            let f = |x: &[f64], w: Option<&[f64]>, b: Option<&[f64]>| {
                loss(&bn_train_ref_p(x, w, b, c, p, e), &probe)
            };
            let fd_x: Vec<f64> = (0..n)
                .map(|i| central(&xd, i, |x| f(x, wd.as_deref(), bd.as_deref())))
                .collect();
            let sc = bn_dx_scale_p(&xd, wd.as_deref(), &probe, c, p, e);
            assert_grad_scaled(&format!("train dx {ctx}"), &o.dx, &fd_x, 8.0 * k, &sc);
            if let (Some(wd), Some(bd)) = (&wd, &bd) {
                let fd_w: Vec<f64> = (0..c)
                    .map(|j| central(wd, j, |w| f(&xd, Some(w), Some(bd))))
                    .collect();
                let fd_b: Vec<f64> = (0..c)
                    .map(|j| central(bd, j, |b| f(&xd, Some(wd), Some(b))))
                    .collect();
                assert_grad(&format!("train dweight {ctx}"), &o.dw, &fd_w, 4.0 * k);
                assert_grad(&format!("train dbias {ctx}"), &o.db, &fd_b, 4.0 * k);
            }

            let (rmd, rvd) = (f64s(&o.running_mean), f64s(&o.running_var));
            let g = |x: &[f64], w: Option<&[f64]>, b: Option<&[f64]>| {
                loss(&bn_apply_p(x, w, b, &rmd, &rvd, c, p, e), &probe)
            };
            let fd_x: Vec<f64> = (0..n)
                .map(|i| central(&xd, i, |x| g(x, wd.as_deref(), bd.as_deref())))
                .collect();
            assert_grad(&format!("eval dx {ctx}"), &o.eval_dx, &fd_x, 4.0);
            if let (Some(wd), Some(bd)) = (&wd, &bd) {
                let fd_w: Vec<f64> = (0..c)
                    .map(|j| central(wd, j, |w| g(&xd, Some(w), Some(bd))))
                    .collect();
                let fd_b: Vec<f64> = (0..c)
                    .map(|j| central(bd, j, |b| g(&xd, Some(wd), Some(b))))
                    .collect();
                assert_grad(&format!("eval dweight {ctx}"), &o.eval_dw, &fd_w, 4.0 * k);
                assert_grad(&format!("eval dbias {ctx}"), &o.eval_db, &fd_b, 4.0 * k);
            }
        }
    }
}

#[test]
fn batch_norm_over_positions_is_accurate_when_the_mean_dwarfs_the_spread() {
    for_each_isa(|_| batch_norm_over_positions_is_accurate_when_the_mean_dwarfs_the_spread_once());
}

/// One instruction set of
/// [`batch_norm_over_positions_is_accurate_when_the_mean_dwarfs_the_spread`]: mean `1e4`, std
/// `1e-2`, the checks of [`check_bn_case`] and the batch variance itself to `1e-5` relative.
fn batch_norm_over_positions_is_accurate_when_the_mean_dwarfs_the_spread_once() {
    let mut rng = Rng::new(15);
    for (batch, input) in [
        (8usize, img(5, 7, 9)),
        (3, seq(4, 300)),
        (16, img(2, 16, 16)),
    ] {
        let c = input.channels();
        let mut t = BnCase::new(&mut rng, BatchNorm::new(c), input, batch);
        t.x = rng
            .vec(t.x.len())
            .iter()
            .map(|v| 1e4 + v * 1.7e-2)
            .collect();
        let o = t.run(0);
        check_bn_case(&t, &o);
        let (_, _, unbiased) = bn_moments_p(&f64s(&t.x), c, input.positions());
        let count = (t.x.len() / c) as f64;
        for j in 0..c {
            let var = 1.0 / (o.stats[c + j] as f64).powi(2) - 1e-5;
            let want = unbiased[j] * (count - 1.0) / count;
            assert!(
                (var - want).abs() <= 1e-5 * want + 1e-5 * 4.0 * U * count.sqrt(),
                "{var} {want} {}",
                t.ctx()
            );
        }
    }
}

#[test]
fn batch_norm_over_positions_accumulates_parameter_gradients() {
    for_each_isa(|_| batch_norm_over_positions_accumulates_parameter_gradients_once());
}

/// One instruction set of [`batch_norm_over_positions_accumulates_parameter_gradients`]: a
/// second backward doubles `dweight` and `dbias` exactly and writes the same `dx`; leaving out
/// the parameter gradients or `dx` changes neither of the others.
fn batch_norm_over_positions_accumulates_parameter_gradients_once() {
    let mut rng = Rng::new(16);
    let (batch, input) = (3usize, img(5, 3, 7));
    let c = input.channels();
    let t = BnCase::new(&mut rng, BatchNorm::new(c), input, batch);
    let (w, b) = (t.w.clone().unwrap(), t.b.clone().unwrap());
    let params = Params::new(&w, &b);
    let n = t.x.len();
    let mut bufs = buffers(&t.rm, &t.rv, 0.0);
    let (mut y, mut stats) = (vec![0.0; n], vec![0.0; 2 * c]);
    let mode = Mode::Train {
        buffers: &mut bufs,
        saved: &mut stats,
        rng: None,
    };
    t.m.forward(input, mode, params, &t.x, &mut y).unwrap();
    let doubled = |v: &[f32]| bits(&v.iter().map(|a| a * 2.0).collect::<Vec<_>>());
    for eval in [false, true] {
        let tape = if eval {
            Tape::eval(&t.x, &y, &bufs)
        } else {
            Tape::train(&t.x, &y, &stats)
        };
        let call = |dx: Option<&mut [f32]>, grads: Grads<'_>| {
            t.m.backward(input, params, tape, &t.dy, dx, grads).unwrap()
        };
        let (mut dw, mut db, mut dx) = (vec![0.0; c], vec![0.0; c], vec![f32::NAN; n]);
        call(Some(&mut dx), Grads::new(&mut dw, &mut db));
        let (dx1, dw1, db1) = (dx.clone(), dw.clone(), db.clone());
        call(Some(&mut dx), Grads::new(&mut dw, &mut db));
        assert_eq!(bits(&dx), bits(&dx1), "eval={eval}");
        assert_eq!(bits(&dw), doubled(&dw1), "eval={eval}");
        assert_eq!(bits(&db), doubled(&db1), "eval={eval}");
        let mut dx3 = vec![f32::NAN; n];
        call(Some(&mut dx3), Grads::NONE);
        assert_eq!(bits(&dx3), bits(&dx1), "eval={eval}");
        let (mut dw4, mut db4) = (vec![0.0; c], vec![0.0; c]);
        call(None, Grads::new(&mut dw4, &mut db4));
        assert_eq!(bits(&dw4), bits(&dw1), "eval={eval}");
        assert_eq!(bits(&db4), bits(&db1), "eval={eval}");
    }
}

/// A tensor of a golden case: `(shape, data)`.
fn tensor(v: &serde_json::Value) -> (Vec<usize>, Vec<f32>) {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

#[test]
fn batch_norm2d_torch_vectors() {
    for_each_isa(|_| batch_norm2d_torch_vectors_once());
}

/// One instruction set of [`batch_norm2d_torch_vectors`]: the `batch_norm2d` cases of the
/// conformance vectors (`nn.BatchNorm2d` on `[N, C, H, W]`, torch 2.15 on CPU in float32;
/// `tests/data/conformance/conv.json`), every output element within
/// `atol[key] + rtol·|want|`. The running statistics start from the case's, with
/// `num_batches_tracked = 0`; a training case also checks backward for its `dy`.
fn batch_norm2d_torch_vectors_once() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/conformance/conv.json"
    );
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases: Vec<_> = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "batch_norm2d")
        .collect();
    assert_eq!(cases.len(), 4);
    let (mut trained, mut evaluated) = (0, 0);
    for case in cases {
        assert_eq!(case["name"], "batch_norm2d");
        let id = case["id"].as_str().unwrap();
        let (hp, inputs, expected) = (&case["hparams"], &case["inputs"], &case["expected"]);
        let (shape, x) = tensor(&inputs["x"]);
        let [batch, c, h, w] = shape[..] else {
            panic!("{id}: x has shape {shape:?}")
        };
        let input = img(c, h, w);
        let m = BatchNorm {
            eps: hp["eps"].as_f64().unwrap() as f32,
            momentum: hp["momentum"].as_f64().map(|m| m as f32),
            ..BatchNorm::new(c)
        };
        let (_, weight) = tensor(&inputs["weight"]);
        let (_, bias) = tensor(&inputs["bias"]);
        let (_, rm) = tensor(&inputs["running_mean"]);
        let (_, rv) = tensor(&inputs["running_var"]);
        let params = Params::new(&weight, &bias);
        let mut bufs = buffers(&rm, &rv, 0.0);
        let rtol = case["rtol"].as_f64().unwrap();
        let check = |key: &str, got: &[f32]| {
            let (want_shape, want) = tensor(&expected[key]);
            assert_eq!(want.len(), got.len(), "{id} {key}: {want_shape:?}");
            let atol = case["atol"][key].as_f64().unwrap();
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                let (g, w) = (*g as f64, *w as f64);
                let tol = atol + rtol * w.abs();
                assert!(
                    (g - w).abs() <= tol,
                    "{id} {key}[{i}]: got {g:e}, want {w:e}, |err| {:.3e} > {tol:.3e}",
                    (g - w).abs()
                );
            }
        };
        let n = x.len();
        assert_eq!(n, batch * input.len());
        let mut y = vec![f32::NAN; n];
        if hp["training"].as_bool().unwrap() {
            let mut saved = vec![f32::NAN; m.saved_len(input, batch)];
            let mode = Mode::Train {
                buffers: &mut bufs,
                saved: &mut saved,
                rng: None,
            };
            m.forward(input, mode, params, &x, &mut y).unwrap();
            check("y", &y);
            check("running_mean", &bufs[..c]);
            check("running_var", &bufs[c..2 * c]);
            assert_eq!(bufs[2 * c], 1.0, "{id}: num_batches_tracked");
            let (_, dy) = tensor(&inputs["dy"]);
            let (mut dx, mut dw, mut db) = (vec![f32::NAN; n], vec![0.0; c], vec![0.0; c]);
            let tape = Tape::train(&x, &y, &saved);
            let grads = Grads::new(&mut dw, &mut db);
            m.backward(input, params, tape, &dy, Some(&mut dx), grads)
                .unwrap();
            check("dx", &dx);
            check("dweight", &dw);
            check("dbias", &db);
            trained += 1;
        } else {
            let mode = Mode::Eval { buffers: &bufs };
            m.forward(input, mode, params, &x, &mut y).unwrap();
            check("y", &y);
            evaluated += 1;
        }
    }
    assert_eq!((trained, evaluated), (3, 1));
}
