//! The crate's one error type.

use core::fmt;

/// What went wrong in a call: every public kernel checks its arguments and returns one of
/// these instead of panicking.
///
/// `Error` is `Copy`, allocates nothing, and names the argument at fault with a
/// `&'static str` that matches the parameter's name in the function's signature
/// (`"x"`, `"weight"`, `"target"`, …), so a message is enough to fix the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A slice's length is not the one the dimensions imply.
    LengthMismatch {
        /// The argument whose length is wrong.
        what: &'static str,
        /// The length the dimensions require.
        expected: usize,
        /// The length that was passed.
        actual: usize,
    },
    /// A dimension is zero where the operation needs at least one element.
    ZeroDimension {
        /// The dimension that is zero.
        what: &'static str,
    },
    /// The product of the dimensions does not fit in `usize`.
    DimensionOverflow {
        /// The argument whose size overflowed.
        what: &'static str,
    },
    /// A class index is not below the number of classes.
    ClassOutOfRange {
        /// The position of the offending target in the batch.
        sample: usize,
        /// The class index that was given.
        index: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A sample's shape has another number of dimensions than the layer takes (a dense layer
    /// given an image, say).
    RankMismatch {
        /// The argument whose shape is wrong (`"input"`).
        what: &'static str,
        /// The dimensions per sample the layer takes.
        expected: usize,
        /// The dimensions per sample that were passed.
        actual: usize,
    },
    /// A sliding window (a convolution's or a pooling's) spans more positions than the
    /// padded input has along one axis.
    WindowExceedsInput {
        /// The hyper-parameter that sets the window (`"kernel_size"`).
        what: &'static str,
        /// The positions the window spans, `dilation·(kernel_size − 1) + 1`.
        span: usize,
        /// The input's length plus twice the padding.
        input: usize,
    },
    /// A hyper-parameter is outside its valid range (negative, NaN, …).
    InvalidHyperParameter {
        /// The hyper-parameter's name, as torch spells it.
        what: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "`{what}` has length {actual}, expected {expected}"),
            Error::ZeroDimension { what } => write!(f, "dimension `{what}` is zero"),
            Error::DimensionOverflow { what } => {
                write!(f, "the size of `{what}` overflows usize")
            }
            Error::ClassOutOfRange {
                sample,
                index,
                classes,
            } => write!(
                f,
                "target {index} of sample {sample} is out of range for {classes} classes"
            ),
            Error::RankMismatch {
                what,
                expected,
                actual,
            } => write!(
                f,
                "`{what}` has {actual} dimensions per sample, expected {expected}"
            ),
            Error::WindowExceedsInput { what, span, input } => write!(
                f,
                "the `{what}` window spans {span} positions, more than the {input} of the padded input"
            ),
            Error::InvalidHyperParameter { what } => {
                write!(f, "hyper-parameter `{what}` is out of range")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Shorthand for `core::result::Result<T, descent::Error>`.
pub type Result<T> = core::result::Result<T, Error>;

/// Checks that `slice_len == expected`, naming the argument otherwise.
#[inline]
pub(crate) fn check_len(what: &'static str, slice_len: usize, expected: usize) -> Result<()> {
    if slice_len == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual: slice_len,
        })
    }
}

/// Checks that a dimension is non-zero.
#[inline]
pub(crate) fn check_nonzero(what: &'static str, dim: usize) -> Result<()> {
    if dim == 0 {
        Err(Error::ZeroDimension { what })
    } else {
        Ok(())
    }
}

/// Checks that a hyper-parameter is finite (any sign).
#[inline]
pub(crate) fn check_finite(what: &'static str, x: f32) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// Checks that a hyper-parameter is finite and `≥ 0` (torch's `0.0 <= x`, plus NaN and ∞
/// refused).
#[inline]
pub(crate) fn check_non_negative(what: &'static str, x: f32) -> Result<()> {
    if x >= 0.0 && x.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// `rows * cols`, or `DimensionOverflow` naming `what`.
#[inline]
pub(crate) fn checked_len(what: &'static str, rows: usize, cols: usize) -> Result<usize> {
    rows.checked_mul(cols)
        .ok_or(Error::DimensionOverflow { what })
}
