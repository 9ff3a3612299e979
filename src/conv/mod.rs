//! Convolutions over sequences and images, as `torch.nn.Conv1d` and `torch.nn.Conv2d`:
//! stride, zero padding, dilation, groups (depthwise included), optional bias.
//!
//! Layout (row-major `f32`, torch's): input `x` `[batch, in_channels, length]` or `[batch,
//! in_channels, height, width]`; weight `[out_channels, in_channels/groups, kernel_size…]`;
//! bias `[out_channels]`; output `y` `[batch, out_channels, out_length]` or `[batch,
//! out_channels, out_height, out_width]`, with torch's output lengths ([`Window`]).
//!
//! * forward (cross-correlation, as torch): `y[n, o, p] = bias[o] + Σ_{c ∈ group(o)} Σ_t
//!   weight[o, c, t]·x[n, c, p·stride − padding + t·dilation]`, a position outside the input
//!   reading zero;
//! * backward, for `dy = ∂L/∂y`: `dweight[o, c, t] += Σ_{n, p} dy[n, o, p]·x[n, c, p·stride −
//!   padding + t·dilation]`, `dbias[o] += Σ_{n, p} dy[n, o, p]` (accumulated, as autograd
//!   into `.grad`), `dx[n, c, i] = Σ dy[n, o, p]·weight[o, c, t]` over the `(o, p, t)` whose
//!   window reads `i` (written).
//!
//! The kernels are direct (no im2col), on the lanes of the dispatched instruction set
//! ([`simd::dispatch`](crate::simd::dispatch)), the taps summed in registers. With four or
//! more channels per group they put eight channels in the lanes (output channels for the
//! forward pass and the weight gradient, input channels for the input gradient) and take
//! tiles of eight positions, each tap one vector of packed weights; a depthwise convolution
//! puts eight positions along the width in the lanes instead. They take no caller scratch and
//! save nothing for backward beyond `x`: the padded rows, packed weights and partial sums they
//! read contiguously sit in panels on the stack ([`STACK_SCRATCH_BYTES`]); a layer whose
//! single channel does not fit them runs along the width.
//! Results agree with an exact sum to the rounding of a sum of `in_channels/groups ·
//! kernel_size` products (forward), `batch · out_length` products (weight gradient).
//!
//! ```
//! use descent::conv::Conv1d;
//! use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
//!
//! let conv = Conv1d::new(1, 1, 3).with_padding(1); // nn.Conv1d(1, 1, 3, padding=1)
//! let input = Shape::Sequence { channels: 1, length: 4 };
//! assert_eq!(conv.output_shape(input)?, input);
//! let (x, w, b) = ([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, -1.0], [0.5]);
//! let mut y = [0.0; 4];
//! conv.forward(input, Mode::EVAL, Params::new(&w, &b), &x, &mut y)?;
//! assert_eq!(y, [-1.5, -1.5, -1.5, 3.5]); // x[i-1] − x[i+1] + 0.5
//!
//! let (mut dw, mut db, mut dx) = ([0.0; 3], [0.0; 1], [0.0; 4]);
//! let tape = Tape::train(&x, &y, &[]);
//! conv.backward(input, Params::new(&w, &b), tape, &[1.0; 4], Some(&mut dx), Grads::new(&mut dw, &mut db))?;
//! assert_eq!((dw, db), ([6.0, 10.0, 9.0], [4.0]));
//! assert_eq!(dx, [1.0, 0.0, 0.0, -1.0]);
//! # Ok::<(), descent::Error>(())
//! ```

mod channels;
mod direct;
mod plan;

/// The most stack memory one convolution call uses for its panels, in bytes (12 KiB, on every
/// target): padded rows, packed weights or their gradients' sums, and one packed row of the
/// output gradient.
pub const STACK_SCRATCH_BYTES: usize =
    (channels::ROWS_PANEL + channels::WEIGHTS_PANEL + channels::GRAD_PANEL)
        * core::mem::size_of::<f32>();

use crate::error::check_len;
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape, Window};
use crate::simd::dispatch;
use crate::Result;
use direct::{BiasGrad, Forward, InputGrad, WeightGrad};
use plan::Geometry;

