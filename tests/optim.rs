//! The optimizers against their scalar references (`tests/reference/optim.rs`): every length
//! 0..=70, unaligned sub-slices, many steps, hyper-parameters changing between steps, garbage
//! state before step 1, parameter groups, and every error path.

mod common;
#[path = "reference/optim.rs"]
mod reference;

use common::{for_each_isa, Rng, U};
use descent::optim::{
    groups_state_len, step_groups, Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, Optimizer,
    ParamGroup, RAdam, RmsProp, Rprop, Sgd,
};
use descent::simd::fuses_multiply_add;
use descent::Error;
use reference::Opt;

/// Every optimizer in several configurations: each flag on and off, weight decay both ways.
fn configurations() -> Vec<Opt> {
    let adam = Adam {
        lr: 0.01,
        ..Adam::DEFAULT
    };
    let rms = RmsProp {
        lr: 0.01,
        ..RmsProp::DEFAULT
    };
    vec![
        Opt::Sgd(Sgd {
            lr: 0.1,
            ..Sgd::DEFAULT
        }),
        Opt::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.1,
            weight_decay: 0.01,
            maximize: true,
            ..Sgd::DEFAULT
        }),
        Opt::Sgd(Sgd {
            lr: 0.05,
            momentum: 0.8,
            nesterov: true,
            ..Sgd::DEFAULT
        }),
        Opt::Adagrad(Adagrad::DEFAULT),
        Opt::Adagrad(Adagrad {
            lr_decay: 0.1,
            weight_decay: 0.05,
            initial_accumulator_value: 0.5,
            maximize: true,
            ..Adagrad::DEFAULT
        }),
        Opt::RmsProp(rms),
        Opt::RmsProp(RmsProp {
            momentum: 0.9,
            ..rms
        }),
        Opt::RmsProp(RmsProp {
            centered: true,
            weight_decay: 0.1,
            ..rms
        }),
        Opt::RmsProp(RmsProp {
            momentum: 0.5,
            centered: true,
            maximize: true,
            ..rms
        }),
        Opt::Adam(adam),
        Opt::Adam(Adam {
            amsgrad: true,
            weight_decay: 0.1,
            ..adam
        }),
        Opt::Adam(Adam {
            weight_decay: 0.1,
            decoupled_weight_decay: true,
            maximize: true,
            ..adam
        }),
        Opt::AdamW(AdamW {
            lr: 0.01,
            amsgrad: true,
            ..AdamW::DEFAULT
        }),
        Opt::AdamW(AdamW {
            lr: 0.02,
            betas: (0.8, 0.95),
            weight_decay: 0.3,
            maximize: true,
            ..AdamW::DEFAULT
        }),
        Opt::Adamax(Adamax::DEFAULT),
        Opt::Adamax(Adamax {
            weight_decay: 0.1,
            maximize: true,
            ..Adamax::DEFAULT
        }),
        Opt::NAdam(NAdam::DEFAULT),
        Opt::NAdam(NAdam {
            weight_decay: 0.1,
            ..NAdam::DEFAULT
        }),
        Opt::NAdam(NAdam {
            weight_decay: 0.1,
            decoupled_weight_decay: true,
            maximize: true,
            ..NAdam::DEFAULT
        }),
        Opt::RAdam(RAdam::DEFAULT),
        Opt::RAdam(RAdam {
            betas: (0.9, 0.9),
            weight_decay: 0.1,
            ..RAdam::DEFAULT
        }),
        Opt::RAdam(RAdam {
            betas: (0.8, 0.95),
            weight_decay: 0.1,
            decoupled_weight_decay: true,
            ..RAdam::DEFAULT
        }),
        Opt::Adadelta(Adadelta::DEFAULT),
        Opt::Adadelta(Adadelta {
            lr: 0.5,
            rho: 0.5,
            weight_decay: 0.1,
            maximize: true,
            ..Adadelta::DEFAULT
        }),
        Opt::Lion(Lion::DEFAULT),
        Opt::Lion(Lion {
            lr: 1e-3,
            weight_decay: 1.0,
            maximize: true,
            ..Lion::DEFAULT
        }),
        Opt::Rprop(Rprop::DEFAULT),
        Opt::Rprop(Rprop {
            lr: 0.1,
            etas: (0.3, 1.5),
            step_sizes: (0.05, 0.2),
            maximize: true,
        }),
    ]
}

