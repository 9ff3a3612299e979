//! `descent::conv` against the f64 reference of `tests/reference/conv.rs` on every instruction
//! set: random shapes and hyper-parameters, every width 1..=70 (the axis the lanes run
//! along), unaligned slices, accumulation semantics, and a finite-difference check of the
//! backward. The torch vectors run in `tests/conformance.rs`.

mod common;
#[path = "reference/conv.rs"]
mod reference;

use common::{for_each_isa, Rng};
use descent::conv::{Conv1d, Conv2d};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape, Window};
use descent::Error;
use reference::{first_miss, ConvDims, Want};

/// The layer for `d`: a `Conv1d` over `[C, L]` when `one_d` (height 1, window height 1), else
/// a `Conv2d` over `[C, H, W]`.
fn layer(d: &ConvDims, one_d: bool, bias: bool) -> (Box<dyn Layer>, Shape) {
    let axis = |a: usize| Window {
        kernel_size: d.kernel[a],
        stride: d.stride[a],
        padding: d.padding[a],
        dilation: d.dilation[a],
    };
    if one_d {
        let mut c = Conv1d::new(d.in_channels, d.out_channels, 1).with_groups(d.groups);
        c.set_window(axis(1));
        c.bias = bias;
        let input = Shape::Sequence {
            channels: d.in_channels,
            length: d.input[1],
        };
        (Box::new(c), input)
    } else {
        let mut c = Conv2d::new(d.in_channels, d.out_channels, [1, 1]).with_groups(d.groups);
        c.set_windows([axis(0), axis(1)]);
        c.bias = bias;
        let input = Shape::Image {
            channels: d.in_channels,
            height: d.input[0],
            width: d.input[1],
        };
        (Box::new(c), input)
    }
}

fn assert_close(what: &str, got: &[f32], want: &[Want], ctx: &str) {
    if let Some(miss) = first_miss(got, want) {
        panic!("{ctx}: {what}{miss}");
    }
}

/// Forward and backward of `d` against the reference: `y` and `dx` written over NaN, `dweight`
/// and `dbias` accumulated onto random values.
fn check(d: &ConvDims, one_d: bool, bias: bool, seed: u64, ctx: &str) {
    let (l, input) = layer(d, one_d, bias);
    let mut rng = Rng::new(seed);
    let x = rng.vec(d.x_len());
    let w = rng.vec(d.weight_len());
    let b = if bias {
        rng.vec(d.out_channels)
    } else {
        vec![]
    };
    let dy = rng.vec(d.y_len());
    let (dw0, db0) = (rng.vec(d.weight_len()), rng.vec(b.len()));
    let params = Params::new(&w, &b);

    let mut y = vec![f32::NAN; d.y_len()];
    l.forward(input, Mode::EVAL, params, &x, &mut y).unwrap();
    assert_close("y", &y, &d.forward(&x, &w, bias.then_some(&b[..])), ctx);

    let (mut dw, mut db, mut dx) = (dw0.clone(), db0.clone(), vec![f32::NAN; x.len()]);
    let tape = Tape::train(&x, &y, &[]);
    let grads = Grads::new(&mut dw, &mut db);
    l.backward(input, params, tape, &dy, Some(&mut dx), grads)
        .unwrap();
    let (rdx, rdw, rdb) = d.backward(&x, &w, &dy, &dw0, &db0);
    assert_close("dx", &dx, &rdx, ctx);
    assert_close("dweight", &dw, &rdw, ctx);
    if bias {
        assert_close("dbias", &db, &rdb, ctx);
    }
}

/// A whole number in `lo..=hi`.
fn pick(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    lo + ((rng.next() + 1.0) * 0.5 * (hi - lo + 1) as f32) as usize % (hi - lo + 1)
}

#[test]
fn random_shapes_match_reference() {
    let mut rng = Rng::new(7);
    let mut tried = 0;
    while tried < 300 {
        let one_d = tried % 2 == 0;
        let groups = pick(&mut rng, 1, 3);
        let kernel = [
            if one_d { 1 } else { pick(&mut rng, 1, 4) },
            pick(&mut rng, 1, 5),
        ];
        let d = ConvDims {
            batch: pick(&mut rng, 1, 3),
            in_channels: groups * pick(&mut rng, 1, 3),
            out_channels: groups * pick(&mut rng, 1, 3),
            groups,
            input: [
                if one_d { 1 } else { pick(&mut rng, 1, 9) },
                pick(&mut rng, 1, 23),
            ],
            kernel,
            stride: [
                if one_d { 1 } else { pick(&mut rng, 1, 3) },
                pick(&mut rng, 1, 3),
            ],
            padding: [
                if one_d { 0 } else { pick(&mut rng, 0, 2) },
                pick(&mut rng, 0, 3),
            ],
            dilation: [
                if one_d { 1 } else { pick(&mut rng, 1, 2) },
                pick(&mut rng, 1, 3),
            ],
        };
        if d.out_len(0).is_none() || d.out_len(1).is_none() {
            continue;
        }
        let bias = tried % 3 != 0;
        for_each_isa(|isa| check(&d, one_d, bias, tried as u64, &format!("{isa} {d:?}")));
        tried += 1;
    }
}

