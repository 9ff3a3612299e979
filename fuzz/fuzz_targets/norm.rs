//! Layer norm, batch norm and dropout on arbitrary shapes, hyper-parameters, values, slice
//! lengths and sub-slice offsets: every call returns `Ok` exactly when its arguments are valid,
//! writes nothing on `Err`, never panics, and an `Ok` result on tame inputs (finite, |v| ≤ 1e15,
//! eps ≥ 1e-6) agrees with a scalar f64 reference.
#![no_main]

#[path = "input.rs"]
mod input;

use descent::dropout::{dropout, dropout_backward, mask_len};
use descent::norm::{BatchNorm, LayerNorm, RunningStats};
use input::Input;
use libfuzzer_sys::fuzz_target;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let mut i = Input(data);
    match i.byte() % 3 {
        0 => layer_norm(&mut i),
        1 => batch_norm(&mut i),
        _ => drop_out(&mut i),
    }
});

/// A length: mostly `right`, sometimes anything up to `right + 3`.
fn length(i: &mut Input, right: usize) -> usize {
    if i.byte() % 16 == 0 {
        i.len(right + 3)
    } else {
        right
    }
}

/// A buffer of `len` values at offset `off` (the values before it are sentinels).
fn buffer(i: &mut Input, off: usize, len: usize, scale: f32) -> Vec<f32> {
    let mut v = vec![-5555.0f32; off];
    v.extend(i.values(len, scale));
    v
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn tame(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite() && x.abs() <= 1e15)
}

fn close(what: &str, got: &[f32], want: &[f64], scale: &[f64]) {
    for (k, ((g, w), s)) in got.iter().zip(want).zip(scale).enumerate() {
        if !(*s <= 1e30) {
            continue;
        }
        let tol = 1e-4 * (s + w.abs()) + 1e-30;
        assert!(
            (*g as f64 - w).abs() <= tol,
            "{what}[{k}]: {g} vs {w} (scale {s})"
        );
    }
}

fn layer_norm(i: &mut Input) {
    let c = i.len(40);
    let rows = i.len(6);
    let m = LayerNorm {
        features: c,
        eps: i.hparam(1e-6, 1e-2),
        elementwise_affine: i.bool(),
        bias: i.bool(),
    };
    let off = i.len(3);
    let scale = [1.0, 1e-3, 1e3, 1e30][i.byte() as usize % 4];
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
    let (x, w, b, dy) = (&x[off..], &w[off..], &b[off..], &dy[off..]);
    let ws = with_w.then_some(w);
    let bs = with_b.then_some(b);

    let valid = m.eps >= 0.0
        && c > 0
        && x_ok
        && ws.map_or(0, |w| w.len()) == m.weight_len()
        && bs.map_or(0, |b| b.len()) == m.bias_len();
    let fwd_valid = valid && yl == n;
    let train_valid = fwd_valid && sl == 2 * rows;
    let mut y = vec![1.5f32; off + yl];
    let mut stats = vec![1.5f32; off + sl];
    let r = m.forward(x, ws, bs, &mut y[off..]);
    assert_eq!(r.is_ok(), fwd_valid, "{m:?} {r:?}");
    if r.is_err() {
        assert!(y.iter().all(|&v| v == 1.5));
    }
    let y_inf = y.clone();
    let r = m.forward_train(x, ws, bs, &mut y[off..], &mut stats[off..]);
    assert_eq!(r.is_ok(), train_valid, "{m:?} {r:?}");
    if r.is_err() {
        assert!(stats.iter().all(|&v| v == 1.5));
        return;
    }
    assert!(same_bits(&y, &y_inf));
    assert!(y[..off].iter().chain(&stats[..off]).all(|&v| v == 1.5));
    let mut dx = vec![1.5f32; off + dxl];
    let mut dw = vec![0.0f32; m.weight_len()];
    let mut db = vec![0.0f32; m.bias_len()];
    let r = m.backward(
        x,
        ws,
        &stats[off..],
        dy,
        &mut dx[off..],
        Some(&mut dw),
        Some(&mut db),
    );
    let bwd_valid = dy.len() == n && dxl == n;
    assert_eq!(r.is_ok(), bwd_valid, "{r:?}");
    if r.is_err() {
        assert!(dx.iter().all(|&v| v == 1.5) && dw.iter().chain(&db).all(|&v| v == 0.0));
        return;
    }
    if !(tame(x) && tame(w) && tame(b) && tame(dy) && m.eps >= 1e-6) {
        return;
    }
    // The f64 reference.
    // `Some(&[])` is a valid absent weight or bias.
    let wv = |j: usize| ws.and_then(|w| w.get(j)).map_or(1.0, |&w| w as f64);
    let bv = |j: usize| bs.and_then(|b| b.get(j)).map_or(0.0, |&b| b as f64);
    let (mut want_y, mut want_dx) = (vec![0.0; n], vec![0.0; n]);
    let (mut sy, mut sdx) = (vec![0.0; n], vec![0.0; n]);
    for r in 0..rows {
        let xr: Vec<f64> = x[r * c..(r + 1) * c].iter().map(|&v| v as f64).collect();
        let mean = xr.iter().sum::<f64>() / c as f64;
        let var = xr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c as f64;
        let rstd = 1.0 / (var + m.eps as f64).sqrt();
        let xhat: Vec<f64> = xr.iter().map(|v| (v - mean) * rstd).collect();
        let g: Vec<f64> = (0..c).map(|j| dy[r * c + j] as f64 * wv(j)).collect();
        let mg = g.iter().sum::<f64>() / c as f64;
        let mgx = g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / c as f64;
        let gmax = g.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let xs = |j: usize| xhat[j].abs() + 2.0 * xhat[0].abs() + 1.0;
        for j in 0..c {
            want_y[r * c + j] = xhat[j] * wv(j) + bv(j);
            sy[r * c + j] = xs(j) * wv(j).abs() + bv(j).abs();
            want_dx[r * c + j] = rstd * (g[j] - mg - xhat[j] * mgx);
            sdx[r * c + j] = rstd * gmax * (1.0 + xs(j));
        }
    }
    close("y", &y[off..], &want_y, &sy);
    close("dx", &dx[off..], &want_dx, &sdx);
}