/// A gradient with the awkward values optimizers meet: ordinary ones, tiny ones (where the
/// placement of `eps` matters), exact zeros and large ones.
fn gradient(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = rng.next();
            match i % 7 {
                3 => x * 1e-9,
                5 => 0.0,
                6 => x * 100.0,
                _ => x,
            }
        })
        .collect()
}

/// `got` is within `k·steps` units in the last place of the plane's scale of `want`.
fn assert_close(what: &str, got: &[f32], want: &[f32], steps: u64, ctx: &str) {
    assert_close_over(what, got, want, 0.0, steps, ctx);
}

/// [`assert_close`] with the scale at least `history`.
///
/// With fused multiply-adds (the AVX2+FMA lanes), `history` is the largest magnitude the plane
/// had at any step so far. The scalar references round every product before adding it; an
/// FMA rounds `a·b + c` once. The two differ by at most the product's rounding, `u·|a·b|`,
/// which is bounded by the operands of the update (`u·(|new| + |old|)` for an update
/// `new = old + a·b`), not by its result: where an update cancels (`old + a·b ≈ 0`, e.g.
/// torch's lerp `m + (1−β)·(g − m)` when `g ≈ −m·β/(1−β)`), the plane's current values can be
/// far below the old ones that set the difference. Each step adds at most a few such terms
/// and carries the earlier difference with a factor at most 1, so the same `8·steps` units
/// hold, of the largest magnitude seen so far instead of the current one.
fn assert_close_over(what: &str, got: &[f32], want: &[f32], history: f64, steps: u64, ctx: &str) {
    assert_eq!(got.len(), want.len(), "{what} {ctx}");
    let scale = want
        .iter()
        .chain(got)
        .fold(history, |m, v| m.max((*v as f64).abs()));
    let tol = 8.0 * steps as f64 * U * scale;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() {
            assert!(g.is_nan(), "{what}[{i}] {ctx}: got {g}, want NaN");
            continue;
        }
        let err = (*g as f64 - *w as f64).abs();
        assert!(
            err <= tol,
            "{what}[{i}] {ctx}: got {g:e}, want {w:e}, |err| {err:e} > {tol:e}"
        );
    }
}

/// The largest magnitude in `values`.
fn max_abs(values: &[f32]) -> f64 {
    values.iter().fold(0.0f64, |m, v| m.max((*v as f64).abs()))
}

#[test]
fn every_optimizer_matches_its_reference_at_every_length_and_offset() {
    for_each_isa(|isa| {
        for (c, opt) in configurations().into_iter().enumerate() {
            for n in 1..=70 {
                for off in 0..3 {
                    let ctx = format!("{isa} {opt:?} n={n} off={off}");
                    matches_reference(opt, c, n, off, fuses_multiply_add(isa), &ctx);
                }
            }
        }
    });
}

