//! Vectorised transcendental functions on [`f32x8`] lanes.
//!
//! PLACEHOLDER during development: lane-wise `libm`. To be replaced by polynomial
//! approximations with a documented error table.

use super::f32x8;

#[inline(always)]
fn lanewise(x: f32x8, f: fn(f32) -> f32) -> f32x8 {
    let mut a = x.to_array();
    for v in a.iter_mut() {
        *v = f(*v);
    }
    f32x8::new(a)
}

/// `e^x` in each lane.
#[inline]
pub fn exp(x: f32x8) -> f32x8 {
    lanewise(x, libm::expf)
}

/// `e^x − 1` in each lane, accurate near 0.
#[inline]
pub fn expm1(x: f32x8) -> f32x8 {
    lanewise(x, libm::expm1f)
}

/// Natural logarithm in each lane.
#[inline]
pub fn ln(x: f32x8) -> f32x8 {
    lanewise(x, libm::logf)
}

/// `ln(1 + x)` in each lane, accurate near 0.
#[inline]
pub fn ln_1p(x: f32x8) -> f32x8 {
    lanewise(x, libm::log1pf)
}

/// Hyperbolic tangent in each lane.
#[inline]
pub fn tanh(x: f32x8) -> f32x8 {
    lanewise(x, libm::tanhf)
}

/// Error function in each lane.
#[inline]
pub fn erf(x: f32x8) -> f32x8 {
    lanewise(x, libm::erff)
}
