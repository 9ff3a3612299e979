//! The x86_64 AVX2 + FMA kernels, compiled for these features in any build (no `RUSTFLAGS`)
//! and run only behind the [`Avx2Fma`] token, which exists only when the CPU has them.
//!
//! Strategies, by product and shape:
//!
//! * `C = A·Bᵀ` with few rows or narrow (see `nt_uses_dot`): dot tiles ([`dot`]) on the
//!   operands in place; with `m = 1` this is the matrix-vector product, which reads the
//!   weights once.
//! * `C = A·Bᵀ` otherwise: panels of `Bᵀ` (`KC × 16`) transposed into a stack tile
//!   ([`pack`]), then broadcast tiles of 6 × 16 ([`tile()`]) over blocks of rows of `A`.
//! * `C = A·B`, `C += Aᵀ·B`: `B` is already contiguous along `n`. Small problems run the
//!   broadcast tiles on `B` in place (one to three rows of `C` use wider tiles, up to
//!   1 × 64, from `B`'s 32-byte boundary); short sums over long rows where `C` is the traffic
//!   (`k ≤ 8`, e.g. the weight gradient of a batch of one) sweep `C` row by row ([`short`]);
//!   one long row written (`m = 1`, the input gradient of a batch of one) sweeps `B` four rows
//!   at a time ([`sweep`]); large ones pack `B` in `KC × 16` panels to keep them in L1.
//!
//! The AVX-512F kernels ([`avx512`], behind the [`Avx512F`] token) are these strategies with
//! broadcast tiles of 12 × 16 in 512-bit registers over the panels (one tile of up to 16 rows
//! when `C` has no more), for products of 9 to 16 and of at least 24 rows of `C`; everything
//! else runs the AVX2 code. Which tiles a strategy runs is its [`PanelTiles`] token.

mod avx512;
mod columns;
mod dot;
mod pack;
mod short;
mod sweep;
mod tile;

use core::ptr;

use super::{Kernel, Operands};
use crate::arch::x86_64::Avx2Fma;
#[cfg(doc)]
use crate::arch::x86_64::Avx512F;
use crate::simd::floats_before_boundary;
use dot::{dot_tile, DotArgs};
use pack::{pack_rows, pack_transposed, Panel, KC, NR};
use short::short_sum;
use sweep::sweep_row;
use tile::{tile, TileArgs, Update};

/// The stack a product uses for packing: one [`Panel`].
pub(super) const SCRATCH_BYTES: usize = core::mem::size_of::<Panel>();

/// Rows of `C` per broadcast tile.
const MR: usize = 6;

impl Kernel for Avx2Fma {
    fn nt(self, ops: Operands<'_>) {
        nt(self, ops);
    }

    fn tn_acc(self, ops: Operands<'_>) {
        tn_acc(self, ops);
    }

    fn nn(self, ops: Operands<'_>) {
        nn(self, ops);
    }
}

/// The register tiles that the broadcast strategies run over one panel of `B` (16 columns):
/// the AVX2 ones ([`Avx2Fma`]) or the AVX-512 ones ([`Avx512F`]). Every other part of a
/// product (the dot tiles, the sweeps, the packing) is AVX2 code, which an AVX-512 CPU runs
/// too. Implemented only by tokens that prove the CPU has AVX2 and FMA.
trait PanelTiles: Copy {
    /// `rows` rows of `C` over one panel of `B` (`t.cols ≤ 16` columns), `MR` rows per tile
    /// and the remainder by smaller tiles.
    ///
    /// # Safety
    /// `t` at the first row; for `i < rows`, `A(i, ·)` at `t.a + i·rs_a` and row `i` of `C`
    /// inside the operands; the panel has `t.kc` rows of 16 readable floats (the first `t.cols`
    /// with `MASKED_B`).
    unsafe fn row_blocks<const MASKED_B: bool>(self, t: TileArgs, rows: usize);

    /// Rows of `A` per block of the packed strategy, at most: every block packs each panel of
    /// `B` again, so the taller the blocks the fewer the packings, as long as the block
    /// (`MC × KC` floats) stays in L2 while the panels pass over it. A multiple of both tiles'
    /// heights, 6 and 12.
    const MC: usize;
}

impl PanelTiles for Avx2Fma {
    /// 192 KiB of `A` at `KC = 256`: the AVX2 CPUs without AVX-512 include the Zen 3, whose L2
    /// holds 512 KiB.
    const MC: usize = 192;

