//! `f64` references of layer and batch normalisation, from torch's documented formulas
//! (`nn.LayerNorm`, `nn.BatchNorm1d`, `nn.BatchNorm2d`, their autograd backward), and the
//! per-element scales of the kernels' rounding errors. Batch norm works on `[N, C, P]`: `P`
//! positions per channel (`L` of `[N, C, L]`, `H·W` of `[N, C, H, W]`, 1 of `[N, C]`; the
//! functions without `_p` are `P = 1`).
//!
//! Shared by `tests/norm.rs` and `fuzz/fuzz_targets/norm.rs`.
#![allow(dead_code)]
#![allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas

pub fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Layer norm forward in f64: `(y, mean, rstd)` per row.
pub fn ln_ref(
    x: &[f64],
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    c: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut y = vec![0.0; x.len()];
    let (mut means, mut rstds) = (vec![], vec![]);
    for (xr, yr) in x.chunks(c).zip(y.chunks_mut(c)) {
        let mean = xr.iter().sum::<f64>() / c as f64;
        let var = xr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / c as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for (j, (yv, xv)) in yr.iter_mut().zip(xr).enumerate() {
            let xhat = (xv - mean) * rstd;
            *yv = xhat * w.map_or(1.0, |w| w[j]) + b.map_or(0.0, |b| b[j]);
        }
        means.push(mean);
        rstds.push(rstd);
    }
    (y, means, rstds)
}

/// Layer norm backward in f64 by the closed form: `(dx, dweight, dbias)`.
pub fn ln_backward_ref(
    x: &[f64],
    w: Option<&[f64]>,
    dy: &[f64],
    c: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (_, means, rstds) = ln_ref(x, None, None, c, eps);
    let mut dx = vec![0.0; x.len()];
    let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
    for r in 0..x.len() / c {
        let row = r * c..(r + 1) * c;
        let xhat: Vec<f64> = x[row.clone()]
            .iter()
            .map(|v| (v - means[r]) * rstds[r])
            .collect();
        let g: Vec<f64> = (0..c)
            .map(|j| dy[r * c + j] * w.map_or(1.0, |w| w[j]))
            .collect();
        let mg = g.iter().sum::<f64>() / c as f64;
        let mgx = g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / c as f64;
        for j in 0..c {
            dx[r * c + j] = rstds[r] * (g[j] - mg - xhat[j] * mgx);
            dw[j] += dy[r * c + j] * xhat[j];
            db[j] += dy[r * c + j];
        }
    }
    (dx, dw, db)
}

/// The channel of element `i` of a batch of samples `[C, P]` (`[N, C, P]` row-major: `P`
/// positions per channel, 1 for `[N, C]`).
pub fn chan(i: usize, c: usize, p: usize) -> usize {
    i / p % c
}

/// The index of the first value of element `i`'s channel, `x[0][chan][0]`: the pivot of the
/// kernel's statistics.
pub fn chan_pivot(i: usize, c: usize, p: usize) -> usize {
    chan(i, c, p) * p
}

/// Per-channel batch statistics of `[N, C]` in f64: `(mean, biased var, unbiased var)`.
pub fn bn_moments(x: &[f64], c: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    bn_moments_p(x, c, 1)
}

/// Per-channel batch statistics of `[N, C, P]` in f64 over the `N·P` values of each channel:
/// `(mean, biased var ÷N·P, unbiased var ÷(N·P − 1))`.
pub fn bn_moments_p(x: &[f64], c: usize, p: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let count = (x.len() / c) as f64; // N·P
    let mut mean = vec![0.0; c];
    for (i, v) in x.iter().enumerate() {
        mean[chan(i, c, p)] += v;
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let mut q = vec![0.0; c];
    for (i, v) in x.iter().enumerate() {
        let j = chan(i, c, p);
        q[j] += (v - mean[j]).powi(2);
    }
    let var = q.iter().map(|q| q / count).collect();
    let unbiased = q.iter().map(|q| q / (count - 1.0)).collect();
    (mean, var, unbiased)
}

/// Batch norm forward of `[N, C]` in f64 with the given per-channel statistics.
pub fn bn_apply(
    x: &[f64],
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    mean: &[f64],
    var: &[f64],
    c: usize,
    eps: f64,
) -> Vec<f64> {
    bn_apply_p(x, w, b, mean, var, c, 1, eps)
}

/// Batch norm forward of `[N, C, P]` in f64 with the given per-channel statistics.
#[allow(clippy::too_many_arguments)]
pub fn bn_apply_p(
    x: &[f64],
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    mean: &[f64],
    var: &[f64],
    c: usize,
    p: usize,
    eps: f64,
) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            let j = chan(i, c, p);
            (v - mean[j]) / (var[j] + eps).sqrt() * w.map_or(1.0, |w| w[j])
                + b.map_or(0.0, |b| b[j])
        })
        .collect()
}

