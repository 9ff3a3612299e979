//! The shape of one sample, as a layer sees it.

use crate::error::{check_nonzero, Error};
use crate::Result;

/// The shape of one sample of a layer's input or output, without the batch dimension: torch's
/// `input.shape[1:]`. Slices hold whole samples one after another, row-major, so a batch of
/// `N` samples is `N·len()` floats and `N` is the slice's length over [`len`](Self::len).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// `[features]`: a vector per sample (`nn.Linear`, `nn.BatchNorm1d` on `[N, C]`).
    Features(usize),
    /// `[channels, length]`: a sequence per sample (`nn.Conv1d`, `nn.BatchNorm1d` on
    /// `[N, C, L]`).
    Sequence {
        /// Channels `C`.
        channels: usize,
        /// Positions `L` along the sequence.
        length: usize,
    },
    /// `[channels, height, width]`: an image per sample (`nn.Conv2d`, `nn.BatchNorm2d`).
    Image {
        /// Channels `C`.
        channels: usize,
        /// Rows `H`.
        height: usize,
        /// Columns `W`.
        width: usize,
    },
}

impl Shape {
    /// Floats per sample: the product of the dimensions (saturating at `usize::MAX`, which no
    /// slice holds, when it overflows).
    pub const fn len(&self) -> usize {
        self.channels().saturating_mul(self.positions())
    }

    /// Whether a sample holds no float (some dimension is zero).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channels: `features` of a vector, `C` of a sequence or an image.
    pub const fn channels(&self) -> usize {
        match *self {
            Shape::Features(features) => features,
            Shape::Sequence { channels, .. } | Shape::Image { channels, .. } => channels,
        }
    }

    /// The positions of each channel: 1 for a vector, `L` for a sequence, `H·W` for an image
    /// (saturating).
    pub const fn positions(&self) -> usize {
        match *self {
            Shape::Features(_) => 1,
            Shape::Sequence { length, .. } => length,
            Shape::Image { height, width, .. } => height.saturating_mul(width),
        }
    }

    /// The number of dimensions: 1, 2 or 3.
    pub const fn rank(&self) -> usize {
        match self {
            Shape::Features(_) => 1,
            Shape::Sequence { .. } => 2,
            Shape::Image { .. } => 3,
        }
    }

    /// Checks that the shape has `rank` dimensions.
    ///
    /// # Errors
    /// [`Error::RankMismatch`] naming `"input"`.
    pub fn expect_rank(&self, rank: usize) -> Result<()> {
        if self.rank() == rank {
            Ok(())
        } else {
            Err(Error::RankMismatch {
                what: "input",
                expected: rank,
                actual: self.rank(),
            })
        }
    }

    /// The innermost dimension: what `nn.LayerNorm(n)` and `dim=-1` act on.
    pub const fn last(&self) -> usize {
        match *self {
            Shape::Features(features) => features,
            Shape::Sequence { length, .. } => length,
            Shape::Image { width, .. } => width,
        }
    }

    /// The number of samples in a slice of `len` floats named `what`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] (`"input"`) for an empty sample shape,
    /// [`Error::DimensionOverflow`] (`"input"`) when a sample's size overflows, and
    /// [`Error::LengthMismatch`] naming `what` when `len` is not a whole number of samples.
    pub fn batch_of(&self, what: &'static str, len: usize) -> Result<usize> {
        let sample = self.checked_len()?;
        check_nonzero("input", sample)?;
        if len.is_multiple_of(sample) {
            Ok(len / sample)
        } else {
            Err(Error::LengthMismatch {
                what,
                expected: len - len % sample,
                actual: len,
            })
        }
    }

    /// [`len`](Self::len), or [`Error::DimensionOverflow`] (`"input"`).
    fn checked_len(&self) -> Result<usize> {
        let overflow = Error::DimensionOverflow { what: "input" };
        match *self {
            Shape::Features(features) => Ok(features),
            Shape::Sequence { channels, length } => channels.checked_mul(length).ok_or(overflow),
            Shape::Image {
                channels,
                height,
                width,
            } => channels
                .checked_mul(height)
                .and_then(|n| n.checked_mul(width))
                .ok_or(overflow),
        }
    }
}