    #[inline(always)]
    unsafe fn row_blocks<const MASKED_B: bool>(self, t: TileArgs, rows: usize) {
        // SAFETY: the token proves AVX2 and FMA; the rest is the caller's contract.
        unsafe { row_blocks::<MASKED_B>(t, rows) }
    }
}

/// `C = A·Bᵀ (+ bias)`: dot tiles for few rows, packed broadcast tiles otherwise.
fn nt<T: PanelTiles>(tiles: T, ops: Operands<'_>) {
    let p = Ptrs::new(ops);
    if nt_uses_dot(p.m, p.n, p.k) {
        // SAFETY: a `PanelTiles` token proves AVX2 and FMA; `p` comes from checked operands
        // (see `Ptrs`), and `dot_nt` only reads and writes inside them.
        unsafe { dot_nt(p) }
    } else {
        // SAFETY: as above; A is [m, k], so A(i, q) = a[i·k + q].
        unsafe { broadcast_packed::<true, T>(tiles, p, p.k, 1, Update::Write(p.bias)) }
    }
}

/// `C += Aᵀ·B`.
fn tn_acc<T: PanelTiles>(tiles: T, ops: Operands<'_>) {
    // A is [k, m]: A(i, p) = a[p·m + i].
    let (rs_a, cs_a) = (1, ops.m);
    let p = Ptrs::new(ops);
    if pack_rows_of_b(p.m, p.k) {
        // SAFETY: a `PanelTiles` token proves AVX2 and FMA; `p` comes from checked operands
        // with this layout of `A`.
        unsafe { broadcast_packed::<false, T>(tiles, p, rs_a, cs_a, Update::Add) }
    } else {
        // SAFETY: as above.
        unsafe { broadcast_in_place(tiles, p, rs_a, cs_a, Update::Add) }
    }
}

/// `C = A·B`.
fn nn<T: PanelTiles>(tiles: T, ops: Operands<'_>) {
    // A is [m, k]: A(i, p) = a[i·k + p].
    let (rs_a, cs_a) = (ops.k, 1);
    let p = Ptrs::new(ops);
    let first = Update::Write(ptr::null());
    if pack_rows_of_b(p.m, p.k) {
        // SAFETY: a `PanelTiles` token proves AVX2 and FMA; `p` comes from checked operands
        // with this layout of `A`.
        unsafe { broadcast_packed::<false, T>(tiles, p, rs_a, cs_a, first) }
    } else {
        // SAFETY: as above.
        unsafe { broadcast_in_place(tiles, p, rs_a, cs_a, first) }
    }
}

/// The pointers of checked operands.
///
/// From the [`Operands`] invariants: `a` has `m·k` readable floats, `b` `n·k`, `c` `m·n`
/// writable ones, `bias` (or null) `n`; `m, n, k ≥ 1`; `c` is a unique borrow, so it overlaps
/// none of the others.
///
/// The fields alternate dimensions and pointers (`repr(C)` keeps that order) so that no two
/// neighbours here are neighbours in [`Operands`], where the dimensions sit together and
/// every pointer beside its slice's length. Otherwise the compiler copies two fields at a
/// time with one 16-byte load, which cannot take its value from the two 8-byte stores that
/// just wrote them: the load waits for the stores to reach the cache, a stall that shows in
/// the small products (docs/PERFORMANCE.md, "Memory access").
#[derive(Clone, Copy)]
#[repr(C)]
struct Ptrs {
    m: usize,
    a: *const f32,
    n: usize,
    b: *const f32,
    k: usize,
    c: *mut f32,
    bias: *const f32,
}

impl Ptrs {
    fn new(ops: Operands<'_>) -> Self {
        Ptrs {
            m: ops.m,
            n: ops.n,
            k: ops.k,
            a: ops.a.as_ptr(),
            b: ops.b.as_ptr(),
            bias: ops.bias.map_or(ptr::null(), <[f32]>::as_ptr),
            c: ops.c.as_mut_ptr(),
        }
    }
}

/// Whether `C = A·Bᵀ` runs on dot tiles rather than packed broadcast tiles: for up to three
/// rows (the matrix-vector product reads `B` once, without the cost of transposing it); for up
/// to eight rows, and for narrow outputs whose 16-column panels would be partly empty
/// (`n < 32` and not 16), when the sums are long enough (`k ≥ 32`) to pay for the horizontal
/// reductions. Beyond eight rows over full panels, and with exactly 16 columns (a full panel
/// wastes nothing), the packed tiles are as fast or faster (docs/PERFORMANCE.md, "Strategies
/// by shape").
fn nt_uses_dot(m: usize, n: usize, k: usize) -> bool {
    let long = k >= 2 * NR;
    let partly_empty_panels = n < 2 * NR && n != NR;
    m <= 3 || (m <= 8 && long) || (partly_empty_panels && long)
}

