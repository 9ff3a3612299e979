//! One activation kernel as a [`Layer`]: no parameters, no buffers, nothing saved beyond the
//! tensor its backward reads (the forward's input or output, from the tape). [`Activation`]'s
//! layer and the network's per-activation tables both run through it.

use super::kind::Kernel;
use super::rowwise::rows_of;
#[cfg(doc)]
use super::Activation;
use super::Saved;
use crate::error::check_nonzero;
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use crate::Result;

/// One activation's kernel as a [`Layer`], for callers that pick the kernel once (a network
/// layer's table holds one per activation, so it links only the kernels its layers use).
#[derive(Clone, Copy)]
pub(crate) struct KernelLayer<K>(pub K);

impl<K: Kernel> Layer for KernelLayer<K> {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        check_nonzero("cols", input.last())?;
        Ok(input)
    }

    fn forward(
        &self,
        input: Shape,
        _mode: Mode<'_>,
        _params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        rows_of("x", x.len(), input.last())?;
        self.0.forward(x, y, input.last())
    }

    fn backward(
        &self,
        input: Shape,
        _params: Params<'_>,
        tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: Grads<'_>,
    ) -> Result<()> {
        self.0.validate()?;
        let Some(dx) = dx else {
            return Ok(());
        };
        let saved = match self.0.saved() {
            Saved::Input => tape.x,
            Saved::Output => tape.y,
        };
        rows_of("saved", saved.len(), input.last())?;
        self.0.backward(saved, dy, dx, input.last())
    }
}
