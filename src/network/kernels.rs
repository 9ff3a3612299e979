//! Each layer kind's kernels behind a table of function pointers, picked by a `const fn` when a
//! layer is constructed: code reaches a kernel only through the table of a layer that exists,
//! so a firmware whose layers are constants links only those kernels.

use super::LayerKind;
use crate::activation::{Activation, Kernel, Saved};
use crate::dense::Dense;
use crate::dropout;
use crate::norm::RunningStats;
use crate::{Error, Result};

/// The arguments of a forward pass.
pub(super) struct Forward<'a> {
    /// The width of the layer's input.
    pub width: usize,
    /// The layer's parameters.
    pub params: &'a [f32],
    /// Running statistics read in evaluation mode.
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
    pub width: usize,
    pub params: &'a [f32],
    pub input: &'a [f32],
    pub output: &'a [f32],
    pub saved: &'a [f32],
    /// The upstream gradient.
    pub g: &'a [f32],
    /// The parameter gradients to accumulate into, when the layer trains.
    pub grad: Option<&'a mut [f32]>,
    /// Where the input gradient goes.
    pub dx: &'a mut [f32],
    /// Whether the input gradient is needed (kernels that need its computation for their
    /// parameter gradients may write it anyway).
    pub need_dx: bool,
}

/// A layer kind's kernels.
pub(crate) struct Kernels {
    pub(super) forward: fn(&LayerKind, Forward<'_>) -> Result<()>,
    pub(super) backward: fn(&LayerKind, Backward<'_>) -> Result<()>,
}

/// The table for `kind` (a `const fn`: evaluated at compile time for constant layers).
pub(super) const fn of(kind: &LayerKind) -> &'static Kernels {
    match kind {
        LayerKind::Dense { .. } => &DENSE,
        LayerKind::LayerNorm(_) => &LAYER_NORM,
        LayerKind::BatchNorm(_) => &BATCH_NORM,
        LayerKind::Dropout { .. } => &DROPOUT,
        LayerKind::Activation(a) => activation(a),
    }
}

/// The error for a table used with a kind it was not made for (only reachable by building a
/// `Layer` whose kind changed after construction, which the API does not allow).
fn mismatch() -> Error {
    Error::InvalidHyperParameter { what: "layer" }
}

/// `Some(s)` for a non-empty slice (a present weight or bias), `None` for an absent one.
fn present(s: &[f32]) -> Option<&[f32]> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// A norm layer's parameter gradients, weight first (`weight_len` floats) then bias: each
/// `None` when the layer does not train or has no such tensor.
fn weight_and_bias(
    grad: Option<&mut [f32]>,
    weight_len: usize,
) -> (Option<&mut [f32]>, Option<&mut [f32]>) {
    let Some(grad) = grad else {
        return (None, None);
    };
    let (dw, db) = grad.split_at_mut(weight_len.min(grad.len()));
    (present_mut(dw), present_mut(db))
}

/// The mutable counterpart of [`present`].
fn present_mut(s: &mut [f32]) -> Option<&mut [f32]> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Checks that an activation's input is whole rows of `width` (as `Activation::forward`).
fn rows(len: usize, width: usize) -> Result<()> {
    crate::error::check_nonzero("cols", width)?;
    if len.is_multiple_of(width) {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what: "x",
            expected: len - len % width,
            actual: len,
        })
    }
}

static DENSE: Kernels = Kernels {
    forward: |kind, f| {
        let LayerKind::Dense {
            in_features,
            out_features,
            bias,
        } = *kind
        else {
            return Err(mismatch());
        };
        let batch = f.input.len().checked_div(in_features).unwrap_or(0);
        let dense = Dense::new(batch, in_features, out_features);
        let (w, b) = f.params.split_at(dense.weight_len().min(f.params.len()));
        dense.forward(f.input, w, if bias { Some(b) } else { None }, f.output)
    },
    backward: |kind, b| {
        let LayerKind::Dense {
            in_features,
            out_features,
            bias,
        } = *kind
        else {
            return Err(mismatch());
        };
        let batch = b.input.len().checked_div(in_features).unwrap_or(0);
        let dense = Dense::new(batch, in_features, out_features);
        let (w, _) = b.params.split_at(dense.weight_len().min(b.params.len()));
        let dx = if b.need_dx { Some(b.dx) } else { None };
        match b.grad {
            Some(grad) => {
                let (dw, db) = grad.split_at_mut(dense.weight_len().min(grad.len()));
                dense.backward(b.input, w, b.g, dw, if bias { Some(db) } else { None }, dx)
            }
            None => match dx {
                Some(dx) => crate::gemm::matmul_nn(
                    dense.isa(),
                    batch,
                    in_features,
                    out_features,
                    b.g,
                    w,
                    dx,
                ),
                None => Ok(()),
            },
        }
    },
};

