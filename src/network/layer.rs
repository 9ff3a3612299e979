//! The layers a [`Sequential`] is made of: what each computes and the
//! sizes of its tensors.

use super::kernels::{self, Kernels};
#[cfg(doc)]
use super::Sequential;
use crate::activation::Activation;
use crate::conv::{Conv1d, Conv2d};
use crate::dense::Dense;
use crate::dropout::{self, Dropout};
use crate::layer::{Shape, Window};
use crate::norm::{BatchNorm, LayerNorm};
use crate::pool::{
    AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d,
};

/// What a layer computes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LayerKind {
    /// torch's `nn.Linear(in_features, out_features, bias)`: `y = x·Wᵀ + b`, weight `[out, in]`.
    Dense(Dense),
    /// torch's `nn.Conv1d` over `[channels, length]` samples: weight `[out, in/groups, k]`.
    Conv1d(Conv1d),
    /// torch's `nn.Conv2d` over `[channels, height, width]` samples: weight `[out,
    /// in/groups, kh, kw]`.
    Conv2d(Conv2d),
    /// torch's `nn.MaxPool1d` over `[channels, length]`; training saves each output's argmax.
    MaxPool1d(MaxPool1d),
    /// torch's `nn.MaxPool2d` over `[channels, height, width]`.
    MaxPool2d(MaxPool2d),
    /// torch's `nn.AvgPool1d`.
    AvgPool1d(AvgPool1d),
    /// torch's `nn.AvgPool2d`.
    AvgPool2d(AvgPool2d),
    /// torch's `nn.AdaptiveAvgPool1d(1)`: `[C, L]` → `[C, 1]`.
    GlobalAvgPool1d(GlobalAvgPool1d),
    /// torch's `nn.AdaptiveAvgPool2d((1, 1))`: `[C, H, W]` → `[C, 1, 1]`.
    GlobalAvgPool2d(GlobalAvgPool2d),
    /// torch's `nn.Flatten()`: any sample → `[C·…]`, what a dense layer after a convolution
    /// or a pooling takes.
    Flatten(Flatten),
    /// An activation over the previous layer's width (softmax over each row).
    Activation(Activation),
    /// torch's `nn.LayerNorm(features)` over each sample; `features` must equal the width.
    LayerNorm(LayerNorm),
    /// torch's `nn.BatchNorm1d(features)`; `features` must equal the width. Its running
    /// statistics live in the model's buffers.
    BatchNorm(BatchNorm),
    /// torch's `nn.Dropout(p)`: active in [`Sequential::forward_train`], the identity in
    /// [`Sequential::forward`].
    Dropout(Dropout),
}

