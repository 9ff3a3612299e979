//! Every optimizer on arbitrary hyper-parameters, lengths, values and sub-slice offsets:
//! `update` returns `Ok` or the documented `Err` (and then writes nothing), never panics, and
//! an `Ok` step agrees with the scalar reference in `tests/reference/optim.rs`: every
//! parameter, every state plane and the scalars (NAdam's `mu_product`), element by element with
//! each output's own scale and tolerance (see [`run`]).
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/optim.rs"]
mod reference;

use descent::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, RAdam, RmsProp, Rprop, Sgd,
};
use descent::Error;
use input::{agree, Input};
use libfuzzer_sys::fuzz_target;
use reference::Opt;

/// A hyper-parameter in `[lo, hi]`; in a wild draw, as [`Input::hparam`] (one in eight an edge
/// case or raw bits, most of them invalid).
fn hp(i: &mut Input, wild: bool, lo: f32, hi: f32) -> f32 {
    if wild {
        i.hparam(lo, hi)
    } else {
        lo + (hi - lo) * (i.u32() as f32 / u32::MAX as f32)
    }
}

/// An optimizer with its hyper-parameters: one draw in four is wild (edge cases that mostly
/// fail validation), the others are in range, so that most executions reach a comparison.
fn optimizer(i: &mut Input) -> Opt {
    // An exhausted input reads zeros: let those be the ordinary, in-range case.
    let wild = i.byte() % 4 == 3;
    let lr = hp(i, wild, 0.0, 1.0);
    let wd = if i.bool() { hp(i, wild, 0.0, 1.0) } else { 0.0 };
    let betas = (hp(i, wild, 0.0, 0.999), hp(i, wild, 0.0, 0.999));
    let eps = hp(i, wild, 0.0, 1e-3);
    let maximize = i.bool();
    match i.byte() % 11 {
        0 => Opt::Sgd(Sgd {
            lr,
            momentum: if i.bool() { hp(i, wild, 0.0, 1.0) } else { 0.0 },
            dampening: if i.bool() { hp(i, wild, 0.0, 1.0) } else { 0.0 },
            weight_decay: wd,
            nesterov: i.bool(),
            maximize,
        }),
        1 => Opt::Adagrad(Adagrad {
            lr,
            lr_decay: hp(i, wild, 0.0, 1.0),
            weight_decay: wd,
            initial_accumulator_value: hp(i, wild, 0.0, 1.0),
            eps,
            maximize,
        }),
        2 => Opt::RmsProp(RmsProp {
            lr,
            alpha: hp(i, wild, 0.0, 1.0),
            eps,
            weight_decay: wd,
            momentum: if i.bool() { hp(i, wild, 0.0, 1.0) } else { 0.0 },
            centered: i.bool(),
            maximize,
        }),
        3 => Opt::Adam(Adam {
            lr,
            betas,
            eps,
            weight_decay: wd,
            amsgrad: i.bool(),
            maximize,
            decoupled_weight_decay: i.bool(),
        }),
        4 => Opt::AdamW(AdamW {
            lr,
            betas,
            eps,
            weight_decay: wd,
            amsgrad: i.bool(),
            maximize,
        }),
        5 => Opt::Adamax(Adamax {
            lr,
            betas,
            eps,
            weight_decay: wd,
            maximize,
        }),
        6 => Opt::NAdam(NAdam {
            lr,
            betas,
            eps,
            weight_decay: wd,
            momentum_decay: hp(i, wild, 0.0, 0.1),
            decoupled_weight_decay: i.bool(),
            maximize,
        }),
        7 => Opt::RAdam(RAdam {
            lr,
            betas,
            eps,
            weight_decay: wd,
            decoupled_weight_decay: i.bool(),
            maximize,
        }),
        8 => Opt::Adadelta(Adadelta {
            lr,
            rho: hp(i, wild, 0.0, 1.0),
            eps,
            weight_decay: wd,
            maximize,
        }),
        9 => Opt::Lion(Lion {
            lr,
            betas,
            weight_decay: wd,
            maximize,
        }),
        _ => Opt::Rprop(Rprop {
            lr,
            etas: (hp(i, wild, 0.01, 0.99), hp(i, wild, 1.01, 5.0)),
            step_sizes: (hp(i, wild, 0.0, 1e-3), hp(i, wild, 0.0, 50.0)),
            maximize,
        }),
    }
}

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    // The portable lanes round every product, as the references do; the detected lanes may
    // fuse multiply-adds, which the comparison allows for (see `fused_gain`).
    descent::simd::with_isa(descent::Isa::Portable, || run(data, false));
    let isa = descent::Isa::detect();
    if isa != descent::Isa::Portable {
        run(data, descent::simd::fuses_multiply_add(isa));
    }
}

