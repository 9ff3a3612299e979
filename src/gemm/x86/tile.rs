//! The broadcast micro-kernel: a register tile of `C`, `ROWS` rows × `8·NV` columns, updated
//! by `Σ_p A(r, p) · B[p, ·]` with one broadcast of `A` and `NV` vector loads of `B` per step.
//!
//! With `ROWS = 6, NV = 2` it holds 12 accumulators, enough independent FMA chains to cover
//! the FMA latency (4 cycles × 2 units on Zen 3 / Haswell) with registers to spare for the
//! two rows of `B` and the broadcast.

use core::arch::x86_64::*;

/// How a tile updates its part of `C`.
#[derive(Clone, Copy, Debug)]
pub(super) enum Update {
    /// `C = acc + bias` (the bias row starts at the pointer; null for none). `C` is not read.
    Write(*const f32),
    /// `C = C + acc`.
    Add,
}

/// All-ones in the first `valid` lanes (all eight when `valid ≥ 8`), zero in the others.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) fn lane_mask(valid: usize) -> __m256i {
    let valid = valid.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(valid),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// Loads the lanes of `mask` from `p` (all eight when `full`), zero in the others.
///
/// # Safety
/// `p..p + 8` readable when `full`, otherwise the lanes selected by `mask` (which must be a
/// prefix mask from [`lane_mask`] with at least one lane set, so `p` lies inside the
/// allocation).
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn load_lanes(p: *const f32, mask: __m256i, full: bool) -> __m256 {
    if full {
        // SAFETY: the caller guarantees eight readable floats at `p`.
        unsafe { _mm256_loadu_ps(p) }
    } else {
        // SAFETY: masked-off lanes are not accessed; the selected ones are readable.
        unsafe { _mm256_maskload_ps(p, mask) }
    }
}

/// Stores the lanes of `mask` of `v` to `p` (all eight when `full`).
///
/// # Safety
/// As [`load_lanes`], with writable in place of readable.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn store_lanes(p: *mut f32, v: __m256, mask: __m256i, full: bool) {
    if full {
        // SAFETY: the caller guarantees eight writable floats at `p`.
        unsafe { _mm256_storeu_ps(p, v) }
    } else {
        // SAFETY: masked-off lanes are not accessed; the selected ones are writable.
        unsafe { _mm256_maskstore_ps(p, mask, v) }
    }
}

/// The operands of one tile, as pointers and strides (in elements).
#[derive(Clone, Copy, Debug)]
pub(super) struct TileArgs {
    /// Steps of the sum (`kc ≥ 1`).
    pub kc: usize,
    /// `A(r, p)` is at `a + r·rs_a + p·cs_a`.
    pub a: *const f32,
    /// Row stride of `A`.
    pub rs_a: usize,
    /// Column (step) stride of `A`.
    pub cs_a: usize,
    /// `B[p, q]` is at `b + p·ldb + q`.
    pub b: *const f32,
    /// Row stride of `B`.
    pub ldb: usize,
    /// `C[r, q]` is at `c + r·ldc + q`.
    pub c: *mut f32,
    /// Row stride of `C`.
    pub ldc: usize,
    /// Columns of `C` to update, `8·(NV − 1) < cols ≤ 8·NV`.
    pub cols: usize,
    /// Write or accumulate.
    pub update: Update,
}

impl TileArgs {
    /// The same operands from row `i` of `A` and `C` on. Wrapping arithmetic: the pointers
    /// are only read by a tile whose rows lie inside the operands.
    pub(in crate::gemm::x86) fn at_row(self, i: usize) -> TileArgs {
        TileArgs {
            a: self.a.wrapping_add(i * self.rs_a),
            c: self.c.wrapping_add(i * self.ldc),
            ..self
        }
    }
}

/// Asks the CPU to bring the cache line of `p` into L1 (`prefetcht0`).
#[inline(always)]
pub(super) fn prefetch(p: *const f32) {
    // SAFETY: a prefetch is only a hint: it cannot fault on any address and reads nothing into
    // the program. `_mm_prefetch` needs only SSE, which every x86_64 CPU has. (It is a safe
    // function in current Rust, an unsafe one in 1.89, the crate's minimum: hence the allow.)
    #[allow(unused_unsafe)]
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
}

