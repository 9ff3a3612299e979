//! The declarative form of an element-wise activation, and the one driver behind every
//! element-wise function.
//!
//! An activation is a value (its hyper-parameters, or a unit struct) implementing
//! [`Elementwise`]: what its backward pass reads ([`Saved`]), which hyper-parameters are valid,
//! and `f(x)` and `dy·f′` on one vector of lanes, generic over [`Lanes`]. The driver functions
//! here check the arguments (hyper-parameters first, then lengths; nothing is written on an
//! error) and run the lane functions over the slices on the lanes
//! [`dispatch`](fn@crate::simd::dispatch) picks: AVX2+FMA on an x86_64 CPU that has them, the
//! portable lanes elsewhere. [`forward_fns!`] and [`backward_fns!`] write the torch-named
//! public functions from them, so an activation's file holds only its mathematics and its
//! documentation.

use super::Saved;
use crate::error::check_len;
use crate::simd::{self, Float8, LaneMap, LaneZip, Lanes};
use crate::Result;

/// An element-wise activation `y = f(x)`, stated once for every instruction set.
///
/// Both lane functions must be `#[inline(always)]` (as everything they call): they are
/// inlined into the dispatched loop, which for AVX2 is compiled with those target features.
pub(crate) trait Elementwise: Copy {
    /// The tensor of the forward pass that [`backward`](Elementwise::backward) reads as its
    /// `saved` argument. It may depend on the hyper-parameters (leaky ReLU and ELU read `y`
    /// only while their negative branch keeps the sign of `x`).
    fn saved(self) -> Saved;

    /// Checks the hyper-parameters; every public function calls it before touching a slice.
    /// Activations without hyper-parameters keep the default.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) naming the
    /// parameter.
    #[inline]
    fn validate(self) -> Result<()> {
        Ok(())
    }

    /// `f(x)` in each lane.
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F;

    /// `dx = dy·f′(x)` in each lane, from `saved`: the input `x` or the output `y`, as
    /// [`saved`](Elementwise::saved) says.
    fn backward<L: Lanes>(self, l: L, saved: L::F, dy: L::F) -> L::F;
}

/// `x·gate` for the gated activations (silu's `σ(x)`, gelu's `Φ(x)`, gelu_tanh's `σ(w)`), whose
/// gate falls to 0 as `x → −∞`: there the product would be `−∞·0 = NaN`, and its limit `−0`
/// is returned instead. NaN propagates.
#[inline(always)]
pub(super) fn gated<L: Lanes>(l: L, x: L::F, gate: L::F) -> L::F {
    x.simd_eq(l.splat(f32::NEG_INFINITY))
        .select(l.splat(-0.0), x * gate)
}

/// [`Elementwise::forward`] as a lane map for the dispatching helpers.
#[derive(Clone, Copy)]
struct Forward<E>(E);

impl<E: Elementwise> LaneMap for Forward<E> {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, x: L::F) -> L::F {
        self.0.forward(l, x)
    }
}

/// [`Elementwise::backward`] as a lane zip for the dispatching helpers.
#[derive(Clone, Copy)]
struct Backward<E>(E);

impl<E: Elementwise> LaneZip for Backward<E> {
    #[inline(always)]
    fn apply<L: Lanes>(self, l: L, saved: L::F, dy: L::F) -> L::F {
        self.0.backward(l, saved, dy)
    }
}

/// `y = f(x)`.
///
/// # Errors
/// As [`Elementwise::validate`]; [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming
/// `y` when `y.len() != x.len()`.
#[inline]
pub(crate) fn forward<E: Elementwise>(op: E, x: &[f32], y: &mut [f32]) -> Result<()> {
    op.validate()?;
    check_len("y", y.len(), x.len())?;
    simd::map_dispatch(x, y, Forward(op));
    Ok(())
}

/// `x ← f(x)`, the same bits as [`forward`].
///
/// # Errors
/// As [`Elementwise::validate`].
#[inline]
pub(crate) fn forward_inplace<E: Elementwise>(op: E, x: &mut [f32]) -> Result<()> {
    op.validate()?;
    map_inplace(op, x);
    Ok(())
}

/// `x ← f(x)` without the hyper-parameter check: for activations that have none (whose
/// in-place forward cannot fail), and after [`Elementwise::validate`].
#[inline]
pub(crate) fn map_inplace<E: Elementwise>(op: E, x: &mut [f32]) {
    simd::map_inplace_dispatch(x, Forward(op));
}

