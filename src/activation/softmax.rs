//! Softmax and log-softmax over the last dimension of a row-major `[rows, cols]` slice.

use crate::error::{check_len, check_nonzero, Error};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{self, f32x8, math, Lanes, WithLanes, LANES};
use crate::Result;

/// `len / cols` when `cols ≠ 0` divides `len`; `what` names the slice whose length is checked.
pub(super) fn rows_of(what: &'static str, len: usize, cols: usize) -> Result<usize> {
    check_nonzero("cols", cols)?;
    // `checked_*` keep the division free of a panic path; `cols ≠ 0` here.
    let rows = len.checked_div(cols).unwrap_or(0);
    if len.checked_rem(cols) == Some(0) {
        Ok(rows)
    } else {
        Err(Error::LengthMismatch {
            what,
            expected: rows * cols,
            actual: len,
        })
    }
}

/// `Σ_k e^{x_k − m}` over one row, without storing the exponentials. The tail lanes are padded
/// with `−∞`, whose exponential is 0.
fn sum_exp_shifted(x: &[f32], m: f32x8) -> f32 {
    let (chunks, tail) = x.as_chunks::<LANES>();
    let mut acc = f32x8::ZERO;
    for c in chunks {
        acc += math::exp(simd::load(c) - m);
    }
    if !tail.is_empty() {
        acc += math::exp(simd::load_partial(tail, f32::NEG_INFINITY) - m);
    }
    acc.reduce_add()
}

/// One row of softmax, in place (`y` holds `x` on entry).
#[inline(always)]
fn softmax_row<L: Lanes>(l: L, y: &mut [f32]) {
    let m = l.splat(simd::max_in(l, y));
    simd::map_inplace_in(
        l,
        y,
        #[inline(always)]
        |v| math::exp_lanes(l, v - m),
    );
    let s = l.splat(simd::sum_in(l, y));
    simd::map_inplace_in(
        l,
        y,
        #[inline(always)]
        |v| v / s,
    );
}

/// One row of softmax from `x` into `y`: the same operations as [`softmax_row`].
#[inline(always)]
fn softmax_row_from<L: Lanes>(l: L, x: &[f32], y: &mut [f32]) {
    let m = l.splat(simd::max_in(l, x));
    simd::map_in(
        l,
        x,
        y,
        #[inline(always)]
        |v| math::exp_lanes(l, v - m),
    );
    let s = l.splat(simd::sum_in(l, y));
    simd::map_inplace_in(
        l,
        y,
        #[inline(always)]
        |v| v / s,
    );
}

/// Softmax of every row of `y` (in place) or of `x` into `y`, on the dispatched lanes.
struct SoftmaxRows<'a> {
    x: Option<&'a [f32]>,
    y: &'a mut [f32],
    cols: usize,
}

impl WithLanes for SoftmaxRows<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        match self.x {
            Some(x) => {
                for (xr, yr) in by_rows(x, self.cols).zip(by_rows_mut(self.y, self.cols)) {
                    softmax_row_from(l, xr, yr);
                }
            }
            None => {
                for row in by_rows_mut(self.y, self.cols) {
                    softmax_row(l, row);
                }
            }
        }
    }
}

/// `(m, ln Σ e^{x − m})` of one row, the shift and log-normaliser of log-softmax.
fn log_normaliser(x: &[f32]) -> (f32x8, f32x8) {
    let m = f32x8::splat(simd::max(x));
    let s = sum_exp_shifted(x, m);
    (m, math::ln(f32x8::splat(s)))
}

/// `softmax(x)_j = e^{x_j} / Σ_k e^{x_k}` over the last dimension of the row-major
/// `[rows, cols]` slice `x`: torch's `F.softmax(x, dim=-1)`, into `y`.
///
/// Computed as `e^{x_j − m} / Σ_k e^{x_k − m}` with `m` the row maximum, so any finite inputs
/// (`±1e4` in one row) are safe; an entry of `−∞` gives exactly 0. A row whose entries are all
/// `−∞` gives NaN, as torch (`−∞ − (−∞)`); so does a row containing `+∞` or NaN.
/// Each `y_j` is within `u·y_j·(17 + cols + |x_j − m| + Σ_k y_k·|x_k − m|)` of the exact value
/// (`u = 2⁻²⁴`: two `exp` at 8u, the division, `cols` roundings of the sum; the `|x − m|` terms
/// are the rounding of the shift, the function's own conditioning).
///
/// Derivative: `∂y_i/∂x_j = y_i·(δ_ij − y_j)`.
///
/// # Errors
/// [`Error::ZeroDimension`] when `cols == 0`; [`Error::LengthMismatch`] when `x.len()` is not a
/// multiple of `cols` or `y.len() != x.len()`.
pub fn softmax(x: &[f32], y: &mut [f32], cols: usize) -> Result<()> {
    rows_of("x", x.len(), cols)?;
    check_len("y", y.len(), x.len())?;
    simd::dispatch(SoftmaxRows {
        x: Some(x),
        y,
        cols,
    });
    Ok(())
}

/// [`softmax`] in place, row by row: `x_j ← e^{x_j − m} / Σ_k e^{x_k − m}` (same bits).
///
/// # Errors
/// [`Error::ZeroDimension`] when `cols == 0`; [`Error::LengthMismatch`] when `x.len()` is not a
/// multiple of `cols`.
pub fn softmax_inplace(x: &mut [f32], cols: usize) -> Result<()> {
    rows_of("x", x.len(), cols)?;
    simd::dispatch(SoftmaxRows {
        x: None,
        y: x,
        cols,
    });
    Ok(())
}

