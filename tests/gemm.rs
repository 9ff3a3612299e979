//! The three matrix products against a naive f64 reference, on every instruction set.
//!
//! Tolerance (the dense rule of `tests/data/conformance/FORMAT.md`, `2u·√n·max|·|`, made
//! robust to cancellation): a sum of `n` terms computed in f32 in any order, each addition
//! (or FMA) rounding with a relative error of at most `u = 2⁻²⁴`, is off by at most
//! `u·Σ_steps |partial sum|`; every partial sum is bounded by `S = Σ_p |a_p·b_p|` (plus
//! `|c₀|` for an accumulation), and with rounding errors of random sign the total grows
//! like `√n` rather than `n` (Higham & Mary, "A new approach to probabilistic rounding error
//! analysis", 2019). So element `(i, j)` must satisfy
//!
//! ```text
//! |got − want| ≤ 2u·√n·S_ij + 2u·|want|
//! ```
//!
//! where the second term covers the final rounding to f32 (a few ulps). With `S_ij`
//! instead of the rule's `max|want|`, a lucky cancellation in one element (`|want| ≪ S`)
//! cannot make the bound smaller than the error the sum can honestly make.

use descent::gemm::{matmul_nn, matmul_nt, matmul_tn_acc};
use descent::Error;
use descent::Isa;

mod common;
use common::{isas, Rng, U};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Product {
    Nt,
    TnAcc,
    Nn,
}

const PRODUCTS: [Product; 3] = [Product::Nt, Product::TnAcc, Product::Nn];

impl Product {
    /// `(A(i, p), B(p, j))` indices into `a` and `b` for this layout.
    fn index(self, m: usize, n: usize, k: usize, i: usize, j: usize, p: usize) -> (usize, usize) {
        match self {
            Product::Nt => (i * k + p, j * k + p),
            Product::TnAcc => (p * m + i, p * n + j),
            Product::Nn => (i * k + p, p * n + j),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        self,
        isa: Isa,
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
    ) -> Result<(), Error> {
        match self {
            Product::Nt => matmul_nt(isa, m, n, k, a, b, c),
            Product::TnAcc => matmul_tn_acc(isa, m, n, k, a, b, c),
            Product::Nn => matmul_nn(isa, m, n, k, a, b, c),
        }
    }
}

/// The exact (f64) result and the tolerance of every element, for `c0` the initial `C`
/// (read only by the accumulating product).
fn reference(
    product: Product,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c0: &[f32],
) -> (Vec<f64>, Vec<f64>) {
    let mut want = vec![0.0; m * n];
    let mut tol = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut abs) = (0.0f64, 0.0f64);
            for p in 0..k {
                let (ia, ib) = product.index(m, n, k, i, j, p);
                let t = a[ia] as f64 * b[ib] as f64;
                sum += t;
                abs += t.abs();
            }
            let mut terms = k;
            if product == Product::TnAcc {
                sum += c0[i * n + j] as f64;
                abs += (c0[i * n + j] as f64).abs();
                terms += 1;
            }
            want[i * n + j] = sum;
            tol[i * n + j] = 2.0 * U * (terms as f64).sqrt() * abs + 2.0 * U * sum.abs();
        }
    }
    (want, tol)
}

/// Runs `product` on fresh random data and checks it against the reference.
fn check_shape(isa: Isa, product: Product, m: usize, n: usize, k: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let a = rng.vec(m * k);
    let b = rng.vec(n * k);
    let c0 = if product == Product::TnAcc {
        rng.vec(m * n)
    } else {
        // A written product must not read `C`: start from NaN.
        vec![f32::NAN; m * n]
    };
    let mut c = c0.clone();
    product.run(isa, m, n, k, &a, &b, &mut c).unwrap();
    let (want, tol) = reference(product, m, n, k, &a, &b, &c0);
    for (idx, ((g, w), t)) in c.iter().zip(&want).zip(&tol).enumerate() {
        let err = (*g as f64 - w).abs();
        assert!(
            err <= *t,
            "{isa} {product:?} m={m} n={n} k={k}: c[{}, {}] = {g:e}, want {w:e}, |err| {err:.3e} > tol {t:.3e}",
            idx / n,
            idx % n
        );
    }
}

