//! The hyperbolic tangent.

use super::elementwise::{backward_fns, forward_fns, Elementwise};
use super::Saved;
use crate::simd::{math, Lanes};

/// [`tanh`](fn@tanh): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tanh;

impl Elementwise for Tanh {
    fn saved(self) -> Saved {
        Saved::Output
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        math::tanh_lanes(l, x)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, y: L::F, dy: L::F) -> L::F {
        // torch's `tanh_backward`: `dy·(1 − y²)`.
        dy * (l.splat(1.0) - y * y)
    }
}

forward_fns! {
    /// `tanh(x) = (eˣ − e^{−x})/(eˣ + e^{−x})`, torch's `torch.tanh`, into `y`.
    ///
    /// [`math::tanh`]: within 4 ulp, exactly `±1` once saturated, odd.
    /// NaN propagates.
    ///
    /// Derivative: `1 − tanh²x = 1 − y²`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
    tanh, tanh_inplace = Tanh;
}

backward_fns! {
    /// Gradient of [`tanh`](fn@tanh) from its output: `dx = dy·tanh′(x) = dy·(1 − y²)`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
    tanh_backward, tanh_backward_inplace(y) = Tanh;
}
