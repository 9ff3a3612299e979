//! The passes of a model: inference, the training forward pass and the backward pass, each
//! a walk over the layers through their kernel tables.

use super::kernels;
use super::plan::{span_of, Params};
use super::Sequential;
use crate::error::check_len;
#[cfg(doc)]
use crate::Error;
use crate::Result;

impl<'a> Sequential<'a> {
    /// Inference: `y = model(x)`, with every layer in evaluation mode (dropout is the
    /// identity, batch norm uses its running statistics).
    ///
    /// `x` is `[batch, input_features]` (the batch is its length over `input_features`), `y`
    /// `[batch, output_features]`; `buffers` has
    /// [`buffer_len`](Self::buffer_len) floats and `scratch`
    /// [`scratch_len`](Self::scratch_len)`(batch)`. `params` may be a plain `&[f32]` when no
    /// layer is frozen.
    ///
    /// # Errors
    /// What [`validate`](Self::validate) finds, and [`Error::LengthMismatch`] for `"frozen"`,
    /// `"params"`, `"buffers"`, `"x"` (not whole samples), `"y"` or `"scratch"`,
    /// [`Error::ZeroDimension`] (`"batch"`: an empty `x`); anything a layer's kernel reports. Lengths are checked before anything is
    /// written.
    pub fn forward<'p>(
        &self,
        params: impl Into<Params<'p>>,
        buffers: &[f32],
        x: &[f32],
        y: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        let params = params.into();
        self.check_params(&params, buffers.len())?;
        let batch = self.batch_of(x)?;
        check_len("y", y.len(), self.rows("y", batch, self.output_features())?)?;
        check_len("scratch", scratch.len(), self.scratch_len(batch))?;