/// Six steps of `opt` on a sub-slice at `off` of `n` parameters against the reference.
fn matches_reference(opt: Opt, c: usize, n: usize, off: usize, fused: bool, ctx: &str) {
    const STEPS: u64 = 6;
    let mut rng = Rng::new((c * 1000 + n * 3 + off) as u64);
    let o = opt.optimizer();
    let len = o.state_len(n);
    let p0 = rng.vec(n);
    // Ours runs on sub-slices of larger buffers whose outside must stay intact.
    let mut p_buf = vec![7.0f32; n + off + 1];
    p_buf[off..off + n].copy_from_slice(&p0);
    let mut s_buf = vec![f32::NAN; len + off + 1];
    s_buf[off + len] = 7.0;
    s_buf[..off].fill(7.0);
    let mut p_ref = p0.clone();
    let mut s_ref = vec![0.0f32; len];
    let mut counter = 0;
    // Per plane (params, each state plane, the scalars): the largest magnitude so far, which
    // sets the scale of the tolerance with fused multiply-adds (see `assert_close_over`).
    let planes = o.state_planes().len();
    let mut history = vec![0.0f64; planes + 2];
    for t in 1..=STEPS {
        let g0 = gradient(&mut rng, n);
        let mut g_buf = vec![0.0f32; n + off];
        g_buf[off..].copy_from_slice(&g0);
        // A schedule changes the learning rate between steps.
        let lr_scale = 1.0 - 0.1 * t as f32;
        let base_lr = match opt {
            Opt::Sgd(o) => o.lr,
            Opt::Adagrad(o) => o.lr,
            Opt::RmsProp(o) => o.lr,
            Opt::Adam(o) => o.lr,
            Opt::AdamW(o) => o.lr,
            Opt::Adamax(o) => o.lr,
            Opt::NAdam(o) => o.lr,
            Opt::RAdam(o) => o.lr,
            Opt::Adadelta(o) => o.lr,
            Opt::Lion(o) => o.lr,
            Opt::Rprop(o) => o.lr,
        };
        let stepped = opt.with_lr(base_lr * lr_scale);
        stepped
            .optimizer()
            .step(
                &mut counter,
                &mut p_buf[off..off + n],
                &g_buf[off..],
                &mut s_buf[off..off + len],
            )
            .unwrap();
        if fused {
            // The state before step 1 is whatever the buffer held: the step starts from 0.
            history[0] = history[0].max(max_abs(&p_ref));
            if t > 1 {
                for k in 0..planes {
                    history[k + 1] = history[k + 1].max(max_abs(&s_ref[k * n..(k + 1) * n]));
                }
                history[planes + 1] = history[planes + 1].max(max_abs(&s_ref[planes * n..]));
            }
        }
        stepped.reference_step(t, &mut p_ref, &g0, &mut s_ref);
        let ctx = format!("{ctx} t={t}");
        assert_eq!(counter, t);
        assert_close_over("params", &p_buf[off..off + n], &p_ref, history[0], t, &ctx);
        for (k, name) in o.state_planes().iter().enumerate() {
            let plane = k * n..(k + 1) * n;
            assert_close_over(
                name,
                &s_buf[off + plane.start..off + plane.end],
                &s_ref[plane],
                history[k + 1],
                t,
                &ctx,
            );
        }
        let scalars = planes * n..len;
        assert_close_over(
            "scalars",
            &s_buf[off + scalars.start..off + scalars.end],
            &s_ref[scalars],
            history[planes + 1],
            t,
            &ctx,
        );
    }
    assert_eq!(p_buf[off + n], 7.0, "{ctx}");
    assert!(p_buf[..off].iter().all(|v| *v == 7.0), "{ctx}");
    assert_eq!(s_buf[off + len], 7.0, "{ctx}");
    assert!(s_buf[..off].iter().all(|v| *v == 7.0), "{ctx}");
}

#[test]
fn lion_follows_the_paper_over_many_steps() {
    for_each_isa(|_| lion_follows_the_paper_over_many_steps_once());
}

/// One instruction set of [`lion_follows_the_paper_over_many_steps`].
fn lion_follows_the_paper_over_many_steps_once() {
    // Lion's sign update makes every parameter move by exactly ±lr (plus decay): check a long
    // run, with β₁ and the learning rate changing as a schedule would change them.
    let n = 37;
    let mut rng = Rng::new(42);
    let mut p = rng.vec(n);
    let mut p_ref = p.clone();
    let mut m = vec![0.0f32; n];
    let mut m_ref = vec![0.0f32; n];
    let mut counter = 0;
    for t in 1..=500u64 {
        let lion = Lion {
            lr: 1e-2 * (1.0 + 0.5 * (t as f32 * 0.01).cos()),
            betas: (if t < 250 { 0.9 } else { 0.95 }, 0.99),
            weight_decay: 0.1,
            maximize: false,
        };
        // A gradient that pulls towards 0.5 plus noise: a real descent.
        let g: Vec<f32> = p.iter().map(|x| (x - 0.5) + 0.1 * rng.next()).collect();
        lion.step(&mut counter, &mut p, &g, &mut m).unwrap();
        Opt::Lion(lion).reference_step(t, &mut p_ref, &g, &mut m_ref);
        assert_close("params", &p, &p_ref, t, &format!("t={t}"));
        assert_close("exp_avg", &m, &m_ref, t, &format!("t={t}"));
    }
    // It converged near the optimum of the decayed objective.
    for x in &p {
        assert!((x - 0.5).abs() < 0.1, "{x}");
    }
}

