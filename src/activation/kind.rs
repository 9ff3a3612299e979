//! [`Activation`]: one activation function with its hyper-parameters, dispatching to the kernels.

use super::softmax::rows_of;
use super::*;
use crate::Result;

/// Hyper-parameters of [`leaky_relu`] (torch's `nn.LeakyReLU`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope for `x ≤ 0`; must be finite. torch's default: `0.01`.
    pub negative_slope: f32,
}

impl LeakyRelu {
    /// torch's defaults: `negative_slope = 0.01`.
    pub const DEFAULT: Self = Self {
        negative_slope: 0.01,
    };
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Hyper-parameters of [`softplus`](fn@softplus) (torch's `nn.Softplus`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// `β` in `ln(1 + e^{βx})/β`; must be finite and `> 0`. torch's default: `1`.
    pub beta: f32,
    /// Above `βx > threshold` the function is `x`; must not be NaN. torch's default: `20`.
    pub threshold: f32,
}

impl Softplus {
    /// torch's defaults: `beta = 1`, `threshold = 20`.
    pub const DEFAULT: Self = Self {
        beta: 1.0,
        threshold: 20.0,
    };
}

impl Default for Softplus {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Hyper-parameters of [`elu`](fn@elu) (torch's `nn.ELU`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu {
    /// `α` in `α·(eˣ − 1)`; must be finite. torch's default: `1`.
    pub alpha: f32,
}

impl Elu {
    /// torch's defaults: `alpha = 1`.
    pub const DEFAULT: Self = Self { alpha: 1.0 };
}

impl Default for Elu {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which tensor of the forward pass the backward pass reads (see [`Activation::saved`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The input `x`: keep it; the forward pass must not overwrite it.
    Input,
    /// The output `y`: the forward pass may run in place, and `x` need not be kept.
    Output,
}

/// An activation function with its hyper-parameters, as a layer of a network names it.
///
/// Every method works on a row-major `[rows, cols]` slice (`cols` = features, the last
/// dimension; `softmax` and `log_softmax` normalise over it, the element-wise functions ignore
/// the shape but still check it, so a wrong feature count is caught in every layer):
/// `cols == 0` gives [`Error::ZeroDimension`](crate::Error::ZeroDimension), a length that is not
/// a multiple of `cols` gives [`Error::LengthMismatch`](crate::Error::LengthMismatch).
///
/// | variant | torch | backward reads |
/// |---|---|---|
/// | `Relu` | `nn.ReLU` | `y` |
/// | `LeakyRelu` | `nn.LeakyReLU` | `y` if `negative_slope ≥ 0`, else `x` |
/// | `Sigmoid` | `nn.Sigmoid` | `y` |
/// | `Tanh` | `nn.Tanh` | `y` |
/// | `Gelu` | `nn.GELU(approximate="none")` | `x` |
/// | `GeluTanh` | `nn.GELU(approximate="tanh")` | `x` |
/// | `Silu` | `nn.SiLU` | `x` |
/// | `Softplus` | `nn.Softplus` | `x` |
/// | `Elu` | `nn.ELU` | `y` if `alpha ≥ 0`, else `x` |
/// | `Softmax` | `nn.Softmax(dim=-1)` | `y` |
/// | `LogSoftmax` | `nn.LogSoftmax(dim=-1)` | `y` |
///
/// ```
/// use descent::activation::{Activation, Saved};
///
/// let act = Activation::LeakyRelu(Default::default()); // negative_slope = 0.01
/// assert_eq!(act.saved(), Saved::Output);
/// let mut h = [-2.0, 0.0, 3.0, 1.0, -1.0, 0.5]; // [rows = 2, cols = 3]
/// act.forward_inplace(&mut h, 3)?; // y overwrites x: backward needs only y
/// let mut g = [1.0; 6];
/// act.backward_inplace(&h, &mut g, 3)?;
/// assert_eq!(g, [0.01, 0.01, 1.0, 1.0, 0.01, 1.0]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// [`relu`]: `max(x, 0)`. Backward from `y` (or `x`).
    Relu,
    /// [`leaky_relu`]. Backward from `y` when `negative_slope ≥ 0`, otherwise from `x`.
    LeakyRelu(LeakyRelu),
    /// [`sigmoid`](fn@sigmoid). Backward from `y`.
    Sigmoid,
    /// [`tanh`](fn@tanh). Backward from `y`.
    Tanh,
    /// [`gelu`](fn@gelu), the exact erf form. Backward from `x`.
    Gelu,
    /// [`gelu_tanh`], the tanh approximation. Backward from `x`.
    GeluTanh,
    /// [`silu`](fn@silu). Backward from `x`.
    Silu,
    /// [`softplus`](fn@softplus). Backward from `x`.
    Softplus(Softplus),
    /// [`elu`](fn@elu). Backward from `y` when `alpha ≥ 0` ([`elu_backward`]), otherwise from
    /// `x` ([`elu_backward_input`]).
    Elu(Elu),
    /// [`softmax`](fn@softmax) over the last dimension. Backward from `y`.
    Softmax,
    /// [`log_softmax`] over the last dimension. Backward from `y`.
    LogSoftmax,
}

impl Activation {
    /// Which tensor [`Activation::backward`] needs as `saved`: the forward's input or output.
    pub fn saved(&self) -> Saved {
        match *self {
            Self::Relu | Self::Sigmoid | Self::Tanh | Self::Softmax | Self::LogSoftmax => {
                Saved::Output
            }
            Self::LeakyRelu(p) if p.negative_slope >= 0.0 => Saved::Output,
            Self::Elu(p) if p.alpha >= 0.0 => Saved::Output,
            Self::LeakyRelu(_)
            | Self::Elu(_)
            | Self::Gelu
            | Self::GeluTanh
            | Self::Silu
            | Self::Softplus(_) => Saved::Input,
        }
    }

