//! The shapes that reach every `unsafe` block of the library, small enough for Miri.
//!
//! The `unsafe` code is in `gemm/x86` (AVX2 + FMA and AVX-512F intrinsics on raw pointers)
//! and in `arch/x86_64` (the AVX2 lanes of the element-wise kernels: intrinsics, loads and
//! stores through `&[f32; 8]`); the ARM square root in `arch/arm.rs` is inline assembly, which
//! Miri cannot run and the host never compiles. Each matrix case below takes one strategy of the gemm
//! kernels, so that Miri checks every pointer they form, every load and store (masked tails
//! included) and the stack panel; the element-wise cases run every optimizer, every math
//! function and the activations and loss that dispatch, on lengths with a tail:
//!
//! ```text
//! RUSTFLAGS="-C target-feature=+avx2,+fma,+avx512f,+avx512bw" cargo +nightly miri test --test miri
//! ```
//!
//! (the flags make the AVX2 and AVX-512 tokens available under Miri, which has no `cpuid`;
//! `+avx512bw` only because `wide` does not compile with `+avx512f` alone). Without them,
//! or in a plain `cargo test`, the same cases run on whatever the CPU has and check the results
//! against an f64 reference, with the tolerance of `tests/gemm.rs`.

use descent::gemm::{matmul_nn, matmul_nt, matmul_tn_acc};
use descent::Isa;

mod common;
use common::{isas, Rng, U};

/// One product on every available instruction set, against the f64 reference.
fn check(product: u8, m: usize, n: usize, k: usize) {
    check_on(&isas(), product, m, n, k);
}

/// One product on the x86 tokens, whose kernels hold the `unsafe` code, where they are
/// available; on every instruction set where they are not (so the case still checks a
/// result on any machine). For the cases too slow under Miri to repeat on the safe kernels.
fn check_unsafe_kernels(product: u8, m: usize, n: usize, k: usize) {
    let all = isas();
    let tokens: Vec<Isa> = all
        .iter()
        .copied()
        .filter(|isa| matches!(isa, Isa::Avx2Fma | Isa::Avx512F))
        .collect();
    check_on(
        if tokens.is_empty() { &all } else { &tokens },
        product,
        m,
        n,
        k,
    );
}

/// One product on each of `isas`, against the f64 reference.
fn check_on(isas: &[Isa], product: u8, m: usize, n: usize, k: usize) {
    let mut rng = Rng::new((m * 1000 + n * 10 + k) as u64 + u64::from(product));
    let (a, b, c0) = (rng.vec(m * k), rng.vec(n * k), rng.vec(m * n));
    for &isa in isas {
        let mut c = c0.clone();
        let result = match product {
            0 => matmul_nt(isa, m, n, k, &a, &b, &mut c),
            1 => matmul_tn_acc(isa, m, n, k, &a, &b, &mut c),
            _ => matmul_nn(isa, m, n, k, &a, &b, &mut c),
        };
        assert_eq!(result, Ok(()));
        for i in 0..m {
            for j in 0..n {
                let (mut sum, mut abs) = (0.0f64, 0.0f64);
                for p in 0..k {
                    let (x, y) = match product {
                        0 => (a[i * k + p], b[j * k + p]),
                        1 => (a[p * m + i], b[p * n + j]),
                        _ => (a[i * k + p], b[p * n + j]),
                    };
                    sum += f64::from(x) * f64::from(y);
                    abs += (f64::from(x) * f64::from(y)).abs();
                }
                let c_in = f64::from(c0[i * n + j]);
                let want = if product == 1 { c_in + sum } else { sum };
                let s = if product == 1 { abs + c_in.abs() } else { abs };
                let tol = 2.0 * U * (k as f64 + 1.0).sqrt() * s + 2.0 * U * want.abs();
                let got = f64::from(c[i * n + j]);
                assert!(
                    (got - want).abs() <= tol,
                    "{isa} product {product} {m}x{n}x{k} ({i},{j}): {got} vs {want}"
                );
            }
        }
    }
}