/// The agreement asked of each output, in units of `u = 2⁻²⁴` of that output's own scale
/// (see [`run`]). A state plane is one or two roundings per operation of a lerp or a
/// multiply-add (`m + (1−β)·(g − m)`, `β·v + (1−β)·g·g`, `v + g²`, `max(β·u, |g| + ε)`) after the
/// weight decay's `g + λ·p`: at most 6 roundings of the terms' magnitudes, rounded up to 8.
/// The parameter's step is a chain of about a dozen roundings (the bias corrections and their
/// square roots, `√v`, `+ ε`, the division, `lr·`, NAdam's two terms, RAdam's rectification)
/// on top of its state planes' errors, rounded up to 32.
const REL_STATE: f32 = 8.0 / 16_777_216.0;
const REL_PARAM: f32 = 32.0 / 16_777_216.0;
/// NAdam's `mu_product ← mu_product·μₜ`: `μₜ` rounded to `f32` and the product: 2 roundings,
/// rounded up to 4.
const REL_SCALAR: f32 = 4.0 / 16_777_216.0;

/// One run of up to 4 steps. Each element `k` is compared with its own scales, from the inputs
/// that element depends on (never the largest over the call):
/// * a state plane: `max(|old|, |new|, |new of the magnitudes|)`, where "the magnitudes" is the
///   reference step run on `|p|`, `|g|` and `|state|` (without `maximize`), which sums the
///   magnitudes of the terms a plane adds up (`β·|m| + (1−β)·(|g| + λ·|p|)`); a plane that
///   cancels far below its terms keeps the terms' scale;
/// * the parameter: `max(|p_old|, |p_new|, |Δ of the magnitudes|, |Δ|·A)`, `Δ` the step and `A`
///   the largest `scale/|new|` over the element's planes: a plane that cancelled carries its
///   terms' rounding, relative to itself, into the step;
/// * the scalars (NAdam's `mu_product`): their own value.
///
/// An element whose inputs exceed `1e15` (squares overflow `f32` in one order of operations and
/// not another) skips itself only.