/// Every width the lanes see, 1..=70: full vectors, tails, and rows shorter than a vector, at
/// stride 1 and 2, with padding and dilation, in one and two dimensions.
#[test]
fn every_width_matches_reference() {
    for width in 1..=70 {
        for (stride, padding, dilation) in [(1, 1, 1), (2, 2, 2), (1, 0, 3)] {
            let mut d = ConvDims {
                batch: 2,
                in_channels: 2,
                out_channels: 3,
                groups: 1,
                input: [1, width],
                kernel: [1, 3],
                stride: [1, stride],
                padding: [0, padding],
                dilation: [1, dilation],
            };
            if d.out_len(1).is_none() {
                continue;
            }
            for_each_isa(|isa| check(&d, true, true, width as u64, &format!("{isa} {d:?}")));
            d.input[0] = 3;
            d.kernel[0] = 2;
            d.padding[0] = 1;
            for_each_isa(|isa| check(&d, false, false, width as u64, &format!("{isa} {d:?}")));
        }
    }
}

/// Rows too long for the stack panel of padded rows take the gathering path: the same sums.
#[test]
fn rows_beyond_the_panel_match_reference() {
    for (one_d, input, kernel, padding, cin) in [
        (true, [1, 300], [1, 5], [0, 2], 4),
        (false, [4, 30], [3, 3], [1, 1], 8),
        (false, [3, 61], [2, 4], [0, 3], 6),
    ] {
        let d = ConvDims {
            batch: 2,
            in_channels: cin,
            out_channels: 9,
            groups: 1,
            input,
            kernel,
            stride: [1, 1],
            padding,
            dilation: [1, 1],
        };
        for_each_isa(|isa| check(&d, one_d, true, 5, &format!("{isa} {d:?}")));
    }
}

/// Arguments at every offset inside larger buffers: the same values, nothing outside written.
#[test]
fn unaligned_arguments() {
    let d = ConvDims {
        batch: 2,
        in_channels: 3,
        out_channels: 4,
        groups: 1,
        input: [5, 13],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
    };
    let (l, input) = layer(&d, false, true);
    let mut rng = Rng::new(11);
    let (x, w, b, dy) = (
        rng.vec(d.x_len()),
        rng.vec(d.weight_len()),
        rng.vec(4),
        rng.vec(d.y_len()),
    );
    for_each_isa(|isa| {
        let mut aligned = (vec![0.0; d.y_len()], vec![0.0; x.len()], vec![0.0; w.len()]);
        {
            let (y, dx, dw) = (&mut aligned.0, &mut aligned.1, &mut aligned.2);
            l.forward(input, Mode::EVAL, Params::new(&w, &b), &x, y)
                .unwrap();
            let tape = Tape::train(&x, y, &[]);
            let grads = Grads {
                weight: Some(dw),
                bias: None,
            };
            l.backward(input, Params::new(&w, &b), tape, &dy, Some(dx), grads)
                .unwrap();
        }
        for off in 1..8 {
            let shifted = |v: &[f32]| {
                let mut s = vec![0.5; v.len() + off + 3];
                s[off..off + v.len()].copy_from_slice(v);
                s
            };
            let (xs, ws, dys) = (shifted(&x), shifted(&w), shifted(&dy));
            let (xo, wo, dyo) = (
                &xs[off..off + x.len()],
                &ws[off..off + w.len()],
                &dys[off..off + dy.len()],
            );
            let mut y = vec![-7.0; d.y_len() + off + 3];
            let mut dx = vec![-7.0; x.len() + off + 3];
            let mut dw = vec![-7.0; w.len() + off + 3];
            let yo = &mut y[off..off + d.y_len()];
            l.forward(input, Mode::EVAL, Params::new(wo, &b), xo, yo)
                .unwrap();
            let dwo = &mut dw[off..off + w.len()];
            dwo.fill(0.0);
            let tape = Tape::train(xo, &[], &[]);
            let grads = Grads {
                weight: Some(dwo),
                bias: None,
            };
            let dxo = &mut dx[off..off + x.len()];
            l.backward(input, Params::new(wo, &b), tape, dyo, Some(dxo), grads)
                .unwrap();
            let ctx = format!("{isa} offset {off}");
            assert_eq!(&y[off..off + d.y_len()], &aligned.0[..], "{ctx} y");
            assert_eq!(&dx[off..off + x.len()], &aligned.1[..], "{ctx} dx");
            assert_eq!(&dw[off..off + w.len()], &aligned.2[..], "{ctx} dweight");
            for v in [&y, &dx, &dw] {
                let n = v.len() - off - 3;
                assert!(
                    v[..off].iter().chain(&v[off + n..]).all(|&e| e == -7.0),
                    "{ctx}"
                );
            }
        }
    });
}

