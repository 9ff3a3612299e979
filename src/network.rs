//! A sequential model that owns no memory: a fixed list of layers, and `const fn`s that say how
//! long each caller buffer must be.
//!
//! A [`Sequential`] is a description (an input width and a slice of [`Layer`]s, which may be a
//! `const` array); every buffer it works on comes from the caller:
//!
//! | buffer | length | contents |
//! |---|---|---|
//! | trainable parameters | [`Sequential::trainable_len`] | the trainable layers' tensors, in layer order |
//! | frozen parameters | [`Sequential::frozen_len`] | the frozen layers' tensors (may be `&'static` in flash) |
//! | gradients | [`Sequential::trainable_len`] | same layout as the trainable parameters |
//! | buffers | [`Sequential::buffer_len`] | non-trained state (batch norm's running statistics) |
//! | activations | [`Sequential::activation_len`]`(batch)` | what the backward pass needs, written by [`Sequential::forward_train`] |
//! | scratch | [`Sequential::scratch_len`]`(batch)` | two ping-pong rows of the widest layer |
//!
//! Each layer's tensors are laid out as torch's `state_dict` orders them: `weight` then `bias`
//! (`[out, in]` then `[out]` for a dense layer); [`Sequential::tensors`] lists them with torch's
//! names (`"0.weight"`, `"0.bias"`, …) for checkpoints.
//!
//! ```
//! use descent::activation::Activation;
//! use descent::network::{Layer, Sequential};
//!
//! const LAYERS: [Layer; 3] = [
//!     Layer::dense(4, 16),
//!     Layer::activation(Activation::Relu),
//!     Layer::dense(16, 3),
//! ];
//! const NET: Sequential = Sequential::new(4, &LAYERS);
//! const BATCH: usize = 8;
//! // Sizes known at compile time: firmware declares these as statics.
//! static mut PARAMS: [f32; NET.trainable_len()] = [0.0; NET.trainable_len()];
//! static mut ACTS: [f32; NET.activation_len(BATCH)] = [0.0; NET.activation_len(BATCH)];
//! assert_eq!(NET.trainable_len(), 4 * 16 + 16 + 16 * 3 + 3);
//! assert_eq!(NET.output_features(), 3);
//! ```
//!
//! Frozen layers (fine-tuning the last layer on a device is the common case) take their tensors
//! from a separate, read-only slice; no gradient is stored for them, and the backward pass stops
//! below the lowest trainable layer.

use crate::activation::Activation;
use crate::dense::Dense;
use crate::error::{check_len, check_nonzero};
use crate::{Error, Result};

/// What a layer computes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LayerKind {
    /// torch's `nn.Linear(in_features, out_features, bias)`: `y = x·Wᵀ + b`, weight `[out, in]`.
    Dense {
        /// Input width.
        in_features: usize,
        /// Output width.
        out_features: usize,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// An activation over the previous layer's width (softmax over each row).
    Activation(Activation),
}

/// One layer of a [`Sequential`] model: what it computes and whether it trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layer {
    /// What the layer computes.
    pub kind: LayerKind,
    /// A frozen layer takes its tensors from the frozen slice and gets no gradient.
    pub frozen: bool,
}

impl Layer {
    /// A dense layer with bias, as `nn.Linear(in_features, out_features)`.
    pub const fn dense(in_features: usize, out_features: usize) -> Self {
        Self::new(LayerKind::Dense {
            in_features,
            out_features,
            bias: true,
        })
    }

    /// A dense layer without bias, as `nn.Linear(in_features, out_features, bias=False)`.
    pub const fn dense_no_bias(in_features: usize, out_features: usize) -> Self {
        Self::new(LayerKind::Dense {
            in_features,
            out_features,
            bias: false,
        })
    }

    /// An activation layer.
    pub const fn activation(activation: Activation) -> Self {
        Self::new(LayerKind::Activation(activation))
    }

    /// A trainable layer of the given kind.
    pub const fn new(kind: LayerKind) -> Self {
        Layer {
            kind,
            frozen: false,
        }
    }

    /// The same layer, frozen (torch's `requires_grad_(False)` on its parameters).
    pub const fn frozen(self) -> Self {
        Layer {
            kind: self.kind,
            frozen: true,
        }
    }