fn run(data: &[u8], fused: bool) {
    let mut i = Input(data);
    let opt = optimizer(&mut i);
    let o = opt.optimizer();
    let n = i.size(40);
    let off = i.len(3);
    let steps = 1 + i.len(3) as u64;
    let scale = [1.0, 1e-6, 1e6, 1e12][i.byte() as usize % 4];
    // Mostly the right state length, sometimes (1 in 32) a wrong one.
    let len = match i.byte() % 32 {
        31 => i.len(200),
        _ => o.state_len(n),
    };
    let mut p = vec![0.0f32; off + n];
    p[off..].copy_from_slice(&i.mostly_tame(n, scale));
    let mut state = vec![0.0f32; off + len];
    let mut p_ref = p[off..].to_vec();
    let mut s_ref = vec![0.0f32; len];
    let mut counter = 0u64;
    for t in 1..=steps {
        let g = i.mostly_tame(n, scale);
        let (p_before, s_before) = (p.clone(), state.clone());
        let result = o.step(&mut counter, &mut p[off..], &g, &mut state[off..]);
        let valid = o.validate();
        match result {
            Err(e) => {
                // A documented error, and nothing written.
                let expected = if n == 0 {
                    Err(Error::ZeroDimension { what: "params" })
                } else if len != o.state_len(n) {
                    Err(Error::LengthMismatch {
                        what: "state",
                        expected: o.state_len(n),
                        actual: len,
                    })
                } else {
                    valid
                };
                assert_eq!(Err(e), expected);
                assert_eq!(counter, t - 1);
                assert!(same_bits(&p, &p_before) && same_bits(&state, &s_before));
                return;
            }
            Ok(()) => {
                assert!(n > 0 && len == o.state_len(n) && valid.is_ok());
                assert_eq!(counter, t);
            }
        }
        if extreme(&opt) {
            // Hyper-parameters near f32::MAX overflow intermediate products in one order of
            // operations and not in another: only the contract above is checked for them.
            return;
        }
        let (p0, s0) = (p_ref.clone(), s_ref.clone());
        opt.reference_step(t, &mut p_ref, &g, &mut s_ref);
        // The same step on the magnitudes: the scale of the terms behind every result.
        let mut p_abs: Vec<f32> = p0.iter().map(|v| v.abs()).collect();
        let g_abs: Vec<f32> = g.iter().map(|v| v.abs()).collect();
        let mut s_abs: Vec<f32> = s0.iter().map(|v| v.abs()).collect();
        opt.with_maximize(false)
            .reference_step(t, &mut p_abs, &g_abs, &mut s_abs);
        let planes = o.state_planes().len();
        let gain = if fused { fused_gain(&opt) } else { 1.0 };
        for k in 0..n {
            let huge = huge_finite(p0[k])
                || huge_finite(g[k])
                || (0..planes).any(|plane| huge_finite(s0[plane * n + k]));
            if huge {
                continue;
            }
            let mut amplification = 1.0f32;
            let mut plane_scales = Vec::with_capacity(planes);
            for plane in 0..planes {
                let j = plane * n + k;
                let sc = s0[j].abs().max(s_ref[j].abs()).max(s_abs[j].abs());
                amplification = amplification.max(sc / s_ref[j].abs().max(f32::EPSILON * sc));
                plane_scales.push(sc);
            }
            let step = (p_ref[k] - p0[k]).abs();
            let step_abs = (p_abs[k] - p0[k].abs()).abs();
            let mut s_param = p0[k]
                .abs()
                .max(p_ref[k].abs())
                .max(if step_abs.is_finite() { step_abs } else { 0.0 })
                .max(step * amplification);
            // Centered RMSprop's step through a cancelling variance (zero elsewhere); it also
            // feeds the momentum buffer.
            let moved = if fused {
                cancellation(&opt, k, n, p0[k], g[k], &s_ref)
            } else {
                0.0
            };
            if moved.is_infinite() {
                // The variance is rounding noise around zero and eps = 0: `g/a` may be
                // infinite (or NaN) in one order of operations and finite in another.
                continue;
            }
            s_param += moved / (REL_PARAM * gain);
            // A subnormal learning rate: the per-step scalar built from it is rounded on the
            // subnormal grid (up to 2⁻¹⁵⁰ absolutely per rounding), which the update's other
            // factors (about `step_abs / lr`) then multiply.
            let lr = hyper_parameters(&opt)[0].abs();
            if lr > 0.0 && lr < f32::MIN_POSITIVE && step_abs.is_finite() {
                let tiny = f64::from(f32::from_bits(1));
                let sub = 4.0 * tiny * f64::from(step_abs) / f64::from(lr);
                s_param += (sub / f64::from(REL_PARAM * gain)) as f32;
            }
            let ctx = || {
                format!(
                    "{opt:?} t={t} k={k}: p0 {}, g {}, state {:?}",
                    p0[k],
                    g[k],
                    (0..planes).map(|j| s0[j * n + k]).collect::<Vec<_>>()
                )
            };
            assert!(
                agree(p[off + k], p_ref[k], s_param, REL_PARAM * gain),
                "p: {} vs {} (scale {s_param}); {}",
                p[off + k],
                p_ref[k],
                ctx()
            );
            for (plane, sc) in plane_scales.into_iter().enumerate() {
                let j = plane * n + k;
                let sc = sc + moved / (REL_STATE * gain);
                assert!(
                    agree(state[off + j], s_ref[j], sc, REL_STATE * gain),
                    "state[{j}]: {} vs {} (scale {sc}); {}",
                    state[off + j],
                    s_ref[j],
                    ctx()
                );
            }
        }
        // The scalars after the planes (NAdam's `mu_product`), against their own value.
        for j in planes * n..len {
            assert!(
                agree(state[off + j], s_ref[j], 0.0, REL_SCALAR),
                "{opt:?} t={t} scalar state[{j}]: {} vs {}",
                state[off + j],
                s_ref[j]
            );
        }
        // Carry on from our own result so the steps stay comparable.
        p_ref.copy_from_slice(&p[off..]);
        s_ref.copy_from_slice(&state[off..]);
    }
}

