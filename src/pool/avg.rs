//! Average pooling: torch's `nn.AvgPool1d` and `nn.AvgPool2d`.

use crate::error::{check_len, checked_len, Error};
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape, Window};
use crate::rows::{by_rows, by_rows_mut};
use crate::Result;

use super::grid::{Grid, Pooling, Taps};

/// 1-D average pooling, torch's `nn.AvgPool1d(kernel_size, stride, padding, ceil_mode,
/// count_include_pad)` on `[N, C, L]`: each output is the mean of its window,
///
/// ```text
/// y[n, c, o] = Σ_{t < kernel_size} x[n, c, o·stride − padding + t] / divisor
/// ```
///
/// summing only the positions inside `[0, L)` (the padding is zeros). The sample shape is
/// `[C, L]` ([`Shape::Sequence`]), the output `[C, L_out]`. This is [`AvgPool2d`] with a
/// `1 × kernel_size` window on planes of height 1 (and no `divisor_override`, which torch's
/// `AvgPool1d` lacks): see there for the divisor, the backward and the errors.
///
/// ```
/// use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
/// use descent::pool::AvgPool1d;
///
/// // nn.AvgPool1d(3, stride=1, padding=1): the padding counts in the mean.
/// let pool = AvgPool1d { stride: 1, padding: 1, ..AvgPool1d::new(3) };
/// let input = Shape::Sequence { channels: 1, length: 3 };
/// let x = [3.0, 6.0, 9.0];
/// let mut y = [0.0; 3];
/// pool.forward(input, Mode::EVAL, Params::NONE, &x, &mut y)?;
/// assert_eq!(y, [3.0, 6.0, 5.0]); // (0 + 3 + 6)/3, (3 + 6 + 9)/3, (6 + 9 + 0)/3
///
/// let mut dx = [0.0; 3];
/// let tape = Tape::eval(&x, &y, &[]);
/// pool.backward(input, Params::NONE, tape, &[3.0, 3.0, 3.0], Some(&mut dx), Grads::NONE)?;
/// assert_eq!(dx, [2.0, 3.0, 2.0]); // each output passes dy/3 to each position it read
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvgPool1d {
    /// The window's taps (`≥ 1`).
    pub kernel_size: usize,
    /// The step between two windows (`≥ 1`; torch's default is `kernel_size`).
    pub stride: usize,
    /// Implicit zeros on both sides (default 0, at most `kernel_size/2`).
    pub padding: usize,
    /// Round the output length up instead of down (default false); a last window that would
    /// start in the right padding is dropped, as torch does.
    pub ceil_mode: bool,
    /// Count the padding in the divisor (default true).
    pub count_include_pad: bool,
}

impl AvgPool1d {
    /// `nn.AvgPool1d(kernel_size)`: stride `kernel_size`, no padding, floor mode, padding
    /// counted.
    pub const fn new(kernel_size: usize) -> Self {
        AvgPool1d {
            kernel_size,
            stride: kernel_size,
            padding: 0,
            ceil_mode: false,
            count_include_pad: true,
        }
    }

    fn avg(&self) -> Avg {
        Avg {
            pooling: Pooling {
                rows: Window::new(1),
                cols: Window {
                    kernel_size: self.kernel_size,
                    stride: self.stride,
                    padding: self.padding,
                    dilation: 1,
                },
                ceil_mode: self.ceil_mode,
                rank: 2,
            },
            count_include_pad: self.count_include_pad,
            divisor_override: None,
        }
    }
}

