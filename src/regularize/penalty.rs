//! Weight penalties added to a loss: L1, L2 and elastic net, with their (sub)gradients
//! **accumulated** into a gradient slice, as autograd accumulates into `.grad`.

use crate::error::check_len;
use crate::simd::{
    dispatch, load_partial_in, sign_in, store_partial_in, BlockSum, Float8, Lanes, WithLanes, LANES,
};
use crate::{Error, Result};

/// L1 penalty (lasso): `λ·Σᵢ |wᵢ|`, returned; when `grad` is given its subgradient
/// `λ·sign(wᵢ)` is **added** into it (`gradᵢ += λ·sign(wᵢ)`).
///
/// torch has no function for it: it is `lambda * w.abs().sum()` and its autograd gradient,
/// whose subgradient at `wᵢ = ±0` is 0 (torch's `abs` backward). A NaN weight gives a NaN
/// penalty and a NaN gradient element.
///
/// The sum runs in eight `f32` lanes within blocks of 256 elements and the blocks in `f64`
/// (error at most `35·u` relative for any length, `u = 2⁻²⁴`); the product with `λ` is taken in
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
    let (sum_abs, _) = fold(w, grad, L1(lambda));
    Ok((f64::from(lambda) * sum_abs) as f32)
}

/// The lanes of [`l1`]: `(|x|, 0, λ·sign(x))`.
struct L1(f32);

impl PenaltyLanes for L1 {
    #[inline(always)]
    fn lanes<L: Lanes>(&self, l: L, x: L::F) -> (L::F, L::F, L::F) {
        (x.abs(), l.splat(0.0), l.splat(self.0) * sign_in(l, x))
    }
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
    let (_, sum_sq) = fold(w, grad, L2 { lambda, half });
    let k = if half { 0.5 } else { 1.0 };
    Ok((k * f64::from(lambda) * sum_sq) as f32)
}

/// The lanes of [`l2`]: `(0, x², λ·x)` or `(0, x², λ·x + λ·x)`.
struct L2 {
    lambda: f32,
    half: bool,
}

impl PenaltyLanes for L2 {
    #[inline(always)]
    fn lanes<L: Lanes>(&self, l: L, x: L::F) -> (L::F, L::F, L::F) {
        let g = l.splat(self.lambda) * x;
        (l.splat(0.0), x * x, if self.half { g } else { g + g })
    }
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
    let a = (lam * r) as f32;
    let b = (lam * (1.0 - r)) as f32;
    let (sum_abs, sum_sq) = fold(w, grad, ElasticNet { a, b });
    Ok((lam * (r * sum_abs + 0.5 * (1.0 - r) * sum_sq)) as f32)
}

/// The lanes of [`elastic_net`]: `(|x|, x², b·x + a·sign(x))` with `a = λ·r`,
/// `b = λ·(1 − r)`.
struct ElasticNet {
    a: f32,
    b: f32,
}

impl PenaltyLanes for ElasticNet {
    #[inline(always)]
    fn lanes<L: Lanes>(&self, l: L, x: L::F) -> (L::F, L::F, L::F) {
        let d = l.splat(self.b).mul_add(x, l.splat(self.a) * sign_in(l, x));
        (x.abs(), x * x, d)
    }
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

/// A penalty in lanes: `x ↦ (a, b, d)`, two terms to sum and the gradient to add.
trait PenaltyLanes {
    /// The terms and gradient lanes of one vector of weights `x`; `x = 0` must give
    /// `a = b = 0`.
    fn lanes<L: Lanes>(&self, l: L, x: L::F) -> (L::F, L::F, L::F);
}

/// Runs `f(w) → (a, b, d)` over `w` eight lanes at a time, once on the dispatched lanes:
/// returns `(Σa, Σb)` in `f64` (the blocked sum [`BlockSum`]) and, when `grad` is given (as
/// long as `w`), adds `d` into it. The tail runs through `f` on a zero-padded vector.
#[inline]
fn fold(w: &[f32], grad: Option<&mut [f32]>, f: impl PenaltyLanes) -> (f64, f64) {
    /// The kernel.
    struct Run<'a, P>(&'a [f32], Option<&'a mut [f32]>, P);
    impl<P: PenaltyLanes> WithLanes for Run<'_, P> {
        type Output = (f64, f64);
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) -> (f64, f64) {
            let Run(w, grad, f) = self;
            let (mut a, mut b) = (BlockSum::new(l), BlockSum::new(l));
            let (wc, wt) = w.as_chunks::<LANES>();
            match grad {
                Some(grad) => {
                    let (gc, gt) = grad.as_chunks_mut::<LANES>();
                    for (wa, ga) in wc.iter().zip(gc.iter_mut()) {
                        let (ta, tb, d) = f.lanes(l, l.load(wa));
                        a.add(ta);
                        b.add(tb);
                        (l.load(ga) + d).store(ga);
                    }
                    if !wt.is_empty() {
                        let (ta, tb, d) = f.lanes(l, load_partial_in(l, wt, 0.0));
                        a.add(ta);
                        b.add(tb);
                        store_partial_in(load_partial_in(l, gt, 0.0) + d, gt);
                    }
                }
                None => {
                    for wa in wc {
                        let (ta, tb, _) = f.lanes(l, l.load(wa));
                        a.add(ta);
                        b.add(tb);
                    }
                    if !wt.is_empty() {
                        let (ta, tb, _) = f.lanes(l, load_partial_in(l, wt, 0.0));
                        a.add(ta);
                        b.add(tb);
                    }
                }
            }
            (a.total(), b.total())
        }
    }
    dispatch(Run(w, grad, f))
}
