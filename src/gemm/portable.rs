//! The portable kernels: safe code over [`f32x8`], with no packing and no scratch memory.
//! They run where `f32x8` lives in SIMD registers (SSE2, NEON, `simd128`); on targets without
//! SIMD, [`Isa::Portable`](super::Isa::Portable) runs the scalar tiles of `super::scalar`.
//!
//! * `C = A·Bᵀ`: both operands are contiguous along `k`, so a tile of 2 × 2 dot products runs
//!   eight lanes along `k` and reduces them horizontally at the end.
//! * `C = A·B` and `C += Aᵀ·B`: `B` is contiguous along `n`, so a tile of 4 rows × 8 columns
//!   multiplies one vector row of `B` by four broadcast elements of `A` per step of `k`.
//!
//! Every element of `C` is one sum over `k` in a fixed order, so results are deterministic.

use core::num::NonZeroUsize;

use super::{Kernel, Operands};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{self, f32x8, load_partial_in, store_partial_in, Lanes as _, LANES};

/// The portable instruction set: always available.
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

impl Kernel for Portable {
    fn nt(self, ops: Operands<'_>) {
        nt(ops);
    }

    fn tn_acc(self, ops: Operands<'_>) {
        broadcast_blocks::<4, true>(ops);
    }

    fn nn(self, ops: Operands<'_>) {
        broadcast_blocks::<4, false>(ops);
    }
}

/// Whether these kernels pay off on this target: [`f32x8`] lives in vector registers
/// ([`VECTOR_LANES`](crate::arch::VECTOR_LANES)).
pub(super) const SIMD: bool = crate::arch::VECTOR_LANES;

/// `C = A·Bᵀ (+ bias)`, two rows of `A` at a time.
fn nt(ops: Operands<'_>) {
    let Operands {
        n,
        k,
        a,
        b,
        bias,
        c,
        ..
    } = ops;
    // Never taken (the operands are checked: n ≥ 1).
    let Some(n) = NonZeroUsize::new(n) else {
        return;
    };
    let (k2, n2) = (k.saturating_mul(2), n.get().saturating_mul(2));
    let mut a_pairs = by_rows(a, k2);
    let mut c_pairs = by_rows_mut(c, n2);
    let mut pairs = 0usize;
    for (a2, c2) in (&mut a_pairs).zip(&mut c_pairs) {
        if let Some((a0, a1)) = a2.split_at_checked(k) {
            nt_rows::<2>([a0, a1], b, bias, c2, n, k);
        }
        pairs += 1;
    }
    // An odd last row.
    let (a_last, c_last) = (
        a.get(pairs.saturating_mul(k2)..).unwrap_or(&[]),
        c.get_mut(pairs.saturating_mul(n2)..).unwrap_or(&mut []),
    );
    if !a_last.is_empty() && !c_last.is_empty() {
        nt_rows::<1>([a_last], b, bias, c_last, n, k);
    }
}

/// The `R` rows of `C` in `c` (`R·n` long): two columns (rows of `B`) at a time.
#[inline(always)]
fn nt_rows<const R: usize>(
    a_rows: [&[f32]; R],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
    n: NonZeroUsize,
    k: usize,
) {
    let mut j = 0;
    for b2 in by_rows(b, k.saturating_mul(2)) {
        if let Some((b0, b1)) = b2.split_at_checked(k) {
            let sums = dot_tile(a_rows, [b0, b1], k);
            write_sums(&sums, bias, c, n, j);
        }
        j += 2;
    }
    let b_last = b.get(j.saturating_mul(k)..).unwrap_or(&[]);
    if j < n.get() {
        let sums = dot_tile(a_rows, [b_last], k);
        write_sums(&sums, bias, c, n, j);
    }
}

/// `c[r·n + j + s] = sums[r][s] (+ bias[j + s])`.
#[inline(always)]
fn write_sums<const R: usize, const S: usize>(
    sums: &[[f32; S]; R],
    bias: Option<&[f32]>,
    c: &mut [f32],
    n: NonZeroUsize,
    j: usize,
) {
    for (row, c_row) in sums.iter().zip(by_rows_mut(c, n.get())) {
        let outs = c_row.iter_mut().skip(j);
        match bias {
            Some(bias) => {
                for ((out, sum), b) in outs.zip(row).zip(bias.iter().skip(j)) {
                    *out = sum + b;
                }
            }
            None => {
                for (out, sum) in outs.zip(row) {
                    *out = *sum;
                }
            }
        }
    }
}

