//! The one calling convention of every layer: [`Layer`].
//!
//! A layer value describes the layer's own shape and hyper-parameters (a dense layer's
//! widths, a norm's channels and `eps`), never the batch: each call takes the shape of one
//! input sample ([`Shape`]: `[F]`, `[C, L]` or `[C, H, W]`) and finds the batch from the
//! slice's length. Parameters come as [`Params`] (`weight`, `bias`), their gradients as
//! [`Grads`], the training or evaluation memory as [`Mode`], and what a backward pass reads of
//! its forward pass as a [`Tape`]:
//!
//! ```text
//! forward (&self, input: Shape, mode: Mode, params: Params, x, y)            y = f(x)
//! backward(&self, input: Shape, params: Params, tape: Tape, dy, dx: Option, grads: Grads)
//! ```
//!
//! `backward` writes `dx = ∂L/∂x` when `dx` is given and accumulates the parameter gradients
//! (`+=`, as autograd into `.grad`) that `grads` asks for. Every call checks everything before
//! it writes anything and returns an [`Error`](crate::Error) naming the argument at fault.
//!
//! The same trait carries convolutions and pooling (their input shapes are `[C, L]` and
//! `[C, H, W]`, their weights `[out, in, k…]`) and a layer of the caller's own: implement
//! [`Layer`] and it runs beside the crate's. ARCHITECTURE.md shows one.
//!
//! ```
//! use descent::dense::Dense;
//! use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
//!
//! let layer = Dense::new(3, 2); // nn.Linear(3, 2)
//! let input = Shape::Features(3);
//! let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0]; // a batch of 2
//! let (w, b) = ([0.1, 0.2, 0.3, -0.1, -0.2, -0.3], [0.5, -0.5]);
//! let mut y = [0.0; 4];
//! layer.forward(input, Mode::EVAL, Params::new(&w, &b), &x, &mut y)?;
//! assert!((y[0] - 1.9).abs() < 1e-6 && (y[3] - -0.7).abs() < 1e-6);
//!
//! let dy = [1.0, 0.0, 0.0, 1.0];
//! let (mut dw, mut db, mut dx) = ([0.0; 6], [0.0; 2], [0.0; 6]);
//! let tape = Tape::train(&x, &y, &[]);
//! layer.backward(input, Params::new(&w, &b), tape, &dy, Some(&mut dx), Grads::new(&mut dw, &mut db))?;
//! assert_eq!(db, [1.0, 1.0]);
//! # Ok::<(), descent::Error>(())
//! ```

mod mode;
mod params;
mod shape;
mod window;

pub use mode::{Mode, Pass, Tape};
pub use params::{Grads, Params};
pub use shape::Shape;
pub use window::Window;

use crate::Result;

/// A layer: a differentiable map from a batch of input samples to a batch of output samples,
/// with optional parameters (`weight`, `bias`), buffers (batch norm's running statistics) and
/// saved state (what backward reads besides the input and output).
///
/// The lengths a layer states are per call: `saved_len` depends on the input shape and the
/// batch; parameters and buffers do not depend on the batch.
pub trait Layer {
    /// The shape of one output sample for one input sample of shape `input`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) or
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) naming `"input"` when the layer
    /// cannot take that shape (a dense layer of another width, say).
    fn output_shape(&self, input: Shape) -> Result<Shape>;

    /// Floats of `weight`.
    fn weight_len(&self) -> usize {
        0
    }

    /// Floats of `bias`.
    fn bias_len(&self) -> usize {
        0
    }

    /// Floats of the buffers: state that is not trained but kept with the model.
    fn buffer_len(&self) -> usize {
        0
    }

    /// Floats a training forward over `batch` samples of shape `input` saves for backward.
    fn saved_len(&self, input: Shape, batch: usize) -> usize {
        let _ = (input, batch);
        0
    }

    /// `y = f(x)` over a batch of samples of shape `input` (the batch is `x.len()` over
    /// `input.len()`); `y` holds the same number of samples of
    /// [`output_shape`](Self::output_shape) and is overwritten.
    ///
    /// # Errors
    /// Whatever the layer finds wrong with its arguments, naming the argument; nothing is
    /// written then.
    fn forward(
        &self,
        input: Shape,
        mode: Mode<'_>,
        params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()>;

    /// Backward for the upstream gradient `dy = ∂L/∂y`: writes `dx = ∂L/∂x` when given and
    /// accumulates the gradients `grads` asks for, reading the forward pass from `tape`.
    ///
    /// # Errors
    /// Whatever the layer finds wrong with its arguments, naming the argument; nothing is
    /// written then.
    fn backward(
        &self,
        input: Shape,
        params: Params<'_>,
        tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Grads<'_>,
    ) -> Result<()>;
}
