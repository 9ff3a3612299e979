//! What Adam, NAdam and RAdam share: the gradient transforms and the two moment updates.

use super::lanes::effective_grad;
use crate::simd::{Float8, Lanes};

/// The per-step scalars of the Adam family's common part, computed in f64 from the `f32`
/// hyper-parameters and rounded once (torch computes them in Python doubles): `Moments<f32>`
/// as computed, `Moments<L::F>` splatted into lanes.
pub(super) struct Moments<F> {
    sign: F,
    weight_decay: F,
    decay: F,
    one_minus_beta1: F,
    beta2: F,
    one_minus_beta2: F,
    /// Whether the weight decay is the L2 form added to the gradient (`g += wd·p`).
    pub(super) coupled: bool,
}

impl Moments<f32> {
    /// The scalars for `lr`, `betas`, `weight_decay`, the decay's form and `maximize`.
    pub(super) fn new(
        lr: f32,
        betas: (f32, f32),
        weight_decay: f32,
        decoupled: bool,
        maximize: bool,
    ) -> Self {
        let decay = if decoupled {
            1.0 - lr as f64 * weight_decay as f64
        } else {
            1.0
        };
        Moments {
            sign: if maximize { -1.0 } else { 1.0 },
            weight_decay,
            decay: decay as f32,
            one_minus_beta1: (1.0 - betas.0 as f64) as f32,
            beta2: betas.1,
            one_minus_beta2: (1.0 - betas.1 as f64) as f32,
            coupled: weight_decay != 0.0 && !decoupled,
        }
    }

    /// The scalars in every lane of `l`.
    #[inline(always)]
    pub(super) fn splat<L: Lanes>(&self, l: L) -> Moments<L::F> {
        Moments {
            sign: l.splat(self.sign),
            weight_decay: l.splat(self.weight_decay),
            decay: l.splat(self.decay),
            one_minus_beta1: l.splat(self.one_minus_beta1),
            beta2: l.splat(self.beta2),
            one_minus_beta2: l.splat(self.one_minus_beta2),
            coupled: self.coupled,
        }
    }
}

impl<F: Float8> Moments<F> {
    /// One step of the common part, for `DECAY` = [`coupled`](Self::coupled): returns the
    /// parameter after the decoupled decay, the transformed gradient, and the moments
    /// `m = m + (1−β₁)·(g − m)` (torch's lerp) and `v = β₂·v + (1−β₂)·g²`.
    #[inline(always)]
    pub(super) fn step<const DECAY: bool>(&self, p: F, g: F, m: F, v: F) -> (F, F, F, F) {
        let g = effective_grad::<DECAY, _>(g, p, self.sign, self.weight_decay);
        let p = p * self.decay;
        let m = self.one_minus_beta1.mul_add(g - m, m);
        let v = v * self.beta2 + self.one_minus_beta2 * g * g;
        (p, g, m, v)
    }
}
