//! The dot micro-kernel for `C = A·Bᵀ` read in place: both operands are contiguous along `k`,
//! so a tile of `R × S` dot products runs eight lanes along `k` (the tail through a masked
//! load), then reduces each accumulator horizontally. No packing, so it suits a small `m`
//! (the matrix-vector product of a batch of one reads each weight once) and a long `k`.

use core::arch::x86_64::*;

use super::tile::{lane_mask, Update};

/// The operands of one dot tile, as pointers and strides (in elements).
#[derive(Clone, Copy, Debug)]
pub(super) struct DotArgs {
    /// Length of the dot products (`k ≥ 1`).
    pub k: usize,
    /// Row `r` of `A` starts at `a + r·lda`.
    pub a: *const f32,
    /// Row stride of `A`.
    pub lda: usize,
    /// Row `s` of `B` starts at `b + s·ldb`.
    pub b: *const f32,
    /// Row stride of `B`.
    pub ldb: usize,
    /// `C[r, s]` is at `c + r·ldc + s`.
    pub c: *mut f32,
    /// Row stride of `C`.
    pub ldc: usize,
    /// Write (with bias) or accumulate.
    pub update: Update,
}

/// The sums of the eight lanes of each of `v0..v3`, in that order.
///
/// Each sum is `((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsum4(v0: __m256, v1: __m256, v2: __m256, v3: __m256) -> __m128 {
    // [v0₀₁ v0₂₃ v1₀₁ v1₂₃ | v0₄₅ v0₆₇ v1₄₅ v1₆₇]
    let t0 = _mm256_hadd_ps(v0, v1);
    let t1 = _mm256_hadd_ps(v2, v3);
    // [v0₀₋₃ v1₀₋₃ v2₀₋₃ v3₀₋₃ | v0₄₋₇ v1₄₋₇ v2₄₋₇ v3₄₋₇]
    let t2 = _mm256_hadd_ps(t0, t1);
    _mm_add_ps(_mm256_castps256_ps128(t2), _mm256_extractf128_ps::<1>(t2))
}

/// The horizontal sums of the first `S ≤ 8` accumulators, in the first `S` entries.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn hsums<const S: usize>(acc: &[__m256; S]) -> [f32; 8] {
    let mut padded = [_mm256_setzero_ps(); 8];
    for (dst, src) in padded.iter_mut().zip(acc) {
        *dst = *src;
    }
    let mut out = [0.0f32; 8];
    let lo = hsum4(padded[0], padded[1], padded[2], padded[3]);
    // SAFETY: `out` has eight floats; this writes the first four.
    unsafe { _mm_storeu_ps(out.as_mut_ptr(), lo) };
    if S > 4 {
        let hi = hsum4(padded[4], padded[5], padded[6], padded[7]);
        // SAFETY: writes `out[4..8]`.
        unsafe { _mm_storeu_ps(out.as_mut_ptr().wrapping_add(4), hi) };
    }
    out
}

/// `C[r, s] (=|+=) Σ_{p < k} A[r, p]·B[s, p] (+ bias[s])` for `r < R`, `s < S ≤ 8`.
///
/// # Safety
/// * The CPU supports AVX2 and FMA.
/// * `k ≥ 1`; rows `r < R` of `A` and `s < S` of `B` have `k` readable floats.
/// * For `r < R`, `s < S`: `c + r·ldc + s` is writable, and readable with [`Update::Add`];
///   the bias, when not null, is readable for `s < S`.
/// * `C` does not overlap `A`, `B` or the bias.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot_tile<const R: usize, const S: usize>(t: DotArgs) {
    let mut acc = [[_mm256_setzero_ps(); S]; R];
    let mut p = 0;
    while p + 8 <= t.k {
        let mut bv = [_mm256_setzero_ps(); S];
        for (s, bv_s) in bv.iter_mut().enumerate() {
            // SAFETY: `p + 8 ≤ k`: eight readable floats of row `s` of `B`.
            *bv_s = unsafe { _mm256_loadu_ps(t.b.wrapping_add(s * t.ldb + p)) };
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: `p + 8 ≤ k`: eight readable floats of row `r` of `A`.
            let av = unsafe { _mm256_loadu_ps(t.a.wrapping_add(r * t.lda + p)) };
            for (acc_rs, bv_s) in acc_r.iter_mut().zip(&bv) {
                *acc_rs = _mm256_fmadd_ps(av, *bv_s, *acc_rs);
            }
        }
        p += 8;
    }
    if p < t.k {
        // The tail of `k − p < 8` floats; the other lanes load as zero.
        let mask = lane_mask(t.k - p);
        let mut bv = [_mm256_setzero_ps(); S];
        for (s, bv_s) in bv.iter_mut().enumerate() {
            // SAFETY: the mask selects the `k − p ≥ 1` readable floats left in row `s`.
            *bv_s = unsafe { _mm256_maskload_ps(t.b.wrapping_add(s * t.ldb + p), mask) };
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: as above, for row `r` of `A`.
            let av = unsafe { _mm256_maskload_ps(t.a.wrapping_add(r * t.lda + p), mask) };
            for (acc_rs, bv_s) in acc_r.iter_mut().zip(&bv) {
                *acc_rs = _mm256_fmadd_ps(av, *bv_s, *acc_rs);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let sums = hsums(acc_r);
        for (s, sum) in sums.iter().take(S).enumerate() {
            let out = t.c.wrapping_add(r * t.ldc + s);
            // SAFETY: `C[r, s]` (r < R, s < S) is writable (and readable for `Add`); the bias
            // is readable at `s < S` when not null.
            unsafe {
                *out = match t.update {
                    Update::Write(bias) if bias.is_null() => *sum,
                    Update::Write(bias) => *sum + *bias.wrapping_add(s),
                    Update::Add => *out + *sum,
                };
            }
        }
    }
}
