//! SiLU (swish): `x·σ(x)`.

use super::elementwise::{backward_fns, forward_fns, gated, Elementwise};
use super::sigmoid::logistic_pair;
use super::Saved;
use crate::simd::{Float8, Lanes};

/// [`silu`](fn@silu): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Silu;

impl Elementwise for Silu {
    fn saved(self) -> Saved {
        Saved::Input
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        let (s, _) = logistic_pair(l, x);
        gated(l, x, s)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        let (s, c) = logistic_pair(l, x);
        // σ·(1 + x·(1 − σ)); at x = ±∞ the product is 0·∞, the limit is σ (0 or 1).
        let d = s * (l.splat(1.0) + x * c);
        dy * x.is_inf().select(s, d)
    }
}

forward_fns! {
    /// `silu(x) = x·σ(x) = x/(1 + e^{−x})`, torch's `F.silu`, into `y`.
    ///
    /// Relative error within 12u (`u = 2⁻²⁴`) for every finite `x`: σ from
    /// [`sigmoid`](fn@super::sigmoid)'s `e^{−|x|}` form (11u), then one product; also in the tail
    /// (`silu(−80) ≈ −1.4e−33`).
    /// `silu(+∞) = +∞`, `silu(−∞) = −0` (the limit; torch's `x/(1 + e^{−x})` gives NaN there); NaN
    /// propagates.
    ///
    /// Derivative: `σ(x)·(1 + x·(1 − σ(x)))`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
    silu, silu_inplace = Silu;
}

backward_fns! {
    /// Gradient of [`silu`](fn@silu) from its input: `dx = dy·σ(x)·(1 + x·(1 − σ(x)))`.
    ///
    /// `1 − σ(x)` is computed directly (not by subtraction), so the factor is accurate for large
    /// `|x|`; its absolute error is within `u·(14·|f′(x)| + 12·σ(x)·|x|·(1 − σ(x)))` (the sum
    /// cancels near `x ≈ −1.28`, where `f′ = 0`). The limits at `±∞` are `1` and `0`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
    silu_backward, silu_backward_inplace(x) = Silu;
}
