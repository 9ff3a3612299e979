//! The scalar kernels: plain `f32` arithmetic in register tiles of 4 × 4 elements of `C`.
//! [`Isa::Portable`](super::Isa::Portable) runs them on targets without SIMD (Cortex-M,
//! RISC-V), and [`Isa::Scalar`](super::Isa::Scalar) runs them anywhere.
//!
//! Each step along `k` loads four elements of `A` and four of `B` and makes sixteen
//! multiply-adds into sixteen accumulators: two loads per four multiply-adds, where a dot
//! product loop needs two per one. On a Cortex-M4F the tile (16 accumulators and 8 operands)
//! fits in the FPU's 32 single-precision registers.
//!
//! Tiles at the bottom and right edges reuse the operands' last row (clamped indices) or pad
//! with zeros, and store only the elements of `C` that exist: one tile shape, so the code
//! stays small.
//!
//! **Order of summation.** Every element of `C` is the plain sequential sum
//! `(((0 + a₀·b₀) + a₁·b₁) + a₂·b₂) + …` in `f32`, each product and each sum rounded on its own
//! (never fused); `C += Aᵀ·B` adds the finished sum to `C`. The results are therefore
//! bit-identical to the naive triple loop, whatever tile an element falls in.

use super::{Kernel, Operands};
use crate::rows::by_rows;

/// The scalar instruction set: always available.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scalar;

impl Kernel for Scalar {
    fn nt(self, ops: Operands<'_>) {
        nt(ops);
    }

    fn tn_acc(self, ops: Operands<'_>) {
        broadcast::<true>(ops);
    }

    fn nn(self, ops: Operands<'_>) {
        broadcast::<false>(ops);
    }
}

/// Rows and columns of `C` per tile.
const T: usize = 4;

/// Sixteen accumulators: `acc[r][s]` sums element `(i₀ + r, j₀ + s)` of `C`.
type Tile = [[f32; T]; T];

/// `acc[r][s] += a[r]·b[s]`, multiply and add rounded separately.
///
/// Written out element by element: at `opt-level = "s"` (usual for firmware) LLVM does not
/// unroll two nested loops of four, and the accumulators would then live in memory.
#[inline(always)]
fn rank1(acc: &mut Tile, a: [f32; T], b: [f32; T]) {
    let [a0, a1, a2, a3] = a;
    let [b0, b1, b2, b3] = b;
    let [r0, r1, r2, r3] = acc;
    r0[0] += a0 * b0;
    r0[1] += a0 * b1;
    r0[2] += a0 * b2;
    r0[3] += a0 * b3;
    r1[0] += a1 * b0;
    r1[1] += a1 * b1;
    r1[2] += a1 * b2;
    r1[3] += a1 * b3;
    r2[0] += a2 * b0;
    r2[1] += a2 * b1;
    r2[2] += a2 * b2;
    r2[3] += a2 * b3;
    r3[0] += a3 * b0;
    r3[1] += a3 * b1;
    r3[2] += a3 * b2;
    r3[3] += a3 * b3;
}

/// Rows `first, first + 1, …` (`T` of them) of `v`, each `width` long, their indices clamped
/// to `last`; `None` when `v` is too short (never, for checked operands).
#[inline(always)]
fn clamped_rows(v: &[f32], first: usize, last: usize, width: usize) -> Option<[&[f32]; T]> {
    let row = |r: usize| {
        let start = first.saturating_add(r).min(last).checked_mul(width)?;
        v.get(start..)?.get(..width)
    };
    Some([row(0)?, row(1)?, row(2)?, row(3)?])
}

/// `v[at..at + T]`, zero-padded past the end of `v`.
#[inline(always)]
fn four_at(v: &[f32], at: usize) -> [f32; T] {
    match v.get(at..).and_then(|s| s.first_chunk::<T>()) {
        Some(four) => *four,
        None => core::array::from_fn(|s| v.get(at.saturating_add(s)).copied().unwrap_or(0.0)),
    }
}

/// Writes (or, with `ACC`, adds) the tile at `(i0, j0)` into `c` (`[·, n]`), with `bias[j]`
/// added to column `j` when present; elements outside `c` are left out.
#[inline(always)]
fn store<const ACC: bool>(
    acc: Tile,
    c: &mut [f32],
    n: usize,
    i0: usize,
    j0: usize,
    bias: Option<&[f32]>,
) {
    let bias = bias.and_then(|b| b.get(j0..)).unwrap_or(&[]);
    let rows = rows_from(c, n, i0);
    for (acc_r, c_row) in acc.iter().zip(rows) {
        let outs = c_row.get_mut(j0..).unwrap_or(&mut []);
        for (s, (out, sum)) in outs.iter_mut().zip(acc_r).enumerate() {
            *out = if ACC {
                *out + sum
            } else {
                match bias.get(s) {
                    Some(b) => sum + b,
                    None => *sum,
                }
            };
        }
    }
}

