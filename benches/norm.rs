//! Normalisation beside plain scalar loops: layer norm forward (training) + backward at
//! `[64, 256]` and `[256, 784]`, batch norm forward (training) + backward at `[64, 256]`
//! (`BatchNorm1d`) and at `[32, 16, 8, 8]` (`BatchNorm2d`).
//!
//! ```text
//! cargo bench --bench norm
//! cargo bench --bench norm -- batch_norm
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::norm::{BatchNorm, LayerNorm};
use std::hint::black_box;
use std::time::Duration;

fn data(n: usize, seed: u32, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            lo + (hi - lo) * ((s >> 8) as f32 / (1u32 << 24) as f32)
        })
        .collect()
}

/// The textbook layer norm: two-pass mean and variance per row, then `y`; saves mean, rstd.
fn scalar_ln_forward(x: &[f32], w: &[f32], b: &[f32], c: usize, y: &mut [f32], st: &mut [f32]) {
    let rows = x.len() / c;
    let (means, rstds) = st.split_at_mut(rows);
    for (((xr, yr), m), r) in x
        .chunks_exact(c)
        .zip(y.chunks_exact_mut(c))
        .zip(means)
        .zip(rstds)
    {
        let mean = xr.iter().sum::<f32>() / c as f32;
        let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / c as f32;
        let rstd = 1.0 / (var + 1e-5).sqrt();
        for (((yv, xv), wv), bv) in yr.iter_mut().zip(xr).zip(w).zip(b) {
            *yv = (xv - mean) * rstd * wv + bv;
        }
        *m = mean;
        *r = rstd;
    }
}

/// The textbook layer-norm backward from the saved mean and rstd.
#[allow(clippy::too_many_arguments)]
fn scalar_ln_backward(
    x: &[f32],
    w: &[f32],
    st: &[f32],
    dy: &[f32],
    c: usize,
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
) {
    let rows = x.len() / c;
    let (means, rstds) = st.split_at(rows);
    for ((((xr, dyr), dxr), &m), &r) in x
        .chunks_exact(c)
        .zip(dy.chunks_exact(c))
        .zip(dx.chunks_exact_mut(c))
        .zip(means)
        .zip(rstds)
    {
        let (mut sg, mut sgx) = (0.0f32, 0.0f32);
        for j in 0..c {
            let xhat = (xr[j] - m) * r;
            let g = dyr[j] * w[j];
            sg += g;
            sgx += g * xhat;
            dw[j] += dyr[j] * xhat;
            db[j] += dyr[j];
        }
        let (mg, mgx) = (sg / c as f32, sgx / c as f32);
        for j in 0..c {
            let xhat = (xr[j] - m) * r;
            dxr[j] = r * (dyr[j] * w[j] - mg - xhat * mgx);
        }
    }
}

/// The textbook batch norm (training) forward and backward, channel by channel.
#[allow(clippy::too_many_arguments)]
fn scalar_bn(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    dy: &[f32],
    c: usize,
    y: &mut [f32],
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    rm: &mut [f32],
    rv: &mut [f32],
) {
    let n = x.len() / c;
    for j in 0..c {
        let mean = (0..n).map(|i| x[i * c + j]).sum::<f32>() / n as f32;
        let q = (0..n)
            .map(|i| (x[i * c + j] - mean) * (x[i * c + j] - mean))
            .sum::<f32>();
        let rstd = 1.0 / (q / n as f32 + 1e-5).sqrt();
        rm[j] = 0.9 * rm[j] + 0.1 * mean;
        rv[j] = 0.9 * rv[j] + 0.1 * q / (n - 1) as f32;
        let (mut a, mut bs) = (0.0f32, 0.0f32);
        for i in 0..n {
            let xhat = (x[i * c + j] - mean) * rstd;
            y[i * c + j] = xhat * w[j] + b[j];
            a += dy[i * c + j];
            bs += dy[i * c + j] * xhat;
        }
        dw[j] += bs;
        db[j] += a;
        for i in 0..n {
            let xhat = (x[i * c + j] - mean) * rstd;
            dx[i * c + j] = rstd * w[j] * (dy[i * c + j] - a / n as f32 - xhat * bs / n as f32);
        }
    }
}

