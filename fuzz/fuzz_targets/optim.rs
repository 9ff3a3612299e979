//! Every optimizer on arbitrary hyper-parameters, lengths, values and sub-slice offsets:
//! `update` returns `Ok` or the documented `Err` (and then writes nothing), never panics, and
//! an `Ok` step agrees with the scalar reference in `tests/reference/optim.rs`.
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

fn optimizer(i: &mut Input) -> Opt {
    let lr = i.hparam(0.0, 1.0);
    let wd = if i.bool() { i.hparam(0.0, 1.0) } else { 0.0 };
    let betas = (i.hparam(0.0, 0.999), i.hparam(0.0, 0.999));
    let eps = i.hparam(0.0, 1e-3);
    let maximize = i.bool();
    match i.byte() % 11 {
        0 => Opt::Sgd(Sgd {
            lr,
            momentum: if i.bool() { i.hparam(0.0, 1.0) } else { 0.0 },
            dampening: if i.bool() { i.hparam(0.0, 1.0) } else { 0.0 },
            weight_decay: wd,
            nesterov: i.bool(),
            maximize,
        }),
        1 => Opt::Adagrad(Adagrad {
            lr,
            lr_decay: i.hparam(0.0, 1.0),
            weight_decay: wd,
            initial_accumulator_value: i.hparam(0.0, 1.0),
            eps,
            maximize,
        }),
        2 => Opt::RmsProp(RmsProp {
            lr,
            alpha: i.hparam(0.0, 1.0),
            eps,
            weight_decay: wd,
            momentum: if i.bool() { i.hparam(0.0, 1.0) } else { 0.0 },
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
            momentum_decay: i.hparam(0.0, 0.1),
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
            rho: i.hparam(0.0, 1.0),
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
            etas: (i.hparam(0.01, 0.99), i.hparam(1.01, 5.0)),
            step_sizes: (i.hparam(0.0, 1e-3), i.hparam(0.0, 50.0)),
            maximize,
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    // The portable lanes round every product, as the references do; the detected lanes may
    // fuse multiply-adds, which the comparison allows for (see `fused_gain`).
    descent::simd::with_isa(descent::Isa::Portable, || run(data, false));
    let isa = descent::Isa::detect();
    if isa != descent::Isa::Portable {
        run(data, descent::simd::fuses_multiply_add(isa));
    }
});

/// The agreement asked of every result, relative to its element's scale.
const REL: f32 = 1e-5;

fn run(data: &[u8], fused: bool) {
    let mut i = Input(data);
    let opt = optimizer(&mut i);
    let o = opt.optimizer();
    let n = i.len(40);
    let off = i.len(3);
    let steps = 1 + i.len(3) as u64;
    let scale = [1.0, 1e-6, 1e6, 1e30][i.byte() as usize % 4];
    // Mostly the right state length, sometimes a wrong one.
    let len = match i.byte() % 16 {
        0 => i.len(200),
        _ => o.state_len(n),
    };
    let mut p = vec![0.0f32; off + n];
    p[off..].copy_from_slice(&i.values(n, scale));
    let mut state = vec![0.0f32; off + len];
    let mut p_ref = p[off..].to_vec();
    let mut s_ref = vec![0.0f32; len];
    let mut counter = 0u64;
    for t in 1..=steps {
        let g = i.values(n, scale);
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
        let planes = o.state_planes().len();
        for k in 0..n {
            // The scale of element k: every input that fed it.
            let mut s = p0[k].abs().max(g[k].abs()).max(g[k] * g[k]);
            let mut huge = huge_finite(p0[k]) || huge_finite(g[k]);
            for plane in 0..planes {
                s = s.max(s0[plane * n + k].abs());
                huge |= huge_finite(s0[plane * n + k]);
            }
            let mut s_param = s;
            if fused {
                // Centered RMSprop's step also feeds its momentum buffer.
                let moved = cancellation(&opt, k, n, p0[k], g[k], &s_ref);
                if moved.is_infinite() {
                    // The variance is rounding noise around zero and eps = 0: `g/a` may be
                    // infinite (or NaN) in one order of operations and finite in another.
                    continue;
                }
                s = s * fused_gain(&opt) + moved / REL;
                // A state that cancelled (`|new|` far below the terms that formed it) carries
                // the fused rounding of those terms, relative to itself, into the step.
                let amplification = (0..planes)
                    .map(|plane| s / s_ref[plane * n + k].abs().max(f32::EPSILON * s))
                    .fold(1.0f32, f32::max);
                s_param = s + (p_ref[k] - p0[k]).abs() * amplification;
            }
            if huge {
                // Finite values near f32::MAX overflow in one order of operations and not in
                // another (m/bc1·lr against m·(lr/bc1)): not comparable.
                continue;
            }
            assert!(
                agree(p[off + k], p_ref[k], s_param, REL),
                "{opt:?} t={t} p[{k}]: {} vs {} (scale {s}; p0 {}, g {}, state {:?})",
                p[off + k],
                p_ref[k],
                p0[k],
                g[k],
                (0..planes).map(|j| s0[j * n + k]).collect::<Vec<_>>()
            );
            for plane in 0..planes {
                let j = plane * n + k;
                assert!(
                    agree(state[off + j], s_ref[j], s, REL),
                    "{opt:?} t={t} state[{j}]: {} vs {} (scale {s}; p0 {}, g {}, state {:?})",
                    state[off + j],
                    s_ref[j],
                    p0[k],
                    g[k],
                    (0..planes).map(|j| s0[j * n + k]).collect::<Vec<_>>()
                );
            }
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
