//! The memory plan of a model: the `const fn` sizes of every caller buffer, where each layer's
//! parameters, buffers, activations and saved values sit in them, and the checks of a model
//! and of the slices a pass is given.

use super::{LayerKind, Sequential};
use crate::dense::Dense;
use crate::dropout::Dropout;
use crate::error::{check_len, check_nonzero};
use crate::layer::Shape;
#[cfg(doc)]
use crate::{activation::Activation, norm::BatchNorm, norm::LayerNorm};
use crate::{Error, Result};

/// Where a layer's parameters sit: in the frozen or the trainable slice, at which offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpan {
    /// Whether they sit in the frozen slice.
    pub frozen: bool,
    /// Offset in that slice.
    pub offset: usize,
    /// How many floats.
    pub len: usize,
}

/// The parameters a model reads: the frozen layers' and the trainable layers' tensors.
///
/// A plain `&[f32]` converts into `Params` with no frozen part, for models without frozen
/// layers.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    /// The frozen layers' tensors in layer order (may be `&'static` data in flash).
    pub frozen: &'a [f32],
    /// The trainable layers' tensors in layer order.
    pub trainable: &'a [f32],
}

impl<'a> From<&'a [f32]> for Params<'a> {
    fn from(trainable: &'a [f32]) -> Self {
        Params {
            frozen: &[],
            trainable,
        }
    }
}

impl<'a, const N: usize> From<&'a [f32; N]> for Params<'a> {
    fn from(trainable: &'a [f32; N]) -> Self {
        Params {
            frozen: &[],
            trainable,
        }
    }
}

impl<'a> From<&'a mut [f32]> for Params<'a> {
    fn from(trainable: &'a mut [f32]) -> Self {
        Params {
            frozen: &[],
            trainable,
        }
    }
}

impl<'a> Sequential<'a> {
    /// The shape of one sample entering layer `index` (the model's input for 0, the output
    /// for `layers.len()`).
    pub const fn input_shape(&self, index: usize) -> Shape {
        let mut shape = self.input;
        let mut i = 0;
        while i < index && i < self.layers.len() {
            shape = self.layers[i].output_shape(shape);
            i += 1;
        }
        shape
    }

    /// The floats of one sample entering layer `index`: [`input_shape`](Self::input_shape)`.len()`.
    pub const fn input_width(&self, index: usize) -> usize {
        self.input_shape(index).len()
    }

    /// The shape of one output sample.
    pub const fn output_shape(&self) -> Shape {
        self.input_shape(self.layers.len())
    }

    /// Features of one output sample.
    pub const fn output_features(&self) -> usize {
        self.output_shape().len()
    }

    /// The largest sample of the input and every layer's output, in floats.
    pub const fn max_width(&self) -> usize {
        let mut shape = self.input;
        let mut max = shape.len();
        let mut i = 0;
        while i < self.layers.len() {
            shape = self.layers[i].output_shape(shape);
            if shape.len() > max {
                max = shape.len();
            }
            i += 1;
        }
        max
    }

    const fn sum_params(&self, frozen: Option<bool>) -> usize {
        let mut total = 0usize;
        let mut i = 0;
        while i < self.layers.len() {
            let layer = &self.layers[i];
            let counted = match frozen {
                None => true,
                Some(f) => layer.frozen == f,
            };
            if counted {
                total = total.saturating_add(layer.param_len());
            }
            i += 1;
        }
        total
    }

    /// Floats of all parameters, frozen and trainable.
    pub const fn param_len(&self) -> usize {
        self.sum_params(None)
    }

    /// Floats of the trainable parameters, and of the gradients.
    pub const fn trainable_len(&self) -> usize {
        self.sum_params(Some(false))
    }

    /// Floats of the frozen parameters.
    pub const fn frozen_len(&self) -> usize {
        self.sum_params(Some(true))
    }

    /// Floats of non-trained state (batch norm's running statistics).
    pub const fn buffer_len(&self) -> usize {
        let mut total = 0usize;
        let mut i = 0;
        while i < self.layers.len() {
            total = total.saturating_add(self.layers[i].buffer_len());
            i += 1;
        }
        total
    }