/// The textbook batch norm (training) of `[N, C, P]` forward and backward, channel by channel
/// over its `N·P` values.
#[allow(clippy::too_many_arguments)]
fn scalar_bn_positions(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    dy: &[f32],
    (c, p): (usize, usize),
    y: &mut [f32],
    dx: &mut [f32],
    dw: &mut [f32],
    db: &mut [f32],
    rm: &mut [f32],
    rv: &mut [f32],
) {
    let n = x.len() / (c * p);
    let count = (n * p) as f32;
    let at = |i: usize, j: usize, k: usize| (i * c + j) * p + k;
    for j in 0..c {
        let mut sum = 0.0f32;
        for i in 0..n {
            for k in 0..p {
                sum += x[at(i, j, k)];
            }
        }
        let mean = sum / count;
        let mut q = 0.0f32;
        for i in 0..n {
            for k in 0..p {
                let d = x[at(i, j, k)] - mean;
                q += d * d;
            }
        }
        let rstd = 1.0 / (q / count + 1e-5).sqrt();
        rm[j] = 0.9 * rm[j] + 0.1 * mean;
        rv[j] = 0.9 * rv[j] + 0.1 * q / (count - 1.0);
        let (mut a, mut bs) = (0.0f32, 0.0f32);
        for i in 0..n {
            for k in 0..p {
                let xhat = (x[at(i, j, k)] - mean) * rstd;
                y[at(i, j, k)] = xhat * w[j] + b[j];
                a += dy[at(i, j, k)];
                bs += dy[at(i, j, k)] * xhat;
            }
        }
        dw[j] += bs;
        db[j] += a;
        for i in 0..n {
            for k in 0..p {
                let xhat = (x[at(i, j, k)] - mean) * rstd;
                dx[at(i, j, k)] = rstd * w[j] * (dy[at(i, j, k)] - a / count - xhat * bs / count);
            }
        }
    }
}

