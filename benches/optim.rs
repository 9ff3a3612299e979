//! Every optimizer's step beside a plain scalar loop of the same update (the element-by-element
//! references of `tests/reference/optim.rs`, plus a tight iterator loop for Adam), at
//! n = 1 000, 100 000 (in cache) and 10 000 000 (from DRAM), and memory-bandwidth loops that
//! give the machine's limit: copy (8 bytes/element), triad `a = b + s·c` (12 bytes/element)
//! and a stream with Adam's access pattern (4 reads and 3 writes: 28 bytes/element).
//!
//! ```text
//! cargo bench --bench optim
//! ```
//!
//! Throughput is in elements (parameters) per second; bandwidth = bytes/element × that.
//!
//! Per optimizer: `descent` (the run-time dispatch: AVX2+FMA where the CPU has it),
//! `descent_portable` (the same call forced onto the portable `wide` lanes, what a default
//! build ran before the dispatch existed) and `scalar` (the reference loop). The plain loops
//! of Adam and SGD with momentum are compiled twice: `scalar_zip` as the rest of the bench (a
//! default build: SSE2 on x86_64) and `scalar_zip_avx2` with
//! `#[target_feature(enable = "avx2,fma")]` on the loop function, which is what
//! `-C target-cpu=native` gives these loops on an AVX2+FMA CPU — the issue's peer, in the same
//! run — and, where the CPU has AVX-512, `scalar_zip_avx512` with AVX-512 F, VL, BW and DQ
//! enabled as well (what `target-cpu=native` enables on a Zen 4). The streaming loops
//! `stream_2r1w`, `stream_3r2w` and `stream_4r3w` have the reads and writes of SGD, of the
//! one-state optimizers and of the two-state ones; from 1 000 000 parameters on, each
//! optimizer's group also times its own (`stream`) right after it, since the memory traffic
//! of a shared machine moves from one minute to the next.
//!
//! `python3 benches/optim_table.py` prints the tables of docs/PERFORMANCE.md from criterion's
//! files of a run at n = 100 000 and 10 000 000.
// `unsafe` here calls the plain loops compiled for AVX2 and AVX-512; the crate denies it
// outside `src/arch/` and `src/gemm/x86/`.
#![allow(unsafe_code)]

#[path = "../tests/reference/optim.rs"]
mod reference;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, RAdam, RmsProp, Rprop, Sgd,
};
use descent::Isa;
use reference::Opt;
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [1_000, 100_000, 10_000_000];

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((s >> 8) as f32 / (1u32 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn optimizers() -> Vec<(&'static str, Opt)> {
    vec![
        ("sgd", Opt::Sgd(Sgd::DEFAULT)),
        (
            "sgd_momentum",
            Opt::Sgd(Sgd {
                momentum: 0.9,
                ..Sgd::DEFAULT
            }),
        ),
        ("adagrad", Opt::Adagrad(Adagrad::DEFAULT)),
        ("rmsprop", Opt::RmsProp(RmsProp::DEFAULT)),
        ("adam", Opt::Adam(Adam::DEFAULT)),
        ("adamw", Opt::AdamW(AdamW::DEFAULT)),
        ("adamax", Opt::Adamax(Adamax::DEFAULT)),
        ("nadam", Opt::NAdam(NAdam::DEFAULT)),
        ("radam", Opt::RAdam(RAdam::DEFAULT)),
        ("adadelta", Opt::Adadelta(Adadelta::DEFAULT)),
        ("lion", Opt::Lion(Lion::DEFAULT)),
        ("rprop", Opt::Rprop(Rprop::DEFAULT)),
    ]
}

/// Adam as a tight scalar loop over zipped iterators (no bounds checks): the strongest plain
/// loop, the one a hand-written training script would have.
#[inline(always)]
fn scalar_adam(a: &Adam, t: u64, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let (b1, b2) = (a.betas.0 as f64, a.betas.1 as f64);
    let step_size = (a.lr as f64 / (1.0 - b1.powi(t as i32))) as f32;
    let bc2_sqrt = (1.0 - b2.powi(t as i32)).sqrt() as f32;
    let (c1, c2) = ((1.0 - b1) as f32, (1.0 - b2) as f32);
    for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m += c1 * (g - *m);
        *v = *v * a.betas.1 + c2 * g * g;
        let denom = v.sqrt() / bc2_sqrt + a.eps;
        *p -= step_size * (*m / denom);
    }
}

/// [`scalar_adam`] compiled for AVX2 and FMA (as `-C target-cpu=native` compiles it on an
/// AVX2+FMA CPU). Call only where the CPU has both.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scalar_adam_avx2(a: &Adam, t: u64, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    scalar_adam(a, t, p, g, m, v)
}

