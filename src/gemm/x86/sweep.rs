//! `c = a·B` for a single long row of `C` (`C = A·B` with `m = 1`: the input gradient of a
//! batch of one), swept over `B` four rows at a time.
//!
//! One row of `C` is `c[j] = Σ_q a[q]·B[q, j]`: every element of `B` is used once, so reading
//! `B` is the cost. Column strips (the few-row tiles) read `B` down its rows, one short run per
//! row; this reads four rows of `B` side by side, front to back, and keeps `c` (a few KiB) in
//! L1 between the passes. Each element is still summed in the tiles' order: `acc = 0`, then
//! `acc = a[q]·B[q, j] + acc` fused for `q = 0, 1, …`, stored as `f32` between passes (where the
//! tiles keep it in a register, also as `f32`), so the bits are the same.
//!
//! The sweep is faster than the few-row tiles from rows of [`MIN_N`] columns on; a shorter row
//! does not pay for a pass over it per four steps (docs/PERFORMANCE.md, "Strategies by shape").

use core::arch::x86_64::*;

use super::columns::walk_columns;
use super::Ptrs;

/// The shortest row of `C` that is swept.
pub(super) const MIN_N: usize = 256;

/// Steps of the sum per pass over `c`.
const STEPS: usize = 4;

/// `c = a·B`, `A(0, q) = a[q·cs_a]`, `B` `[k, n]` row-major; `c` is overwritten.
///
/// # Safety
/// `p` from checked operands of `C = A·B` with `p.m = 1` (`A(0, q)` inside `a` for `q < k`;
/// `B` `[k, n]`; `C` `[1, n]` writable); the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn sweep_row(p: Ptrs, cs_a: usize) {
    // SAFETY: for every call, steps `q..q + R ≤ k`; the rest is this function's contract.
    unsafe {
        match p.k.min(STEPS) {
            4 => pass::<4, true>(p, cs_a, 0),
            3 => pass::<3, true>(p, cs_a, 0),
            2 => pass::<2, true>(p, cs_a, 0),
            1 => pass::<1, true>(p, cs_a, 0),
            _ => return,
        }
        let mut q = p.k.min(STEPS);
        while q + STEPS <= p.k {
            pass::<4, false>(p, cs_a, q);
            q += STEPS;
        }
        match p.k - q {
            3 => pass::<3, false>(p, cs_a, q),
            2 => pass::<2, false>(p, cs_a, q),
            1 => pass::<1, false>(p, cs_a, q),
            _ => {}
        }
    }
}

/// One pass: `c[j] = Σ_{r < R} a[q + r]·B[q + r, j] + (FIRST ? 0 : c[j])`, fused in order of
/// `r`, over the columns as [`walk_columns`] orders them.
///
/// # Safety
/// As [`sweep_row`], with `q + R ≤ k`.
#[target_feature(enable = "avx2,fma")]
unsafe fn pass<const R: usize, const FIRST: bool>(p: Ptrs, cs_a: usize, q: usize) {
    let n = p.n;
    // SAFETY: `A(0, q + r)` with `q + r < k` is inside `a`.
    let coef: [f32; R] = core::array::from_fn(|r| unsafe { *p.a.wrapping_add((q + r) * cs_a) });
    let coef_v = coef.map(|c| _mm256_set1_ps(c));
    let rows: [*const f32; R] = core::array::from_fn(|r| p.b.wrapping_add((q + r) * n));
    // One column `j < n`.
    let one = |j: usize| {
        let c_j = p.c.wrapping_add(j);
        // SAFETY: `c[j]` and `B[q + r, j]` (`j < n`, `q + r < k`) are inside the operands.
        unsafe {
            let mut acc = if FIRST {
                _mm_setzero_ps()
            } else {
                _mm_load_ss(c_j)
            };
            for (c, row) in coef.iter().zip(&rows) {
                acc = _mm_fmadd_ss(_mm_set_ss(*c), _mm_load_ss(row.wrapping_add(j)), acc);
            }
            _mm_store_ss(c_j, acc);
        }
    };
    // Eight columns `j..j + 8 ≤ n`.
    let eight = |j: usize| {
        let c_j = p.c.wrapping_add(j);
        // SAFETY: `c[j..j + 8]` and `B[q + r, j..j + 8]` (`j + 8 ≤ n`, `q + r < k`) are
        // inside the operands.
        unsafe {
            let mut acc = if FIRST {
                _mm256_setzero_ps()
            } else {
                _mm256_loadu_ps(c_j)
            };
            for (c, row) in coef_v.iter().zip(&rows) {
                acc = _mm256_fmadd_ps(*c, _mm256_loadu_ps(row.wrapping_add(j)), acc);
            }
            _mm256_storeu_ps(c_j, acc);
        }
    };
    walk_columns(p.c, n, one, eight);
}
