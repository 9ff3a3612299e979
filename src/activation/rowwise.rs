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

/// One row of a forward pass: the input, and where the output goes (a separate row, or over
/// the input).
pub(crate) trait RowOut {
    /// The input row `x`; read it before the first [`map`](RowOut::map).
    fn x(&self) -> &[f32];
    /// The output row `y` (after a [`map`](RowOut::map) it holds that map's values).
    fn y(&mut self) -> &mut [f32];
    /// `y[j] = f(x[j])`, through the tail-safe element-wise map on the lanes `l`.
    fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F) -> L::F);
}

/// One row of a backward pass: the saved row, the upstream gradient `dy`, and where `dx`
/// goes (a separate row, or over `dy`).
pub(crate) trait RowGrad {
    /// The saved row (the forward's output `y`).
    fn saved(&self) -> &[f32];
    /// The upstream gradient `dy`; read it before [`map`](RowGrad::map).
    fn dy(&self) -> &[f32];
    /// `dx[j] = f(saved[j], dy[j])` on the lanes `l`.
    fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F, L::F) -> L::F);
}

/// An activation over each row, stated once for every instruction set and both call forms.
/// Everything must be `#[inline(always)]`, as in [`Elementwise`](super::elementwise::Elementwise).
pub(crate) trait RowWise: Copy {
    /// The tensor the backward pass reads.
    const SAVED: Saved;
    /// The forward pass over one row.
    fn forward<L: Lanes>(self, l: L, row: impl RowOut);
    /// The backward pass over one row.
    fn backward<L: Lanes>(self, l: L, row: impl RowGrad);
}

/// `x` into `y`.
struct Into<'a>(&'a [f32], &'a mut [f32]);
/// `y` over `x`.
struct Over<'a>(&'a mut [f32]);
/// `(saved, dy)` into `dx`.
struct GradInto<'a>(&'a [f32], &'a [f32], &'a mut [f32]);
/// `(saved, dy)` over `dy`.
struct GradOver<'a>(&'a [f32], &'a mut [f32]);

impl RowOut for Into<'_> {
    #[inline(always)]
    fn x(&self) -> &[f32] {
        self.0
    }
    #[inline(always)]
    fn y(&mut self) -> &mut [f32] {
        self.1
    }
    #[inline(always)]
    fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F) -> L::F) {
        simd::map_in(l, self.0, self.1, f);
    }
}

impl RowOut for Over<'_> {
    #[inline(always)]
    fn x(&self) -> &[f32] {
        self.0
    }
    #[inline(always)]
    fn y(&mut self) -> &mut [f32] {
        self.0
    }
    #[inline(always)]
    fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F) -> L::F) {
        simd::map_inplace_in(l, self.0, f);
    }
}

impl RowGrad for GradInto<'_> {
    #[inline(always)]
    fn saved(&self) -> &[f32] {
        self.0
    }
    #[inline(always)]
    fn dy(&self) -> &[f32] {
        self.1
    }
    #[inline(always)]
    fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F, L::F) -> L::F) {
        simd::zip_map_in(l, self.0, self.1, self.2, f);
    }
}

impl RowGrad for GradOver<'_> {
    #[inline(always)]
    fn saved(&self) -> &[f32] {
        self.0
    }
    #[inline(always)]
    fn dy(&self) -> &[f32] {
        self.1
    }
    #[inline(always)]
    fn map<L: Lanes>(&mut self, l: L, f: impl Fn(L::F, L::F) -> L::F) {
        simd::zip_map_inplace_in(l, self.0, self.1, f);
    }
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
            grad: Grad::Into(dy, dx),
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
            grad: Grad::Over(dy),
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
        let (op, cols) = (self.op, self.cols);
        match self.x {
            Some(x) => {
                for (xr, yr) in by_rows(x, cols).zip(by_rows_mut(self.y, cols)) {
                    op.forward(l, Into(xr, yr));
                }
            }
            None => {
                for row in by_rows_mut(self.y, cols) {
                    op.forward(l, Over(row));
                }
            }
        }
    }
}

/// Where a backward pass reads `dy` and writes `dx`.
enum Grad<'a> {
    /// `dy` into `dx`.
    Into(&'a [f32], &'a mut [f32]),
    /// `dx` over `dy`.
    Over(&'a mut [f32]),
}

/// The backward kernel.
struct Backward<'a, R> {
    op: R,
    y: &'a [f32],
    grad: Grad<'a>,
    cols: usize,
}

impl<R: RowWise> WithLanes for Backward<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let (op, cols) = (self.op, self.cols);
        match self.grad {
            Grad::Into(dy, dx) => {
                let rows = by_rows(self.y, cols)
                    .zip(by_rows(dy, cols))
                    .zip(by_rows_mut(dx, cols));
                for ((yr, gr), dr) in rows {
                    op.backward(l, GradInto(yr, gr, dr));
                }
            }
            Grad::Over(dy) => {
                for (yr, gr) in by_rows(self.y, cols).zip(by_rows_mut(dy, cols)) {
                    op.backward(l, GradOver(yr, gr));
                }
            }
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
