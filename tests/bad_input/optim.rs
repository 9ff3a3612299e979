//! Bad-input rows of `descent::optim`: every optimizer and `step_groups`.

use descent::optim::{
    step_groups, Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, Optimizer, ParamGroup, RAdam,
    RmsProp, Sgd,
};

use crate::harness::*;

/// Parameters per optimizer row.
pub(crate) const P: usize = 11;
/// The step counter every row starts from.
pub(crate) const STEP: u64 = 5;

/// How a row calls the optimizer.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Via {
    /// `update(t, …)`.
    Update(u64),
    /// `step(&mut counter, …)`: the counter must not change on error.
    Step(u64),
}

/// One optimizer call with `n` parameters and these lengths: parameters and state hold a
/// pattern that must survive.
pub(crate) fn run_optimizer<O: Optimizer>(
    opt: O,
    via: Via,
    n: usize,
    grads: usize,
    state: usize,
) -> Outcome {
    let (mut params, mut st) = (pattern(n), pattern(state));
    let g = pattern(grads);
    let (r, counter_kept) = match via {
        Via::Update(t) => (opt.update(t, &mut params, &g, &mut st), true),
        Via::Step(start) => {
            let mut counter = start;
            let r = opt.step(&mut counter, &mut params, &g, &mut st);
            (r, counter == start)
        }
    };
    core(r, is_pattern(&params) && is_pattern(&st) && counter_kept)
}

/// A hyper-parameter of `O`: torch's name, how to set it, the values refused.
pub(crate) type Hyper<O> = (&'static str, fn(&mut O, f32), &'static [f32]);

/// `betas` values refused by the Adam family (`0 ≤ β < 1`).
pub(crate) const BAD_BETA: [f32; 5] = [-0.1, 1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];

/// The rows of one optimizer: `t = 0`, a counter at its end, empty parameters, `grads` and
/// `state` wrong by ±1, and every refused hyper-parameter value (through `step` and `update`).
pub(crate) fn optimizer_rows<O: Optimizer + Copy + core::fmt::Debug + 'static>(
    t: &mut Table,
    name: &'static str,
    base: O,
    hypers: &[Hyper<O>],
) {
    let sl = base.state_len(P);
    assert!(sl > 0, "{name}: the base configuration should have state");
    t.row(format!("{name}::update: t = 0"), hp("step"), move || {
        run_optimizer(base, Via::Update(0), P, P, sl)
    });
    t.row(
        format!("{name}::step: counter = u64::MAX"),
        hp("step"),
        move || run_optimizer(base, Via::Step(u64::MAX), P, P, sl),
    );
    for via in [Via::Update(1), Via::Step(STEP)] {
        let how = match via {
            Via::Update(_) => "update",
            Via::Step(_) => "step",
        };
        t.row(
            format!("{name}::{how}: empty params"),
            zero("params"),
            move || run_optimizer(base, via, 0, 0, base.state_len(0)),
        );
        for actual in wrong(P) {
            t.row(
                format!("{name}::{how}: grads len {actual}"),
                len("grads", P, actual),
                move || run_optimizer(base, via, P, actual, sl),
            );
        }
        for actual in wrong(sl) {
            t.row(
                format!("{name}::{how}: state len {actual}"),
                len("state", sl, actual),
                move || run_optimizer(base, via, P, P, actual),
            );
        }
        for &(what, set, values) in hypers {
            for &v in values {
                let mut opt = base;
                set(&mut opt, v);
                // The state length follows the hyper-parameters (e.g. momentum adds a plane).
                let sl = opt.state_len(P);
                t.row(
                    format!("{name}::{how}: {what} = {v}"),
                    hp(what),
                    move || run_optimizer(opt, via, P, P, sl),
                );
                if matches!(via, Via::Update(_)) {
                    t.row(
                        format!("{name}::validate: {what} = {v}"),
                        hp(what),
                        move || core(opt.validate(), true),
                    );
                }
            }
        }
    }
}