/// `dx = dy·f′`, from `saved`.
///
/// # Errors
/// As [`Elementwise::validate`]; [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming
/// `dy` or `dx` when it is not as long as `saved`.
#[inline]
pub(crate) fn backward<E: Elementwise>(
    op: E,
    saved: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Result<()> {
    op.validate()?;
    check_len("dy", dy.len(), saved.len())?;
    check_len("dx", dx.len(), saved.len())?;
    simd::zip_map_dispatch(saved, dy, dx, Backward(op));
    Ok(())
}

/// `dy ← dy·f′`, the same bits as [`backward`].
///
/// # Errors
/// As [`Elementwise::validate`]; [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming
/// `dy` when it is not as long as `saved`.
#[inline]
pub(crate) fn backward_inplace<E: Elementwise>(op: E, saved: &[f32], dy: &mut [f32]) -> Result<()> {
    op.validate()?;
    check_len("dy", dy.len(), saved.len())?;
    simd::zip_map_inplace_dispatch(saved, dy, Backward(op));
    Ok(())
}

/// The torch-named forward functions of an element-wise activation: `name(x, y, params…)` and
/// `name_inplace(x, params…)`, with the forward's documentation.
///
/// ```text
/// forward_fns! {
///     /// `relu(x) = max(x, 0)`, torch's `F.relu`, into `y`. …
///     relu, relu_inplace = Relu;
/// }
/// forward_fns! {
///     /// `leaky_relu(x) = …`
///     leaky_relu, leaky_relu_inplace(negative_slope: f32) = LeakyRelu { negative_slope };
/// }
/// ```
///
/// Without hyper-parameters the in-place form returns nothing (it cannot fail); with them it
/// returns their check.
macro_rules! forward_fns {
    ($(#[$doc:meta])* $f:ident, $f_in:ident = $k:expr;) => {
        $(#[$doc])*
        pub fn $f(x: &[f32], y: &mut [f32]) -> $crate::Result<()> {
            $crate::activation::elementwise::forward($k, x, y)
        }

        #[doc = concat!("[`", stringify!($f), "`](fn@", stringify!($f), ") in place: `x ← ",
            stringify!($f), "(x)`, the same bits.")]
        pub fn $f_in(x: &mut [f32]) {
            $crate::activation::elementwise::map_inplace($k, x);
        }
    };
    ($(#[$doc:meta])* $f:ident, $f_in:ident($($p:ident: $t:ty),+) = $k:expr;) => {
        $(#[$doc])*
        pub fn $f(x: &[f32], y: &mut [f32], $($p: $t),+) -> $crate::Result<()> {
            $crate::activation::elementwise::forward($k, x, y)
        }

        #[doc = concat!("[`", stringify!($f), "`](fn@", stringify!($f), ") in place: `x ← ",
            stringify!($f), "(x)`, the same bits.")]
        ///
        /// # Errors
        #[doc = concat!("[`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) \
            as [`", stringify!($f), "`](fn@", stringify!($f), ").")]
        pub fn $f_in(x: &mut [f32], $($p: $t),+) -> $crate::Result<()> {
            $crate::activation::elementwise::forward_inplace($k, x)
        }
    };
}

/// The torch-named backward functions of an element-wise activation: `name_backward(saved,
/// dy, dx, params…)` and `name_backward_inplace(saved, dy, params…)`, with the backward's
/// documentation; `saved` is named as in the call (`x`, `y` or `x_or_y`).
///
/// ```text
/// backward_fns! {
///     /// Gradient of [`relu`]: …
///     relu_backward, relu_backward_inplace(x_or_y) = Relu;
/// }
/// ```
macro_rules! backward_fns {
    ($(#[$doc:meta])* $b:ident, $b_in:ident($s:ident $(, $p:ident: $t:ty)*) = $k:expr;) => {
        $(#[$doc])*
        pub fn $b($s: &[f32], dy: &[f32], dx: &mut [f32] $(, $p: $t)*) -> $crate::Result<()> {
            $crate::activation::elementwise::backward($k, $s, dy, dx)
        }

        #[doc = concat!("[`", stringify!($b), "`](fn@", stringify!($b),
            ") in place: `dy ← dx`, the same bits.")]
        ///
        /// # Errors
        #[doc = concat!("As [`", stringify!($b), "`](fn@", stringify!($b), ") (`dy` is checked \
            against `", stringify!($s), "`).")]
        pub fn $b_in($s: &[f32], dy: &mut [f32] $(, $p: $t)*) -> $crate::Result<()> {
            $crate::activation::elementwise::backward_inplace($k, $s, dy)
        }
    };
}

pub(crate) use {backward_fns, forward_fns};
