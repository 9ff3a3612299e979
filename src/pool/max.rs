//! Max pooling: torch's `nn.MaxPool1d` and `nn.MaxPool2d`.

use crate::error::{check_len, checked_len, Error};
use crate::layer::{Grads, Layer, Mode, Params, Pass, Shape, Tape, Window};
use crate::rows::{by_rows, by_rows_mut};
use crate::Result;

use super::grid::{Grid, Pooling, Taps};

/// The largest plane whose positions an `f32` index holds exactly: `2²⁴`.
pub const MAX_PLANE: usize = 1 << 24;

/// 1-D max pooling, torch's `nn.MaxPool1d(kernel_size, stride, padding, dilation,
/// ceil_mode=ceil_mode)` on `[N, C, L]`: each output is the largest input its window reads,
///
/// ```text
/// y[n, c, o] = max_{t < kernel_size} x[n, c, o·stride − padding + t·dilation]
/// ```
///
/// over the positions inside `[0, L)` (padding never wins). The sample shape is
/// `[C, L]` ([`Shape::Sequence`]), the output `[C, L_out]` with `L_out` from
/// [`Window::output_len`]. This is [`MaxPool2d`] with a `1 × kernel_size` window on planes of
/// height 1: the same kernel, the same rules (see there for ties, NaN, the saved indices and
/// the errors).
///
/// ```
/// use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
/// use descent::pool::MaxPool1d;
///
/// let pool = MaxPool1d::new(2); // nn.MaxPool1d(2): stride 2
/// let input = Shape::Sequence { channels: 1, length: 5 };
/// assert_eq!(pool.output_shape(input)?, Shape::Sequence { channels: 1, length: 2 });
/// let x = [1.0, 3.0, -2.0, -1.0, 9.0]; // a batch of 1; the last position is left out
/// let (mut y, mut saved) = ([0.0; 2], [0.0; 2]); // saved: pool.saved_len(input, 1)
/// pool.forward(input, Mode::train(&mut saved), Params::NONE, &x, &mut y)?;
/// assert_eq!((y, saved), ([3.0, -1.0], [1.0, 3.0])); // the maxima and where they are
///
/// let mut dx = [9.0; 5];
/// let tape = Tape::train(&x, &y, &saved);
/// pool.backward(input, Params::NONE, tape, &[10.0, 20.0], Some(&mut dx), Grads::NONE)?;
/// assert_eq!(dx, [0.0, 10.0, 0.0, 20.0, 0.0]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MaxPool1d {
    /// The window's taps (`≥ 1`).
    pub kernel_size: usize,
    /// The step between two windows (`≥ 1`; torch's default is `kernel_size`).
    pub stride: usize,
    /// Implicit positions on both sides that never win (default 0, at most
    /// `kernel_size/2`, as torch checks it: the kernel, not the dilated span).
    pub padding: usize,
    /// The step between two taps (`≥ 1`, default 1).
    pub dilation: usize,
    /// Round the output length up instead of down (default false); a last window that would
    /// start in the right padding is dropped, as torch does.
    pub ceil_mode: bool,
}

impl MaxPool1d {
    /// `nn.MaxPool1d(kernel_size)`: stride `kernel_size`, no padding, dilation 1, floor mode.
    pub const fn new(kernel_size: usize) -> Self {
        MaxPool1d {
            kernel_size,
            stride: kernel_size,
            padding: 0,
            dilation: 1,
            ceil_mode: false,
        }
    }

    fn pooling(&self) -> Pooling {
        Pooling {
            rows: Window::new(1),
            cols: Window {
                kernel_size: self.kernel_size,
                stride: self.stride,
                padding: self.padding,
                dilation: self.dilation,
            },
            ceil_mode: self.ceil_mode,
            rank: 2,
        }
    }
}

