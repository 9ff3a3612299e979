//! Losses beside plain scalar loops: cross-entropy (B = 64, C = 10 and B = 256, C = 1000)
//! and MSE (n = 4096), value and gradient.
//!
//! ```text
//! cargo bench --bench loss
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::loss::{self, Reduction};
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

/// The textbook loop: max, Σ e^{x−m}, ln, then the gradient `(softmax − onehot)/B`.
fn scalar_cross_entropy(logits: &[f32], target: &[usize], c: usize, grad: &mut [f32]) -> f32 {
    let b = target.len();
    let inv_b = 1.0 / b as f32;
    let mut total = 0.0f32;
    for ((row, &y), g) in logits
        .chunks_exact(c)
        .zip(target)
        .zip(grad.chunks_exact_mut(c))
    {
        let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut s = 0.0f32;
        for (gi, &x) in g.iter_mut().zip(row) {
            let e = (x - m).exp();
            *gi = e;
            s += e;
        }
        total += s.ln() - (row[y] - m);
        let inv_s = 1.0 / s;
        for gi in g.iter_mut() {
            *gi *= inv_s * inv_b;
        }
        g[y] -= inv_b;
    }
    total * inv_b
}

fn scalar_mse(x: &[f32], t: &[f32], grad: &mut [f32]) -> f32 {
    let k = 2.0 / x.len() as f32;
    let mut total = 0.0f32;
    for ((g, &xi), &ti) in grad.iter_mut().zip(x).zip(t) {
        let d = xi - ti;
        total += d * d;
        *g = k * d;
    }
    total / x.len() as f32
}

fn cross_entropy(c: &mut Criterion) {
    let mut group = c.benchmark_group("cross_entropy");
    for (b, classes) in [(64usize, 10usize), (256, 1000)] {
        let n = b * classes;
        let logits = data(n, 1, -6.0, 6.0);
        let target: Vec<usize> = (0..b).map(|i| (i * 7919) % classes).collect();
        let mut grad = vec![0.0f32; n];
        group.throughput(Throughput::Elements(n as u64));
        let id = format!("B{b}xC{classes}");
        group.bench_function(BenchmarkId::new("descent", &id), |bench| {
            bench.iter(|| {
                loss::cross_entropy(
                    black_box(&logits),
                    black_box(&target),
                    classes,
                    0.0,
                    Some(&mut grad),
                    Reduction::Mean,
                )
                .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("descent_loss_only", &id), |bench| {
            bench.iter(|| {
                loss::cross_entropy(
                    black_box(&logits),
                    black_box(&target),
                    classes,
                    0.0,
                    None,
                    Reduction::Mean,
                )
                .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("scalar", &id), |bench| {
            bench.iter(|| {
                scalar_cross_entropy(black_box(&logits), black_box(&target), classes, &mut grad)
            })
        });
    }
    group.finish();
}

fn mse(c: &mut Criterion) {
    let mut group = c.benchmark_group("mse");
    let n = 4096;
    let x = data(n, 2, -3.0, 3.0);
    let t = data(n, 3, -3.0, 3.0);
    let mut grad = vec![0.0f32; n];
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("descent", n), |bench| {
        bench.iter(|| {
            loss::mse(
                black_box(&x),
                black_box(&t),
                Some(&mut grad),
                Reduction::Mean,
            )
            .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("scalar", n), |bench| {
        bench.iter(|| scalar_mse(black_box(&x), black_box(&t), &mut grad))
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
    targets = cross_entropy, mse
}
criterion_main!(benches);
