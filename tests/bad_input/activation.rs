//! Bad-input rows of `descent::activation`: the free functions and the `Activation` enum.

use descent::activation::{self as act, Activation, Elu, LeakyRelu, Softplus};

use crate::harness::*;
#[path = "../common/activation_layer.rs"]
mod activation_layer;
use activation_layer::{act_backward, act_forward};

pub(crate) type Unary = fn(&[f32], &mut [f32]) -> descent::Result<()>;
pub(crate) type Backward = fn(&[f32], &[f32], &mut [f32]) -> descent::Result<()>;
pub(crate) type BackwardInplace = fn(&[f32], &mut [f32]) -> descent::Result<()>;

/// `f(x, y)`: `y` wrong by ±1.
pub(crate) fn unary_rows(t: &mut Table, name: &'static str, f: Unary) {
    for actual in wrong(N) {
        t.row(
            format!("{name}: y len {actual}"),
            len("y", N, actual),
            move || {
                let mut y = sentinel(actual);
                core(f(&pattern(N), &mut y), is_sentinel(&y))
            },
        );
    }
}

/// `f(saved, dy, dx)`: `dy` and `dx` wrong by ±1.
pub(crate) fn backward_rows(t: &mut Table, name: &'static str, f: Backward) {
    for actual in wrong(N) {
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", N, actual),
            move || {
                let mut dx = sentinel(N);
                core(f(&pattern(N), &pattern(actual), &mut dx), is_sentinel(&dx))
            },
        );
        t.row(
            format!("{name}: dx len {actual}"),
            len("dx", N, actual),
            move || {
                let mut dx = sentinel(actual);
                core(f(&pattern(N), &pattern(N), &mut dx), is_sentinel(&dx))
            },
        );
    }
}

/// `f(saved, dy)` in place: `dy` wrong by ±1.
pub(crate) fn backward_inplace_rows(t: &mut Table, name: &'static str, f: BackwardInplace) {
    for actual in wrong(N) {
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", N, actual),
            move || {
                let mut dy = pattern(actual);
                core(f(&pattern(N), &mut dy), is_pattern(&dy))
            },
        );
    }
}

/// A call with a bad hyper-parameter value, by name.
pub(crate) type HyperCall = (&'static str, fn(f32) -> Outcome);

/// The calls of one hyper-parameter family, each with a bad value `v` and correct lengths:
/// forward, in place, backward, backward in place. Every output must stay untouched.
pub(crate) fn hyper_rows(t: &mut Table, what: &'static str, values: &[f32], calls: [HyperCall; 4]) {
    for &v in values {
        for (name, call) in calls {
            t.row(format!("{name}: {what} = {v}"), hp(what), move || call(v));
        }
    }
}

pub(crate) fn forward_with(f: impl Fn(&[f32], &mut [f32]) -> descent::Result<()>) -> Outcome {
    let mut y = sentinel(N);
    core(f(&pattern(N), &mut y), is_sentinel(&y))
}

pub(crate) fn inplace_with(f: impl Fn(&mut [f32]) -> descent::Result<()>) -> Outcome {
    let mut x = pattern(N);
    core(f(&mut x), is_pattern(&x))
}

pub(crate) fn backward_with(
    f: impl Fn(&[f32], &[f32], &mut [f32]) -> descent::Result<()>,
) -> Outcome {
    let mut dx = sentinel(N);
    core(f(&pattern(N), &pattern(N), &mut dx), is_sentinel(&dx))
}

pub(crate) fn backward_inplace_with(
    f: impl Fn(&[f32], &mut [f32]) -> descent::Result<()>,
) -> Outcome {
    let mut dy = pattern(N);
    core(f(&pattern(N), &mut dy), is_pattern(&dy))
}

pub(crate) type RowForward = fn(&[f32], &mut [f32], usize) -> descent::Result<()>;
pub(crate) type RowInplace = fn(&mut [f32], usize) -> descent::Result<()>;
pub(crate) type RowBackward = fn(&[f32], &[f32], &mut [f32], usize) -> descent::Result<()>;
pub(crate) type RowBackwardInplace = fn(&[f32], &mut [f32], usize) -> descent::Result<()>;

pub(crate) fn row_forward_rows(
    t: &mut Table,
    name: &'static str,
    f: RowForward,
    first: &'static str,
) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut y = sentinel(M);
        core(f(&pattern(M), &mut y, 0), is_sentinel(&y))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: {first} len {actual} (not whole rows)"),
            not_whole_rows(first, actual),
            move || {
                let mut y = sentinel(actual);
                core(f(&pattern(actual), &mut y, COLS), is_sentinel(&y))
            },
        );
        t.row(
            format!("{name}: y len {actual}"),
            len("y", M, actual),
            move || {
                let mut y = sentinel(actual);
                core(f(&pattern(M), &mut y, COLS), is_sentinel(&y))
            },
        );
    }
}