/// `C = A·Bᵀ`: the matrix-vector dot tiles (m = 1, masked tail along k), four-row dot tiles
/// with a remainder row or three, dot tiles for a narrow output, and packed broadcast tiles
/// (m > 8) whose last panel and last rows are partial.
#[test]
fn nt_every_strategy() {
    for (m, n, k) in [(1, 9, 13), (5, 6, 33), (7, 7, 33), (11, 33, 5)] {
        check(0, m, n, k);
    }
}

/// `C += Aᵀ·B` and `C = A·B`: one long row of `A·B` swept over `B` (n ≥ 256, with a tail of
/// `k` modulo 4), one to three rows (the wide tiles up to 1 × 64), a short sum swept row by
/// row (`k ≤ 2`, `n ≥ 64`; the `C` of 64 Ki floats that also takes it is too slow for Miri)
/// and one over short rows on panel tiles, panel by panel in place, and the packed panels of
/// `B` (m > 24, k > 32).
#[test]
fn broadcast_every_strategy() {
    for (m, n, k) in [
        (1, 70, 3),
        (1, 263, 6),
        (2, 19, 5),
        (3, 41, 2),
        (7, 70, 2),
        (6, 64, 1),
        (7, 21, 5),
        (8, 17, 11),
        (25, 17, 33),
    ] {
        check(1, m, n, k);
        check(2, m, n, k);
    }
}

/// The AVX-512 tiles: every height of tile from 24 rows of `C` (12, 8, 4, 2 and 1 rows:
/// m = 39 = 12 + 12 + 8 + 4 + 2 + 1), one tile of 16 and of 10 rows, packed panels of `Bᵀ`
/// and of `B` with a ragged last panel (k > 32), and panels of `B` in place with a masked last
/// one (k ≤ 32).
#[test]
fn avx512_tall_tiles() {
    check(0, 39, 17, 3);
    // One tile of 9 to 16 rows.
    check(0, 16, 17, 2);
    check(1, 10, 5, 3);
    for (m, n, k) in [(39, 18, 2), (26, 17, 34)] {
        check(1, m, n, k);
        check(2, m, n, k);
    }
}

/// Several blocks of rows in the packed strategy (the same loop for all three products): 517
/// rows of `C` make two blocks of equal height for the AVX-512 tiles (at most 516 rows each)
/// and three for the AVX2 ones (at most 192). One column and the fewest steps that pack, to
/// stay small, and only on the x86 tokens (the portable kernels have no `unsafe` code).
#[test]
fn packed_blocks_of_rows() {
    check_unsafe_kernels(1, 517, 1, 33);
}

/// The tokens run only where the CPU has the instructions; under Miri with the flags above
/// they are available, so these tests exercised the `unsafe` code (and say so).
#[test]
fn avx2_and_avx512_run_when_available() {
    let avx2 = Isa::Avx2Fma.is_available();
    assert_eq!(isas().contains(&Isa::Avx2Fma), avx2);
    if cfg!(all(miri, target_feature = "avx2", target_feature = "fma")) {
        assert!(avx2, "Miri with +avx2,+fma must run the AVX2 kernels");
    }
    let avx512 = Isa::Avx512F.is_available();
    assert_eq!(isas().contains(&Isa::Avx512F), avx512);
    if cfg!(all(
        miri,
        target_feature = "avx512f",
        target_feature = "fma"
    )) {
        assert!(
            avx512,
            "Miri with +avx2,+fma,+avx512f must run the AVX-512 kernels"
        );
    }
}

/// The element-wise kernels' lanes (choosing them per thread needs `std`).
#[cfg(feature = "std")]
mod element_wise {
    use super::{Rng, U};
    use descent::optim::{
        Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, Optimizer, RAdam, RmsProp, Sgd,
    };
    use descent::Isa;
    use descent::{activation as act, loss, simd};

    /// An element-wise activation `y = f(x)`.
    type Kernel = fn(&[f32], &mut [f32]) -> descent::Result<()>;

    /// Runs `f` on the AVX2 lanes (where available) and on the portable ones.
    fn both<R>(f: impl Fn() -> R) -> (R, R) {
        (
            simd::with_isa(Isa::Avx2Fma, &f),
            simd::with_isa(Isa::Portable, &f),
        )
    }