/// Batch norm training forward of `[N, C]` in f64 (batch statistics).
pub fn bn_train_ref(
    x: &[f64],
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    c: usize,
    eps: f64,
) -> Vec<f64> {
    bn_train_ref_p(x, w, b, c, 1, eps)
}

/// Batch norm training forward of `[N, C, P]` in f64 (batch statistics).
pub fn bn_train_ref_p(
    x: &[f64],
    w: Option<&[f64]>,
    b: Option<&[f64]>,
    c: usize,
    p: usize,
    eps: f64,
) -> Vec<f64> {
    let (mean, var, _) = bn_moments_p(x, c, p);
    bn_apply_p(x, w, b, &mean, &var, c, p, eps)
}

/// Batch norm training backward of `[N, C]` in f64 by the closed form: `(dx, dweight, dbias)`.
pub fn bn_backward_ref(
    x: &[f64],
    w: Option<&[f64]>,
    dy: &[f64],
    c: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    bn_backward_ref_p(x, w, dy, c, 1, eps)
}

/// Batch norm training backward of `[N, C, P]` in f64 by the closed form, with the sums and
/// means over the `N·P` values of each channel: `(dx, dweight, dbias)`.
pub fn bn_backward_ref_p(
    x: &[f64],
    w: Option<&[f64]>,
    dy: &[f64],
    c: usize,
    p: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let count = (x.len() / c) as f64;
    let (mean, var, _) = bn_moments_p(x, c, p);
    let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let xhat: Vec<f64> = (0..x.len())
        .map(|i| (x[i] - mean[chan(i, c, p)]) * rstd[chan(i, c, p)])
        .collect();
    let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
    for i in 0..x.len() {
        let j = chan(i, c, p);
        dw[j] += dy[i] * xhat[i];
        db[j] += dy[i];
    }
    let dx = (0..x.len())
        .map(|i| {
            let j = chan(i, c, p);
            let wj = w.map_or(1.0, |w| w[j]);
            rstd[j] * wj * (dy[i] - db[j] / count - xhat[i] * dw[j] / count)
        })
        .collect();
    (dx, dw, db)
}

/// The magnitude of the terms behind `dxᵢ = rstd·(gᵢ − mean(g) − x̂ᵢ·mean(g·x̂))`:
/// `rstd·max|g|·(2 + |x̂ᵢ| + 2·|x̂_pivot|)` (see [`xhat_scale`]), with the maximum over the reduced set (the row for layer norm,
/// the channel for batch norm). `dx` itself may be far smaller (two rows, or two columns,
/// normalise to ±1 and leave almost nothing), so its rounding error scales with these terms.
pub fn dx_scale(
    xhat: &[f64],
    g: &[f64],
    rstd: &[f64],
    group: impl Fn(usize) -> usize,
    pivot: impl Fn(usize) -> usize,
) -> Vec<f64> {
    let groups = rstd.len();
    let mut gmax = vec![0.0f64; groups];
    for (i, v) in g.iter().enumerate() {
        gmax[group(i)] = gmax[group(i)].max(v.abs());
    }
    let xs = xhat_scale(xhat, pivot);
    (0..xhat.len())
        .map(|i| rstd[group(i)] * gmax[group(i)] * (2.0 + xs[i]))
        .collect()
}

/// [`dx_scale`] for layer norm.
pub fn ln_dx_scale(x: &[f64], w: Option<&[f64]>, dy: &[f64], c: usize, eps: f64) -> Vec<f64> {
    let (_, means, rstds) = ln_ref(x, None, None, c, eps);
    let xhat: Vec<f64> = (0..x.len())
        .map(|i| (x[i] - means[i / c]) * rstds[i / c])
        .collect();
    let g: Vec<f64> = (0..x.len())
        .map(|i| dy[i] * w.map_or(1.0, |w| w[i % c]))
        .collect();
    dx_scale(&xhat, &g, &rstds, |i| i / c, |i| i / c * c)
}

/// [`dx_scale`] for batch norm of `[N, C]` in training.
pub fn bn_dx_scale(x: &[f64], w: Option<&[f64]>, dy: &[f64], c: usize, eps: f64) -> Vec<f64> {
    bn_dx_scale_p(x, w, dy, c, 1, eps)
}

