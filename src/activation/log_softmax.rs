//! Log-softmax over the last dimension of a row-major `[rows, cols]` slice.

use super::rowwise::{row_fns, RowGrad, RowOut, RowWise};
use super::Saved;
use crate::simd::{self, math, Float8, Lanes, LANES};

/// `Σ_k e^{x_k − m}` over one row, without storing the exponentials. The tail lanes are padded
/// with `−∞`, whose exponential is 0.
#[inline(always)]
fn sum_exp_shifted<L: Lanes>(l: L, x: &[f32], m: L::F) -> f32 {
    let (chunks, tail) = x.as_chunks::<LANES>();
    let mut acc = l.splat(0.0);
    for c in chunks {
        acc += math::exp_lanes(l, l.load(c) - m);
    }
    if !tail.is_empty() {
        acc += math::exp_lanes(l, simd::load_partial_in(l, tail, f32::NEG_INFINITY) - m);
    }
    acc.reduce_add()
}

/// [`log_softmax`](fn@log_softmax): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogSoftmax;

impl RowWise for LogSoftmax {
    const SAVED: Saved = Saved::Output;

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, mut row: RowOut<'_>) {
        // The shift m and the log-normaliser ln Σ e^{x − m}.
        let m = l.splat(simd::max_in(l, row.x()));
        let lse = math::ln_lanes(l, l.splat(sum_exp_shifted(l, row.x(), m)));
        row.map(
            l,
            #[inline(always)]
            |v| (v - m) - lse,
        );
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, mut row: RowGrad<'_>) {
        let s = l.splat(simd::sum_in(l, row.dy()));
        row.map(
            l,
            #[inline(always)]
            |y, g| g - math::exp_lanes(l, y) * s,
        );
    }
}

row_fns! {
    /// `log_softmax(x)_j = x_j − ln Σ_k e^{x_k}` over the last dimension of the row-major
    /// `[rows, cols]` slice `x`: torch's `F.log_softmax(x, dim=-1)`, into `y`.
    ///
    /// Computed as `(x_j − m) − ln Σ_k e^{x_k − m}` with `m` the row maximum (the
    /// max-subtracted log-sum-exp): no overflow, and `ln` of a sum in `[1, cols]`. An entry of
    /// `−∞` gives `−∞`; a row of all `−∞`, or with `+∞` or NaN, gives NaN, as torch. Each `y_j`
    /// is within `u·(|x_j − m| + |y_j| + 8·ln S) + ΔS/S` of the exact value, with
    /// `S = Σ_k e^{x_k − m}` and `ΔS/S ≤ u·(8 + cols + Σ_k p_k·|x_k − m|)`, `p = softmax(x)`
    /// (`u = 2⁻²⁴`).
    ///
    /// Derivative: `∂y_i/∂x_j = δ_ij − softmax(x)_j`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `cols == 0`;
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `x.len()` is not a multiple
    /// of `cols` or `y.len() != x.len()`.
    log_softmax, log_softmax_inplace;
    /// Gradient of [`log_softmax`](fn@log_softmax) from its output, row by row:
    /// `dx = dy − e^y·Σ_k dy_k` (`e^y` is the softmax; torch's `_log_softmax_backward_data`).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `cols == 0`;
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `y.len()` is not a multiple
    /// of `cols`, or `dy`, `dx` are not as long as `y`.
    log_softmax_backward, log_softmax_backward_inplace = LogSoftmax;
}
