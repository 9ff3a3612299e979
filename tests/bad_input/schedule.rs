//! Bad-input rows of `descent::schedule`: `validate` of every schedule (plain data: nothing to modify).

use descent::schedule::{
    ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
    ExponentialLR, LinearLR, LinearWarmup, MultiStepLR, OneCycleLR, PolynomialLR,
    ReduceLROnPlateau, Schedule, SequentialLR, StepLR,
};

use crate::harness::*;

/// A row for a schedule `s` that must be refused naming `what`.
pub(crate) fn schedule_row(
    t: &mut Table,
    name: String,
    what: &'static str,
    s: impl Schedule + 'static,
) {
    t.row(name, hp(what), move || core(s.validate(), true));
}

/// Rows setting one `f64` field of a schedule to each value in `values`.
pub(crate) fn schedule_field_rows<S: Schedule + Copy + 'static>(
    t: &mut Table,
    ty: &'static str,
    base: S,
    what: &'static str,
    set: fn(&mut S, f64),
    values: &[f64],
) {
    for &v in values {
        let mut s = base;
        set(&mut s, v);
        schedule_row(t, format!("{ty}::validate: {what} = {v}"), what, s);
    }
}

/// A valid step-free schedule and an invalid one, for the composites.
pub(crate) static GOOD: StepLR = StepLR::new(0.1, 10);
pub(crate) static BAD: StepLR = StepLR {
    gamma: -1.0,
    ..StepLR::new(0.1, 10)
};

