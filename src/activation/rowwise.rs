//! The declarative form of an activation that normalises over each row of a row-major
//! `[rows, cols]` slice (softmax, log-softmax), and its driver.
//!
//! A row-wise activation implements [`RowWise`]: its forward and backward on *one row*, generic
//! over [`Lanes`], reading and writing the row through [`RowOut`] / [`RowGrad`], which stand
//! for both the out-of-place and the in-place call (so each is written once, and the two forms
//! give the same bits). [`Rows`] checks the arguments and runs the rows on the lanes
//! [`dispatch`](fn@crate::simd::dispatch) picks: its methods are the torch-named functions.

use super::Saved;
use crate::error::{check_len, check_nonzero, Error};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{self, Lanes, WithLanes};
use crate::Result;

/// `len / cols` when `cols ≠ 0` divides `len`; `what` names the slice whose length is checked.
///
/// # Errors
/// [`Error::ZeroDimension`] naming `cols` when `cols == 0`; [`Error::LengthMismatch`] naming
/// `what` when `cols` does not divide `len`.
pub(crate) fn rows_of(what: &'static str, len: usize, cols: usize) -> Result<usize> {
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

/// One row of a forward pass: the input `x`, and the output `y`, a separate row or, in place,
/// the same one.
pub(crate) struct RowOut<'a> {
    /// `Some(x)` out of place; `None` in place, where `y` holds `x` on entry.
    x: Option<&'a [f32]>,
    y: &'a mut [f32],
}

impl RowOut<'_> {
    /// The input row `x`; read it before the first [`map`](RowOut::map).
    #[inline(always)]
    pub(crate) fn x(&self) -> &[f32] {
        match self.x {
            Some(x) => x,
            None => self.y,
        }
    }

    /// The output row `y` (after a [`map`](RowOut::map) it holds that map's values).
    #[inline(always)]
    pub(crate) fn y(&mut self) -> &mut [f32] {
        self.y
    }

    /// `y[j] = f(x[j])`, through the tail-safe element-wise map on the lanes `l`.
    #[inline(always)]
    pub(crate) fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F) -> L::F) {
        match self.x {
            Some(x) => simd::map_in(l, x, self.y, f),
            None => simd::map_inplace_in(l, self.y, f),
        }
    }
}

/// One row of a backward pass: the saved row, the upstream gradient `dy`, and `dx`, a separate
/// row or, in place, `dy`'s.
pub(crate) struct RowGrad<'a> {
    saved: &'a [f32],
    /// `Some(dy)` out of place; `None` in place, where `dx` holds `dy` on entry.
    dy: Option<&'a [f32]>,
    dx: &'a mut [f32],
}

impl RowGrad<'_> {
    /// The saved row (the forward's output `y`).
    #[inline(always)]
    pub(crate) fn saved(&self) -> &[f32] {
        self.saved
    }

    /// The upstream gradient `dy`; read it before [`map`](RowGrad::map).
    #[inline(always)]
    pub(crate) fn dy(&self) -> &[f32] {
        match self.dy {
            Some(dy) => dy,
            None => self.dx,
        }
    }

    /// `dx[j] = f(saved[j], dy[j])` on the lanes `l`.
    #[inline(always)]
    pub(crate) fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F, L::F) -> L::F) {
        match self.dy {
            Some(dy) => simd::zip_map_in(l, self.saved, dy, self.dx, f),
            None => simd::zip_map_inplace_in(l, self.saved, self.dx, f),
        }
    }
}