#[test]
fn every_small_shape_matches_reference() {
    for isa in isas() {
        for product in PRODUCTS {
            for m in 1..=17 {
                for n in 1..=17 {
                    for k in 1..=17 {
                        check_shape(isa, product, m, n, k, (m * 10_000 + n * 100 + k) as u64);
                    }
                }
            }
        }
    }
}

/// Shapes that reach every strategy of every kernel: matrix-vector (m = 1), few rows
/// (m ≤ 3), dot and packed tiles, in-place and packed `B`, several blocks of `k` (> 256) and
/// of rows (> 192 on the AVX2 tiles, > 516 on the AVX-512 ones), and ragged edges everywhere.
const LARGER: [(usize, usize, usize); 19] = [
    (1, 784, 128),
    (1, 128, 784),
    (1, 1000, 3),
    (2, 70, 300),
    (3, 100, 50),
    (4, 61, 40),
    (5, 300, 257),
    (7, 9, 1000),
    (25, 17, 33),
    (32, 10, 128),
    (33, 65, 129),
    (64, 256, 256),
    (70, 70, 70),
    (200, 33, 600),
    (130, 1, 77),
    (40, 2, 513),
    (16, 100, 8),
    (300, 300, 20),
    (530, 33, 45),
];

#[test]
fn larger_and_odd_shapes_match_reference() {
    for isa in isas() {
        for product in PRODUCTS {
            for (s, &(m, n, k)) in LARGER.iter().enumerate() {
                check_shape(isa, product, m, n, k, 7 + s as u64);
                // The same shape with the roles of m and n swapped.
                check_shape(isa, product, n, m, k, 70 + s as u64);
            }
        }
    }
}

/// Every width and depth from 0 to 70 for the few-row paths (matrix-vector tiles up to 64
/// columns wide, their ragged right edges, and every tail of `k` modulo 8), and every depth
/// for a few widths.
#[test]
fn every_length_to_70_for_few_rows() {
    for isa in isas() {
        for product in PRODUCTS {
            for m in [1, 2, 3, 7] {
                for n in 0..=70 {
                    for k in [0, 1, 7, 8, 9, 33, 70] {
                        check_any(isa, product, m, n, k, (m * 7919 + n * 71 + k) as u64);
                    }
                }
                for k in 0..=70 {
                    for n in [1, 9, 70] {
                        check_any(isa, product, m, n, k, (m * 7919 + n * 71 + k) as u64);
                    }
                }
            }
        }
    }
}

/// Every row count from 24 to 60 (the AVX-512 kernels take `m ≥ 24` in tiles of 12 rows, then
/// 8, 4, 2 and 1, so every remainder modulo 12 and two tiles of 8; `m` from 9 to 16 in one
/// tile, which `every_small_shape_matches_reference` covers), with full, partial and
/// ragged panels of 16 columns, short sums (on `B` in place) and long ones (packed from
/// `k > 32`).
#[test]
fn every_row_count_from_24_to_60_for_the_tall_tiles() {
    for isa in isas() {
        for product in PRODUCTS {
            for m in 24..=60 {
                for n in [1, 15, 16, 17, 40] {
                    for k in [1, 9, 33, 70] {
                        check_shape(isa, product, m, n, k, (m * 7919 + n * 71 + k) as u64);
                    }
                }
            }
        }
    }
}

/// Short sums (`k ≤ 8`) on both sides of the rule that sweeps `C` row by row instead of running
/// panel tiles (`k ≤ 2` from 64 columns on, any `k ≤ 8` on a `C` of 64 Ki floats or more):
/// rows of 63, 64 and 71 columns (every tail modulo 8 of the walk), `C` just under, at and
/// over 64 Ki floats, and `k = 9` past the sweep.
#[test]
fn short_sums_on_both_sides_of_the_sweep() {
    for isa in isas() {
        for product in PRODUCTS {
            for k in 1..=9 {
                for (m, n) in [
                    (4, 63),
                    (4, 64),
                    (5, 71),
                    (255, 256),
                    (256, 256),
                    (257, 263),
                ] {
                    check_shape(isa, product, m, n, k, (m * 7919 + n * 71 + k) as u64);
                }
            }
        }
    }
}

