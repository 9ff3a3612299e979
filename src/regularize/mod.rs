//! Regularisation: weight penalties, gradient clipping, weight constraints and magnitude
//! pruning, all in place on caller slices, without allocation.
//!
//! | function | formula | torch |
//! |---|---|---|
//! | [`l1`] | `λ·Σ|w|`, `grad += λ·sign(w)` | `lam * w.abs().sum()` |
//! | [`l2`] | `½·λ·Σw²`, `grad += λ·w` (`half`), or `λ·Σw²`, `grad += 2λ·w` | optimizers' `weight_decay` (`half`) |
//! | [`elastic_net`] | `λ·(r·Σ|w| + ½(1−r)·Σw²)` | — (scikit-learn's convention) |
//! | [`clip_grad_norm`], [`clip_grad_norm_flat`] | `g *= min(1, max_norm/(‖g‖ + 1e-6))` | `nn.utils.clip_grad_norm_` |
//! | [`grad_norm`] | `‖g‖_p` over several slices | `nn.utils.get_total_norm` |
//! | [`clip_grads_with_norm`] | `g *= min(1, max_norm/(total + 1e-6))` | `nn.utils.clip_grads_with_norm_` |
//! | [`clip_grad_value`], [`clip_grad_value_flat`] | `g = clamp(g, −c, c)` | `nn.utils.clip_grad_value_` |
//! | [`clamp`] | `w = min(max(w, lo), hi)` | `Tensor.clamp_` |
//! | [`max_norm_rows`] | rows with `‖r‖ > m` scaled by `m/(‖r‖ + 1e-7)` | `Tensor.renorm_(2, 0, m)` |
//! | [`magnitude_mask`], [`global_magnitude_mask`] | 0 for the `k` smallest `|w|` | `prune.l1_unstructured`, `prune.global_unstructured` |
//! | [`apply_mask`] | `x *= mask` | `weight_orig * weight_mask` |
//!
//! Penalty gradients are **added** into the gradient slice (autograd accumulates into `.grad`),
//! so a penalty is applied after the backward pass of the loss and before the optimizer
//! step. Sums run in eight `f32` lanes within blocks of 256 elements and the blocks in `f64`
//! (the crate's blocked reduction): at most `35·u` relative error for non-negative terms
//! (`u = 2⁻²⁴`) whatever the length. Every call runs once on the lanes
//! [`crate::simd::dispatch`] picks (AVX2+FMA where the CPU has them); the fused multiply-adds of
//! those lanes change results by at most their rounding, within the same bounds. Every function
//! checks its
//! arguments first and writes nothing when it returns an [`Error`](crate::Error); NaN
//! hyper-parameters are errors, NaN data propagate.
//!
//! A training step with all of them, on one flat parameter slice:
//!
//! ```
//! use descent::regularize::{apply_mask, clip_grad_norm_flat, l2, magnitude_mask, Amount, NormType};
//! use descent::simd::axpy;
//!
//! let mut w = [0.8, -0.05, 0.3, 0.01, -1.2, 0.4];
//! let mut mask = [1.0; 6];
//! let mut scratch = [0.0; 6];
//! magnitude_mask(&w, Amount::Fraction(1.0 / 3.0), &mut mask, &mut scratch)?;
//! apply_mask(&mask, &mut w)?;
//!
//! let mut grad = [0.5, 0.1, -2.0, 0.3, 1.0, -0.2]; // from the loss's backward pass
//! let _penalty = l2(&w, 1e-4, true, Some(&mut grad))?; // add it to the loss you report
//! apply_mask(&mask, &mut grad)?;
//! clip_grad_norm_flat(&mut grad, 1.0, NormType::L2)?;
//! axpy(-0.1, &grad, &mut w)?; // SGD
//! apply_mask(&mask, &mut w)?;
//! assert_eq!((w[1], w[3]), (0.0, 0.0));
//! # Ok::<(), descent::Error>(())
//! ```

mod clip;
mod constraint;
mod lanes;
mod penalty;
mod prune;

pub use clip::{
    clip_grad_norm, clip_grad_norm_flat, clip_grad_value, clip_grad_value_flat,
    clip_grads_with_norm, grad_norm, NormType,
};
pub use constraint::{clamp, max_norm_rows};
pub use penalty::{elastic_net, l1, l2};
pub use prune::{apply_mask, global_magnitude_mask, magnitude_mask, prune_scratch_len, Amount};
