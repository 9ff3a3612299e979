//! Dense layer forward and backward beside `matrixmultiply::sgemm` and the `gemm` crate
//! computing the same products, single-threaded.
//!
//! For each shape (batch, in, out):
//! * `forward/…`: `y = x·Wᵀ` — ours ([`Layer::forward`] of a [`Dense`] without bias, detected
//!   and portable instruction sets) and each peer with the strides of `Wᵀ`;
//! * `backward/…`: `dW += dyᵀ·x` and `dx = dy·W` — ours ([`Layer::backward`] without bias)
//!   and two calls of each peer.
//!
//! Throughput is reported in floating-point operations (`2·batch·in·out` per product), so
//! criterion's `elem/s` reads as FLOP/s. `fma_peak` measures one core's FMA throughput (ten
//! independent 8-lane chains) as the machine's ceiling; `weight_read` (reading the batch-of-one
//! weights) and `weight_update` (`dW += W` on them) are the memory ceilings of the forward and
//! backward passes at batch 1.
//!
//! ```text
//! cargo bench --bench dense
//! python3 benches/dense_table.py      # the table of docs/PERFORMANCE.md, from criterion's files
//! ```
// `unsafe` here calls the peers' C-style entry points and the FMA-peak and read-ceiling
// loops; the crate denies it outside `src/arch/` and `src/gemm/x86/`.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use descent::dense::Dense;
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::Isa;

/// The shapes of issue 6: (batch, in, out).
const SHAPES: [(usize, usize, usize); 9] = [
    (1, 784, 128),
    (32, 784, 128),
    (64, 784, 256),
    (256, 784, 256),
    (32, 128, 10),
    (64, 256, 256),
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

/// A peer library computing `C[m, n] (= | +=) A·B`.
#[derive(Clone, Copy)]
enum Peer {
    MatrixMultiply,
    Gemm,
}

impl Peer {
    const ALL: [(&'static str, Peer); 2] = [
        ("matrixmultiply", Peer::MatrixMultiply),
        ("gemm", Peer::Gemm),
    ];

    /// `C[m, n] (= | +=) A·B` (`accumulate`), `A` and `B` given by (row, column) strides,
    /// `C` row-major.
    #[allow(clippy::too_many_arguments)]
    fn product(
        self,
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        (rsa, csa): (usize, usize),
        b: &[f32],
        (rsb, csb): (usize, usize),
        accumulate: bool,
        c: &mut [f32],
    ) {
        // The strides describe matrices inside the slices (checked by these asserts).
        assert!(a.len() > (m - 1) * rsa + (k - 1) * csa);
        assert!(b.len() > (k - 1) * rsb + (n - 1) * csb);
        assert_eq!(c.len(), m * n);
        let [rsa, csa, rsb, csb, n_i] = [rsa, csa, rsb, csb, n].map(|x| x as isize);
        match self {
            // SAFETY: every element addressed by the strides is inside `a`, `b` and `c`
            // (asserted above); `c` has unit column stride and row stride `n`, so its elements
            // do not alias.
            Peer::MatrixMultiply => unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    rsb,
                    csb,
                    if accumulate { 1.0 } else { 0.0 },
                    c.as_mut_ptr(),
                    n_i,
                    1,
                )
            },
            // SAFETY: as above. `gemm` computes `dst = alpha·dst + beta·lhs·rhs`, reading
            // `dst` only when asked to; column strides come before row strides.
            Peer::Gemm => unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    1,
                    n_i,
                    accumulate,
                    a.as_ptr(),
                    csa,
                    rsa,
                    b.as_ptr(),
                    csb,
                    rsb,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                )
            },
        }
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
        // Where the detected kernels are AVX-512, the AVX2 ones run beside them.
        let mut isas = vec![
            ("descent", Isa::detect()),
            ("descent-portable", Isa::Portable),
        ];
        if Isa::detect() == Isa::Avx512F {
            isas.push(("descent-avx2", Isa::Avx2Fma));
        }
        // Long enough for a few hundred calls of the largest shape, short for the whole run.
        let time = Duration::from_millis(if batch * inp * out > 10_000_000 {
            1500
        } else {
            800
        });

        check_peers_agree(batch, inp, out, &x, &w, &dy);

        let mut g = c.benchmark_group(format!("forward/{batch}x{inp}x{out}"));
        g.throughput(Throughput::Elements(flops as u64))
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(time)
            .sample_size(30);
        for &(name, isa) in &isas {
            let layer = Dense::new(inp, out).without_bias().with_isa(isa);
            g.bench_function(name, |bench| {
                bench.iter(|| {
                    layer
                        .forward(
                            Shape::Features(inp),
                            Mode::EVAL,
                            Params::new(black_box(&w), &[]),
                            black_box(&x),
                            black_box(&mut y),
                        )
                        .unwrap()
                })
            });
        }
        for (name, peer) in Peer::ALL {
            g.bench_function(name, |bench| {
                // y[batch, out] = x[batch, in] · Wᵀ, with Wᵀ(p, j) = w[j·in + p].
                bench.iter(|| {
                    peer.product(
                        batch,
                        inp,
                        out,
                        black_box(&x),
                        (inp, 1),
                        black_box(&w),
                        (1, inp),
                        false,
                        black_box(&mut y),
                    )
                })
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("backward/{batch}x{inp}x{out}"));
        g.throughput(Throughput::Elements(2 * flops as u64))
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(time)
            .sample_size(30);
        for &(name, isa) in &isas {
            let layer = Dense::new(inp, out).without_bias().with_isa(isa);
            g.bench_function(name, |bench| {
                bench.iter(|| {
                    let grads = Grads {
                        weight: Some(black_box(&mut dw)),
                        bias: None,
                    };
                    layer
                        .backward(
                            Shape::Features(inp),
                            Params::new(black_box(&w), &[]),
                            Tape::train(black_box(&x), &[], &[]),
                            black_box(&dy),
                            Some(black_box(&mut dx)),
                            grads,
                        )
                        .unwrap()
                })
            });
        }
        for (name, peer) in Peer::ALL {
            g.bench_function(name, |bench| {
                bench.iter(|| {
                    // dW[out, in] += dyᵀ · x, with dyᵀ(i, p) = dy[p·out + i].
                    peer.product(
                        out,
                        batch,
                        inp,
                        black_box(&dy),
                        (1, out),
                        black_box(&x),
                        (inp, 1),
                        true,
                        black_box(&mut dw),
                    );
                    // dx[batch, in] = dy · W.
                    peer.product(
                        batch,
                        out,
                        inp,
                        black_box(&dy),
                        (out, 1),
                        black_box(&w),
                        (inp, 1),
                        false,
                        black_box(&mut dx),
                    );
                })
            });
        }
        g.finish();
    }
}