/// [`dx_scale`] for batch norm of `[N, C, P]` in training.
pub fn bn_dx_scale_p(
    x: &[f64],
    w: Option<&[f64]>,
    dy: &[f64],
    c: usize,
    p: usize,
    eps: f64,
) -> Vec<f64> {
    let (mean, var, _) = bn_moments_p(x, c, p);
    let rstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let xhat = bn_xhat_p(x, &mean, &var, c, p, eps);
    let g: Vec<f64> = (0..x.len())
        .map(|i| dy[i] * w.map_or(1.0, |w| w[chan(i, c, p)]))
        .collect();
    dx_scale(&xhat, &g, &rstd, |i| chan(i, c, p), |i| chan_pivot(i, c, p))
}

/// The scale of the rounding error of each `x̂ᵢ = ((xᵢ − pivot) − δ)·rstd` as the kernels
/// compute it: `|x̂ᵢ| + 2·|x̂_pivot|` (the subtraction errs relative to `|xᵢ − pivot| + |δ|`, and
/// `|δ|·rstd = |x̂_pivot|`). `pivot(i)` is the index of element i's pivot.
pub fn xhat_scale(xhat: &[f64], pivot: impl Fn(usize) -> usize) -> Vec<f64> {
    (0..xhat.len())
        .map(|i| xhat[i].abs() + 2.0 * xhat[pivot(i)].abs())
        .collect()
}

/// The scales of `dweight = Σ dy·x̂` and `dbias = Σ dy` per column:
/// `(Σ|dy|·xhat_scale, Σ|dy|)`; the sums may cancel far below their terms.
pub fn param_scales(xscale: &[f64], dy: &[f64], c: usize) -> (Vec<f64>, Vec<f64>) {
    param_scales_p(xscale, dy, c, 1)
}

/// [`param_scales`] per channel of `[N, C, P]`.
pub fn param_scales_p(xscale: &[f64], dy: &[f64], c: usize, p: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut sw, mut sb) = (vec![0.0; c], vec![0.0; c]);
    for (i, (xs, d)) in xscale.iter().zip(dy).enumerate() {
        sw[chan(i, c, p)] += xs * d.abs();
        sb[chan(i, c, p)] += d.abs();
    }
    (sw, sb)
}

/// `x̂` of layer norm in f64.
pub fn ln_xhat(x: &[f64], c: usize, eps: f64) -> Vec<f64> {
    let (_, means, rstds) = ln_ref(x, None, None, c, eps);
    (0..x.len())
        .map(|i| (x[i] - means[i / c]) * rstds[i / c])
        .collect()
}

/// `x̂` of batch norm of `[N, C]` in f64, with the given statistics.
pub fn bn_xhat(x: &[f64], mean: &[f64], var: &[f64], c: usize, eps: f64) -> Vec<f64> {
    bn_xhat_p(x, mean, var, c, 1, eps)
}

/// `x̂` of batch norm of `[N, C, P]` in f64, with the given statistics.
pub fn bn_xhat_p(x: &[f64], mean: &[f64], var: &[f64], c: usize, p: usize, eps: f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let j = chan(i, c, p);
            (x[i] - mean[j]) / (var[j] + eps).sqrt()
        })
        .collect()
}

/// The eval-mode backward of `[N, C]` in f64 with fixed statistics: `(dx, dweight, dbias)`.
pub fn bn_eval_backward_ref(
    x: &[f64],
    w: Option<&[f64]>,
    rm: &[f64],
    rv: &[f64],
    dy: &[f64],
    c: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    bn_eval_backward_ref_p(x, w, rm, rv, dy, c, 1, eps)
}

/// The eval-mode backward of `[N, C, P]` in f64 with fixed statistics: `(dx, dweight, dbias)`.
#[allow(clippy::too_many_arguments)]
pub fn bn_eval_backward_ref_p(
    x: &[f64],
    w: Option<&[f64]>,
    rm: &[f64],
    rv: &[f64],
    dy: &[f64],
    c: usize,
    p: usize,
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; x.len()];
    let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
    for (i, (&xv, &d)) in x.iter().zip(dy).enumerate() {
        let j = chan(i, c, p);
        let rstd = 1.0 / (rv[j] + eps).sqrt();
        dx[i] = d * w.map_or(1.0, |w| w[j]) * rstd;
        dw[j] += d * (xv - rm[j]) * rstd;
        db[j] += d;
    }
    (dx, dw, db)
}