    /// The width of the layer's output for an input of width `input`.
    pub const fn output_width(&self, input: usize) -> usize {
        match self.kind {
            LayerKind::Dense { out_features, .. } => out_features,
            LayerKind::Activation(_) => input,
        }
    }

    /// Floats of parameters for an input of width `input`.
    pub const fn param_len(&self, input: usize) -> usize {
        match self.kind {
            LayerKind::Dense {
                in_features,
                out_features,
                bias,
            } => in_features
                .saturating_mul(out_features)
                .saturating_add(if bias { out_features } else { 0 }),
            LayerKind::Activation(_) => {
                let _ = input;
                0
            }
        }
    }

    /// Floats of non-trained state (running statistics).
    pub const fn buffer_len(&self, input: usize) -> usize {
        let _ = input;
        0
    }

    /// Floats of the activation arena this layer uses for a batch: its output, plus what its
    /// backward pass needs beyond its input and output.
    pub const fn activation_len(&self, input: usize, batch: usize) -> usize {
        batch.saturating_mul(self.output_width(input))
    }
}

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

/// Which caller slice a tensor lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// The frozen parameters.
    Frozen,
    /// The trainable parameters (and, at the same offset, their gradients).
    Trainable,
    /// The non-trained buffers (running statistics).
    Buffer,
}

/// One tensor of a model: its layer, its torch name within the layer, its shape and where its
/// floats are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The layer's index (the `i` of torch's `"{i}.weight"`).
    pub layer: usize,
    /// The tensor's name within its layer: `"weight"`, `"bias"`, `"running_mean"`, ….
    pub name: &'static str,
    /// The shape; only the first `rank` entries count.
    pub shape: [usize; 2],
    /// How many dimensions the shape has (0 for a scalar).
    pub rank: usize,
    /// Which slice holds it.
    pub store: Store,
    /// Its offset in that slice.
    pub offset: usize,
    /// Its length in floats.
    pub len: usize,
}

impl TensorInfo {
    /// The shape as a slice.
    pub fn dims(&self) -> &[usize] {
        &self.shape[..self.rank.min(2)]
    }
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

/// A sequential model: an input width and its layers, applied in order (torch's
/// `nn.Sequential`). It holds no buffers; see the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct Sequential<'a> {
    /// Features of one input sample.
    pub input_features: usize,
    /// The layers, first to last.
    pub layers: &'a [Layer],
}

impl<'a> Sequential<'a> {
    /// A model over `layers`, taking samples of `input_features`.
    pub const fn new(input_features: usize, layers: &'a [Layer]) -> Self {
        Sequential {
            input_features,
            layers,
        }
    }

    /// The width of the input to layer `index` (the model's input for 0).
    pub const fn input_width(&self, index: usize) -> usize {
        let mut width = self.input_features;
        let mut i = 0;
        while i < index && i < self.layers.len() {
            width = self.layers[i].output_width(width);
            i += 1;
        }
        width
    }

    /// Features of one output sample.
    pub const fn output_features(&self) -> usize {
        self.input_width(self.layers.len())
    }

    /// The widest of the input and every layer's output.
    pub const fn max_width(&self) -> usize {
        let mut width = self.input_features;
        let mut max = width;
        let mut i = 0;
        while i < self.layers.len() {
            width = self.layers[i].output_width(width);
            if width > max {
                max = width;
            }
            i += 1;
        }
        max
    }