/// An activation over each row, stated once for every instruction set and both call forms.
/// Everything must be `#[inline(always)]`, as in [`Elementwise`](super::elementwise::Elementwise).
pub(crate) trait RowWise: Copy {
    /// The tensor the backward pass reads.
    const SAVED: Saved;
    /// The forward pass over one row.
    fn forward<L: Lanes>(self, l: L, row: RowOut<'_>);
    /// The backward pass over one row.
    fn backward<L: Lanes>(self, l: L, row: RowGrad<'_>);
}

/// A [`RowWise`] activation over a whole `[rows, cols]` slice: the checked, dispatched calls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows<R>(pub R);

impl<R: RowWise> Rows<R> {
    /// `y = f(x)`, row by row.
    ///
    /// # Errors
    /// As [`rows_of`] for `x`; [`Error::LengthMismatch`] naming `y` when `y.len() != x.len()`.
    #[inline]
    pub(crate) fn forward(self, x: &[f32], y: &mut [f32], cols: usize) -> Result<()> {
        rows_of("x", x.len(), cols)?;
        check_len("y", y.len(), x.len())?;
        simd::dispatch(Forward {
            op: self.0,
            x: Some(x),
            y,
            cols,
        });
        Ok(())
    }

    /// `x ← f(x)`, row by row (the same bits as [`Rows::forward`]).
    ///
    /// # Errors
    /// As [`rows_of`] for `x`.
    #[inline]
    pub(crate) fn forward_inplace(self, x: &mut [f32], cols: usize) -> Result<()> {
        rows_of("x", x.len(), cols)?;
        simd::dispatch(Forward {
            op: self.0,
            x: None,
            y: x,
            cols,
        });
        Ok(())
    }

    /// `dx` from `y` and `dy`, row by row.
    ///
    /// # Errors
    /// As [`rows_of`] for `y`; [`Error::LengthMismatch`] naming `dy` or `dx` when it is not as
    /// long as `y`.
    #[inline]
    pub(crate) fn backward(self, y: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> Result<()> {
        rows_of("y", y.len(), cols)?;
        check_len("dy", dy.len(), y.len())?;
        check_len("dx", dx.len(), y.len())?;
        simd::dispatch(Backward {
            op: self.0,
            y,
            dy: Some(dy),
            dx,
            cols,
        });
        Ok(())
    }

    /// `dy ← dx`, row by row (the same bits as [`Rows::backward`]).
    ///
    /// # Errors
    /// As [`rows_of`] for `y`; [`Error::LengthMismatch`] naming `dy` when it is not as long as
    /// `y`.
    #[inline]
    pub(crate) fn backward_inplace(self, y: &[f32], dy: &mut [f32], cols: usize) -> Result<()> {
        rows_of("y", y.len(), cols)?;
        check_len("dy", dy.len(), y.len())?;
        simd::dispatch(Backward {
            op: self.0,
            y,
            dy: None,
            dx: dy,
            cols,
        });
        Ok(())
    }
}

/// The forward kernel: `x` into `y`, or over `y` when `x` is `None`.
struct Forward<'a, R> {
    op: R,
    x: Option<&'a [f32]>,
    y: &'a mut [f32],
    cols: usize,
}

impl<R: RowWise> WithLanes for Forward<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let mut xs = self.x.map(|x| by_rows(x, self.cols));
        for y in by_rows_mut(self.y, self.cols) {
            let x = xs.as_mut().and_then(Iterator::next);
            self.op.forward(l, RowOut { x, y });
        }
    }
}

/// The backward kernel: from `y` and `dy` into `dx`, or over `dx` when `dy` is `None`.
struct Backward<'a, R> {
    op: R,
    y: &'a [f32],
    dy: Option<&'a [f32]>,
    dx: &'a mut [f32],
    cols: usize,
}

impl<R: RowWise> WithLanes for Backward<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let mut dys = self.dy.map(|dy| by_rows(dy, self.cols));
        for (saved, dx) in by_rows(self.y, self.cols).zip(by_rows_mut(self.dx, self.cols)) {
            let dy = dys.as_mut().and_then(Iterator::next);
            self.op.backward(l, RowGrad { saved, dy, dx });
        }
    }
}

/// The torch-named functions of a row-wise activation: `name(x, y, cols)`,
/// `name_inplace(x, cols)`, `name_backward(y, dy, dx, cols)` and
/// `name_backward_inplace(y, dy, cols)`, each one call to [`Rows`].
///
/// ```text
/// row_fns! {
///     /// `softmax(x)_j = …` (the forward's documentation)
///     softmax, softmax_inplace;
///     /// Gradient of … (the backward's documentation)
///     softmax_backward, softmax_backward_inplace = Softmax;
/// }
/// ```
macro_rules! row_fns {
    (
        $(#[$fdoc:meta])* $f:ident, $f_in:ident;
        $(#[$bdoc:meta])* $b:ident, $b_in:ident = $k:expr;
    ) => {
        $(#[$fdoc])*
        pub fn $f(x: &[f32], y: &mut [f32], cols: usize) -> $crate::Result<()> {
            $crate::activation::rowwise::Rows($k).forward(x, y, cols)
        }

        #[doc = concat!("[`", stringify!($f), "`](fn@", stringify!($f), ") in place, row by \
            row (the same bits).")]
        ///
        /// # Errors
        /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `cols == 0`;
        /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `x.len()` is not a
        /// multiple of `cols`.
        pub fn $f_in(x: &mut [f32], cols: usize) -> $crate::Result<()> {
            $crate::activation::rowwise::Rows($k).forward_inplace(x, cols)
        }

        $(#[$bdoc])*
        pub fn $b(y: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> $crate::Result<()> {
            $crate::activation::rowwise::Rows($k).backward(y, dy, dx, cols)
        }

        #[doc = concat!("[`", stringify!($b), "`](fn@", stringify!($b),
            ") in place: `dy ← dx` (the same bits).")]
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($b), "`](fn@", stringify!($b),
            ") (`dy` is checked against `y`).")]
        pub fn $b_in(y: &[f32], dy: &mut [f32], cols: usize) -> $crate::Result<()> {
            $crate::activation::rowwise::Rows($k).backward_inplace(y, dy, cols)
        }
    };
}

pub(crate) use row_fns;
