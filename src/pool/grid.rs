//! The geometry every window pooling shares: the hyper-parameter checks, the output plane,
//! and, for each output, the input positions its window reads, in torch's order.
//!
//! Every length and range comes from [`Window`]: [`Window::output_len`] for the output's size
//! and [`Window::outputs_reading`] for which taps of an output read inside the input.

use core::ops::Range;

use crate::error::{check_nonzero, Error};
use crate::layer::{Shape, Window};
use crate::Result;

/// The hyper-parameters of a window pooling over `[H, W]` planes: one [`Window`] per axis
/// (a 1-D pooling has a one-tap window along a height of 1), `ceil_mode`, and the rank of the
/// sample shape it takes (2 for `[C, L]`, 3 for `[C, H, W]`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Pooling {
    pub(super) rows: Window,
    pub(super) cols: Window,
    pub(super) ceil_mode: bool,
    pub(super) rank: usize,
}

/// Checks one axis's hyper-parameters as torch does: `kernel_size`, `stride` and `dilation`
/// non-zero, and `padding ≤ kernel_size/2`. (torch 2.15's max pooling checks the kernel, not
/// the dilated span: "pad should be smaller than or equal to half of kernel size"; its
/// average pooling checks "half of effective kernel size", the same without dilation.)
fn check_axis(w: &Window) -> Result<()> {
    check_nonzero("kernel_size", w.kernel_size)?;
    check_nonzero("stride", w.stride)?;
    check_nonzero("dilation", w.dilation)?;
    if w.padding > w.kernel_size / 2 {
        return Err(Error::InvalidHyperParameter { what: "padding" });
    }
    Ok(())
}

impl Pooling {
    /// The checked geometry of one sample of shape `input`: its channels and its planes.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] naming `"kernel_size"`, `"stride"` or `"dilation"`,
    /// [`Error::InvalidHyperParameter`] (`"padding"`), [`Error::RankMismatch`] and
    /// [`Error::ZeroDimension`] (`"input"`), [`Error::DimensionOverflow`] (`"input"`),
    /// [`Error::WindowExceedsInput`] (`"kernel_size"`).
    pub(super) fn grid(&self, input: Shape) -> Result<(usize, Grid)> {
        check_axis(&self.rows)?;
        check_axis(&self.cols)?;
        input.expect_rank(self.rank)?;
        let (channels, height, width) = match input {
            Shape::Features(f) => (f, 1, 1),
            Shape::Sequence { channels, length } => (channels, 1, length),
            Shape::Image {
                channels,
                height,
                width,
            } => (channels, height, width),
        };
        for d in [channels, height, width] {
            check_nonzero("input", d)?;
        }
        let overflow = Error::DimensionOverflow { what: "input" };
        let in_len = height.checked_mul(width).ok_or(overflow)?;
        in_len.checked_mul(channels).ok_or(overflow)?;
        let out_h = self.rows.output_len(height, self.ceil_mode)?;
        let out_w = self.cols.output_len(width, self.ceil_mode)?;
        let out_len = out_h.checked_mul(out_w).ok_or(overflow)?;
        out_len.checked_mul(channels).ok_or(overflow)?;
        let grid = Grid {
            rows: Axis::new(self.rows, height, out_h),
            cols: Axis::new(self.cols, width, out_w),
            in_w: width,
            in_len,
            out_w,
            out_len,
        };
        Ok((channels, grid))
    }

    /// The shape of rank [`rank`](Self::rank) with these dimensions.
    pub(super) const fn shape(&self, channels: usize, height: usize, width: usize) -> Shape {
        if self.rank == 2 {
            Shape::Sequence {
                channels,
                length: width,
            }
        } else {
            Shape::Image {
                channels,
                height,
                width,
            }
        }
    }
}

/// One axis of a pooling with the input's and the output's lengths along it.
#[derive(Clone, Debug)]
pub(super) struct Axis {
    window: Window,
    input: usize,
    output: usize,
    /// The outputs whose every tap reads inside the input: the intersection of every tap's
    /// [`Window::outputs_reading`], which is tap 0's start and the last tap's end (both
    /// bounds fall as the tap grows).
    inner: Range<usize>,
}

impl Axis {
    /// The axis of `window` from `input` positions to `output` (the window is checked).
    pub(super) fn new(window: Window, input: usize, output: usize) -> Axis {
        let last = window.kernel_size.saturating_sub(1);
        let start = window.outputs_reading(0, input, output).start;
        let end = window.outputs_reading(last, input, output).end;
        Axis {
            window,
            input,
            output,
            inner: start..end,
        }
    }

