//! The checked shape of one convolution call: every length the kernels index by.

use crate::error::{check_len, check_nonzero, checked_len, Error};
use crate::layer::{Params, Window};
use crate::Result;

/// `n / groups`, or 0 for `groups = 0` (which a checked plan never has): a division the
/// compiler cannot prove safe where the check that `groups > 0` is out of sight, kept free of
/// a panic path.
const fn per_group(n: usize, groups: usize) -> usize {
    match n.checked_div(groups) {
        Some(v) => v,
        None => 0,
    }
}

/// Checks that the padded length along an axis, `len + 2·padding` (which
/// [`Window::output_len`] has checked fits in `usize`), fits in `isize`: the kernels compute a
/// position in the padded input as `isize` (`o·stride − padding`), which overflows beyond it,
/// and torch's sizes are `int64` too. [`Error::DimensionOverflow`] naming `"padding"` (the
/// caller has checked that `len` alone fits).
fn check_padded(window: Window, len: usize) -> Result<()> {
    let padded = window.padding.saturating_mul(2).saturating_add(len);
    if isize::try_from(padded).is_ok() {
        Ok(())
    } else {
        Err(Error::DimensionOverflow { what: "padding" })
    }
}

/// A convolution's hyper-parameters, the same for one and two dimensions: a 1-D
/// convolution is a 2-D one over planes of height 1 with a window of height 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) in_channels: usize,
    pub(crate) out_channels: usize,
    pub(crate) groups: usize,
    pub(crate) bias: bool,
    /// The window along the height (`Window::new(1)` for one dimension).
    pub(crate) rows: Window,
    /// The window along the width (the length for one dimension).
    pub(crate) cols: Window,
}

impl Geometry {
    /// `kernel_height · kernel_width` (saturating).
    pub(crate) const fn taps(&self) -> usize {
        self.rows.kernel_size.saturating_mul(self.cols.kernel_size)
    }

    /// `out_channels · in_channels/groups · taps` (saturating; 0 for `groups = 0`).
    pub(crate) const fn weight_len(&self) -> usize {
        self.out_channels
            .saturating_mul(per_group(self.in_channels, self.groups))
            .saturating_mul(self.taps())
    }

    /// `out_channels` with a bias, else 0.
    pub(crate) const fn bias_len(&self) -> usize {
        if self.bias {
            self.out_channels
        } else {
            0
        }
    }

    /// Checks the hyper-parameters and an input plane of `height × width` with `channels`
    /// channels, and returns the output plane's `(height, width)`.
    pub(crate) fn output_plane(
        &self,
        channels: usize,
        height: usize,
        width: usize,
    ) -> Result<(usize, usize)> {
        check_nonzero("in_channels", self.in_channels)?;
        check_nonzero("out_channels", self.out_channels)?;
        check_nonzero("groups", self.groups)?;
        if !self.in_channels.is_multiple_of(self.groups) {
            return Err(Error::InvalidHyperParameter { what: "groups" });
        }
        if !self.out_channels.is_multiple_of(self.groups) {
            return Err(Error::InvalidHyperParameter { what: "groups" });
        }
        check_len("input", channels, self.in_channels)?;
        check_nonzero("input", height)?;
        check_nonzero("input", width)?;
        if isize::try_from(height).is_err() || isize::try_from(width).is_err() {
            return Err(Error::DimensionOverflow { what: "input" });
        }
        let out_height = self.rows.output_len(height, false)?;
        check_padded(self.rows, height)?;
        let out_width = self.cols.output_len(width, false)?;
        check_padded(self.cols, width)?;
        Ok((out_height, out_width))
    }

    /// The plan of a call on `x` (`[batch, in_channels, height, width]`) with `params`.
    pub(crate) fn plan(
        &self,
        (channels, height, width): (usize, usize, usize),
        x: &[f32],
        params: Params<'_>,
    ) -> Result<Plan> {
        let (out_height, out_width) = self.output_plane(channels, height, width)?;
        let in_plane = checked_len("input", height, width)?;
        let sample = checked_len("input", in_plane, channels)?;
        check_nonzero("input", sample)?;
        if !x.len().is_multiple_of(sample) {
            return Err(Error::LengthMismatch {
                what: "x",
                expected: x.len() - x.len() % sample,
                actual: x.len(),
            });
        }
        let batch = x.len() / sample;
        check_nonzero("batch", batch)?;
        let out_plane = checked_len("y", out_height, out_width)?;
        let y_len = checked_len("y", batch, out_plane)
            .and_then(|n| checked_len("y", n, self.out_channels))?;
        // The taps checked too: `taps()` saturates, which would turn an overflowing window
        // into a `LengthMismatch` expecting `usize::MAX` floats when the channels are 1.
        let taps = checked_len("weight", self.rows.kernel_size, self.cols.kernel_size)?;
        let weight_len = checked_len(
            "weight",
            self.out_channels,
            per_group(self.in_channels, self.groups),
        )
        .and_then(|n| checked_len("weight", n, taps))?;
        check_len("weight", params.weight.len(), weight_len)?;
        check_len("bias", params.bias.len(), self.bias_len())?;
        Ok(Plan {
            geometry: *self,
            height,
            width,
            out_height,
            out_width,
            y_len,
        })
    }
}

/// A checked call: the geometry and the planes it runs on. Every length below is a product
/// that was checked not to overflow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) geometry: Geometry,
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) out_height: usize,
    pub(crate) out_width: usize,
    /// The output's length, `batch · out_channels · out_height · out_width`.
    pub(crate) y_len: usize,
}

impl Plan {
    pub(crate) const fn in_plane(&self) -> usize {
        self.height * self.width
    }

    pub(crate) const fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Input channels per group.
    pub(crate) const fn group_in(&self) -> usize {
        per_group(self.geometry.in_channels, self.geometry.groups)
    }

    /// Output channels per group.
    pub(crate) const fn group_out(&self) -> usize {
        per_group(self.geometry.out_channels, self.geometry.groups)
    }

    /// One output channel's weights, `group_in · taps`.
    pub(crate) const fn filter_len(&self) -> usize {
        self.group_in() * self.geometry.taps()
    }
}
