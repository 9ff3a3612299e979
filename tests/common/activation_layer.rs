//! An activation called through [`Layer`] with the shape of the older functions, `(x, y, cols)`
//! and `(saved, dy, dx, cols)`: shared by the activation tests, the bad-input rows, the fuzz
//! target and the conformance runner.
#![allow(dead_code)]

use descent::activation::Activation;
#[cfg(doc)]
use descent::layer::Layer;

/// [`Layer::forward`] of an activation over rows of `cols` (evaluation mode, no parameters).
pub(crate) fn act_forward(
    a: &Activation,
    x: &[f32],
    y: &mut [f32],
    cols: usize,
) -> descent::Result<()> {
    let shape = descent::layer::Shape::Features(cols);
    let none = descent::layer::Params::NONE;
    descent::layer::Layer::forward(a, shape, descent::layer::Mode::EVAL, none, x, y)
}

/// [`Layer::backward`] of an activation from the tensor it saves (`x` or `y`, as
/// [`Activation::saved`] says), over rows of `cols`.
pub(crate) fn act_backward(
    a: &Activation,
    saved: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    cols: usize,
) -> descent::Result<()> {
    use descent::layer::{Grads, Layer, Params, Shape, Tape};
    let tape = match a.saved() {
        descent::activation::Saved::Input => Tape::train(saved, &[], &[]),
        descent::activation::Saved::Output => Tape::train(&[], saved, &[]),
    };
    a.backward(
        Shape::Features(cols),
        Params::NONE,
        tape,
        dy,
        Some(dx),
        Grads::NONE,
    )
}