#[test]
fn centered_rmsprop_never_takes_the_root_of_a_negative_variance() {
    for_each_isa(|isa| {
        // With α near 0, `v ≈ g²` and `ḡ ≈ g`: `v − ḡ²` is rounding noise around zero, often
        // below it (found by the optim fuzz target on the AVX2 lanes, where it gave NaN).
        let n = 67;
        let mut rng = Rng::new(7);
        for momentum in [0.0, 0.66] {
            let o = RmsProp {
                lr: 0.57,
                alpha: 3.2e-8,
                eps: 8.8e-4,
                momentum,
                centered: true,
                ..RmsProp::DEFAULT
            };
            let mut p = rng.vec(n);
            let mut state = vec![0.0f32; o.state_len(n)];
            let mut counter = 0;
            for t in 1..=50 {
                let g: Vec<f32> = (0..n)
                    .map(|i| (i as f32 - 33.0) * 1e-7 * (1.0 + 0.01 * rng.next()))
                    .collect();
                o.step(&mut counter, &mut p, &g, &mut state).unwrap();
                assert!(
                    p.iter().chain(&state).all(|x| x.is_finite()),
                    "{isa} momentum {momentum} t={t}"
                );
            }
        }
    });
}

#[test]
fn step_one_initialises_any_state() {
    for_each_isa(|_| step_one_initialises_any_state_once());
}

/// One instruction set of [`step_one_initialises_any_state`].
fn step_one_initialises_any_state_once() {
    let n = 19;
    let mut rng = Rng::new(3);
    let p0 = rng.vec(n);
    let g = gradient(&mut rng, n);
    for opt in configurations() {
        let o = opt.optimizer();
        let len = o.state_len(n);
        let (mut a, mut b) = (p0.clone(), p0.clone());
        let mut zeros = vec![0.0; len];
        let mut garbage: Vec<f32> = (0..len)
            .map(|i| [f32::NAN, f32::INFINITY, -3.0, 1e30][i % 4])
            .collect();
        o.update(1, &mut a, &g, &mut zeros).unwrap();
        o.update(1, &mut b, &g, &mut garbage).unwrap();
        assert_eq!(a, b, "{opt:?}");
        assert_eq!(zeros, garbage, "{opt:?}");
    }
}

#[test]
fn maximize_equals_negated_gradients() {
    for_each_isa(|_| maximize_equals_negated_gradients_once());
}

/// One instruction set of [`maximize_equals_negated_gradients`].
fn maximize_equals_negated_gradients_once() {
    let n = 23;
    let mut rng = Rng::new(5);
    let p0 = rng.vec(n);
    // Every configuration, each optimizer with its flag flipped both ways.
    let mut flipped_kinds = std::collections::BTreeSet::new();
    for opt in configurations() {
        let flipped = opt.with_maximize(!opt.maximize());
        flipped_kinds.insert(format!("{opt:?}").split('(').next().unwrap().to_string());
        let (o, f) = (opt.optimizer(), flipped.optimizer());
        let (mut a, mut b) = (p0.clone(), p0.clone());
        let (mut sa, mut sb) = (vec![0.0; o.state_len(n)], vec![0.0; f.state_len(n)]);
        let (mut ca, mut cb) = (0, 0);
        for _ in 0..4 {
            let g = gradient(&mut rng, n);
            let neg: Vec<f32> = g.iter().map(|v| -v).collect();
            o.step(&mut ca, &mut a, &g, &mut sa).unwrap();
            f.step(&mut cb, &mut b, &neg, &mut sb).unwrap();
        }
        assert_eq!(a, b, "{opt:?}");
        assert_eq!(sa, sb, "{opt:?}");
    }
    // Every optimizer of `descent::optim`, Rprop included.
    assert_eq!(flipped_kinds.len(), 11, "{flipped_kinds:?}");
}

#[test]
fn adamw_is_adam_with_decoupled_decay() {
    for_each_isa(|_| adamw_is_adam_with_decoupled_decay_once());
}

