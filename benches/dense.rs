//! Dense layer forward and backward beside `matrixmultiply::sgemm` computing the same products.
//!
//! For each shape (batch, in, out):
//! * `forward/…`: `y = x·Wᵀ` — ours ([`Dense::forward`], detected and portable instruction
//!   sets) and `sgemm` with the strides of `Wᵀ`;
//! * `backward/…`: `dW += dyᵀ·x` and `dx = dy·W` — ours ([`Dense::backward`] without bias)
//!   and two `sgemm` calls.
//!
//! Throughput is reported in floating-point operations (`2·batch·in·out` per product), so
//! criterion's `elem/s` reads as FLOP/s. `fma_peak` measures one core's FMA throughput (ten
//! independent 8-lane chains) as the machine's ceiling.
//!
//! ```text
//! cargo bench --bench dense
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use descent::dense::Dense;
use descent::gemm::Isa;

const SHAPES: [(usize, usize, usize); 7] = [
    (1, 784, 128),
    (32, 784, 128),
    (64, 256, 256),
    (32, 128, 10),
    (16, 16, 16),
    (8, 4, 8),
    (512, 512, 512),
];

/// Deterministic data in [-1, 1).
fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `C[m, n] (= | +=) A·B` with matrixmultiply and explicit strides (`beta` 0 or 1).
#[allow(clippy::too_many_arguments)]
fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
) {
    // The strides describe matrices inside the slices (checked by these asserts).
    assert!(a.len() > (m - 1) * rsa + (k - 1) * csa);
    assert!(b.len() > (k - 1) * rsb + (n - 1) * csb);
    assert_eq!(c.len(), m * n);
    // SAFETY: every element addressed by the strides is inside `a`, `b` and `c` (asserted
    // above); `c` has unit column stride and row stride `n`, so its elements do not alias.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn dense(c: &mut Criterion) {
    for (batch, inp, out) in SHAPES {
        let x = data(batch * inp, 1);
        let w = data(out * inp, 2);
        let dy = data(batch * out, 3);
        let mut y = vec![0.0; batch * out];
        let mut dw = vec![0.0; out * inp];
        let mut dx = vec![0.0; batch * inp];
        let flops = 2 * batch * inp * out;
        let isas = [
            ("descent", Isa::detect()),
            ("descent-portable", Isa::Portable),
        ];
        // Long enough for a few hundred calls of the largest shape, short for the whole run.
        let time = Duration::from_millis(if batch * inp * out > 10_000_000 {
            1500
        } else {
            800
        });

        let mut g = c.benchmark_group(format!("forward/{batch}x{inp}x{out}"));
        g.throughput(Throughput::Elements(flops as u64))
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(time)
            .sample_size(30);
        for (name, isa) in isas {
            let layer = Dense::new(batch, inp, out).with_isa(isa);
            g.bench_function(name, |bench| {
                bench.iter(|| {
                    layer
                        .forward(black_box(&x), black_box(&w), None, black_box(&mut y))
                        .unwrap()
                })
            });
        }
        g.bench_function("matrixmultiply", |bench| {
            // y[batch, out] = x[batch, in] · Wᵀ, with Wᵀ(p, j) = w[j·in + p].
            bench.iter(|| {
                sgemm(
                    batch,
                    inp,
                    out,
                    black_box(&x),
                    (inp, 1),
                    black_box(&w),
                    (1, inp),
                    0.0,
                    black_box(&mut y),
                )
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("backward/{batch}x{inp}x{out}"));
        g.throughput(Throughput::Elements(2 * flops as u64))
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(time)
            .sample_size(30);
        for (name, isa) in isas {
            let layer = Dense::new(batch, inp, out).with_isa(isa);
            g.bench_function(name, |bench| {
                bench.iter(|| {
                    layer
                        .backward(
                            black_box(&x),
                            black_box(&w),
                            black_box(&dy),
                            black_box(&mut dw),
                            None,
                            Some(black_box(&mut dx)),
                        )
                        .unwrap()
                })
            });
        }
        g.bench_function("matrixmultiply", |bench| {
            bench.iter(|| {
                // dW[out, in] += dyᵀ · x, with dyᵀ(i, p) = dy[p·out + i].
                sgemm(
                    out,
                    batch,
                    inp,
                    black_box(&dy),
                    (1, out),
                    black_box(&x),
                    (inp, 1),
                    1.0,
                    black_box(&mut dw),
                );
                // dx[batch, in] = dy · W.
                sgemm(
                    batch,
                    out,
                    inp,
                    black_box(&dy),
                    (out, 1),
                    black_box(&w),
                    (inp, 1),
                    0.0,
                    black_box(&mut dx),
                );
            })
        });
        g.finish();
    }
}

/// Ten independent FMA chains of eight lanes: the core's FMA throughput, the ceiling of any
/// f32 matrix product on it.
#[cfg(target_arch = "x86_64")]
fn fma_peak(c: &mut Criterion) {
    use std::arch::x86_64::*;

    const STEPS: usize = 10_000;

    #[target_feature(enable = "avx2,fma")]
    fn chains(x: f32) -> f32 {
        let mut acc = [_mm256_set1_ps(x); 10];
        let m = _mm256_set1_ps(0.999_999);
        let a = _mm256_set1_ps(1e-7);
        for _ in 0..STEPS {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, m, a);
            }
        }
        let mut s = _mm256_setzero_ps();
        for v in acc {
            s = _mm256_add_ps(s, v);
        }
        let mut out = [0.0f32; 8];
        // SAFETY: `out` holds eight floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
        out.iter().sum()
    }

    if !Isa::Avx2Fma.is_available() {
        return;
    }
    let mut g = c.benchmark_group("fma_peak");
    g.throughput(Throughput::Elements((STEPS * 10 * 8 * 2) as u64))
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(20);
    g.bench_function("avx2-fma", |bench| {
        bench.iter(|| {
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            unsafe { chains(black_box(1.0)) }
        })
    });
    g.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_peak(_: &mut Criterion) {}

criterion_group!(benches, fma_peak, dense);
criterion_main!(benches);
