//! `descent::simd::math` over eight-float lanes against a scalar `libm` loop, on the same
//! inputs in the same run: 4096 floats per iteration, each function in its own group with
//! `simd` and `libm` side by side (criterion's `estimates.json` under `target/criterion/`
//! holds the medians).
//!
//! A default x86_64 build has only SSE2, where `f32x8` is two SSE registers and `mul_add` is
//! a multiply and an add; `RUSTFLAGS="-C target-cpu=native" cargo bench --bench math` measures
//! the AVX2+FMA code.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use descent::simd::{f32x8, math};

const N: usize = 4096;

/// `N` floats spread over `[lo, hi]` (log-spaced when `log`), in a scrambled order so that
/// neighbouring lanes take different paths.
fn inputs(lo: f32, hi: f32, log: bool) -> Vec<f32> {
    let mut s = 0x2545_F491u32;
    (0..N)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = (s >> 8) as f32 / (1u32 << 24) as f32;
            if log {
                lo * (hi / lo).powf(t)
            } else {
                lo + (hi - lo) * t
            }
        })
        .collect()
}

/// `y = f(x)` eight lanes at a time (`N` is a multiple of 8); `f` is inlined as in the crate's
/// own kernels.
#[inline(always)]
fn simd_map(x: &[f32], y: &mut [f32], f: impl Fn(f32x8) -> f32x8) {
    let (xc, _) = x.as_chunks::<8>();
    let (yc, _) = y.as_chunks_mut::<8>();
    for (xa, ya) in xc.iter().zip(yc.iter_mut()) {
        *ya = f(f32x8::new(*xa)).to_array();
    }
}

/// `y = f(x)` one float at a time.
#[inline(always)]
fn scalar_map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    for (xv, yv) in x.iter().zip(y.iter_mut()) {
        *yv = f(*xv);
    }
}

/// One group per function: the vector code and the scalar `libm` loop on the same inputs.
macro_rules! compare {
    ($c:expr, $name:literal, $simd:path, $libm:path, $x:expr) => {{
        let x: Vec<f32> = $x;
        let mut y = vec![0.0f32; N];
        let mut g = $c.benchmark_group($name);
        g.throughput(Throughput::Elements(N as u64));
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(1));
        g.bench_function("simd", |b| {
            b.iter(|| simd_map(black_box(&x), black_box(&mut y), $simd))
        });
        g.bench_function("libm", |b| {
            b.iter(|| scalar_map(black_box(&x), black_box(&mut y), $libm))
        });
        g.finish();
    }};
}

fn bench(c: &mut Criterion) {
    compare!(c, "exp", math::exp, libm::expf, inputs(-20.0, 20.0, false));
    compare!(
        c,
        "expm1",
        math::expm1,
        libm::expm1f,
        inputs(-5.0, 5.0, false)
    );
    compare!(c, "ln", math::ln, libm::logf, inputs(1e-4, 1e4, true));
    compare!(
        c,
        "ln_1p",
        math::ln_1p,
        libm::log1pf,
        inputs(-0.9, 10.0, false)
    );
    compare!(c, "tanh", math::tanh, libm::tanhf, inputs(-5.0, 5.0, false));
    compare!(c, "erf", math::erf, libm::erff, inputs(-4.0, 4.0, false));
}

criterion_group!(benches, bench);
criterion_main!(benches);