pub(crate) fn row_inplace_rows(t: &mut Table, name: &'static str, f: RowInplace) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut x = pattern(M);
        core(f(&mut x, 0), is_pattern(&x))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: x len {actual} (not whole rows)"),
            not_whole_rows("x", actual),
            move || {
                let mut x = pattern(actual);
                core(f(&mut x, COLS), is_pattern(&x))
            },
        );
    }
}

pub(crate) fn row_backward_rows(
    t: &mut Table,
    name: &'static str,
    f: RowBackward,
    first: &'static str,
) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut dx = sentinel(M);
        core(f(&pattern(M), &pattern(M), &mut dx, 0), is_sentinel(&dx))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: {first} len {actual} (not whole rows)"),
            not_whole_rows(first, actual),
            move || {
                let mut dx = sentinel(actual);
                core(
                    f(&pattern(actual), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dx = sentinel(M);
                core(
                    f(&pattern(M), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}: dx len {actual}"),
            len("dx", M, actual),
            move || {
                let mut dx = sentinel(actual);
                core(f(&pattern(M), &pattern(M), &mut dx, COLS), is_sentinel(&dx))
            },
        );
    }
}

pub(crate) fn row_backward_inplace_rows(
    t: &mut Table,
    name: &'static str,
    f: RowBackwardInplace,
    first: &'static str,
) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut dy = pattern(M);
        core(f(&pattern(M), &mut dy, 0), is_pattern(&dy))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: {first} len {actual} (not whole rows)"),
            not_whole_rows(first, actual),
            move || {
                let mut dy = pattern(actual);
                core(f(&pattern(actual), &mut dy, COLS), is_pattern(&dy))
            },
        );
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dy = pattern(actual);
                core(f(&pattern(M), &mut dy, COLS), is_pattern(&dy))
            },
        );
    }
}

/// Every `Activation` with valid hyper-parameters.
pub(crate) const ACTIVATIONS: [Activation; 12] = [
    Activation::Relu,
    Activation::LeakyRelu(LeakyRelu::DEFAULT),
    Activation::LeakyRelu(LeakyRelu {
        negative_slope: -0.5,
    }),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Softplus(Softplus::DEFAULT),
    Activation::Elu(Elu::DEFAULT),
    Activation::Softmax,
    Activation::LogSoftmax,
];