/// 2-D max pooling, torch's `nn.MaxPool2d(kernel_size, stride, padding, dilation,
/// ceil_mode=ceil_mode)` on `[N, C, H, W]`: each output is the largest input its window
/// reads,
///
/// ```text
/// y[n, c, i, j] = max_{s < kH, t < kW} x[n, c, i·sH − pH + s·dH, j·sW − pW + t·dW]
/// ```
///
/// over the positions inside the `[H, W]` plane (padding never wins). Each pair is
/// `[height, width]`; the sample shape is `[C, H, W]` ([`Shape::Image`]), the output
/// `[C, H_out, W_out]` with each length from [`Window::output_len`].
///
/// * **Ties and NaN**, as torch's CPU kernel: the window is scanned row by row, each row left
///   to right, and a value replaces the maximum so far when `v > max || v.is_nan()`. So the
///   first of equal maxima wins, and a NaN wins over any number (the last NaN of the window
///   when there are several): NaN propagates to `y` and gets the gradient.
/// * **Saved for backward**: a training forward writes, per output, the index of its
///   maximum within its input plane, `h·W + w`, as an `f32` into `saved`
///   ([`saved_len`](Layer::saved_len)` = batch·C·H_out·W_out`); planes of more than
///   [`MAX_PLANE`]` = 2²⁴` positions are refused, since an `f32` holds integers exactly only
///   that far. An evaluation forward saves nothing.
/// * **Backward** writes `dx = 0`, then `dx[index] += dy` for every output in order (windows
///   that overlap add up, as torch's). From a training tape it reads the saved indices; from
///   an evaluation tape it finds them again in the tape's `x`, by the same scan: the same
///   indices, so the same `dx`.
/// * **Empty windows.** With `dilation > 1` a window's taps can all fall in the padding
///   (torch allows it: `nn.MaxPool1d(2, 1, padding=1, dilation=3)` on a length of 2): its
///   output is `−∞`, as torch's, its saved index is `H·W` (past the plane), and it passes no
///   gradient. torch saves its scan's starting index there, `h₀·W + w₀`, and its backward
///   adds the output's gradient at that index: past the plane when the window's rows are
///   empty (outside the gradient's buffer: torch 2.15 on CPU corrupted its heap on such
///   cases), inside it when only the columns are (on a position the window never read).
///   This layer copies neither.
///
/// ```
/// use descent::layer::{Layer, Mode, Params, Shape};
/// use descent::pool::MaxPool2d;
///
/// // nn.MaxPool2d(3, stride=2, padding=1), the ResNet stem's pooling.
/// let pool = MaxPool2d { stride: [2, 2], padding: [1, 1], ..MaxPool2d::new(3) };
/// let input = Shape::Image { channels: 1, height: 4, width: 4 };
/// assert_eq!(pool.output_shape(input)?, Shape::Image { channels: 1, height: 2, width: 2 });
/// let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
/// let mut y = [0.0; 4];
/// pool.forward(input, Mode::EVAL, Params::NONE, &x, &mut y)?;
/// assert_eq!(y, [5.0, 7.0, 13.0, 15.0]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// Before anything is written: [`Error::ZeroDimension`] naming `"kernel_size"`, `"stride"`,
/// `"dilation"` or `"input"` (a zero dimension); [`Error::InvalidHyperParameter`]
/// (`"padding"`) for a padding beyond half the kernel; [`Error::RankMismatch`]
/// (`"input"`); [`Error::WindowExceedsInput`] (`"kernel_size"`); [`Error::DimensionOverflow`]
/// (`"input"`) for a plane beyond [`MAX_PLANE`] or sizes that overflow; and
/// [`Error::LengthMismatch`] naming `"x"`, `"y"`, `"saved"`, `"dy"` or `"dx"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MaxPool2d {
    /// The window's taps, `[kH, kW]` (`≥ 1`).
    pub kernel_size: [usize; 2],
    /// The step between two windows (`≥ 1`; torch's default is `kernel_size`).
    pub stride: [usize; 2],
    /// Implicit positions on each side that never win (default 0, at most `kernel_size/2`
    /// on its axis, as torch checks it: the kernel, not the dilated span).
    pub padding: [usize; 2],
    /// The step between two taps (`≥ 1`, default 1).
    pub dilation: [usize; 2],
    /// Round the output lengths up instead of down (default false); a last window that
    /// would start in the bottom or right padding is dropped, as torch does.
    pub ceil_mode: bool,
}

impl MaxPool2d {
    /// `nn.MaxPool2d(kernel_size)`: a square window, stride `kernel_size`, no padding,
    /// dilation 1, floor mode.
    pub const fn new(kernel_size: usize) -> Self {
        MaxPool2d {
            kernel_size: [kernel_size; 2],
            stride: [kernel_size; 2],
            padding: [0; 2],
            dilation: [1; 2],
            ceil_mode: false,
        }
    }

    fn pooling(&self) -> Pooling {
        let axis = |a: usize| Window {
            kernel_size: self.kernel_size[a],
            stride: self.stride[a],
            padding: self.padding[a],
            dilation: self.dilation[a],
        };
        Pooling {
            rows: axis(0),
            cols: axis(1),
            ceil_mode: self.ceil_mode,
            rank: 3,
        }
    }
}

/// What a max pooling checks before it writes: its geometry (with the plane no larger than
/// [`MAX_PLANE`]) and the number of planes in a slice of `len` floats named `what` of samples
/// of shape `shape`.
fn max_grid(p: &Pooling, input: Shape) -> Result<(usize, Grid)> {
    let (channels, grid) = p.grid(input)?;
    if grid.in_len > MAX_PLANE {
        return Err(Error::DimensionOverflow { what: "input" });
    }
    Ok((channels, grid))
}

/// The whole forward of a max pooling (both layers).
fn forward(p: &Pooling, input: Shape, mode: Mode<'_>, x: &[f32], y: &mut [f32]) -> Result<()> {
    let (channels, grid) = max_grid(p, input)?;
    let batch = input.batch_of("x", x.len())?;
    let planes = batch * channels;
    let out = checked_len("y", planes, grid.out_len)?;
    check_len("y", y.len(), out)?;
    let planes_x = by_rows(x, grid.in_len);
    match mode {
        Mode::Eval { .. } => {
            for (xp, yp) in planes_x.zip(by_rows_mut(y, grid.out_len)) {
                grid.for_each_output(|o, taps| {
                    if let Some(v) = yp.get_mut(o) {
                        *v = window_max(xp, taps).0;
                    }
                });
            }
        }
        Mode::Train { saved, .. } => {
            check_len("saved", saved.len(), out)?;
            let planes_y = by_rows_mut(y, grid.out_len).zip(by_rows_mut(saved, grid.out_len));
            let none = grid.in_len as f32;
            for (xp, (yp, ip)) in planes_x.zip(planes_y) {
                grid.for_each_output(|o, taps| {
                    if let (Some(v), Some(i)) = (yp.get_mut(o), ip.get_mut(o)) {
                        let (m, at) = window_max(xp, taps);
                        *v = m;
                        *i = at.map_or(none, |at| at as f32);
                    }
                });
            }
        }
    }
    Ok(())
}

