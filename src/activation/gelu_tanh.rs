//! GELU's tanh approximation, torch's `approximate="tanh"`:
//! `½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))`.

use super::elementwise::{backward_fns, forward_fns, gated, Elementwise};
use super::sigmoid::logistic_pair;
use super::Saved;
use crate::simd::{Float8, Lanes};

/// `2·√(2/π)`.
const TWO_K: f32 = 1.595_769_2;
/// `2·√(2/π)·0.044715`.
const TWO_K_KAPPA: f32 = 0.071_354_814;
/// `3·2·√(2/π)·0.044715`.
const SIX_K_KAPPA: f32 = 0.214_064_45;

/// `(σ(w), 1 − σ(w), x²)` for `w = 2√(2/π)·(x + 0.044715x³)`.
#[inline(always)]
fn parts<L: Lanes>(l: L, x: L::F) -> (L::F, L::F, L::F) {
    let x2 = x * x;
    let w = x * x2.mul_add(l.splat(TWO_K_KAPPA), l.splat(TWO_K));
    let (s, c) = logistic_pair(l, w);
    (s, c, x2)
}

/// [`gelu_tanh`](fn@gelu_tanh): no hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GeluTanh;

impl Elementwise for GeluTanh {
    fn saved(self) -> Saved {
        Saved::Input
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        let (s, _, _) = parts(l, x);
        gated(l, x, s)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        let (s, c, x2) = parts(l, x);
        let w_prime = x2.mul_add(l.splat(SIX_K_KAPPA), l.splat(TWO_K));
        let sc = s * c;
        let d = s + x * sc * w_prime;
        // Once σ(w)·(1 − σ(w)) underflows the second term is 0 (for |x| ≳ 1.8e19 it would be
        // 0·∞ = NaN, and at ±∞ too); the derivative is σ(w).
        dy * sc.simd_eq(l.splat(0.0)).select(s, d)
    }
}

forward_fns! {
    /// `gelu_tanh(x) = ½x·(1 + tanh(√(2/π)·(x + 0.044715x³)))`: torch's
    /// `F.gelu(x, approximate="tanh")`, into `y`.
    ///
    /// Evaluated as `x·σ(w)` with `w = 2√(2/π)·(x + 0.044715x³)`, the same function
    /// (`½(1 + tanh(w/2)) = σ(w)`), with `σ` from the overflow-free form of
    /// [`sigmoid`](fn@super::sigmoid): no `1 + tanh` cancellation, and saturation is exact
    /// (`gelu_tanh(80) = 80`, `gelu_tanh(−80) = −0`). The relative error is within
    /// `14u + 6u·|w|·(1 − σ(w))` (`u = 2⁻²⁴`): the second term is the rounding of `w`, which the
    /// function's steep lower tail amplifies (the tail's own condition number, about `3|w|`).
    /// `gelu_tanh(−∞) = −0` (torch: NaN); NaN propagates.
    ///
    /// Derivative: `σ(w) + x·σ(w)·(1 − σ(w))·w′`, `w′ = 2√(2/π)·(1 + 3·0.044715x²)`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `y.len() != x.len()`.
    gelu_tanh, gelu_tanh_inplace = GeluTanh;
}

backward_fns! {
    /// Gradient of [`gelu_tanh`](fn@gelu_tanh) from its input:
    /// `dx = dy·(σ(w) + x·σ(w)·(1 − σ(w))·w′)`, `w′ = 2√(2/π)·(1 + 3·0.044715x²)` — the same as
    /// torch's `½(1 + tanh u) + ½x·(1 − tanh²u)·u′` with `u = w/2`.
    ///
    /// `1 − σ(w)` is computed directly, so the `x³`-sized factor `w′` multiplies a relatively
    /// accurate small number instead of the difference `1 − tanh²u` (whose error torch's form
    /// amplifies by about `x³`). Limits `0` at `−∞`, `1` at `+∞`.
    ///
    /// # Errors
    /// [`crate::Error::LengthMismatch`] when `dy` or `dx` is not as long as `x`.
    gelu_tanh_backward, gelu_tanh_backward_inplace(x) = GeluTanh;
}