/// Before timing: each peer, called with the strides the bench uses, computes the products
/// of `Dense` (a wrong stride would time a different product).
fn check_peers_agree(batch: usize, inp: usize, out: usize, x: &[f32], w: &[f32], dy: &[f32]) {
    let layer = Dense::new(inp, out).without_bias();
    let (input, params) = (Shape::Features(inp), Params::new(w, &[]));
    let mut y = vec![0.0; batch * out];
    let (mut dw, mut dx) = (vec![0.5; out * inp], vec![0.0; batch * inp]);
    layer.forward(input, Mode::EVAL, params, x, &mut y).unwrap();
    let grads = Grads::new(&mut dw, &mut []);
    let tape = Tape::train(x, &y, &[]);
    layer
        .backward(input, params, tape, dy, Some(&mut dx), grads)
        .unwrap();
    for (name, peer) in Peer::ALL {
        let mut y_p = vec![0.0; batch * out];
        let (mut dw_p, mut dx_p) = (vec![0.5; out * inp], vec![0.0; batch * inp]);
        peer.product(batch, inp, out, x, (inp, 1), w, (1, inp), false, &mut y_p);
        peer.product(out, batch, inp, dy, (1, out), x, (inp, 1), true, &mut dw_p);
        peer.product(batch, out, inp, dy, (out, 1), w, (inp, 1), false, &mut dx_p);
        // Sums of at most 784 products of values in [-1, 1), in different orders.
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-3);
        assert!(close(&y, &y_p), "{name} forward {batch}x{inp}x{out}");
        assert!(close(&dw, &dw_p), "{name} dW {batch}x{inp}x{out}");
        assert!(close(&dx, &dx_p), "{name} dx {batch}x{inp}x{out}");
    }
}

