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

mod kernels;
mod layer;
mod names;
mod pass;
mod plan;

pub use layer::{Layer, LayerKind};
pub use names::{Store, TensorInfo};
pub use plan::{Geometry, ParamSpan, Params};

use crate::layer::Shape;

/// A sequential model: an input width and its layers, applied in order (torch's
/// `nn.Sequential`). It holds no buffers; see the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct Sequential<'a> {
    /// The shape of one input sample: `[F]`, `[C, L]` or `[C, H, W]`.
    pub input: Shape,
    /// The layers, first to last.
    pub layers: &'a [Layer],
}

impl<'a> Sequential<'a> {
    /// A model over `layers`, taking vectors of `input_features`.
    pub const fn new(input_features: usize, layers: &'a [Layer]) -> Self {
        Sequential {
            input: Shape::Features(input_features),
            layers,
        }
    }

    /// A model over `layers`, taking samples of shape `input` (`[C, L]` sequences or
    /// `[C, H, W]` images for convolutional models). A batch is still one flat slice, `N`
    /// samples one after the other, as torch's contiguous `[N, C, …]` tensors.
    pub const fn shaped(input: Shape, layers: &'a [Layer]) -> Self {
        Sequential { input, layers }
    }

    /// Floats of one input sample (`input.len()`).
    pub const fn input_features(&self) -> usize {
        self.input.len()
    }
}