static LAYER_NORM: Kernels = Kernels {
    forward: |kind, f| {
        let LayerKind::LayerNorm(ln) = *kind else {
            return Err(mismatch());
        };
        let (w, b) = f.params.split_at(ln.weight_len().min(f.params.len()));
        match f.train {
            None => ln.forward(f.input, present(w), present(b), f.output),
            Some(t) => ln.forward_train(f.input, present(w), present(b), f.output, t.saved),
        }
    },
    backward: |kind, b| {
        let LayerKind::LayerNorm(ln) = *kind else {
            return Err(mismatch());
        };
        if !b.need_dx && b.grad.is_none() {
            return Ok(());
        }
        let (w, _) = b.params.split_at(ln.weight_len().min(b.params.len()));
        let (dw, db) = weight_and_bias(b.grad, ln.weight_len());
        ln.backward(b.input, present(w), b.saved, b.g, b.dx, dw, db)
    },
};

static BATCH_NORM: Kernels = Kernels {
    forward: |kind, f| {
        let LayerKind::BatchNorm(bn) = *kind else {
            return Err(mismatch());
        };
        let (w, b) = f.params.split_at(bn.weight_len().min(f.params.len()));
        let c = bn.running_len();
        match f.train {
            None => {
                let (mean, rest) = f.running.split_at(c.min(f.running.len()));
                let var = rest.get(..c).unwrap_or(&[]);
                bn.forward_eval(
                    f.input,
                    present(w),
                    present(b),
                    present(mean),
                    present(var),
                    f.output,
                )
            }
            Some(t) => {
                let (mean, rest) = t.buffers.split_at_mut(c.min(t.buffers.len()));
                let (var, count) = rest.split_at_mut(c.min(rest.len()));
                // The batch counter is kept as a float (exact up to 2²⁴ batches).
                let mut tracked = count.first().map_or(0, |n| *n as u64);
                let running = if bn.track_running_stats {
                    Some(RunningStats {
                        mean,
                        var,
                        num_batches_tracked: &mut tracked,
                    })
                } else {
                    None
                };
                bn.forward_train(f.input, present(w), present(b), running, f.output, t.saved)?;
                if let Some(n) = count.first_mut() {
                    *n = tracked as f32;
                }
                Ok(())
            }
        }
    },
    backward: |kind, b| {
        let LayerKind::BatchNorm(bn) = *kind else {
            return Err(mismatch());
        };
        if !b.need_dx && b.grad.is_none() {
            return Ok(());
        }
        let (w, _) = b.params.split_at(bn.weight_len().min(b.params.len()));
        let (dw, db) = weight_and_bias(b.grad, bn.weight_len());
        bn.backward_train(b.input, present(w), b.saved, b.g, b.dx, dw, db)
    },
};

static DROPOUT: Kernels = Kernels {
    // Training draws a mask into the layer's saved span; evaluation is the identity.
    forward: |kind, f| {
        let LayerKind::Dropout { p } = *kind else {
            return Err(mismatch());
        };
        match f.train {
            Some(train) => {
                let mask: &mut [u32] = bytemuck::try_cast_slice_mut(train.saved).map_err(|_| {
                    Error::LengthMismatch {
                        what: "acts",
                        expected: 0,
                        actual: 0,
                    }
                })?;
                dropout::dropout(f.input, f.output, mask, p, true, train.rng)
            }
            None => {
                for (o, i) in f.output.iter_mut().zip(f.input) {
                    *o = *i;
                }
                Ok(())
            }
        }
    },
    backward: |kind, b| {
        let LayerKind::Dropout { p } = *kind else {
            return Err(mismatch());
        };
        if !b.need_dx {
            return Ok(());
        }
        let mask: &[u32] = bytemuck::try_cast_slice(b.saved).map_err(|_| mismatch())?;
        dropout::dropout_backward(b.g, b.dx, mask, p)
    },
};

/// An activation's forward: `y = f(x)` on whole rows of the layer's width.
fn activation_forward(kernel: impl Kernel, f: Forward<'_>) -> Result<()> {
    rows(f.input.len(), f.width)?;
    kernel.forward(f.input, f.output, f.width)
}

/// An activation's backward: `dx` from the input or the output, as [`Kernel::saved`] says.
fn activation_backward(kernel: impl Kernel, b: Backward<'_>) -> Result<()> {
    if !b.need_dx {
        return Ok(());
    }
    let saved = match kernel.saved() {
        Saved::Input => b.input,
        Saved::Output => b.output,
    };
    rows(saved.len(), b.width)?;
    kernel.backward(saved, b.g, b.dx, b.width)
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
                            forward: |kind, f| {
                                let LayerKind::Activation(Activation::$v $(($p))?) = *kind else {
                                    return Err(mismatch());
                                };
                                activation_forward($kernel, f)
                            },
                            backward: |kind, b| {
                                let LayerKind::Activation(Activation::$v $(($p))?) = *kind else {
                                    return Err(mismatch());
                                };
                                activation_backward($kernel, b)
                            },
                        }
                    },
                )*
            }
        }
    };
}

crate::activation::activations!(activation_tables);
