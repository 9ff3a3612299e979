//! Weight constraints applied after an optimizer step: clipping every weight into a range
//! (torch's `clamp_`, the WGAN critic's weight clipping) and capping the L2 norm of every row
//! (torch's `renorm`, Keras' `MaxNorm`).

use super::lanes::{power_sum_in, Clamp, Power};
use crate::error::{check_len, checked_len};
use crate::rows::by_rows_mut;
use crate::simd::{dispatch, map_inplace_dispatch, scale_in, sqrt_f64, Lanes, WithLanes};
use crate::{Error, Result};

/// Clips every weight into `[min, max]` in place, torch's `w.clamp_(min, max)`:
/// `wᵢ = min(max(wᵢ, min), max)`.
///
/// As in torch, `min > max` is not an error: every element becomes `max` (the upper clamp is
/// applied last). A NaN weight stays NaN. Pass `f32::NEG_INFINITY` or `f32::INFINITY` for a
/// side torch would leave as `None`.
///
/// ```
/// let mut w = [-3.0, 0.005, 2.0];
/// descent::regularize::clamp(&mut w, -0.01, 0.01)?;
/// assert_eq!(w, [-0.01, 0.005, 0.01]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"min"` or `"max"`) when a bound is NaN (torch would make
/// every element NaN). Nothing is written on error.
pub fn clamp(w: &mut [f32], min: f32, max: f32) -> Result<()> {
    if min.is_nan() {
        return Err(Error::InvalidHyperParameter { what: "min" });
    }
    if max.is_nan() {
        return Err(Error::InvalidHyperParameter { what: "max" });
    }
    map_inplace_dispatch(w, Clamp { lo: min, hi: max });
    Ok(())
}

/// Caps the L2 norm of every row of a `[rows, cols]` row-major weight at `max_norm`, in place:
/// torch's `w.renorm_(p=2, dim=0, maxnorm=max_norm)` (the max-norm constraint of dropout
/// networks; Keras' `MaxNorm(axis=1)` on a `[out, in]` weight). For each row `r`,
/// `‖r‖ = √(Σⱼ r_j²)`; if `‖r‖ > max_norm` the row is multiplied by
/// `max_norm / (‖r‖ + 1e-7)` (the `1e-7` is torch's, so a clipped row ends slightly inside
/// the ball), otherwise it is left as it is. As in torch, a row whose norm is NaN is left
/// unchanged. For a `torch.nn.Linear` weight `[out, in]`, a row holds the weights into one
/// output unit.
///
/// The norms are summed as [`crate::regularize::grad_norm`] sums (no overflow for any finite
/// row) and rounded to `f32`; the factor is computed in `f32` as torch does.
///
/// ```
/// let mut w = [3.0, 4.0, 0.3, 0.4]; // two rows of norm 5 and 0.5
/// descent::regularize::max_norm_rows(&mut w, 2, 2, 1.0)?;
/// assert!((w[0] - 0.6).abs() < 1e-6 && (w[1] - 0.8).abs() < 1e-6);
/// assert_eq!(&w[2..], &[0.3, 0.4]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"maxnorm"`, torch's name) unless `max_norm ≥ 0` (NaN
/// included), as torch checks; [`Error::DimensionOverflow`] (`"w"`) when `rows·cols`
/// overflows; [`Error::LengthMismatch`] (`"w"`) unless `w.len() == rows·cols`. Nothing is
/// written on error.
pub fn max_norm_rows(w: &mut [f32], rows: usize, cols: usize, max_norm: f32) -> Result<()> {
    if max_norm.is_nan() || max_norm < 0.0 {
        return Err(Error::InvalidHyperParameter { what: "maxnorm" });
    }
    check_len("w", w.len(), checked_len("w", rows, cols)?)?;
    if cols == 0 {
        return Ok(());
    }
    /// The kernel.
    struct Run<'a>(&'a mut [f32], usize, f32);
    impl WithLanes for Run<'_> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let Run(w, cols, max_norm) = self;
            for row in by_rows_mut(w, cols) {
                let norm = sqrt_f64(power_sum_in(l, row, Power::Two)) as f32;
                if norm > max_norm {
                    scale_in(l, max_norm / (norm + 1e-7), row);
                }
            }
        }
    }
    dispatch(Run(w, cols, max_norm));
    Ok(())
}
