//! ReLU, `max(x, 0)`: exact (one comparison).

use super::elementwise::{backward_fns, forward_fns, Elementwise};
use super::Saved;
use crate::simd::{Float8, Lanes};

/// [`relu`](fn@relu): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Relu;

impl Elementwise for Relu {
    /// `y > 0` exactly when `x > 0`: either serves, and `y` lets the forward run in place.
    fn saved(self) -> Saved {
        Saved::Output
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        // `x ≤ 0 → +0`, otherwise `x`: NaN is not `≤ 0` and passes through, as torch's
        // `clamp_min`.
        let zero = l.splat(0.0);
        x.simd_le(zero).select(zero, x)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, s: L::F, dy: L::F) -> L::F {
        // torch's `threshold_backward(dy, s, 0)`: `s ≤ 0 → 0`, otherwise `dy`.
        let zero = l.splat(0.0);
        s.simd_le(zero).select(zero, dy)
    }
}

forward_fns! {
    /// `relu(x) = max(x, 0)`, torch's `F.relu`, into `y`.
    ///
    /// Derivative: `1` for `x > 0`, `0` for `x ≤ 0` (torch's choice at `x = 0`). Exact.
    /// `relu(−0) = +0`; NaN propagates.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `y.len() != x.len()`.
    relu, relu_inplace = Relu;
}

backward_fns! {
    /// Gradient of [`relu`](fn@relu): `dx = dy` where `x_or_y > 0`, else `0`.
    ///
    /// `x_or_y` is the input `x` or the output `y`: `y > 0` exactly when `x > 0`, so both give
    /// the same bits. This is torch's `threshold_backward(dy, y, 0)` (`s ≤ 0 → 0`), so a NaN
    /// there lets `dy` through, as in torch.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) when `dy` or `dx` is not as long
    /// as `x_or_y`.
    relu_backward, relu_backward_inplace(x_or_y) = Relu;
}
