//! Each layer kind's kernels behind a table of function pointers, picked by a `const fn` when a
//! layer is constructed: code reaches a kernel only through the table of a layer that exists,
//! so a firmware whose layers are constants links only those kernels.

use super::LayerKind;
use crate::activation::Activation;
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use crate::{Error, Result};

/// The arguments of a forward pass.
pub(super) struct Forward<'a> {
    /// The shape of one input sample.
    pub shape: Shape,
    /// The layer's parameters, `weight` then `bias`.
    pub params: &'a [f32],
    /// The layer's buffers, read in evaluation mode.
    pub running: &'a [f32],
    pub input: &'a [f32],
    pub output: &'a mut [f32],
    /// `Some` in training mode: the buffers to update and where to save what backward needs.
    pub train: Option<Train<'a>>,
}

/// What a training forward pass writes besides its output.
pub(super) struct Train<'a> {
    pub buffers: &'a mut [f32],
    pub saved: &'a mut [f32],
    /// The generator of the layers that draw (dropout), lent as a trait object: the tables
    /// are function pointers, which cannot be generic over it.
    pub rng: &'a mut dyn rand::Rng,
}

/// The arguments of a backward pass.
pub(super) struct Backward<'a> {
    /// The shape of one input sample.
    pub shape: Shape,
    pub params: &'a [f32],
    pub input: &'a [f32],
    pub output: &'a [f32],
    pub saved: &'a [f32],
    /// The upstream gradient.
    pub g: &'a [f32],
    /// The parameter gradients to accumulate into, `weight` then `bias`, when the layer
    /// trains.
    pub grad: Option<&'a mut [f32]>,
    /// Where the input gradient goes.
    pub dx: &'a mut [f32],
    /// Whether the input gradient is needed.
    pub need_dx: bool,
}

/// A layer kind's kernels.
pub(crate) struct Kernels {
    /// The layer's own [`Layer::output_shape`], with its checks (for the layers whose shape
    /// `Sequential::validate` does not check itself).
    pub(super) output_shape: fn(&LayerKind, Shape) -> Result<Shape>,
    pub(super) forward: fn(&LayerKind, Forward<'_>) -> Result<()>,
    pub(super) backward: fn(&LayerKind, Backward<'_>) -> Result<()>,
}

/// The table for `kind` (a `const fn`: evaluated at compile time for constant layers).
pub(super) const fn of(kind: &LayerKind) -> &'static Kernels {
    match kind {
        LayerKind::Dense(_) => &DENSE,
        LayerKind::Conv1d(_) => &CONV1D,
        LayerKind::Conv2d(_) => &CONV2D,
        LayerKind::MaxPool1d(_) => &MAX_POOL1D,
        LayerKind::MaxPool2d(_) => &MAX_POOL2D,
        LayerKind::AvgPool1d(_) => &AVG_POOL1D,
        LayerKind::AvgPool2d(_) => &AVG_POOL2D,
        LayerKind::GlobalAvgPool1d(_) => &GLOBAL_AVG_POOL1D,
        LayerKind::GlobalAvgPool2d(_) => &GLOBAL_AVG_POOL2D,
        LayerKind::Flatten(_) => &FLATTEN,
        LayerKind::LayerNorm(_) => &LAYER_NORM,
        LayerKind::BatchNorm(_) => &BATCH_NORM,
        LayerKind::Dropout(_) => &DROPOUT,
        LayerKind::Activation(a) => activation(a),
    }
}

/// The error for a table used with a kind it was not made for (only reachable by building a
/// `Layer` whose kind changed after construction, which the API does not allow).
fn mismatch() -> Error {
    Error::InvalidHyperParameter { what: "layer" }
}

/// A forward pass through any [`Layer`]: the model's flat spans as the layer's arguments.
fn forward<L: Layer>(layer: &L, f: Forward<'_>) -> Result<()> {
    let params = Params::split(f.params, layer.weight_len());
    let mode = match f.train {
        None => Mode::Eval { buffers: f.running },
        Some(t) => Mode::Train {
            buffers: t.buffers,
            saved: t.saved,
            rng: Some(t.rng),
        },
    };
    layer.forward(f.shape, mode, params, f.input, f.output)
}

/// A backward pass through any [`Layer`], after a training forward; nothing for a frozen
/// layer whose input gradient is not needed.
fn backward<L: Layer>(layer: &L, b: Backward<'_>) -> Result<()> {
    let grads = match b.grad {
        Some(grad) => Grads::split(grad, layer.weight_len()),
        None => Grads::NONE,
    };
    let dx = if b.need_dx { Some(b.dx) } else { None };
    if dx.is_none() && grads.is_none() {
        return Ok(());
    }
    let params = Params::split(b.params, layer.weight_len());
    let tape = Tape::train(b.input, b.output, b.saved);
    layer.backward(b.shape, params, tape, b.g, dx, grads)
}

/// A table per layer kind whose layer value is the variant's field.
macro_rules! layer_tables {
    ($( $table:ident = $variant:ident; )*) => {
        $(
            static $table: Kernels = Kernels {
                output_shape: |kind, input| match kind {
                    LayerKind::$variant(layer) => layer.output_shape(input),
                    _ => Err(mismatch()),
                },
                forward: |kind, f| match kind {
                    LayerKind::$variant(layer) => forward(layer, f),
                    _ => Err(mismatch()),
                },
                backward: |kind, b| match kind {
                    LayerKind::$variant(layer) => backward(layer, b),
                    _ => Err(mismatch()),
                },
            };
        )*
    };
}

layer_tables! {
    DENSE = Dense;
    CONV1D = Conv1d;
    CONV2D = Conv2d;
    MAX_POOL1D = MaxPool1d;
    MAX_POOL2D = MaxPool2d;
    AVG_POOL1D = AvgPool1d;
    AVG_POOL2D = AvgPool2d;
    GLOBAL_AVG_POOL1D = GlobalAvgPool1d;
    GLOBAL_AVG_POOL2D = GlobalAvgPool2d;
    FLATTEN = Flatten;
    LAYER_NORM = LayerNorm;
    BATCH_NORM = BatchNorm;
    DROPOUT = Dropout;
}

/// The table of each activation in the list: `activation(a)` is a constant table per variant,
/// whose functions re-read the variant's hyper-parameters from the layer.
macro_rules! activation_tables {
    ($( $(#[$doc:meta])* $file:ident: $v:ident $(($p:ident: $t:ty))? => $kernel:expr, )*) => {
        /// The table of the activation `a`.
        const fn activation(a: &Activation) -> &'static Kernels {
            use crate::activation::*;
            match a {
                $(
                    Activation::$v { .. } => const {
                        &Kernels {
                            output_shape: |_, input| Ok(input),
                            forward: |kind, f| {
                                let LayerKind::Activation(Activation::$v $(($p))?) = *kind else {
                                    return Err(mismatch());
                                };
                                forward(&KernelLayer($kernel), f)
                            },
                            backward: |kind, b| {
                                let LayerKind::Activation(Activation::$v $(($p))?) = *kind else {
                                    return Err(mismatch());
                                };
                                backward(&KernelLayer($kernel), b)
                            },
                        }
                    },
                )*
            }
        }
    };
}

crate::activation::activations!(activation_tables);