/// 2-D average pooling, torch's `nn.AvgPool2d(kernel_size, stride, padding, ceil_mode,
/// count_include_pad, divisor_override)` on `[N, C, H, W]`: each output is the mean of its
/// window,
///
/// ```text
/// y[n, c, i, j] = Σ_{s < kH, t < kW} x[n, c, i·sH − pH + s, j·sW − pW + t] / divisor
/// ```
///
/// summing only the positions inside the `[H, W]` plane (the padding is zeros), in torch's
/// order (rows top to bottom, each left to right) in `f32`, then dividing once. Each pair is
/// `[height, width]`; the sample shape is `[C, H, W]` ([`Shape::Image`]), the output
/// `[C, H_out, W_out]` with each length from [`Window::output_len`].
///
/// * **The divisor**, as torch's: `divisor_override` when given; else with
///   `count_include_pad` the window's size clipped to the padded input
///   `[−padding, size + padding)` on each axis (smaller than `kH·kW` only where `ceil_mode`
///   lets a window run past the padding); else the number of positions inside the input.
/// * **Backward** writes `dx = 0`, then adds `dy/divisor` to every position each output's
///   window read (windows that overlap add up), in torch's order, so the result has torch's
///   bits. It reads neither the tape's `x` nor `y`, and is the same after either mode.
///
/// ```
/// use descent::layer::{Layer, Mode, Params, Shape};
/// use descent::pool::AvgPool2d;
///
/// let pool = AvgPool2d::new(2); // nn.AvgPool2d(2)
/// let input = Shape::Image { channels: 1, height: 2, width: 4 };
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
/// let mut y = [0.0; 2];
/// pool.forward(input, Mode::EVAL, Params::NONE, &x, &mut y)?;
/// assert_eq!(y, [3.5, 5.5]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// Before anything is written: [`Error::InvalidHyperParameter`] naming `"divisor_override"`
/// (`Some(0)`) or `"padding"` (beyond half the kernel); [`Error::ZeroDimension`] naming
/// `"kernel_size"`, `"stride"` or `"input"` (a zero dimension); [`Error::RankMismatch`]
/// (`"input"`); [`Error::WindowExceedsInput`] (`"kernel_size"`);
/// [`Error::DimensionOverflow`] (`"input"`) for sizes that overflow; and
/// [`Error::LengthMismatch`] naming `"x"`, `"y"`, `"dy"` or `"dx"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvgPool2d {
    /// The window's taps, `[kH, kW]` (`≥ 1`).
    pub kernel_size: [usize; 2],
    /// The step between two windows (`≥ 1`; torch's default is `kernel_size`).
    pub stride: [usize; 2],
    /// Implicit zeros on each side (default 0, at most half the kernel on its axis).
    pub padding: [usize; 2],
    /// Round the output lengths up instead of down (default false); a last window that
    /// would start in the bottom or right padding is dropped, as torch does.
    pub ceil_mode: bool,
    /// Count the padding in the divisor (default true).
    pub count_include_pad: bool,
    /// Divide every window's sum by this instead (default `None`; `Some(0)` is refused).
    pub divisor_override: Option<usize>,
}

impl AvgPool2d {
    /// `nn.AvgPool2d(kernel_size)`: a square window, stride `kernel_size`, no padding, floor
    /// mode, padding counted, no divisor override.
    pub const fn new(kernel_size: usize) -> Self {
        AvgPool2d {
            kernel_size: [kernel_size; 2],
            stride: [kernel_size; 2],
            padding: [0; 2],
            ceil_mode: false,
            count_include_pad: true,
            divisor_override: None,
        }
    }

    fn avg(&self) -> Avg {
        let axis = |a: usize| Window {
            kernel_size: self.kernel_size[a],
            stride: self.stride[a],
            padding: self.padding[a],
            dilation: 1,
        };
        Avg {
            pooling: Pooling {
                rows: axis(0),
                cols: axis(1),
                ceil_mode: self.ceil_mode,
                rank: 3,
            },
            count_include_pad: self.count_include_pad,
            divisor_override: self.divisor_override,
        }
    }
}

/// An average pooling of either rank.
struct Avg {
    pooling: Pooling,
    count_include_pad: bool,
    divisor_override: Option<usize>,
}

impl Avg {
    /// The checked geometry, `divisor_override` first.
    fn grid(&self, input: Shape) -> Result<(usize, Grid)> {
        if self.divisor_override == Some(0) {
            return Err(Error::InvalidHyperParameter {
                what: "divisor_override",
            });
        }
        self.pooling.grid(input)
    }