/// A 1-D convolution over `[channels, length]` samples: torch's `nn.Conv1d(in_channels,
/// out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)`.
///
/// Weight `[out_channels, in_channels/groups, kernel_size]`, bias `[out_channels]`; the
/// formulas are the [module's](self). Output length `⌊(L + 2·padding − dilation·(kernel_size
/// − 1) − 1)/stride⌋ + 1`. Build it with [`new`](Self::new) and the `with_` methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv1d {
    /// Channels of the input.
    pub in_channels: usize,
    /// Channels of the output.
    pub out_channels: usize,
    /// The taps of the window (torch's `kernel_size`).
    pub kernel_size: usize,
    /// The step between two outputs' windows (default 1).
    pub stride: usize,
    /// The zeros added on each side of the input (default 0).
    pub padding: usize,
    /// The step between two taps (default 1).
    pub dilation: usize,
    /// Groups of channels convolved apart (`in_channels` for depthwise); divides both
    /// channel counts.
    pub groups: usize,
    /// Whether the layer adds a bias.
    pub bias: bool,
}

impl Conv1d {
    /// `nn.Conv1d(in_channels, out_channels, kernel_size)`: stride 1, no padding, dilation 1,
    /// one group, with a bias.
    pub const fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Self {
        Conv1d {
            in_channels,
            out_channels,
            kernel_size,
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: true,
        }
    }

    /// With `stride`.
    pub const fn with_stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// With `padding` zeros on each side.
    pub const fn with_padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    /// With `dilation`.
    pub const fn with_dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }

    /// With `groups` (`in_channels` for a depthwise convolution).
    pub const fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Without a bias (`bias=False`).
    pub const fn without_bias(mut self) -> Self {
        self.bias = false;
        self
    }

    /// The window along the length.
    pub const fn window(&self) -> Window {
        Window {
            kernel_size: self.kernel_size,
            stride: self.stride,
            padding: self.padding,
            dilation: self.dilation,
        }
    }

    /// Sets the window along the length.
    pub const fn set_window(&mut self, w: Window) {
        self.kernel_size = w.kernel_size;
        self.stride = w.stride;
        self.padding = w.padding;
        self.dilation = w.dilation;
    }

    const fn geometry(&self) -> Geometry {
        Geometry {
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            groups: self.groups,
            bias: self.bias,
            rows: Window::new(1),
            cols: self.window(),
        }
    }

    /// `out_channels · in_channels/groups · kernel_size` floats (saturating).
    pub const fn weight_len(&self) -> usize {
        self.geometry().weight_len()
    }

    /// `out_channels` with a bias, else 0.
    pub const fn bias_len(&self) -> usize {
        self.geometry().bias_len()
    }
}

/// A 2-D convolution over `[channels, height, width]` samples: torch's `nn.Conv2d(in_channels,
/// out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)`.
///
/// Weight `[out_channels, in_channels/groups, kernel_height, kernel_width]`, bias
/// `[out_channels]`; the formulas are the [module's](self), along both axes. Build it with
/// [`new`](Self::new) and the `with_` methods, whose pairs are `[height, width]` as torch's
/// tuples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    /// Channels of the input.
    pub in_channels: usize,
    /// Channels of the output.
    pub out_channels: usize,
    /// The taps of the window, `[height, width]` (torch's `kernel_size`).
    pub kernel_size: [usize; 2],
    /// The steps between two outputs' windows (default `[1, 1]`).
    pub stride: [usize; 2],
    /// The zeros added on each side (default `[0, 0]`).
    pub padding: [usize; 2],
    /// The steps between two taps (default `[1, 1]`).
    pub dilation: [usize; 2],
    /// Groups of channels convolved apart (`in_channels` for depthwise); divides both
    /// channel counts.
    pub groups: usize,
    /// Whether the layer adds a bias.
    pub bias: bool,
}

impl Conv2d {
    /// `nn.Conv2d(in_channels, out_channels, kernel_size)` with `kernel_size = [height,
    /// width]`: stride 1, no padding, dilation 1, one group, with a bias.
    pub const fn new(in_channels: usize, out_channels: usize, kernel_size: [usize; 2]) -> Self {
        Conv2d {
            in_channels,
            out_channels,
            kernel_size,
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            bias: true,
        }
    }

