//! Optimizers that update a whole model's parameters in place, in one fused pass over memory.
//!
//! A model's parameters live in one flat slice, its gradients in another of the same length, and
//! the optimizer's state in a third whose length [`Optimizer::state_len`] gives (each optimizer
//! also has an inherent `const fn state_len` so firmware can size a `static`). One call to
//! [`Optimizer::step`] reads each parameter, gradient and state element once and writes each
//! parameter and state element once: no temporaries, no allocation, eight lanes at a time,
//! on the instruction set [`simd::dispatch`](crate::simd::dispatch) picks once per call
//! (AVX2+FMA on an x86_64 CPU that has them, even in a default build; the portable `wide`
//! lanes otherwise). The paths differ only by fused multiply-adds in the update arithmetic
//! (never in the gradient transforms): at most an ulp of an update's operands per step.
//!
//! ```
//! use descent::optim::{Adam, Optimizer};
//!
//! let adam = Adam { lr: 0.1, ..Adam::DEFAULT };
//! const N: usize = 3;
//! let mut params = [1.0, -2.0, 0.5];
//! let grads = [0.5, -0.5, 0.0];
//! let mut state = [0.0; Adam::DEFAULT.state_len(N)];
//! let mut step = 0; // the step counter torch keeps in `state["step"]`
//! adam.step(&mut step, &mut params, &grads, &mut state)?;
//! assert_eq!(step, 1);
//! // Adam's first step moves every parameter with a non-zero gradient by about lr.
//! assert!((params[0] - 0.9).abs() < 1e-6 && (params[1] + 1.9).abs() < 1e-6);
//! # Ok::<(), descent::Error>(())
//! ```
//!
//! | optimizer | torch | state per parameter |
//! |---|---|---|
//! | [`Sgd`] | `optim.SGD` | 1 with momentum, else 0 |
//! | [`Adagrad`] | `optim.Adagrad` | 1 |
//! | [`RmsProp`] | `optim.RMSprop` | 1, +1 with momentum, +1 centered |
//! | [`Adam`] | `optim.Adam` | 2, +1 with amsgrad |
//! | [`AdamW`] | `optim.AdamW` | 2, +1 with amsgrad |
//! | [`Adamax`] | `optim.Adamax` | 2 |
//! | [`NAdam`] | `optim.NAdam` | 2 (+1 float per group) |
//! | [`RAdam`] | `optim.RAdam` | 2 |
//! | [`Adadelta`] | `optim.Adadelta` | 2 |
//! | [`Rprop`] | `optim.Rprop` | 2 |
//! | [`Lion`] | — (Chen et al. 2023) | 1 |
//!
//! # Conventions, as torch
//! * Each optimizer's hyper-parameters are a plain struct with torch's names; its `DEFAULT`
//!   constant and `Default` are torch's defaults. Hyper-parameters may change between steps
//!   (a schedule sets `lr`, `momentum` or `betas`); the state stays valid as long as its
//!   length does.
//! * `t`, the step number, starts at 1. The state is **initialised by step 1**, whatever it
//!   holds (torch creates it lazily then), so a zeroed or reused buffer both work; the caller
//!   keeps the step counter (a `u64`, torch's `state["step"]`).
//! * Gradient transforms come first: `maximize` negates `g`, then the L2 weight decay
//!   `g += weight_decay·p` (torch's `weight_decay`), or, for the decoupled form (AdamW, and
//!   NAdam/RAdam/Adam with `decoupled_weight_decay`), `p *= 1 − lr·weight_decay` before the
//!   update.
//! * Per-step scalars (bias corrections, `lr/bc`, `1−β`) are computed in `f64` from the `f32`
//!   hyper-parameters and rounded once to `f32`, as torch computes them in Python doubles.
//! * Parameter groups are sub-slices with their own hyper-parameters and step counter:
//!   [`ParamGroup`] and [`step_groups`].
//!
//! # State layout
//! The state slice holds whole planes of `n` floats one after the other, in the order
//! [`Optimizer::state_planes`] names them (torch's `state_dict` keys, e.g. `exp_avg`,
//! `exp_avg_sq`), then the per-group scalars [`Optimizer::state_scalars`] names (NAdam's
//! `mu_product`).
//!
//! # Errors
//! Every optimizer checks before it writes anything: `grads` and `state` lengths
//! ([`Error::LengthMismatch`]), an empty parameter slice ([`Error::ZeroDimension`], as torch
//! refuses an empty parameter list), hyper-parameters where torch's constructor raises, plus NaN
//! and infinities ([`Error::InvalidHyperParameter`] naming torch's argument), and `t = 0`
//! (`"step"`).
//!
//! # How an optimizer is written
//! Each optimizer is one file that declares what is its own: its hyper-parameter struct and
//! `DEFAULT`, a `const fn state_planes`, and an impl of the crate's `Rule` trait (its checks,
//! gradient transform, first-step state, per-step scalars and per-element update on lanes).
//! One shared driver does the checks, the first-step state, the dispatch and the fused pass
//! for all of them, and one line in the `optimizers!` list of this module adds the
//! [`Optimizer`] impl, `Default` and the `const fn state_len`. The repository's
//! `ARCHITECTURE.md` ("How to add an optimizer") walks through adding one ([`Rprop`]).