    /// `a` and `b` agree within `ulps` units of the larger magnitude (NaN with NaN).
    fn agree(a: &[f32], b: &[f32], ulps: f64, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x.is_nan() || y.is_nan() {
                assert!(x.is_nan() && y.is_nan(), "{what}[{i}]: {x} vs {y}");
                continue;
            }
            let scale = f64::from(x.abs().max(y.abs())).max(f64::from(f32::MIN_POSITIVE));
            let err = (f64::from(*x) - f64::from(*y)).abs();
            assert!(err <= ulps * U * 2.0 * scale, "{what}[{i}]: {x} vs {y}");
        }
    }

    /// Three steps of every optimizer (11 parameters: a lane and a tail) on both lane sets: the
    /// AVX2 results stay within a few ulps of the portable ones (they differ only by fused
    /// multiply-adds; `tests/optim.rs` bounds both against the references).
    #[test]
    fn every_optimizer_on_the_avx2_lanes() {
        let opts: [&dyn Optimizer; 11] = [
            &Sgd {
                momentum: 0.9,
                nesterov: true,
                ..Sgd::DEFAULT
            },
            &Adagrad::DEFAULT,
            &RmsProp {
                centered: true,
                momentum: 0.5,
                ..RmsProp::DEFAULT
            },
            &Adam {
                amsgrad: true,
                ..Adam::DEFAULT
            },
            &AdamW::DEFAULT,
            &Adamax::DEFAULT,
            &NAdam::DEFAULT,
            &RAdam::DEFAULT,
            &Adadelta::DEFAULT,
            &Lion::DEFAULT,
            &Sgd::DEFAULT,
        ];
        let mut rng = Rng::new(3);
        let (p0, g) = (rng.vec(11), rng.vec(11));
        for (k, o) in opts.into_iter().enumerate() {
            let (a, b) = both(|| {
                let (mut p, mut s, mut t) = (p0.clone(), vec![0.0; o.state_len(11)], 0);
                for _ in 0..3 {
                    o.step(&mut t, &mut p, &g, &mut s).unwrap();
                }
                p
            });
            agree(
                &a,
                &b,
                64.0,
                &format!("optimizer {k} ({:?})", o.state_planes()),
            );
        }
    }

    /// The math functions and the kernels that dispatch them, on 13 values (a lane and a tail).
    #[test]
    fn math_and_activations_on_the_avx2_lanes() {
        let x: Vec<f32> = (0..13).map(|i| (i as f32 - 6.0) * 0.7).collect();
        let lanes = |f: fn(simd::f32x8) -> simd::f32x8| -> Vec<f32> {
            x.chunks(8)
                .flat_map(|c| {
                    let mut a = [0.5f32; 8];
                    a[..c.len()].copy_from_slice(c);
                    f(simd::f32x8::new(a)).to_array()[..c.len()].to_vec()
                })
                .collect()
        };
        for (name, f) in [
            ("exp", simd::math::exp as fn(simd::f32x8) -> simd::f32x8),
            ("expm1", simd::math::expm1),
            ("tanh", simd::math::tanh),
            ("erf", simd::math::erf),
        ] {
            let (a, b) = both(|| lanes(f));
            agree(&a, &b, 4.0, name);
        }
        let kernels: [(&str, Kernel); 4] = [
            ("sigmoid", act::sigmoid),
            ("tanh", act::tanh),
            ("gelu", act::gelu),
            ("silu", act::silu),
        ];
        for (name, k) in kernels {
            let (a, b) = both(|| {
                let mut y = vec![0.0; 13];
                k(&x, &mut y).unwrap();
                y
            });
            agree(&a, &b, 8.0, name);
        }
        let (a, b) = both(|| {
            let mut y = vec![0.0; 12];
            act::softmax(&x[..12], &mut y, 6).unwrap();
            let mut g = vec![0.0; 12];
            let l = loss::cross_entropy(
                &x[..12],
                &[1, 4],
                6,
                0.1,
                Some(&mut g),
                loss::Reduction::Mean,
            )
            .unwrap();
            y.extend(g);
            y.push(l);
            y
        });
        agree(&a, &b, 16.0, "softmax and cross-entropy");
    }
}