/// One long row of `C = A·B` (swept over `B` four rows at a time from 256 columns on): every
/// depth to 70 (every pass count and tail of `k` modulo 4) at widths around the threshold and
/// with every tail modulo 8.
#[test]
fn every_depth_to_70_for_one_long_row() {
    for isa in isas() {
        for product in PRODUCTS {
            for n in [255, 256, 257, 263, 300, 784] {
                for k in 0..=70 {
                    check_any(isa, product, 1, n, k, (n * 71 + k) as u64);
                }
            }
        }
    }
}

/// [`check_shape`], also for zero dimensions (where there is nothing to compare but the
/// written zeros).
fn check_any(isa: Isa, product: Product, m: usize, n: usize, k: usize, seed: u64) {
    if m > 0 && n > 0 && k > 0 {
        check_shape(isa, product, m, n, k, seed);
        return;
    }
    let mut c = vec![f32::NAN; m * n];
    product
        .run(isa, m, n, k, &vec![1.0; m * k], &vec![1.0; n * k], &mut c)
        .unwrap();
    if product != Product::TnAcc {
        assert!(c.iter().all(|v| *v == 0.0), "{isa} {product:?} {m}x{n}x{k}");
    }
}

/// Scaling `A` (and, for the accumulation, `C`) by a power of two scales every rounding by
/// the same power, so the result scales exactly, as long as nothing leaves the normal range:
/// the kernels are exact in this sense from 2⁻⁶⁰ to 2⁶⁰ (values ~1e-18 to ~1e18).
#[test]
fn scaling_by_powers_of_two_is_exact() {
    for isa in isas() {
        for product in PRODUCTS {
            for &(m, n, k) in &[(1, 70, 33), (5, 17, 300), (40, 40, 40)] {
                let mut rng = Rng::new(23);
                let (a, b, c0) = (rng.vec(m * k), rng.vec(n * k), rng.vec(m * n));
                let mut base = c0.clone();
                product.run(isa, m, n, k, &a, &b, &mut base).unwrap();
                for e in [-60, 60] {
                    let s = 2f32.powi(e);
                    let a_s: Vec<f32> = a.iter().map(|v| v * s).collect();
                    let mut c = c0.iter().map(|v| v * s).collect::<Vec<f32>>();
                    product.run(isa, m, n, k, &a_s, &b, &mut c).unwrap();
                    let want: Vec<f32> = base.iter().map(|v| v * s).collect();
                    assert_eq!(bits(&c), bits(&want), "{isa} {product:?} {m}x{n}x{k} 2^{e}");
                }
            }
        }
    }
}