    /// Checks the hyper-parameters as the kernels do: a finite `negative_slope` (leaky ReLU),
    /// a finite `alpha` (ELU), a finite positive `beta` and a `threshold` that is not NaN
    /// (softplus). A network checks every layer with it before a pass writes anything.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) naming the
    /// parameter.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Self::LeakyRelu(p) => super::rectifier::check_slope(p.negative_slope),
            Self::Elu(p) => super::elu::check_alpha(p.alpha),
            Self::Softplus(p) => super::softplus::check_hyper(p.beta, p.threshold),
            Self::Relu
            | Self::Sigmoid
            | Self::Tanh
            | Self::Gelu
            | Self::GeluTanh
            | Self::Silu
            | Self::Softmax
            | Self::LogSoftmax => Ok(()),
        }
    }

    /// `y = f(x)` on a `[rows, cols]` slice.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) when `cols == 0`;
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `x.len()` is not a multiple of
    /// `cols` or `y.len() != x.len()`;
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) as the kernel.
    pub fn forward(&self, x: &[f32], y: &mut [f32], cols: usize) -> Result<()> {
        rows_of("x", x.len(), cols)?;
        match *self {
            Self::Relu => relu(x, y),
            Self::LeakyRelu(p) => leaky_relu(x, y, p.negative_slope),
            Self::Sigmoid => sigmoid(x, y),
            Self::Tanh => tanh(x, y),
            Self::Gelu => gelu(x, y),
            Self::GeluTanh => gelu_tanh(x, y),
            Self::Silu => silu(x, y),
            Self::Softplus(p) => softplus(x, y, p.beta, p.threshold),
            Self::Elu(p) => elu(x, y, p.alpha),
            Self::Softmax => softmax(x, y, cols),
            Self::LogSoftmax => log_softmax(x, y, cols),
        }
    }

    /// `x ← f(x)` on a `[rows, cols]` slice; the same bits as [`Activation::forward`].
    ///
    /// # Errors
    /// As [`Activation::forward`].
    pub fn forward_inplace(&self, x: &mut [f32], cols: usize) -> Result<()> {
        rows_of("x", x.len(), cols)?;
        match *self {
            Self::Relu => relu_inplace(x),
            Self::LeakyRelu(p) => leaky_relu_inplace(x, p.negative_slope)?,
            Self::Sigmoid => sigmoid_inplace(x),
            Self::Tanh => tanh_inplace(x),
            Self::Gelu => gelu_inplace(x),
            Self::GeluTanh => gelu_tanh_inplace(x),
            Self::Silu => silu_inplace(x),
            Self::Softplus(p) => softplus_inplace(x, p.beta, p.threshold)?,
            Self::Elu(p) => elu_inplace(x, p.alpha)?,
            Self::Softmax => softmax_inplace(x, cols)?,
            Self::LogSoftmax => log_softmax_inplace(x, cols)?,
        }
        Ok(())
    }

    /// `dx = dy·f′(x)` (written, not accumulated), where `saved` is the forward's input or output
    /// as [`Activation::saved`] says.
    ///
    /// # Errors
    /// As [`Activation::forward`], for `saved`, `dy` and `dx`.
    pub fn backward(&self, saved: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> Result<()> {
        rows_of("saved", saved.len(), cols)?;
        match *self {
            Self::Relu => relu_backward(saved, dy, dx),
            Self::LeakyRelu(p) => leaky_relu_backward(saved, dy, dx, p.negative_slope),
            Self::Sigmoid => sigmoid_backward(saved, dy, dx),
            Self::Tanh => tanh_backward(saved, dy, dx),
            Self::Gelu => gelu_backward(saved, dy, dx),
            Self::GeluTanh => gelu_tanh_backward(saved, dy, dx),
            Self::Silu => silu_backward(saved, dy, dx),
            Self::Softplus(p) => softplus_backward(saved, dy, dx, p.beta, p.threshold),
            Self::Elu(p) if self.saved() == Saved::Output => elu_backward(saved, dy, dx, p.alpha),
            Self::Elu(p) => elu_backward_input(saved, dy, dx, p.alpha),
            Self::Softmax => softmax_backward(saved, dy, dx, cols),
            Self::LogSoftmax => log_softmax_backward(saved, dy, dx, cols),
        }
    }

    /// [`Activation::backward`] in place: `dy ← dx` (same bits).
    ///
    /// # Errors
    /// As [`Activation::backward`].
    pub fn backward_inplace(&self, saved: &[f32], dy: &mut [f32], cols: usize) -> Result<()> {
        rows_of("saved", saved.len(), cols)?;
        match *self {
            Self::Relu => relu_backward_inplace(saved, dy),
            Self::LeakyRelu(p) => leaky_relu_backward_inplace(saved, dy, p.negative_slope),
            Self::Sigmoid => sigmoid_backward_inplace(saved, dy),
            Self::Tanh => tanh_backward_inplace(saved, dy),
            Self::Gelu => gelu_backward_inplace(saved, dy),
            Self::GeluTanh => gelu_tanh_backward_inplace(saved, dy),
            Self::Silu => silu_backward_inplace(saved, dy),
            Self::Softplus(p) => softplus_backward_inplace(saved, dy, p.beta, p.threshold),
            Self::Elu(p) if self.saved() == Saved::Output => {
                elu_backward_inplace(saved, dy, p.alpha)
            }
            Self::Elu(p) => elu_backward_input_inplace(saved, dy, p.alpha),
            Self::Softmax => softmax_backward_inplace(saved, dy, cols),
            Self::LogSoftmax => log_softmax_backward_inplace(saved, dy, cols),
        }
    }
}