/// [`scalar_adam`] compiled for AVX-512 (F, VL, BW, DQ) with AVX2 and FMA, what
/// `target-cpu=native` enables on a Zen 4. Call only where the CPU has them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
fn scalar_adam_avx512(a: &Adam, t: u64, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    scalar_adam(a, t, p, g, m, v)
}

/// SGD with momentum (torch's form, after the first step) as a tight scalar loop.
#[inline(always)]
fn scalar_sgd_momentum(o: &Sgd, p: &mut [f32], g: &[f32], b: &mut [f32]) {
    let keep = (1.0 - o.dampening as f64) as f32;
    for ((p, g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
        *b = o.momentum * *b + keep * g;
        *p -= o.lr * *b;
    }
}

/// [`scalar_sgd_momentum`] compiled for AVX2 and FMA. Call only where the CPU has both.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scalar_sgd_momentum_avx2(o: &Sgd, p: &mut [f32], g: &[f32], b: &mut [f32]) {
    scalar_sgd_momentum(o, p, g, b)
}

/// [`scalar_sgd_momentum`] compiled as [`scalar_adam_avx512`]. Call only where the CPU has
/// those features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
fn scalar_sgd_momentum_avx512(o: &Sgd, p: &mut [f32], g: &[f32], b: &mut [f32]) {
    scalar_sgd_momentum(o, p, g, b)
}

/// Whether this CPU has what [`scalar_adam_avx512`] is compiled for.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    has_avx2_fma()
        && std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512dq")
}

/// Whether this CPU has AVX2 and FMA.
fn has_avx2_fma() -> bool {
    Isa::Avx2Fma.is_available()
}

/// The streaming loop with the reads and writes of an optimizer with `states` state slices:
/// `p += s·g` (2 reads, 1 write), with `m = s·m + g` (3r2w), and with `v` as well (4r3w).
fn stream(states: usize, s: f32, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    match states {
        0 => {
            for (p, g) in p.iter_mut().zip(g) {
                *p += s * g;
            }
        }
        1 => {
            for ((p, g), m) in p.iter_mut().zip(g).zip(m.iter_mut()) {
                *m = s * *m + g;
                *p += s * *m;
            }
        }
        _ => {
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = s * *m + g;
                *v = s * *v + g;
                *p += s * (*m + *v);
            }
        }
    }
}

