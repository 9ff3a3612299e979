//! The portable kernels: safe code over [`f32x8`], with no packing and no scratch memory, so
//! they fit the smallest stacks (Cortex-M, where `f32x8` is eight scalars).
//!
//! * `C = A·Bᵀ`: both operands are contiguous along `k`, so a tile of 2 × 2 dot products runs
//!   eight lanes along `k` and reduces them horizontally at the end.
//! * `C = A·B` and `C += Aᵀ·B`: `B` is contiguous along `n`, so a tile of 4 rows × 8 columns
//!   multiplies one vector row of `B` by four broadcast elements of `A` per step of `k`.
//!
//! On targets without SIMD (`SIMD` false) the tiles are one dot product and one row: an
//! `f32x8` is eight scalars there, so these already use most of the 32 FPU registers of a
//! Cortex-M4F, and the code stays small.
//!
//! Every element of `C` is one sum over `k` in a fixed order, so results are deterministic.

use core::num::NonZeroUsize;

use super::{Kernel, Operands};
use crate::simd::{f32x8, load, load_partial, store_partial, LANES};

/// The portable instruction set: always available.
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

impl Kernel for Portable {
    fn nt(self, ops: Operands<'_>) {
        nt::<SIMD>(ops);
    }

    fn tn_acc(self, ops: Operands<'_>) {
        broadcast::<true, SIMD>(ops);
    }

    fn nn(self, ops: Operands<'_>) {
        broadcast::<false, SIMD>(ops);
    }
}

/// Whether [`f32x8`] lives in vector registers on this target (the cases where `wide` uses
/// SSE2, NEON or WASM SIMD), so that tiles of several rows and columns pay off.
const SIMD: bool = cfg!(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
));

/// `a·b` when it is neither zero nor overflowing.
#[inline(always)]
fn nonzero_mul(a: usize, b: usize) -> Option<usize> {
    a.checked_mul(b).filter(|p| *p != 0)
}

/// `C = A·Bᵀ (+ bias)`, two rows of `A` at a time (one unless `WIDE`).
fn nt<const WIDE: bool>(ops: Operands<'_>) {
    let Operands {
        n,
        k,
        a,
        b,
        bias,
        c,
        ..
    } = ops;
    // Never taken (the operands are checked); it shows the compiler that no chunk size below
    // is zero, so that `chunks_exact` cannot panic.
    let (Some(k2), Some(n2), Some(n)) =
        (nonzero_mul(2, k), nonzero_mul(2, n), NonZeroUsize::new(n))
    else {
        return;
    };
    if !WIDE {
        for (a_row, c_row) in a.chunks_exact(k2 / 2).zip(c.chunks_exact_mut(n2 / 2)) {
            nt_rows::<1, false>([a_row], b, bias, c_row, n, k);
        }
        return;
    }
    let mut a_pairs = a.chunks_exact(k2);
    let mut c_pairs = c.chunks_exact_mut(n2);
    for (a2, c2) in (&mut a_pairs).zip(&mut c_pairs) {
        if let Some((a0, a1)) = a2.split_at_checked(k) {
            nt_rows::<2, true>([a0, a1], b, bias, c2, n, k);
        }
    }
    let (a_last, c_last) = (a_pairs.remainder(), c_pairs.into_remainder());
    if !a_last.is_empty() {
        nt_rows::<1, true>([a_last], b, bias, c_last, n, k);
    }
}