/// Ten independent FMA chains of eight lanes (and of sixteen, where the CPU has AVX-512F):
/// the core's FMA throughput, the ceiling of any f32 matrix product on it.
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

    #[target_feature(enable = "avx512f")]
    fn chains_512(x: f32) -> f32 {
        let mut acc = [_mm512_set1_ps(x); 10];
        let m = _mm512_set1_ps(0.999_999);
        let a = _mm512_set1_ps(1e-7);
        for _ in 0..STEPS {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, m, a);
            }
        }
        let mut s = _mm512_setzero_ps();
        for v in acc {
            s = _mm512_add_ps(s, v);
        }
        _mm512_reduce_add_ps(s)
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
    if Isa::Avx512F.is_available() {
        // Sixteen lanes per chain: twice the work per call.
        g.throughput(Throughput::Elements((STEPS * 10 * 16 * 2) as u64));
        g.bench_function("avx512f", |bench| {
            bench.iter(|| {
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { chains_512(black_box(1.0)) }
            })
        });
    }
    g.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_peak(_: &mut Criterion) {}

/// Reading the weights of the batch-of-one shape (784 × 128 floats, 392 KiB: in L2, not L1)
/// with eight independent 8-lane sums: the ceiling of the matrix-vector product, which must
/// read every weight once.
#[cfg(target_arch = "x86_64")]
fn weight_read(c: &mut Criterion) {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn sum(w: &[f32]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 8];
        let mut blocks = w.chunks_exact(64);
        for block in &mut blocks {
            for (v, lanes) in acc.iter_mut().zip(block.chunks_exact(8)) {
                // SAFETY: `lanes` holds eight floats.
                *v = _mm256_add_ps(*v, unsafe { _mm256_loadu_ps(lanes.as_ptr()) });
            }
        }
        let mut out = [0.0f32; 8];
        let total = acc
            .iter()
            .fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
        // SAFETY: `out` holds eight floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), total) };
        out.iter().sum::<f32>() + blocks.remainder().iter().sum::<f32>()
    }

    if !Isa::Avx2Fma.is_available() {
        return;
    }
    let w = data(784 * 128, 2);
    let mut g = c.benchmark_group("weight_read");
    g.throughput(Throughput::Bytes((w.len() * 4) as u64))
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(30);
    g.bench_function("784x128", |bench| {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        bench.iter(|| unsafe { sum(black_box(&w)) })
    });
    g.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn weight_read(_: &mut Criterion) {}

/// `dW += W` over the batch-of-one shape: it reads the weights once and reads and writes their
/// gradient once (3 × 392 KiB), which is the least traffic of any backward pass at batch 1
/// (`dx = dy·W` reads `W`; `dW += dyᵀ·x` reads and writes `dW`): its ceiling.
#[cfg(target_arch = "x86_64")]
fn weight_update(c: &mut Criterion) {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    fn add(w: &[f32], dw: &mut [f32]) {
        // The first floats one by one up to `dW`'s 32-byte boundary, so that no store
        // straddles two cache lines.
        let head = ((dw.as_ptr() as usize).wrapping_neg() % 32 / 4).min(dw.len());
        let (dw_head, dw) = dw.split_at_mut(head);
        let (w_head, w) = w.split_at(head);
        for (d, s) in dw_head.iter_mut().zip(w_head) {
            *d += s;
        }
        let mut dw_blocks = dw.chunks_exact_mut(8);
        let mut w_blocks = w.chunks_exact(8);
        for (d, s) in (&mut dw_blocks).zip(&mut w_blocks) {
            // SAFETY: both blocks hold eight floats.
            unsafe {
                let sum = _mm256_add_ps(_mm256_loadu_ps(d.as_ptr()), _mm256_loadu_ps(s.as_ptr()));
                _mm256_storeu_ps(d.as_mut_ptr(), sum);
            }
        }
        for (d, s) in dw_blocks
            .into_remainder()
            .iter_mut()
            .zip(w_blocks.remainder())
        {
            *d += s;
        }
    }

    if !Isa::Avx2Fma.is_available() {
        return;
    }
    let w = data(784 * 128, 2);
    let mut dw = data(784 * 128, 3);
    let mut g = c.benchmark_group("weight_update");
    g.throughput(Throughput::Bytes((w.len() * 4 * 3) as u64))
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(30);
    g.bench_function("784x128", |bench| {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        bench.iter(|| unsafe { add(black_box(&w), black_box(&mut dw)) })
    });
    g.finish();
}

#[cfg(not(target_arch = "x86_64"))]
fn weight_update(_: &mut Criterion) {}

criterion_group!(benches, fma_peak, weight_read, weight_update, dense);
criterion_main!(benches);