/// One instruction set of [`adamw_is_adam_with_decoupled_decay`].
fn adamw_is_adam_with_decoupled_decay_once() {
    let n = 29;
    let mut rng = Rng::new(9);
    let p0 = rng.vec(n);
    let w = AdamW {
        lr: 0.01,
        weight_decay: 0.3,
        ..AdamW::DEFAULT
    };
    let a = Adam {
        lr: 0.01,
        weight_decay: 0.3,
        decoupled_weight_decay: true,
        ..Adam::DEFAULT
    };
    assert_eq!(w.as_adam(), a);
    let (mut pw, mut pa) = (p0.clone(), p0.clone());
    let (mut sw, mut sa) = (vec![0.0; w.state_len(n)], vec![0.0; a.state_len(n)]);
    let (mut cw, mut ca) = (0, 0);
    for _ in 0..5 {
        let g = gradient(&mut rng, n);
        w.step(&mut cw, &mut pw, &g, &mut sw).unwrap();
        a.step(&mut ca, &mut pa, &g, &mut sa).unwrap();
    }
    assert_eq!(pw, pa);
    assert_eq!(sw, sa);
    // With a zero gradient AdamW only decays: p·(1 − lr·wd) per step, Adam (L2) does not.
    let mut p = [2.0f32];
    let mut s = [0.0; 2];
    w.update(1, &mut p, &[0.0], &mut s).unwrap();
    assert_eq!(p[0], 2.0 * (1.0 - 0.01f64 * 0.3f32 as f64) as f32);
}

#[test]
fn constant_state_lengths_size_static_buffers() {
    const N: usize = 10;
    // The lengths are constants: firmware sizes its `static` buffers with them.
    const AMS: Adam = Adam {
        amsgrad: true,
        ..Adam::DEFAULT
    };
    static STATE: [f32; AMS.state_len(N)] = [0.0; AMS.state_len(N)];
    assert_eq!(STATE.len(), 3 * N);
    let sgd = Sgd {
        momentum: 0.9,
        ..Sgd::DEFAULT
    };
    let rms = RmsProp {
        momentum: 0.9,
        centered: true,
        ..RmsProp::DEFAULT
    };
    let cases: [(&dyn Optimizer, usize, usize); 12] = [
        (&Sgd::DEFAULT, Sgd::DEFAULT.state_len(N), 0),
        (&sgd, sgd.state_len(N), N),
        (&Adagrad::DEFAULT, Adagrad::DEFAULT.state_len(N), N),
        (&rms, rms.state_len(N), 3 * N),
        (&AMS, AMS.state_len(N), 3 * N),
        (&AdamW::DEFAULT, AdamW::DEFAULT.state_len(N), 2 * N),
        (&Adamax::DEFAULT, Adamax::DEFAULT.state_len(N), 2 * N),
        (&NAdam::DEFAULT, NAdam::DEFAULT.state_len(N), 2 * N + 1),
        (&RAdam::DEFAULT, RAdam::DEFAULT.state_len(N), 2 * N),
        (&Adadelta::DEFAULT, Adadelta::DEFAULT.state_len(N), 2 * N),
        (&Lion::DEFAULT, Lion::DEFAULT.state_len(N), N),
        (&Rprop::DEFAULT, Rprop::DEFAULT.state_len(N), 2 * N),
    ];
    for (o, konst, want) in cases {
        assert_eq!(konst, want);
        assert_eq!(o.state_len(N), want);
        assert_eq!(o.state_planes().len() * N + o.state_scalars().len(), want);
    }
}

#[test]
fn defaults_are_torchs() {
    assert_eq!(Sgd::default().lr, 1e-3);
    assert_eq!(Adagrad::default().eps, 1e-10);
    assert_eq!(Adagrad::default().lr, 1e-2);
    assert_eq!(RmsProp::default().alpha, 0.99);
    assert_eq!(RmsProp::default().lr, 1e-2);
    assert_eq!(Adam::default().betas, (0.9, 0.999));
    assert_eq!(Adam::default().eps, 1e-8);
    assert_eq!(Adam::default().weight_decay, 0.0);
    assert_eq!(AdamW::default().weight_decay, 1e-2);
    assert_eq!(Adamax::default().lr, 2e-3);
    assert_eq!(NAdam::default().momentum_decay, 4e-3);
    assert_eq!(NAdam::default().lr, 2e-3);
    assert_eq!(RAdam::default().lr, 1e-3);
    assert_eq!(Adadelta::default().lr, 1.0);
    assert_eq!(Adadelta::default().rho, 0.9);
    assert_eq!(Adadelta::default().eps, 1e-6);
    assert_eq!(Lion::default().betas, (0.9, 0.99));
    assert_eq!(Rprop::default().lr, 1e-2);
    assert_eq!(Rprop::default().etas, (0.5, 1.2));
    assert_eq!(Rprop::default().step_sizes, (1e-6, 50.0));
}

