//! Layer norm, batch norm (`[N, C]`, `[N, C, L]`, `[N, C, H, W]`) and dropout on arbitrary
//! shapes, hyper-parameters, values, slice lengths and sub-slice offsets: every call returns
//! `Ok` exactly when its arguments are valid, writes nothing on `Err`, never panics, and every
//! output element whose inputs are tame (finite, |v| ≤ 1e15, eps ≥ 1e-6) agrees with the f64
//! reference of `tests/reference/norm.rs` within the bound of its own rounding analysis (see
//! [`layer_norm`], [`batch_norm`]): `y`, the saved statistics, `dx`, `dweight`, `dbias` and the
//! running statistics. An element that is not tame skips only itself (or its row, or channel,
//! where the others depend on it).
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/norm.rs"]
mod reference;

use descent::dropout::{dropout, dropout_backward, mask_len, Dropout};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::norm::{BatchNorm, LayerNorm};
use input::{Input, U};
use libfuzzer_sys::fuzz_target;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use reference::{bn_moments, f64s, ln_ref, xhat_scale};

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    match i.byte() % 3 {
        0 => layer_norm(&mut i),
        1 => batch_norm(&mut i),
        _ => drop_out(&mut i),
    }
}

/// A length: mostly `right`, sometimes (one in 32) anything up to `right + 3`; an input that ran
/// out gives `right`.
fn length(i: &mut Input, right: usize) -> usize {
    if i.byte() % 32 == 31 {
        i.len(right + 3)
    } else {
        right
    }
}

/// A buffer of `len` values at offset `off` (the values before it are sentinels).
fn buffer(i: &mut Input, off: usize, len: usize, scale: f32) -> Vec<f32> {
    let mut v = vec![-5555.0f32; off];
    v.extend(i.mostly_tame(len, scale));
    v
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// `|got − want| ≤ tol` element by element, where `want` is `Some` (an element whose inputs
/// are all tame); counts the execution as compared when one is.
fn check(what: &str, got: &[f32], want: &[Option<(f64, f64)>]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let Some((w, tol)) = *w else { continue };
        input::compared();
        assert!(
            (*g as f64 - w).abs() <= tol,
            "{what}[{k}]: {g:e}, want {w:e} ± {tol:e}"
        );
    }
}

/// The smallest positive `f32`, 2⁻¹⁴⁹: the spacing of the subnormal grid.
const TINY: f64 = 1.401_298_464_324_817e-45;

/// The absolute floor of every tolerance: `n` roundings on the subnormal grid, scaled by the
/// largest factor (`rstd·|w|`, at most `1/√1e-6 · 2` here, or 1) they pass through.
fn floor(n: usize, factor: f64) -> f64 {
    (n as f64 + 2.0) * f32::from_bits(1) as f64 * factor.max(1.0) * 4.0
}

