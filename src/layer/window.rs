//! The geometry of a sliding window along one axis, shared by convolutions and pooling.

use core::ops::Range;

use crate::error::Error;
use crate::Result;

/// One axis of a sliding window: torch's `kernel_size`, `stride`, `padding` and `dilation`
/// along that axis of a convolution or a pooling layer.
///
/// Output position `o` reads the inputs `i = o·stride − padding + t·dilation` for the taps
/// `t < kernel_size`; an `i` outside `[0, L)` is padding (zero for a convolution, absent for
/// a pooling). The output length for an input of length `L` is torch's
///
/// `⌊(L + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1`,
///
/// with `⌈…⌉` under `ceil_mode`, less one where the last window would then start in the
/// right padding (pooling's rule).
///
/// ```
/// use descent::layer::Window;
///
/// let w = Window { stride: 2, padding: 3, ..Window::new(7) }; // nn.Conv1d(_, _, 7, 2, 3)
/// assert_eq!(w.output_len(100, false)?, 50);
/// assert_eq!(w.outputs_reading(0, 100, 50), 2..50); // tap 0 reads padding for o < 2
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// The taps of the window (`≥ 1`).
    pub kernel_size: usize,
    /// The step between two outputs' windows (`≥ 1`).
    pub stride: usize,
    /// The implicit positions added on each side of the input.
    pub padding: usize,
    /// The step between two taps (`≥ 1`).
    pub dilation: usize,
}

impl Window {
    /// A window of `kernel_size` taps with stride 1, no padding, dilation 1.
    pub const fn new(kernel_size: usize) -> Window {
        Window {
            kernel_size,
            stride: 1,
            padding: 0,
            dilation: 1,
        }
    }

    /// The positions the window covers, `dilation·(kernel_size − 1) + 1` (saturating).
    pub const fn span(&self) -> usize {
        self.dilation
            .saturating_mul(self.kernel_size.saturating_sub(1))
            .saturating_add(1)
    }

    /// The output length for an input of length `input` (see the type's docs).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] naming `"kernel_size"`, `"stride"` or `"dilation"` when that
    /// is zero; [`Error::DimensionOverflow`] (`"padding"`) when the padded length overflows;
    /// [`Error::WindowExceedsInput`] (`"kernel_size"`) when no window fits: the window spans
    /// more positions than the padded input has, as torch refuses ("Kernel size can't be
    /// greater than actual input size" for a convolution, "Output size is too small" for a
    /// pooling). Under `ceil_mode` torch's formula lets the one window of a pooling run up to
    /// `stride − 1` positions past the padded input, and so does this.
    ///
    /// ```
    /// use descent::layer::Window;
    ///
    /// let w = Window { stride: 2, ..Window::new(3) }; // nn.MaxPool1d(3, 2, ceil_mode=True)
    /// assert_eq!(w.output_len(2, true)?, 1); // the window [0, 3) reads the 2 positions
    /// assert!(w.output_len(2, false).is_err());
    /// # Ok::<(), descent::Error>(())
    /// ```
    pub const fn output_len(&self, input: usize, ceil_mode: bool) -> Result<usize> {
        let zero = if self.kernel_size == 0 {
            Some("kernel_size")
        } else if self.stride == 0 {
            Some("stride")
        } else if self.dilation == 0 {
            Some("dilation")
        } else {
            None
        };
        if let Some(what) = zero {
            return Err(Error::ZeroDimension { what });
        }
        let Some(padded) = self.padding.checked_mul(2) else {
            return Err(Error::DimensionOverflow { what: "padding" });
        };
        let Some(padded) = padded.checked_add(input) else {
            return Err(Error::DimensionOverflow { what: "padding" });
        };
        let span = self.span();
        let len = match padded.checked_sub(span) {
            Some(room) if ceil_mode => room.div_ceil(self.stride) + 1,
            Some(room) => room / self.stride + 1,
            // ⌈(padded − span)/stride⌉ + 1 = 1 for −stride < padded − span < 0.
            None if ceil_mode && span - padded < self.stride => 1,
            None => 0,
        };
        // Under ceil_mode the last window must start inside the input or its left padding.
        let len = if ceil_mode
            && len > 0
            && (len - 1).saturating_mul(self.stride) >= input + self.padding
        {
            len - 1
        } else {
            len
        };
        if len == 0 {
            return Err(Error::WindowExceedsInput {
                what: "kernel_size",
                span,
                input: padded,
            });
        }
        Ok(len)
    }

    /// [`output_len`](Self::output_len), or 0 where that is an error: for the `const` sizes of
    /// a model, whose calls check the shapes.
    pub const fn output_len_or_zero(&self, input: usize, ceil_mode: bool) -> usize {
        match self.output_len(input, ceil_mode) {
            Ok(len) => len,
            Err(_) => 0,
        }
    }

    /// The outputs `o < output` whose tap `tap` reads inside the input `[0, input)`: a
    /// contiguous range, empty when the tap reads only padding.
    pub fn outputs_reading(&self, tap: usize, input: usize, output: usize) -> Range<usize> {
        let stride = self.stride.max(1);
        let offset = tap.saturating_mul(self.dilation);
        // o·stride + offset ≥ padding
        let first = self.padding.saturating_sub(offset).div_ceil(stride);
        // o·stride + offset ≤ padding + input − 1
        let Some(reach) = self
            .padding
            .saturating_add(input)
            .checked_sub(offset.saturating_add(1))
        else {
            return 0..0;
        };
        let end = (reach / stride + 1).min(output);
        first.min(end)..end
    }

    /// The input position that tap `tap` of output `o` reads, or `None` where it reads the
    /// padding (outside `[0, input)`).
    pub fn input_of(&self, o: usize, tap: usize, input: usize) -> Option<usize> {
        o.checked_mul(self.stride)?
            .checked_add(tap.checked_mul(self.dilation)?)?
            .checked_sub(self.padding)
            .filter(|&i| i < input)
    }
}
