//! Bad-input rows of `descent::dropout`.

use descent::dropout::{
    dropout, dropout_backward, dropout_backward_inplace, dropout_inplace, Dropout,
};
use descent::layer::{Layer, Mode, Params, Shape};

use crate::harness::*;

/// Dropout length: two mask words.
pub(crate) const D: usize = 40;
pub(crate) const D_MASK: usize = 2;

/// `dropout` with these lengths and `p` (training), or the [`Dropout`] layer in evaluation:
/// `y` and the mask are write-only, nothing may be drawn.
pub(crate) fn run_dropout(x: usize, y: usize, mask: usize, p: f32, training: bool) -> Outcome {
    let mut rng = Counting::new();
    let mut out = sentinel(y);
    let mut m = vec![MASK_SENTINEL; mask];
    let r = if training {
        dropout(&pattern(x), &mut out, &mut m, p, &mut rng)
    } else {
        let shape = Shape::Features(x);
        Dropout::new(p).forward(shape, Mode::EVAL, Params::NONE, &pattern(x), &mut out)
    };
    let untouched = is_sentinel(&out) && m.iter().all(|&w| w == MASK_SENTINEL) && rng.drawn == 0;
    core(r, untouched)
}

/// The [`Dropout`] layer in training, its mask in `saved` floats.
pub(crate) fn run_dropout_layer(x: usize, y: usize, saved: usize, p: f32) -> Outcome {
    let mut rng = Counting::new();
    let mut out = sentinel(y);
    let mut s = sentinel(saved);
    let mode = Mode::Train {
        buffers: &mut [],
        saved: &mut s,
        rng: Some(&mut rng),
    };
    let shape = Shape::Features(x);
    let r = Dropout::new(p).forward(shape, mode, Params::NONE, &pattern(x), &mut out);
    core(r, is_sentinel(&out) && is_sentinel(&s) && rng.drawn == 0)
}

pub(crate) fn run_dropout_inplace(x: usize, mask: usize, p: f32) -> Outcome {
    let mut rng = Counting::new();
    let mut v = pattern(x);
    let mut m = vec![MASK_SENTINEL; mask];
    let r = dropout_inplace(&mut v, &mut m, p, &mut rng);
    let untouched = is_pattern(&v) && m.iter().all(|&w| w == MASK_SENTINEL) && rng.drawn == 0;
    core(r, untouched)
}

pub(crate) fn run_dropout_backward(dy: usize, dx: usize, mask: usize, p: f32) -> Outcome {
    let mut out = sentinel(dx);
    let r = dropout_backward(&pattern(dy), &mut out, &vec![u32::MAX; mask], p);
    core(r, is_sentinel(&out))
}

pub(crate) fn run_dropout_backward_inplace(d: usize, mask: usize, p: f32) -> Outcome {
    let mut v = pattern(d);
    let r = dropout_backward_inplace(&mut v, &vec![u32::MAX; mask], p);
    core(r, is_pattern(&v))
}

pub(crate) fn rows(t: &mut Table) {
    t.module("dropout");
    for p in NOT_UNIT {
        for training in [true, false] {
            t.row(
                format!("dropout: p = {p} (training = {training})"),
                hp("p"),
                move || run_dropout(D, D, D_MASK, p, training),
            );
        }
        t.row(format!("dropout_inplace: p = {p}"), hp("p"), move || {
            run_dropout_inplace(D, D_MASK, p)
        });
        t.row(format!("Dropout layer: p = {p}"), hp("p"), move || {
            run_dropout_layer(D, D, D_MASK, p)
        });
        t.row(format!("dropout_backward: p = {p}"), hp("p"), move || {
            run_dropout_backward(D, D, D_MASK, p)
        });
        t.row(
            format!("dropout_backward_inplace: p = {p}"),
            hp("p"),
            move || run_dropout_backward_inplace(D, D_MASK, p),
        );
    }
    for actual in wrong(D) {
        for training in [true, false] {
            t.row(
                format!("dropout: y len {actual} (training = {training})"),
                len("y", D, actual),
                move || run_dropout(D, actual, D_MASK, 0.5, training),
            );
        }
        t.row(
            format!("dropout_backward: dx len {actual}"),
            len("dx", D, actual),
            move || run_dropout_backward(D, actual, D_MASK, 0.5),
        );
    }
    for actual in wrong(D_MASK) {
        for p in [0.0, 0.5, 1.0] {
            t.row(
                format!("dropout: mask len {actual} (p = {p})"),
                len("mask", D_MASK, actual),
                move || run_dropout(D, D, actual, p, true),
            );
            t.row(
                format!("dropout_inplace: mask len {actual} (p = {p})"),
                len("mask", D_MASK, actual),
                move || run_dropout_inplace(D, actual, p),
            );
            t.row(
                format!("Dropout layer: saved len {actual} (p = {p})"),
                len("saved", D_MASK, actual),
                move || run_dropout_layer(D, D, actual, p),
            );
        }
        t.row(
            format!("dropout_backward: mask len {actual}"),
            len("mask", D_MASK, actual),
            move || run_dropout_backward(D, D, actual, 0.5),
        );
        t.row(
            format!("dropout_backward_inplace: mask len {actual}"),
            len("mask", D_MASK, actual),
            move || run_dropout_backward_inplace(D, actual, 0.5),
        );
    }
}