/// Whether `C = A·B` / `Aᵀ·B` packs `B`: when its panels are reused by many rows of `C`
/// and are long enough to fall out of L1 (or into few cache sets, with `n` a power of two).
fn pack_rows_of_b(m: usize, k: usize) -> bool {
    m > 4 * MR && k > 2 * NR
}

/// Whether `C (=|+=) A·B` on `B` in place sweeps `C` row by row ([`short_sum`]) rather than
/// running panel tiles over it: for short sums (`k ≤ 8`) where `C` is the traffic — one or
/// two steps per element, or a `C` of 64 Ki floats or more — and its rows are long enough
/// (`n ≥ 64`) for the walk's full vectors to dominate its scalar ends. Elsewhere the panel
/// tiles are faster: they load a row of `B` once for 6 or 12 rows of `C`, where the sweep
/// loads it once per row (docs/PERFORMANCE.md, "Strategies by shape", has the table).
fn sweeps_short_sum(m: usize, n: usize, k: usize) -> bool {
    k <= short::MAX_K && n >= 64 && (k <= 2 || m * n >= 1 << 16)
}

/// `C = A·Bᵀ (+ bias)` by dot tiles: four rows of `C` × three columns, the last rows by
/// three × three, two × four or one × four (one row × eight when `m = 1`).
///
/// A tile `R × S` keeps `R·S` accumulators and, per step, the `S` vectors of `B` and one
/// vector of `A` at a time in the sixteen registers: four × three fills them, three × four
/// needs one more and is the slower, and so is four × two, which reuses each vector of `A`
/// less (docs/PERFORMANCE.md, "Strategies by shape").
///
/// # Safety
/// `p` from checked operands of `C = A·Bᵀ`; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_nt(p: Ptrs) {
    // SAFETY: for every call, rows `i..i + R ≤ m` of `A` and `C`; see `dot_rows`.
    unsafe {
        if p.m == 1 {
            return dot_rows::<1, 8>(p, 0);
        }
        let mut i = 0;
        while i + 4 <= p.m {
            dot_rows::<4, 3>(p, i);
            i += 4;
        }
        match p.m - i {
            3 => dot_rows::<3, 3>(p, i),
            2 => dot_rows::<2, 4>(p, i),
            1 => dot_rows::<1, 4>(p, i),
            _ => {}
        }
    }
}

/// Rows `i..i + R` of `C = A·Bᵀ (+ bias)` by dot tiles `R × S` (the last columns by
/// narrower ones).
///
/// # Safety
/// `p` from checked operands of `C = A·Bᵀ`, `i + R ≤ m`, `S ≤ 8`; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_rows<const R: usize, const S: usize>(p: Ptrs, i: usize) {
    let args = |j: usize| DotArgs {
        k: p.k,
        a: p.a.wrapping_add(i * p.k),
        lda: p.k,
        b: p.b.wrapping_add(j * p.k),
        ldb: p.k,
        c: p.c.wrapping_add(i * p.n + j),
        ldc: p.n,
        update: Update::Write(if p.bias.is_null() {
            ptr::null()
        } else {
            p.bias.wrapping_add(j)
        }),
    };
    let mut j = 0;
    // SAFETY: for every call, rows `i..i + R` of `A` (`k` floats each, `i + R ≤ m`), rows
    // `j..j + S'` of `B` (`j + S' ≤ n`), `C[i..i + R, j..j + S']` and `bias[j..j + S']`
    // are inside the operands.
    unsafe {
        while j + S <= p.n {
            dot_tile::<R, S>(args(j));
            j += S;
        }
        match p.n - j {
            1 => dot_tile::<R, 1>(args(j)),
            2 => dot_tile::<R, 2>(args(j)),
            3 => dot_tile::<R, 3>(args(j)),
            4 => dot_tile::<R, 4>(args(j)),
            5 => dot_tile::<R, 5>(args(j)),
            6 => dot_tile::<R, 6>(args(j)),
            7 => dot_tile::<R, 7>(args(j)),
            _ => {}
        }
    }
}