/// Layer norm on rows of `c` features. What the comparison covers, element by element (`u` the
/// unit round-off, `n = c` the length of a row's reductions):
/// * every output of a row needs the row's `x` tame (finite, |x| ≤ 1e15: squares of larger
///   values overflow `f32` in one order of operations and not another), and `eps ≥ 1e-6`;
///   `y[r, j]` also `weight[j]`, `bias[j]`; `dx` of a row also the row's `dy` and every weight;
///   `dweight[j]` and `dbias[j]` column `j` of `dy` (and every row of `x` for `dweight`);
/// * `y`: the kernel forms `x̂ = ((x − pivot) − δ)·rstd` with `δ` the mean of `x − pivot`
///   (pivot `x[r, 0]`): a sum of `n` terms errs by at most `γₙ ≈ n·u` of their magnitudes,
///   which `rstd` turns into `n·u·(|x̂| + 2|x̂_pivot|)`; `rstd = 1/√(var + eps)` inherits the
///   variance's `(n + 2)·u` relative; the affine map adds two roundings. Bound:
///   `4(n + 2)·u·((|x̂| + 2|x̂_pivot| + 1)·|w| + |b|)`, the worst case of `tests/norm.rs`'s
///   `4u√n` (which assumes random rounding);
/// * `stats`: `δ` within `4(n + 2)·u·(√(var + eps) + |δ|)`, `rstd` within `4(n + 2)·u·rstd`;
/// * `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`: two more sums of `n` terms on top of `x̂`'s
///   error: `8(n + 2)·u·rstd·max|g|·(2 + |x̂| + 2|x̂_pivot|)` (`tests/norm.rs`'s `dx_scale`);
/// * `dweight[j] = Σ_r dy·x̂`, `dbias[j] = Σ_r dy`: each term carries `x̂`'s error and the sum
///   over `rows` its own: `4(n + rows + 2)·u·Σ_r |dy|·(|x̂| + 2|x̂_pivot|)` and
///   `4(rows + 2)·u·Σ_r |dy|`.
fn layer_norm(i: &mut Input) {
    let c = i.size(40);
    let rows = i.size(6);
    let m = LayerNorm {
        features: c,
        eps: i.hparam(1e-6, 1e-2),
        elementwise_affine: i.bool(),
        bias: i.bool(),
    };
    let off = i.len(3);
    let scale = [1.0, 1e-3, 1e3, 1e6][i.byte() as usize % 4];
    let n = rows * c;
    let xl = length(i, n);
    // A length that is another multiple of `c` is another number of rows, and valid.
    let x_ok = c > 0 && xl.checked_rem(c) == Some(0);
    let (rows, n) = if x_ok { (xl / c, xl) } else { (rows, n) };
    let x = buffer(i, off, xl, scale);
    let w = buffer(i, off, m.weight_len(), 2.0);
    let b = buffer(i, off, m.bias_len(), 2.0);
    let with_w = if i.byte() % 16 == 0 {
        !m.elementwise_affine
    } else {
        m.elementwise_affine
    };
    let with_b = if i.byte() % 16 == 0 {
        m.bias_len() == 0
    } else {
        m.bias_len() > 0
    };
    let dyl = length(i, n);
    let dy = buffer(i, off, dyl, 1.0);
    let (yl, sl, dxl) = (length(i, n), length(i, 2 * rows), length(i, n));
    // One backward in eight is not asked for `dx`.
    let with_dx = !i.byte().is_multiple_of(8);
    let (x, w, b, dy) = (&x[off..], &w[off..], &b[off..], &dy[off..]);
    let ws = with_w.then_some(w);
    let bs = with_b.then_some(b);
    let input = Shape::Features(c);
    let params = Params::new(ws.unwrap_or(&[]), bs.unwrap_or(&[]));

    let valid = m.eps >= 0.0
        && c > 0
        && x_ok
        && ws.map_or(0, |w| w.len()) == m.weight_len()
        && bs.map_or(0, |b| b.len()) == m.bias_len();
    let fwd_valid = valid && yl == n;
    let train_valid = fwd_valid && sl == 2 * rows;
    let mut y = vec![1.5f32; off + yl];
    let mut stats = vec![1.5f32; off + sl];
    let r = m.forward(input, Mode::EVAL, params, x, &mut y[off..]);
    assert_eq!(r.is_ok(), fwd_valid, "{m:?} {r:?}");
    if r.is_err() {
        assert!(y.iter().all(|&v| v == 1.5));
    }
    let y_inf = y.clone();
    let mode = Mode::train(&mut stats[off..]);
    let r = m.forward(input, mode, params, x, &mut y[off..]);
    assert_eq!(r.is_ok(), train_valid, "{m:?} {r:?}");
    if r.is_err() {
        assert!(stats.iter().all(|&v| v == 1.5));
        return;
    }
    assert!(same_bits(&y, &y_inf));
    assert!(y[..off].iter().chain(&stats[..off]).all(|&v| v == 1.5));
    let mut dx = vec![1.5f32; off + dxl];
    // The parameter gradients accumulate onto what they hold.
    let dw0 = i.mostly_tame(m.weight_len(), 1.0);
    let db0 = i.mostly_tame(m.bias_len(), 1.0);
    let (mut dw, mut db) = (dw0.clone(), db0.clone());
    let tape = Tape::train(x, &y[off..], &stats[off..]);
    let dx_out = with_dx.then_some(&mut dx[off..]);
    let r = m.backward(
        input,
        params,
        tape,
        dy,
        dx_out,
        Grads::new(&mut dw, &mut db),
    );
    let bwd_valid = dy.len() == n && (!with_dx || dxl == n);
    assert_eq!(r.is_ok(), bwd_valid, "{r:?}");
    if r.is_err() || !with_dx {
        // Without `dx` nothing is written there.
        assert!(dx.iter().all(|&v| v == 1.5));
    }
    if r.is_err() {
        assert!(same_bits(&dw, &dw0) && same_bits(&db, &db0));
        return;
    }
    if !(m.eps >= 1e-6) {
        return;
    }
    let t = |v: f32| v.is_finite() && v.abs() <= 1e15;
    // `Some(&[])` is a valid absent weight or bias.
    let wv = |j: usize| ws.and_then(|w| w.get(j)).map_or(1.0, |&w| w as f64);
    let bv = |j: usize| bs.and_then(|b| b.get(j)).map_or(0.0, |&b| b as f64);
    let w_tame = |j: usize| t(wv(j) as f32) && t(bv(j) as f32);
    let all_w_tame = (0..c).all(|j| t(wv(j) as f32));
    let (ky, kdx) = (4.0 * (c as f64 + 2.0) * U, 8.0 * (c as f64 + 2.0) * U);
    let (mut want_y, mut want_dx) = (vec![None; n], vec![None; n]);
    let mut want_stats = vec![None; 2 * rows];
    let (mut dw_want, mut db_want) = (vec![Some((0.0, 0.0)); c], vec![Some((0.0, 0.0)); c]);
    for r in 0..rows {
        let row = r * c..(r + 1) * c;
        let x_tame = x[row.clone()].iter().all(|&v| t(v));
        let dy_tame = dy[row.clone()].iter().all(|&v| t(v));
        for j in 0..c {
            // dbias needs only the column of dy.
            let d = dy[r * c + j];
            db_want[j] = db_want[j]
                .filter(|_| t(d))
                .map(|(s, a)| (s + d as f64, a + d.abs() as f64));
        }
        if !x_tame {
            dw_want.iter_mut().for_each(|v| *v = None);
            continue;
        }
        let xr = f64s(&x[row.clone()]);
        let (_, means, rstds) = ln_ref(&xr, None, None, c, m.eps as f64);
        let (mean, rstd) = (means[0], rstds[0]);
        let xhat: Vec<f64> = xr.iter().map(|v| (v - mean) * rstd).collect();
        let xs: Vec<f64> = xhat_scale(&xhat, |_| 0);
        let f = floor(c, rstd * 2.0);
        want_stats[r] = Some((mean - xr[0], ky * (1.0 / rstd + (mean - xr[0]).abs()) + f));
        want_stats[rows + r] = Some((rstd, ky * rstd));
        for j in 0..c {
            if w_tame(j) {
                let want = xhat[j] * wv(j) + bv(j);
                let s = (xs[j] + 1.0) * wv(j).abs() + bv(j).abs();
                want_y[r * c + j] = Some((want, ky * s + 2.0 * U * want.abs() + f));
            }
        }
        if dy_tame && all_w_tame {
            let g: Vec<f64> = (0..c).map(|j| dy[r * c + j] as f64 * wv(j)).collect();
            let mg = g.iter().sum::<f64>() / c as f64;
            let mgx = g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / c as f64;
            let gmax = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for j in 0..c {
                let want = rstd * (g[j] - mg - xhat[j] * mgx);
                let s = rstd * gmax * (2.0 + xs[j]);
                want_dx[r * c + j] = Some((want, kdx * s + 2.0 * U * want.abs() + f));
            }
        }
        for j in 0..c {
            let d = dy[r * c + j];
            dw_want[j] = dw_want[j]
                .filter(|_| t(d))
                .map(|(s, a)| (s + d as f64 * xhat[j], a + (d as f64).abs() * xs[j]));
        }
    }
    check("y", &y[off..], &want_y);
    check("stats", &stats[off..], &want_stats);
    if with_dx {
        check("dx", &dx[off..], &want_dx);
    }
    let k = 4.0 * (c as f64 + rows as f64 + 2.0) * U;
    let acc = |want: &[Option<(f64, f64)>], start: &[f32], kk: f64| -> Vec<Option<(f64, f64)>> {
        want.iter()
            .zip(start)
            .map(|(w, &s0)| {
                let (sum, abs) = (*w)?;
                t(s0).then(|| {
                    let want = s0 as f64 + sum;
                    (
                        want,
                        kk * (abs + (s0 as f64).abs()) + 2.0 * U * want.abs() + floor(n, 1e3),
                    )
                })
            })
            .collect()
    };
    if m.weight_len() > 0 {
        check("dweight", &dw, &acc(&dw_want, &dw0, k));
    }
    if m.bias_len() > 0 {
        check(
            "dbias",
            &db,
            &acc(&db_want, &db0, 4.0 * (rows as f64 + 2.0) * U),
        );
    }
}

