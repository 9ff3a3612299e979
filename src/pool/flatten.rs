//! Flattening: torch's `nn.Flatten()`.

use crate::error::{check_len, check_nonzero, Error};
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use crate::Result;

/// torch's `nn.Flatten()` (`start_dim=1, end_dim=-1`): a sample of any shape as one vector,
/// `[C, H, W] → [C·H·W]`, the layer between a network's last pooling or convolution and its
/// first dense layer. The floats are already in that order, so forward copies `x` to `y` and
/// backward copies `dy` to `dx`; nothing is saved and the tape is not read.
///
/// ```
/// use descent::layer::{Layer, Mode, Params, Shape};
/// use descent::pool::Flatten;
///
/// let input = Shape::Image { channels: 2, height: 3, width: 3 };
/// assert_eq!(Flatten.output_shape(input)?, Shape::Features(18));
/// let x = [0.5; 36]; // a batch of 2
/// let mut y = [0.0; 36];
/// Flatten.forward(input, Mode::EVAL, Params::NONE, &x, &mut y)?;
/// assert_eq!(y, x);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// Before anything is written: [`Error::ZeroDimension`] (`"input"`) for a shape with a zero
/// dimension, [`Error::DimensionOverflow`] (`"input"`), and [`Error::LengthMismatch`] naming
/// `"x"`, `"y"`, `"dy"` or `"dx"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flatten;

/// The floats of one sample, checked non-zero and without overflow.
fn sample_len(input: Shape) -> Result<usize> {
    let overflow = Error::DimensionOverflow { what: "input" };
    let len = match input {
        Shape::Features(f) => f,
        Shape::Sequence { channels, length } => channels.checked_mul(length).ok_or(overflow)?,
        Shape::Image {
            channels,
            height,
            width,
        } => channels
            .checked_mul(height)
            .and_then(|n| n.checked_mul(width))
            .ok_or(overflow)?,
    };
    check_nonzero("input", len)?;
    Ok(len)
}

impl Layer for Flatten {
    /// `[input.len()]`.
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        Ok(Shape::Features(sample_len(input)?))
    }

    /// `y = x`.
    ///
    /// # Errors
    /// See [`Flatten`].
    fn forward(
        &self,
        input: Shape,
        _mode: Mode<'_>,
        _params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        sample_len(input)?;
        input.batch_of("x", x.len())?;
        check_len("y", y.len(), x.len())?;
        y.copy_from_slice(x);
        Ok(())
    }

    /// `dx = dy`.
    ///
    /// # Errors
    /// See [`Flatten`].
    fn backward(
        &self,
        input: Shape,
        _params: Params<'_>,
        _tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: Grads<'_>,
    ) -> Result<()> {
        sample_len(input)?;
        input.batch_of("dy", dy.len())?;
        if let Some(dx) = dx {
            check_len("dx", dx.len(), dy.len())?;
            dx.copy_from_slice(dy);
        }
        Ok(())
    }
}