/// The `Activation` methods on `[ROWS, COLS]`: zero `cols`, lengths that are not whole rows,
/// and every other slice wrong by ±1.
pub(crate) fn activation_enum_rows(t: &mut Table, a: Activation) {
    let name = format!("Activation::{a:?}");
    t.row(
        format!("{name}.forward: cols = 0"),
        zero("cols"),
        move || {
            let mut y = sentinel(M);
            core(act_forward(&a, &pattern(M), &mut y, 0), is_sentinel(&y))
        },
    );
    t.row(
        format!("{name}.forward_inplace: cols = 0"),
        zero("cols"),
        move || {
            let mut x = pattern(M);
            core(a.forward_inplace(&mut x, 0), is_pattern(&x))
        },
    );
    t.row(
        format!("{name}.backward: cols = 0"),
        zero("cols"),
        move || {
            let mut dx = sentinel(M);
            core(
                act_backward(&a, &pattern(M), &pattern(M), &mut dx, 0),
                is_sentinel(&dx),
            )
        },
    );
    t.row(
        format!("{name}.backward_inplace: cols = 0"),
        zero("cols"),
        move || {
            let mut dy = pattern(M);
            core(a.backward_inplace(&pattern(M), &mut dy, 0), is_pattern(&dy))
        },
    );
    for actual in wrong(M) {
        t.row(
            format!("{name}.forward: x len {actual}"),
            not_whole_rows("x", actual),
            move || {
                let mut y = sentinel(actual);
                core(
                    act_forward(&a, &pattern(actual), &mut y, COLS),
                    is_sentinel(&y),
                )
            },
        );
        t.row(
            format!("{name}.forward: y len {actual}"),
            len("y", M, actual),
            move || {
                let mut y = sentinel(actual);
                core(act_forward(&a, &pattern(M), &mut y, COLS), is_sentinel(&y))
            },
        );
        t.row(
            format!("{name}.forward_inplace: x len {actual}"),
            not_whole_rows("x", actual),
            move || {
                let mut x = pattern(actual);
                core(a.forward_inplace(&mut x, COLS), is_pattern(&x))
            },
        );
        t.row(
            format!("{name}.backward: saved len {actual}"),
            not_whole_rows("saved", actual),
            move || {
                let mut dx = sentinel(actual);
                core(
                    act_backward(&a, &pattern(actual), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}.backward: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dx = sentinel(M);
                core(
                    act_backward(&a, &pattern(M), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}.backward: dx len {actual}"),
            len("dx", M, actual),
            move || {
                let mut dx = sentinel(actual);
                core(
                    act_backward(&a, &pattern(M), &pattern(M), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}.backward_inplace: saved len {actual}"),
            not_whole_rows("saved", actual),
            move || {
                let mut dy = pattern(actual);
                core(
                    a.backward_inplace(&pattern(actual), &mut dy, COLS),
                    is_pattern(&dy),
                )
            },
        );
        t.row(
            format!("{name}.backward_inplace: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dy = pattern(actual);
                core(
                    a.backward_inplace(&pattern(M), &mut dy, COLS),
                    is_pattern(&dy),
                )
            },
        );
    }
}

/// An `Activation` with a bad hyper-parameter: every method refuses it with correct lengths.
pub(crate) fn activation_enum_hyper_rows(t: &mut Table, a: Activation, what: &'static str) {
    let name = format!("Activation::{a:?}");
    t.row(format!("{name}.forward"), hp(what), move || {
        let mut y = sentinel(M);
        core(act_forward(&a, &pattern(M), &mut y, COLS), is_sentinel(&y))
    });
    t.row(format!("{name}.forward_inplace"), hp(what), move || {
        let mut x = pattern(M);
        core(a.forward_inplace(&mut x, COLS), is_pattern(&x))
    });
    t.row(format!("{name}.backward"), hp(what), move || {
        let mut dx = sentinel(M);
        core(
            act_backward(&a, &pattern(M), &pattern(M), &mut dx, COLS),
            is_sentinel(&dx),
        )
    });
    t.row(format!("{name}.backward_inplace"), hp(what), move || {
        let mut dy = pattern(M);
        core(
            a.backward_inplace(&pattern(M), &mut dy, COLS),
            is_pattern(&dy),
        )
    });
}

pub(crate) fn rows(t: &mut Table) {
    t.module("activation");
    let unary: [(&'static str, Unary); 9] = [
        ("relu", act::relu),
        ("sigmoid", act::sigmoid),
        ("tanh", act::tanh),
        ("gelu", act::gelu),
        ("gelu_tanh", act::gelu_tanh),
        ("silu", act::silu),
        ("leaky_relu", |x, y| act::leaky_relu(x, y, 0.01)),
        ("elu", |x, y| act::elu(x, y, 1.0)),
        ("softplus", |x, y| act::softplus(x, y, 1.0, 20.0)),
    ];
    for (name, f) in unary {
        unary_rows(t, name, f);
    }
    let backward: [(&'static str, Backward); 10] = [
        ("relu_backward", act::relu_backward),
        ("sigmoid_backward", act::sigmoid_backward),
        ("tanh_backward", act::tanh_backward),
        ("gelu_backward", act::gelu_backward),
        ("gelu_tanh_backward", act::gelu_tanh_backward),
        ("silu_backward", act::silu_backward),
        ("leaky_relu_backward", |s, dy, dx| {
            act::leaky_relu_backward(s, dy, dx, 0.01)
        }),
        ("elu_backward", |s, dy, dx| {
            act::elu_backward(s, dy, dx, 1.0)
        }),
        ("elu_backward_input", |s, dy, dx| {
            act::elu_backward_input(s, dy, dx, -1.0)
        }),
        ("softplus_backward", |s, dy, dx| {
            act::softplus_backward(s, dy, dx, 1.0, 20.0)
        }),
    ];
    for (name, f) in backward {
        backward_rows(t, name, f);
    }
    let backward_inplace: [(&'static str, BackwardInplace); 10] = [
        ("relu_backward_inplace", act::relu_backward_inplace),
        ("sigmoid_backward_inplace", act::sigmoid_backward_inplace),
        ("tanh_backward_inplace", act::tanh_backward_inplace),
        ("gelu_backward_inplace", act::gelu_backward_inplace),
        (
            "gelu_tanh_backward_inplace",
            act::gelu_tanh_backward_inplace,
        ),
        ("silu_backward_inplace", act::silu_backward_inplace),
        ("leaky_relu_backward_inplace", |s, dy| {
            act::leaky_relu_backward_inplace(s, dy, 0.01)
        }),
        ("elu_backward_inplace", |s, dy| {
            act::elu_backward_inplace(s, dy, 1.0)
        }),
        ("elu_backward_input_inplace", |s, dy| {
            act::elu_backward_input_inplace(s, dy, -1.0)
        }),
        ("softplus_backward_inplace", |s, dy| {
            act::softplus_backward_inplace(s, dy, 1.0, 20.0)
        }),
    ];
    for (name, f) in backward_inplace {
        backward_inplace_rows(t, name, f);
    }

    // Hyper-parameters, each call with correct lengths.
    hyper_rows(
        t,
        "negative_slope",
        &NON_FINITE,
        [
            ("leaky_relu", |v| {
                forward_with(|x, y| act::leaky_relu(x, y, v))
            }),
            ("leaky_relu_inplace", |v| {
                inplace_with(|x| act::leaky_relu_inplace(x, v))
            }),
            ("leaky_relu_backward", |v| {
                backward_with(|s, dy, dx| act::leaky_relu_backward(s, dy, dx, v))
            }),
            ("leaky_relu_backward_inplace", |v| {
                backward_inplace_with(|s, dy| act::leaky_relu_backward_inplace(s, dy, v))
            }),
        ],
    );
    hyper_rows(
        t,
        "alpha",
        &NON_FINITE,
        [
            ("elu", |v| forward_with(|x, y| act::elu(x, y, v))),
            ("elu_inplace", |v| inplace_with(|x| act::elu_inplace(x, v))),
            ("elu_backward_input", |v| {
                backward_with(|s, dy, dx| act::elu_backward_input(s, dy, dx, v))
            }),
            ("elu_backward_input_inplace", |v| {
                backward_inplace_with(|s, dy| act::elu_backward_input_inplace(s, dy, v))
            }),
        ],
    );
    // From the output, alpha must also be ≥ 0.
    for v in [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        t.row(
            format!("elu_backward: alpha = {v}"),
            hp("alpha"),
            move || backward_with(|s, dy, dx| act::elu_backward(s, dy, dx, v)),
        );
        t.row(
            format!("elu_backward_inplace: alpha = {v}"),
            hp("alpha"),
            move || backward_inplace_with(|s, dy| act::elu_backward_inplace(s, dy, v)),
        );
    }
    hyper_rows(
        t,
        "beta",
        &[0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
        [
            ("softplus", |v| {
                forward_with(|x, y| act::softplus(x, y, v, 20.0))
            }),
            ("softplus_inplace", |v| {
                inplace_with(|x| act::softplus_inplace(x, v, 20.0))
            }),
            ("softplus_backward", |v| {
                backward_with(|s, dy, dx| act::softplus_backward(s, dy, dx, v, 20.0))
            }),
            ("softplus_backward_inplace", |v| {
                backward_inplace_with(|s, dy| act::softplus_backward_inplace(s, dy, v, 20.0))
            }),
        ],
    );
    hyper_rows(
        t,
        "threshold",
        &[f32::NAN],
        [
            ("softplus", |v| {
                forward_with(|x, y| act::softplus(x, y, 1.0, v))
            }),
            ("softplus_inplace", |v| {
                inplace_with(|x| act::softplus_inplace(x, 1.0, v))
            }),
            ("softplus_backward", |v| {
                backward_with(|s, dy, dx| act::softplus_backward(s, dy, dx, 1.0, v))
            }),
            ("softplus_backward_inplace", |v| {
                backward_inplace_with(|s, dy| act::softplus_backward_inplace(s, dy, 1.0, v))
            }),
        ],
    );

    // Softmax and log-softmax over rows.
    row_forward_rows(t, "softmax", act::softmax, "x");
    row_forward_rows(t, "log_softmax", act::log_softmax, "x");
    row_inplace_rows(t, "softmax_inplace", act::softmax_inplace);
    row_inplace_rows(t, "log_softmax_inplace", act::log_softmax_inplace);
    row_backward_rows(t, "softmax_backward", act::softmax_backward, "y");
    row_backward_rows(t, "log_softmax_backward", act::log_softmax_backward, "y");
    row_backward_inplace_rows(
        t,
        "softmax_backward_inplace",
        act::softmax_backward_inplace,
        "y",
    );
    row_backward_inplace_rows(
        t,
        "log_softmax_backward_inplace",
        act::log_softmax_backward_inplace,
        "y",
    );

    // The `Activation` enum.
    for a in ACTIVATIONS {
        activation_enum_rows(t, a);
    }
    for v in NON_FINITE {
        activation_enum_hyper_rows(
            t,
            Activation::LeakyRelu(LeakyRelu { negative_slope: v }),
            "negative_slope",
        );
        activation_enum_hyper_rows(t, Activation::Elu(Elu { alpha: v }), "alpha");
    }
    for v in [0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        activation_enum_hyper_rows(
            t,
            Activation::Softplus(Softplus {
                beta: v,
                threshold: 20.0,
            }),
            "beta",
        );
    }
    activation_enum_hyper_rows(
        t,
        Activation::Softplus(Softplus {
            beta: 1.0,
            threshold: f32::NAN,
        }),
        "threshold",
    );
}