/// The shape of a batch-norm sample: `[C]` (half the time), `[C, L]` or `[C, H, W]` (`L` up to
/// 80 and `H·W` up to 64 positions, so a channel's `N·P` values span several blocks of the
/// blocked sums; a zero dimension one time in 16 per dimension, which is an error).
fn bn_shape(i: &mut Input, c: usize) -> Shape {
    match i.byte() % 4 {
        0 | 1 => Shape::Features(c),
        2 => Shape::Sequence {
            channels: c,
            length: i.size(80),
        },
        _ => Shape::Image {
            channels: c,
            height: i.size(8),
            width: i.size(8),
        },
    }
}

/// The roundings, in units of `u`, of a sum over the `n` values of a channel with `p`
/// positions per sample: `n` for the `[N, C]` kernel (a plain `f32` sum down the batch);
/// `min(n, 32) + 4` for `P > 1` (the blocked sum: at most 32 terms per lane in a block, three
/// roundings adding the lanes, one more for the blocks' `f64` total, see `src/simd/reduce.rs`).
fn sum_roundings(n: usize, p: usize) -> f64 {
    if p == 1 {
        n as f64
    } else {
        (n.min(32) + 4) as f64
    }
}

/// Batch norm on `rows` samples of `c` channels of `p` positions (`[N, C]`, `[N, C, L]`,
/// `[N, C, H, W]`); the reductions run over a channel's `n = rows·p` values. The comparison,
/// element by element, as for [`layer_norm`] with the channel in place of the row (every
/// output of channel `j` needs the channel of `x` tame, and `weight[j]`, `bias[j]` for `y`;
/// `dx`, `dweight`, `dbias` also the channel of `dy`), with `k = sum_roundings(n, p) + 2`
/// ([`sum_roundings`]: `n` for `[N, C]`, `min(n, 32) + 4` for the blocked sums of `P > 1`):
/// * `y`, `stats` (`δ`, `rstd`): `4k·u` of the scales of [`layer_norm`];
/// * the running statistics `(1 − m)·old + m·new` (in `f64` from the batch mean and unbiased
///   variance): `m` times the error of the new value (`4k·u·(|mean| + √var)`,
///   `4k·u·var_unbiased`) and two roundings;
/// * `dx`, `dweight`, `dbias`: `8k·u` of `tests/norm.rs`'s scales (`dx_scale`,
///   `Σ|dy|·(|x̂| + 2|x̂_pivot|)`, `Σ|dy|`);
/// * evaluation: `y = (x − rm)·rstd·w + b` four roundings and `rstd`'s two:
///   `6u·((|x| + |rm|)·rstd·|w| + |b|)`; `dx = dy·w·rstd`: `6u·|dx|`; `dweight`, `dbias`: sums
///   of `n` terms, `4k·u` of `Σ|dy|·(|x̂| + 1)` and `Σ|dy|`.
fn batch_norm(i: &mut Input) {
    let c = i.size(40);
    // Training needs two values per channel or more.
    let rows = 1 + i.size(5);
    let input = bn_shape(i, c);
    let p = input.positions();
    let m = BatchNorm {
        features: c,
        eps: i.hparam(1e-6, 1e-2),
        momentum: if i.byte() % 8 == 0 {
            None
        } else {
            Some(i.hparam(0.0, 1.0))
        },
        affine: i.bool(),
        track_running_stats: i.bool(),
    };
    let training = i.bool();
    let off = i.len(3);
    let scale = [1.0, 1e-3, 1e3, 1e6][i.byte() as usize % 4];
    let sample = c * p;
    let n = rows * sample;
    let xl = length(i, n);
    // A length that is another multiple of `C·P` is another number of samples, and valid.
    let x_ok = sample > 0 && xl.checked_rem(sample) == Some(0);
    let (rows, n) = if x_ok { (xl / sample, xl) } else { (rows, n) };
    let x = buffer(i, off, xl, scale);
    let wl = length(i, m.weight_len());
    let w = buffer(i, off, wl, 2.0);
    let b = buffer(i, off, m.weight_len(), 2.0);
    // The buffers: running_mean, running_var (non-negative), num_batches_tracked (3).
    let bl = length(i, m.buffer_len());
    let mut buf = buffer(i, off, bl, 1.0);
    for v in buf[off..].iter_mut().skip(c).take(c) {
        *v = v.abs();
    }
    if let Some(count) = buf.get_mut(off + 2 * c) {
        *count = 3.0;
    }
    let with_running = if i.byte() % 16 == 15 {
        !m.track_running_stats
    } else {
        m.track_running_stats
    };
    let dyl = length(i, n);
    let dy = buffer(i, off, dyl, 1.0);
    let (yl, sl, dxl) = (length(i, n), length(i, 2 * c), length(i, n));
    // One backward in eight is not asked for `dx`.
    let with_dx = !i.byte().is_multiple_of(8);
    let (x, w, b, dy) = (&x[off..], &w[off..], &b[off..], &dy[off..]);
    let ws = m.affine.then_some(w);
    let bs = m.affine.then_some(b);
    let params = Params::new(ws.unwrap_or(&[]), bs.unwrap_or(&[]));
    let running_ok = if with_running {
        bl == m.buffer_len()
    } else {
        m.buffer_len() == 0
    };
    let momentum_ok = m.momentum.is_none_or(|v| (0.0..=1.0).contains(&v));
    let valid = m.eps >= 0.0
        && momentum_ok
        && c > 0
        && p > 0
        && x_ok
        && ws.map_or(0, |w| w.len()) == m.weight_len()
        && running_ok
        && yl == n;
    // The values of each channel: `count = rows·p` of them.
    let count = rows * p;
    let batch_ok = count >= 2;
    let mut y = vec![1.5f32; off + yl];
    let mut stats = vec![1.5f32; off + sl];
    let buf0 = buf.clone();
    // running_mean[j] and running_var[j] of the buffers.
    let (rm_at, rv_at) = (
        |v: &[f32], j: usize| v[off + j],
        |v: &[f32], j: usize| v[off + c + j],
    );
    let dw0 = i.mostly_tame(m.weight_len(), 1.0);
    let db0 = i.mostly_tame(m.weight_len(), 1.0);
    let t = |v: f32| v.is_finite() && v.abs() <= 1e15;
    // The index of x[r][j][k], and the indices of channel j's values (its pivot first).
    let at = |r: usize, j: usize, k: usize| (r * c + j) * p + k;
    let channel = |j: usize| (0..rows).flat_map(move |r| (0..p).map(move |k| at(r, j, k)));
    let col_tame = |v: &[f32], j: usize| channel(j).all(|k| t(v[k]));
    let wv = |j: usize| ws.map_or(1.0, |w| w[j] as f64);
    let bv = |j: usize| bs.map_or(0.0, |b| b[j] as f64);
    let wb_tame = |j: usize| t(wv(j) as f32) && t(bv(j) as f32);
    // Parameter gradients accumulate onto `start`: `Some((Σ, Σ|·|))` → `(want, tol)`.
    let acc = |sums: &[Option<(f64, f64)>], start: &[f32], k: f64| -> Vec<Option<(f64, f64)>> {
        sums.iter()
            .zip(start)
            .map(|(w, &s0)| {
                let (sum, abs) = (*w)?;
                t(s0).then(|| {
                    let want = s0 as f64 + sum;
                    (
                        want,
                        k * (abs + (s0 as f64).abs()) + 2.0 * U * want.abs() + floor(n, 1e3),
                    )
                })
            })
            .collect()
    };
    let kn = (sum_roundings(count, p) + 2.0) * U;
    if training {
        let mode = Mode::Train {
            buffers: if with_running {
                &mut buf[off..]
            } else {
                &mut []
            },
            saved: &mut stats[off..],
            rng: None,
        };
        let r = m.forward(input, mode, params, x, &mut y[off..]);
        assert_eq!(
            r.is_ok(),
            valid && sl == 2 * c && batch_ok,
            "{m:?} {input:?} {r:?}"
        );
        if r.is_err() {
            assert!(y.iter().chain(&stats).all(|&v| v == 1.5));
            assert!(same_bits(&buf, &buf0));
            return;
        }
        if m.track_running_stats {
            assert_eq!(buf[off + 2 * c], 4.0, "num_batches_tracked");
        }
        let mut dx = vec![1.5f32; off + dxl];
        let (mut dw, mut db) = (dw0.clone(), db0.clone());
        let tape = Tape::train(x, &y[off..], &stats[off..]);
        let dx_out = with_dx.then_some(&mut dx[off..]);
        let r = m.backward(
            input,
            params,
            tape,
            dy,
            dx_out,
            Grads::new(&mut dw, &mut db),
        );
        assert_eq!(r.is_ok(), dy.len() == n && (!with_dx || dxl == n), "{r:?}");
        if r.is_err() || !with_dx {
            assert!(dx.iter().all(|&v| v == 1.5));
        }
        if r.is_err() {
            assert!(same_bits(&dw, &dw0) && same_bits(&db, &db0));
            return;
        }
        if !(m.eps >= 1e-6) {
            return;
        }
        let (mut want_y, mut want_dx) = (vec![None; n], vec![None; n]);
        let mut want_stats = vec![None; 2 * c];
        let (mut want_rm, mut want_rv) = (vec![None; c], vec![None; c]);
        let (mut dw_sum, mut db_sum) = (vec![None; c], vec![None; c]);
        let factor = m.momentum.map_or(1.0 / 4.0, f64::from);
        for j in 0..c {
            let idx: Vec<usize> = channel(j).collect();
            let dy_tame = col_tame(dy, j);
            if dy_tame {
                let d: f64 = idx.iter().map(|&k| dy[k] as f64).sum();
                let a: f64 = idx.iter().map(|&k| (dy[k] as f64).abs()).sum();
                db_sum[j] = Some((d, a));
            }
            if !col_tame(x, j) {
                continue;
            }
            let col: Vec<f64> = idx.iter().map(|&k| x[k] as f64).collect();
            let (mean, var, unbiased) = bn_moments(&col, 1);
            let (mean, var, unbiased) = (mean[0], var[0], unbiased[0]);
            let rstd = 1.0 / (var + m.eps as f64).sqrt();
            let xhat: Vec<f64> = col.iter().map(|v| (v - mean) * rstd).collect();
            let xs = xhat_scale(&xhat, |_| 0);
            let f = floor(count, rstd * 2.0);
            want_stats[j] = Some((
                mean - col[0],
                4.0 * kn * (1.0 / rstd + (mean - col[0]).abs()) + f,
            ));
            want_stats[c + j] = Some((rstd, 4.0 * kn * rstd));
            if m.track_running_stats && t(rm_at(&buf0, j)) && t(rv_at(&buf0, j)) {
                let old = (rm_at(&buf0, j) as f64, rv_at(&buf0, j) as f64);
                let wm = (1.0 - factor) * old.0 + factor * mean;
                let wv_ = (1.0 - factor) * old.1 + factor * unbiased;
                want_rm[j] = Some((
                    wm,
                    factor * 4.0 * kn * (mean.abs() + var.sqrt()) + 2.0 * U * wm.abs() + f,
                ));
                want_rv[j] = Some((wv_, factor * 4.0 * kn * unbiased + 2.0 * U * wv_.abs() + f));
            }
            if wb_tame(j) {
                for (e, &k) in idx.iter().enumerate() {
                    let want = xhat[e] * wv(j) + bv(j);
                    let s = (xs[e] + 1.0) * wv(j).abs() + bv(j).abs();
                    want_y[k] = Some((want, 4.0 * kn * s + 2.0 * U * want.abs() + f));
                }
            }
            if dy_tame && t(wv(j) as f32) {
                let d: Vec<f64> = idx.iter().map(|&k| dy[k] as f64).collect();
                let a = d.iter().sum::<f64>();
                let bb = d.iter().zip(&xhat).map(|(p, q)| p * q).sum::<f64>();
                let dmax = d.iter().fold(0.0f64, |s, v| s.max(v.abs()));
                let gmax = dmax * wv(j).abs();
                let cn = count as f64;
                for (e, &k) in idx.iter().enumerate() {
                    let want = rstd * wv(j) * (d[e] - a / cn - xhat[e] * bb / cn);
                    let s = rstd * gmax * (2.0 + xs[e]);
                    // `rstd·w` is rounded once in f32: on the subnormal grid (a tiny weight) that
                    // is an absolute error up to 2⁻¹⁵⁰, which the rest of the formula multiplies.
                    let sub = 2.0 * TINY * dmax * (2.0 + xs[e]);
                    want_dx[k] = Some((want, 8.0 * kn * s + 2.0 * U * want.abs() + f + sub));
                }
                let sw: f64 = d.iter().zip(&xs).map(|(d, s)| d.abs() * s).sum();
                dw_sum[j] = Some((bb, sw));
            }
        }
        check("y", &y[off..], &want_y);
        check("stats", &stats[off..], &want_stats);
        if with_running && m.track_running_stats {
            check("running_mean", &buf[off..off + c], &want_rm);
            check("running_var", &buf[off + c..off + 2 * c], &want_rv);
        }
        if with_dx {
            check("dx", &dx[off..], &want_dx);
        }
        if m.affine {
            check("dweight", &dw, &acc(&dw_sum, &dw0, 8.0 * kn));
            check("dbias", &db, &acc(&db_sum, &db0, 8.0 * kn));
        }
    } else {
        let mode = Mode::Eval {
            buffers: if with_running { &buf[off..] } else { &[] },
        };
        let r = m.forward(input, mode, params, x, &mut y[off..]);
        let eval_ok = valid && (m.track_running_stats || batch_ok);
        assert_eq!(r.is_ok(), eval_ok, "{m:?} {input:?} {r:?}");
        if r.is_err() {
            assert!(y.iter().all(|&v| v == 1.5));
            return;
        }
        if !m.track_running_stats {
            // Evaluation without running statistics normalises with the batch's statistics,
            // as training does: the same reference and bound as the training `y`.
            if !(m.eps >= 1e-6) {
                return;
            }
            let mut want_y = vec![None; n];
            for j in (0..c).filter(|&j| col_tame(x, j) && wb_tame(j)) {
                let idx: Vec<usize> = channel(j).collect();
                let col: Vec<f64> = idx.iter().map(|&k| x[k] as f64).collect();
                let (mean, var, _) = bn_moments(&col, 1);
                let rstd = 1.0 / (var[0] + m.eps as f64).sqrt();
                let xhat: Vec<f64> = col.iter().map(|v| (v - mean[0]) * rstd).collect();
                let xs = xhat_scale(&xhat, |_| 0);
                let f = floor(count, rstd * 2.0);
                for (e, &k) in idx.iter().enumerate() {
                    let want = xhat[e] * wv(j) + bv(j);
                    let s = (xs[e] + 1.0) * wv(j).abs() + bv(j).abs();
                    want_y[k] = Some((want, 4.0 * kn * s + 2.0 * U * want.abs() + f));
                }
            }
            check("eval y (batch statistics)", &y[off..], &want_y);
            return;
        }
        let mut dx = vec![1.5f32; off + dxl];
        let (mut dw, mut db) = (dw0.clone(), db0.clone());
        let tape = Tape::eval(x, &y[off..], &buf[off..]);
        let dx_out = with_dx.then_some(&mut dx[off..]);
        let r = m.backward(
            input,
            params,
            tape,
            dy,
            dx_out,
            Grads::new(&mut dw, &mut db),
        );
        assert_eq!(r.is_ok(), dy.len() == n && (!with_dx || dxl == n), "{r:?}");
        if r.is_err() || !with_dx {
            assert!(dx.iter().all(|&v| v == 1.5));
        }
        if r.is_err() {
            assert!(same_bits(&dw, &dw0) && same_bits(&db, &db0));
            return;
        }
        if !(m.eps >= 1e-6) {
            return;
        }
        let (mut want_y, mut want_dx) = (vec![None; n], vec![None; n]);
        let (mut dw_sum, mut db_sum) = (vec![Some((0.0, 0.0)); c], vec![Some((0.0, 0.0)); c]);
        for k in 0..n {
            let j = k / p % c;
            let (rmj, rvj) = (rm_at(&buf, j), rv_at(&buf, j));
            if !(t(rmj) && t(rvj)) {
                dw_sum[j] = None;
                db_sum[j] = None;
                continue;
            }
            let rstd = 1.0 / (rvj as f64 + m.eps as f64).sqrt();
            let f = floor(1, rstd * 2.0);
            let xhat = (x[k] as f64 - rmj as f64) * rstd;
            if t(x[k]) && wb_tame(j) {
                let want = xhat * wv(j) + bv(j);
                let s = (x[k].abs() as f64 + rmj.abs() as f64) * rstd * wv(j).abs() + bv(j).abs();
                want_y[k] = Some((want, 6.0 * U * s + 2.0 * U * want.abs() + f));
            }
            if t(dy[k]) && t(wv(j) as f32) {
                let want = dy[k] as f64 * wv(j) * rstd;
                // `rstd·w` rounded once in f32, absolutely within 2⁻¹⁵⁰ on the subnormal grid.
                let sub = 2.0 * TINY * (dy[k] as f64).abs();
                want_dx[k] = Some((want, 6.0 * U * want.abs() + f + sub));
            }
            let d = dy[k] as f64;
            db_sum[j] = db_sum[j]
                .filter(|_| t(dy[k]))
                .map(|(s, a)| (s + d, a + d.abs()));
            dw_sum[j] = dw_sum[j]
                .filter(|_| t(dy[k]) && t(x[k]))
                .map(|(s, a)| (s + d * xhat, a + d.abs() * (xhat.abs() + 1.0)));
        }
        check("eval y", &y[off..], &want_y);
        if with_dx {
            check("eval dx", &dx[off..], &want_dx);
        }
        if m.affine {
            check("eval dweight", &dw, &acc(&dw_sum, &dw0, 4.0 * kn));
            check("eval dbias", &db, &acc(&db_sum, &db0, 4.0 * kn));
        }
    }
}

