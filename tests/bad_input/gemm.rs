//! Bad-input rows of `descent::gemm`: the three matrix products.

use descent::gemm::{matmul_nn, matmul_nt, matmul_tn_acc};
use descent::Isa;

use crate::harness::*;

pub(crate) type Product =
    fn(Isa, usize, usize, usize, &[f32], &[f32], &mut [f32]) -> descent::Result<()>;

/// A product with these dimensions and lengths; `accumulates` says whether `c` is read.
pub(crate) fn run_product(
    f: Product,
    accumulates: bool,
    (m, n, k): (usize, usize, usize),
    (a, b, c): (usize, usize, usize),
) -> Outcome {
    let mut out = if accumulates { pattern(c) } else { sentinel(c) };
    let r = f(Isa::detect(), m, n, k, &pattern(a), &pattern(b), &mut out);
    let untouched = if accumulates {
        is_pattern(&out)
    } else {
        is_sentinel(&out)
    };
    core(r, untouched)
}

pub(crate) fn rows(t: &mut Table) {
    t.module("gemm");
    let products: [(&'static str, Product, bool); 3] = [
        ("matmul_nt", matmul_nt, false),
        ("matmul_tn_acc", matmul_tn_acc, true),
        ("matmul_nn", matmul_nn, false),
    ];
    let (m, n, k) = (3, 4, 5);
    let (a, b, c) = (m * k, n * k, m * n);
    for (name, f, acc) in products {
        for actual in wrong(a) {
            t.row(
                format!("{name}: a len {actual}"),
                len("a", a, actual),
                move || run_product(f, acc, (m, n, k), (actual, b, c)),
            );
        }
        for actual in wrong(b) {
            t.row(
                format!("{name}: b len {actual}"),
                len("b", b, actual),
                move || run_product(f, acc, (m, n, k), (a, actual, c)),
            );
        }
        for actual in wrong(c) {
            t.row(
                format!("{name}: c len {actual}"),
                len("c", c, actual),
                move || run_product(f, acc, (m, n, k), (a, b, actual)),
            );
        }
        // Zero dimensions are allowed here (an empty product); only the lengths must agree.
        t.row(
            format!("{name}: m = 0 with a non-empty a"),
            len("a", 0, a),
            move || run_product(f, acc, (0, n, k), (a, b, 0)),
        );
        t.row(
            format!("{name}: m = usize::MAX (a overflows)"),
            overflow("a"),
            move || run_product(f, acc, (usize::MAX, 1, 2), (0, 2, 0)),
        );
        t.row(
            format!("{name}: n = usize::MAX (b overflows)"),
            overflow("b"),
            move || run_product(f, acc, (1, usize::MAX, 2), (2, 0, 0)),
        );
        t.row(
            format!("{name}: m = usize::MAX, k = 0 (c overflows)"),
            overflow("c"),
            move || run_product(f, acc, (usize::MAX, 2, 0), (0, 0, 0)),
        );
    }
}
