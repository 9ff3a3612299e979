//! Regularisation beside plain scalar loops: `clip_grad_norm` (L2, n = 4096 in four slices and
//! n = 1 000 000 in four slices) and `magnitude_mask` (n = 100 000, half pruned) against a
//! sort-based mask.
//!
//! ```text
//! cargo bench --bench regularize
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::regularize::{self, Amount, NormType};
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

/// The textbook `clip_grad_norm_`: per-slice `Σ g²` in one f32 accumulator, the norm of the
/// norms, the coefficient, and a multiply of every element.
fn scalar_clip_grad_norm(grads: &mut [Vec<f32>], max_norm: f32) -> f32 {
    let mut total_sq = 0.0f32;
    for g in grads.iter() {
        let mut s = 0.0f32;
        for x in g {
            s += x * x;
        }
        total_sq += s; // (√s)² : the norm of the per-slice norms
    }
    let total = total_sq.sqrt();
    let coef = (max_norm / (total + 1e-6)).min(1.0);
    for g in grads.iter_mut() {
        for x in g.iter_mut() {
            *x *= coef;
        }
    }
    total
}

/// The textbook mask: sort a copy of the magnitudes, take the k-th as the threshold, and
/// prune what lies at or below it (ties are not handled; the data have none).
fn scalar_magnitude_mask(w: &[f32], k: usize, mask: &mut [f32], sorted: &mut [f32]) {
    for (s, x) in sorted.iter_mut().zip(w) {
        *s = x.abs();
    }
    sorted.sort_unstable_by(f32::total_cmp);
    let threshold = sorted[k - 1];
    for (m, x) in mask.iter_mut().zip(w) {
        *m = if x.abs() <= threshold { 0.0 } else { 1.0 };
    }
}

fn clip_grad_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("clip_grad_norm");
    let layouts: [&[usize]; 2] = [&[1024, 2048, 512, 512], &[600_000, 300_000, 99_000, 1_000]];
    for lens in layouts {
        let n: usize = lens.iter().sum();
        let mut grads: Vec<Vec<f32>> = lens
            .iter()
            .enumerate()
            .map(|(i, &len)| data(len, i as u32 + 1, -1.0, 1.0))
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("descent", n), |bench| {
            let mut views: Vec<&mut [f32]> = grads.iter_mut().map(Vec::as_mut_slice).collect();
            bench.iter(|| {
                regularize::clip_grad_norm(black_box(&mut views), 1.0, NormType::L2).unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("scalar", n), |bench| {
            bench.iter(|| scalar_clip_grad_norm(black_box(&mut grads), 1.0))
        });
    }
    group.finish();
}

fn magnitude_mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("magnitude_mask");
    let n = 100_000;
    let w = data(n, 7, -1.0, 1.0);
    let mut mask = vec![0.0f32; n];
    let mut scratch = vec![0.0f32; regularize::prune_scratch_len(n)];
    let k = n / 2;
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new("descent", n), |bench| {
        bench.iter(|| {
            regularize::magnitude_mask(black_box(&w), Amount::Count(k), &mut mask, &mut scratch)
                .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("scalar_sort", n), |bench| {
        bench.iter(|| scalar_magnitude_mask(black_box(&w), k, &mut mask, &mut scratch))
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
    targets = clip_grad_norm, magnitude_mask
}
criterion_main!(benches);