/// The `R × S` dot products `Σ_p a[r][p]·b[s][p]` of rows `k` long: eight lanes along `k`
/// (the tail on a zero-padded lane), then a horizontal sum of each lane.
#[inline(always)]
fn dot_tile<const R: usize, const S: usize>(
    a: [&[f32]; R],
    b: [&[f32]; S],
    k: usize,
) -> [[f32; S]; R] {
    let steps = k / LANES;
    let mut sums = [[0.0; S]; R];
    let (Some(a_lanes), Some(b_lanes)) = (exact_lanes(a, steps), exact_lanes(b, steps)) else {
        return sums;
    };
    let mut acc = [[f32x8::ZERO; S]; R];
    for q in 0..steps {
        let bv: [f32x8; S] = core::array::from_fn(|s| simd::Portable.load(&b_lanes[s].0[q]));
        for (acc_r, a_r) in acc.iter_mut().zip(&a_lanes) {
            let av = simd::Portable.load(&a_r.0[q]);
            for (acc_rs, bv_s) in acc_r.iter_mut().zip(&bv) {
                *acc_rs = av.mul_add(*bv_s, *acc_rs);
            }
        }
    }
    if !k.is_multiple_of(LANES) {
        let bv: [f32x8; S] =
            core::array::from_fn(|s| load_partial_in(simd::Portable, b_lanes[s].1, 0.0));
        for (acc_r, a_r) in acc.iter_mut().zip(&a_lanes) {
            let av = load_partial_in(simd::Portable, a_r.1, 0.0);
            for (acc_rs, bv_s) in acc_r.iter_mut().zip(&bv) {
                *acc_rs = av.mul_add(*bv_s, *acc_rs);
            }
        }
    }
    for (sums_r, acc_r) in sums.iter_mut().zip(&acc) {
        for (sum, v) in sums_r.iter_mut().zip(acc_r) {
            *sum = v.reduce_add();
        }
    }
    sums
}

/// A row split into lanes of eight and a tail shorter than eight.
type Lanes<'a> = (&'a [[f32; LANES]], &'a [f32]);

/// Each row as exactly `steps` lanes of eight and a tail; `None` if a row is too short.
#[inline(always)]
fn exact_lanes<const R: usize>(rows: [&[f32]; R], steps: usize) -> Option<[Lanes<'_>; R]> {
    let mut out = [(&[][..], &[][..]); R];
    for (o, row) in out.iter_mut().zip(rows) {
        let (lanes, tail) = row.as_chunks::<LANES>();
        *o = (lanes.get(..steps)?, tail);
    }
    Some(out)
}

/// `C = A·B` (`TN = false`, `A` `[m, k]`) or `C += Aᵀ·B` (`TN = true`, `A` `[k, m]`), by
/// tiles of `ROWS` rows, and the last rows one at a time.
#[inline(always)]
fn broadcast_blocks<const ROWS: usize, const TN: bool>(ops: Operands<'_>) {
    let Operands {
        m, n, k, a, b, c, ..
    } = ops;
    // Never taken (the operands are checked); it shows the compiler that no chunk size below
    // is zero.
    let Some(n) = NonZeroUsize::new(n) else {
        return;
    };
    let rows_n = ROWS.saturating_mul(n.get());
    let mut i = 0;
    for c_block in by_rows_mut(c, rows_n) {
        broadcast_rows::<ROWS, TN>(a, b, c_block, i, m, n, k);
        i += ROWS;
    }
    // The last rows one at a time (fewer tile shapes to compile).
    let rest = c.get_mut(i.saturating_mul(n.get())..).unwrap_or(&mut []);
    for (r, c_row) in by_rows_mut(rest, n.get()).enumerate() {
        broadcast_rows::<1, TN>(a, b, c_row, i + r, m, n, k);
    }
}

/// Rows `i..i + R` of `C` (in `c`, `R·n` long), eight columns at a time.
#[inline(always)]
fn broadcast_rows<const R: usize, const TN: bool>(
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    i: usize,
    m: usize,
    n: NonZeroUsize,
    k: usize,
) {
    let (nz, n) = (n, n.get());
    // The `R` rows of `A` (NN: rows of `k`) used by the tile.
    let a_rows: [&[f32]; R] =
        core::array::from_fn(|r| a.get((i + r) * k..(i + r + 1) * k).unwrap_or(&[]));
    let mut j = 0;
    while j < n {
        let width = LANES.min(n - j);
        let mut acc = [f32x8::ZERO; R];
        // `b_col` yields `B[p, j..]` for p = 0, 1, …: row p starts at p·n + j.
        let b_col = b.get(j..).unwrap_or(&[]).chunks(nz.get()).take(k);
        for (p, b_row) in b_col.enumerate() {
            let bv = match b_row.first_chunk::<LANES>() {
                Some(lanes) if width == LANES => simd::Portable.load(lanes),
                _ => load_partial_in(simd::Portable, b_row.get(..width).unwrap_or(b_row), 0.0),
            };
            let av: [f32; R] = if TN {
                // A is [k, m]: A(i + r, p) = a[p·m + i + r], contiguous in r.
                a.get(p * m + i..)
                    .and_then(|s| s.first_chunk::<R>())
                    .copied()
                    .unwrap_or([0.0; R])
            } else {
                core::array::from_fn(|r| a_rows[r].get(p).copied().unwrap_or(0.0))
            };
            for (acc_r, a_rp) in acc.iter_mut().zip(av) {
                *acc_r = f32x8::splat(a_rp).mul_add(bv, *acc_r);
            }
        }
        for (acc_r, c_row) in acc.iter().zip(by_rows_mut(c, nz.get())) {
            let Some(out) = c_row.get_mut(j..j + width) else {
                continue;
            };
            let v = if TN {
                load_partial_in(simd::Portable, out, 0.0) + *acc_r
            } else {
                *acc_r
            };
            match out.first_chunk_mut::<LANES>() {
                Some(lanes) => *lanes = v.to_array(),
                None => store_partial_in(v, out),
            }
        }
        j += LANES;
    }
}
