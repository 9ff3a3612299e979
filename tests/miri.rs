//! The shapes that reach every `unsafe` block of the library, small enough for Miri.
//!
//! All `unsafe` code is in `gemm/x86` (AVX2 + FMA intrinsics on raw pointers; the ARM square
//! root in `simd` is inline assembly, which Miri cannot run and the host never compiles). Each
//! case below is chosen to take one strategy of those kernels, so that Miri checks every
//! pointer they form, every load and store (masked tails included) and the stack panel:
//!
//! ```text
//! RUSTFLAGS="-C target-feature=+avx2,+fma" cargo +nightly miri test --test miri
//! ```
//!
//! (the flags make the AVX2 token available under Miri, which has no `cpuid`). Without them,
//! or in a plain `cargo test`, the same cases run on whatever the CPU has and check the results
//! against an f64 reference, with the tolerance of `tests/gemm.rs`.

use descent::gemm::{matmul_nn, matmul_nt, matmul_tn_acc, Isa};

mod common;
use common::{isas, Rng, U};

/// One product on every available instruction set, against the f64 reference.
fn check(product: u8, m: usize, n: usize, k: usize) {
    let mut rng = Rng::new((m * 1000 + n * 10 + k) as u64 + u64::from(product));
    let (a, b, c0) = (rng.vec(m * k), rng.vec(n * k), rng.vec(m * n));
    for isa in isas() {
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

/// `C = A·Bᵀ`: the matrix-vector dot tiles (m = 1, masked tail along k), three-row dot tiles
/// with a remainder row, dot tiles for a narrow output, and packed broadcast tiles whose last
/// panel and last rows are partial.
#[test]
fn nt_every_strategy() {
    for (m, n, k) in [(1, 9, 13), (4, 6, 9), (5, 7, 33), (7, 33, 5)] {
        check(0, m, n, k);
    }
}

/// `C += Aᵀ·B` and `C = A·B`: one to three rows (the wide tiles up to 1 × 64), a short sum
/// swept row by row, panel by panel in place, and the packed panels of `B` (m > 24, k > 32).
#[test]
fn broadcast_every_strategy() {
    for (m, n, k) in [
        (1, 70, 3),
        (2, 19, 5),
        (3, 9, 2),
        (7, 21, 5),
        (8, 17, 11),
        (25, 17, 33),
    ] {
        check(1, m, n, k);
        check(2, m, n, k);
    }
}

/// The token runs only where the CPU has the instructions; under Miri with the flags above it
/// is available, so these tests exercised the `unsafe` code (and say so).
#[test]
fn avx2_runs_when_available() {
    let avx2 = Isa::Avx2Fma.is_available();
    assert_eq!(isas().contains(&Isa::Avx2Fma), avx2);
    if cfg!(all(miri, target_feature = "avx2", target_feature = "fma")) {
        assert!(avx2, "Miri with +avx2,+fma must run the AVX2 kernels");
    }
}