/// Central finite differences of `L = Σ y·r` (the f32 forward, `L` summed in f64) against
/// backward with `dy = r`, for every element of `x`, the weight and the bias.
///
/// `L` is linear in each argument, so the central difference has no truncation error: it
/// differs from the gradient only by the rounding of the two forwards. Each `y` is within
/// `τ = max tol(y)` of its exact value, so the quotient is within `Σ|r|·τ/h` of the gradient
/// (`h` the step actually taken in f32); the gradient is within its own reference bound.
#[test]
fn backward_matches_finite_differences() {
    let shapes = [
        (true, [1, 9], [1, 3], [1, 2], [0, 1], [1, 1], 1),
        (false, [5, 6], [3, 2], [1, 2], [1, 0], [1, 2], 2),
        (false, [4, 4], [2, 2], [2, 1], [1, 1], [1, 1], 1),
    ];
    for (one_d, inp, kernel, stride, padding, dilation, groups) in shapes {
        let d = ConvDims {
            batch: 2,
            in_channels: 2,
            out_channels: 2 * groups,
            groups,
            input: inp,
            kernel,
            stride,
            padding,
            dilation,
        };
        let (l, input) = layer(&d, one_d, true);
        let mut rng = Rng::new(3);
        let (x, w, b, r) = (
            rng.vec(d.x_len()),
            rng.vec(d.weight_len()),
            rng.vec(d.out_channels),
            rng.vec(d.y_len()),
        );
        for_each_isa(|isa| {
            let loss = |x: &[f32], w: &[f32], b: &[f32]| {
                let mut y = vec![0.0; d.y_len()];
                l.forward(input, Mode::EVAL, Params::new(w, b), x, &mut y)
                    .unwrap();
                y.iter()
                    .zip(&r)
                    .map(|(y, r)| *y as f64 * *r as f64)
                    .sum::<f64>()
            };
            let (mut dw, mut db, mut dx) =
                (vec![0.0; w.len()], vec![0.0; b.len()], vec![0.0; x.len()]);
            let tape = Tape::train(&x, &[], &[]);
            l.backward(
                input,
                Params::new(&w, &b),
                tape,
                &r,
                Some(&mut dx),
                Grads::new(&mut dw, &mut db),
            )
            .unwrap();
            let tau = d
                .forward(&x, &w, Some(&b))
                .iter()
                .map(|v| v.tol)
                .fold(0.0, f64::max);
            let sum_r: f64 = r.iter().map(|v| (*v as f64).abs()).sum();
            let (rdx, rdw, rdb) = d.backward(&x, &w, &r, &vec![0.0; w.len()], &vec![0.0; b.len()]);
            let args: [(&str, &[f32], &[Want]); 3] = [
                ("dx", &dx, &rdx),
                ("dweight", &dw, &rdw),
                ("dbias", &db, &rdb),
            ];
            for (which, (name, g, want)) in args.into_iter().enumerate() {
                for (i, (g, want)) in g.iter().zip(want).enumerate() {
                    let (mut xs, mut ws, mut bs) = (
                        [x.clone(), x.clone()],
                        [w.clone(), w.clone()],
                        [b.clone(), b.clone()],
                    );
                    let [p, m] = match which {
                        0 => xs.each_mut(),
                        1 => ws.each_mut(),
                        _ => bs.each_mut(),
                    };
                    p[i] += 0.01;
                    m[i] -= 0.01;
                    let h = (p[i] as f64 - m[i] as f64) / 2.0;
                    let numeric =
                        (loss(&xs[0], &ws[0], &bs[0]) - loss(&xs[1], &ws[1], &bs[1])) / (2.0 * h);
                    let tol = sum_r * tau / h + want.tol;
                    assert!(
                        (*g as f64 - numeric).abs() <= tol,
                        "{isa} {d:?} {name}[{i}]: backward {g}, finite difference {numeric}, tol {tol:e}"
                    );
                }
            }
        });
    }
}

