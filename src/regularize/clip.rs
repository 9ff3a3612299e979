//! Gradient clipping: by the total norm over several gradients (torch's
//! `clip_grad_norm_`, `get_total_norm`, `clip_grads_with_norm_`) and by value
//! (`clip_grad_value_`).

use super::lanes::{map_grads, max_abs_in, power_sum_in, Clamp, Power};
use crate::simd::math::{exp_lanes, ln_lanes};
use crate::simd::{block_sums_in, dispatch, scale_in, sqrt_f64, Float8, Lanes, Scale, WithLanes};
use crate::{Error, Result};

/// The norm that [`clip_grad_norm`] and [`grad_norm`] measure: torch's `norm_type`
/// (default `2.0`).
///
/// Every norm is the norm of all gradient elements taken together, which equals torch's
/// "norm of the per-tensor norms" for every `p`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum NormType {
    /// `Σ |g|` (`norm_type=1.0`).
    L1,
    /// `√(Σ g²)` (`norm_type=2.0`), torch's default.
    #[default]
    L2,
    /// `max |g|` (`norm_type=float("inf")`); NaN if any element is NaN.
    Inf,
    /// `(Σ |g|^p)^(1/p)` for any `p > 0` (`norm_type=p`); `P(1.0)`, `P(2.0)` and
    /// `P(f32::INFINITY)` are the variants above. Computed as `m·(Σ (|g|/m)^p)^(1/p)` with
    /// `m = max |g|`, so no `p` overflows; the powers come from [`crate::simd::math`]'s
    /// `exp` and `ln` (relative error about `p·|ln(|g|/m)|·2⁻²³` per term).
    P(f32),
}

impl NormType {
    /// The special case for `p`, or `InvalidHyperParameter("norm_type")` unless `p > 0`.
    fn resolve(self) -> Result<NormType> {
        match self {
            NormType::P(1.0) => Ok(NormType::L1),
            NormType::P(2.0) => Ok(NormType::L2),
            NormType::P(f32::INFINITY) => Ok(NormType::Inf),
            NormType::P(p) if p.is_nan() || p <= 0.0 => {
                Err(Error::InvalidHyperParameter { what: "norm_type" })
            }
            other => Ok(other),
        }
    }
}

/// The total norm of several gradients taken together, torch's
/// `torch.nn.utils.get_total_norm(grads, norm_type)` with `error_if_nonfinite=False`:
///
/// * [`NormType::L2`]: `√(Σₜ Σᵢ gₜᵢ²)`, which is torch's `‖(‖g₁‖₂, ‖g₂‖₂, …)‖₂`;
/// * [`NormType::L1`]: `Σₜ Σᵢ |gₜᵢ|`;
/// * [`NormType::Inf`]: `maxₜᵢ |gₜᵢ|`;
/// * [`NormType::P`]: `(Σₜ Σᵢ |gₜᵢ|^p)^(1/p)`.
///
/// An empty list, or only empty slices, has norm 0. A NaN element makes the norm NaN; an
/// infinite one (and no NaN) makes it `+∞`.
///
/// Numerics: sums run in `f32` lanes within blocks of 256 elements and the blocks in `f64`.
/// Unlike torch, which squares in `f32` and overflows to `+∞` once `|g| ≳ 1.8e19`, the
/// L1 and L2 sums rescale any block whose `f32` sum leaves the normal range by an exact
/// power of two, so the norm is right for every finite input whose norm fits in `f32`
/// (including gradients of tiny elements whose squares underflow). Blocks in the normal
/// range pay one comparison for this.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"norm_type"`) for [`NormType::P`] with `p ≤ 0` or NaN.
pub fn grad_norm(grads: &[&[f32]], norm_type: NormType) -> Result<f32> {
    /// The kernel.
    struct Run<'a, 'b>(&'a [&'b [f32]], NormType);
    impl WithLanes for Run<'_, '_> {
        type Output = f32;
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) -> f32 {
            total_norm_in(l, self.0, self.1)
        }
    }
    Ok(dispatch(Run(grads, norm_type.resolve()?)))
}

