//! Walking the columns of one row of `C` so that full-width accesses start on the row's
//! 32-byte boundary: the first columns one at a time, then eight at a time, then the rest one
//! at a time. No access straddles two cache lines and none is masked (masked stores are slow
//! on AMD cores). The short sums ([`super::short`]) and the sweep of one long row
//! ([`super::sweep`]) walk their rows this way.

use crate::simd::floats_before_boundary;

/// Visits every column `j < n` of the row that starts at `row` once, in increasing order:
/// `one(j)` for a single column, `eight(j)` for columns `j..j + 8`. Every `eight` starts on a
/// 32-byte boundary (given the 4-byte alignment of an `f32`); runs of 32 columns call it four
/// times per round.
///
/// `#[inline(always)]`: the walk and its closures inline into the calling kernel and get its
/// instruction set. Only `row`'s address is read, never the memory.
#[inline(always)]
pub(super) fn walk_columns(
    row: *const f32,
    n: usize,
    mut one: impl FnMut(usize),
    mut eight: impl FnMut(usize),
) {
    let head = floats_before_boundary(row, n);
    let mut j = 0;
    while j < head {
        one(j);
        j += 1;
    }
    while j + 32 <= n {
        eight(j);
        eight(j + 8);
        eight(j + 16);
        eight(j + 24);
        j += 32;
    }
    while j + 8 <= n {
        eight(j);
        j += 8;
    }
    while j < n {
        one(j);
        j += 1;
    }
}