/// Calls `update` with bad arguments and checks the error and that nothing was written.
fn assert_rejects(opt: &dyn Optimizer, n: usize, state_len: usize, t: u64, want: Error) {
    let mut p = vec![1.5f32; n];
    let g = vec![0.25f32; n];
    let mut s = vec![0.5f32; state_len];
    assert_eq!(opt.update(t, &mut p, &g, &mut s), Err(want));
    assert!(p.iter().all(|v| *v == 1.5));
    assert!(s.iter().all(|v| *v == 0.5));
}

#[test]
fn bad_hyper_parameters_are_rejected_as_torch_does() {
    let bad = |what| Error::InvalidHyperParameter { what };
    let n = 5;
    let cases: Vec<(Box<dyn Optimizer>, &str)> = vec![
        (
            Box::new(Sgd {
                lr: -0.1,
                ..Sgd::DEFAULT
            }),
            "lr",
        ),
        (
            Box::new(Sgd {
                lr: f32::NAN,
                ..Sgd::DEFAULT
            }),
            "lr",
        ),
        (
            Box::new(Sgd {
                momentum: -0.5,
                ..Sgd::DEFAULT
            }),
            "momentum",
        ),
        (
            Box::new(Sgd {
                weight_decay: -1.0,
                ..Sgd::DEFAULT
            }),
            "weight_decay",
        ),
        (
            Box::new(Sgd {
                nesterov: true,
                ..Sgd::DEFAULT
            }),
            "nesterov",
        ),
        (
            Box::new(Sgd {
                nesterov: true,
                momentum: 0.9,
                dampening: 0.1,
                ..Sgd::DEFAULT
            }),
            "nesterov",
        ),
        (
            Box::new(Sgd {
                dampening: f32::INFINITY,
                ..Sgd::DEFAULT
            }),
            "dampening",
        ),
        (
            Box::new(Adagrad {
                lr_decay: -1.0,
                ..Adagrad::DEFAULT
            }),
            "lr_decay",
        ),
        (
            Box::new(Adagrad {
                initial_accumulator_value: -1.0,
                ..Adagrad::DEFAULT
            }),
            "initial_accumulator_value",
        ),
        (
            Box::new(Adagrad {
                eps: -1e-10,
                ..Adagrad::DEFAULT
            }),
            "eps",
        ),
        (
            Box::new(RmsProp {
                alpha: -0.5,
                ..RmsProp::DEFAULT
            }),
            "alpha",
        ),
        (
            Box::new(RmsProp {
                eps: f32::NAN,
                ..RmsProp::DEFAULT
            }),
            "eps",
        ),
        (
            Box::new(Adam {
                betas: (1.0, 0.999),
                ..Adam::DEFAULT
            }),
            "betas",
        ),
        (
            Box::new(Adam {
                betas: (0.9, -0.1),
                ..Adam::DEFAULT
            }),
            "betas",
        ),
        (
            Box::new(Adam {
                betas: (0.9, f32::NAN),
                ..Adam::DEFAULT
            }),
            "betas",
        ),
        (
            Box::new(Adam {
                eps: -1e-8,
                ..Adam::DEFAULT
            }),
            "eps",
        ),
        (
            Box::new(AdamW {
                weight_decay: -0.01,
                ..AdamW::DEFAULT
            }),
            "weight_decay",
        ),
        (
            Box::new(Adamax {
                lr: f32::INFINITY,
                ..Adamax::DEFAULT
            }),
            "lr",
        ),
        (
            Box::new(NAdam {
                momentum_decay: -1.0,
                ..NAdam::DEFAULT
            }),
            "momentum_decay",
        ),
        (
            Box::new(RAdam {
                betas: (0.9, 1.5),
                ..RAdam::DEFAULT
            }),
            "betas",
        ),
        (
            Box::new(Adadelta {
                rho: 1.5,
                ..Adadelta::DEFAULT
            }),
            "rho",
        ),
        (
            Box::new(Adadelta {
                rho: -0.1,
                ..Adadelta::DEFAULT
            }),
            "rho",
        ),
        (
            Box::new(Lion {
                betas: (0.9, 1.1),
                ..Lion::DEFAULT
            }),
            "betas",
        ),
        (
            Box::new(Lion {
                weight_decay: f32::NAN,
                ..Lion::DEFAULT
            }),
            "weight_decay",
        ),
        (
            Box::new(Rprop {
                lr: -0.1,
                ..Rprop::DEFAULT
            }),
            "lr",
        ),
        (
            Box::new(Rprop {
                etas: (0.0, 1.2),
                ..Rprop::DEFAULT
            }),
            "etas",
        ),
        (
            Box::new(Rprop {
                etas: (0.5, 1.0),
                ..Rprop::DEFAULT
            }),
            "etas",
        ),
        (
            Box::new(Rprop {
                etas: (1.0, 1.2),
                ..Rprop::DEFAULT
            }),
            "etas",
        ),
        (
            Box::new(Rprop {
                etas: (0.5, f32::INFINITY),
                ..Rprop::DEFAULT
            }),
            "etas",
        ),
        (
            Box::new(Rprop {
                step_sizes: (f32::NAN, 50.0),
                ..Rprop::DEFAULT
            }),
            "step_sizes",
        ),
    ];
    for (opt, what) in cases {
        assert_eq!(opt.validate(), Err(bad(what)));
        let len = opt.state_len(n);
        assert_rejects(opt.as_ref(), n, len, 1, bad(what));
    }
    // Edges torch accepts: lr 0, betas 0, rho 1, Lion's β = 1.
    let ok: [&dyn Optimizer; 4] = [
        &Sgd {
            lr: 0.0,
            ..Sgd::DEFAULT
        },
        &Adam {
            betas: (0.0, 0.0),
            ..Adam::DEFAULT
        },
        &Adadelta {
            rho: 1.0,
            ..Adadelta::DEFAULT
        },
        &Lion {
            betas: (1.0, 1.0),
            ..Lion::DEFAULT
        },
    ];
    for o in ok {
        assert_eq!(o.validate(), Ok(()));
    }
}