fn batch_norm(i: &mut Input) {
    let c = i.len(40);
    let rows = i.len(6);
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
    let scale = [1.0, 1e-3, 1e3, 1e30][i.byte() as usize % 4];
    let n = rows * c;
    let xl = length(i, n);
    // A length that is another multiple of `c` is another number of rows, and valid.
    let x_ok = c > 0 && xl.checked_rem(c) == Some(0);
    let (rows, n) = if x_ok { (xl / c, xl) } else { (rows, n) };
    let x = buffer(i, off, xl, scale);
    let wl = length(i, m.weight_len());
    let w = buffer(i, off, wl, 2.0);
    let b = buffer(i, off, m.weight_len(), 2.0);
    let rl = length(i, m.running_len());
    let rm = buffer(i, off, rl, 1.0);
    let rv: Vec<f32> = buffer(i, off, rl, 1.0).iter().map(|v| v.abs()).collect();
    let with_running = if i.byte() % 16 == 0 {
        !m.track_running_stats
    } else {
        m.track_running_stats
    };
    let dyl = length(i, n);
    let dy = buffer(i, off, dyl, 1.0);
    let (yl, sl, dxl) = (length(i, n), length(i, 2 * c), length(i, n));
    let (x, w, b, dy) = (&x[off..], &w[off..], &b[off..], &dy[off..]);
    let ws = m.affine.then_some(w);
    let bs = m.affine.then_some(b);
    let running_ok = if with_running {
        rl == m.running_len()
    } else {
        m.running_len() == 0
    };
    let momentum_ok = m.momentum.is_none_or(|v| (0.0..=1.0).contains(&v));
    let valid = m.eps >= 0.0
        && momentum_ok
        && c > 0
        && x_ok
        && ws.map_or(0, |w| w.len()) == m.weight_len()
        && running_ok
        && yl == n;
    let batch_ok = rows >= 2;
    let mut y = vec![1.5f32; off + yl];
    let mut stats = vec![1.5f32; off + sl];
    let (mut rm, mut rv) = (rm, rv);
    let (rm0, rv0) = (rm.clone(), rv.clone());
    let mut batches = 3u64;
    if training {
        let running = with_running.then(|| RunningStats {
            mean: &mut rm[off..],
            var: &mut rv[off..],
            num_batches_tracked: &mut batches,
        });
        let r = m.forward_train(x, ws, bs, running, &mut y[off..], &mut stats[off..]);
        assert_eq!(r.is_ok(), valid && sl == 2 * c && batch_ok, "{m:?} {r:?}");
        if r.is_err() {
            assert!(y.iter().chain(&stats).all(|&v| v == 1.5));
            assert!(same_bits(&rm, &rm0) && same_bits(&rv, &rv0) && batches == 3);
            return;
        }
        assert_eq!(batches, if m.track_running_stats { 4 } else { 3 });
        let mut dx = vec![1.5f32; off + dxl];
        let (mut dw, mut db) = (vec![0.0f32; m.weight_len()], vec![0.0f32; m.weight_len()]);
        let r = m.backward_train(
            x,
            ws,
            &stats[off..],
            dy,
            &mut dx[off..],
            Some(&mut dw),
            Some(&mut db),
        );
        assert_eq!(r.is_ok(), dy.len() == n && dxl == n, "{r:?}");
        if r.is_err() {
            assert!(dx.iter().all(|&v| v == 1.5) && dw.iter().chain(&db).all(|&v| v == 0.0));
            return;
        }
        if !(tame(x) && tame(w) && tame(b) && tame(dy) && m.eps >= 1e-6) {
            return;
        }
        let (mut want_y, mut sy) = (vec![0.0; n], vec![0.0; n]);
        let (mut want_dx, mut sdx) = (vec![0.0; n], vec![0.0; n]);
        for j in 0..c {
            let col: Vec<f64> = (0..rows).map(|r| x[r * c + j] as f64).collect();
            let mean = col.iter().sum::<f64>() / rows as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rows as f64;
            let rstd = 1.0 / (var + m.eps as f64).sqrt();
            let wj = ws.map_or(1.0, |w| w[j] as f64);
            let bj = bs.map_or(0.0, |b| b[j] as f64);
            let xhat: Vec<f64> = col.iter().map(|v| (v - mean) * rstd).collect();
            let d: Vec<f64> = (0..rows).map(|r| dy[r * c + j] as f64).collect();
            let a = d.iter().sum::<f64>();
            let bb = d.iter().zip(&xhat).map(|(p, q)| p * q).sum::<f64>();
            let gmax = d.iter().fold(0.0f64, |s, v| s.max(v.abs())) * wj.abs();
            for r in 0..rows {
                let xs = xhat[r].abs() + 2.0 * xhat[0].abs() + 1.0;
                want_y[r * c + j] = xhat[r] * wj + bj;
                sy[r * c + j] = xs * wj.abs() + bj.abs();
                want_dx[r * c + j] =
                    rstd * wj * (d[r] - a / rows as f64 - xhat[r] * bb / rows as f64);
                sdx[r * c + j] = rstd * gmax * (1.0 + xs);
            }
        }
        close("y", &y[off..], &want_y, &sy);
        close("dx", &dx[off..], &want_dx, &sdx);
    } else {
        let (rms, rvs) = (
            with_running.then_some(&rm[off..]),
            with_running.then_some(&rv[off..]),
        );
        let r = m.forward_eval(x, ws, bs, rms, rvs, &mut y[off..]);
        let eval_ok = valid && (m.track_running_stats || batch_ok);
        assert_eq!(r.is_ok(), eval_ok, "{m:?} {r:?}");
        if r.is_err() {
            assert!(y.iter().all(|&v| v == 1.5));
            return;
        }
        if !m.track_running_stats {
            return;
        }
        let mut dx = vec![1.5f32; off + dxl];
        let (mut dw, mut db) = (vec![0.0f32; m.weight_len()], vec![0.0f32; m.weight_len()]);
        let r = m.backward_eval(
            x,
            ws,
            &rm[off..],
            &rv[off..],
            dy,
            &mut dx[off..],
            Some(&mut dw),
            Some(&mut db),
        );
        assert_eq!(r.is_ok(), dy.len() == n && dxl == n, "{r:?}");
        if r.is_err() {
            assert!(dx.iter().all(|&v| v == 1.5) && dw.iter().chain(&db).all(|&v| v == 0.0));
            return;
        }
        if !(tame(x) && tame(w) && tame(b) && tame(dy) && tame(&rm) && tame(&rv) && m.eps >= 1e-6) {
            return;
        }
        let (mut want_y, mut sy) = (vec![0.0; n], vec![0.0; n]);
        let (mut want_dx, mut sdx) = (vec![0.0; n], vec![0.0; n]);
        for k in 0..n {
            let j = k % c;
            let rstd = 1.0 / (rv[off + j] as f64 + m.eps as f64).sqrt();
            let wj = ws.map_or(1.0, |w| w[j] as f64);
            let bj = bs.map_or(0.0, |b| b[j] as f64);
            let xhat = (x[k] as f64 - rm[off + j] as f64) * rstd;
            want_y[k] = xhat * wj + bj;
            sy[k] = (x[k].abs() as f64 + rm[off + j].abs() as f64) * rstd * wj.abs() + bj.abs();
            want_dx[k] = dy[k] as f64 * wj * rstd;
            sdx[k] = want_dx[k].abs();
        }
        close("eval y", &y[off..], &want_y, &sy);
        close("eval dx", &dx[off..], &want_dx, &sdx);
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
    let r = dropout(x, &mut y[off..], &mut mask[off..], p, training, &mut rng);
    let p_ok = (0.0..=1.0).contains(&p);
    let valid = p_ok && yl == n && (!training || ml == mask_len(n));
    assert_eq!(r.is_ok(), valid, "{r:?}");
    if r.is_err() {
        assert!(y.iter().all(|&v| v == 1.5) && mask.iter().all(|&w| w == 7));
        return;
    }
    if !training {
        assert!(same_bits(&y[off..], x));
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