/// One layer of a [`Sequential`] model: what it computes and whether it trains.
///
/// A layer also carries a pointer to the kernels of its kind, chosen by its `const`
/// constructor: a model whose layers are constants links only the kernels it uses (a
/// dense-ReLU firmware does not carry layer norm, GELU or softmax).
#[derive(Clone, Copy)]
pub struct Layer {
    pub(super) kind: LayerKind,
    pub(super) frozen: bool,
    pub(super) kernels: &'static Kernels,
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
        Self::new(LayerKind::Dense(Dense::new(in_features, out_features)))
    }

    /// A dense layer without bias, as `nn.Linear(in_features, out_features, bias=False)`.
    pub const fn dense_no_bias(in_features: usize, out_features: usize) -> Self {
        Self::new(LayerKind::Dense(
            Dense::new(in_features, out_features).without_bias(),
        ))
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
        Self::new(LayerKind::Dropout(Dropout::new(p)))
    }

    /// `nn.Conv1d`, as the [`Conv1d`] value describes it
    /// (`Conv1d::new(in, out, k).with_padding(1)`, …).
    pub const fn conv1d(conv: Conv1d) -> Self {
        Self::new(LayerKind::Conv1d(conv))
    }

    /// `nn.Conv2d`, as the [`Conv2d`] value describes it.
    pub const fn conv2d(conv: Conv2d) -> Self {
        Self::new(LayerKind::Conv2d(conv))
    }

    /// `nn.MaxPool1d`, as the [`MaxPool1d`] value describes it.
    pub const fn max_pool1d(pool: MaxPool1d) -> Self {
        Self::new(LayerKind::MaxPool1d(pool))
    }

    /// `nn.MaxPool2d`, as the [`MaxPool2d`] value describes it.
    pub const fn max_pool2d(pool: MaxPool2d) -> Self {
        Self::new(LayerKind::MaxPool2d(pool))
    }

    /// `nn.AvgPool1d`, as the [`AvgPool1d`] value describes it.
    pub const fn avg_pool1d(pool: AvgPool1d) -> Self {
        Self::new(LayerKind::AvgPool1d(pool))
    }

    /// `nn.AvgPool2d`, as the [`AvgPool2d`] value describes it.
    pub const fn avg_pool2d(pool: AvgPool2d) -> Self {
        Self::new(LayerKind::AvgPool2d(pool))
    }

    /// `nn.AdaptiveAvgPool1d(1)`.
    pub const fn global_avg_pool1d(pool: GlobalAvgPool1d) -> Self {
        Self::new(LayerKind::GlobalAvgPool1d(pool))
    }

    /// `nn.AdaptiveAvgPool2d((1, 1))`.
    pub const fn global_avg_pool2d(pool: GlobalAvgPool2d) -> Self {
        Self::new(LayerKind::GlobalAvgPool2d(pool))
    }

    /// `nn.Flatten()`.
    pub const fn flatten(flatten: Flatten) -> Self {
        Self::new(LayerKind::Flatten(flatten))
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

    /// The shape of one output sample for an input sample of shape `input`: a dense layer
    /// gives `[out_features]` (it takes a vector), a convolution its output planes, the others
    /// `input`. A shape the layer cannot take gives the empty `Shape::Features(0)`
    /// ([`Sequential::validate`] says why).
    pub const fn output_shape(&self, input: Shape) -> Shape {
        match self.kind {
            LayerKind::Dense(dense) => Shape::Features(dense.out_features),
            LayerKind::Conv1d(c) => {
                let w = [c.kernel_size, c.stride, c.padding, c.dilation];
                let channels = Some((c.in_channels, c.out_channels, c.weight_len()));
                windowed(input, None, Some(w), (false, channels))
            }
            LayerKind::Conv2d(c) => {
                let [h, w] = axes(c.kernel_size, c.stride, c.padding, c.dilation);
                let channels = Some((c.in_channels, c.out_channels, c.weight_len()));
                windowed(input, Some(h), Some(w), (false, channels))
            }
            LayerKind::MaxPool1d(m) => {
                let w = [m.kernel_size, m.stride, m.padding, m.dilation];
                windowed(input, None, Some(w), (m.ceil_mode, None))
            }
            LayerKind::MaxPool2d(m) => {
                let [h, w] = axes(m.kernel_size, m.stride, m.padding, m.dilation);
                windowed(input, Some(h), Some(w), (m.ceil_mode, None))
            }
            LayerKind::AvgPool1d(a) => {
                let w = [a.kernel_size, a.stride, a.padding, 1];
                windowed(input, None, Some(w), (a.ceil_mode, None))
            }
            LayerKind::AvgPool2d(p) => {
                let [h, w] = axes(p.kernel_size, p.stride, p.padding, [1, 1]);
                windowed(input, Some(h), Some(w), (p.ceil_mode, None))
            }
            LayerKind::GlobalAvgPool1d(_) => windowed(input, None, None, (false, None)),
            LayerKind::GlobalAvgPool2d(_) => windowed(input, Some(GLOBAL), None, (false, None)),
            LayerKind::Flatten(_) => Shape::Features(input.len()),
            LayerKind::Activation(_)
            | LayerKind::LayerNorm(_)
            | LayerKind::BatchNorm(_)
            | LayerKind::Dropout(_) => input,
        }
    }

    /// Floats of parameters: `weight` then `bias`, as torch's `state_dict` orders them.
    pub const fn param_len(&self) -> usize {
        match self.kind {
            LayerKind::Dense(dense) => dense.weight_len().saturating_add(dense.bias_len()),
            LayerKind::Conv1d(conv) => conv.weight_len().saturating_add(conv.bias_len()),
            LayerKind::Conv2d(conv) => conv.weight_len().saturating_add(conv.bias_len()),
            LayerKind::LayerNorm(ln) => ln.weight_len().saturating_add(ln.bias_len()),
            LayerKind::BatchNorm(bn) => bn.weight_len().saturating_mul(2),
            _ => 0,
        }
    }

    /// Floats of non-trained state: batch norm's `running_mean`, `running_var` and
    /// `num_batches_tracked` (one float, exact up to 2²⁴ batches).
    pub const fn buffer_len(&self) -> usize {
        match self.kind {
            LayerKind::BatchNorm(bn) => bn.buffer_len(),
            _ => 0,
        }
    }

    /// Floats the backward pass needs beyond the layer's input and output: layer norm's
    /// per-row and batch norm's per-channel statistics, dropout's mask (one bit per element).
    pub const fn saved_len(&self, input: Shape, batch: usize) -> usize {
        match self.kind {
            LayerKind::LayerNorm(_) => batch.saturating_mul(2),
            LayerKind::BatchNorm(bn) => bn.features.saturating_mul(2),
            LayerKind::Dropout(_) => dropout::mask_len(batch.saturating_mul(input.len())),
            LayerKind::MaxPool1d(_) | LayerKind::MaxPool2d(_) => {
                batch.saturating_mul(self.output_shape(input).len())
            }
            _ => 0,
        }
    }

    /// Floats of the activation arena this layer uses for a batch: its output, then what
    /// [`saved_len`](Self::saved_len) says.
    pub const fn activation_len(&self, input: Shape, batch: usize) -> usize {
        batch
            .saturating_mul(self.output_shape(input).len())
            .saturating_add(self.saved_len(input, batch))
    }
}