    /// The axis of the same window over the input with its padding as positions: the taps it
    /// counts per output are the window clipped to `[−padding, input + padding)`, torch's
    /// divisor with `count_include_pad`.
    pub(super) fn padded(&self) -> Axis {
        let window = Window {
            padding: 0,
            ..self.window
        };
        let input = self
            .input
            .saturating_add(self.window.padding.saturating_mul(2));
        Axis::new(window, input, self.output)
    }

    /// The taps of output `o` that read inside the input: a contiguous range (a tap's
    /// outputs start and end lower as the tap grows), empty when every tap reads padding.
    pub(super) fn taps(&self, o: usize) -> Range<usize> {
        let k = self.window.kernel_size;
        if self.inner.contains(&o) {
            return 0..k;
        }
        let reads = |t: usize| {
            self.window
                .outputs_reading(t, self.input, self.output)
                .contains(&o)
        };
        let Some(first) = (0..k).find(|&t| reads(t)) else {
            return 0..0;
        };
        let end = (first + 1..k).find(|&t| !reads(t)).unwrap_or(k);
        first..end
    }

    /// The input positions output `o` reads: the first, the step, how many.
    pub(super) fn span(&self, o: usize) -> Span {
        let taps = self.taps(o);
        if taps.is_empty() {
            return Span::EMPTY;
        }
        // The first tap of `taps` reads inside the input, so this is `Some`.
        let Some(first) = self.window.input_of(o, taps.start, self.input) else {
            return Span::EMPTY;
        };
        Span {
            first,
            step: self.window.dilation,
            count: taps.len(),
        }
    }
}

/// Evenly spaced positions along one axis: `first + i·step` for `i < count`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    first: usize,
    step: usize,
    pub(super) count: usize,
}

impl Span {
    const EMPTY: Span = Span {
        first: 0,
        step: 1,
        count: 0,
    };
}

/// The planes of one pooling: per axis its window and lengths; the input plane `[H, W]` and
/// the output plane `[H_out, W_out]` (their products checked).
#[derive(Clone, Debug)]
pub(super) struct Grid {
    pub(super) rows: Axis,
    pub(super) cols: Axis,
    in_w: usize,
    /// `H·W`.
    pub(super) in_len: usize,
    out_w: usize,
    /// `H_out·W_out`.
    pub(super) out_len: usize,
}

/// The input positions one output reads, row by row, as indices `h·W + w` into the plane.
#[derive(Clone, Copy, Debug)]
pub(super) struct Taps {
    rows: Span,
    cols: Span,
    width: usize,
}

impl Taps {
    /// Whether the window reads no input position (only padding).
    pub(super) const fn is_empty(&self) -> bool {
        self.rows.count == 0 || self.cols.count == 0
    }

    /// The number of input positions read.
    pub(super) const fn len(&self) -> usize {
        self.rows.count * self.cols.count
    }

    /// Calls `f` with each position's plane index, in torch's order: rows top to bottom, each
    /// row left to right.
    #[inline(always)]
    pub(super) fn for_each(&self, mut f: impl FnMut(usize)) {
        let mut h = self.rows.first;
        for _ in 0..self.rows.count {
            let mut i = h * self.width + self.cols.first;
            for _ in 0..self.cols.count {
                f(i);
                i += self.cols.step;
            }
            h += self.rows.step;
        }
    }
}

impl Grid {
    /// `H_out`.
    pub(super) const fn rows_out(&self) -> usize {
        self.rows.output
    }

    /// `W_out`.
    pub(super) const fn cols_out(&self) -> usize {
        self.out_w
    }

    /// Calls `f(o, taps)` for every output `o = h_out·W_out + w_out` of the plane in order,
    /// with the input positions its window reads.
    #[inline(always)]
    pub(super) fn for_each_output(&self, mut f: impl FnMut(usize, Taps)) {
        let mut o = 0;
        for oh in 0..self.rows.output {
            let rows = self.rows.span(oh);
            for ow in 0..self.out_w {
                let taps = Taps {
                    rows,
                    cols: self.cols.span(ow),
                    width: self.in_w,
                };
                f(o, taps);
                o += 1;
            }
        }
    }

    /// Like [`for_each_output`](Self::for_each_output), with each output's taps counted
    /// over the padded input too (torch's `count_include_pad` divisor): `f(o, taps, padded)`.
    #[inline(always)]
    pub(super) fn for_each_output_padded(&self, mut f: impl FnMut(usize, Taps, usize)) {
        let (rows_padded, cols_padded) = (self.rows.padded(), self.cols.padded());
        let mut o = 0;
        for oh in 0..self.rows.output {
            let rows = self.rows.span(oh);
            let rows_in_pad = rows_padded.taps(oh).len();
            for ow in 0..self.out_w {
                let taps = Taps {
                    rows,
                    cols: self.cols.span(ow),
                    width: self.in_w,
                };
                f(o, taps, rows_in_pad * cols_padded.taps(ow).len());
                o += 1;
            }
        }
    }
}