pub(crate) fn rows(t: &mut Table) {
    t.module("optim");
    optimizer_rows(
        t,
        "Sgd",
        Sgd {
            momentum: 0.9,
            ..Sgd::DEFAULT
        },
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("momentum", |o, v| o.momentum = v, &NOT_NON_NEGATIVE),
            ("dampening", |o, v| o.dampening = v, &NON_FINITE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    // Nesterov needs momentum > 0 and no dampening (torch's check).
    for (what, opt) in [
        (
            "nesterov without momentum",
            Sgd {
                nesterov: true,
                ..Sgd::DEFAULT
            },
        ),
        (
            "nesterov with dampening 0.1",
            Sgd {
                nesterov: true,
                momentum: 0.9,
                dampening: 0.1,
                ..Sgd::DEFAULT
            },
        ),
    ] {
        t.row(format!("Sgd::step: {what}"), hp("nesterov"), move || {
            run_optimizer(opt, Via::Step(STEP), P, P, opt.state_len(P))
        });
    }
    optimizer_rows(
        t,
        "Adagrad",
        Adagrad::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("lr_decay", |o, v| o.lr_decay = v, &NOT_NON_NEGATIVE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
            (
                "initial_accumulator_value",
                |o, v| o.initial_accumulator_value = v,
                &NOT_NON_NEGATIVE,
            ),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "RmsProp",
        RmsProp {
            momentum: 0.9,
            centered: true,
            ..RmsProp::DEFAULT
        },
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("alpha", |o, v| o.alpha = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
            ("momentum", |o, v| o.momentum = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Adam",
        Adam {
            amsgrad: true,
            ..Adam::DEFAULT
        },
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "AdamW",
        AdamW::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Adamax",
        Adamax::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "NAdam",
        NAdam::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
            (
                "momentum_decay",
                |o, v| o.momentum_decay = v,
                &NOT_NON_NEGATIVE,
            ),
        ],
    );
    optimizer_rows(
        t,
        "RAdam",
        RAdam::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Adadelta",
        Adadelta::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("rho", |o, v| o.rho = v, &NOT_UNIT),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Lion",
        Lion::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &NOT_UNIT),
            ("betas", |o, v| o.betas.1 = v, &NOT_UNIT),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
}

/// `step_groups` over `groups` with these lengths: parameters and state hold a pattern, and
/// every group's counter must keep its value.
pub(crate) fn run_groups(
    groups: Vec<ParamGroup<Adam>>,
    params: usize,
    grads: usize,
    state: usize,
) -> Outcome {
    let mut groups = groups;
    let steps: Vec<u64> = groups.iter().map(|g| g.step).collect();
    let (mut p, mut s) = (pattern(params), pattern(state));
    let r = step_groups(&mut groups, &mut p, &pattern(grads), &mut s);
    let kept = groups.iter().zip(&steps).all(|(g, s)| g.step == *s);
    core(r, is_pattern(&p) && is_pattern(&s) && kept)
}

/// Two Adam groups of 5 and 6 parameters that have stepped 3 and 4 times.
pub(crate) fn two_groups() -> Vec<ParamGroup<Adam>> {
    let mut a = ParamGroup::new(Adam::DEFAULT, 5);
    let mut b = ParamGroup::new(
        Adam {
            weight_decay: 0.1,
            ..Adam::DEFAULT
        },
        6,
    );
    a.step = 3;
    b.step = 4;
    vec![a, b]
}

pub(crate) fn step_groups_rows(t: &mut Table) {
    t.module("optim");
    let total = 11;
    let sl = descent::optim::groups_state_len(&two_groups());
    t.row("step_groups: no group", zero("group"), move || {
        run_groups(vec![], 0, 0, 0)
    });
    t.row("step_groups: an empty group", zero("group"), move || {
        let mut g = two_groups();
        g[1].len = 0;
        run_groups(g, 5, 5, Adam::DEFAULT.state_len(5))
    });
    for (what, set) in [
        (
            "lr",
            (|g: &mut ParamGroup<Adam>| g.optimizer.lr = f32::NAN) as fn(&mut _),
        ),
        ("eps", |g| g.optimizer.eps = -1.0),
        ("betas", |g| g.optimizer.betas.1 = 1.0),
        ("weight_decay", |g| g.optimizer.weight_decay = f32::INFINITY),
    ] {
        t.row(
            format!("step_groups: the second group's {what} is bad"),
            hp(what),
            move || {
                let mut g = two_groups();
                set(&mut g[1]);
                run_groups(g, total, total, sl)
            },
        );
    }
    t.row(
        "step_groups: the second group's counter is at u64::MAX",
        hp("step"),
        move || {
            let mut g = two_groups();
            g[1].step = u64::MAX;
            run_groups(g, total, total, sl)
        },
    );
    for actual in wrong(total) {
        t.row(
            format!("step_groups: params len {actual}"),
            len("params", total, actual),
            move || run_groups(two_groups(), actual, total, sl),
        );
        t.row(
            format!("step_groups: grads len {actual}"),
            len("grads", total, actual),
            move || run_groups(two_groups(), total, actual, sl),
        );
    }
    for actual in wrong(sl) {
        t.row(
            format!("step_groups: state len {actual}"),
            len("state", sl, actual),
            move || run_groups(two_groups(), total, total, actual),
        );
    }
    // Group lengths whose sum overflows usize.
    t.row(
        "step_groups: group lengths usize::MAX + 6",
        overflow("params"),
        move || {
            let mut g = two_groups();
            g[0].len = usize::MAX;
            run_groups(g, total, total, sl)
        },
    );
}
