//! Activation functions and their gradients, with the semantics of `torch.nn.functional`.
//!
//! Every activation is listed once, in the macro `activations!` below: the list makes its
//! module, the variant of [`Activation`] that names it (whose documentation gives the formula,
//! torch's module and the tensor its backward reads), and the network's kernel table. An
//! element-wise activation states `f(x)` and `dy·f′` once, generic over the SIMD lanes, by
//! implementing `Elementwise` in its own file; softmax and log-softmax, which normalise over a
//! row, implement `RowWise`. The torch-named functions below come from those statements, and
//! every one runs on the lanes [`simd::dispatch`](fn@crate::simd::dispatch) picks: AVX2+FMA on
//! an x86_64 CPU that has them (with or without AVX-512), the portable lanes elsewhere.
//! `ARCHITECTURE.md` ("How to add an activation") walks through adding one.
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
//! * [`softmax`](fn@softmax) and [`log_softmax`](fn@log_softmax) work on a row-major
//!   `[rows, cols]` slice, over the last dimension (`dim = -1`); `rows = len / cols`.
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

/// The list of activations: one line each, `file: Variant => kernel`, under the variant's
/// documentation. `file` is the module (`src/activation/file.rs`, whose public items are
/// re-exported here); `Variant` is the [`Activation`] variant, with its hyper-parameters as
/// `(p: Type)` where it has any; `kernel` is the value that states the activation (an
/// `Elementwise` or `Rows(RowWise)`), written with the variant's binding `p`.
///
/// The list is handed to a macro `$then` that takes its lines apart: here
/// (`declare_files`), in `kind.rs` (the enum and its methods) and in
/// `network/kernels.rs` (one kernel table per variant).
macro_rules! activations {
    ($then:ident) => {
        $then! {
            /// [`relu`](fn@relu): `max(x, 0)`; torch's `nn.ReLU`. Backward reads `y` (or `x`).
            relu: Relu => Relu,
            /// [`leaky_relu`](fn@leaky_relu): `x` if `x > 0`, else `negative_slope·x`; torch's
            /// `nn.LeakyReLU`. Backward reads `y` when `negative_slope ≥ 0`, otherwise `x`.
            leaky_relu: LeakyRelu(p: LeakyRelu) => p,
            /// [`sigmoid`](fn@sigmoid): `σ(x) = 1/(1 + e^{−x})`; torch's `nn.Sigmoid`. Backward
            /// reads `y`: `y·(1 − y)`.
            sigmoid: Sigmoid => Sigmoid,
            /// [`tanh`](fn@tanh): `tanh x`; torch's `nn.Tanh`. Backward reads `y`: `1 − y²`.
            tanh: Tanh => Tanh,
            /// [`gelu`](fn@gelu): `x·Φ(x)`, `Φ(x) = ½(1 + erf(x/√2))`; torch's
            /// `nn.GELU(approximate="none")`. Backward reads `x`: `Φ(x) + x·φ(x)`.
            gelu: Gelu => Gelu,
            /// [`gelu_tanh`](fn@gelu_tanh): `½x(1 + tanh(k(x + 0.044715x³)))`, `k = √(2/π)`;
            /// torch's `nn.GELU(approximate="tanh")`. Backward reads `x`.
            gelu_tanh: GeluTanh => GeluTanh,
            /// [`silu`](fn@silu): `x·σ(x)`; torch's `nn.SiLU`. Backward reads `x`:
            /// `σ(x)·(1 + x·(1 − σ(x)))`.
            silu: Silu => Silu,
            /// [`softplus`](fn@softplus): `ln(1 + e^{βx})/β`, or `x` when `βx > threshold`;
            /// torch's `nn.Softplus`. Backward reads `x`: `σ(βx)`, or `1`.
            softplus: Softplus(p: Softplus) => p,
            /// [`elu`](fn@elu): `x` if `x > 0`, else `α·(eˣ − 1)`; torch's `nn.ELU`. Backward
            /// reads `y` when `alpha ≥ 0` ([`elu_backward`]: `y + α`), otherwise `x`
            /// ([`elu_backward_input`]: `α·eˣ`).
            elu: Elu(p: Elu) => p,
            /// [`softmax`](fn@softmax): `e^{x_j} / Σ_k e^{x_k}` over each row; torch's
            /// `nn.Softmax(dim=-1)`. Backward reads `y`: `dx = y·(dy − Σ y·dy)`.
            softmax: Softmax => Rows(Softmax),
            /// [`log_softmax`](fn@log_softmax): `x_j − ln Σ_k e^{x_k}` over each row; torch's
            /// `nn.LogSoftmax(dim=-1)`. Backward reads `y`: `dx = dy − e^y·Σ dy`.
            log_softmax: LogSoftmax => Rows(LogSoftmax),
        }
    };
}
pub(crate) use activations;

mod elementwise;
mod kind;
mod layer;
mod rowwise;

pub use kind::{Activation, Saved};
pub(crate) use layer::KernelLayer;
pub(crate) use rowwise::Rows;

/// Declares each activation's module and re-exports its items (its torch-named functions and
/// hyper-parameter struct publicly, its kernel to the crate), and gives each hyper-parameter
/// struct `Default` from its `DEFAULT` (torch's defaults).
macro_rules! declare_files {
    ($( $(#[$doc:meta])* $file:ident: $v:ident $(($p:ident: $t:ty))? => $kernel:expr, )*) => {
        $(
            mod $file;
            pub use $file::*;
            $(
                impl Default for $t {
                    fn default() -> Self {
                        Self::DEFAULT
                    }
                }
            )?
        )*
    };
}

activations!(declare_files);
