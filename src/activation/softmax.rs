//! Softmax over the last dimension of a row-major `[rows, cols]` slice.

use super::rowwise::{row_fns, RowGrad, RowOut, RowWise};
use super::Saved;
use crate::simd::{self, math, Lanes};

/// [`softmax`](fn@softmax): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Softmax;

impl RowWise for Softmax {
    const SAVED: Saved = Saved::Output;

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, mut row: RowOut<'_>) {
        let m = l.splat(simd::max_in(l, row.x()));
        row.map(
            l,
            #[inline(always)]
            |v| math::exp_lanes(l, v - m),
        );
        let s = l.splat(simd::sum_in(l, row.y()));
        simd::map_inplace_in(
            l,
            row.y(),
            #[inline(always)]
            |v| v / s,
        );
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, mut row: RowGrad<'_>) {
        let d = l.splat(simd::dot_in(l, row.saved(), row.dy()));
        row.map(
            l,
            #[inline(always)]
            |y, g| y * (g - d),
        );
    }
}

row_fns! {
    /// `softmax(x)_j = e^{x_j} / Σ_k e^{x_k}` over the last dimension of the row-major
    /// `[rows, cols]` slice `x`: torch's `F.softmax(x, dim=-1)`, into `y`.
    ///
    /// Computed as `e^{x_j − m} / Σ_k e^{x_k − m}` with `m` the row maximum, so any finite
    /// inputs (`±1e4` in one row) are safe; an entry of `−∞` gives exactly 0. A row whose
    /// entries are all `−∞` gives NaN, as torch (`−∞ − (−∞)`); so does a row containing `+∞` or
    /// NaN. Each `y_j` is within `u·y_j·(17 + cols + |x_j − m| + Σ_k y_k·|x_k − m|)` of the
    /// exact value (`u = 2⁻²⁴`: two `exp` at 8u, the division, `cols` roundings of the sum; the
    /// `|x − m|` terms are the rounding of the shift, the function's own conditioning).
    ///
    /// Derivative: `∂y_i/∂x_j = y_i·(δ_ij − y_j)`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `cols == 0`;
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `x.len()` is not a multiple
    /// of `cols` or `y.len() != x.len()`.
    softmax, softmax_inplace;
    /// Gradient of [`softmax`](fn@softmax) from its output, row by row:
    /// `dx = y·(dy − Σ_k y_k·dy_k)` (torch's `_softmax_backward_data`).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `cols == 0`;
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `y.len()` is not a multiple
    /// of `cols`, or `dy`, `dx` are not as long as `y`.
    softmax_backward, softmax_backward_inplace = Softmax;
}
