//! Bad-input rows of `descent::loss`.

use descent::loss;
use descent::loss::Reduction;

use crate::harness::*;

pub(crate) type Elementwise = fn(&[f32], &[f32], Option<&mut [f32]>) -> descent::Result<f32>;

/// An element-wise loss with these lengths; `grad` is write-only.
pub(crate) fn run_elementwise(f: Elementwise, input: usize, target: usize, grad: usize) -> Outcome {
    let mut g = sentinel(grad);
    let r = f(&pattern(input), &pattern(target), Some(&mut g));
    core(r, is_sentinel(&g))
}

/// A class-index loss (`cross_entropy` with `label_smoothing`, or `nll` when `None`) of
/// `classes` classes over these targets; `grad` is write-only.
pub(crate) fn run_class_loss(
    smoothing: Option<f32>,
    logits: usize,
    target: &[usize],
    classes: usize,
    grad: usize,
) -> Outcome {
    let mut g = sentinel(grad);
    let x = pattern(logits);
    let r = match smoothing {
        Some(s) => loss::cross_entropy(&x, target, classes, s, Some(&mut g), Reduction::Mean),
        None => loss::nll(&x, target, classes, Some(&mut g), Reduction::Sum),
    };
    core(r, is_sentinel(&g))
}

pub(crate) fn run_probs(
    smoothing: f32,
    logits: usize,
    target: usize,
    classes: usize,
    grad: usize,
) -> Outcome {
    let mut g = sentinel(grad);
    let r = loss::cross_entropy_probs(
        &pattern(logits),
        &pattern(target),
        classes,
        smoothing,
        Some(&mut g),
        Reduction::Mean,
    );
    core(r, is_sentinel(&g))
}

pub(crate) fn run_bce(
    input: usize,
    target: usize,
    pos_weight: Option<usize>,
    grad: usize,
) -> Outcome {
    let mut g = sentinel(grad);
    let pw = pos_weight.map(pattern);
    let r = loss::binary_cross_entropy_with_logits(
        &pattern(input),
        &pattern(target),
        pw.as_deref(),
        Some(&mut g),
        Reduction::Mean,
    );
    core(r, is_sentinel(&g))
}

