//! Global average pooling beside a plain scalar loop: the mean of each of `32·64` planes of
//! 8 × 8 (64 positions, a small CNN's last feature map) and 14 × 14 (196), forward only (the
//! backward is a fill).
//!
//! ```text
//! cargo bench --bench pool
//! ```
//!
//! Medians are in `target/criterion/global_avg_pool/*/new/estimates.json`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::layer::{Layer, Mode, Params, Shape};
use descent::pool::GlobalAvgPool2d;
use std::hint::black_box;
use std::time::Duration;

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// The plain loop: each plane summed left to right in `f32`, then divided.
fn scalar_means(x: &[f32], n: usize, y: &mut [f32]) {
    for (p, v) in x.chunks_exact(n).zip(y.iter_mut()) {
        *v = p.iter().sum::<f32>() / n as f32;
    }
}

fn global_avg_pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("global_avg_pool");
    let (batch, channels) = (32usize, 64usize);
    for side in [8usize, 14] {
        let n = side * side;
        let x = data(batch * channels * n, 3);
        let mut y = vec![0.0f32; batch * channels];
        let input = Shape::Image {
            channels,
            height: side,
            width: side,
        };
        group.throughput(Throughput::Elements(x.len() as u64));
        let id = format!("{batch}x{channels}x{side}x{side}");
        group.bench_function(BenchmarkId::new("descent", &id), |bench| {
            bench.iter(|| {
                GlobalAvgPool2d
                    .forward(input, Mode::EVAL, Params::NONE, black_box(&x), &mut y)
                    .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("scalar", &id), |bench| {
            bench.iter(|| scalar_means(black_box(&x), n, &mut y))
        });
    }
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
    targets = global_avg_pool
}
criterion_main!(benches);
