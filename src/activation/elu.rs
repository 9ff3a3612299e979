//! ELU: `x` for `x > 0`, `α·(eˣ − 1)` otherwise; its backward from `y` or from `x`.

use super::elementwise::{backward_fns, forward_fns, Elementwise};
use super::Saved;
use crate::error::check_finite;
use crate::simd::{math, Float8, Lanes};
use crate::{Error, Result};

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

impl Elementwise for Elu {
    /// `y` while `α ≥ 0` (then `y ≤ 0` exactly when `x ≤ 0`; [`FromOutput`]), otherwise `x`
    /// ([`FromInput`]).
    fn saved(self) -> Saved {
        if self.alpha >= 0.0 {
            Saved::Output
        } else {
            Saved::Input
        }
    }

    /// `alpha` must be finite.
    fn validate(self) -> Result<()> {
        check_finite("alpha", self.alpha)
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        // torch: `x > 0 ? x : α·expm1(x)` (NaN goes to the second branch and stays NaN).
        x.simd_gt(l.splat(0.0))
            .select(x, l.splat(self.alpha) * math::expm1_lanes(l, x))
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, s: L::F, dy: L::F) -> L::F {
        if self.alpha >= 0.0 {
            FromOutput(self).backward(l, s, dy)
        } else {
            FromInput(self).backward(l, s, dy)
        }
    }
}

/// ELU's backward from its output, torch's `elu_backward(is_result = true)`; needs `α ≥ 0`.
#[derive(Clone, Copy, Debug)]
struct FromOutput(Elu);

impl Elementwise for FromOutput {
    fn saved(self) -> Saved {
        Saved::Output
    }

    /// `alpha` must be finite and, so that `y ≤ 0 ⇔ x ≤ 0`, not negative.
    fn validate(self) -> Result<()> {
        self.0.validate()?;
        if self.0.alpha >= 0.0 {
            Ok(())
        } else {
            Err(Error::InvalidHyperParameter { what: "alpha" })
        }
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        self.0.forward(l, x)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, y: L::F, dy: L::F) -> L::F {
        // `y ≤ 0 ? dy·(y + α) : dy`.
        y.simd_le(l.splat(0.0))
            .select(dy * (y + l.splat(self.0.alpha)), dy)
    }
}

/// ELU's backward from its input, torch's `elu_backward(is_result = false)`; any finite `α`.
#[derive(Clone, Copy, Debug)]
struct FromInput(Elu);

impl Elementwise for FromInput {
    fn saved(self) -> Saved {
        Saved::Input
    }

    fn validate(self) -> Result<()> {
        self.0.validate()
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        self.0.forward(l, x)
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, x: L::F, dy: L::F) -> L::F {
        // `x ≤ 0 ? dy·α·eˣ : dy`.
        x.simd_le(l.splat(0.0))
            .select(dy * l.splat(self.0.alpha) * math::exp_lanes(l, x), dy)
    }
}

forward_fns! {
    /// `elu(x) = x` for `x > 0`, `α·(eˣ − 1)` otherwise: torch's `F.elu(x, alpha)` (default
    /// `alpha = 1`), into `y`.
    ///
    /// `eˣ − 1` is [`math::expm1`], so tiny negative `x` keep their relative accuracy
    /// (`elu(−1e−7) = −1e−7·α`); the error is within 4 ulp of `expm1` plus one rounding.
    /// `elu(−∞) = −α`; NaN propagates.
    ///
    /// Derivative: `1` for `x > 0`, `α·eˣ = y + α` for `x ≤ 0` (torch's choice at `x = 0`).
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] when `alpha` is not finite; [`Error::LengthMismatch`]
    /// when `y.len() != x.len()`.
    elu, elu_inplace(alpha: f32) = Elu { alpha };
}

backward_fns! {
    /// Gradient of [`elu`](fn@elu) from its **output**: `dx = dy` where `y > 0`, `dy·(y + α)`
    /// otherwise (`y + α = α·eˣ`, so no exponential is evaluated; torch's formula for in-place
    /// `elu_`).
    ///
    /// At `x = 0`, `y = 0` and the gradient is `α·dy`, torch's choice. Needs `alpha ≥ 0` (then
    /// `y ≤ 0` exactly when `x ≤ 0`); with a negative `alpha` use [`elu_backward_input`]. Deep
    /// in the tail `y + α` loses relative digits (`y` rounds to `−α`), but its absolute error
    /// stays within a few ulp of `α`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] when `alpha` is negative or not finite;
    /// [`Error::LengthMismatch`] when `dy` or `dx` is not as long as `y`.
    elu_backward, elu_backward_inplace(y, alpha: f32) = FromOutput(Elu { alpha });
}

backward_fns! {
    /// Gradient of [`elu`](fn@elu) from its **input**: `dx = dy` where `x > 0`, `dy·α·eˣ`
    /// otherwise (torch's autograd formula, any finite `alpha`; `α·dy` at `x = 0`). Relatively
    /// accurate in the tail.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] when `alpha` is not finite; [`Error::LengthMismatch`]
    /// when `dy` or `dx` is not as long as `x`.
    elu_backward_input, elu_backward_input_inplace(x, alpha: f32) = FromInput(Elu { alpha });
}