/// The whole backward of a max pooling (both layers).
fn backward(
    p: &Pooling,
    input: Shape,
    tape: Tape<'_>,
    dy: &[f32],
    dx: Option<&mut [f32]>,
) -> Result<()> {
    let (channels, grid) = max_grid(p, input)?;
    let output = p.shape(channels, grid.rows_out(), grid.cols_out());
    let batch = output.batch_of("dy", dy.len())?;
    let planes = batch * channels;
    let in_total = checked_len("dx", planes, grid.in_len)?;
    let saved = match tape.pass {
        Pass::Train { saved } => {
            check_len("saved", saved.len(), dy.len())?;
            Some(saved)
        }
        Pass::Eval { .. } => {
            check_len("x", tape.x.len(), in_total)?;
            None
        }
    };
    let Some(dx) = dx else {
        return Ok(());
    };
    check_len("dx", dx.len(), in_total)?;
    dx.fill(0.0);
    let planes_dy = by_rows(dy, grid.out_len).zip(by_rows_mut(dx, grid.in_len));
    match saved {
        Some(saved) => {
            for ((dyp, dxp), ip) in planes_dy.zip(by_rows(saved, grid.out_len)) {
                for (&g, &at) in dyp.iter().zip(ip) {
                    // Only a caller's own `saved` can hold a value that is not a position.
                    let k = at as usize;
                    if k as f32 == at {
                        if let Some(d) = dxp.get_mut(k) {
                            *d += g;
                        }
                    }
                }
            }
        }
        None => {
            for ((dyp, dxp), xp) in planes_dy.zip(by_rows(tape.x, grid.in_len)) {
                grid.for_each_output(|o, taps| {
                    let at = window_max(xp, taps).1;
                    if let (Some(&g), Some(k)) = (dyp.get(o), at) {
                        if let Some(d) = dxp.get_mut(k) {
                            *d += g;
                        }
                    }
                });
            }
        }
    }
    Ok(())
}

/// The maximum of the window `taps` of the plane `xp` and where it is, by torch's rule: scan
/// in order, replace when `v > max || v.is_nan()`; the first position read starts the scan
/// (so a window of `−∞` points at its first position). `(−∞, None)` for an empty window.
#[inline(always)]
fn window_max(xp: &[f32], taps: Taps) -> (f32, Option<usize>) {
    let mut m = f32::NEG_INFINITY;
    let mut at = None;
    taps.for_each(|i| {
        if let Some(&v) = xp.get(i) {
            if v > m || v.is_nan() || at.is_none() {
                m = v;
                at = Some(i);
            }
        }
    });
    (m, at)
}

/// The layer of one max pooling.
macro_rules! max_pool_layer {
    ($ty:ty) => {
        impl Layer for $ty {
            /// `[C, L_out]` or `[C, H_out, W_out]`.
            fn output_shape(&self, input: Shape) -> Result<Shape> {
                let p = self.pooling();
                let (channels, grid) = max_grid(&p, input)?;
                Ok(p.shape(channels, grid.rows_out(), grid.cols_out()))
            }

            /// One index per output: `batch·C·H_out·W_out` (0 for a shape the layer refuses).
            fn saved_len(&self, input: Shape, batch: usize) -> usize {
                self.output_shape(input)
                    .map_or(0, |s| batch.saturating_mul(s.len()))
            }

            /// `y` = the window maxima; training also saves their indices.
            ///
            /// # Errors
            /// See [`MaxPool2d`].
            fn forward(
                &self,
                input: Shape,
                mode: Mode<'_>,
                _params: Params<'_>,
                x: &[f32],
                y: &mut [f32],
            ) -> Result<()> {
                forward(&self.pooling(), input, mode, x, y)
            }

            /// `dx = 0`, then `dx[index] += dy` per output; the batch is `dy`'s.
            ///
            /// # Errors
            /// See [`MaxPool2d`]; a training tape's `saved` must be as long as `dy`, an
            /// evaluation tape's `x` as long as `dx`.
            fn backward(
                &self,
                input: Shape,
                _params: Params<'_>,
                tape: Tape<'_>,
                dy: &[f32],
                dx: Option<&mut [f32]>,
                _grads: Grads<'_>,
            ) -> Result<()> {
                backward(&self.pooling(), input, tape, dy, dx)
            }
        }
    };
}

max_pool_layer!(MaxPool1d);
max_pool_layer!(MaxPool2d);
