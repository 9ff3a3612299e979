//! The logistic sigmoid, and the lane helper that sigmoid, silu, softplus and gelu_tanh share.

use super::elementwise::{backward_fns, forward_fns, Elementwise};
use super::Saved;
use crate::simd::{math, Float8, Lanes};

/// `(σ(x), 1 − σ(x))` in each lane, both to a small *relative* error over the whole line.
///
/// With `e = e^{−|x|} ∈ [0, 1]` (never overflows) and `r = 1/(1 + e) = σ(|x|)`:
/// `σ(x) = r` and `1 − σ(x) = e·r` for `x ≥ 0`, swapped for `x < 0`. Neither is formed as
/// `1 − something`, so `1 − σ(20) ≈ 2.1e−9` keeps its digits. Error budget, in units of
/// `u = 2⁻²⁴` relative, with `exp` within 4 ulp (≤ 8u): `r` ≤ 6u, `e·r` ≤ 11u.
/// `x = ±∞` gives `(1, 0)` / `(0, 1)`; NaN gives NaN in both.
#[inline(always)]
pub(super) fn logistic_pair<L: Lanes>(l: L, x: L::F) -> (L::F, L::F) {
    let e = math::exp_lanes(l, -x.abs());
    let one = l.splat(1.0);
    let r = one / (one + e);
    let er = e * r;
    let negative = x.simd_lt(l.splat(0.0));
    (negative.select(er, r), negative.select(r, er))
}

/// [`sigmoid`](fn@sigmoid): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sigmoid;

impl Elementwise for Sigmoid {
    fn saved(self) -> Saved {
        Saved::Output
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        logistic_pair(l, x).0
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, y: L::F, dy: L::F) -> L::F {
        // torch's `sigmoid_backward`: `dy·(1 − y)·y`.
        dy * (l.splat(1.0) - y) * y
    }
}

forward_fns! {
    /// `σ(x) = 1/(1 + e^{−x})`, torch's `torch.sigmoid`, into `y`.
    ///
    /// Computed as `1/(1 + e^{−|x|})` or `e^{−|x|}/(1 + e^{−|x|})` by the sign of `x`, so there
    /// is no overflow and the relative error stays within 12u (`u = 2⁻²⁴`, about 7e−7) for every
    /// `x`, including the tail `σ(−80) ≈ 1.8e−35`. `σ(±∞) = 1, 0`; NaN propagates.
    ///
    /// Derivative: `σ′(x) = σ(x)·(1 − σ(x)) = y·(1 − y)`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
    sigmoid, sigmoid_inplace = Sigmoid;
}

backward_fns! {
    /// Gradient of [`sigmoid`](fn@sigmoid) from its output: `dx = dy·σ′(x) = dy·(1 − y)·y`.
    ///
    /// Three roundings on top of the error already in `y` (torch's formula and order).
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
    sigmoid_backward, sigmoid_backward_inplace(y) = Sigmoid;
}
