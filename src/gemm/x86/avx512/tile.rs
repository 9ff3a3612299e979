//! The AVX-512 broadcast micro-kernel: a register tile of `C`, `ROWS` rows × 16 columns (one
//! `zmm` per row), updated by `Σ_p A(r, p) · B[p, ·]` with one broadcast of `A` per row and one
//! load of `B` per step.
//!
//! AVX-512 has 32 vector registers, so the tile can be twice as tall as the AVX2 one
//! (6 × 16 in two `ymm` per row): each row of the panel of `B` is then loaded once for twice
//! as many rows of `C`. The last columns of a panel read in place are masked by a
//! `__mmask16`, which never touches the masked-off lanes.

use core::arch::x86_64::*;

use super::super::tile::{prefetch, TileArgs, Update};

/// The first `valid` lanes (all sixteen when `valid ≥ 16`).
#[inline]
fn lane_mask(valid: usize) -> __mmask16 {
    if valid >= 16 {
        u16::MAX
    } else {
        (1u16 << valid) - 1
    }
}

/// `C[r, q] (=|+=) Σ_{p < kc} A(r, p)·B[p, q] (+ bias[q])` for `r < ROWS`, `q < cols`.
///
/// With `MASKED_B` the loads of `B` read only the first `cols` columns of each row; without
/// it they read all 16 (a packed, zero-padded panel, or a full panel in place).
///
/// # Safety
/// * The CPU supports AVX-512F.
/// * `1 ≤ cols ≤ 16`, `kc ≥ 1`.
/// * For `r < ROWS`, `p < kc`: `A(r, p)` is readable.
/// * For `p < kc`: `b + p·ldb + q` is readable for `q < 16` (`q < cols` with `MASKED_B`).
/// * For `r < ROWS`, `q < cols`: `c + r·ldc + q` is writable, and readable with
///   [`Update::Add`]; the bias, when not null, is readable for `q < cols`.
/// * `C` does not overlap `A`, `B` or the bias.
#[target_feature(enable = "avx512f")]
pub(in crate::gemm::x86) unsafe fn tile<const ROWS: usize, const MASKED_B: bool>(t: TileArgs) {
    // The rows of `A` adjacent in memory (`C += Aᵀ·B`, `A` read in place) get their own copy,
    // which addresses them at constant offsets from one pointer. With a stride known only at
    // run time the compiler chains one pointer addition per row through every step, as many
    // dependent additions as the step has FMAs (docs/PERFORMANCE.md, "Register tiles").
    // SAFETY: the caller's contract.
    unsafe {
        if t.rs_a == 1 {
            tile_rs::<ROWS, MASKED_B, true>(t)
        } else {
            tile_rs::<ROWS, MASKED_B, false>(t)
        }
    }
}

/// [`tile`]; with `UNIT_RS`, for `t.rs_a = 1`.
///
/// # Safety
/// As [`tile`].
#[target_feature(enable = "avx512f")]
unsafe fn tile_rs<const ROWS: usize, const MASKED_B: bool, const UNIT_RS: bool>(t: TileArgs) {
    let rs_a = if UNIT_RS { 1 } else { t.rs_a };
    let mask = lane_mask(t.cols);
    // As the AVX2 tile: fetch the tile of `C` while a long sum runs.
    if t.kc >= 64 {
        for r in 0..ROWS {
            let c_r = t.c.wrapping_add(r * t.ldc);
            prefetch(c_r);
            prefetch(c_r.wrapping_add(t.cols - 1));
        }
    }
    let mut acc = [_mm512_setzero_ps(); ROWS];
    let mut a_p = t.a;
    let mut b_p = t.b;
    for _ in 0..t.kc {
        let bv = if MASKED_B {
            // SAFETY: the mask selects the first `cols` columns of row `p` of `B`, which are
            // readable; masked-off lanes are not accessed.
            unsafe { _mm512_maskz_loadu_ps(mask, b_p) }
        } else {
            // SAFETY: row `p` of `B` has 16 readable columns.
            unsafe { _mm512_loadu_ps(b_p) }
        };
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: `a_p + r·rs_a` is `A(r, p)` with `r < ROWS`, `p < kc`: readable.
            let av = _mm512_set1_ps(unsafe { *a_p.wrapping_add(r * rs_a) });
            *acc_r = _mm512_fmadd_ps(av, bv, *acc_r);
        }
        // Wrapping: after the last step these may point past `A` or `B`; they are not read.
        a_p = a_p.wrapping_add(t.cs_a);
        b_p = b_p.wrapping_add(t.ldb);
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let c_r = t.c.wrapping_add(r * t.ldc);
        let sum = match t.update {
            Update::Write(bias) if bias.is_null() => *acc_r,
            Update::Write(bias) => {
                // SAFETY: the mask selects the first `cols` columns of the bias: readable.
                _mm512_add_ps(*acc_r, unsafe { _mm512_maskz_loadu_ps(mask, bias) })
            }
            Update::Add => {
                // SAFETY: the mask selects the first `cols` columns of row `r` of `C`.
                _mm512_add_ps(unsafe { _mm512_maskz_loadu_ps(mask, c_r) }, *acc_r)
            }
        };
        // SAFETY: the mask selects the first `cols` columns of row `r` of `C`: writable.
        unsafe { _mm512_mask_storeu_ps(c_r, mask, sum) };
    }
}