/// Multiplies every gradient by `min(1, max_norm / (total_norm + 1e-6))`: torch's
/// `torch.nn.utils.clip_grads_with_norm_(grads, max_norm, total_norm)`, the second half of
/// [`clip_grad_norm`], for a norm computed elsewhere (by [`grad_norm`], or summed across
/// devices or micro-batches).
///
/// The coefficient is computed in `f32` as torch does (`(1/(total_norm + 1e-6))·max_norm`,
/// then clamped to at most 1) and every gradient is multiplied by it, even when it is 1. A
/// NaN `total_norm` makes every gradient NaN (torch's `clamp` propagates NaN); an infinite one
/// gives coefficient 0 (and NaN for infinite elements, as `∞·0`). `total_norm` is data, not a
/// hyper-parameter, so it is not checked.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"max_norm"`) unless `max_norm ≥ 0` (NaN included; torch
/// does not check, and a negative `max_norm` there flips the gradients' sign). Nothing is
/// written on error.
pub fn clip_grads_with_norm(
    grads: &mut [&mut [f32]],
    max_norm: f32,
    total_norm: f32,
) -> Result<()> {
    check_max_norm(max_norm)?;
    map_grads(grads, Scale(coefficient(max_norm, total_norm)));
    Ok(())
}

/// Clips gradients by their total norm, torch's
/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type=2.0,
/// error_if_nonfinite=False)`: computes the total norm as [`grad_norm`], multiplies every
/// gradient by `coef = min(1, max_norm / (total + 1e-6))` as [`clip_grads_with_norm`], and
/// returns the total norm **before** clipping.
///
/// The `+1e-6` means a gradient whose norm equals `max_norm` is scaled by slightly less than
/// 1, and gradients whose norm is near `1e-6` are scaled noticeably: both as in torch.
/// `error_if_nonfinite=True` is not offered: check the returned norm with `is_finite()`
/// instead (with a non-finite norm the gradients are already NaN or 0, as in torch).
///
/// ```
/// use descent::regularize::{clip_grad_norm, NormType};
///
/// let mut w_grad = [3.0, 0.0];
/// let mut b_grad = [4.0];
/// let total = clip_grad_norm(&mut [&mut w_grad, &mut b_grad], 1.0, NormType::L2)?;
/// assert_eq!(total, 5.0);
/// assert!((w_grad[0] - 0.6).abs() < 1e-6 && (b_grad[0] - 0.8).abs() < 1e-6);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidHyperParameter`]: `"max_norm"` unless `max_norm ≥ 0`, `"norm_type"` as
/// [`grad_norm`]. Nothing is written on error.
pub fn clip_grad_norm(grads: &mut [&mut [f32]], max_norm: f32, norm_type: NormType) -> Result<f32> {
    check_max_norm(max_norm)?;
    /// The kernel.
    struct Run<'a, 'b>(&'a mut [&'b mut [f32]], f32, NormType);
    impl WithLanes for Run<'_, '_> {
        type Output = f32;
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) -> f32 {
            let Run(grads, max_norm, norm_type) = self;
            let total = total_norm_in(l, &*grads, norm_type);
            let c = coefficient(max_norm, total);
            for g in grads.iter_mut() {
                scale_in(l, c, g);
            }
            total
        }
    }
    Ok(dispatch(Run(grads, max_norm, norm_type.resolve()?)))
}

/// [`clip_grad_norm`] for one flat gradient slice (a whole model's gradients in one slice,
/// as the optimizers take them).
///
/// ```
/// use descent::regularize::{clip_grad_norm_flat, NormType};
///
/// let mut grad = [0.5, -2.0, 1.0];
/// let total = clip_grad_norm_flat(&mut grad, 1.0, NormType::Inf)?;
/// assert_eq!(total, 2.0);
/// assert!((grad[1] + 1.0).abs() < 1e-6);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// As [`clip_grad_norm`].
pub fn clip_grad_norm_flat(grad: &mut [f32], max_norm: f32, norm_type: NormType) -> Result<f32> {
    clip_grad_norm(&mut [grad], max_norm, norm_type)
}