fn drop_out(i: &mut Input) {
    let n = i.len(100);
    let p = i.hparam(0.0, 1.0);
    let training = i.bool();
    let off = i.len(3);
    let seed = u64::from(i.u32());
    let x = buffer(i, off, n, 1e3);
    let x = &x[off..];
    let yl = length(i, n);
    let ml = length(i, mask_len(n));
    let mut y = vec![1.5f32; off + yl];
    let mut mask = vec![7u32; off + ml];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    // Training draws a mask; evaluation is the layer's identity.
    let r = if training {
        dropout(x, &mut y[off..], &mut mask[off..], p, &mut rng)
    } else {
        let input = Shape::Features(n);
        Dropout::new(p).forward(input, Mode::EVAL, Params::NONE, x, &mut y[off..])
    };
    let p_ok = (0.0..=1.0).contains(&p);
    let valid = p_ok && yl == n && (!training || ml == mask_len(n));
    assert_eq!(r.is_ok(), valid, "{r:?}");
    if r.is_err() {
        assert!(y.iter().all(|&v| v == 1.5) && mask.iter().all(|&w| w == 7));
        return;
    }
    input::compared();
    if !training {
        assert!(same_bits(&y[off..], x) && mask.iter().all(|&w| w == 7));
        return;
    }
    let s = if p < 1.0 {
        (1.0 / (1.0 - p as f64)) as f32
    } else {
        0.0
    };
    let m = &mask[off..];
    for k in 0..n {
        let kept = m[k / 32] >> (k % 32) & 1 == 1;
        let want = x[k] * if kept { s } else { 0.0 };
        assert_eq!(y[off + k].to_bits(), want.to_bits());
    }
    if n % 32 != 0 {
        assert_eq!(m[n / 32] >> (n % 32), 0);
    }
    let mut dx = vec![0.0f32; n];
    dropout_backward(x, &mut dx, m, p).unwrap();
    assert!(same_bits(&dx, &y[off..]));
}