    const fn sum_params(&self, frozen: Option<bool>) -> usize {
        let mut width = self.input_features;
        let mut total = 0usize;
        let mut i = 0;
        while i < self.layers.len() {
            let layer = &self.layers[i];
            let counted = match frozen {
                None => true,
                Some(f) => layer.frozen == f,
            };
            if counted {
                total = total.saturating_add(layer.param_len(width));
            }
            width = layer.output_width(width);
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
        let mut width = self.input_features;
        let mut total = 0usize;
        let mut i = 0;
        while i < self.layers.len() {
            total = total.saturating_add(self.layers[i].buffer_len(width));
            width = self.layers[i].output_width(width);
            i += 1;
        }
        total
    }

    /// Floats of the activation arena for a batch of `batch` samples.
    pub const fn activation_len(&self, batch: usize) -> usize {
        let mut width = self.input_features;
        let mut total = 0usize;
        let mut i = 0;
        while i < self.layers.len() {
            total = total.saturating_add(self.layers[i].activation_len(width, batch));
            width = self.layers[i].output_width(width);
            i += 1;
        }
        total
    }

    /// Floats of scratch for a batch of `batch` samples: two rows of the widest layer.
    pub const fn scratch_len(&self, batch: usize) -> usize {
        batch.saturating_mul(self.max_width()).saturating_mul(2)
    }

    /// Checks that the layers chain (each dense layer's `in_features` equals the width before
    /// it), that no width is zero and that the model has a layer.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] (`"layers"`, `"input_features"`, `"in_features"`,
    /// `"out_features"`), [`Error::LengthMismatch`] (`"in_features"`: expected the width before
    /// the layer), [`Error::DimensionOverflow`] when a buffer length overflows `usize`.
    pub fn validate(&self) -> Result<()> {
        check_nonzero("layers", self.layers.len())?;
        check_nonzero("input_features", self.input_features)?;
        let mut width = self.input_features;
        for layer in self.layers {
            if let LayerKind::Dense {
                in_features,
                out_features,
                ..
            } = layer.kind
            {
                check_nonzero("in_features", in_features)?;
                check_nonzero("out_features", out_features)?;
                check_len("in_features", in_features, width)?;
                in_features
                    .checked_mul(out_features)
                    .and_then(|w| w.checked_add(out_features))
                    .ok_or(Error::DimensionOverflow { what: "weight" })?;
            }
            width = layer.output_width(width);
        }
        Ok(())
    }

    /// Where each layer's parameters sit, in layer order (an empty span for layers without).
    pub fn param_spans(&self) -> impl Iterator<Item = ParamSpan> + '_ {
        let mut width = self.input_features;
        let (mut frozen_at, mut trainable_at) = (0usize, 0usize);
        self.layers.iter().map(move |layer| {
            let len = layer.param_len(width);
            width = layer.output_width(width);
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

    /// Checks the model and the lengths of the parameters and buffers.
    fn check_params(&self, params: &Params<'_>, buffers: usize) -> Result<()> {
        self.validate()?;
        check_len("frozen", params.frozen.len(), self.frozen_len())?;
        check_len("params", params.trainable.len(), self.trainable_len())?;
        check_len("buffers", buffers, self.buffer_len())
    }

    /// `batch·width` for an input or output of a batch, with overflow and zero checks.
    fn rows(&self, what: &'static str, batch: usize, width: usize) -> Result<usize> {
        check_nonzero("batch", batch)?;
        batch
            .checked_mul(width)
            .ok_or(Error::DimensionOverflow { what })
    }

    /// Inference: `y = model(x)` for a batch of `batch` samples, with every layer in evaluation
    /// mode (dropout off, batch norm on its running statistics).
    ///
    /// `x` is `[batch, input_features]`, `y` `[batch, output_features]`; `scratch` has
    /// [`scratch_len`](Self::scratch_len)`(batch)` floats. `params` may be a plain `&[f32]`
    /// when no layer is frozen.
    ///
    /// # Errors
    /// What [`validate`](Self::validate) finds, and [`Error::LengthMismatch`] for `"frozen"`,
    /// `"params"`, `"buffers"`, `"x"`, `"y"` or `"scratch"`, [`Error::ZeroDimension`]
    /// (`"batch"`); anything a layer's kernel reports. Lengths are checked before anything is
    /// written.
    pub fn forward<'p>(
        &self,
        batch: usize,
        params: impl Into<Params<'p>>,
        buffers: &[f32],
        x: &[f32],
        y: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        let params = params.into();
        self.check_params(&params, buffers.len())?;
        check_len("x", x.len(), self.rows("x", batch, self.input_features)?)?;
        check_len("y", y.len(), self.rows("y", batch, self.output_features())?)?;
        check_len("scratch", scratch.len(), self.scratch_len(batch))?;

        let half = batch.saturating_mul(self.max_width());
        let (a, b) = scratch.split_at_mut(half.min(scratch.len()));
        let (a_len, b_len) = (a.len(), b.len());
        // Where the current layer's input is: 0 = x, 1 = a, 2 = b.
        let mut src = 0u8;
        let mut width = self.input_features;
        let last = self.layers.len().saturating_sub(1);
        for ((i, layer), span) in self.layers.iter().enumerate().zip(self.param_spans()) {
            let out_width = layer.output_width(width);
            let out_len = batch.saturating_mul(out_width);
            let p = span_of(&params, span)?;
            let (input, output): (&[f32], &mut [f32]) = match (src, i == last) {
                (0, false) => (x, &mut a[..out_len.min(a_len)]),
                (1, false) => (&*a, &mut b[..out_len.min(b_len)]),
                (_, false) => (&*b, &mut a[..out_len.min(a_len)]),
                (0, true) => (x, &mut *y),
                (1, true) => (&*a, &mut *y),
                (_, true) => (&*b, &mut *y),
            };
            let input = &input[..batch.saturating_mul(width).min(input.len())];
            forward_layer(layer, batch, width, p, input, output)?;
            src = if src == 1 { 2 } else { 1 };
            width = out_width;
        }
        Ok(())
    }

    /// Forward for training: runs every layer in training mode and keeps, in `acts`, what the
    /// backward pass needs; returns the model's output (`[batch, output_features]`, the tail of
    /// `acts`).
    ///
    /// `acts` has [`activation_len`](Self::activation_len)`(batch)` floats; its contents on
    /// entry do not matter.
    ///
    /// # Errors
    /// As [`forward`](Self::forward), naming `"acts"` for the arena.
    pub fn forward_train<'p, 'b>(
        &self,
        batch: usize,
        params: impl Into<Params<'p>>,
        buffers: &mut [f32],
        x: &[f32],
        acts: &'b mut [f32],
    ) -> Result<&'b [f32]> {
        let params = params.into();
        self.check_params(&params, buffers.len())?;
        check_len("x", x.len(), self.rows("x", batch, self.input_features)?)?;
        check_len("acts", acts.len(), self.activation_len(batch))?;

        let mut width = self.input_features;
        let mut at = 0usize;
        let mut prev = 0usize..0usize;
        for ((i, layer), span) in self.layers.iter().enumerate().zip(self.param_spans()) {
            let here = layer.activation_len(width, batch);
            let (before, rest) = acts.split_at_mut(at.min(acts.len()));
            let input: &[f32] = if i == 0 {
                x
            } else {
                before.get(prev.clone()).unwrap_or(&[])
            };
            let len = here.min(rest.len());
            let output = &mut rest[..len];
            let out_len = batch.saturating_mul(layer.output_width(width));
            let output = &mut output[..out_len.min(len)];
            forward_layer(layer, batch, width, span_of(&params, span)?, input, output)?;
            prev = at..at.saturating_add(out_len);
            at = at.saturating_add(here);
            width = layer.output_width(width);
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
    #[allow(clippy::too_many_arguments)]
    pub fn backward<'p>(
        &self,
        batch: usize,
        params: impl Into<Params<'p>>,
        x: &[f32],
        acts: &[f32],
        dy: &[f32],
        grads: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<()> {
        let params = params.into();
        self.check_params(&params, self.buffer_len())?;
        check_len("x", x.len(), self.rows("x", batch, self.input_features)?)?;
        check_len("acts", acts.len(), self.activation_len(batch))?;
        check_len(
            "dy",
            dy.len(),
            self.rows("dy", batch, self.output_features())?,
        )?;
        check_len("grads", grads.len(), self.trainable_len())?;
        check_len("scratch", scratch.len(), self.scratch_len(batch))?;
        let Some(lowest) = self.layers.iter().position(|l| !l.frozen) else {
            return Ok(());
        };

        let half = batch.saturating_mul(self.max_width());
        let (a, b) = scratch.split_at_mut(half.min(scratch.len()));
        let (a_len, b_len) = (a.len(), b.len());
        // Where the upstream gradient is: 0 = dy, 1 = a, 2 = b.
        let mut src = 0u8;
        let spans: SpanTable = SpanTable::new(self, batch);
        for i in (lowest..self.layers.len()).rev() {
            let layer = &self.layers[i];
            let info = spans.get(i);
            let input: &[f32] = if i == 0 {
                x
            } else {
                acts.get(spans.get(i - 1).output.clone()).unwrap_or(&[])
            };
            let output = acts.get(info.output.clone()).unwrap_or(&[]);
            let need_dx = i > lowest;
            let in_len = batch.saturating_mul(info.in_width);
            let (g, dx): (&[f32], &mut [f32]) = match src {
                0 => (dy, &mut a[..in_len.min(a_len)]),
                1 => (&*a, &mut b[..in_len.min(b_len)]),
                _ => (&*b, &mut a[..in_len.min(a_len)]),
            };
            let g = &g[..batch.saturating_mul(info.out_width).min(g.len())];
            let grad = if layer.frozen {
                None
            } else {
                let span = info.params;
                grads.get_mut(span.offset..span.offset.saturating_add(span.len))
            };
            backward_layer(
                layer,
                batch,
                info.in_width,
                span_of(&params, info.params)?,
                input,
                output,
                g,
                grad,
                if need_dx { Some(dx) } else { None },
            )?;
            src = if src == 1 { 2 } else { 1 };
        }
        Ok(())
    }

    /// Initialises the parameters as torch's layers do when they are constructed, layer by
    /// layer in order from one generator: a dense layer as `nn.Linear.reset_parameters`
    /// ([`init::dense_default`](crate::init::dense_default): weight and bias uniform in
    /// `±1/√in_features`).
    ///
    /// `frozen` and `trainable` are the two parameter slices (`frozen` empty when no layer is
    /// frozen).
    ///
    /// # Errors
    /// What [`validate`](Self::validate) finds, and [`Error::LengthMismatch`] for `"frozen"`,
    /// `"params"` or `"buffers"`.
    pub fn init<R: rand::Rng + ?Sized>(
        &self,
        frozen: &mut [f32],
        trainable: &mut [f32],
        buffers: &mut [f32],
        rng: &mut R,
    ) -> Result<()> {
        self.validate()?;
        check_len("frozen", frozen.len(), self.frozen_len())?;
        check_len("params", trainable.len(), self.trainable_len())?;
        check_len("buffers", buffers.len(), self.buffer_len())?;
        for (layer, span) in self.layers.iter().zip(self.param_spans()) {
            let slice = if span.frozen {
                &mut *frozen
            } else {
                &mut *trainable
            };
            let end = span.offset.saturating_add(span.len);
            let p = slice.get_mut(span.offset..end).unwrap_or(&mut []);
            if let LayerKind::Dense {
                in_features,
                out_features,
                bias,
            } = layer.kind
            {
                let (w, b) = p.split_at_mut(in_features.saturating_mul(out_features).min(p.len()));
                crate::init::dense_default(
                    w,
                    if bias { Some(b) } else { None },
                    in_features,
                    out_features,
                    rng,
                )?;
            }
        }
        Ok(())
    }

    /// Every tensor of the model, in torch's `state_dict` order, with where it lives: for
    /// checkpoints. Layer `i`'s tensors are named `"{i}.weight"`, `"{i}.bias"`, … as in an
    /// `nn.Sequential`.
    pub fn tensors(&self) -> impl Iterator<Item = TensorInfo> + '_ {
        let mut width = self.input_features;
        let (mut frozen_at, mut trainable_at) = (0usize, 0usize);
        self.layers
            .iter()
            .enumerate()
            .flat_map(move |(index, layer)| {
                let at = if layer.frozen {
                    &mut frozen_at
                } else {
                    &mut trainable_at
                };
                let store = if layer.frozen {
                    Store::Frozen
                } else {
                    Store::Trainable
                };
                let mut list = [None, None];
                if let LayerKind::Dense {
                    in_features,
                    out_features,
                    bias,
                } = layer.kind
                {
                    let w = in_features.saturating_mul(out_features);
                    list[0] = Some(TensorInfo {
                        layer: index,
                        name: "weight",
                        shape: [out_features, in_features],
                        rank: 2,
                        store,
                        offset: *at,
                        len: w,
                    });
                    *at = at.saturating_add(w);
                    if bias {
                        list[1] = Some(TensorInfo {
                            layer: index,
                            name: "bias",
                            shape: [out_features, 0],
                            rank: 1,
                            store,
                            offset: *at,
                            len: out_features,
                        });
                        *at = at.saturating_add(out_features);
                    }
                }
                width = layer.output_width(width);
                list.into_iter().flatten()
            })
    }

    /// Zeroes the gradients (torch's `zero_grad(set_to_none=False)`): backward passes
    /// accumulate into them.
    pub fn zero_grad(&self, grads: &mut [f32]) -> Result<()> {
        check_len("grads", grads.len(), self.trainable_len())?;
        grads.fill(0.0);
        Ok(())
    }
}

/// The parameters of one layer, from the slice its span points into.
fn span_of<'p>(params: &Params<'p>, span: ParamSpan) -> Result<&'p [f32]> {
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

/// Each layer's widths, parameter span and output range in the activation arena.
#[derive(Clone, Debug)]
struct LayerInfo {
    in_width: usize,
    out_width: usize,
    params: ParamSpan,
    output: core::ops::Range<usize>,
}

/// Computes [`LayerInfo`] for layer `i` on demand (no allocation: a walk from the front).
struct SpanTable<'m, 'a> {
    model: &'m Sequential<'a>,
    batch: usize,
}

impl<'m, 'a> SpanTable<'m, 'a> {
    fn new(model: &'m Sequential<'a>, batch: usize) -> Self {
        SpanTable { model, batch }
    }

