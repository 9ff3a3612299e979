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
use crate::dropout;
use crate::error::{check_len, check_nonzero};
use crate::norm::{BatchNorm, LayerNorm};
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
    /// torch's `nn.LayerNorm(features)` over each sample; `features` must equal the width.
    LayerNorm(LayerNorm),
    /// torch's `nn.BatchNorm1d(features)`; `features` must equal the width. Its running
    /// statistics live in the model's buffers.
    BatchNorm(BatchNorm),
    /// torch's `nn.Dropout(p)`: active in [`Sequential::forward_train`], the identity in
    /// [`Sequential::forward`].
    Dropout {
        /// The probability of zeroing an element, in `[0, 1]`.
        p: f32,
    },
}

/// One layer of a [`Sequential`] model: what it computes and whether it trains.
///
/// A layer also carries a pointer to the kernels of its kind, chosen by its `const`
/// constructor: a model whose layers are constants links only the kernels it uses (a
/// dense-ReLU firmware does not carry layer norm, GELU or softmax).
#[derive(Clone, Copy)]
pub struct Layer {
    kind: LayerKind,
    frozen: bool,
    kernels: &'static Kernels,
}

impl PartialEq for Layer {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.frozen == other.frozen
    }
}

impl core::fmt::Debug for Layer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Layer")
            .field("kind", &self.kind)
            .field("frozen", &self.frozen)
            .finish()
    }
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

    /// `nn.LayerNorm(features)` with torch's defaults (eps 1e-5, affine weight and bias).
    pub const fn layer_norm(features: usize) -> Self {
        Self::new(LayerKind::LayerNorm(LayerNorm::new(features)))
    }

    /// `nn.BatchNorm1d(features)` with torch's defaults (eps 1e-5, momentum 0.1, affine,
    /// running statistics).
    pub const fn batch_norm(features: usize) -> Self {
        Self::new(LayerKind::BatchNorm(BatchNorm::new(features)))
    }

    /// `nn.Dropout(p)`.
    pub const fn dropout(p: f32) -> Self {
        Self::new(LayerKind::Dropout { p })
    }

    /// A trainable layer of the given kind.
    pub const fn new(kind: LayerKind) -> Self {
        Layer {
            kind,
            frozen: false,
            kernels: kernels::of(&kind),
        }
    }

    /// The same layer, frozen (torch's `requires_grad_(False)` on its parameters).
    pub const fn frozen(self) -> Self {
        Layer {
            frozen: true,
            ..self
        }
    }

    /// The same layer, trainable.
    pub const fn trainable(self) -> Self {
        Layer {
            frozen: false,
            ..self
        }
    }

    /// What the layer computes.
    pub const fn kind(&self) -> LayerKind {
        self.kind
    }

    /// Whether the layer is frozen.
    pub const fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// The width of the layer's output for an input of width `input`.
    pub const fn output_width(&self, input: usize) -> usize {
        match self.kind {
            LayerKind::Dense { out_features, .. } => out_features,
            LayerKind::Activation(_)
            | LayerKind::LayerNorm(_)
            | LayerKind::BatchNorm(_)
            | LayerKind::Dropout { .. } => input,
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
            LayerKind::LayerNorm(ln) => ln.weight_len().saturating_add(ln.bias_len()),
            LayerKind::BatchNorm(bn) => bn.weight_len().saturating_mul(2),
            LayerKind::Activation(_) | LayerKind::Dropout { .. } => {
                let _ = input;
                0
            }
        }
    }

    /// Floats of non-trained state: batch norm's `running_mean`, `running_var` and
    /// `num_batches_tracked` (one float, exact up to 2²⁴ batches).
    pub const fn buffer_len(&self, input: usize) -> usize {
        let _ = input;
        match self.kind {
            LayerKind::BatchNorm(bn) if bn.track_running_stats => {
                bn.running_len().saturating_mul(2).saturating_add(1)
            }
            _ => 0,
        }
    }

    /// Floats the backward pass needs beyond the layer's input and output: layer norm's
    /// per-row and batch norm's per-channel statistics, dropout's mask (one bit per element).
    pub const fn saved_len(&self, input: usize, batch: usize) -> usize {
        match self.kind {
            LayerKind::LayerNorm(_) => LayerNorm::stats_len(batch),
            LayerKind::BatchNorm(bn) => bn.stats_len(),
            LayerKind::Dropout { .. } => dropout::mask_len(batch.saturating_mul(input)),
            _ => 0,
        }
    }

    /// Floats of the activation arena this layer uses for a batch: its output, then what
    /// [`saved_len`](Self::saved_len) says.
    pub const fn activation_len(&self, input: usize, batch: usize) -> usize {
        batch
            .saturating_mul(self.output_width(input))
            .saturating_add(self.saved_len(input, batch))
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
    /// it, each norm's features the width it normalises), that no width is zero, that the model
    /// has a layer, and every layer's own hyper-parameters ([`Activation::validate`],
    /// [`LayerNorm::validate`], [`BatchNorm::validate`], a dropout `p` in `[0, 1]`). Every pass
    /// runs it first, so a bad layer is reported before anything is written.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] (`"layers"`, `"input_features"`, `"in_features"`,
    /// `"out_features"`), [`Error::LengthMismatch`] (`"in_features"`: expected the width before
    /// the layer; `"normalized_shape"`), [`Error::DimensionOverflow`] when a buffer length
    /// overflows `usize`, [`Error::InvalidHyperParameter`] from a layer.
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
            match layer.kind {
                LayerKind::LayerNorm(ln) => {
                    check_len("normalized_shape", ln.features, width)?;
                    ln.validate()?;
                }
                LayerKind::BatchNorm(bn) => {
                    check_len("normalized_shape", bn.features, width)?;
                    bn.validate()?;
                }
                LayerKind::Dropout { p } if !(0.0..=1.0).contains(&p) => {
                    return Err(Error::InvalidHyperParameter { what: "p" });
                }
                LayerKind::Activation(activation) => activation.validate()?,
                _ => {}
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

    /// Each layer's widths and where its parameters, buffers, output and saved values sit, for
    /// a batch of `batch`, in layer order.
    pub fn geometry(&self, batch: usize) -> impl Iterator<Item = Geometry> + '_ {
        let mut width = self.input_features;
        let mut buffer_at = 0usize;
        let mut act_at = 0usize;
        self.layers
            .iter()
            .zip(self.param_spans())
            .map(move |(layer, params)| {
                let out_width = layer.output_width(width);
                let out_len = batch.saturating_mul(out_width);
                let saved_len = layer.saved_len(width, batch);
                let buffers_len = layer.buffer_len(width);
                let g = Geometry {
                    in_width: width,
                    out_width,
                    params,
                    buffers: buffer_at..buffer_at.saturating_add(buffers_len),
                    output: act_at..act_at.saturating_add(out_len),
                    saved: act_at.saturating_add(out_len)
                        ..act_at.saturating_add(out_len).saturating_add(saved_len),
                };
                buffer_at = g.buffers.end;
                act_at = g.saved.end;
                width = out_width;
                g
            })
    }

    /// Checks the model and the lengths of the parameters and buffers.
    fn check_params(&self, params: &Params<'_>, buffers: usize) -> Result<()> {
        self.validate()?;
        check_len("frozen", params.frozen.len(), self.frozen_len())?;
        check_len("params", params.trainable.len(), self.trainable_len())?;
        check_len("buffers", buffers, self.buffer_len())
    }

    /// A batch norm trains on the batch's own statistics, which need two samples: checked
    /// before a training pass writes anything.
    fn check_training_batch(&self, batch: usize) -> Result<()> {
        let has_batch_norm = self
            .layers
            .iter()
            .any(|l| matches!(l.kind, LayerKind::BatchNorm(_)));
        if has_batch_norm && batch == 1 {
            return Err(Error::ZeroDimension { what: "batch - 1" });
        }
        Ok(())
    }

    /// `batch·width` for an input or output of a batch, with overflow and zero checks.
    fn rows(&self, what: &'static str, batch: usize, width: usize) -> Result<usize> {
        check_nonzero("batch", batch)?;
        batch
            .checked_mul(width)
            .ok_or(Error::DimensionOverflow { what })
    }

    /// Inference: `y = model(x)` for a batch of `batch` samples, with every layer in evaluation
    /// mode (dropout is the identity, batch norm uses its running statistics).
    ///
    /// `x` is `[batch, input_features]`, `y` `[batch, output_features]`; `buffers` has
    /// [`buffer_len`](Self::buffer_len) floats and `scratch`
    /// [`scratch_len`](Self::scratch_len)`(batch)`. `params` may be a plain `&[f32]` when no
    /// layer is frozen.
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
            forward_eval(layer, geo.in_width, p, buf, input, output)?;
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
        batch: usize,
        params: impl Into<Params<'p>>,
        buffers: &mut [f32],
        x: &[f32],
        acts: &'b mut [f32],
        rng: &mut R,
    ) -> Result<&'b [f32]> {
        let params = params.into();
        self.check_params(&params, buffers.len())?;
        check_len("x", x.len(), self.rows("x", batch, self.input_features)?)?;
        check_len("acts", acts.len(), self.activation_len(batch))?;
        self.check_training_batch(batch)?;

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
            forward_train(layer, geo.in_width, p, buf, input, output, saved, rng)?;
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
            let saved_io = Saved {
                input,
                output,
                saved,
            };
            let p = span_of(&params, geo.params)?;
            backward(layer, geo.in_width, p, saved_io, g, grad, dx, i > lowest)?;
            src = if src == 1 { 2 } else { 1 };
        }
        Ok(())
    }

    /// Initialises the parameters and buffers as torch's layers do when they are constructed,
    /// layer by layer in order from one generator: a dense layer as `nn.Linear` does
    /// ([`init::dense_default`](crate::init::dense_default): weight and bias uniform in
    /// `±1/√in_features`), norm layers with weight 1 and bias 0, batch norm's running mean 0,
    /// running variance 1 and batch count 0.
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
        for (layer, geo) in self.layers.iter().zip(self.geometry(0)) {
            let span = geo.params;
            let slice = if span.frozen {
                &mut *frozen
            } else {
                &mut *trainable
            };
            let end = span.offset.saturating_add(span.len);
            let p = slice.get_mut(span.offset..end).unwrap_or(&mut []);
            match layer.kind {
                LayerKind::Dense {
                    in_features,
                    out_features,
                    bias,
                } => {
                    let (w, b) =
                        p.split_at_mut(in_features.saturating_mul(out_features).min(p.len()));
                    crate::init::dense_default(
                        w,
                        if bias { Some(b) } else { None },
                        in_features,
                        out_features,
                        rng,
                    )?;
                }
                LayerKind::LayerNorm(ln) => {
                    let (w, b) = p.split_at_mut(ln.weight_len().min(p.len()));
                    w.fill(1.0);
                    b.fill(0.0);
                }
                LayerKind::BatchNorm(bn) => {
                    let (w, b) = p.split_at_mut(bn.weight_len().min(p.len()));
                    w.fill(1.0);
                    b.fill(0.0);
                    let buf = buffers.get_mut(geo.buffers).unwrap_or(&mut []);
                    let (mean, rest) = buf.split_at_mut(bn.running_len().min(buf.len()));
                    mean.fill(0.0);
                    let (var, count) = rest.split_at_mut(bn.running_len().min(rest.len()));
                    var.fill(1.0);
                    count.fill(0.0);
                }
                LayerKind::Activation(_) | LayerKind::Dropout { .. } => {}
            }
        }
        Ok(())
    }

    /// Every tensor of the model, in torch's `state_dict` order, with where it lives: for
    /// checkpoints. Layer `i`'s tensors are named `"{i}.weight"`, `"{i}.bias"`,
    /// `"{i}.running_mean"`, `"{i}.running_var"`, `"{i}.num_batches_tracked"` as in an
    /// `nn.Sequential`.
    pub fn tensors(&self) -> impl Iterator<Item = TensorInfo> + '_ {
        self.layers
            .iter()
            .zip(self.geometry(0))
            .enumerate()
            .flat_map(move |(index, (layer, geo))| {
                let store = if layer.frozen {
                    Store::Frozen
                } else {
                    Store::Trainable
                };
                let mut list = [None; 5];
                let mut at = geo.params.offset;
                let mut add = |k: usize, name, shape: [usize; 2], rank, store, offset, len| {
                    if let Some(slot) = list.get_mut(k) {
                        *slot = Some(TensorInfo {
                            layer: index,
                            name,
                            shape,
                            rank,
                            store,
                            offset,
                            len,
                        });
                    }
                };
                match layer.kind {
                    LayerKind::Dense {
                        in_features,
                        out_features,
                        bias,
                    } => {
                        let w = in_features.saturating_mul(out_features);
                        add(0, "weight", [out_features, in_features], 2, store, at, w);
                        at = at.saturating_add(w);
                        if bias {
                            add(1, "bias", [out_features, 0], 1, store, at, out_features);
                        }
                    }
                    LayerKind::LayerNorm(ln) => {
                        let c = ln.features;
                        if ln.weight_len() > 0 {
                            add(0, "weight", [c, 0], 1, store, at, c);
                            at = at.saturating_add(c);
                        }
                        if ln.bias_len() > 0 {
                            add(1, "bias", [c, 0], 1, store, at, c);
                        }
                    }
                    LayerKind::BatchNorm(bn) => {
                        let c = bn.features;
                        if bn.affine {
                            add(0, "weight", [c, 0], 1, store, at, c);
                            add(1, "bias", [c, 0], 1, store, at.saturating_add(c), c);
                        }
                        if bn.track_running_stats {
                            let b = geo.buffers.start;
                            let buf = Store::Buffer;
                            add(2, "running_mean", [c, 0], 1, buf, b, c);
                            add(3, "running_var", [c, 0], 1, buf, b.saturating_add(c), c);
                            let n = b.saturating_add(c.saturating_mul(2));
                            add(4, "num_batches_tracked", [0, 0], 0, buf, n, 1);
                        }
                    }
                    LayerKind::Activation(_) | LayerKind::Dropout { .. } => {}
                }
                list.into_iter().flatten()
            })
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

