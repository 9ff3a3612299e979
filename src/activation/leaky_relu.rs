//! Leaky ReLU: `x` for `x > 0`, `negative_slope·x` otherwise; exact (one multiplication).

use super::elementwise::{backward_fns, forward_fns, Elementwise};
use super::Saved;
use crate::error::check_finite;
use crate::simd::{Float8, Lanes};
use crate::Result;

/// Hyper-parameters of [`leaky_relu`](fn@leaky_relu) (torch's `nn.LeakyReLU`).
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

impl Elementwise for LeakyRelu {
    /// `y` while the slope keeps the sign of `x` (`negative_slope ≥ 0`), otherwise `x`.
    fn saved(self) -> Saved {
        if self.negative_slope >= 0.0 {
            Saved::Output
        } else {
            Saved::Input
        }
    }

    /// `negative_slope` must be finite.
    fn validate(self) -> Result<()> {
        check_finite("negative_slope", self.negative_slope)
    }

    #[inline(always)]
    fn forward<L: Lanes>(self, l: L, x: L::F) -> L::F {
        // torch: `x > 0 ? x : x·s` (NaN goes to `x·s`, still NaN).
        x.simd_gt(l.splat(0.0))
            .select(x, x * l.splat(self.negative_slope))
    }

    #[inline(always)]
    fn backward<L: Lanes>(self, l: L, s: L::F, dy: L::F) -> L::F {
        // torch's `leaky_relu_backward`: `x > 0 ? dy : dy·s`.
        s.simd_gt(l.splat(0.0))
            .select(dy, dy * l.splat(self.negative_slope))
    }
}

forward_fns! {
    /// `leaky_relu(x) = x` for `x > 0`, `negative_slope·x` otherwise: torch's `F.leaky_relu`
    /// (default `negative_slope = 0.01`), into `y`.
    ///
    /// Derivative: `1` for `x > 0`, `negative_slope` for `x ≤ 0` (torch's choice at `x = 0`).
    /// Exact: one `f32` multiplication, as torch.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) when
    /// `negative_slope` is not finite; [`Error::LengthMismatch`](crate::Error::LengthMismatch)
    /// when `y.len() != x.len()`.
    leaky_relu, leaky_relu_inplace(negative_slope: f32) = LeakyRelu { negative_slope };
}

backward_fns! {
    /// Gradient of [`leaky_relu`](fn@leaky_relu): `dx = dy` where `x_or_y > 0`, else
    /// `negative_slope·dy`.
    ///
    /// `x_or_y` is the input `x`, or, when `negative_slope ≥ 0`, the output `y` (then `y > 0`
    /// exactly when `x > 0`; torch's in-place `leaky_relu_` makes the same requirement). With a
    /// negative slope pass `x`. A NaN there gives `negative_slope·dy`, as torch.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) when
    /// `negative_slope` is not finite; [`Error::LengthMismatch`](crate::Error::LengthMismatch)
    /// when `dy` or `dx` is not as long as `x_or_y`.
    leaky_relu_backward, leaky_relu_backward_inplace(x_or_y, negative_slope: f32) =
        LeakyRelu { negative_slope };
}
