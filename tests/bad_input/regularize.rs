//! Bad-input rows of `descent::regularize`.

use descent::regularize::{self as reg, Amount, NormType};

use crate::harness::*;

/// `l1`, `l2` or `elastic_net` with the other parameters fixed.
pub(crate) type Penalty = fn(&[f32], f32, Option<&mut [f32]>) -> descent::Result<f32>;

/// A penalty with these lengths; `grad` accumulates.
pub(crate) fn run_penalty(f: Penalty, lambda: f32, w: usize, grad: usize) -> Outcome {
    let mut g = pattern(grad);
    let r = f(&pattern(w), lambda, Some(&mut g));
    core(r, is_pattern(&g))
}

/// Two gradient slices of 13 and 7 holding patterns that must survive.
pub(crate) fn run_clip(f: impl Fn(&mut [&mut [f32]]) -> descent::Result<()>) -> Outcome {
    let (mut a, mut b) = (pattern(13), pattern(7));
    let r = f(&mut [&mut a, &mut b]);
    core(r, is_pattern(&a) && is_pattern(&b))
}

/// `magnitude_mask` with these lengths; `mask` is write-only, `scratch` must not be written
/// either.
pub(crate) fn run_mask(amount: Amount, w: usize, mask: usize, scratch: usize) -> Outcome {
    let (mut m, mut s) = (sentinel(mask), sentinel(scratch));
    let r = reg::magnitude_mask(&pattern(w), amount, &mut m, &mut s);
    core(r, is_sentinel(&m) && is_sentinel(&s))
}

/// `global_magnitude_mask` over weights of 5 and 8 with masks of these lengths.
pub(crate) fn run_global(amount: Amount, masks: &[usize], scratch: usize) -> Outcome {
    let (w1, w2) = (pattern(5), pattern(8));
    let mut ms: Vec<Vec<f32>> = masks.iter().map(|&n| sentinel(n)).collect();
    let mut s = sentinel(scratch);
    let mut views: Vec<&mut [f32]> = ms.iter_mut().map(|m| m.as_mut_slice()).collect();
    let r = reg::global_magnitude_mask(&[&w1, &w2], amount, &mut views, &mut s);
    core(r, ms.iter().all(|m| is_sentinel(m)) && is_sentinel(&s))
}