    /// Floats of the activation arena for a batch of `batch` samples.
    pub const fn activation_len(&self, batch: usize) -> usize {
        let mut shape = self.input;
        let mut total = 0usize;
        let mut i = 0;
        while i < self.layers.len() {
            total = total.saturating_add(self.layers[i].activation_len(shape, batch));
            shape = self.layers[i].output_shape(shape);
            i += 1;
        }
        total
    }

    /// Floats of scratch for a batch of `batch` samples: two rows of the widest layer.
    pub const fn scratch_len(&self, batch: usize) -> usize {
        batch.saturating_mul(self.max_width()).saturating_mul(2)
    }

    /// Checks that the layers chain (each dense layer takes a vector whose width is its
    /// `in_features`, each convolution a sample of its rank with its `in_channels` and room for
    /// its window, each norm's features the width or channels it normalises), that no width is
    /// zero, that the model
    /// has a layer, and every layer's own hyper-parameters ([`Activation::validate`],
    /// [`LayerNorm::validate`], [`BatchNorm::validate`], a dropout `p` in `[0, 1]`). Every pass
    /// runs it first, so a bad layer is reported before anything is written.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] (`"layers"`, `"input_features"`, `"in_features"`,
    /// `"out_features"`), [`Error::LengthMismatch`] (`"in_features"`: expected the width before
    /// the layer; `"normalized_shape"`), [`Error::RankMismatch`] (`"input"`: a dense layer
    /// after an image without a flatten, a convolution of the wrong rank),
    /// [`Error::DimensionOverflow`] when a buffer length overflows `usize`,
    /// [`Error::InvalidHyperParameter`] from a layer, and the errors of a convolution's
    /// [`output_shape`](crate::layer::Layer::output_shape).
    pub fn validate(&self) -> Result<()> {
        check_nonzero("layers", self.layers.len())?;
        check_nonzero("input_features", self.input.len())?;
        let mut shape = self.input;
        for layer in self.layers {
            let width = shape.len();
            if let LayerKind::Dense(Dense {
                in_features,
                out_features,
                ..
            }) = layer.kind
            {
                check_nonzero("in_features", in_features)?;
                check_nonzero("out_features", out_features)?;
                shape.expect_rank(1)?;
                check_len("in_features", in_features, width)?;
                in_features
                    .checked_mul(out_features)
                    .and_then(|w| w.checked_add(out_features))
                    .ok_or(Error::DimensionOverflow { what: "weight" })?;
            }
            match layer.kind {
                LayerKind::LayerNorm(ln) => {
                    check_len("normalized_shape", ln.features, width)?;
                    ln.validate()?;
                }
                LayerKind::BatchNorm(bn) => {
                    check_len("normalized_shape", bn.features, shape.channels())?;
                    bn.validate()?;
                }
                LayerKind::Conv1d(_)
                | LayerKind::Conv2d(_)
                | LayerKind::MaxPool1d(_)
                | LayerKind::MaxPool2d(_)
                | LayerKind::AvgPool1d(_)
                | LayerKind::AvgPool2d(_)
                | LayerKind::GlobalAvgPool1d(_)
                | LayerKind::GlobalAvgPool2d(_) => {
                    // Through the layer's table: linked only for kinds the model has.
                    (layer.kernels.output_shape)(&layer.kind, shape)?;
                }
                LayerKind::Dropout(Dropout { p }) if !(0.0..=1.0).contains(&p) => {
                    return Err(Error::InvalidHyperParameter { what: "p" });
                }
                LayerKind::Activation(activation) => activation.validate()?,
                _ => {}
            }
            shape = layer.output_shape(shape);
        }
        Ok(())
    }