/// The broadcast strategy with packed panels of `B`: for each block of `KC` steps, for each
/// block of `T::MC` rows of `A`, for each panel of 16 columns: pack it (transposing it when
/// `TRANSPOSED`: `B` `[n, k]`; as it is otherwise: `B` `[k, n]`), then run the tiles of
/// the row block over it.
///
/// `first` is the update of the first block of steps; the later ones add.
///
/// # Safety
/// `p` from checked operands; `A(i, q) = a[i·rs_a + q·cs_a]` is inside `a` for `i < m`,
/// `q < k`; `first` carries `p.bias` or null (`Write`) or is `Add`; the CPU has AVX2 and
/// FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn broadcast_packed<const TRANSPOSED: bool, T: PanelTiles>(
    tiles: T,
    p: Ptrs,
    rs_a: usize,
    cs_a: usize,
    first: Update,
) {
    let mut panel = Panel::new();
    // Steps in multiples of 8 (for the transposes), rows in multiples of 12 (both tiles'
    // heights).
    let step = block_len(p.k, KC, 8);
    let block_rows = block_len(p.m, T::MC, 12);
    let mut pc = 0;
    while pc < p.k {
        let kc = step.min(p.k - pc);
        let mut ic = 0;
        while ic < p.m {
            let mc = block_rows.min(p.m - ic);
            let mut jc = 0;
            while jc < p.n {
                let cols = NR.min(p.n - jc);
                // SAFETY: columns `jc..jc + cols ≤ n` and steps `pc..pc + kc ≤ k` of `B`;
                // `kc ≤ KC`, `cols ≤ NR`.
                unsafe {
                    if TRANSPOSED {
                        pack_transposed(&mut panel, p.b.wrapping_add(jc * p.k + pc), p.k, cols, kc);
                    } else {
                        pack_rows(&mut panel, p.b.wrapping_add(pc * p.n + jc), p.n, cols, kc);
                    }
                }
                let update = match first {
                    _ if pc > 0 => Update::Add,
                    Update::Write(bias) if !bias.is_null() => Update::Write(bias.wrapping_add(jc)),
                    other => other,
                };
                let t = TileArgs {
                    kc,
                    a: p.a.wrapping_add(ic * rs_a + pc * cs_a),
                    rs_a,
                    cs_a,
                    b: panel.as_mut_ptr(),
                    ldb: NR,
                    c: p.c.wrapping_add(ic * p.n + jc),
                    ldc: p.n,
                    cols,
                    update,
                };
                // SAFETY: rows `ic..ic + mc ≤ m` of `A` and `C`, steps `pc..pc + kc ≤ k`,
                // columns `jc..jc + cols ≤ n`; the packed panel has `kc` rows of `NR`.
                unsafe { tiles.row_blocks::<false>(t, mc) };
                jc += NR;
            }
            ic += mc;
        }
        pc += kc;
    }
}

/// The length of the blocks that cut `total` into as few as `max` allows, of equal length
/// (a multiple of `multiple`, itself a divisor of `max`) rather than full blocks and a short
/// last one: 784 steps of at most 256 run as 200 + 200 + 200 + 184, not 3 × 256 + 16.
fn block_len(total: usize, max: usize, multiple: usize) -> usize {
    total
        .div_ceil(total.div_ceil(max))
        .next_multiple_of(multiple)
        .min(max)
}

