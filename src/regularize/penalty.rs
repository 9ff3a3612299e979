//! Weight penalties added to a loss: L1, L2 and elastic net, with their (sub)gradients
//! **accumulated** into a gradient slice, as autograd accumulates into `.grad`.

use super::lanes::BLOCK;
use crate::error::check_len;
use crate::simd::{f32x8, load, load_partial, store_partial, LANES};
use crate::{Error, Result};

/// L1 penalty (lasso): `λ·Σᵢ |wᵢ|`, returned; when `grad` is given its subgradient
/// `λ·sign(wᵢ)` is **added** into it (`gradᵢ += λ·sign(wᵢ)`).
///
/// torch has no function for it: it is `lambda * w.abs().sum()` and its autograd gradient,
/// whose subgradient at `wᵢ = ±0` is 0 (torch's `abs` backward). A NaN weight gives a NaN
/// penalty and a NaN gradient element.
///
/// The sum runs in eight `f32` lanes within blocks of 256 elements and the blocks in `f64`
/// (error about `32·u` relative for any length, `u = 2⁻²⁴`); the product with `λ` is taken in
/// `f64` and rounded once.
///
/// ```
/// use descent::regularize::l1;
///
/// let w = [0.5, -2.0, 0.0];
/// let mut grad = [1.0, 1.0, 1.0]; // the loss gradient so far
/// let penalty = l1(&w, 0.1, Some(&mut grad))?;
/// assert!((penalty - 0.25).abs() < 1e-7);
/// assert_eq!(grad, [1.1, 0.9, 1.0]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"lambda"`) unless `lambda` is finite and `≥ 0`;
/// [`Error::LengthMismatch`] (`"grad"`) when `grad` is not as long as `w`. Nothing is written
/// on error.
pub fn l1(w: &[f32], lambda: f32, grad: Option<&mut [f32]>) -> Result<f32> {
    check_lambda(lambda)?;
    check_grad(w, grad.as_deref())?;
    let vl = f32x8::splat(lambda);
    let (sum_abs, _) = fold(w, grad, |x| (x.abs(), f32x8::ZERO, vl * sign(x)));
    Ok((f64::from(lambda) * sum_abs) as f32)
}

/// L2 penalty (ridge, weight decay), in one of two conventions chosen by `half`:
///
/// | `half` | penalty | gradient added into `grad` |
/// |---|---|---|
/// | `true` | `½·λ·Σᵢ wᵢ²` | `λ·wᵢ` |
/// | `false` | `λ·Σᵢ wᵢ²` | `2·λ·wᵢ` |
///
/// `half: true` is the convention of torch's optimizers: their `weight_decay=λ` adds exactly
/// this gradient `λ·w` (so do not use both). `half: false` is `lambda * (w ** 2).sum()` written
/// out in a torch loss. The gradient is **added** into `grad` (`gradᵢ += …`), as autograd
/// accumulates. Sums as in [`l1`].
///
/// ```
/// use descent::regularize::l2;
///
/// let w = [1.0, -2.0];
/// let mut grad = [0.0; 2];
/// let penalty = l2(&w, 0.1, true, Some(&mut grad))?; // ½·0.1·(1 + 4)
/// assert!((penalty - 0.25).abs() < 1e-7);
/// assert_eq!(grad, [0.1, -0.2]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// As [`l1`].
pub fn l2(w: &[f32], lambda: f32, half: bool, grad: Option<&mut [f32]>) -> Result<f32> {
    check_lambda(lambda)?;
    check_grad(w, grad.as_deref())?;
    // `2λ·w` as `λ·w + λ·w`: the same bits as `(2λ)·w` (doubling is exact) unless `λ·w` is
    // subnormal, and no overflow of `2λ` for `λ > f32::MAX/2` (which made a finite gradient
    // `±∞`).
    let c = f32x8::splat(lambda);
    let (_, sum_sq) = if half {
        fold(w, grad, |x| (f32x8::ZERO, x * x, c * x))
    } else {
        fold(w, grad, |x| {
            let g = c * x;
            (f32x8::ZERO, x * x, g + g)
        })
    };
    let k = if half { 0.5 } else { 1.0 };
    Ok((k * f64::from(lambda) * sum_sq) as f32)
}