fn bench_optimizers(c: &mut Criterion) {
    for n in SIZES {
        let mut group = c.benchmark_group(format!("optim/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(3));
        }
        let g = data(n, 2);
        for (name, opt) in optimizers() {
            let o = opt.optimizer();
            let mut p = data(n, 1);
            let mut state = vec![0.0f32; o.state_len(n)];
            // Step 1 initialises the state; time the steady state after it.
            o.update(1, &mut p, &g, &mut state).unwrap();
            group.bench_function(BenchmarkId::new(name, "descent"), |b| {
                b.iter(|| {
                    o.update(2, black_box(&mut p), black_box(&g), &mut state)
                        .unwrap()
                })
            });
            // From memory, the streaming loop with the same reads and writes, timed right
            // after the optimizer: the machine's memory traffic moves from minute to minute.
            if n >= 1_000_000 {
                let states = o.state_len(n) / n;
                let (mut m, mut v) = (data(n, 6), data(n, 7));
                group.bench_function(BenchmarkId::new(name, "stream"), |b| {
                    b.iter(|| {
                        stream(
                            states,
                            black_box(0.5),
                            black_box(&mut p),
                            &g,
                            &mut m,
                            &mut v,
                        )
                    })
                });
            }
            // The thread-local override needs `std`.
            #[cfg(feature = "std")]
            group.bench_function(BenchmarkId::new(name, "descent_portable"), |b| {
                descent::simd::with_isa(Isa::Portable, || {
                    b.iter(|| {
                        o.update(2, black_box(&mut p), black_box(&g), &mut state)
                            .unwrap()
                    })
                })
            });
            group.bench_function(BenchmarkId::new(name, "scalar"), |b| {
                b.iter(|| opt.reference_step(2, black_box(&mut p), black_box(&g), &mut state))
            });
        }
        let adam = Adam::DEFAULT;
        let mut p = data(n, 1);
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        group.bench_function(BenchmarkId::new("adam", "scalar_zip"), |b| {
            b.iter(|| scalar_adam(&adam, 2, black_box(&mut p), black_box(&g), &mut m, &mut v))
        });
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            group.bench_function(BenchmarkId::new("adam", "scalar_zip_avx2"), |b| {
                b.iter(|| {
                    // SAFETY: the CPU has AVX2 and FMA (checked above).
                    unsafe {
                        scalar_adam_avx2(&adam, 2, black_box(&mut p), black_box(&g), &mut m, &mut v)
                    }
                })
            });
        }
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            group.bench_function(BenchmarkId::new("adam", "scalar_zip_avx512"), |b| {
                b.iter(|| {
                    // SAFETY: the CPU has the features (checked above).
                    unsafe {
                        scalar_adam_avx512(
                            &adam,
                            2,
                            black_box(&mut p),
                            black_box(&g),
                            &mut m,
                            &mut v,
                        )
                    }
                })
            });
        }
        let sgd = Sgd {
            momentum: 0.9,
            ..Sgd::DEFAULT
        };
        group.bench_function(BenchmarkId::new("sgd_momentum", "scalar_zip"), |b| {
            b.iter(|| scalar_sgd_momentum(&sgd, black_box(&mut p), black_box(&g), &mut m))
        });
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            group.bench_function(BenchmarkId::new("sgd_momentum", "scalar_zip_avx2"), |b| {
                b.iter(|| {
                    // SAFETY: the CPU has AVX2 and FMA (checked above).
                    unsafe {
                        scalar_sgd_momentum_avx2(&sgd, black_box(&mut p), black_box(&g), &mut m)
                    }
                })
            });
        }
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            group.bench_function(BenchmarkId::new("sgd_momentum", "scalar_zip_avx512"), |b| {
                b.iter(|| {
                    // SAFETY: the CPU has the features (checked above).
                    unsafe {
                        scalar_sgd_momentum_avx512(&sgd, black_box(&mut p), black_box(&g), &mut m)
                    }
                })
            });
        }
        group.finish();
    }
}

fn bench_bandwidth(c: &mut Criterion) {
    for n in SIZES {
        let mut group = c.benchmark_group(format!("bandwidth/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        if n >= 1_000_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(3));
        }
        let b_src = data(n, 3);
        let c_src = data(n, 4);
        let mut a = vec![0.0f32; n];
        group.bench_function("copy", |bch| {
            bch.iter(|| a.copy_from_slice(black_box(&b_src)))
        });
        group.bench_function("triad", |bch| {
            bch.iter(|| {
                let s = black_box(0.5f32);
                for ((a, b), c) in a.iter_mut().zip(&b_src).zip(&c_src) {
                    *a = b + s * c;
                }
            })
        });
        let (mut p, mut m, mut v) = (data(n, 5), data(n, 6), data(n, 7));
        for (states, name) in [(0, "stream_2r1w"), (1, "stream_3r2w"), (2, "stream_4r3w")] {
            group.bench_function(name, |bch| {
                bch.iter(|| stream(states, black_box(0.5), &mut p, &b_src, &mut m, &mut v))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_optimizers, bench_bandwidth
}
criterion_main!(benches);