    fn get(&self, index: usize) -> LayerInfo {
        let mut width = self.model.input_features;
        let mut at = 0usize;
        let mut info = LayerInfo {
            in_width: width,
            out_width: width,
            params: ParamSpan {
                frozen: false,
                offset: 0,
                len: 0,
            },
            output: 0..0,
        };
        for ((i, layer), span) in self
            .model
            .layers
            .iter()
            .enumerate()
            .zip(self.model.param_spans())
        {
            let out_width = layer.output_width(width);
            if i == index {
                let out_len = self.batch.saturating_mul(out_width);
                info = LayerInfo {
                    in_width: width,
                    out_width,
                    params: span,
                    output: at..at.saturating_add(out_len),
                };
                break;
            }
            at = at.saturating_add(layer.activation_len(width, self.batch));
            width = out_width;
        }
        info
    }
}

/// One layer's forward pass: `output = layer(input)`.
fn forward_layer(
    layer: &Layer,
    batch: usize,
    width: usize,
    params: &[f32],
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    match layer.kind {
        LayerKind::Dense {
            in_features,
            out_features,
            bias,
        } => {
            let dense = Dense::new(batch, in_features, out_features);
            let (w, b) = params.split_at(dense.weight_len().min(params.len()));
            dense.forward(input, w, if bias { Some(b) } else { None }, output)
        }
        LayerKind::Activation(act) => act.forward(input, output, width),
    }
}

/// One layer's backward pass from the upstream gradient `g`: parameter gradients accumulate
/// into `grad` (when the layer trains), the input gradient is written into `dx` (when asked).
#[allow(clippy::too_many_arguments)]
fn backward_layer(
    layer: &Layer,
    batch: usize,
    width: usize,
    params: &[f32],
    input: &[f32],
    output: &[f32],
    g: &[f32],
    grad: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<()> {
    match layer.kind {
        LayerKind::Dense {
            in_features,
            out_features,
            bias,
        } => {
            let dense = Dense::new(batch, in_features, out_features);
            let (w, _) = params.split_at(dense.weight_len().min(params.len()));
            match grad {
                Some(grad) => {
                    let (dw, db) = grad.split_at_mut(dense.weight_len().min(grad.len()));
                    dense.backward(input, w, g, dw, if bias { Some(db) } else { None }, dx)
                }
                None => match dx {
                    Some(dx) => crate::gemm::matmul_nn(
                        dense.isa(),
                        batch,
                        in_features,
                        out_features,
                        g,
                        w,
                        dx,
                    ),
                    None => Ok(()),
                },
            }
        }
        LayerKind::Activation(act) => match dx {
            Some(dx) => {
                let saved = match act.saved() {
                    crate::activation::Saved::Input => input,
                    crate::activation::Saved::Output => output,
                };
                act.backward(saved, g, dx, width)
            }
            None => Ok(()),
        },
    }
}