/// The `R` rows of `C` in `c` (`R·n` long): two columns (rows of `B`) at a time (one
/// unless `WIDE`).
#[inline(always)]
fn nt_rows<const R: usize, const WIDE: bool>(
    a_rows: [&[f32]; R],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
    n: NonZeroUsize,
    k: usize,
) {
    let Some(k2) = nonzero_mul(2, k) else {
        return;
    };
    if !WIDE {
        for (j, b_row) in b.chunks_exact(k2 / 2).enumerate() {
            let sums = dot_tile(a_rows, [b_row], k);
            write_sums(&sums, bias, c, n, j);
        }
        return;
    }
    let mut b_pairs = b.chunks_exact(k2);
    let mut j = 0;
    for b2 in &mut b_pairs {
        if let Some((b0, b1)) = b2.split_at_checked(k) {
            let sums = dot_tile(a_rows, [b0, b1], k);
            write_sums(&sums, bias, c, n, j);
        }
        j += 2;
    }
    let b_last = b_pairs.remainder();
    if !b_last.is_empty() {
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
    for (row, c_row) in sums.iter().zip(c.chunks_exact_mut(n.get())) {
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
        let bv: [f32x8; S] = core::array::from_fn(|s| load(&b_lanes[s].0[q]));
        for (acc_r, a_r) in acc.iter_mut().zip(&a_lanes) {
            let av = load(&a_r.0[q]);
            for (acc_rs, bv_s) in acc_r.iter_mut().zip(&bv) {
                *acc_rs = av.mul_add(*bv_s, *acc_rs);
            }
        }
    }
    if !k.is_multiple_of(LANES) {
        let bv: [f32x8; S] = core::array::from_fn(|s| load_partial(b_lanes[s].1, 0.0));
        for (acc_r, a_r) in acc.iter_mut().zip(&a_lanes) {
            let av = load_partial(a_r.1, 0.0);
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

/// `C = A·B` (`TN = false`, `A` `[m, k]`) or `C += Aᵀ·B` (`TN = true`, `A` `[k, m]`),
/// four rows of `C` at a time when `WIDE`, one otherwise.
fn broadcast<const TN: bool, const WIDE: bool>(ops: Operands<'_>) {
    if WIDE {
        broadcast_blocks::<4, TN>(ops);
    } else {
        broadcast_blocks::<1, TN>(ops);
    }
}

/// [`broadcast`] by tiles of `ROWS` rows, and the last rows one at a time.
#[inline(always)]
fn broadcast_blocks<const ROWS: usize, const TN: bool>(ops: Operands<'_>) {
    let Operands {
        m, n, k, a, b, c, ..
    } = ops;
    // Never taken (the operands are checked); it shows the compiler that no chunk size below
    // is zero.
    let (Some(rows_n), Some(n)) = (nonzero_mul(ROWS, n), NonZeroUsize::new(n)) else {
        return;
    };
    let mut c_blocks = c.chunks_exact_mut(rows_n);
    let mut i = 0;
    for c_block in &mut c_blocks {
        broadcast_rows::<ROWS, TN>(a, b, c_block, i, m, n, k);
        i += ROWS;
    }
    // The last rows one at a time (fewer tile shapes to compile).
    let rest = c_blocks.into_remainder();
    let rows_left = rest.len().checked_div(n.get()).unwrap_or(0);
    for r in 0..rows_left {
        if let Some(c_row) = rest.get_mut(r * n.get()..(r + 1) * n.get()) {
            broadcast_rows::<1, TN>(a, b, c_row, i + r, m, n, k);
        }
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
                Some(lanes) if width == LANES => load(lanes),
                _ => load_partial(b_row.get(..width).unwrap_or(b_row), 0.0),
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
        for (acc_r, c_row) in acc.iter().zip(c.chunks_exact_mut(nz.get())) {
            let Some(out) = c_row.get_mut(j..j + width) else {
                continue;
            };
            let v = if TN {
                load_partial(out, 0.0) + *acc_r
            } else {
                *acc_r
            };
            match out.first_chunk_mut::<LANES>() {
                Some(lanes) => *lanes = v.to_array(),
                None => store_partial(v, out),
            }
        }
        j += LANES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The narrow tiles (compiled on targets without SIMD) give the same bits as the wide
    /// ones tested against the reference in `tests/gemm.rs`: every element is the same sum
    /// in the same order, whatever the tile it belongs to.
    #[test]
    fn narrow_tiles_match_wide_ones_bit_for_bit() {
        let mut seed = 1u32;
        let mut data = |len: usize| -> std::vec::Vec<f32> {
            (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
                })
                .collect()
        };
        for (m, n, k) in [
            (1, 1, 1),
            (1, 17, 9),
            (2, 5, 16),
            (3, 9, 33),
            (5, 12, 7),
            (9, 20, 70),
        ] {
            let (a, b, bias, c0) = (data(m * k), data(n * k), data(n), data(m * n));
            type Run = fn(Operands<'_>);
            let pairs: [(Run, Run, bool); 3] = [
                (nt::<true>, nt::<false>, true),
                (broadcast::<true, true>, broadcast::<true, false>, false),
                (broadcast::<false, true>, broadcast::<false, false>, false),
            ];
            for (wide, narrow, with_bias) in pairs {
                let bias = with_bias.then_some(&bias[..]);
                let (mut c1, mut c2) = (c0.clone(), c0.clone());
                wide(
                    Operands::new(m, n, k, &a, &b, bias, &mut c1)
                        .unwrap()
                        .unwrap(),
                );
                narrow(
                    Operands::new(m, n, k, &a, &b, bias, &mut c2)
                        .unwrap()
                        .unwrap(),
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<std::vec::Vec<_>>();
                assert_eq!(bits(&c1), bits(&c2), "{m}x{n}x{k}");
            }
        }
    }
}