#[test]
fn shapes_and_sizes() {
    let c = Conv1d::new(6, 8, 7).with_stride(2).with_padding(3);
    let input = Shape::Sequence {
        channels: 6,
        length: 100,
    };
    assert_eq!(
        c.output_shape(input),
        Ok(Shape::Sequence {
            channels: 8,
            length: 50
        })
    );
    assert_eq!((c.weight_len(), c.bias_len()), (8 * 6 * 7, 8));
    assert_eq!(Layer::saved_len(&c, input, 4), 0);
    let dw = Conv2d::new(8, 8, [3, 3])
        .with_padding([1, 1])
        .with_groups(8)
        .without_bias();
    let image = Shape::Image {
        channels: 8,
        height: 9,
        width: 9,
    };
    assert_eq!(dw.output_shape(image), Ok(image));
    assert_eq!((dw.weight_len(), dw.bias_len()), (8 * 9, 0));
    assert_eq!(
        Conv2d::new(1, 4, [5, 3]).output_shape(Shape::Image {
            channels: 1,
            height: 4,
            width: 9
        }),
        Err(Error::WindowExceedsInput {
            what: "kernel_size",
            span: 5,
            input: 4
        })
    );
    assert_eq!(
        c.output_shape(Shape::Features(6)),
        Err(Error::RankMismatch {
            what: "input",
            expected: 2,
            actual: 1
        })
    );
}

/// Padded lengths up to `isize::MAX` (the kernels' positions are `isize`), with strides and
/// dilations near 2⁶⁰: the outputs whose windows reach the input read it, the others only
/// padding; a padded length past `isize::MAX` is refused.
#[test]
fn padded_length_up_to_isize_max() {
    // nn.Conv1d(1, 1, 2, stride=s, padding=4s, dilation=2s) on one position, s = 2^60 − 1: the
    // padded input is 8s + 1 = 2^63 − 7 long, the window spans 2s + 1, so 7 outputs. Output o
    // reads position (o − 4 + 2t)·s with tap t: tap 0 of output 4 and tap 1 of output 2 read
    // the input, every other tap padding.
    let s = (1usize << 60) - 1;
    let c = Conv1d::new(1, 1, 2)
        .with_stride(s)
        .with_padding(4 * s)
        .with_dilation(2 * s);
    let input = Shape::Sequence {
        channels: 1,
        length: 1,
    };
    let seq = |length| Shape::Sequence {
        channels: 1,
        length,
    };
    assert_eq!(c.output_shape(input), Ok(seq(7)));
    let (x, w, b) = ([2.0f32], [3.0f32, 5.0], [0.5f32]);
    for_each_isa(|isa| {
        let mut y = [f32::NAN; 7];
        c.forward(input, Mode::EVAL, Params::new(&w, &b), &x, &mut y)
            .unwrap();
        assert_eq!(y, [0.5, 0.5, 10.5, 0.5, 6.5, 0.5, 0.5], "{isa}");
        let (mut dw, mut db, mut dx) = ([0.0f32; 2], [0.0f32], [f32::NAN]);
        let dy = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];
        let tape = Tape::train(&x, &y, &[]);
        let grads = Grads::new(&mut dw, &mut db);
        c.backward(input, Params::new(&w, &b), tape, &dy, Some(&mut dx), grads)
            .unwrap();
        assert_eq!((dw, db, dx), ([32.0, 8.0], [127.0], [68.0]), "{isa}");
    });
    // Nine outputs of one tap, the ninth (o = 8, in the forward's second vector of lanes) at
    // o·stride = 2^63 − 8: the fifth reads the input.
    let nine = Conv1d::new(1, 1, 1).with_stride(s).with_padding(4 * s);
    assert_eq!(nine.output_shape(input), Ok(seq(9)));
    for_each_isa(|isa| {
        let mut y = [f32::NAN; 9];
        nine.forward(input, Mode::EVAL, Params::new(&w[..1], &b), &x, &mut y)
            .unwrap();
        assert_eq!(y, [0.5, 0.5, 0.5, 0.5, 6.5, 0.5, 0.5, 0.5, 0.5], "{isa}");
    });
    // A padding of 2^62: the padded length 2^63 + 1 fits in usize, not in isize.
    assert_eq!(
        c.with_padding(1 << 62).output_shape(input),
        Err(Error::DimensionOverflow { what: "padding" })
    );
}