pub(crate) fn rows(t: &mut Table) {
    t.module("schedule");
    let base_lr = "base_lr";
    macro_rules! base_lr_rows {
        ($ty:literal, $base:expr) => {
            schedule_field_rows(
                t,
                $ty,
                $base,
                base_lr,
                |s, v| s.base_lr = v,
                &NOT_NON_NEGATIVE_64,
            );
        };
    }
    base_lr_rows!("StepLR", StepLR::new(0.1, 10));
    schedule_row(
        t,
        "StepLR::validate: step_size = 0".into(),
        "step_size",
        StepLR::new(0.1, 0),
    );
    schedule_field_rows(
        t,
        "StepLR",
        StepLR::new(0.1, 10),
        "gamma",
        |s, v| s.gamma = v,
        &NOT_NON_NEGATIVE_64,
    );

    base_lr_rows!("MultiStepLR", MultiStepLR::new(0.1, &[3, 5]));
    schedule_field_rows(
        t,
        "MultiStepLR",
        MultiStepLR::new(0.1, &[3, 5]),
        "gamma",
        |s, v| s.gamma = v,
        &NOT_NON_NEGATIVE_64,
    );
    base_lr_rows!("ExponentialLR", ExponentialLR::new(0.1, 0.9));
    schedule_field_rows(
        t,
        "ExponentialLR",
        ExponentialLR::new(0.1, 0.9),
        "gamma",
        |s, v| s.gamma = v,
        &NOT_NON_NEGATIVE_64,
    );
    base_lr_rows!("PolynomialLR", PolynomialLR::new(0.1));
    schedule_field_rows(
        t,
        "PolynomialLR",
        PolynomialLR::new(0.1),
        "power",
        |s, v| s.power = v,
        &NOT_NON_NEGATIVE_64,
    );

    base_lr_rows!("LinearLR", LinearLR::new(0.1));
    schedule_field_rows(
        t,
        "LinearLR",
        LinearLR::new(0.1),
        "start_factor",
        |s, v| s.start_factor = v,
        &[0.0, -0.1, 1.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
    );
    schedule_field_rows(
        t,
        "LinearLR",
        LinearLR::new(0.1),
        "end_factor",
        |s, v| s.end_factor = v,
        &NOT_UNIT_64,
    );
    base_lr_rows!("ConstantLR", ConstantLR::new(0.1));
    schedule_field_rows(
        t,
        "ConstantLR",
        ConstantLR::new(0.1),
        "factor",
        |s, v| s.factor = v,
        &NOT_UNIT_64,
    );
    schedule_row(
        t,
        "ConstantLR::validate: factor = 0 with total_iters > 0".into(),
        "factor",
        ConstantLR {
            factor: 0.0,
            ..ConstantLR::new(0.1)
        },
    );

    base_lr_rows!("CosineAnnealingLR", CosineAnnealingLR::new(0.1, 10));
    schedule_row(
        t,
        "CosineAnnealingLR::validate: T_max = 0".into(),
        "T_max",
        CosineAnnealingLR::new(0.1, 0),
    );
    schedule_field_rows(
        t,
        "CosineAnnealingLR",
        CosineAnnealingLR::new(0.1, 10),
        "eta_min",
        |s, v| s.eta_min = v,
        &NOT_NON_NEGATIVE_64,
    );
    base_lr_rows!(
        "CosineAnnealingWarmRestarts",
        CosineAnnealingWarmRestarts::new(0.1, 10)
    );
    schedule_row(
        t,
        "CosineAnnealingWarmRestarts::validate: T_0 = 0".into(),
        "T_0",
        CosineAnnealingWarmRestarts::new(0.1, 0),
    );
    schedule_row(
        t,
        "CosineAnnealingWarmRestarts::validate: T_mult = 0".into(),
        "T_mult",
        CosineAnnealingWarmRestarts {
            t_mult: 0,
            ..CosineAnnealingWarmRestarts::new(0.1, 10)
        },
    );
    schedule_field_rows(
        t,
        "CosineAnnealingWarmRestarts",
        CosineAnnealingWarmRestarts::new(0.1, 10),
        "eta_min",
        |s, v| s.eta_min = v,
        &NOT_NON_NEGATIVE_64,
    );

    let cyclic = CyclicLR::new(0.01, 0.1);
    base_lr_rows!("CyclicLR", cyclic);
    for (what, set) in [
        (
            "max_lr",
            (|s: &mut CyclicLR, v| s.max_lr = v) as fn(&mut CyclicLR, f64),
        ),
        ("gamma", |s, v| s.gamma = v),
        ("base_momentum", |s, v| s.base_momentum = v),
        ("max_momentum", |s, v| s.max_momentum = v),
    ] {
        schedule_field_rows(t, "CyclicLR", cyclic, what, set, &NOT_NON_NEGATIVE_64);
    }
    schedule_row(
        t,
        "CyclicLR::validate: step_size_up = 0".into(),
        "step_size_up",
        CyclicLR {
            step_size_up: 0,
            ..cyclic
        },
    );

    let one_cycle = OneCycleLR::new(0.1, 100);
    schedule_row(
        t,
        "OneCycleLR::validate: total_steps = 0".into(),
        "total_steps",
        OneCycleLR::new(0.1, 0),
    );
    schedule_field_rows(
        t,
        "OneCycleLR",
        one_cycle,
        "pct_start",
        |s, v| s.pct_start = v,
        &NOT_UNIT_64,
    );
    schedule_row(
        t,
        "OneCycleLR::validate: pct_start·total_steps = 1".into(),
        "pct_start",
        OneCycleLR {
            pct_start: 0.01,
            ..one_cycle
        },
    );
    for (what, set, values) in [
        (
            "max_lr",
            (|s: &mut OneCycleLR, v| s.max_lr = v) as fn(&mut OneCycleLR, f64),
            &NOT_NON_NEGATIVE_64[..],
        ),
        (
            "div_factor",
            |s, v| s.div_factor = v,
            &[0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..],
        ),
        (
            "final_div_factor",
            |s, v| s.final_div_factor = v,
            &[0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..],
        ),
        (
            "base_momentum",
            |s, v| s.base_momentum = v,
            &NOT_NON_NEGATIVE_64[..],
        ),
        (
            "max_momentum",
            |s, v| s.max_momentum = v,
            &NOT_NON_NEGATIVE_64[..],
        ),
    ] {
        schedule_field_rows(t, "OneCycleLR", one_cycle, what, set, values);
    }
    for (epochs, steps, what) in [
        (0, 10, "epochs"),
        (10, 0, "steps_per_epoch"),
        (u64::MAX, 2, "steps_per_epoch"),
    ] {
        t.row(
            format!("OneCycleLR::from_epochs: epochs = {epochs}, steps_per_epoch = {steps}"),
            hp(what),
            move || core(OneCycleLR::from_epochs(0.1, epochs, steps), true),
        );
    }

    // ReduceLROnPlateau is stateful; validate is its inherent method.
    let plateau = ReduceLROnPlateau::new(0.1);
    for (what, set, values) in [
        (
            "lr",
            (|s: &mut ReduceLROnPlateau, v| s.lr = v) as fn(&mut ReduceLROnPlateau, f64),
            &NOT_NON_NEGATIVE_64[..],
        ),
        (
            "factor",
            |s, v| s.factor = v,
            &[1.0, 1.5, -0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..],
        ),
        (
            "threshold",
            |s, v| s.threshold = v,
            &NOT_NON_NEGATIVE_64[..],
        ),
        ("min_lr", |s, v| s.min_lr = v, &NOT_NON_NEGATIVE_64[..]),
        ("eps", |s, v| s.eps = v, &NOT_NON_NEGATIVE_64[..]),
    ] {
        for &v in values {
            let mut s = plateau;
            set(&mut s, v);
            t.row(
                format!("ReduceLROnPlateau::validate: {what} = {v}"),
                hp(what),
                move || core(s.validate(), true),
            );
        }
    }

    // Composites.
    static ONE: [&dyn Schedule; 1] = [&GOOD];
    static TWO: [&dyn Schedule; 2] = [&GOOD, &GOOD];
    static THREE: [&dyn Schedule; 3] = [&GOOD, &GOOD, &GOOD];
    static WITH_BAD: [&dyn Schedule; 2] = [&GOOD, &BAD];
    for (name, s, what) in [
        (
            "no scheduler",
            SequentialLR {
                schedulers: &[],
                milestones: &[],
            },
            "schedulers",
        ),
        (
            "2 schedulers, 0 milestones",
            SequentialLR {
                schedulers: &TWO,
                milestones: &[],
            },
            "milestones",
        ),
        (
            "2 schedulers, 2 milestones",
            SequentialLR {
                schedulers: &TWO,
                milestones: &[3, 5],
            },
            "milestones",
        ),
        (
            "1 scheduler, 1 milestone",
            SequentialLR {
                schedulers: &ONE,
                milestones: &[3],
            },
            "milestones",
        ),
        (
            "milestones not sorted",
            SequentialLR {
                schedulers: &THREE,
                milestones: &[5, 3],
            },
            "milestones",
        ),
        (
            "a child's gamma < 0",
            SequentialLR {
                schedulers: &WITH_BAD,
                milestones: &[3],
            },
            "gamma",
        ),
    ] {
        schedule_row(t, format!("SequentialLR::validate: {name}"), what, s);
    }
    schedule_row(
        t,
        "ChainedScheduler::validate: no scheduler".into(),
        "schedulers",
        ChainedScheduler { schedulers: &[] },
    );
    schedule_row(
        t,
        "ChainedScheduler::validate: a child's gamma < 0".into(),
        "gamma",
        ChainedScheduler {
            schedulers: &WITH_BAD,
        },
    );
    for v in [0.0, -0.1, 1.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        schedule_row(
            t,
            format!("LinearWarmup::validate: start_factor = {v}"),
            "start_factor",
            LinearWarmup {
                warmup_steps: 5,
                start_factor: v,
                schedule: GOOD,
            },
        );
    }
    schedule_row(
        t,
        "LinearWarmup::validate: the schedule's gamma < 0".into(),
        "gamma",
        LinearWarmup {
            warmup_steps: 5,
            start_factor: 0.5,
            schedule: BAD,
        },
    );
}
