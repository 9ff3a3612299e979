//! The AVX-512F kernels: the broadcast strategies of the AVX2 kernels with tiles twice as
//! tall (AVX-512's 32 registers hold 12 rows × 16 columns of `C` and the operands; up to 16
//! rows for a product that has no more), and the AVX2 code for everything else (an AVX-512
//! CPU has AVX2 and FMA).

mod tile;

use super::super::{Kernel, Operands};
use super::{nn, nt, tn_acc, PanelTiles, TileArgs};
use crate::arch::x86_64::Avx512F;
use tile::tile;

/// Rows of `C` per AVX-512 tile.
const MR: usize = 12;

/// Whether a product with `m` rows of `C` runs on the AVX-512 tiles: from two full tiles of
/// rows on, and from 9 to 16 rows (one tile of `m` rows); the AVX2 kernels, which have their
/// own strategies for up to 8 rows, take the rest (docs/PERFORMANCE.md has the measurements).
fn takes(m: usize) -> bool {
    m >= 2 * MR || (9..=16).contains(&m)
}

impl Kernel for Avx512F {
    fn nt(self, ops: Operands<'_>) {
        if takes(ops.m) {
            nt(self, ops);
        } else {
            nt(self.avx2(), ops);
        }
    }

    fn tn_acc(self, ops: Operands<'_>) {
        if takes(ops.m) {
            tn_acc(self, ops);
        } else {
            tn_acc(self.avx2(), ops);
        }
    }

    fn nn(self, ops: Operands<'_>) {
        if takes(ops.m) {
            nn(self, ops);
        } else {
            nn(self.avx2(), ops);
        }
    }
}

impl PanelTiles for Avx512F {
    /// 516 KiB of `A` at `KC = 256`, for the L2 of 1 MiB or more of most AVX-512 CPUs (Zen 4
    /// and 5, the Xeons since Skylake): a product of up to 516 rows packs each panel of `B` once
    /// per block of steps (docs/PERFORMANCE.md, "Blocks of steps and of rows"). Two client
    /// families with AVX-512, Ice Lake and Rocket Lake, have 512 KiB of L2; there a block of
    /// more than about 250 rows reads `A` from L3.
    const MC: usize = 516;

    #[inline(always)]
    unsafe fn row_blocks<const MASKED_B: bool>(self, t: TileArgs, rows: usize) {
        // SAFETY: the token proves AVX-512F; the rest is the caller's contract.
        unsafe { row_blocks::<MASKED_B>(t, rows) }
    }
}

/// `rows` rows of `C` over one panel of `B`: one tile for 9 to 16 rows; otherwise tiles of
/// [`MR`] rows, then the rest by tiles of 8 rows, then at most one each of 4, 2 and 1.
///
/// # Safety
/// As [`PanelTiles::row_blocks`]; the CPU has AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn row_blocks<const MASKED_B: bool>(t: TileArgs, rows: usize) {
    let mut i = 0;
    // SAFETY: for every call, rows `i..i + r ≤ rows`.
    unsafe {
        match rows {
            9 => return tile::<9, MASKED_B>(t),
            10 => return tile::<10, MASKED_B>(t),
            11 => return tile::<11, MASKED_B>(t),
            12 => return tile::<12, MASKED_B>(t),
            13 => return tile::<13, MASKED_B>(t),
            14 => return tile::<14, MASKED_B>(t),
            15 => return tile::<15, MASKED_B>(t),
            16 => return tile::<16, MASKED_B>(t),
            _ => {}
        }
        while i + MR <= rows {
            tile::<MR, MASKED_B>(t.at_row(i));
            i += MR;
        }
        while rows - i >= 8 {
            tile::<8, MASKED_B>(t.at_row(i));
            i += 8;
        }
        if rows - i >= 4 {
            tile::<4, MASKED_B>(t.at_row(i));
            i += 4;
        }
        if rows - i >= 2 {
            tile::<2, MASKED_B>(t.at_row(i));
            i += 2;
        }
        if rows - i >= 1 {
            tile::<1, MASKED_B>(t.at_row(i));
        }
    }
}
