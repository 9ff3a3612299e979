//! What the Adam family shares: the hyper-parameter checks, the weight decay's two forms and
//! the two moment updates.

use super::beta;
use super::rule::Gradient;
use crate::error::check_non_negative;
use crate::simd::{Float8, Lanes};
use crate::Result;

/// torch's gradient transform for the Adam family: the L2 `weight_decay` added to the
/// gradient, unless `decoupled` (then [`Moments::step`] decays the parameter instead).
pub(super) fn gradient(maximize: bool, weight_decay: f32, decoupled: bool) -> Gradient {
    Gradient::l2(maximize, if decoupled { 0.0 } else { weight_decay })
}

/// The checks of the Adam family's hyper-parameters (Adam, Adamax, NAdam, RAdam), as torch's
/// constructors: `lr`, `eps` and `weight_decay` finite and `≥ 0`, both `betas` in `[0, 1)`.
pub(super) fn validate(lr: f32, eps: f32, betas: (f32, f32), weight_decay: f32) -> Result<()> {
    check_non_negative("lr", lr)?;
    check_non_negative("eps", eps)?;
    beta("betas", betas.0)?;
    beta("betas", betas.1)?;
    check_non_negative("weight_decay", weight_decay)
}

/// The per-step scalars of the Adam family's common part, computed in f64 from the `f32`
/// hyper-parameters and rounded once (torch computes them in Python doubles): `Moments<f32>`
/// as computed, `Moments<L::F>` splatted into lanes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moments<F> {
    decay: F,
    one_minus_beta1: F,
    beta2: F,
    one_minus_beta2: F,
}

impl Moments<f32> {
    /// The scalars for `lr`, `betas`, `weight_decay` and the decay's form.
    pub(super) fn new(lr: f32, betas: (f32, f32), weight_decay: f32, decoupled: bool) -> Self {
        let decay = if decoupled {
            1.0 - lr as f64 * weight_decay as f64
        } else {
            1.0
        };
        Moments {
            decay: decay as f32,
            one_minus_beta1: (1.0 - betas.0 as f64) as f32,
            beta2: betas.1,
            one_minus_beta2: (1.0 - betas.1 as f64) as f32,
        }
    }

    /// The scalars in every lane of `l`.
    #[inline(always)]
    pub(super) fn splat<L: Lanes>(&self, l: L) -> Moments<L::F> {
        Moments {
            decay: l.splat(self.decay),
            one_minus_beta1: l.splat(self.one_minus_beta1),
            beta2: l.splat(self.beta2),
            one_minus_beta2: l.splat(self.one_minus_beta2),
        }
    }
}

impl<F: Float8> Moments<F> {
    /// One step of the common part on the transformed gradient `g`: returns the parameter
    /// after the decoupled decay (`p·(1 − lr·wd)`, `p·1` otherwise), and the moments
    /// `m = m + (1−β₁)·(g − m)` (torch's lerp) and `v = β₂·v + (1−β₂)·g²`.
    #[inline(always)]
    pub(super) fn step(&self, p: F, g: F, m: F, v: F) -> (F, F, F) {
        let p = p * self.decay;
        let m = self.one_minus_beta1.mul_add(g - m, m);
        let v = v * self.beta2 + self.one_minus_beta2 * g * g;
        (p, m, v)
    }
}