/// Gradient of [`softmax`] from its output, row by row: `dx = y·(dy − Σ_k y_k·dy_k)`
/// (torch's `_softmax_backward_data`).
///
/// # Errors
/// [`Error::ZeroDimension`] when `cols == 0`; [`Error::LengthMismatch`] when `y.len()` is not a
/// multiple of `cols`, or `dy`, `dx` are not as long as `y`.
pub fn softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> Result<()> {
    rows_of("y", y.len(), cols)?;
    super::check_backward(y.len(), dy.len(), dx.len())?;
    let rows = by_rows(y, cols)
        .zip(by_rows(dy, cols))
        .zip(by_rows_mut(dx, cols));
    for ((yr, gr), dr) in rows {
        let d = f32x8::splat(simd::dot(yr, gr));
        simd::zip_map(yr, gr, dr, |y, g| y * (g - d));
    }
    Ok(())
}

/// [`softmax_backward`] in place: `dy ← dx` (same bits).
///
/// # Errors
/// As [`softmax_backward`] (`dy` is checked against `y`).
pub fn softmax_backward_inplace(y: &[f32], dy: &mut [f32], cols: usize) -> Result<()> {
    rows_of("y", y.len(), cols)?;
    check_len("dy", dy.len(), y.len())?;
    for (yr, gr) in by_rows(y, cols).zip(by_rows_mut(dy, cols)) {
        let d = f32x8::splat(simd::dot(yr, gr));
        simd::zip_map_inplace(yr, gr, |y, g| y * (g - d));
    }
    Ok(())
}

/// `log_softmax(x)_j = x_j − ln Σ_k e^{x_k}` over the last dimension of the row-major
/// `[rows, cols]` slice `x`: torch's `F.log_softmax(x, dim=-1)`, into `y`.
///
/// Computed as `(x_j − m) − ln Σ_k e^{x_k − m}` with `m` the row maximum (the max-subtracted
/// log-sum-exp): no overflow, and `ln` of a sum in `[1, cols]`. An entry of `−∞` gives `−∞`; a
/// row of all `−∞`, or with `+∞` or NaN, gives NaN, as torch. Each `y_j` is within
/// `u·(|x_j − m| + |y_j| + 8·ln S) + ΔS/S` of the exact value, with `S = Σ_k e^{x_k − m}` and
/// `ΔS/S ≤ u·(8 + cols + Σ_k p_k·|x_k − m|)`, `p = softmax(x)` (`u = 2⁻²⁴`).
///
/// Derivative: `∂y_i/∂x_j = δ_ij − softmax(x)_j`.
///
/// # Errors
/// [`Error::ZeroDimension`] when `cols == 0`; [`Error::LengthMismatch`] when `x.len()` is not a
/// multiple of `cols` or `y.len() != x.len()`.
pub fn log_softmax(x: &[f32], y: &mut [f32], cols: usize) -> Result<()> {
    rows_of("x", x.len(), cols)?;
    check_len("y", y.len(), x.len())?;
    for (xr, yr) in by_rows(x, cols).zip(by_rows_mut(y, cols)) {
        let (m, lse) = log_normaliser(xr);
        simd::map(xr, yr, |v| (v - m) - lse);
    }
    Ok(())
}

/// [`log_softmax`] in place, row by row: `x_j ← (x_j − m) − ln Σ_k e^{x_k − m}` (same bits).
///
/// # Errors
/// [`Error::ZeroDimension`] when `cols == 0`; [`Error::LengthMismatch`] when `x.len()` is not a
/// multiple of `cols`.
pub fn log_softmax_inplace(x: &mut [f32], cols: usize) -> Result<()> {
    rows_of("x", x.len(), cols)?;
    for row in by_rows_mut(x, cols) {
        let (m, lse) = log_normaliser(row);
        simd::map_inplace(row, |v| (v - m) - lse);
    }
    Ok(())
}

/// Gradient of [`log_softmax`] from its output, row by row: `dx = dy − e^y·Σ_k dy_k`
/// (`e^y` is the softmax; torch's `_log_softmax_backward_data`).
///
/// # Errors
/// [`Error::ZeroDimension`] when `cols == 0`; [`Error::LengthMismatch`] when `y.len()` is not a
/// multiple of `cols`, or `dy`, `dx` are not as long as `y`.
pub fn log_softmax_backward(y: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> Result<()> {
    rows_of("y", y.len(), cols)?;
    super::check_backward(y.len(), dy.len(), dx.len())?;
    let rows = by_rows(y, cols)
        .zip(by_rows(dy, cols))
        .zip(by_rows_mut(dx, cols));
    for ((yr, gr), dr) in rows {
        let s = f32x8::splat(simd::sum(gr));
        simd::zip_map(yr, gr, dr, |y, g| g - math::exp(y) * s);
    }
    Ok(())
}

/// [`log_softmax_backward`] in place: `dy ← dx` (same bits).
///
/// # Errors
/// As [`log_softmax_backward`] (`dy` is checked against `y`).
pub fn log_softmax_backward_inplace(y: &[f32], dy: &mut [f32], cols: usize) -> Result<()> {
    rows_of("y", y.len(), cols)?;
    check_len("dy", dy.len(), y.len())?;
    for (yr, gr) in by_rows(y, cols).zip(by_rows_mut(dy, cols)) {
        let s = f32x8::splat(simd::sum(gr));
        simd::zip_map_inplace(yr, gr, |y, g| g - math::exp(y) * s);
    }
    Ok(())
}
