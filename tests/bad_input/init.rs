//! Bad-input rows of `descent::init`.

use descent::init;
use descent::init::{FanMode, Kaiming, Nonlinearity};

use crate::dense::{IN, OUT};
use crate::harness::*;

/// A weight `[4, 3]`.
pub(crate) const SHAPE: [usize; 2] = [4, 3];
pub(crate) const NUMEL: usize = 12;

/// A fill into a `pattern` tensor of `n` elements with a counting generator: the tensor must
/// keep its pattern and the generator must not be drawn from.
pub(crate) fn run_fill(
    n: usize,
    f: impl Fn(&mut [f32], &mut Counting) -> descent::Result<()>,
) -> Outcome {
    let mut tensor = pattern(n);
    let mut rng = Counting::new();
    let r = f(&mut tensor, &mut rng);
    core(r, is_pattern(&tensor) && rng.drawn == 0)
}

pub(crate) type ShapedInit = fn(&mut [f32], &[usize], &mut Counting) -> descent::Result<()>;

pub(crate) fn rows(t: &mut Table) {
    t.module("init");
    // fans: at least two dimensions, no overflow.
    for (shape, e) in [
        (vec![], len("shape", 2, 0)),
        (vec![5], len("shape", 2, 1)),
        (vec![usize::MAX, 2, 2], overflow("shape")),
        (vec![2, usize::MAX, 2], overflow("shape")),
        (vec![2, 2, usize::MAX, 2], overflow("shape")),
    ] {
        t.row(format!("fans: shape {shape:?}"), e, move || {
            core(init::fans(&shape), true)
        });
    }
    for v in NON_FINITE {
        t.row(
            format!("calculate_gain: leaky_relu param = {v}"),
            hp("param"),
            move || {
                core(
                    init::calculate_gain(Nonlinearity::LeakyRelu { negative_slope: v }),
                    true,
                )
            },
        );
    }

    // The plain fills: no length argument, only their parameters.
    for v in NON_FINITE {
        t.row(format!("uniform: a = {v}"), hp("a"), move || {
            run_fill(N, |x, r| init::uniform(x, v, 1.0, r))
        });
        t.row(format!("uniform: b = {v}"), hp("b"), move || {
            run_fill(N, |x, r| init::uniform(x, 0.0, v, r))
        });
        t.row(format!("normal: mean = {v}"), hp("mean"), move || {
            run_fill(N, |x, r| init::normal(x, v, 1.0, r))
        });
        t.row(format!("trunc_normal: mean = {v}"), hp("mean"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, v, 1.0, -2.0, 2.0, r))
        });
        t.row(format!("trunc_normal: a = {v}"), hp("a"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, v, 2.0, r))
        });
        t.row(format!("trunc_normal: b = {v}"), hp("b"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, -2.0, v, r))
        });
        t.row(format!("constant: val = {v}"), hp("val"), move || {
            run_fill(N, |x, _| init::constant(x, v))
        });
    }
    t.row("uniform: b < a", hp("b"), move || {
        run_fill(N, |x, r| init::uniform(x, 1.0, 0.5, r))
    });
    // A std whose values could overflow f32 is refused with the negative and NaN ones.
    for v in [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e38] {
        t.row(format!("normal: std = {v}"), hp("std"), move || {
            run_fill(N, |x, r| init::normal(x, 0.0, v, r))
        });
    }
    for v in [0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        t.row(format!("trunc_normal: std = {v}"), hp("std"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, 0.0, v, -2.0, 2.0, r))
        });
    }
    t.row("trunc_normal: b < a", hp("b"), move || {
        run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, 2.0, -2.0, r))
    });
    t.row(
        "trunc_normal: interval 40 std above the mean",
        hp("a"),
        move || run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, 40.0, 41.0, r)),
    );
    t.row(
        "trunc_normal: interval 40 std below the mean",
        hp("b"),
        move || run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, -41.0, -40.0, r)),
    );

    // The shaped initialisations: tensor length, shape, and their own parameter.
    let shaped: [(&'static str, ShapedInit); 6] = [
        ("xavier_uniform", |x, s, r| {
            init::xavier_uniform(x, s, 1.0, r)
        }),
        ("xavier_normal", |x, s, r| init::xavier_normal(x, s, 1.0, r)),
        ("kaiming_uniform", |x, s, r| {
            init::kaiming_uniform(x, s, Kaiming::default(), r)
        }),
        ("kaiming_normal", |x, s, r| {
            init::kaiming_normal(x, s, Kaiming::default(), r)
        }),
        ("lecun_uniform", init::lecun_uniform),
        ("lecun_normal", init::lecun_normal),
    ];
    for (name, f) in shaped {
        for actual in wrong(NUMEL) {
            t.row(
                format!("{name}: tensor len {actual}"),
                len("tensor", NUMEL, actual),
                move || run_fill(actual, |x, r| f(x, &SHAPE, r)),
            );
        }
        t.row(
            format!("{name}: shape [12]"),
            len("shape", 2, 1),
            move || run_fill(NUMEL, |x, r| f(x, &[NUMEL], r)),
        );
        t.row(format!("{name}: shape []"), len("shape", 2, 0), move || {
            run_fill(NUMEL, |x, r| f(x, &[], r))
        });
        t.row(
            format!("{name}: shape [usize::MAX, 2, 2]"),
            overflow("shape"),
            move || run_fill(NUMEL, |x, r| f(x, &[usize::MAX, 2, 2], r)),
        );
        t.row(
            format!("{name}: shape [usize::MAX, 2] (numel overflows)"),
            overflow("shape"),
            move || run_fill(NUMEL, |x, r| f(x, &[usize::MAX, 2], r)),
        );
    }
    // gain ≥ 0 and finite, and small enough that the bound or std stays finite.
    for v in [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        t.row(
            format!("xavier_uniform: gain = {v}"),
            hp("gain"),
            move || run_fill(NUMEL, |x, r| init::xavier_uniform(x, &SHAPE, v, r)),
        );
        t.row(
            format!("xavier_normal: gain = {v}"),
            hp("gain"),
            move || run_fill(NUMEL, |x, r| init::xavier_normal(x, &SHAPE, v, r)),
        );
    }
    // A finite gain whose bound (√(6/3)·gain) or std (with the 8.58σ tail) overflows f32.
    t.row(
        "xavier_uniform: gain = f32::MAX, shape [1, 2]",
        hp("gain"),
        move || run_fill(2, |x, r| init::xavier_uniform(x, &[1, 2], f32::MAX, r)),
    );
    t.row(
        "xavier_normal: gain = f32::MAX, shape [1, 2]",
        hp("gain"),
        move || run_fill(2, |x, r| init::xavier_normal(x, &[1, 2], f32::MAX, r)),
    );
    for v in NON_FINITE {
        let kaiming = Kaiming {
            mode: FanMode::FanOut,
            nonlinearity: Nonlinearity::LeakyRelu { negative_slope: v },
        };
        t.row(
            format!("kaiming_uniform: a (leaky slope) = {v}"),
            hp("a"),
            move || run_fill(NUMEL, |x, r| init::kaiming_uniform(x, &SHAPE, kaiming, r)),
        );
        t.row(
            format!("kaiming_normal: a (leaky slope) = {v}"),
            hp("a"),
            move || run_fill(NUMEL, |x, r| init::kaiming_normal(x, &SHAPE, kaiming, r)),
        );
    }

    // dense_default: weight [OUT, IN] and bias [OUT].
    let run_dense = |w: usize, b: usize, inp: usize, out: usize| {
        let (mut weight, mut bias) = (pattern(w), pattern(b));
        let mut rng = Counting::new();
        let r = init::dense_default(&mut weight, Some(&mut bias), inp, out, &mut rng);
        core(
            r,
            is_pattern(&weight) && is_pattern(&bias) && rng.drawn == 0,
        )
    };
    for actual in wrong(OUT * IN) {
        t.row(
            format!("dense_default: weight len {actual}"),
            len("weight", OUT * IN, actual),
            move || run_dense(actual, OUT, IN, OUT),
        );
    }
    for actual in wrong(OUT) {
        t.row(
            format!("dense_default: bias len {actual}"),
            len("bias", OUT, actual),
            move || run_dense(OUT * IN, actual, IN, OUT),
        );
    }
    t.row(
        "dense_default: out_features = usize::MAX",
        overflow("weight"),
        move || run_dense(OUT * IN, OUT, 2, usize::MAX),
    );
}