/// Elastic-net penalty (the scikit-learn convention):
/// `λ·(r·Σᵢ |wᵢ| + ½·(1 − r)·Σᵢ wᵢ²)` with `r = l1_ratio`, and the gradient
/// `λ·(r·sign(wᵢ) + (1 − r)·wᵢ)` **added** into `grad`.
///
/// `r = 1` is [`l1`]; `r = 0` is [`l2`] with `half: true`. `sign(±0) = 0` and NaN propagates,
/// as in [`l1`]. The coefficients `λ·r` and `λ·(1 − r)` are computed in `f64` and rounded
/// once; `Σ|w|` and `Σw²` are summed separately as in [`l1`] and combined in `f64`.
///
/// ```
/// use descent::regularize::elastic_net;
///
/// let w = [2.0, -1.0];
/// let mut grad = [0.0; 2];
/// let penalty = elastic_net(&w, 0.1, 0.5, Some(&mut grad))?;
/// // 0.1·(0.5·3 + 0.25·5)
/// assert!((penalty - 0.275).abs() < 1e-7);
/// assert!((grad[0] - 0.15).abs() < 1e-7 && (grad[1] + 0.1).abs() < 1e-7);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// As [`l1`], and [`Error::InvalidHyperParameter`] (`"l1_ratio"`) unless `0 ≤ l1_ratio ≤ 1`
/// (NaN included).
pub fn elastic_net(w: &[f32], lambda: f32, l1_ratio: f32, grad: Option<&mut [f32]>) -> Result<f32> {
    check_lambda(lambda)?;
    if !(0.0..=1.0).contains(&l1_ratio) {
        return Err(Error::InvalidHyperParameter { what: "l1_ratio" });
    }
    check_grad(w, grad.as_deref())?;
    let (lam, r) = (f64::from(lambda), f64::from(l1_ratio));
    let a = f32x8::splat((lam * r) as f32);
    let b = f32x8::splat((lam * (1.0 - r)) as f32);
    let (sum_abs, sum_sq) = fold(w, grad, |x| (x.abs(), x * x, b.mul_add(x, a * sign(x))));
    Ok((lam * (r * sum_abs + 0.5 * (1.0 - r) * sum_sq)) as f32)
}

fn check_lambda(lambda: f32) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what: "lambda" })
    }
}

fn check_grad(w: &[f32], grad: Option<&[f32]>) -> Result<()> {
    match grad {
        Some(g) => check_len("grad", g.len(), w.len()),
        None => Ok(()),
    }
}

/// `sign(x)`: 1 for `x > 0`, −1 for `x < 0`, +0 for ±0, NaN for NaN.
#[inline(always)]
fn sign(x: f32x8) -> f32x8 {
    let one = f32x8::ONE;
    let zero_or_nan = x.is_nan().select(x, f32x8::ZERO);
    x.simd_gt(f32x8::ZERO)
        .select(one, x.simd_lt(f32x8::ZERO).select(-one, zero_or_nan))
}

/// Runs `f(w) → (a, b, d)` over `w` eight lanes at a time: returns `(Σa, Σb)` in `f64` (lanes
/// within blocks of [`BLOCK`], blocks in `f64`) and, when `grad` is given (as long as `w`),
/// adds `d` into it. The tail runs through `f` on a zero-padded vector: `f(0)` must give
/// `a = b = 0`.
#[inline(always)]
fn fold(
    w: &[f32],
    grad: Option<&mut [f32]>,
    f: impl Fn(f32x8) -> (f32x8, f32x8, f32x8),
) -> (f64, f64) {
    let (mut total_a, mut total_b) = (0.0f64, 0.0f64);
    let mut flush = |a: f32x8, b: f32x8| {
        total_a += f64::from(a.reduce_add());
        total_b += f64::from(b.reduce_add());
    };
    match grad {
        Some(grad) => {
            for (wb, gb) in w.chunks(BLOCK).zip(grad.chunks_mut(BLOCK)) {
                let (mut a, mut b) = (f32x8::ZERO, f32x8::ZERO);
                let (wc, wt) = wb.as_chunks::<LANES>();
                let (gc, gt) = gb.as_chunks_mut::<LANES>();
                for (wa, ga) in wc.iter().zip(gc.iter_mut()) {
                    let (ta, tb, d) = f(load(wa));
                    a += ta;
                    b += tb;
                    *ga = (load(ga) + d).to_array();
                }
                if !wt.is_empty() {
                    let (ta, tb, d) = f(load_partial(wt, 0.0));
                    a += ta;
                    b += tb;
                    store_partial(load_partial(gt, 0.0) + d, gt);
                }
                flush(a, b);
            }
        }
        None => {
            for wb in w.chunks(BLOCK) {
                let (mut a, mut b) = (f32x8::ZERO, f32x8::ZERO);
                let (wc, wt) = wb.as_chunks::<LANES>();
                for wa in wc {
                    let (ta, tb, _) = f(load(wa));
                    a += ta;
                    b += tb;
                }
                if !wt.is_empty() {
                    let (ta, tb, _) = f(load_partial(wt, 0.0));
                    a += ta;
                    b += tb;
                }
                flush(a, b);
            }
        }
    }
    (total_a, total_b)
}