    fn output_shape(&self, input: Shape) -> Result<Shape> {
        let (channels, g) = self.grid(input)?;
        Ok(self.pooling.shape(channels, g.rows_out(), g.cols_out()))
    }

    /// torch's divisor of a window that reads `taps` and covers `padded` positions of the
    /// padded input.
    #[inline(always)]
    fn divisor(&self, taps: &Taps, padded: usize) -> f32 {
        match self.divisor_override {
            Some(d) => d as f32,
            None if self.count_include_pad => padded as f32,
            None => taps.len() as f32,
        }
    }

    fn forward(&self, input: Shape, x: &[f32], y: &mut [f32]) -> Result<()> {
        let (channels, grid) = self.grid(input)?;
        let batch = input.batch_of("x", x.len())?;
        let out = checked_len("y", batch * channels, grid.out_len)?;
        check_len("y", y.len(), out)?;
        for (xp, yp) in by_rows(x, grid.in_len).zip(by_rows_mut(y, grid.out_len)) {
            grid.for_each_output_padded(|o, taps, padded| {
                let Some(v) = yp.get_mut(o) else { return };
                // torch leaves an output whose window reads no input at 0 (no `dilation`
                // makes one possible here).
                *v = 0.0;
                if taps.is_empty() {
                    return;
                }
                let mut sum = 0.0f32;
                taps.for_each(|i| {
                    if let Some(&xv) = xp.get(i) {
                        sum += xv;
                    }
                });
                *v = sum / self.divisor(&taps, padded);
            });
        }
        Ok(())
    }

    fn backward(&self, input: Shape, dy: &[f32], dx: Option<&mut [f32]>) -> Result<()> {
        let (channels, grid) = self.grid(input)?;
        let output = self
            .pooling
            .shape(channels, grid.rows_out(), grid.cols_out());
        let batch = output.batch_of("dy", dy.len())?;
        let in_total = checked_len("dx", batch * channels, grid.in_len)?;
        let Some(dx) = dx else {
            return Ok(());
        };
        check_len("dx", dx.len(), in_total)?;
        dx.fill(0.0);
        for (dyp, dxp) in by_rows(dy, grid.out_len).zip(by_rows_mut(dx, grid.in_len)) {
            grid.for_each_output_padded(|o, taps, padded| {
                let Some(&g) = dyp.get(o) else { return };
                if taps.is_empty() {
                    return;
                }
                let g = g / self.divisor(&taps, padded);
                taps.for_each(|i| {
                    if let Some(d) = dxp.get_mut(i) {
                        *d += g;
                    }
                });
            });
        }
        Ok(())
    }
}

/// The layer of one average pooling.
macro_rules! avg_pool_layer {
    ($ty:ty) => {
        impl Layer for $ty {
            /// `[C, L_out]` or `[C, H_out, W_out]`.
            fn output_shape(&self, input: Shape) -> Result<Shape> {
                self.avg().output_shape(input)
            }

            /// `y` = the window means, the same in both modes; nothing is saved.
            ///
            /// # Errors
            /// See [`AvgPool2d`].
            fn forward(
                &self,
                input: Shape,
                _mode: Mode<'_>,
                _params: Params<'_>,
                x: &[f32],
                y: &mut [f32],
            ) -> Result<()> {
                self.avg().forward(input, x, y)
            }

            /// `dx = 0`, then `dy/divisor` added to each position of each window; the batch
            /// is `dy`'s, and the tape is not read.
            ///
            /// # Errors
            /// See [`AvgPool2d`].
            fn backward(
                &self,
                input: Shape,
                _params: Params<'_>,
                _tape: Tape<'_>,
                dy: &[f32],
                dx: Option<&mut [f32]>,
                _grads: Grads<'_>,
            ) -> Result<()> {
                self.avg().backward(input, dy, dx)
            }
        }
    };
}

avg_pool_layer!(AvgPool1d);
avg_pool_layer!(AvgPool2d);