/// The broadcast strategy on `B` `[k, n]` in place, all `k` steps at once: one long row
/// written is swept ([`sweep_row`]), one to three rows of `C` use tiles up to 64 columns
/// wide, short sums run row by row ([`short_sum`]), more rows 16-column panels of 6-row tiles.
///
/// # Safety
/// As [`broadcast_packed`], with `B` `[k, n]`.
#[target_feature(enable = "avx2,fma")]
unsafe fn broadcast_in_place<T: PanelTiles>(
    tiles: T,
    p: Ptrs,
    rs_a: usize,
    cs_a: usize,
    first: Update,
) {
    let t = TileArgs {
        kc: p.k,
        a: p.a,
        rs_a,
        cs_a,
        b: p.b,
        ldb: p.n,
        c: p.c,
        ldc: p.n,
        cols: 0,
        update: first,
    };
    // SAFETY: for every call, rows `0..m` of `A` and `C`, every step and column of `B`.
    unsafe {
        match p.m {
            // One long row written (`dx = dy·W` for a batch of one): sweep `B` front to back.
            // SAFETY: `m = 1`; the rest is this function's contract.
            1 if p.n >= sweep::MIN_N && matches!(first, Update::Write(b) if b.is_null()) => {
                sweep_row(p, cs_a)
            }
            1 => few_rows::<1, 8>(t, p.n),
            2 => few_rows::<2, 4>(t, p.n),
            // Three rows × 32 columns would need 12 accumulators, 4 vectors of `B` and a
            // broadcast: one register too many, so three × 24 is the faster
            // (docs/PERFORMANCE.md).
            3 => few_rows::<3, 3>(t, p.n),
            // SAFETY: `k ≤ MAX_K`; the rest is this function's contract.
            _ if sweeps_short_sum(p.m, p.n, p.k) => short_sum(p, rs_a, cs_a, first),
            _ => {
                let mut jc = 0;
                while jc < p.n {
                    let cols = NR.min(p.n - jc);
                    let tj = TileArgs {
                        b: p.b.wrapping_add(jc),
                        c: p.c.wrapping_add(jc),
                        cols,
                        ..t
                    };
                    if cols == NR {
                        tiles.row_blocks::<false>(tj, p.m);
                    } else {
                        tiles.row_blocks::<true>(tj, p.m);
                    }
                    jc += NR;
                }
            }
        }
    }
}

/// `R` rows of `C` on `B` in place, left to right: a masked tile up to `B`'s 32-byte
/// boundary, tiles `R × 8·NV`, then 16 columns, then the masked rest.
///
/// # Safety
/// `t` at column 0 of `R` rows of `A` and `C` inside the operands (`n` columns), `B` `[k, n]`
/// in place (`ldb = ldc = n`); `R·NV ≤ 12`; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn few_rows<const R: usize, const NV: usize>(t: TileArgs, n: usize) {
    let at = |j: usize, cols: usize| TileArgs {
        b: t.b.wrapping_add(j),
        c: t.c.wrapping_add(j),
        cols,
        ..t
    };
    // A first, narrower tile up to the 32-byte boundary of `B`, whose rows are the traffic
    // (`k` is long here), so that its full-width loads never straddle two cache lines.
    let mut j = floats_before_boundary(t.b, n);
    // SAFETY: for every call, columns `j..j + cols ≤ n` of `B` and of the `R` rows of `C`.
    unsafe {
        if j > 0 {
            tile::<R, 1, true>(at(0, j));
        }
        while j + 8 * NV <= n {
            tile::<R, NV, false>(at(j, 8 * NV));
            j += 8 * NV;
        }
        while j + NR <= n {
            tile::<R, 2, false>(at(j, NR));
            j += NR;
        }
        match n - j {
            0 => {}
            rest @ 1..=8 => tile::<R, 1, true>(at(j, rest)),
            rest => tile::<R, 2, true>(at(j, rest)),
        }
    }
}

/// `rows` rows of `C` over one panel of `B` (`t.cols ≤ 16` columns), `MR` rows per tile and
/// the remainder by a smaller tile.
///
/// # Safety
/// As [`PanelTiles::row_blocks`]; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn row_blocks<const MASKED_B: bool>(t: TileArgs, rows: usize) {
    let mut i = 0;
    // SAFETY: for every call, rows `i..i + r ≤ rows`.
    unsafe {
        while i + MR <= rows {
            panel_tile::<MR, MASKED_B>(t.at_row(i));
            i += MR;
        }
        match rows - i {
            5 => panel_tile::<5, MASKED_B>(t.at_row(i)),
            4 => panel_tile::<4, MASKED_B>(t.at_row(i)),
            3 => panel_tile::<3, MASKED_B>(t.at_row(i)),
            2 => panel_tile::<2, MASKED_B>(t.at_row(i)),
            1 => panel_tile::<1, MASKED_B>(t.at_row(i)),
            _ => {}
        }
    }
}

/// One tile over a panel of 16 columns: one vector wide when `cols ≤ 8`, two otherwise.
///
/// # Safety
/// As [`tile()`] with `NV = 2` (`NV = 1` covers the first `cols ≤ 8` columns).
#[target_feature(enable = "avx2,fma")]
unsafe fn panel_tile<const ROWS: usize, const MASKED_B: bool>(t: TileArgs) {
    // SAFETY: the caller's contract; `cols` picks an `NV` with `8·(NV − 1) < cols ≤ 8·NV`.
    unsafe {
        if t.cols > 8 {
            tile::<ROWS, 2, MASKED_B>(t);
        } else {
            tile::<ROWS, 1, MASKED_B>(t);
        }
    }
}