/// `C[r, q] (=|+=) Σ_{p < kc} A(r, p)·B[p, q] (+ bias[q])` for `r < ROWS`, `q < cols`.
///
/// With `MASKED_B` the loads of `B` read only the first `cols` columns of each row (for a
/// panel read in place at the right edge of `B`); without it they read all `8·NV` (a packed,
/// zero-padded panel, or a full panel in place).
///
/// # Safety
/// * The CPU supports AVX2 and FMA.
/// * `8·(NV − 1) < cols ≤ 8·NV`, `kc ≥ 1`.
/// * For `r < ROWS`, `p < kc`: `A(r, p)` is readable.
/// * For `p < kc`: `b + p·ldb + q` is readable for `q < 8·NV` (`q < cols` with `MASKED_B`).
/// * For `r < ROWS`, `q < cols`: `c + r·ldc + q` is writable, and readable with
///   [`Update::Add`]; the bias, when not null, is readable for `q < cols`.
/// * `C` does not overlap `A`, `B` or the bias.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile<const ROWS: usize, const NV: usize, const MASKED_B: bool>(t: TileArgs) {
    let mut masks = [_mm256_setzero_si256(); NV];
    let mut full = [true; NV];
    for v in 0..NV {
        masks[v] = lane_mask(t.cols.saturating_sub(8 * v));
        full[v] = t.cols >= 8 * (v + 1);
    }
    // Fetch the tile of `C` while the sum runs: it is read (or written) only at the end, and
    // a large `C` is out of cache by then, which would stall every tile on its misses. A short
    // sum has no time to hide the fetch, and its `C` is small: there the prefetches are only
    // instructions, so it skips them (docs/PERFORMANCE.md, "Memory access").
    if t.kc >= 64 {
        for r in 0..ROWS {
            let c_r = t.c.wrapping_add(r * t.ldc);
            prefetch(c_r);
            prefetch(c_r.wrapping_add(t.cols - 1));
        }
    }
    let mut acc = [[_mm256_setzero_ps(); NV]; ROWS];
    let mut a_p = t.a;
    let mut b_p = t.b;
    for _ in 0..t.kc {
        let mut bv = [_mm256_setzero_ps(); NV];
        for v in 0..NV {
            bv[v] = if MASKED_B {
                // SAFETY: `8·v < cols`, so `b_p + 8v` is in row `p` of `B`, whose first `cols`
                // columns are readable; `lane_mask` selects only those.
                unsafe { load_lanes(b_p.wrapping_add(8 * v), masks[v], full[v]) }
            } else {
                // SAFETY: row `p` of `B` has `8·NV` readable columns.
                unsafe { _mm256_loadu_ps(b_p.wrapping_add(8 * v)) }
            };
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            // SAFETY: `a_p + r·rs_a` is `A(r, p)` with `r < ROWS`, `p < kc`: readable.
            let av = unsafe { _mm256_broadcast_ss(&*a_p.wrapping_add(r * t.rs_a)) };
            for (acc_rv, bv_v) in acc_r.iter_mut().zip(&bv) {
                *acc_rv = _mm256_fmadd_ps(av, *bv_v, *acc_rv);
            }
        }
        // Wrapping: after the last step these may point past `A` or `B`; they are not read.
        a_p = a_p.wrapping_add(t.cs_a);
        b_p = b_p.wrapping_add(t.ldb);
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let c_r = t.c.wrapping_add(r * t.ldc);
        for v in 0..NV {
            let c_rv = c_r.wrapping_add(8 * v);
            let sum = match t.update {
                Update::Write(bias) if bias.is_null() => acc_r[v],
                Update::Write(bias) => {
                    // SAFETY: the bias is readable for the first `cols` columns; the mask
                    // selects those of vector `v`, which has at least one since `8v < cols`.
                    let bv = unsafe { load_lanes(bias.wrapping_add(8 * v), masks[v], full[v]) };
                    _mm256_add_ps(acc_r[v], bv)
                }
                Update::Add => {
                    // SAFETY: `C[r, 8v..]` is readable for the columns the mask selects.
                    let old = unsafe { load_lanes(c_rv, masks[v], full[v]) };
                    _mm256_add_ps(old, acc_r[v])
                }
            };
            // SAFETY: `C[r, 8v..]` is writable for the columns the mask selects.
            unsafe { store_lanes(c_rv, sum, masks[v], full[v]) };
        }
    }
}