    /// With `stride = [height, width]`.
    pub const fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// With `padding = [height, width]` zeros on each side.
    pub const fn with_padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// With `dilation = [height, width]`.
    pub const fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// With `groups` (`in_channels` for a depthwise convolution).
    pub const fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Without a bias (`bias=False`).
    pub const fn without_bias(mut self) -> Self {
        self.bias = false;
        self
    }

    /// The windows along the height and the width.
    pub const fn windows(&self) -> [Window; 2] {
        [self.axis(0), self.axis(1)]
    }

    /// The window along `axis` (0: height, 1: width).
    const fn axis(&self, a: usize) -> Window {
        Window {
            kernel_size: self.kernel_size[a],
            stride: self.stride[a],
            padding: self.padding[a],
            dilation: self.dilation[a],
        }
    }

    /// Sets the windows along the height and the width.
    pub const fn set_windows(&mut self, w: [Window; 2]) {
        self.kernel_size = [w[0].kernel_size, w[1].kernel_size];
        self.stride = [w[0].stride, w[1].stride];
        self.padding = [w[0].padding, w[1].padding];
        self.dilation = [w[0].dilation, w[1].dilation];
    }

    const fn geometry(&self) -> Geometry {
        Geometry {
            in_channels: self.in_channels,
            out_channels: self.out_channels,
            groups: self.groups,
            bias: self.bias,
            rows: self.windows()[0],
            cols: self.windows()[1],
        }
    }

    /// `out_channels · in_channels/groups · kernel_height · kernel_width` floats (saturating).
    pub const fn weight_len(&self) -> usize {
        self.geometry().weight_len()
    }

    /// `out_channels` with a bias, else 0.
    pub const fn bias_len(&self) -> usize {
        self.geometry().bias_len()
    }
}

/// The fewest channels per group that the kernels with channels in the lanes take; fewer
/// (a depthwise convolution) run along the width.
const CHANNELS_IN_LANES: usize = 4;

/// The `(channels, height, width)` of a sample of rank `rank` (a sequence has height 1).
fn planes(input: Shape, rank: usize) -> Result<(usize, usize, usize)> {
    input.expect_rank(rank)?;
    Ok(match input {
        Shape::Features(features) => (features, 1, 1),
        Shape::Sequence { channels, length } => (channels, 1, length),
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height, width),
    })
}

/// The forward pass of either convolution.
fn forward(
    g: Geometry,
    dims: (usize, usize, usize),
    p: Params<'_>,
    x: &[f32],
    y: &mut [f32],
) -> Result<()> {
    let plan = g.plan(dims, x, p)?;
    check_len("y", y.len(), plan.y_len)?;
    if plan.group_out() >= CHANNELS_IN_LANES
        && dispatch(channels::Forward {
            plan,
            x,
            weight: p.weight,
            bias: p.bias,
            y: &mut *y,
        })
    {
        return Ok(());
    }
    dispatch(Forward {
        plan,
        x,
        weight: p.weight,
        bias: p.bias,
        y,
    });
    Ok(())
}

/// The backward pass of either convolution.
fn backward(
    g: Geometry,
    dims: (usize, usize, usize),
    p: Params<'_>,
    tape: Tape<'_>,
    dy: &[f32],
    dx: Option<&mut [f32]>,
    grads: Grads<'_>,
) -> Result<()> {
    let x = tape.x;
    let plan = g.plan(dims, x, p)?;
    check_len("dy", dy.len(), plan.y_len)?;
    if let Some(dweight) = &grads.weight {
        check_len("dweight", dweight.len(), p.weight.len())?;
    }
    if let Some(dbias) = &grads.bias {
        check_len("dbias", dbias.len(), g.bias_len())?;
    }
    if let Some(dx) = &dx {
        check_len("dx", dx.len(), x.len())?;
    }
    if let Some(dweight) = grads.weight {
        let lanes = plan.group_out() >= CHANNELS_IN_LANES;
        if !(lanes
            && dispatch(channels::WeightGrad {
                plan,
                x,
                dy,
                dweight: &mut *dweight,
            }))
        {
            dispatch(WeightGrad {
                plan,
                x,
                dy,
                dweight,
            });
        }
    }
    if let Some(dbias) = grads.bias {
        dispatch(BiasGrad { plan, dy, dbias });
    }
    if let Some(dx) = dx {
        let lanes = plan.group_in() >= CHANNELS_IN_LANES;
        if !(lanes
            && dispatch(channels::InputGrad {
                plan,
                weight: p.weight,
                dy,
                dx: &mut *dx,
            }))
        {
            dispatch(InputGrad {
                plan,
                weight: p.weight,
                dy,
                dx,
            });
        }
    }
    Ok(())
}