fn layer_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("layer_norm_fwd_bwd");
    for (rows, cols) in [(64usize, 256usize), (256, 784)] {
        let n = rows * cols;
        let x = data(n, 1, -2.0, 2.0);
        let dy = data(n, 2, -1.0, 1.0);
        let w = data(cols, 3, 0.5, 1.5);
        let b = data(cols, 4, -0.5, 0.5);
        let (mut y, mut dx) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (mut dw, mut db) = (vec![0.0f32; cols], vec![0.0f32; cols]);
        let ln = LayerNorm::new(cols);
        let input = Shape::Features(cols);
        let mut stats = vec![0.0f32; ln.saved_len(input, rows)];
        group.throughput(Throughput::Elements(n as u64));
        let id = format!("{rows}x{cols}");
        group.bench_function(BenchmarkId::new("descent", &id), |bench| {
            bench.iter(|| {
                let params = Params::new(&w, &b);
                let mode = Mode::train(&mut stats);
                ln.forward(input, mode, params, black_box(&x), &mut y)
                    .unwrap();
                let tape = Tape::train(black_box(&x), &y, &stats);
                let grads = Grads::new(&mut dw, &mut db);
                ln.backward(input, params, tape, black_box(&dy), Some(&mut dx), grads)
                    .unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("scalar", &id), |bench| {
            bench.iter(|| {
                scalar_ln_forward(black_box(&x), &w, &b, cols, &mut y, &mut stats);
                scalar_ln_backward(
                    black_box(&x),
                    &w,
                    &stats,
                    black_box(&dy),
                    cols,
                    &mut dx,
                    &mut dw,
                    &mut db,
                );
            })
        });
    }
    group.finish();
}

fn batch_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_norm_fwd_bwd");
    let (rows, cols) = (64usize, 256usize);
    let n = rows * cols;
    let x = data(n, 5, -2.0, 2.0);
    let dy = data(n, 6, -1.0, 1.0);
    let w = data(cols, 7, 0.5, 1.5);
    let b = data(cols, 8, -0.5, 0.5);
    let (mut y, mut dx) = (vec![0.0f32; n], vec![0.0f32; n]);
    let (mut dw, mut db) = (vec![0.0f32; cols], vec![0.0f32; cols]);
    let (mut rm, mut rv) = (vec![0.0f32; cols], vec![1.0f32; cols]);
    let bn = BatchNorm::new(cols);
    let input = Shape::Features(cols);
    // running_mean, running_var, num_batches_tracked
    let mut buffers = [&rm[..], &rv[..], &[0.0]].concat();
    let mut stats = vec![0.0f32; bn.saved_len(input, rows)];
    group.throughput(Throughput::Elements(n as u64));
    let id = format!("{rows}x{cols}");
    group.bench_function(BenchmarkId::new("descent", &id), |bench| {
        bench.iter(|| {
            let params = Params::new(&w, &b);
            let mode = Mode::Train {
                buffers: &mut buffers,
                saved: &mut stats,
                rng: None,
            };
            bn.forward(input, mode, params, black_box(&x), &mut y)
                .unwrap();
            let tape = Tape::train(black_box(&x), &y, &stats);
            let grads = Grads::new(&mut dw, &mut db);
            bn.backward(input, params, tape, black_box(&dy), Some(&mut dx), grads)
                .unwrap();
        })
    });
    group.bench_function(BenchmarkId::new("scalar", &id), |bench| {
        bench.iter(|| {
            scalar_bn(
                black_box(&x),
                &w,
                &b,
                black_box(&dy),
                cols,
                &mut y,
                &mut dx,
                &mut dw,
                &mut db,
                &mut rm,
                &mut rv,
            )
        })
    });
    group.finish();
}

fn batch_norm2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_norm2d_fwd_bwd");
    let (batch, channels, h, w_) = (32usize, 16usize, 8usize, 8usize);
    let input = Shape::Image {
        channels,
        height: h,
        width: w_,
    };
    let n = batch * input.len();
    let x = data(n, 9, -2.0, 2.0);
    let dy = data(n, 10, -1.0, 1.0);
    let w = data(channels, 11, 0.5, 1.5);
    let b = data(channels, 12, -0.5, 0.5);
    let (mut y, mut dx) = (vec![0.0f32; n], vec![0.0f32; n]);
    let (mut dw, mut db) = (vec![0.0f32; channels], vec![0.0f32; channels]);
    let (mut rm, mut rv) = (vec![0.0f32; channels], vec![1.0f32; channels]);
    let bn = BatchNorm::new(channels);
    let mut buffers = [&rm[..], &rv[..], &[0.0]].concat();
    let mut stats = vec![0.0f32; bn.saved_len(input, batch)];
    group.throughput(Throughput::Elements(n as u64));
    let id = format!("{batch}x{channels}x{h}x{w_}");
    group.bench_function(BenchmarkId::new("descent", &id), |bench| {
        bench.iter(|| {
            let params = Params::new(&w, &b);
            let mode = Mode::Train {
                buffers: &mut buffers,
                saved: &mut stats,
                rng: None,
            };
            bn.forward(input, mode, params, black_box(&x), &mut y)
                .unwrap();
            let tape = Tape::train(black_box(&x), &y, &stats);
            let grads = Grads::new(&mut dw, &mut db);
            bn.backward(input, params, tape, black_box(&dy), Some(&mut dx), grads)
                .unwrap();
        })
    });
    group.bench_function(BenchmarkId::new("scalar", &id), |bench| {
        bench.iter(|| {
            scalar_bn_positions(
                black_box(&x),
                &w,
                &b,
                black_box(&dy),
                (channels, h * w_),
                &mut y,
                &mut dx,
                &mut dw,
                &mut db,
                &mut rm,
                &mut rv,
            )
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = layer_norm, batch_norm, batch_norm2d
}
criterion_main!(benches);
