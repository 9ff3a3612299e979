//! `C (=|+=) A·B` for short sums (`k ≤ 8`), row by row: `C` is the traffic (read and written
//! once, `k` multiply-adds per element), so each row is one pass over contiguous memory.
//!
//! A row of `C` is `C[i, ·] (=|+=) Σ_p A(i, p) · B[p, ·]`: the `k` coefficients of the row
//! are broadcast once, then each vector of the row takes `k` loads of `B` and `k` FMAs, the
//! columns walked from the row's 32-byte boundary ([`super::columns`]). Every element is
//! summed in the same order as the broadcast tiles' (`acc = 0`, then
//! `acc = A(i, p)·B[p, j] + acc` fused, then `C = C + acc` or `C = acc + bias`).

use core::arch::x86_64::*;
use core::ptr;

use super::columns::walk_columns;
use super::tile::Update;
use super::Ptrs;

/// The most steps [`short_sum`] takes.
pub(super) const MAX_K: usize = 8;

/// `C (=|+=) A·B` with `A(i, p) = a[i·rs_a + p·cs_a]`, `B` `[k, n]` row-major, `k ≤ MAX_K`.
///
/// # Safety
/// `p` from checked operands (`A(i, p)` inside `a` for `i < m`, `p < k`; `B` `[k, n]`;
/// `C` `[m, n]` writable, readable with [`Update::Add`]; a non-null bias has `n` floats);
/// `1 ≤ k ≤ MAX_K`; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn short_sum(p: Ptrs, rs_a: usize, cs_a: usize, update: Update) {
    // One loop per number of steps and kind of update, so the inner loop has neither.
    macro_rules! by_update {
        ($k:literal) => {
            match update {
                Update::Add => rows::<$k, ADD>(p, rs_a, cs_a, ptr::null()),
                Update::Write(bias) if bias.is_null() => {
                    rows::<$k, WRITE>(p, rs_a, cs_a, ptr::null())
                }
                Update::Write(bias) => rows::<$k, WRITE_BIAS>(p, rs_a, cs_a, bias),
            }
        };
    }
    // SAFETY: the caller's contract, with `K = k`.
    unsafe {
        match p.k {
            1 => by_update!(1),
            2 => by_update!(2),
            3 => by_update!(3),
            4 => by_update!(4),
            5 => by_update!(5),
            6 => by_update!(6),
            7 => by_update!(7),
            8 => by_update!(8),
            _ => {}
        }
    }
}

/// `C = C + acc`.
const ADD: u8 = 0;
/// `C = acc`.
const WRITE: u8 = 1;
/// `C = acc + bias`.
const WRITE_BIAS: u8 = 2;

/// [`short_sum`] with `k = K` and the update `MODE` (`bias` read only with `WRITE_BIAS`).
///
/// # Safety
/// As [`short_sum`], with `p.k = K` and a bias of `n` floats for `WRITE_BIAS`.
#[target_feature(enable = "avx2,fma")]
unsafe fn rows<const K: usize, const MODE: u8>(
    p: Ptrs,
    rs_a: usize,
    cs_a: usize,
    bias: *const f32,
) {
    let n = p.n;
    for i in 0..p.m {
        let a_row = p.a.wrapping_add(i * rs_a);
        let c_row = p.c.wrapping_add(i * n);
        // SAFETY: `A(i, q)` with `i < m`, `q < K = k` is inside `a`.
        let coef: [f32; K] = core::array::from_fn(|q| unsafe { *a_row.wrapping_add(q * cs_a) });
        let coef_v = coef.map(|c| _mm256_set1_ps(c));
        // One column `j < n`.
        let one = |j: usize| {
            let mut acc = _mm_setzero_ps();
            for (q, c) in coef.iter().enumerate() {
                // SAFETY: `B[q, j]` with `q < k`, `j < n` is inside `b`.
                let b = unsafe { _mm_load_ss(p.b.wrapping_add(q * n + j)) };
                acc = _mm_fmadd_ss(_mm_set_ss(*c), b, acc);
            }
            let c_j = c_row.wrapping_add(j);
            // SAFETY: `C[i, j]` is inside `c` (readable for `ADD`), `bias[j]` inside the
            // bias for `WRITE_BIAS`.
            unsafe {
                let sum = match MODE {
                    ADD => _mm_add_ss(_mm_load_ss(c_j), acc),
                    WRITE => acc,
                    _ => _mm_add_ss(acc, _mm_load_ss(bias.wrapping_add(j))),
                };
                _mm_store_ss(c_j, sum);
            }
        };
        // Eight columns `j..j + 8 ≤ n`.
        let eight = |j: usize| {
            let mut acc = _mm256_setzero_ps();
            for (q, c) in coef_v.iter().enumerate() {
                // SAFETY: `B[q, j..j + 8]` with `q < k`, `j + 8 ≤ n` is inside `b`.
                let b = unsafe { _mm256_loadu_ps(p.b.wrapping_add(q * n + j)) };
                acc = _mm256_fmadd_ps(*c, b, acc);
            }
            let c_j = c_row.wrapping_add(j);
            // SAFETY: `C[i, j..j + 8]` is inside `c`, the bias likewise for `WRITE_BIAS`.
            unsafe {
                let sum = match MODE {
                    ADD => _mm256_add_ps(_mm256_loadu_ps(c_j), acc),
                    WRITE => acc,
                    _ => _mm256_add_ps(acc, _mm256_loadu_ps(bias.wrapping_add(j))),
                };
                _mm256_storeu_ps(c_j, sum);
            }
        };
        walk_columns(c_row, n, one, eight);
    }
}
