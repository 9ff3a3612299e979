//! Global average pooling: torch's `nn.AdaptiveAvgPool1d(1)` and `nn.AdaptiveAvgPool2d((1, 1))`.

use crate::error::{check_len, check_nonzero, checked_len, Error};
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{dispatch, Float8, Lanes, WithLanes, LANES};
use crate::Result;

/// Global average pooling over a sequence, torch's `nn.AdaptiveAvgPool1d(1)` on `[N, C, L]`:
/// the mean of each channel,
///
/// ```text
/// y[n, c, 0] = Σ_l x[n, c, l] / L,        dx[n, c, l] = dy[n, c, 0] / L
/// ```
///
/// The sample shape is `[C, L]` ([`Shape::Sequence`]), the output `[C, 1]` (torch's). See
/// [`GlobalAvgPool2d`] for the sums and the errors.
///
/// ```
/// use descent::layer::{Layer, Mode, Params, Shape};
/// use descent::pool::GlobalAvgPool1d;
///
/// let input = Shape::Sequence { channels: 2, length: 3 };
/// assert_eq!(GlobalAvgPool1d.output_shape(input)?, Shape::Sequence { channels: 2, length: 1 });
/// let x = [1.0, 2.0, 6.0, -3.0, 0.0, 0.0];
/// let mut y = [0.0; 2];
/// GlobalAvgPool1d.forward(input, Mode::EVAL, Params::NONE, &x, &mut y)?;
/// assert_eq!(y, [3.0, -1.0]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GlobalAvgPool1d;

/// Global average pooling over an image, torch's `nn.AdaptiveAvgPool2d((1, 1))` (which torch
/// computes as `x.mean((-2, -1), keepdim=True)`) on `[N, C, H, W]`: the mean of each channel,
///
/// ```text
/// y[n, c, 0, 0] = Σ_{h, w} x[n, c, h, w] / (H·W),        dx[n, c, h, w] = dy[n, c, 0, 0] / (H·W)
/// ```
///
/// The sample shape is `[C, H, W]` ([`Shape::Image`]), the output `[C, 1, 1]` (torch's).
/// Each plane is summed in `f32` on two accumulators of eight lanes, on the instruction set
/// [`dispatch`] picks, their sixteen partial sums added in a fixed
/// order and the `n mod 8` last positions one by one, then divided once by its length `n`:
/// the sum errs by at most about `(⌈⌊n/8⌋/2⌉ + 11)·u·Σ|x|` (`u = 2⁻²⁴`), and every instruction
/// set gives the same bits (additions only, in an order that does not depend on the lanes).
/// torch sums in another order, so results agree to that bound, not bit for bit. (Eight
/// times faster than a plain loop at 64 positions, ten at 196, on AVX2.) Nothing is saved,
/// the tape is not read, and backward writes `dx`.
///
/// ```
/// use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
/// use descent::pool::GlobalAvgPool2d;
///
/// let input = Shape::Image { channels: 1, height: 2, width: 2 };
/// let x = [1.0, 2.0, 3.0, 6.0];
/// let mut y = [0.0; 1];
/// GlobalAvgPool2d.forward(input, Mode::EVAL, Params::NONE, &x, &mut y)?;
/// assert_eq!(y, [3.0]);
/// let mut dx = [0.0; 4];
/// let tape = Tape::eval(&x, &y, &[]);
/// GlobalAvgPool2d.backward(input, Params::NONE, tape, &[2.0], Some(&mut dx), Grads::NONE)?;
/// assert_eq!(dx, [0.5; 4]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// Before anything is written: [`Error::RankMismatch`] (`"input"`), [`Error::ZeroDimension`]
/// (`"input"`), [`Error::DimensionOverflow`] (`"input"`), and [`Error::LengthMismatch`]
/// naming `"x"`, `"y"`, `"dy"` or `"dx"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GlobalAvgPool2d;

/// The channels and the positions of each plane of a sample of rank `rank`.
fn planes(input: Shape, rank: usize) -> Result<(usize, usize)> {
    input.expect_rank(rank)?;
    let (channels, dims) = match input {
        Shape::Features(f) => (f, [1, 1]),
        Shape::Sequence { channels, length } => (channels, [1, length]),
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, [height, width]),
    };
    for d in [channels, dims[0], dims[1]] {
        check_nonzero("input", d)?;
    }
    let overflow = Error::DimensionOverflow { what: "input" };
    let n = dims[0].checked_mul(dims[1]).ok_or(overflow)?;
    n.checked_mul(channels).ok_or(overflow)?;
    Ok((channels, n))
}