        let half = batch.saturating_mul(self.max_width());
        let (a, b) = scratch.split_at_mut(half.min(scratch.len()));
        let (a_len, b_len) = (a.len(), b.len());
        // Where the current layer's input is: 0 = x, 1 = a, 2 = b.
        let mut src = 0u8;
        let last = self.layers.len().saturating_sub(1);
        for ((i, layer), geo) in self.layers.iter().enumerate().zip(self.geometry(batch)) {
            let out_len = batch.saturating_mul(geo.out_width);
            let p = span_of(&params, geo.params)?;
            let buf = buffers.get(geo.buffers.clone()).unwrap_or(&[]);
            let (input, output): (&[f32], &mut [f32]) = match (src, i == last) {
                (0, false) => (x, &mut a[..out_len.min(a_len)]),
                (1, false) => (&*a, &mut b[..out_len.min(b_len)]),
                (_, false) => (&*b, &mut a[..out_len.min(a_len)]),
                (0, true) => (x, &mut *y),
                (1, true) => (&*a, &mut *y),
                (_, true) => (&*b, &mut *y),
            };
            let input = &input[..batch.saturating_mul(geo.in_width).min(input.len())];
            let pass = kernels::Forward {
                shape: geo.input,
                params: p,
                running: buf,
                input,
                output,
                train: None,
            };
            (layer.kernels.forward)(&layer.kind, pass)?;
            src = if src == 1 { 2 } else { 1 };
        }
        Ok(())
    }

    /// Forward for training: runs every layer in training mode (dropout drawing from `rng`,
    /// batch norm on the batch's statistics, updating its running statistics in `buffers`) and
    /// keeps in `acts` what the backward pass needs; returns the model's output
    /// (`[batch, output_features]`, inside `acts`).
    ///
    /// `acts` has [`activation_len`](Self::activation_len)`(batch)` floats; its contents on
    /// entry do not matter.
    ///
    /// # Errors
    /// As [`forward`](Self::forward), naming `"acts"` for the arena;
    /// [`Error::ZeroDimension`] (`"batch - 1"`) for a batch of one through a batch norm.
    pub fn forward_train<'p, 'b, R: rand::Rng + ?Sized>(
        &self,
        params: impl Into<Params<'p>>,
        buffers: &mut [f32],
        x: &[f32],
        acts: &'b mut [f32],
        rng: &mut R,
    ) -> Result<&'b [f32]> {
        let params = params.into();
        self.check_params(&params, buffers.len())?;
        let batch = self.batch_of(x)?;
        check_len("acts", acts.len(), self.activation_len(batch))?;
        self.check_training_batch(batch)?;

        // `&mut R` is itself a generator, and sized: the layers get it as `&mut dyn Rng`.
        let mut rng = rng;
        let mut prev = 0usize..0usize;
        for ((i, layer), geo) in self.layers.iter().enumerate().zip(self.geometry(batch)) {
            let (before, rest) = acts.split_at_mut(geo.output.start.min(acts.len()));
            let input: &[f32] = if i == 0 {
                x
            } else {
                before.get(prev.clone()).unwrap_or(&[])
            };
            let here = rest
                .get_mut(..geo.saved.end.saturating_sub(geo.output.start))
                .unwrap_or(&mut []);
            let (output, saved) = here.split_at_mut(geo.output.len().min(here.len()));
            let buf = buffers.get_mut(geo.buffers.clone()).unwrap_or(&mut []);
            let p = span_of(&params, geo.params)?;
            let pass = kernels::Forward {
                shape: geo.input,
                params: p,
                running: &[],
                input,
                output,
                train: Some(kernels::Train {
                    buffers: buf,
                    saved,
                    rng: &mut rng,
                }),
            };
            (layer.kernels.forward)(&layer.kind, pass)?;
            prev = geo.output;
        }
        Ok(acts.get(prev).unwrap_or(&[]))
    }

    /// Backward from `dy = ∂L/∂output` (`[batch, output_features]`): accumulates the trainable
    /// layers' parameter gradients into `grads` (same layout as the trainable parameters; zero
    /// them with [`zero_grad`](Self::zero_grad) before a fresh step), using what
    /// [`forward_train`](Self::forward_train) left in `acts` for the same `x` and parameters.
    ///
    /// The pass stops at the lowest trainable layer: frozen layers below it are not visited,
    /// and no input gradient is computed for it.
    ///
    /// # Errors
    /// As [`forward_train`](Self::forward_train), and [`Error::LengthMismatch`] for `"dy"`,
    /// `"grads"` and `"scratch"`.
    pub fn backward<'p>(
        &self,
        params: impl Into<Params<'p>>,
        x: &[f32],
        acts: &[f32],
        dy: &[f32],
        grads: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        let params = params.into();
        self.check_params(&params, self.buffer_len())?;
        let batch = self.batch_of(x)?;
        check_len("acts", acts.len(), self.activation_len(batch))?;
        check_len(
            "dy",
            dy.len(),
            self.rows("dy", batch, self.output_features())?,
        )?;
        check_len("grads", grads.len(), self.trainable_len())?;
        check_len("scratch", scratch.len(), self.scratch_len(batch))?;
        self.check_training_batch(batch)?;
        let Some(lowest) = self.layers.iter().position(|l| !l.frozen) else {
            return Ok(());
        };

        let half = batch.saturating_mul(self.max_width());
        let (a, b) = scratch.split_at_mut(half.min(scratch.len()));
        let (a_len, b_len) = (a.len(), b.len());
        // Where the upstream gradient is: 0 = dy, 1 = a, 2 = b.
        let mut src = 0u8;
        // Walking down, the geometry of the layer below becomes the next layer's own.
        let last = self.layers.len().saturating_sub(1);
        let mut here = self.geometry(batch).nth(last);
        for i in (lowest..self.layers.len()).rev() {
            let (Some(layer), Some(geo)) = (self.layers.get(i), here.take()) else {
                break;
            };
            here = i.checked_sub(1).and_then(|k| self.geometry(batch).nth(k));
            let input: &[f32] = match &here {
                None => x,
                Some(below) => acts.get(below.output.clone()).unwrap_or(&[]),
            };
            let output = acts.get(geo.output.clone()).unwrap_or(&[]);
            let saved = acts.get(geo.saved.clone()).unwrap_or(&[]);
            let in_len = batch.saturating_mul(geo.in_width);
            let (g, dx): (&[f32], &mut [f32]) = match src {
                0 => (dy, &mut a[..in_len.min(a_len)]),
                1 => (&*a, &mut b[..in_len.min(b_len)]),
                _ => (&*b, &mut a[..in_len.min(a_len)]),
            };
            let g = &g[..batch.saturating_mul(geo.out_width).min(g.len())];
            let grad = if layer.frozen {
                None
            } else {
                let span = geo.params;
                grads.get_mut(span.offset..span.offset.saturating_add(span.len))
            };
            let pass = kernels::Backward {
                shape: geo.input,
                params: span_of(&params, geo.params)?,
                input,
                output,
                saved,
                g,
                grad,
                dx,
                need_dx: i > lowest,
            };
            (layer.kernels.backward)(&layer.kind, pass)?;
            src = if src == 1 { 2 } else { 1 };
        }
        Ok(())
    }

    /// Zeroes the gradients (torch's `zero_grad(set_to_none=False)`): backward passes
    /// accumulate into them.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] (`"grads"`) unless `grads` has
    /// [`trainable_len`](Self::trainable_len) floats.
    pub fn zero_grad(&self, grads: &mut [f32]) -> Result<()> {
        check_len("grads", grads.len(), self.trainable_len())?;
        grads.fill(0.0);
        Ok(())
    }
}
