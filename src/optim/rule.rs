//! The declarative form of an optimizer, and the one driver that runs every optimizer.
//!
//! An optimizer states what is its own in a [`Rule`]: its hyper-parameter checks, its gradient
//! transform, the value step 1 gives its state, its per-step scalars and its per-element
//! update. Its state planes are named by its inherent `const fn state_planes` and its scalar
//! slots by [`Rule::SCALARS`], the one source of both `state_len`s (the inherent `const fn` and
//! [`Optimizer::state_len`]). [`update`] does everything else, the same way for all: the
//! checks (nothing written on error), the first-step state, the run-time dispatch
//! ([`simd::dispatch`]) and the gradient transform; the `optimizers!` list in the module root
//! adds the [`Optimizer`] impl, `Default` and the `const fn state_len` (and so parameter
//! groups, which work on any [`Optimizer`]).
//!
//! The per-element update is a closure over lanes that [`Rule::run`] hands to one of the
//! [`Fuse`] loops, the one with as many state planes as the hyper-parameters give (Adam's
//! `amsgrad` adds a plane): the loops have a fixed arity, so the planes stay in registers and
//! the loop bodies carry no bounds checks.

use super::lanes::{effective_grad, fused0, fused1, fused2, fused3};
use super::Optimizer;
use crate::error::{check_len, check_nonzero};
use crate::simd::{self, Lanes, WithLanes};
use crate::{Error, Result};

/// What an optimizer declares; [`update`] does the rest.
pub(crate) trait Rule {
    /// The names of the scalar state slots after the planes, one float each per group
    /// (torch's `state_dict` keys; only NAdam has one, `"mu_product"`).
    const SCALARS: &'static [&'static str] = &[];

    /// The scalars computed once per step (bias corrections, `lr/bc`, `1−β`), in `f32`.
    type Step;

    /// Checks the hyper-parameters where torch's constructor raises, and rejects NaN and
    /// infinite values.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] naming the first bad one, with torch's name.
    fn validate(&self) -> Result<()>;

    /// The gradient transform torch applies before the update (`maximize`, the L2 decay).
    fn gradient(&self) -> Gradient;

    /// What step 1 writes into every plane before the update (torch creates the state then):
    /// zero unless overridden, `None` where the update writes its planes on step 1 without
    /// reading them (SGD's momentum buffer, Rprop's two planes).
    fn initial(&self) -> Option<f32> {
        Some(0.0)
    }

    /// The scalars of step `t` (1 for the first), computed in `f64` from the `f32`
    /// hyper-parameters and rounded once, as torch computes them in Python doubles. `scalars`
    /// is the state's [`SCALARS`](Rule::SCALARS) slots, which this may read and update; step 1
    /// sets them, whatever they hold.
    fn step(&self, t: u64, scalars: &mut [f32]) -> Self::Step;

    /// The per-element update of one step: picks the loop of `x` with as many planes as the
    /// hyper-parameters give, and hands it the update as a closure over lanes (which gets the
    /// gradient after [`gradient`](Rule::gradient)'s transform). Must be `#[inline(always)]`,
    /// with `#[inline(always)]` closures, so that it compiles for the dispatched instruction set.
    fn run<L: Lanes>(&self, l: L, k: &Self::Step, x: impl Fuse<L>);
}

/// torch's gradient transform: `g = −g` when `maximize`, then `g += weight_decay·p` (the L2
/// decay; skipped when it is zero, as torch does, so an infinite parameter does not make the
/// gradient NaN).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gradient {
    /// Negate the gradient.
    pub maximize: bool,
    /// The L2 penalty added to the gradient: 0 for none, and for a decay decoupled from it.
    pub weight_decay: f32,
}

impl Gradient {
    /// `maximize`, and `weight_decay` added to the gradient (0: none).
    pub(crate) const fn l2(maximize: bool, weight_decay: f32) -> Gradient {
        Gradient {
            maximize,
            weight_decay,
        }
    }
}

/// The fused loops a [`Rule::run`] hands its update to: one pass over the parameters, the
/// gradients and 0 to 3 state planes (in the order of `state_planes`), eight lanes at a time.
/// The closure gets `(p, g, planes…)`, with `g` transformed, and returns the new `p` and
/// planes.
pub(crate) trait Fuse<L: Lanes> {
    /// `p = f(p, g)`, no state planes.
    fn map0(self, f: impl Fn(L::F, L::F) -> L::F);
    /// `(p, s0) = f(p, g, s0)`.
    fn map1(self, f: impl Fn(L::F, L::F, L::F) -> (L::F, L::F));
    /// `(p, s0, s1) = f(p, g, s0, s1)`.
    fn map2(self, f: impl Fn(L::F, L::F, L::F, L::F) -> (L::F, L::F, L::F));
    /// `(p, s0, s1, s2) = f(p, g, s0, s1, s2)`.
    fn map3(self, f: impl Fn(L::F, L::F, L::F, L::F, L::F) -> (L::F, L::F, L::F, L::F));
}

/// `planes·n + scalars` floats (saturating): the state length of any optimizer.
pub(crate) const fn state_len(planes: usize, scalars: usize, n: usize) -> usize {
    planes.saturating_mul(n).saturating_add(scalars)
}