pub(crate) fn rows(t: &mut Table) {
    t.module("regularize");
    let penalties: [(&'static str, Penalty); 3] = [
        ("l1", reg::l1),
        ("l2", |w, l, g| reg::l2(w, l, true, g)),
        ("elastic_net", |w, l, g| reg::elastic_net(w, l, 0.5, g)),
    ];
    for (name, f) in penalties {
        for v in NOT_NON_NEGATIVE {
            t.row(format!("{name}: lambda = {v}"), hp("lambda"), move || {
                run_penalty(f, v, N, N)
            });
        }
        for actual in wrong(N) {
            t.row(
                format!("{name}: grad len {actual}"),
                len("grad", N, actual),
                move || run_penalty(f, 0.1, N, actual),
            );
        }
    }
    for v in NOT_UNIT {
        t.row(
            format!("elastic_net: l1_ratio = {v}"),
            hp("l1_ratio"),
            move || {
                let mut g = pattern(N);
                core(
                    reg::elastic_net(&pattern(N), 0.1, v, Some(&mut g)),
                    is_pattern(&g),
                )
            },
        );
    }

    // Constraints.
    t.row("clamp: min = NaN", hp("min"), move || {
        let mut w = pattern(N);
        core(reg::clamp(&mut w, f32::NAN, 1.0), is_pattern(&w))
    });
    t.row("clamp: max = NaN", hp("max"), move || {
        let mut w = pattern(N);
        core(reg::clamp(&mut w, -1.0, f32::NAN), is_pattern(&w))
    });
    let run_max_norm = |w: usize, rows: usize, cols: usize, max_norm: f32| {
        let mut v = pattern(w);
        core(
            reg::max_norm_rows(&mut v, rows, cols, max_norm),
            is_pattern(&v),
        )
    };
    for v in NEGATIVE_OR_NAN {
        t.row(
            format!("max_norm_rows: maxnorm = {v}"),
            hp("maxnorm"),
            move || run_max_norm(M, ROWS, COLS, v),
        );
    }
    for actual in wrong(M) {
        t.row(
            format!("max_norm_rows: w len {actual}"),
            len("w", M, actual),
            move || run_max_norm(actual, ROWS, COLS, 1.0),
        );
    }
    t.row(
        "max_norm_rows: rows = usize::MAX",
        overflow("w"),
        move || run_max_norm(M, usize::MAX, COLS, 1.0),
    );

    // Clipping: the norm's order p > 0, max_norm ≥ 0 and clip_value ≥ 0 (NaN refused).
    let bad_p = [0.0, -1.0, f32::NAN, f32::NEG_INFINITY];
    for p in bad_p {
        t.row(
            format!("grad_norm: norm_type P({p})"),
            hp("norm_type"),
            move || {
                core(
                    reg::grad_norm(&[&pattern(13), &pattern(7)], NormType::P(p)),
                    true,
                )
            },
        );
        t.row(
            format!("clip_grad_norm: norm_type P({p})"),
            hp("norm_type"),
            move || run_clip(|g| reg::clip_grad_norm(g, 1.0, NormType::P(p)).map(drop)),
        );
        t.row(
            format!("clip_grad_norm_flat: norm_type P({p})"),
            hp("norm_type"),
            move || {
                let mut g = pattern(N);
                let r = reg::clip_grad_norm_flat(&mut g, 1.0, NormType::P(p));
                core(r, is_pattern(&g))
            },
        );
    }
    for v in NEGATIVE_OR_NAN {
        t.row(
            format!("clip_grad_norm: max_norm = {v}"),
            hp("max_norm"),
            move || run_clip(|g| reg::clip_grad_norm(g, v, NormType::L2).map(drop)),
        );
        t.row(
            format!("clip_grad_norm_flat: max_norm = {v}"),
            hp("max_norm"),
            move || {
                let mut g = pattern(N);
                core(
                    reg::clip_grad_norm_flat(&mut g, v, NormType::Inf),
                    is_pattern(&g),
                )
            },
        );
        t.row(
            format!("clip_grads_with_norm: max_norm = {v}"),
            hp("max_norm"),
            move || run_clip(|g| reg::clip_grads_with_norm(g, v, 100.0)),
        );
        t.row(
            format!("clip_grad_value: clip_value = {v}"),
            hp("clip_value"),
            move || run_clip(|g| reg::clip_grad_value(g, v)),
        );
        t.row(
            format!("clip_grad_value_flat: clip_value = {v}"),
            hp("clip_value"),
            move || {
                let mut g = pattern(N);
                core(reg::clip_grad_value_flat(&mut g, v), is_pattern(&g))
            },
        );
    }

    // Pruning.
    let bad_amounts = [
        Amount::Fraction(-0.1),
        Amount::Fraction(1.1),
        Amount::Fraction(f64::NAN),
        Amount::Fraction(f64::INFINITY),
        Amount::Fraction(f64::NEG_INFINITY),
        Amount::Count(N + 1),
    ];
    for amount in bad_amounts {
        t.row(
            format!("Amount::count: {amount:?} of {N}"),
            hp("amount"),
            move || core(amount.count(N), true),
        );
        t.row(
            format!("magnitude_mask: {amount:?}"),
            hp("amount"),
            move || run_mask(amount, N, N, N),
        );
    }
    t.row(
        "global_magnitude_mask: Count(14) of 13",
        hp("amount"),
        move || run_global(Amount::Count(14), &[5, 8], 13),
    );
    t.row(
        "global_magnitude_mask: Fraction(NaN)",
        hp("amount"),
        move || run_global(Amount::Fraction(f64::NAN), &[5, 8], 13),
    );
    for actual in wrong(N) {
        t.row(
            format!("magnitude_mask: mask len {actual}"),
            len("mask", N, actual),
            move || run_mask(Amount::Count(3), N, actual, N),
        );
    }
    // scratch may be longer, not shorter.
    t.row(
        "magnitude_mask: scratch len 12",
        len("scratch", N, N - 1),
        move || run_mask(Amount::Count(3), N, N, N - 1),
    );
    t.row(
        "global_magnitude_mask: scratch len 12",
        len("scratch", 13, 12),
        move || run_global(Amount::Count(3), &[5, 8], 12),
    );
    for masks in [vec![5], vec![5, 8, 1]] {
        t.row(
            format!("global_magnitude_mask: {} masks for 2 weights", masks.len()),
            len("masks", 2, masks.len()),
            move || run_global(Amount::Count(3), &masks, 13),
        );
    }
    for (masks, e) in [
        ([4, 8], len("masks", 5, 4)),
        ([6, 8], len("masks", 5, 6)),
        ([5, 7], len("masks", 8, 7)),
        ([5, 9], len("masks", 8, 9)),
    ] {
        t.row(
            format!("global_magnitude_mask: mask lengths {masks:?} for weights [5, 8]"),
            e,
            move || run_global(Amount::Count(3), &masks, 13),
        );
    }
    for actual in wrong(N) {
        t.row(
            format!("apply_mask: x len {actual}"),
            len("x", N, actual),
            move || {
                let mut x = pattern(actual);
                core(reg::apply_mask(&pattern(N), &mut x), is_pattern(&x))
            },
        );
    }
}