/// A token of any variant, available or not, gives the right answer: an unavailable one
/// runs the portable kernels (bit-identically).
#[test]
fn every_variant_is_safe_to_pass() {
    for isa in Isa::ALL {
        for product in PRODUCTS {
            for &(m, n, k) in &[(3, 5, 7), (33, 65, 129)] {
                check_shape(isa, product, m, n, k, 99);
                if !isa.is_available() {
                    let mut rng = Rng::new(5);
                    let (a, b) = (rng.vec(m * k), rng.vec(n * k));
                    let (mut c1, mut c2) = (vec![0.5; m * n], vec![0.5; m * n]);
                    product.run(isa, m, n, k, &a, &b, &mut c1).unwrap();
                    product
                        .run(Isa::Portable, m, n, k, &a, &b, &mut c2)
                        .unwrap();
                    assert_eq!(bits(&c1), bits(&c2));
                }
            }
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn written_products_overwrite_and_accumulating_one_adds() {
    for isa in isas() {
        let (m, n, k) = (9, 19, 21);
        let mut rng = Rng::new(3);
        let (a, b) = (rng.vec(m * k), rng.vec(n * k));
        for product in [Product::Nt, Product::Nn] {
            let mut from_zero = vec![0.0; m * n];
            let mut from_junk = vec![f32::NAN; m * n];
            let mut from_big = vec![1e30; m * n];
            product.run(isa, m, n, k, &a, &b, &mut from_zero).unwrap();
            product.run(isa, m, n, k, &a, &b, &mut from_junk).unwrap();
            product.run(isa, m, n, k, &a, &b, &mut from_big).unwrap();
            assert_eq!(bits(&from_zero), bits(&from_junk), "{isa} {product:?}");
            assert_eq!(bits(&from_zero), bits(&from_big), "{isa} {product:?}");
        }
        // Accumulating: starting from C0, the result is C0 + product (up to rounding), and
        // twice in a row adds the product twice.
        let c0 = rng.vec(m * n);
        let mut once = vec![0.0; m * n];
        matmul_tn_acc(isa, m, n, k, &a, &b, &mut once).unwrap();
        let mut twice = c0.clone();
        matmul_tn_acc(isa, m, n, k, &a, &b, &mut twice).unwrap();
        matmul_tn_acc(isa, m, n, k, &a, &b, &mut twice).unwrap();
        for ((t, o), z) in twice.iter().zip(&once).zip(&c0) {
            let want = *z as f64 + 2.0 * *o as f64;
            // Two accumulations of k = 21 terms each onto |c0| ≤ 1 with |a·b| ≤ 1:
            // the partial sums stay below 1 + 2·21, each of the 2·21 + 2 roundings adds
            // at most u·43 — far below 1e-4.
            assert!(
                (*t as f64 - want).abs() <= 44.0 * 43.0 * U,
                "{isa}: {t} vs {want}"
            );
        }
    }
}

#[test]
fn zero_dimensions() {
    for isa in isas() {
        // k = 0: the written products write zeros, the accumulating one leaves C.
        let mut c = vec![f32::NAN; 6];
        matmul_nt(isa, 2, 3, 0, &[], &[], &mut c).unwrap();
        assert_eq!(c, [0.0; 6]);
        let mut c = vec![f32::NAN; 6];
        matmul_nn(isa, 2, 3, 0, &[], &[], &mut c).unwrap();
        assert_eq!(c, [0.0; 6]);
        let mut c = vec![1.5; 6];
        matmul_tn_acc(isa, 2, 3, 0, &[], &[], &mut c).unwrap();
        assert_eq!(c, [1.5; 6]);
        // m = 0 or n = 0: nothing to compute; the lengths must still agree.
        for product in PRODUCTS {
            product.run(isa, 0, 3, 4, &[], &[0.0; 12], &mut []).unwrap();
            product.run(isa, 3, 0, 4, &[0.0; 12], &[], &mut []).unwrap();
            product.run(isa, 0, 0, 0, &[], &[], &mut []).unwrap();
            assert_eq!(
                product.run(isa, 0, 3, 4, &[1.0], &[0.0; 12], &mut []),
                Err(Error::LengthMismatch {
                    what: "a",
                    expected: 0,
                    actual: 1
                })
            );
        }
    }
}

#[test]
fn length_and_overflow_errors_write_nothing() {
    for isa in isas() {
        for product in PRODUCTS {
            let (m, n, k) = (3, 4, 5);
            let (a, b) = (vec![1.0; m * k], vec![1.0; n * k]);
            let mut c = vec![7.0; m * n];
            // (a, b, length of c, argument at fault, expected length, actual length)
            #[allow(clippy::type_complexity)]
            let cases: [(&[f32], &[f32], usize, &str, usize, usize); 3] = [
                (&a[1..], &b, m * n, "a", m * k, m * k - 1),
                (&a, &b[..n * k - 2], m * n, "b", n * k, n * k - 2),
                (&a, &b, m * n - 1, "c", m * n, m * n - 1),
            ];
            for (a, b, c_len, what, expected, actual) in cases {
                let err = product
                    .run(isa, m, n, k, a, b, &mut c[..c_len])
                    .unwrap_err();
                assert_eq!(
                    err,
                    Error::LengthMismatch {
                        what,
                        expected,
                        actual
                    }
                );
                assert!(c.iter().all(|v| *v == 7.0), "{product:?} wrote on error");
            }
            // Too long is as wrong as too short.
            let mut long = vec![7.0; m * n + 1];
            assert_eq!(
                product.run(isa, m, n, k, &a, &b, &mut long),
                Err(Error::LengthMismatch {
                    what: "c",
                    expected: m * n,
                    actual: m * n + 1
                })
            );
            assert!(long.iter().all(|v| *v == 7.0));
            // Overflowing products of dimensions.
            let big = usize::MAX / 2 + 1;
            assert_eq!(
                product.run(isa, big, 1, 2, &[], &[], &mut []),
                Err(Error::DimensionOverflow { what: "a" })
            );
            assert_eq!(
                product.run(isa, 0, big, 2, &[], &[], &mut []),
                Err(Error::DimensionOverflow { what: "b" })
            );
            assert_eq!(
                product.run(isa, big, 2, 0, &[], &[], &mut []),
                Err(Error::DimensionOverflow { what: "c" })
            );
        }
    }
}

/// Sub-slices at offsets 1..=3 into larger buffers (so no operand is 32-byte aligned): the
/// same bits as aligned operands, and nothing outside `C` touched.
#[test]
fn unaligned_operands_give_the_same_bits_and_stay_inside() {
    const GUARD: f32 = -12345.5;
    for isa in isas() {
        for product in PRODUCTS {
            for &(m, n, k) in &[
                (1, 13, 11),
                (2, 37, 9),
                (5, 17, 19),
                (7, 70, 3),
                (30, 19, 40),
                (1, 70, 70),
                (1, 263, 9),
            ] {
                let mut rng = Rng::new((m * n * k) as u64);
                let (a, b, c0) = (rng.vec(m * k), rng.vec(n * k), rng.vec(m * n));
                let mut aligned = c0.clone();
                product.run(isa, m, n, k, &a, &b, &mut aligned).unwrap();
                for off in 1..=3 {
                    let pad = |v: &[f32]| {
                        let mut buf = vec![GUARD; v.len() + off + 5];
                        buf[off..off + v.len()].copy_from_slice(v);
                        buf
                    };
                    let (ab, bb, mut cb) = (pad(&a), pad(&b), pad(&c0));
                    product
                        .run(
                            isa,
                            m,
                            n,
                            k,
                            &ab[off..off + m * k],
                            &bb[off..off + n * k],
                            &mut cb[off..off + m * n],
                        )
                        .unwrap();
                    assert_eq!(
                        bits(&cb[off..off + m * n]),
                        bits(&aligned),
                        "{isa} {product:?} {m}x{n}x{k} +{off}"
                    );
                    assert!(cb[..off]
                        .iter()
                        .chain(&cb[off + m * n..])
                        .all(|v| *v == GUARD));
                }
            }
        }
    }
}

#[test]
fn deterministic() {
    for isa in isas() {
        for product in PRODUCTS {
            for &(m, n, k) in &[(1, 784, 128), (33, 65, 129), (200, 33, 600)] {
                let mut rng = Rng::new(11);
                let (a, b, c0) = (rng.vec(m * k), rng.vec(n * k), rng.vec(m * n));
                let (mut c1, mut c2) = (c0.clone(), c0.clone());
                product.run(isa, m, n, k, &a, &b, &mut c1).unwrap();
                product.run(isa, m, n, k, &a, &b, &mut c2).unwrap();
                assert_eq!(bits(&c1), bits(&c2));
            }
        }
    }
}

#[test]
fn nan_and_infinity_propagate() {
    for isa in isas() {
        for product in PRODUCTS {
            for &(m, n, k) in &[(1, 20, 9), (6, 17, 12), (40, 40, 40)] {
                let mut rng = Rng::new(17);
                let (mut a, b) = (rng.vec(m * k), rng.vec(n * k));
                // A NaN in A(i = m − 1, p = 2) poisons row m − 1 of C and nothing else.
                let (ia, _) = product.index(m, n, k, m - 1, 0, 2);
                a[ia] = f32::NAN;
                let mut c = vec![0.0; m * n];
                product.run(isa, m, n, k, &a, &b, &mut c).unwrap();
                for (idx, v) in c.iter().enumerate() {
                    assert_eq!(
                        v.is_nan(),
                        idx / n == m - 1,
                        "{isa} {product:?} {m}x{n}x{k} c[{idx}]"
                    );
                }
                // An infinity gives ±inf in that row (the other terms are finite).
                a[ia] = f32::INFINITY;
                let mut c = vec![0.0; m * n];
                product.run(isa, m, n, k, &a, &b, &mut c).unwrap();
                for (idx, v) in c.iter().enumerate() {
                    assert_eq!(
                        v.is_infinite(),
                        idx / n == m - 1,
                        "{isa} {product:?} c[{idx}]"
                    );
                }
            }
        }
    }
}

#[test]
fn isa_tokens() {
    assert!(Isa::Portable.is_available());
    let detected = Isa::detect();
    assert!(detected.is_available());
    let available: Vec<Isa> = Isa::available().collect();
    assert_eq!(available.first(), Some(&Isa::Scalar));
    assert!(available.contains(&Isa::Portable));
    assert!(available.contains(&detected));
    // Scalar is never the best choice: Portable is available wherever it is.
    assert_ne!(detected, Isa::Scalar);
    assert_eq!(Isa::ALL.len(), 4);
    assert_eq!(Isa::Scalar.name(), "scalar");
    assert_eq!(Isa::Portable.name(), "portable");
    assert_eq!(Isa::Avx2Fma.to_string(), "avx2-fma");
    assert_eq!(Isa::Avx512F.to_string(), "avx512f");
    if cfg!(not(target_arch = "x86_64")) {
        assert!(!Isa::Avx2Fma.is_available());
        assert!(!Isa::Avx512F.is_available());
    }
    // The AVX-512 kernels use AVX2 and FMA for everything but their tiles.
    if Isa::Avx512F.is_available() {
        assert!(Isa::Avx2Fma.is_available());
    }
    // Run-time detection under `std`, the compile-time target features without it.
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        Isa::Avx2Fma.is_available(),
        if cfg!(feature = "std") {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        } else {
            cfg!(all(target_feature = "avx2", target_feature = "fma"))
        }
    );
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        Isa::Avx512F.is_available(),
        Isa::Avx2Fma.is_available()
            && if cfg!(feature = "std") {
                std::arch::is_x86_feature_detected!("avx512f")
            } else {
                cfg!(target_feature = "avx512f")
            }
    );
}

#[cfg(feature = "portable")]
#[test]
fn portable_feature_forces_portable() {
    assert_eq!(Isa::detect(), Isa::Portable);
}

/// Set in the child processes of [`descent_isa_environment_variable`].
const CHILD: &str = "DESCENT_GEMM_TEST_CHILD";

/// `DESCENT_ISA` is read by `Isa::detect` (under `std`). Environment variables are process-global, so this
/// runs the test binary again, once per value, with only the child test selected.
#[test]
fn descent_isa_environment_variable() {
    if let Some(expect) = std::env::var_os(CHILD) {
        // In a child: the parent says what `detect` must return.
        let expect = expect.into_string().unwrap();
        assert_eq!(Isa::detect().name(), expect);
        return;
    }
    let natural = Isa::detect();
    let best = if cfg!(feature = "portable") {
        Isa::Portable
    } else {
        Isa::available().last().unwrap()
    };
    assert_eq!(natural, best);
    // Naming an instruction set selects it where it is available (and `portable` is off).
    let named = |isa: Isa| {
        if isa.is_available() && cfg!(all(feature = "std", not(feature = "portable"))) {
            isa
        } else {
            natural
        }
    };
    // Without `std` the crate does not read the environment.
    let portable = if cfg!(feature = "std") {
        Isa::Portable
    } else {
        natural
    };
    for (value, expect) in [
        ("portable", portable),
        ("PORTABLE", portable),
        ("avx2-fma", named(Isa::Avx2Fma)),
        ("avx512f", named(Isa::Avx512F)),
        ("scalar", named(Isa::Scalar)),
        ("nonsense", natural),
    ] {
        let out = common::this_test_binary()
            .args([
                "--exact",
                "descent_isa_environment_variable",
                "--test-threads=1",
            ])
            .env("DESCENT_ISA", value)
            .env(CHILD, expect.name())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "DESCENT_ISA={value}: {stdout}");
        assert!(
            stdout.contains("1 passed"),
            "the child test did not run: {stdout}"
        );
    }
}

#[test]
fn stack_scratch_is_bounded() {
    let expected = if cfg!(target_arch = "x86_64") {
        16 * 1024
    } else {
        0
    };
    assert_eq!(descent::gemm::STACK_SCRATCH_BYTES, expected);
}
