//! A model's tensors under torch's `state_dict` names, and their initialisation as torch's
//! layers do it.

use super::{LayerKind, Sequential};
use crate::error::check_len;
#[cfg(doc)]
use crate::Error;
use crate::Result;

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
    /// The shape; only the first `rank` entries count (a 2-D convolution's weight has four).
    pub shape: [usize; 4],
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
        &self.shape[..self.rank.min(4)]
    }
}

impl<'a> Sequential<'a> {
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
                LayerKind::Dense(dense) => {
                    let (w, b) = p.split_at_mut(dense.weight_len().min(p.len()));
                    crate::init::dense_default(
                        w,
                        if dense.bias { Some(b) } else { None },
                        dense.in_features,
                        dense.out_features,
                        rng,
                    )?;
                }
                LayerKind::Conv1d(conv) => {
                    conv_default(p, conv.weight_len(), conv.bias, conv.out_channels, rng)?
                }
                LayerKind::Conv2d(conv) => {
                    conv_default(p, conv.weight_len(), conv.bias, conv.out_channels, rng)?
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
                    let (mean, rest) = buf.split_at_mut(bn.features.min(buf.len()));
                    mean.fill(0.0);
                    let (var, count) = rest.split_at_mut(bn.features.min(rest.len()));
                    var.fill(1.0);
                    count.fill(0.0);
                }
                _ => {}
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
                let mut add = |k: usize, name, shape: [usize; 4], rank, store, offset, len| {
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
                    LayerKind::Dense(dense) => {
                        let (in_features, out_features) = (dense.in_features, dense.out_features);
                        let w = dense.weight_len();
                        add(
                            0,
                            "weight",
                            [out_features, in_features, 0, 0],
                            2,
                            store,
                            at,
                            w,
                        );
                        at = at.saturating_add(w);
                        if dense.bias {
                            add(
                                1,
                                "bias",
                                [out_features, 0, 0, 0],
                                1,
                                store,
                                at,
                                out_features,
                            );
                        }
                    }
                    LayerKind::Conv1d(conv) => {
                        let (o, w) = (conv.out_channels, conv.weight_len());
                        let per_group = conv.in_channels.checked_div(conv.groups).unwrap_or(0);
                        let shape = [o, per_group, conv.kernel_size, 0];
                        add(0, "weight", shape, 3, store, at, w);
                        if conv.bias {
                            add(1, "bias", [o, 0, 0, 0], 1, store, at.saturating_add(w), o);
                        }
                    }
                    LayerKind::Conv2d(conv) => {
                        let (o, w) = (conv.out_channels, conv.weight_len());
                        let per_group = conv.in_channels.checked_div(conv.groups).unwrap_or(0);
                        let [kh, kw] = conv.kernel_size;
                        add(0, "weight", [o, per_group, kh, kw], 4, store, at, w);
                        if conv.bias {
                            add(1, "bias", [o, 0, 0, 0], 1, store, at.saturating_add(w), o);
                        }
                    }
                    LayerKind::LayerNorm(ln) => {
                        let c = ln.features;
                        if ln.weight_len() > 0 {
                            add(0, "weight", [c, 0, 0, 0], 1, store, at, c);
                            at = at.saturating_add(c);
                        }
                        if ln.bias_len() > 0 {
                            add(1, "bias", [c, 0, 0, 0], 1, store, at, c);
                        }
                    }
                    LayerKind::BatchNorm(bn) => {
                        let c = bn.features;
                        if bn.affine {
                            add(0, "weight", [c, 0, 0, 0], 1, store, at, c);
                            add(1, "bias", [c, 0, 0, 0], 1, store, at.saturating_add(c), c);
                        }
                        if bn.track_running_stats {
                            let b = geo.buffers.start;
                            let buf = Store::Buffer;
                            add(2, "running_mean", [c, 0, 0, 0], 1, buf, b, c);
                            add(
                                3,
                                "running_var",
                                [c, 0, 0, 0],
                                1,
                                buf,
                                b.saturating_add(c),
                                c,
                            );
                            let n = b.saturating_add(c.saturating_mul(2));
                            add(4, "num_batches_tracked", [0; 4], 0, buf, n, 1);
                        }
                    }
                    _ => {}
                }
                list.into_iter().flatten()
            })
    }
}

/// torch's initialisation of a convolution (`_ConvNd.reset_parameters`): weight and bias
/// uniform in `±1/√fan_in`, `fan_in = in_channels/groups · kernel taps`, the weight drawn
/// first; the same draws as a dense layer with `in_features = fan_in`.
fn conv_default<R: rand::Rng + ?Sized>(
    p: &mut [f32],
    weight_len: usize,
    bias: bool,
    out_channels: usize,
    rng: &mut R,
) -> Result<()> {
    let fan_in = weight_len.checked_div(out_channels).unwrap_or(0);
    let (w, b) = p.split_at_mut(weight_len.min(p.len()));
    crate::init::dense_default(w, bias.then_some(b), fan_in, out_channels, rng)
}
