//! Bad-input rows of `descent::simd`.

use crate::harness::*;

pub(crate) fn rows(t: &mut Table) {
    t.module("simd");
    for actual in wrong(N) {
        t.row(
            format!("axpy: y len {actual}"),
            len("y", N, actual),
            move || {
                let mut y = pattern(actual);
                core(
                    descent::simd::axpy(0.5, &pattern(N), &mut y),
                    is_pattern(&y),
                )
            },
        );
    }
}