/// The two axes' windows `[kernel_size, stride, padding, dilation]` of a 2-D layer.
const fn axes(k: [usize; 2], s: [usize; 2], p: [usize; 2], d: [usize; 2]) -> [[usize; 4]; 2] {
    [[k[0], s[0], p[0], d[0]], [k[1], s[1], p[1], d[1]]]
}

/// The `rows` window of a global pooling over an image (its height goes to 1 too).
const GLOBAL: [usize; 4] = [0; 4];

/// The output of a window layer over `input`: a `[C, L]` sequence when `rows` is `None`, a
/// `[C, H, W]` image otherwise; each axis's window `[kernel_size, stride, padding,
/// dilation]` (`cols` `None`: a global pooling, to length 1); with `channels = Some((in, out,
/// weight_len))` a convolution, whose input must have `in` channels and whose weight must not
/// be empty. The empty `Shape::Features(0)` where the shape does not fit (the layer's own
/// `output_shape` says why).
const fn windowed(
    input: Shape,
    rows: Option<[usize; 4]>,
    cols: Option<[usize; 4]>,
    (ceil_mode, channels): (bool, Option<(usize, usize, usize)>),
) -> Shape {
    const fn len(window: Option<[usize; 4]>, input: usize, ceil_mode: bool) -> usize {
        match window {
            None => 1,
            Some([kernel_size, stride, padding, dilation]) => Window {
                kernel_size,
                stride,
                padding,
                dilation,
            }
            .output_len_or_zero(input, ceil_mode),
        }
    }
    let empty = Shape::Features(0);
    let (c, h, w) = match (input, rows.is_some()) {
        (Shape::Sequence { channels, length }, false) => (channels, 1, length),
        (
            Shape::Image {
                channels,
                height,
                width,
            },
            true,
        ) => (channels, height, width),
        _ => return empty,
    };
    let channels = match channels {
        None => c,
        Some((inp, out, weight_len)) if inp == c && weight_len > 0 => out,
        Some(_) => return empty,
    };
    let global = cols.is_none();
    let height = if global { 1 } else { len(rows, h, ceil_mode) };
    let width = len(cols, w, ceil_mode);
    if h == 0 || w == 0 || height == 0 || width == 0 {
        empty
    } else if rows.is_none() {
        Shape::Sequence {
            channels,
            length: width,
        }
    } else {
        Shape::Image {
            channels,
            height,
            width,
        }
    }
}
