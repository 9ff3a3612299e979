//! Activation functions and their gradients, with the semantics of `torch.nn.functional`.
//!
//! | function | forward `y = f(x)` | derivative `f′(x)` | backward reads |
//! |---|---|---|---|
//! | [`relu`] | `max(x, 0)` | `1` if `x > 0`, else `0` (also at `x = 0`) | `x` or `y` |
//! | [`leaky_relu`] | `x` if `x > 0`, else `s·x` | `1` if `x > 0`, else `s` (also at `x = 0`) | `x`, or `y` when `s ≥ 0` |
//! | [`sigmoid`](fn@sigmoid) | `σ(x) = 1/(1 + e^{−x})` | `y·(1 − y)` | `y` |
//! | [`tanh`](fn@tanh) | `tanh x` | `1 − y²` | `y` |
//! | [`gelu`](fn@gelu) | `x·Φ(x)`, `Φ(x) = ½(1 + erf(x/√2))` | `Φ(x) + x·φ(x)` | `x` |
//! | [`gelu_tanh`] | `½x(1 + tanh(k(x + 0.044715x³)))`, `k = √(2/π)` | see [`gelu_tanh`] | `x` |
//! | [`silu`](fn@silu) | `x·σ(x)` | `σ(x)·(1 + x·(1 − σ(x)))` | `x` |
//! | [`softplus`](fn@softplus) | `ln(1 + e^{βx})/β`, or `x` when `βx > threshold` | `σ(βx)`, or `1` | `x` |
//! | [`elu`](fn@elu) | `x` if `x > 0`, else `α·(eˣ − 1)` | `1` if `x > 0`, else `α·eˣ = y + α` | `y` when `α ≥ 0`, or `x` |
//! | [`softmax`](fn@softmax) | `e^{x_j} / Σ_k e^{x_k}` over each row | `dx = y·(dy − Σ y·dy)` | `y` |
//! | [`log_softmax`] | `x_j − ln Σ_k e^{x_k}` over each row | `dx = dy − e^y·Σ dy` | `y` |
//!
//! elu has two backward kernels: [`elu_backward`] from `y` (no exponential; needs `α ≥ 0`) and
//! [`elu_backward_input`] from `x` (torch's autograd formula, any `α`).
//!
//! [`Activation`] names one of them with its hyper-parameters and dispatches to the kernels; its
//! [`Activation::saved`] says which tensor the backward pass needs.
//!
//! # Calling conventions
//!
//! * Forward: `op(x, y, …)` writes `y`; `op_inplace(x, …)` overwrites `x` with `y`. Both give
//!   the same bits.
//! * Backward: `op_backward(saved, dy, dx, …)` **writes** `dx = dy·f′(x)` (it does not
//!   accumulate), where `saved` is `x` or `y` as the table says;
//!   `op_backward_inplace(saved, dy, …)` overwrites `dy` with `dx`, same bits.
//! * "Same bits" holds for every number. Where two NaN inputs meet (a NaN `dy` and a NaN
//!   `saved`), both forms give NaN, but which input's payload it carries may differ: the
//!   hardware keeps one operand's payload, and the two forms may order the operands
//!   differently. PyTorch makes no promise about NaN payloads either.
//! * Every slice must have the length of the first one (`x`, or the saved tensor), otherwise the
//!   call returns [`Error::LengthMismatch`](crate::Error::LengthMismatch) and writes nothing.
//!   Hyper-parameters out of range give
//!   [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter).
//! * [`softmax`](fn@softmax) and [`log_softmax`] work on a row-major `[rows, cols]` slice,
//!   over the last dimension (`dim = -1`); `rows = len / cols`.
//!
//! # Accuracy
//!
//! The kernels use the vector functions of [`crate::simd::math`] (at most 4 ulp each) and are
//! arranged so that the *relative* error stays small over the whole range, including the tails
//! that a direct transcription of the formula loses: sigmoid, silu and softplus go through
//! `e^{−|x|}` (no overflow, no `1 − σ` cancellation), elu through `expm1`, gelu through a
//! complementary-error-function form for `x < 0` (so `gelu(−8) ≈ −5.0e−15` keeps its digits where
//! `1 + erf(x/√2)` would be 0), gelu_tanh through `½(1 + tanh u) = σ(2u)`. Each function states
//! its bound; `tests/activation.rs` checks it against an `f64` reference.
//!
//! # Non-finite values
//!
//! NaN propagates through every forward. The backward of relu, leaky_relu and elu follows torch's
//! comparisons exactly (`x ≤ 0` for relu and elu, `x > 0` for leaky_relu), so a NaN input lets
//! `dy` (relu, elu) or `s·dy` (leaky_relu) through, as in torch. At `±∞` the functions take their
//! limits, where torch's direct formulas sometimes give NaN: `silu(−∞) = gelu(−∞) =
//! gelu_tanh(−∞) = −0`, and the derivatives there are `0` (at `−∞`) and `1` (at `+∞`).

mod elu;
mod gelu;
mod kind;
mod rectifier;
mod sigmoid;
mod silu;
mod softmax;
mod softplus;
mod tanh;

pub use elu::{
    elu, elu_backward, elu_backward_inplace, elu_backward_input, elu_backward_input_inplace,
    elu_inplace,
};
pub use gelu::{
    gelu, gelu_backward, gelu_backward_inplace, gelu_inplace, gelu_tanh, gelu_tanh_backward,
    gelu_tanh_backward_inplace, gelu_tanh_inplace,
};
pub use kind::{Activation, Elu, LeakyRelu, Saved, Softplus};
pub use rectifier::{
    leaky_relu, leaky_relu_backward, leaky_relu_backward_inplace, leaky_relu_inplace, relu,
    relu_backward, relu_backward_inplace, relu_inplace,
};
pub use sigmoid::{sigmoid, sigmoid_backward, sigmoid_backward_inplace, sigmoid_inplace};
pub use silu::{silu, silu_backward, silu_backward_inplace, silu_inplace};
pub use softmax::{
    log_softmax, log_softmax_backward, log_softmax_backward_inplace, log_softmax_inplace, softmax,
    softmax_backward, softmax_backward_inplace, softmax_inplace,
};
pub use softplus::{softplus, softplus_backward, softplus_backward_inplace, softplus_inplace};
pub use tanh::{tanh, tanh_backward, tanh_backward_inplace, tanh_inplace};

use crate::error::check_len;
use crate::Result;

/// Checks a backward call: `dy` and `dx` have the saved tensor's length.
#[inline]
fn check_backward(saved_len: usize, dy_len: usize, dx_len: usize) -> Result<()> {
    check_len("dy", dy_len, saved_len)?;
    check_len("dx", dx_len, saved_len)
}