#[test]
fn bad_lengths_and_steps_are_rejected_before_writing() {
    for_each_isa(|_| bad_lengths_and_steps_are_rejected_before_writing_once());
}

/// One instruction set of [`bad_lengths_and_steps_are_rejected_before_writing`].
fn bad_lengths_and_steps_are_rejected_before_writing_once() {
    for opt in configurations() {
        let o = opt.optimizer();
        let n = 9;
        let len = o.state_len(n);
        assert_rejects(o, n, len, 0, Error::InvalidHyperParameter { what: "step" });
        assert_rejects(
            o,
            0,
            o.state_len(0),
            1,
            Error::ZeroDimension { what: "params" },
        );
        assert_rejects(
            o,
            n,
            len + 1,
            1,
            Error::LengthMismatch {
                what: "state",
                expected: len,
                actual: len + 1,
            },
        );
        let mut p = vec![1.5f32; n];
        let mut s = vec![0.5f32; len];
        assert_eq!(
            o.update(1, &mut p, &[0.0; 8], &mut s),
            Err(Error::LengthMismatch {
                what: "grads",
                expected: n,
                actual: 8
            })
        );
        assert!(p.iter().all(|v| *v == 1.5) && s.iter().all(|v| *v == 0.5));
        // A counter at its maximum is an error and stays where it was.
        let mut counter = u64::MAX;
        assert_eq!(
            o.step(&mut counter, &mut p, &[0.0; 9], &mut s),
            Err(Error::InvalidHyperParameter { what: "step" })
        );
        assert_eq!(counter, u64::MAX);
    }
}

#[test]
fn parameter_groups_equal_separate_calls() {
    for_each_isa(|_| parameter_groups_equal_separate_calls_once());
}