/// How much a fused multiply-add can move a result, relative to the element's scale.
///
/// A fused `a·b + c` skips the rounding of `a·b`, at most `u·|a·b|`; the references round it.
/// In every optimizer `a` is a hyper-parameter or a product of them and `b` an input, a state
/// or an intermediate of the same scale, so the difference is bounded by the element's scale
/// times the product of the hyper-parameters that exceed 1 (1 for the usual ones).
fn fused_gain(opt: &Opt) -> f32 {
    hyper_parameters(opt)
        .iter()
        .fold(1.0f32, |gain, h| gain * h.abs().max(1.0))
}

/// How far a step through a cancellation may move, in absolute terms.
///
/// Centered RMSprop divides by `a = √(v − ḡ²) + eps`. Roundings of `v` and `ḡ` (fused or not)
/// move `d = v − ḡ²` by up to `δ = 4u·(v + ḡ²)`, which is large relative to `d` where the two
/// nearly cancel, and may even reach its sign. `a` then lies anywhere in
/// `[√max(d − δ, 0) + eps, √(d + δ) + eps]`, and the step `g/a` (`g` after weight decay) anywhere between `g`
/// over those ends; the step feeds the momentum buffer and, times `lr`, the parameter.
fn cancellation(opt: &Opt, k: usize, n: usize, p: f32, g: f32, state: &[f32]) -> f32 {
    let Opt::RmsProp(o) = opt else { return 0.0 };
    if !o.centered {
        return 0.0;
    }
    let planes = 2 + (o.momentum > 0.0) as usize;
    let (v, gm) = (state[k] as f64, state[(planes - 1) * n + k] as f64);
    let d = v - gm * gm;
    let delta = 4.0 * f32::EPSILON as f64 * (v.abs() + gm * gm);
    let eps = o.eps as f64;
    let a_min = (d - delta).max(0.0).sqrt() + eps;
    let a_max = (d + delta).max(0.0).sqrt() + eps;
    // The gradient after weight decay, at most `|g| + wd·|p|`.
    // (A NaN parameter makes every result NaN, which `agree` compares by itself.)
    let decay = o.weight_decay as f64 * p.abs() as f64;
    let g = g.abs() as f64 + if decay.is_nan() { 0.0 } else { decay };
    let moved = (g / a_min - g / a_max) * (o.lr as f64).max(1.0);
    // `0/0` where both ends are zero (eps = 0, g = 0): the step is NaN or 0, not comparable.
    if moved.is_nan() {
        f32::INFINITY
    } else {
        moved as f32
    }
}

/// Every hyper-parameter of `opt` that multiplies a value.
fn hyper_parameters(opt: &Opt) -> Vec<f32> {
    match *opt {
        Opt::Sgd(o) => vec![o.lr, o.momentum, o.dampening, o.weight_decay],
        Opt::Adagrad(o) => vec![
            o.lr,
            o.lr_decay,
            o.weight_decay,
            o.initial_accumulator_value,
            o.eps,
        ],
        Opt::RmsProp(o) => vec![o.lr, o.alpha, o.eps, o.weight_decay, o.momentum],
        Opt::Adam(o) => vec![o.lr, o.eps, o.weight_decay],
        Opt::AdamW(o) => vec![o.lr, o.eps, o.weight_decay],
        Opt::Adamax(o) => vec![o.lr, o.eps, o.weight_decay],
        Opt::NAdam(o) => vec![o.lr, o.eps, o.weight_decay, o.momentum_decay],
        Opt::RAdam(o) => vec![o.lr, o.eps, o.weight_decay],
        Opt::Adadelta(o) => vec![o.lr, o.rho, o.eps, o.weight_decay],
        Opt::Lion(o) => vec![o.lr, o.weight_decay],
        Opt::Rprop(o) => vec![o.lr, o.step_sizes.0, o.step_sizes.1],
    }
}

/// Whether a hyper-parameter is beyond any sensible range (|x| > 1e6).
fn extreme(opt: &Opt) -> bool {
    hyper_parameters(opt).iter().any(|x| x.abs() > 1e6)
}

/// A finite value whose square or product with a moderate factor may overflow.
fn huge_finite(x: f32) -> bool {
    x.is_finite() && x.abs() > 1e15
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}