/// The rows of `c` (`n` wide) from row `i0` on.
#[inline(always)]
fn rows_from(c: &mut [f32], n: usize, i0: usize) -> crate::rows::RowsMut<'_, f32> {
    let start = i0.saturating_mul(n);
    crate::rows::by_rows_mut(c.get_mut(start..).unwrap_or(&mut []), n)
}

/// `C = A·Bᵀ (+ bias)`: both operands run along `k`, four rows of each per tile.
fn nt(ops: Operands<'_>) {
    let Operands {
        m,
        n,
        k,
        a,
        b,
        bias,
        c,
    } = ops;
    let (last_i, last_j) = (m.saturating_sub(1), n.saturating_sub(1));
    for i0 in (0..m).step_by(T) {
        let Some(ar) = clamped_rows(a, i0, last_i, k) else {
            return;
        };
        for j0 in (0..n).step_by(T) {
            let Some(br) = clamped_rows(b, j0, last_j, k) else {
                return;
            };
            let mut acc = [[0.0; T]; T];
            for p in 0..k {
                let av = [ar[0][p], ar[1][p], ar[2][p], ar[3][p]];
                let bv = [br[0][p], br[1][p], br[2][p], br[3][p]];
                rank1(&mut acc, av, bv);
            }
            store::<false>(acc, c, n, i0, j0, bias);
        }
    }
}

/// `C = A·B` (`TN = false`, `A` `[m, k]`) or `C += Aᵀ·B` (`TN = true`, `A` `[k, m]`): each
/// step along `k` takes four elements of a row of `B` and four elements of a column of `A`.
fn broadcast<const TN: bool>(ops: Operands<'_>) {
    let Operands {
        m, n, k, a, b, c, ..
    } = ops;
    let last_i = m.saturating_sub(1);
    for i0 in (0..m).step_by(T) {
        // NN: the tile's four rows of A (clamped), read along k.
        let ar = if TN {
            None
        } else {
            match clamped_rows(a, i0, last_i, k) {
                Some(ar) => Some(ar),
                None => return,
            }
        };
        for j0 in (0..n).step_by(T) {
            let mut acc = [[0.0; T]; T];
            // Row p of B (and, for TN, row p of A) for p = 0, 1, …, k − 1.
            let b_rows = (0..k).zip(by_rows(b, n));
            match ar {
                Some(ar) => {
                    for (p, b_p) in b_rows {
                        let av = [ar[0][p], ar[1][p], ar[2][p], ar[3][p]];
                        rank1(&mut acc, av, four_at(b_p, j0));
                    }
                }
                None => {
                    for ((_, b_p), a_p) in b_rows.zip(by_rows(a, m)) {
                        rank1(&mut acc, four_at(a_p, i0), four_at(b_p, j0));
                    }
                }
            }
            store::<TN>(acc, c, n, i0, j0, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// The naive triple loop in the documented order: `Σ_p` from zero, then written (NT + bias,
    /// NN) or added to `C` (TN).
    fn naive(
        product: u8,
        (m, n, k): (usize, usize, usize),
        a: &[f32],
        b: &[f32],
        bias: Option<&[f32]>,
        c: &mut [f32],
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f32;
                for p in 0..k {
                    let (x, y) = match product {
                        0 => (a[i * k + p], b[j * k + p]),
                        1 => (a[p * m + i], b[p * n + j]),
                        _ => (a[i * k + p], b[p * n + j]),
                    };
                    s += x * y;
                }
                c[i * n + j] = match (product, bias) {
                    (1, _) => c[i * n + j] + s,
                    (_, Some(bias)) => s + bias[j],
                    _ => s,
                };
            }
        }
    }

    /// Every tile position (full, right edge, bottom edge, corner) of every product gives the
    /// naive loop's bits.
    #[test]
    fn tiles_match_the_naive_loop_bit_for_bit() {
        let mut seed = 7u32;
        let mut data = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
                })
                .collect()
        };
        for m in 1..=9 {
            for n in 1..=9 {
                for k in [1, 2, 3, 5, 8, 17] {
                    let (a, b, bias, c0) = (data(m * k), data(n * k), data(n), data(m * n));
                    for product in 0..3u8 {
                        for with_bias in [false, true] {
                            if with_bias && product != 0 {
                                continue;
                            }
                            let bias = with_bias.then_some(&bias[..]);
                            let (mut got, mut want) = (c0.clone(), c0.clone());
                            let ops = Operands::new(m, n, k, &a, &b, bias, &mut got);
                            let ops = ops.unwrap().unwrap();
                            match product {
                                0 => nt(ops),
                                1 => broadcast::<true>(ops),
                                _ => broadcast::<false>(ops),
                            }
                            naive(product, (m, n, k), &a, &b, bias, &mut want);
                            let bits =
                                |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(&got), bits(&want), "product {product} {m}x{n}x{k}");
                        }
                    }
                }
            }
        }
    }
}
