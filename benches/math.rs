//! `descent::simd::math` over eight-float lanes against a scalar `libm` loop, on the same
//! inputs in the same run: 4096 floats per iteration, each function in its own group with
//! `simd` and `libm` side by side (criterion's `estimates.json` under `target/criterion/`
//! holds the medians).
//!
//! Three columns per function: `simd` (the `f32x8` function: the portable lanes, SSE2 on a
//! default x86_64 build, where `f32x8` is two SSE registers and `mul_add` is a multiply and an
//! add), `dispatch` (the `*_lanes` form through `descent::simd::dispatch`: AVX2+FMA where the
//! CPU has it, in a default build) and `libm` (the scalar loop).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use descent::simd::{dispatch, f32x8, math, Float8, Lanes, WithLanes};

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

/// The functions with a `*_lanes` form.
#[derive(Clone, Copy)]
enum Func {
    Exp,
    Expm1,
    Ln,
    Ln1p,
    Tanh,
    Erf,
}

/// `y = f(x)` on the dispatched lanes (`N` is a multiple of 8), the match hoisted out of the
/// loop.
struct Map<'a> {
    f: Func,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl WithLanes for Map<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let (xc, _) = self.x.as_chunks::<8>();
        let (yc, _) = self.y.as_chunks_mut::<8>();
        macro_rules! each {
            ($f:path) => {
                for (xa, ya) in xc.iter().zip(yc.iter_mut()) {
                    $f(l, l.load(xa)).store(ya);
                }
            };
        }
        match self.f {
            Func::Exp => each!(math::exp_lanes),
            Func::Expm1 => each!(math::expm1_lanes),
            Func::Ln => each!(math::ln_lanes),
            Func::Ln1p => each!(math::ln_1p_lanes),
            Func::Tanh => each!(math::tanh_lanes),
            Func::Erf => each!(math::erf_lanes),
        }
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
    ($c:expr, $name:literal, $simd:path, $func:expr, $libm:path, $x:expr) => {{
        let x: Vec<f32> = $x;
        let mut y = vec![0.0f32; N];
        let mut g = $c.benchmark_group($name);
        g.throughput(Throughput::Elements(N as u64));
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(1));
        g.bench_function("simd", |b| {
            b.iter(|| simd_map(black_box(&x), black_box(&mut y), $simd))
        });
        g.bench_function("dispatch", |b| {
            b.iter(|| {
                dispatch(Map {
                    f: $func,
                    x: black_box(&x),
                    y: black_box(&mut y),
                })
            })
        });
        g.bench_function("libm", |b| {
            b.iter(|| scalar_map(black_box(&x), black_box(&mut y), $libm))
        });
        g.finish();
    }};
}

fn bench(c: &mut Criterion) {
    compare!(
        c,
        "exp",
        math::exp,
        Func::Exp,
        libm::expf,
        inputs(-20.0, 20.0, false)
    );
    compare!(
        c,
        "expm1",
        math::expm1,
        Func::Expm1,
        libm::expm1f,
        inputs(-5.0, 5.0, false)
    );
    compare!(
        c,
        "ln",
        math::ln,
        Func::Ln,
        libm::logf,
        inputs(1e-4, 1e4, true)
    );
    compare!(
        c,
        "ln_1p",
        math::ln_1p,
        Func::Ln1p,
        libm::log1pf,
        inputs(-0.9, 10.0, false)
    );
    compare!(
        c,
        "tanh",
        math::tanh,
        Func::Tanh,
        libm::tanhf,
        inputs(-5.0, 5.0, false)
    );
    compare!(
        c,
        "erf",
        math::erf,
        Func::Erf,
        libm::erff,
        inputs(-4.0, 4.0, false)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