pub(crate) fn rows(t: &mut Table) {
    t.module("loss");
    let elementwise: [(&'static str, Elementwise); 5] = [
        ("mse", |x, y, g| loss::mse(x, y, g, Reduction::Mean)),
        ("l1", |x, y, g| loss::l1(x, y, g, Reduction::Sum)),
        ("huber", |x, y, g| {
            loss::huber(x, y, 1.0, g, Reduction::Mean)
        }),
        ("smooth_l1", |x, y, g| {
            loss::smooth_l1(x, y, 1.0, g, Reduction::Mean)
        }),
        ("binary_cross_entropy_with_logits", |x, y, g| {
            loss::binary_cross_entropy_with_logits(x, y, None, g, Reduction::Mean)
        }),
    ];
    for (name, f) in elementwise {
        t.row(format!("{name}: empty input"), zero("input"), move || {
            run_elementwise(f, 0, 0, 0)
        });
        for actual in wrong(N) {
            t.row(
                format!("{name}: target len {actual}"),
                len("target", N, actual),
                move || run_elementwise(f, N, actual, N),
            );
            t.row(
                format!("{name}: grad len {actual}"),
                len("grad", N, actual),
                move || run_elementwise(f, N, N, actual),
            );
        }
    }
    // huber needs delta > 0; smooth_l1 beta ≥ 0 (+∞ is a valid limit of both).
    for v in [0.0, -1.0, f32::NAN, f32::NEG_INFINITY] {
        t.row(format!("huber: delta = {v}"), hp("delta"), move || {
            let mut g = sentinel(N);
            let r = loss::huber(&pattern(N), &pattern(N), v, Some(&mut g), Reduction::Mean);
            core(r, is_sentinel(&g))
        });
    }
    for v in NEGATIVE_OR_NAN {
        t.row(format!("smooth_l1: beta = {v}"), hp("beta"), move || {
            let mut g = sentinel(N);
            let r = loss::smooth_l1(&pattern(N), &pattern(N), v, Some(&mut g), Reduction::Sum);
            core(r, is_sentinel(&g))
        });
    }
    // pos_weight: one weight per class, dividing the input's length.
    t.row(
        "binary_cross_entropy_with_logits: empty pos_weight",
        zero("pos_weight"),
        move || run_bce(12, 12, Some(0), 12),
    );
    for pw in [5, 7, 13] {
        t.row(
            format!("binary_cross_entropy_with_logits: pos_weight len {pw} (does not divide 12)"),
            len("pos_weight", 12, pw),
            move || run_bce(12, 12, Some(pw), 12),
        );
    }

    // Class targets: B = 3 samples of C = 4 classes.
    const C: usize = 4;
    const TARGET: [usize; 3] = [0, 3, 1];
    const BC: usize = 3 * C;
    for (name, smoothing, what) in [
        ("cross_entropy", Some(0.1), "logits"),
        ("nll", None, "log_probs"),
    ] {
        t.row(format!("{name}: classes = 0"), zero("classes"), move || {
            run_class_loss(smoothing, BC, &TARGET, 0, BC)
        });
        t.row(format!("{name}: empty target"), zero("batch"), move || {
            run_class_loss(smoothing, BC, &[], C, BC)
        });
        for actual in wrong(BC) {
            t.row(
                format!("{name}: {what} len {actual}"),
                len(what, BC, actual),
                move || run_class_loss(smoothing, actual, &TARGET, C, BC),
            );
            t.row(
                format!("{name}: grad len {actual}"),
                len("grad", BC, actual),
                move || run_class_loss(smoothing, BC, &TARGET, C, actual),
            );
        }
        t.row(
            format!("{name}: classes = usize::MAX"),
            overflow(what),
            move || run_class_loss(smoothing, BC, &TARGET, usize::MAX, BC),
        );
        // The first target out of range is named, with its sample.
        for (target, e) in [
            ([0, 4, 1], class(1, 4, C)),
            ([0, 1, 5], class(2, 5, C)),
            ([9, 4, 1], class(0, 9, C)),
            // torch's ignore_index = -100 and a -1 label, as a usize would carry them.
            ([0, -100i64 as usize, 1], class(1, -100i64 as usize, C)),
            ([-1i64 as usize, 0, 1], class(0, usize::MAX, C)),
        ] {
            t.row(format!("{name}: target {target:?}"), e, move || {
                run_class_loss(smoothing, BC, &target, C, BC)
            });
        }
    }
    for v in NOT_UNIT {
        t.row(
            format!("cross_entropy: label_smoothing = {v}"),
            hp("label_smoothing"),
            move || run_class_loss(Some(v), BC, &TARGET, C, BC),
        );
        t.row(
            format!("cross_entropy_probs: label_smoothing = {v}"),
            hp("label_smoothing"),
            move || run_probs(v, BC, BC, C, BC),
        );
    }
    t.row(
        "cross_entropy_probs: classes = 0",
        zero("classes"),
        move || run_probs(0.0, BC, BC, 0, BC),
    );
    t.row(
        "cross_entropy_probs: empty logits",
        zero("batch"),
        move || run_probs(0.0, 0, 0, C, 0),
    );
    // A length that is not whole rows expects the multiple of `classes` below it.
    for actual in wrong(BC) {
        t.row(
            format!("cross_entropy_probs: logits len {actual}"),
            len("logits", actual - actual % C, actual),
            move || run_probs(0.0, actual, actual, C, actual),
        );
        t.row(
            format!("cross_entropy_probs: target len {actual}"),
            len("target", BC, actual),
            move || run_probs(0.0, BC, actual, C, BC),
        );
        t.row(
            format!("cross_entropy_probs: grad len {actual}"),
            len("grad", BC, actual),
            move || run_probs(0.0, BC, BC, C, actual),
        );
    }
}