mod group;
mod lanes;
mod moments;
mod rule;

pub use group::{groups_state_len, step_groups, ParamGroup};

/// The optimizers, one file each: `file: Types;`. Declares the module, re-exports its types,
/// and gives each type (from its [`Rule`](rule::Rule), its `DEFAULT` and its inherent
/// `const fn state_planes`) `Default`, the `const fn state_len` and the [`Optimizer`] impl.
macro_rules! optimizers {
    ($($file:ident: $($ty:ident),+;)+) => {
        $(
            mod $file;
            pub use $file::{$($ty),+};
            $(optimizers!(@impl $ty);)+
        )+
    };
    (@impl $ty:ident) => {
        impl Default for $ty {
            fn default() -> Self {
                Self::DEFAULT
            }
        }

        impl $ty {
            /// Floats of state for `n` parameters: `state_planes().len()·n` plus the scalar
            /// slots (saturating); a `const fn`, so firmware can size a `static`.
            pub const fn state_len(&self, n: usize) -> usize {
                let scalars = <$ty as rule::Rule>::SCALARS.len();
                rule::state_len(self.state_planes().len(), scalars, n)
            }
        }

        impl Optimizer for $ty {
            fn state_planes(&self) -> &'static [&'static str] {
                <$ty>::state_planes(self)
            }

            fn state_scalars(&self) -> &'static [&'static str] {
                <$ty as rule::Rule>::SCALARS
            }

            fn state_len(&self, n: usize) -> usize {
                <$ty>::state_len(self, n)
            }

            fn lr(&self) -> f32 {
                self.lr
            }

            fn set_lr(&mut self, lr: f32) {
                self.lr = lr;
            }

            fn validate(&self) -> Result<()> {
                <$ty as rule::Rule>::validate(self)
            }

            fn update(
                &self,
                t: u64,
                params: &mut [f32],
                grads: &[f32],
                state: &mut [f32],
            ) -> Result<()> {
                rule::update(self, t, params, grads, state)
            }
        }
    };
}

optimizers! {
    adadelta: Adadelta;
    adagrad: Adagrad;
    adam: Adam;
    adamax: Adamax;
    lion: Lion;
    nadam: NAdam;
    radam: RAdam;
    rmsprop: RmsProp;
    rprop: Rprop;
    sgd: Sgd;
}

pub use adam::AdamW;

use crate::{Error, Result};

/// What every optimizer does: validate its hyper-parameters, size its state, and apply one
/// step to a flat slice of parameters.
pub trait Optimizer {
    /// The names of the per-parameter state planes, in the order they sit in the state slice
    /// (torch's `state_dict` keys: `"exp_avg"`, `"exp_avg_sq"`, …). Depends on the
    /// hyper-parameters (e.g. `amsgrad` adds `"max_exp_avg_sq"`).
    fn state_planes(&self) -> &'static [&'static str];

    /// The names of the scalar state slots that follow the planes, one float each per group
    /// (only NAdam has one: `"mu_product"`).
    fn state_scalars(&self) -> &'static [&'static str] {
        &[]
    }

    /// The state length for `n` parameters: `planes·n + scalars` (saturating).
    fn state_len(&self, n: usize) -> usize {
        self.state_planes()
            .len()
            .saturating_mul(n)
            .saturating_add(self.state_scalars().len())
    }

    /// The learning rate (torch's `param_groups[i]["lr"]`).
    fn lr(&self) -> f32;

    /// Sets the learning rate, as a schedule does between steps; the state stays valid.
    fn set_lr(&mut self, lr: f32);

    /// Checks the hyper-parameters where torch's constructor raises, and rejects NaN and
    /// infinite values.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming the first bad one, with torch's name.
    fn validate(&self) -> Result<()>;

    /// Applies step number `t` (1 for the first): updates `params` in place from `grads`,
    /// reading and writing `state`.
    ///
    /// # Errors
    /// See the [module docs](self#errors); nothing is written on error.
    fn update(&self, t: u64, params: &mut [f32], grads: &[f32], state: &mut [f32]) -> Result<()>;

    /// Advances the step counter `step` and applies that step: `*step += 1`, then
    /// [`update`](Optimizer::update) with `t = *step`. On error the counter is left as it was.
    ///
    /// # Errors
    /// As [`update`](Optimizer::update), and [`Error::InvalidHyperParameter`] (`"step"`) when
    /// the counter would overflow.
    fn step(
        &self,
        step: &mut u64,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
    ) -> Result<()> {
        let t = step
            .checked_add(1)
            .ok_or(Error::InvalidHyperParameter { what: "step" })?;
        self.update(t, params, grads, state)?;
        *step = t;
        Ok(())
    }
}

/// `Ok` when `0 ≤ β < 1` (torch's check on `betas`).
pub(crate) fn beta(what: &'static str, b: f32) -> Result<()> {
    if (0.0..1.0).contains(&b) {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// `base^t` in f64 by binary exponentiation (what Python's `beta ** step` computes, to a few
/// f64 ulps), without libm's `pow`.
pub(crate) fn powi(base: f64, mut t: u64) -> f64 {
    let mut result = 1.0;
    let mut b = base;
    while t > 0 {
        if t & 1 == 1 {
            result *= b;
        }
        b *= b;
        t >>= 1;
    }
    result
}