/// Applies step `t` of `rule`: every optimizer's [`Optimizer::update`].
///
/// Checks `t ≥ 1`, a non-empty parameter slice, `grads` as long as `params`, `state` as long
/// as `state_len(n)` and the hyper-parameters before anything is written; on step 1 sets the
/// planes to [`Rule::initial`]; then computes the step's scalars and runs the update on the
/// lanes [`simd::dispatch`] picks.
pub(crate) fn update<R: Rule + Optimizer>(
    rule: &R,
    t: u64,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) -> Result<()> {
    if t == 0 {
        return Err(Error::InvalidHyperParameter { what: "step" });
    }
    let n = params.len();
    check_nonzero("params", n)?;
    check_len("grads", grads.len(), n)?;
    check_len("state", state.len(), rule.state_len(n))?;
    Rule::validate(rule)?;
    // Never short: the state holds `planes·n + scalars` floats.
    let at = rule.state_planes().len().saturating_mul(n);
    let (planes, scalars) = state.split_at_mut_checked(at).unwrap_or_default();
    if t == 1 {
        if let Some(x) = rule.initial() {
            planes.fill(x);
        }
    }
    let k = Rule::step(rule, t, scalars);
    let Gradient {
        maximize,
        weight_decay,
    } = rule.gradient();
    simd::dispatch(Kernel {
        rule,
        k,
        sign: if maximize { -1.0 } else { 1.0 },
        weight_decay,
        params,
        grads,
        planes,
    });
    Ok(())
}

/// One step of a [`Rule`] over checked slices, for [`simd::dispatch`].
struct Kernel<'a, R: Rule> {
    rule: &'a R,
    k: R::Step,
    sign: f32,
    weight_decay: f32,
    params: &'a mut [f32],
    grads: &'a [f32],
    planes: &'a mut [f32],
}

impl<R: Rule> WithLanes for Kernel<'_, R> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let (rule, k) = (self.rule, &self.k);
        let (sign, weight_decay) = (l.splat(self.sign), l.splat(self.weight_decay));
        let (params, grads, planes) = (self.params, self.grads, self.planes);
        if self.weight_decay != 0.0 {
            rule.run(
                l,
                k,
                Pass::<L, true> {
                    l,
                    sign,
                    weight_decay,
                    params,
                    grads,
                    planes,
                },
            );
        } else {
            rule.run(
                l,
                k,
                Pass::<L, false> {
                    l,
                    sign,
                    weight_decay,
                    params,
                    grads,
                    planes,
                },
            );
        }
    }
}

/// The slices of one step on the lanes `L`, with the gradient transform (`DECAY`: the L2
/// decay is on) applied before the update.
struct Pass<'a, L: Lanes, const DECAY: bool> {
    l: L,
    sign: L::F,
    weight_decay: L::F,
    params: &'a mut [f32],
    grads: &'a [f32],
    planes: &'a mut [f32],
}

impl<L: Lanes, const DECAY: bool> Fuse<L> for Pass<'_, L, DECAY> {
    #[inline(always)]
    fn map0(self, f: impl Fn(L::F, L::F) -> L::F) {
        let (sign, wd) = (self.sign, self.weight_decay);
        fused0(
            self.l,
            self.params,
            self.grads,
            #[inline(always)]
            |p, g| f(p, effective_grad::<DECAY, _>(g, p, sign, wd)),
        );
    }

    #[inline(always)]
    fn map1(self, f: impl Fn(L::F, L::F, L::F) -> (L::F, L::F)) {
        let (sign, wd) = (self.sign, self.weight_decay);
        let [a] = planes::<1>(self.planes, self.params.len());
        fused1(
            self.l,
            self.params,
            self.grads,
            a,
            #[inline(always)]
            |p, g, a| f(p, effective_grad::<DECAY, _>(g, p, sign, wd), a),
        );
    }

    #[inline(always)]
    fn map2(self, f: impl Fn(L::F, L::F, L::F, L::F) -> (L::F, L::F, L::F)) {
        let (sign, wd) = (self.sign, self.weight_decay);
        let [a, b] = planes::<2>(self.planes, self.params.len());
        fused2(
            self.l,
            self.params,
            self.grads,
            a,
            b,
            #[inline(always)]
            |p, g, a, b| f(p, effective_grad::<DECAY, _>(g, p, sign, wd), a, b),
        );
    }

    #[inline(always)]
    fn map3(self, f: impl Fn(L::F, L::F, L::F, L::F, L::F) -> (L::F, L::F, L::F, L::F)) {
        let (sign, wd) = (self.sign, self.weight_decay);
        let [a, b, c] = planes::<3>(self.planes, self.params.len());
        fused3(
            self.l,
            self.params,
            self.grads,
            a,
            b,
            c,
            #[inline(always)]
            |p, g, a, b, c| f(p, effective_grad::<DECAY, _>(g, p, sign, wd), a, b, c),
        );
    }
}

/// Splits `state` into its first `K` planes of `n` floats (the caller checked the length; a
/// short state gives short planes, which the lane loops treat as fewer elements).
fn planes<const K: usize>(state: &mut [f32], n: usize) -> [&mut [f32]; K] {
    let mut rest = state;
    core::array::from_fn(|_| {
        let all = core::mem::take(&mut rest);
        let (plane, tail) = all.split_at_mut(n.min(all.len()));
        rest = tail;
        plane
    })
}