/// Clips every gradient element into `[−clip_value, clip_value]`, torch's
/// `torch.nn.utils.clip_grad_value_(parameters, clip_value)`: `g = min(max(g, −c), c)`.
/// NaN elements stay NaN (torch's `clamp` propagates them).
///
/// ```
/// use descent::regularize::clip_grad_value;
///
/// let (mut a, mut b) = ([0.3, -2.0], [5.0]);
/// clip_grad_value(&mut [&mut a, &mut b], 1.0)?;
/// assert_eq!((a, b), ([0.3, -1.0], [1.0]));
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"clip_value"`) unless `clip_value ≥ 0` (NaN included;
/// torch does not check, and a negative value there sets every element to `clip_value`).
/// Nothing is written on error.
pub fn clip_grad_value(grads: &mut [&mut [f32]], clip_value: f32) -> Result<()> {
    if clip_value.is_nan() || clip_value < 0.0 {
        return Err(Error::InvalidHyperParameter { what: "clip_value" });
    }
    let clamp = Clamp {
        lo: -clip_value,
        hi: clip_value,
    };
    map_grads(grads, clamp);
    Ok(())
}

/// [`clip_grad_value`] for one flat gradient slice.
///
/// # Errors
/// As [`clip_grad_value`].
pub fn clip_grad_value_flat(grad: &mut [f32], clip_value: f32) -> Result<()> {
    clip_grad_value(&mut [grad], clip_value)
}

fn check_max_norm(max_norm: f32) -> Result<()> {
    if max_norm >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what: "max_norm" })
    }
}

/// torch's `clamp(max_norm / (total + 1e-6), max=1.0)` in `f32`, where the division is
/// `Tensor.__rtruediv__`: `total.reciprocal() * max_norm`.
fn coefficient(max_norm: f32, total: f32) -> f32 {
    let c = (1.0 / (total + 1e-6)) * max_norm;
    if c > 1.0 {
        1.0
    } else {
        c // NaN stays NaN
    }
}

/// The total norm for a resolved norm type (`P(p)` with `p ∉ {1, 2, ∞}`, `p > 0`), on the
/// lanes `l`.
#[inline(always)]
fn total_norm_in<L: Lanes, G: AsRef<[f32]>>(l: L, grads: &[G], norm_type: NormType) -> f32 {
    // Plain loops, no closures around the lane code: a closure is compiled on its own, without
    // the dispatched function's target features, unless it is inlined.
    match norm_type {
        NormType::L1 => power_sums(l, grads, Power::One) as f32,
        NormType::L2 => sqrt_f64(power_sums(l, grads, Power::Two)) as f32,
        NormType::Inf => max_abs_all(l, grads),
        NormType::P(p) => {
            let m = max_abs_all(l, grads);
            if m == 0.0 || !m.is_finite() {
                return m;
            }
            let vm = l.splat(m);
            let vp = l.splat(p);
            let ln_m = ln_lanes(l, vm);
            let tiny = l.splat(f32::MIN_POSITIVE);
            let mut s = 0.0f64;
            for g in grads {
                // |g|/m ≤ 1, so every term is at most 1; ln(0) = −∞ gives the term 0, and so do
                // the zero-padded tail lanes. Where the ratio underflows (or is subnormal), its
                // logarithm is taken as ln|g| − ln m instead: for a small p those terms still
                // count (|g| = 1e-30 beside m = 1e30 at p = 0.07 gives 5.8e-5, not 0).
                s += block_sums_in(
                    l,
                    g.as_ref(),
                    #[inline(always)]
                    |a, v| {
                        let a_v = v.abs();
                        let r = a_v / vm;
                        let ln_r = r
                            .simd_lt(tiny)
                            .select(ln_lanes(l, a_v) - ln_m, ln_lanes(l, r));
                        a + exp_lanes(l, vp * ln_r)
                    },
                    #[inline(always)]
                    |_, s| f64::from(s),
                );
            }
            (f64::from(m) * libm::pow(s, 1.0 / f64::from(p))) as f32
        }
    }
}

/// `Σ_g Σ |g|^p` over every gradient (p = 1 or 2).
#[inline(always)]
fn power_sums<L: Lanes, G: AsRef<[f32]>>(l: L, grads: &[G], power: Power) -> f64 {
    let mut s = 0.0f64;
    for g in grads {
        s += power_sum_in(l, g.as_ref(), power);
    }
    s
}

/// `max_g max |g|`, 0 without elements; NaN wins over everything, as `max_abs_in` reports it.
#[inline(always)]
fn max_abs_all<L: Lanes, G: AsRef<[f32]>>(l: L, grads: &[G]) -> f32 {
    let mut m = 0.0f32;
    for g in grads {
        let x = max_abs_in(l, g.as_ref());
        m = if x.is_nan() || m.is_nan() {
            f32::NAN
        } else {
            m.max(x)
        };
    }
    m
}