/// The output shape: `[C, 1]` or `[C, 1, 1]`.
fn output_shape(input: Shape, rank: usize) -> Result<Shape> {
    let (channels, _) = planes(input, rank)?;
    Ok(if rank == 2 {
        Shape::Sequence {
            channels,
            length: 1,
        }
    } else {
        Shape::Image {
            channels,
            height: 1,
            width: 1,
        }
    })
}

fn forward(input: Shape, rank: usize, x: &[f32], y: &mut [f32]) -> Result<()> {
    let (channels, n) = planes(input, rank)?;
    let batch = input.batch_of("x", x.len())?;
    check_len("y", y.len(), batch * channels)?;
    dispatch(Means { x, y, n });
    Ok(())
}

fn backward(input: Shape, rank: usize, dy: &[f32], dx: Option<&mut [f32]>) -> Result<()> {
    let (channels, n) = planes(input, rank)?;
    let batch = output_shape(input, rank)?.batch_of("dy", dy.len())?;
    let in_total = checked_len("dx", batch * channels, n)?;
    let Some(dx) = dx else {
        return Ok(());
    };
    check_len("dx", dx.len(), in_total)?;
    let len = n as f32;
    for (&g, dxp) in dy.iter().zip(by_rows_mut(dx, n)) {
        dxp.fill(g / len);
    }
    Ok(())
}

/// `y[p] = Σ x[p·n .. (p + 1)·n] / n` for every plane `p`.
struct Means<'a> {
    x: &'a [f32],
    y: &'a mut [f32],
    n: usize,
}

impl WithLanes for Means<'_> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let len = self.n as f32;
        for (xp, v) in by_rows(self.x, self.n).zip(self.y.iter_mut()) {
            *v = plane_sum(l, xp) / len;
        }
    }
}

/// `Σ p` on the lanes `l`: two accumulators of eight lanes over the whole chunks, their
/// sixteen partial sums added in one fixed order (a tree of pairs `i`, `i + 4`, …), then the
/// tail one by one. Only additions, in an order that does not depend on the lanes: the same
/// bits on every instruction set.
#[inline(always)]
fn plane_sum<L: Lanes>(l: L, p: &[f32]) -> f32 {
    let (chunks, tail) = p.as_chunks::<LANES>();
    let (pairs, rest) = chunks.as_chunks::<2>();
    let (mut a, mut b) = (l.splat(0.0), l.splat(0.0));
    for [c0, c1] in pairs {
        a += l.load(c0);
        b += l.load(c1);
    }
    for c in rest {
        a += l.load(c);
    }
    let v = (a + b).to_array();
    let mut s = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
    for &x in tail {
        s += x;
    }
    s
}

/// The layer of one global average pooling of rank `$rank`.
macro_rules! global_layer {
    ($ty:ty, $rank:expr) => {
        impl Layer for $ty {
            /// `[C, 1]` or `[C, 1, 1]`.
            fn output_shape(&self, input: Shape) -> Result<Shape> {
                output_shape(input, $rank)
            }

            /// `y` = each plane's mean, the same in both modes; nothing is saved.
            ///
            /// # Errors
            /// See [`GlobalAvgPool2d`].
            fn forward(
                &self,
                input: Shape,
                _mode: Mode<'_>,
                _params: Params<'_>,
                x: &[f32],
                y: &mut [f32],
            ) -> Result<()> {
                forward(input, $rank, x, y)
            }

            /// `dx = dy/n` over each plane of `n` positions; the batch is `dy`'s, and the
            /// tape is not read.
            ///
            /// # Errors
            /// See [`GlobalAvgPool2d`].
            fn backward(
                &self,
                input: Shape,
                _params: Params<'_>,
                _tape: Tape<'_>,
                dy: &[f32],
                dx: Option<&mut [f32]>,
                _grads: Grads<'_>,
            ) -> Result<()> {
                backward(input, $rank, dy, dx)
            }
        }
    };
}

global_layer!(GlobalAvgPool1d, 2);
global_layer!(GlobalAvgPool2d, 3);