/// Where one layer's data sit, for a given batch (see [`Sequential::geometry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// The width of the layer's input.
    pub in_width: usize,
    /// The width of its output.
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

/// One layer's inference pass: `output = layer(input)` in evaluation mode.
fn forward_eval(
    layer: &Layer,
    width: usize,
    params: &[f32],
    buffers: &[f32],
    input: &[f32],
    output: &mut [f32],
) -> Result<()> {
    (layer.kernels.forward)(
        &layer.kind,
        kernels::Forward {
            width,
            params,
            running: buffers,
            input,
            output,
            train: None,
        },
    )
}

/// One layer's training forward pass: `output = layer(input)`, with what backward needs in
/// `saved` and batch norm's running statistics updated in `buffers`.
#[allow(clippy::too_many_arguments)]
fn forward_train<R: rand::Rng + ?Sized>(
    layer: &Layer,
    width: usize,
    params: &[f32],
    buffers: &mut [f32],
    input: &[f32],
    output: &mut [f32],
    saved: &mut [f32],
    rng: &mut R,
) -> Result<()> {
    if let LayerKind::Dropout { p } = layer.kind {
        // The one kernel that needs the generator (generic, so it stays out of the table).
        let mask: &mut [u32] =
            bytemuck::try_cast_slice_mut(saved).map_err(|_| Error::LengthMismatch {
                what: "acts",
                expected: 0,
                actual: 0,
            })?;
        return dropout::dropout(input, output, mask, p, true, rng);
    }
    (layer.kernels.forward)(
        &layer.kind,
        kernels::Forward {
            width,
            params,
            running: &[],
            input,
            output,
            train: Some(kernels::Train { buffers, saved }),
        },
    )
}

/// One layer's backward pass from the upstream gradient `g`.
#[allow(clippy::too_many_arguments)]
fn backward(
    layer: &Layer,
    width: usize,
    params: &[f32],
    s: Saved<'_>,
    g: &[f32],
    grad: Option<&mut [f32]>,
    dx: &mut [f32],
    need_dx: bool,
) -> Result<()> {
    (layer.kernels.backward)(
        &layer.kind,
        kernels::Backward {
            width,
            params,
            input: s.input,
            output: s.output,
            saved: s.saved,
            g,
            grad,
            dx,
            need_dx,
        },
    )
}

/// What a layer's forward pass left for its backward pass.
#[derive(Clone, Copy)]
struct Saved<'s> {
    input: &'s [f32],
    output: &'s [f32],
    saved: &'s [f32],
}

mod kernels;
use kernels::Kernels;