/// One instruction set of [`parameter_groups_equal_separate_calls`].
fn parameter_groups_equal_separate_calls_once() {
    let mut rng = Rng::new(11);
    let lens = [5usize, 17, 8];
    let n: usize = lens.iter().sum();
    let adams = [
        Adam {
            lr: 0.01,
            weight_decay: 0.1,
            ..Adam::DEFAULT
        },
        Adam {
            lr: 0.003,
            amsgrad: true,
            ..Adam::DEFAULT
        },
        Adam {
            lr: 0.02,
            betas: (0.5, 0.9),
            ..Adam::DEFAULT
        },
    ];
    let mut groups: Vec<ParamGroup<Adam>> = adams
        .iter()
        .zip(lens)
        .map(|(a, len)| ParamGroup::new(*a, len))
        .collect();
    // The third group joins one step late: its own counter lags.
    groups[2].step = 0;
    let total = groups_state_len(&groups);
    assert_eq!(total, 2 * 5 + 3 * 17 + 2 * 8);
    let p0 = rng.vec(n);
    let mut params = p0.clone();
    let mut state = vec![0.0; total];
    let mut separate = p0.clone();
    let mut states: Vec<Vec<f32>> = adams
        .iter()
        .zip(lens)
        .map(|(a, len)| vec![0.0; a.state_len(len)])
        .collect();
    let mut counters = [0u64; 3];
    for _ in 0..4 {
        let g = gradient(&mut rng, n);
        step_groups(&mut groups, &mut params, &g, &mut state).unwrap();
        let mut at = 0;
        for (k, a) in adams.iter().enumerate() {
            let r = at..at + lens[k];
            a.step(
                &mut counters[k],
                &mut separate[r.clone()],
                &g[r],
                &mut states[k],
            )
            .unwrap();
            at += lens[k];
        }
    }
    assert_eq!(params, separate);
    assert_eq!(state, states.concat());
    assert!(groups.iter().all(|g| g.step == 4));

    // Errors leave every parameter, state and counter as they were.
    let snapshot = (params.clone(), state.clone());
    let g = vec![0.1; n];
    let mut bad = groups.clone();
    bad[1].optimizer.eps = -1.0;
    assert_eq!(
        step_groups(&mut bad, &mut params, &g, &mut state),
        Err(Error::InvalidHyperParameter { what: "eps" })
    );
    let mut empty = groups.clone();
    empty[0].len = 0;
    assert_eq!(
        step_groups(&mut empty, &mut params, &g, &mut state),
        Err(Error::ZeroDimension { what: "group" })
    );
    assert_eq!(
        step_groups(&mut groups.clone(), &mut params[1..], &g[1..], &mut state),
        Err(Error::LengthMismatch {
            what: "params",
            expected: n,
            actual: n - 1
        })
    );
    assert_eq!(
        step_groups(&mut groups.clone(), &mut params, &g, &mut state[1..]),
        Err(Error::LengthMismatch {
            what: "state",
            expected: total,
            actual: total - 1
        })
    );
    assert_eq!(
        step_groups::<Adam>(&mut [], &mut params, &g, &mut state),
        Err(Error::ZeroDimension { what: "group" })
    );
    assert_eq!((params, state), snapshot);
    assert!(bad.iter().chain(&empty).all(|g| g.step == 4));
}

#[test]
fn non_finite_gradients_propagate_as_the_reference_does() {
    for_each_isa(|_| non_finite_gradients_propagate_as_the_reference_does_once());
}

/// One instruction set of [`non_finite_gradients_propagate_as_the_reference_does`].
fn non_finite_gradients_propagate_as_the_reference_does_once() {
    let n = 21;
    for opt in configurations() {
        let o = opt.optimizer();
        let mut rng = Rng::new(17);
        let p0 = rng.vec(n);
        let mut g = gradient(&mut rng, n);
        g[2] = f32::NAN;
        g[9] = f32::INFINITY;
        g[16] = f32::NEG_INFINITY;
        let (mut p, mut p_ref) = (p0.clone(), p0.clone());
        let len = o.state_len(n);
        let (mut s, mut s_ref) = (vec![0.0; len], vec![0.0; len]);
        for t in 1..=2 {
            o.update(t, &mut p, &g, &mut s).unwrap();
            opt.reference_step(t, &mut p_ref, &g, &mut s_ref);
        }
        for i in 0..n {
            assert_eq!(p[i].is_nan(), p_ref[i].is_nan(), "{opt:?} [{i}]");
            if !p_ref[i].is_nan() {
                assert!(
                    p[i] == p_ref[i] || (p[i] - p_ref[i]).abs() <= 32.0 * U as f32 * p_ref[i].abs(),
                    "{opt:?} [{i}]: {} vs {}",
                    p[i],
                    p_ref[i]
                );
            }
        }
    }
}