    /// Where each layer's parameters sit, in layer order (an empty span for layers without).
    pub fn param_spans(&self) -> impl Iterator<Item = ParamSpan> + '_ {
        let (mut frozen_at, mut trainable_at) = (0usize, 0usize);
        self.layers.iter().map(move |layer| {
            let len = layer.param_len();
            let at = if layer.frozen {
                &mut frozen_at
            } else {
                &mut trainable_at
            };
            let span = ParamSpan {
                frozen: layer.frozen,
                offset: *at,
                len,
            };
            *at = at.saturating_add(len);
            span
        })
    }

    /// Each layer's shapes and where its parameters, buffers, output and saved values sit, for
    /// a batch of `batch`, in layer order.
    pub fn geometry(&self, batch: usize) -> impl Iterator<Item = Geometry> + '_ {
        let mut input = self.input;
        let mut buffer_at = 0usize;
        let mut act_at = 0usize;
        self.layers
            .iter()
            .zip(self.param_spans())
            .map(move |(layer, params)| {
                let output = layer.output_shape(input);
                let out_len = batch.saturating_mul(output.len());
                let saved_len = layer.saved_len(input, batch);
                let buffers_len = layer.buffer_len();
                let g = Geometry {
                    input,
                    in_width: input.len(),
                    out_width: output.len(),
                    params,
                    buffers: buffer_at..buffer_at.saturating_add(buffers_len),
                    output: act_at..act_at.saturating_add(out_len),
                    saved: act_at.saturating_add(out_len)
                        ..act_at.saturating_add(out_len).saturating_add(saved_len),
                };
                buffer_at = g.buffers.end;
                act_at = g.saved.end;
                input = output;
                g
            })
    }

    /// Checks the model and the lengths of the parameters and buffers.
    pub(super) fn check_params(&self, params: &Params<'_>, buffers: usize) -> Result<()> {
        self.validate()?;
        check_len("frozen", params.frozen.len(), self.frozen_len())?;
        check_len("params", params.trainable.len(), self.trainable_len())?;
        check_len("buffers", buffers, self.buffer_len())
    }

    /// A batch norm trains on the batch's own statistics, which need two values per channel
    /// (two samples of a vector, or one image of two positions): checked before a training
    /// pass writes anything.
    pub(super) fn check_training_batch(&self, batch: usize) -> Result<()> {
        let mut shape = self.input;
        for layer in self.layers {
            let norm = matches!(layer.kind, LayerKind::BatchNorm(_));
            if norm && batch.saturating_mul(shape.positions()) == 1 {
                return Err(Error::ZeroDimension { what: "batch - 1" });
            }
            shape = layer.output_shape(shape);
        }
        Ok(())
    }

    /// The batch of an input `x`: whole samples of the input shape, at least one.
    pub(super) fn batch_of(&self, x: &[f32]) -> Result<usize> {
        check_nonzero("input_features", self.input.len())?;
        let batch = self.input.batch_of("x", x.len())?;
        check_nonzero("batch", batch)?;
        Ok(batch)
    }

    /// `batch·width` for an input or output of a batch, with overflow and zero checks.
    pub(super) fn rows(&self, what: &'static str, batch: usize, width: usize) -> Result<usize> {
        check_nonzero("batch", batch)?;
        batch
            .checked_mul(width)
            .ok_or(Error::DimensionOverflow { what })
    }
}

/// Where one layer's data sit, for a given batch (see [`Sequential::geometry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// The shape of one sample of the layer's input.
    pub input: Shape,
    /// The width of the layer's input (`input.len()`).
    pub in_width: usize,
    /// The width of its output (floats per sample).
    pub out_width: usize,
    /// Its parameters.
    pub params: ParamSpan,
    /// Its range in the buffers.
    pub buffers: core::ops::Range<usize>,
    /// Its output's range in the activation arena.
    pub output: core::ops::Range<usize>,
    /// The range, right after the output, of what its backward pass needs.
    pub saved: core::ops::Range<usize>,
}

/// The parameters of one layer, from the slice its span points into.
pub(super) fn span_of<'p>(params: &Params<'p>, span: ParamSpan) -> Result<&'p [f32]> {
    let slice = if span.frozen {
        params.frozen
    } else {
        params.trainable
    };
    slice
        .get(span.offset..span.offset.saturating_add(span.len))
        .ok_or(Error::LengthMismatch {
            what: if span.frozen { "frozen" } else { "params" },
            expected: span.offset.saturating_add(span.len),
            actual: slice.len(),
        })
}