/// The output shape of either convolution.
fn output_shape(g: Geometry, input: Shape, rank: usize) -> Result<Shape> {
    let (channels, height, width) = planes(input, rank)?;
    let (out_height, out_width) = g.output_plane(channels, height, width)?;
    Ok(match input {
        Shape::Image { .. } => Shape::Image {
            channels: g.out_channels,
            height: out_height,
            width: out_width,
        },
        _ => Shape::Sequence {
            channels: g.out_channels,
            length: out_width,
        },
    })
}

macro_rules! conv_layer {
    ($ty:ident, $rank:literal) => {
        impl Layer for $ty {
            /// `[out_channels, out_length…]` for an input `[in_channels, length…]`.
            ///
            /// # Errors
            /// [`RankMismatch`](crate::Error::RankMismatch) (`"input"`) for a sample of
            /// another rank; [`LengthMismatch`](crate::Error::LengthMismatch) (`"input"`)
            /// when its channels are not `in_channels`; [`ZeroDimension`](crate::Error::ZeroDimension)
            /// or [`InvalidHyperParameter`](crate::Error::InvalidHyperParameter) (`"groups"`)
            /// for bad hyper-parameters; [`WindowExceedsInput`](crate::Error::WindowExceedsInput)
            /// when the window is longer than the padded input;
            /// [`DimensionOverflow`](crate::Error::DimensionOverflow) naming `"input"` when a
            /// length exceeds `isize::MAX`, `"padding"` when a padded length `length +
            /// 2·padding` does.
            fn output_shape(&self, input: Shape) -> Result<Shape> {
                output_shape(self.geometry(), input, $rank)
            }

            fn weight_len(&self) -> usize {
                $ty::weight_len(self)
            }

            fn bias_len(&self) -> usize {
                $ty::bias_len(self)
            }

            /// `y = x ⋆ weight + bias` (the [module's](self) formula); the same in training
            /// and evaluation.
            ///
            /// # Errors
            /// As [`output_shape`](Layer::output_shape), and
            /// [`LengthMismatch`](crate::Error::LengthMismatch) naming `"x"` (not a whole
            /// number of samples), `"weight"`, `"bias"` or `"y"`;
            /// [`ZeroDimension`](crate::Error::ZeroDimension) (`"batch"`) for an empty `x`.
            fn forward(
                &self,
                input: Shape,
                _mode: Mode<'_>,
                params: Params<'_>,
                x: &[f32],
                y: &mut [f32],
            ) -> Result<()> {
                forward(self.geometry(), planes(input, $rank)?, params, x, y)
            }

            /// `dweight += Σ dy ⋆ x`, `dbias += Σ dy` (accumulated), `dx` (written) from the
            /// tape's `x`.
            ///
            /// # Errors
            /// As [`forward`](Layer::forward), naming `"x"` for the tape's input, and `"dy"`,
            /// `"dweight"`, `"dbias"` or `"dx"`.
            fn backward(
                &self,
                input: Shape,
                params: Params<'_>,
                tape: Tape<'_>,
                dy: &[f32],
                dx: Option<&mut [f32]>,
                grads: Grads<'_>,
            ) -> Result<()> {
                let dims = planes(input, $rank)?;
                backward(self.geometry(), dims, params, tape, dy, dx, grads)
            }
        }
    };
}

conv_layer!(Conv1d, 2);
conv_layer!(Conv2d, 3);
