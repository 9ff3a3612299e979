//! Packing a panel of `B` into a fixed tile on the stack: `kc ≤ KC` rows of `NR = 16`
//! contiguous columns, zero-padded on the right, so the broadcast tile reads it with aligned
//! full-width loads whatever the layout and the edge of `B`.

use core::arch::x86_64::*;
use core::mem::MaybeUninit;

use super::tile::lane_mask;

/// Steps of `k` per packed panel.
pub(super) const KC: usize = 256;
/// Columns per packed panel: two vectors of eight.
pub(super) const NR: usize = 16;

/// A packed panel: `KC` rows of `NR` floats (16 KiB), 64-byte aligned so every row is one
/// cache line. Only the rows written by the last packing are read.
#[repr(C, align(64))]
pub(super) struct Panel(MaybeUninit<[[f32; NR]; KC]>);

impl Panel {
    /// An unwritten panel (no initialisation cost).
    pub(super) fn new() -> Self {
        Panel(MaybeUninit::uninit())
    }

    /// The first float of row 0; row `p` starts `p·NR` floats later.
    pub(super) fn as_mut_ptr(&mut self) -> *mut f32 {
        self.0.as_mut_ptr().cast::<f32>()
    }
}

/// Transposes the 8 × 8 block whose rows are `r`: returns its columns.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // t0 = [r0₀ r1₀ r0₁ r1₁ | r0₄ r1₄ r0₅ r1₅], t1 = [r0₂ r1₂ r0₃ r1₃ | r0₆ r1₆ r0₇ r1₇], …
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    // u0 = [r0₀ r1₀ r2₀ r3₀ | r0₄ r1₄ r2₄ r3₄], u1 = column 1 | 5, …
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Packs a panel of `Bᵀ`: `panel[p][c] = src[c·ld + p]` for `c < cols`, `0` for
/// `cols ≤ c < NR`, `p < kc` (the `B[n, k]` of `C = A·Bᵀ`, `src` at `B[jc, pc]`).
///
/// # Safety
/// * The CPU supports AVX2 and FMA.
/// * `1 ≤ kc ≤ KC`, `1 ≤ cols ≤ NR`; for `c < cols`, `src + c·ld + [0, kc)` is readable.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn pack_transposed(
    panel: &mut Panel,
    src: *const f32,
    ld: usize,
    cols: usize,
    kc: usize,
) {
    let dst = panel.as_mut_ptr();
    let kc8 = kc / 8 * 8;
    for c0 in [0, 8] {
        if c0 + 8 <= cols {
            // Eight full source rows: 8 × 8 transposes, then the tail of `kc` one by one.
            let mut p0 = 0;
            while p0 < kc8 {
                let mut rows = [_mm256_setzero_ps(); 8];
                for (i, row) in rows.iter_mut().enumerate() {
                    // SAFETY: row `c0 + i < cols` has `kc ≥ p0 + 8` readable floats.
                    *row = unsafe { _mm256_loadu_ps(src.wrapping_add((c0 + i) * ld + p0)) };
                }
                for (t, col) in transpose8(rows).into_iter().enumerate() {
                    // SAFETY: panel row `p0 + t < kc ≤ KC`, lanes `c0..c0 + 8 ≤ NR`.
                    unsafe { _mm256_store_ps(dst.wrapping_add((p0 + t) * NR + c0), col) };
                }
                p0 += 8;
            }
            for p in kc8..kc {
                for i in 0..8 {
                    // SAFETY: source row `c0 + i < cols`, `p < kc`; panel row `p < KC`.
                    unsafe {
                        *dst.wrapping_add(p * NR + c0 + i) = *src.wrapping_add((c0 + i) * ld + p);
                    }
                }
            }
        } else {
            // Fewer than eight source rows left (maybe none): copy them, pad with zeros.
            for p in 0..kc {
                for i in 0..8 {
                    let v = if c0 + i < cols {
                        // SAFETY: source row `c0 + i < cols`, `p < kc`.
                        unsafe { *src.wrapping_add((c0 + i) * ld + p) }
                    } else {
                        0.0
                    };
                    // SAFETY: panel row `p < KC`, lane `c0 + i < NR`.
                    unsafe { *dst.wrapping_add(p * NR + c0 + i) = v };
                }
            }
        }
    }
}

/// Packs a panel of `B` as it is: `panel[p][c] = src[p·ld + c]` for `c < cols`, `0` for
/// `cols ≤ c < NR`, `p < kc` (the `B[k, n]` of `A·B` and `Aᵀ·B`, `src` at `B[pc, jc]`).
///
/// # Safety
/// * The CPU supports AVX2 and FMA.
/// * `1 ≤ kc ≤ KC`, `1 ≤ cols ≤ NR`; for `p < kc`, `src + p·ld + [0, cols)` is readable.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn pack_rows(
    panel: &mut Panel,
    src: *const f32,
    ld: usize,
    cols: usize,
    kc: usize,
) {
    let dst = panel.as_mut_ptr();
    let mask0 = lane_mask(cols);
    let mask1 = lane_mask(cols.saturating_sub(8));
    for p in 0..kc {
        let s = src.wrapping_add(p * ld);
        let (lo, hi) = if cols == NR {
            // SAFETY: sixteen readable floats in row `p`.
            unsafe { (_mm256_loadu_ps(s), _mm256_loadu_ps(s.wrapping_add(8))) }
        } else if cols > 8 {
            // SAFETY: the masks select the first `cols` floats of row `p`, which are readable.
            unsafe {
                (
                    _mm256_maskload_ps(s, mask0),
                    _mm256_maskload_ps(s.wrapping_add(8), mask1),
                )
            }
        } else {
            // SAFETY: the mask selects the first `cols ≥ 1` floats of row `p`.
            (unsafe { _mm256_maskload_ps(s, mask0) }, _mm256_setzero_ps())
        };
        // SAFETY: panel row `p < KC`; its 64-byte alignment makes both stores aligned.
        unsafe {
            _mm256_store_ps(dst.wrapping_add(p * NR), lo);
            _mm256_store_ps(dst.wrapping_add(p * NR + 8), hi);
        }
    }
}
