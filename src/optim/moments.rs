//! What Adam, NAdam and RAdam share: the gradient transforms and the two moment updates.

use super::lanes::effective_grad;
use crate::simd::f32x8;

/// The per-step scalars of the Adam family's common part, computed in f64 from the `f32`
/// hyper-parameters and rounded once (torch computes them in Python doubles).
pub(super) struct Moments {
    sign: f32x8,
    weight_decay: f32x8,
    decay: f32x8,
    one_minus_beta1: f32x8,
    beta2: f32x8,
    one_minus_beta2: f32x8,
    /// Whether the weight decay is the L2 form added to the gradient (`g += wd·p`).
    pub(super) coupled: bool,
}

impl Moments {
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
            sign: f32x8::splat(if maximize { -1.0 } else { 1.0 }),
            weight_decay: f32x8::splat(weight_decay),
            decay: f32x8::splat(decay as f32),
            one_minus_beta1: f32x8::splat((1.0 - betas.0 as f64) as f32),
            beta2: f32x8::splat(betas.1),
            one_minus_beta2: f32x8::splat((1.0 - betas.1 as f64) as f32),
            coupled: weight_decay != 0.0 && !decoupled,
        }
    }

    /// One step of the common part, for `DECAY` = [`coupled`](Self::coupled): returns the
    /// parameter after the decoupled decay, the transformed gradient, and the moments
    /// `m = m + (1−β₁)·(g − m)` (torch's lerp) and `v = β₂·v + (1−β₂)·g²`.
    #[inline(always)]
    pub(super) fn step<const DECAY: bool>(
        &self,
        p: f32x8,
        g: f32x8,
        m: f32x8,
        v: f32x8,
    ) -> (f32x8, f32x8, f32x8, f32x8) {
        let g = effective_grad::<DECAY>(g, p, self.sign, self.weight_decay);
        let p = p * self.decay;
        let m = self.one_minus_beta1.mul_add(g - m, m);
        let v = v * self.beta2 + self.one_minus_beta2 * g * g;
        (p, g, m, v)
    }
}
