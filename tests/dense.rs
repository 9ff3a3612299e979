//! The dense layer (`torch.nn.Linear`) against a naive f64 reference on every instruction set,
//! its accumulation semantics, errors, and a finite-difference check of its backward.
//!
//! Tolerance: every output is one sum of `n` products (`n = in` for y, `out` for dx, `batch`
//! for dweight and dbias) plus at most one more term (the bias, or the value accumulated
//! into). As in `tests/gemm.rs`, the FORMAT.md dense rule `2u·√n·max|·|` with the maximum
//! taken over the exact sum of absolute terms `S = Σ|terms|` of the element (so that a
//! cancellation cannot shrink it below the error the sum honestly makes), plus two ulps
//! for the final rounding:
//!
//! ```text
//! |got − want| ≤ 2u·√(terms)·S + 2u·|want|,   u = 2⁻²⁴
//! ```

use descent::dense::Dense;
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::{Isa, Result};

mod common;
use common::{isas, Rng, U};

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The layer's forward on a batch of `[in_features]` samples (the same in both modes).
fn forward(l: &Dense, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) -> Result<()> {
    l.forward(
        Shape::Features(l.in_features),
        Mode::EVAL,
        Params::new(w, b),
        x,
        y,
    )
}

/// The layer's backward after a training forward from `x`: `dweight` and `dbias` when given
/// (accumulated), `dx` when given (written).
fn backward(
    l: &Dense,
    x: &[f32],
    params: Params<'_>,
    dy: &[f32],
    dweight: Option<&mut [f32]>,
    dbias: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) -> Result<()> {
    let grads = Grads {
        weight: dweight,
        bias: dbias,
    };
    let tape = Tape::train(x, &[], &[]);
    l.backward(Shape::Features(l.in_features), params, tape, dy, dx, grads)
}

/// An exact value and its tolerance.
#[derive(Clone, Copy, Default)]
struct Want {
    value: f64,
    tol: f64,
}

/// Accumulates the terms of one output element.
#[derive(Default)]
struct Sum {
    value: f64,
    abs: f64,
    terms: usize,
}

impl Sum {
    fn add(&mut self, t: f64) {
        self.value += t;
        self.abs += t.abs();
        self.terms += 1;
    }

    fn want(&self) -> Want {
        Want {
            value: self.value,
            tol: 2.0 * U * (self.terms.max(1) as f64).sqrt() * self.abs
                + 2.0 * U * self.value.abs(),
        }
    }
}

/// The f64 reference of a layer: y, and (for dy and the initial dweight, dbias) the
/// gradients after one backward.
struct Reference {
    y: Vec<Want>,
    dx: Vec<Want>,
    dw: Vec<Want>,
    db: Vec<Want>,
}

fn reference(
    l: &Dense,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    dy: &[f32],
    dw0: &[f32],
    db0: &[f32],
) -> Reference {
    let (inp, out) = (l.in_features, l.out_features);
    let bs = x.len() / inp;
    let f = |v: f32| v as f64;
    let mut y = vec![Want::default(); bs * out];
    for s in 0..bs {
        for o in 0..out {
            let mut sum = Sum::default();
            for i in 0..inp {
                sum.add(f(x[s * inp + i]) * f(w[o * inp + i]));
            }
            if let Some(b) = b {
                sum.add(f(b[o]));
            }
            y[s * out + o] = sum.want();
        }
    }
    let mut dx = vec![Want::default(); bs * inp];
    for s in 0..bs {
        for i in 0..inp {
            let mut sum = Sum::default();
            for o in 0..out {
                sum.add(f(dy[s * out + o]) * f(w[o * inp + i]));
            }
            dx[s * inp + i] = sum.want();
        }
    }
    let mut dw = vec![Want::default(); out * inp];
    for o in 0..out {
        for i in 0..inp {
            let mut sum = Sum::default();
            sum.add(f(dw0[o * inp + i]));
            for s in 0..bs {
                sum.add(f(dy[s * out + o]) * f(x[s * inp + i]));
            }
            dw[o * inp + i] = sum.want();
        }
    }
    let mut db = vec![Want::default(); out];
    for o in 0..out {
        let mut sum = Sum::default();
        sum.add(f(db0[o]));
        for s in 0..bs {
            sum.add(f(dy[s * out + o]));
        }
        db[o] = sum.want();
    }
    Reference { y, dx, dw, db }
}

fn assert_close(what: &str, got: &[f32], want: &[Want], ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: {what} length");
    for (idx, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (*g as f64 - w.value).abs();
        assert!(
            err <= w.tol,
            "{ctx}: {what}[{idx}] = {g:e}, want {:e}, |err| {err:.3e} > tol {:.3e}",
            w.value,
            w.tol
        );
    }
}

/// Forward and backward of one layer on random data against the reference; `dweight` and
/// `dbias` start from random values (accumulation), `y` and `dx` from NaN (written).
fn check_layer(isa: Isa, bs: usize, inp: usize, out: usize, with_bias: bool, seed: u64) {
    let with = Dense::new(inp, out).with_isa(isa);
    let l = if with_bias { with } else { with.without_bias() };
    let mut rng = Rng::new(seed);
    let x = rng.vec(bs * inp);
    let w = rng.vec(l.weight_len());
    let b = rng.vec(with.bias_len());
    let dy = rng.vec(bs * out);
    let dw0 = rng.vec(l.weight_len());
    let db0 = if with_bias {
        rng.vec(out)
    } else {
        vec![0.0; out]
    };
    let bias = with_bias.then_some(&b[..]);
    let r = reference(&l, &x, &w, bias, &dy, &dw0, &db0);
    let ctx = format!("{isa} batch={bs} in={inp} out={out} bias={with_bias}");

    let mut y = vec![f32::NAN; bs * out];
    forward(&l, &x, &w, bias.unwrap_or(&[]), &mut y).unwrap();
    assert_close("y", &y, &r.y, &ctx);

    let (mut dw, mut db, mut dx) = (dw0.clone(), db0.clone(), vec![f32::NAN; bs * inp]);
    let dbias = with_bias.then_some(&mut db[..]);
    let params = Params::new(&w, bias.unwrap_or(&[]));
    backward(&l, &x, params, &dy, Some(&mut dw), dbias, Some(&mut dx)).unwrap();
    assert_close("dx", &dx, &r.dx, &ctx);
    assert_close("dweight", &dw, &r.dw, &ctx);
    if with_bias {
        assert_close("dbias", &db, &r.db, &ctx);
    } else {
        assert_eq!(db, db0, "{ctx}: dbias touched without bias");
    }
}

#[test]
fn every_small_shape_matches_reference() {
    for isa in isas() {
        for bs in 1..=17 {
            for inp in 1..=17 {
                for out in 1..=17 {
                    let seed = (bs * 10_000 + inp * 100 + out) as u64;
                    check_layer(isa, bs, inp, out, (bs + inp + out) % 2 == 0, seed);
                }
            }
        }
    }
}

#[test]
fn larger_and_odd_shapes_match_reference() {
    let shapes = [
        (1, 784, 128),
        (32, 784, 128),
        (64, 256, 256),
        (32, 128, 10),
        (16, 16, 16),
        (8, 4, 8),
        (33, 65, 129),
        (70, 70, 70),
        (2, 300, 3),
        (3, 5, 300),
        (200, 19, 37),
        (1, 1, 1),
    ];
    for isa in isas() {
        for (s, &(bs, inp, out)) in shapes.iter().enumerate() {
            for with_bias in [true, false] {
                check_layer(isa, bs, inp, out, with_bias, 100 + s as u64);
            }
        }
    }
}

#[test]
fn outputs_are_written_and_gradients_accumulate() {
    for isa in isas() {
        let l = Dense::new(11, 7).with_isa(isa); // a batch of 5
        let mut rng = Rng::new(4);
        let (x, w, b, dy) = (rng.vec(55), rng.vec(77), rng.vec(7), rng.vec(35));

        // y and dx do not depend on what the buffers held.
        let mut y1 = vec![0.0; 35];
        let mut y2 = vec![f32::NAN; 35];
        forward(&l, &x, &w, &b, &mut y1).unwrap();
        forward(&l, &x, &w, &b, &mut y2).unwrap();
        assert_eq!(bits(&y1), bits(&y2));

        // Gradients of one backward from zero, then two backwards onto the same buffers.
        let (mut dw1, mut db1, mut dx1) = (vec![0.0; 77], vec![0.0; 7], vec![0.0; 55]);
        backward(
            &l,
            &x,
            Params::new(&w, &b),
            &dy,
            Some(&mut dw1),
            Some(&mut db1),
            Some(&mut dx1),
        )
        .unwrap();
        let (mut dw2, mut db2, mut dx2) = (vec![0.0; 77], vec![0.0; 7], vec![f32::NAN; 55]);
        for _ in 0..2 {
            backward(
                &l,
                &x,
                Params::new(&w, &b),
                &dy,
                Some(&mut dw2),
                Some(&mut db2),
                Some(&mut dx2),
            )
            .unwrap();
        }
        // dx is written: the same bits as a single call.
        assert_eq!(bits(&dx1), bits(&dx2));
        // dweight and dbias accumulate: exactly twice the single call (x + x is exact when
        // the second call adds the same value onto itself: 0 + g = g, then g + g = 2g).
        let doubled = |v: &[f32]| v.iter().map(|g| 2.0 * g).collect::<Vec<f32>>();
        assert_eq!(bits(&dw2), bits(&doubled(&dw1)));
        assert_eq!(bits(&db2), bits(&doubled(&db1)));

        // Without dbias and dx, only dweight changes.
        let mut dw3 = vec![0.0; 77];
        backward(&l, &x, Params::new(&w, &b), &dy, Some(&mut dw3), None, None).unwrap();
        assert_eq!(bits(&dw3), bits(&dw1));

        // Without dweight (a frozen weight), dbias and dx are those of the full call and
        // dweight is neither read nor written.
        let (mut db4, mut dx4) = (vec![0.0; 7], vec![f32::NAN; 55]);
        backward(
            &l,
            &x,
            Params::new(&w, &b),
            &dy,
            None,
            Some(&mut db4),
            Some(&mut dx4),
        )
        .unwrap();
        assert_eq!((bits(&db4), bits(&dx4)), (bits(&db1), bits(&dx1)));

        // With nothing asked, nothing is computed and the call still succeeds.
        backward(&l, &x, Params::new(&w, &b), &dy, None, None, None).unwrap();
    }
}

/// The ways to call one layer give the same bits: through `dyn Layer` or the value, in
/// either mode, after either tape, with its parameters and gradients as separate slices or as
/// one flat `[weight, bias]` slice each.
#[test]
fn every_way_of_calling_is_the_layer() {
    let (bs, inp, out) = (3, 9, 4);
    let l = Dense::new(inp, out);
    let input = Shape::Features(inp);
    let mut rng = Rng::new(8);
    let (x, w, b, dy) = (rng.vec(27), rng.vec(36), rng.vec(4), rng.vec(12));
    let (mut y1, mut y2, mut y3) = (vec![0.0; 12], vec![0.0; 12], vec![0.0; 12]);
    forward(&l, &x, &w, &b, &mut y1).unwrap();
    let dynamic: &dyn Layer = &l;
    let mut saved = [0.0f32; 0];
    assert_eq!(dynamic.saved_len(input, bs), 0);
    dynamic
        .forward(
            input,
            Mode::train(&mut saved),
            Params::new(&w, &b),
            &x,
            &mut y2,
        )
        .unwrap();
    let flat: Vec<f32> = w.iter().chain(&b).copied().collect();
    let params = Params::split(&flat, dynamic.weight_len());
    l.forward(input, Mode::Eval { buffers: &[] }, params, &x, &mut y3)
        .unwrap();
    assert_eq!(bits(&y1), bits(&y2));
    assert_eq!(bits(&y1), bits(&y3));

    let (mut dw1, mut db1, mut dx1) = (vec![0.0; 36], vec![0.0; 4], vec![0.0; 27]);
    backward(
        &l,
        &x,
        Params::new(&w, &b),
        &dy,
        Some(&mut dw1),
        Some(&mut db1),
        Some(&mut dx1),
    )
    .unwrap();
    let (mut dw2, mut db2, mut dx2) = (vec![0.0; 36], vec![0.0; 4], vec![0.0; 27]);
    let grads = Grads::new(&mut dw2, &mut db2);
    let tape = Tape::eval(&x, &y1, &[]);
    dynamic
        .backward(input, Params::new(&w, &b), tape, &dy, Some(&mut dx2), grads)
        .unwrap();
    let (mut dflat, mut dx3) = (vec![0.0; 40], vec![0.0; 27]);
    let grads = Grads::split(&mut dflat, l.weight_len());
    let tape = Tape::train(&x, &y1, &saved);
    l.backward(input, params, tape, &dy, Some(&mut dx3), grads)
        .unwrap();
    let want = (bits(&dw1), bits(&db1), bits(&dx1));
    assert_eq!(want, (bits(&dw2), bits(&db2), bits(&dx2)));
    assert_eq!(want, (bits(&dflat[..36]), bits(&dflat[36..]), bits(&dx3)));
}

#[test]
fn lengths_and_isa() {
    let l = Dense::new(5, 7);
    // A batch of 3: x is 3·5 floats, y 3·7.
    let input = Shape::Features(5);
    let output = l.output_shape(input).unwrap();
    assert_eq!(output, Shape::Features(7));
    assert_eq!(
        (
            3 * input.len(),
            3 * output.len(),
            l.weight_len(),
            l.bias_len()
        ),
        (15, 21, 35, 7)
    );
    let dynamic: &dyn Layer = &l;
    assert_eq!((dynamic.weight_len(), dynamic.bias_len()), (35, 7));
    assert_eq!((dynamic.buffer_len(), dynamic.saved_len(input, 3)), (0, 0));
    assert_eq!(l.without_bias().bias_len(), 0);
    assert_eq!(l.isa(), Isa::detect());
    assert_eq!(l.with_isa(Isa::Portable).isa(), Isa::Portable);
    assert_eq!((l.in_features, l.out_features, l.bias), (5, 7, true));
    assert!(!l.without_bias().bias);
    // Lengths saturate instead of overflowing (no slice holds usize::MAX floats).
    let huge = Dense::new(2, usize::MAX);
    assert_eq!(huge.weight_len(), usize::MAX);
    assert_eq!(Dense::new(usize::MAX, 3).weight_len(), usize::MAX);
    // Sizes are constants when the layer is: buffers can be sized at compile time.
    const LAYER: Dense = Dense::new(784, 128).with_isa(Isa::Portable);
    static WEIGHT: [f32; LAYER.weight_len()] = [0.0; LAYER.weight_len()];
    static BIAS: [f32; LAYER.bias_len()] = [0.0; LAYER.bias_len()];
    assert_eq!((WEIGHT.len(), BIAS.len()), (784 * 128, 128));
    assert_eq!(LAYER, Dense::new(784, 128).with_isa(Isa::Portable));
}

/// Sub-slices at offsets 1..=3 for every argument: the same bits as aligned ones, nothing
/// outside the outputs touched.
#[test]
fn unaligned_arguments() {
    const GUARD: f32 = 9876.5;
    for isa in isas() {
        for &(bs, inp, out) in &[(1, 13, 11), (3, 17, 9), (9, 31, 21), (30, 40, 19)] {
            let l = Dense::new(inp, out).with_isa(isa);
            let mut rng = Rng::new((bs * inp * out) as u64);
            let (x, w, b, dy) = (
                rng.vec(bs * inp),
                rng.vec(l.weight_len()),
                rng.vec(out),
                rng.vec(bs * out),
            );
            let (dw0, db0) = (rng.vec(l.weight_len()), rng.vec(out));
            let mut y = vec![0.0; bs * out];
            forward(&l, &x, &w, &b, &mut y).unwrap();
            let (mut dw, mut db, mut dx) = (dw0.clone(), db0.clone(), vec![0.0; bs * inp]);
            backward(
                &l,
                &x,
                Params::new(&w, &b),
                &dy,
                Some(&mut dw),
                Some(&mut db),
                Some(&mut dx),
            )
            .unwrap();
            for off in 1..=3 {
                let pad = |v: &[f32]| {
                    let mut buf = vec![GUARD; v.len() + off + 4];
                    buf[off..off + v.len()].copy_from_slice(v);
                    buf
                };
                let inner = |buf: &[f32]| buf[off..buf.len() - 4].to_vec();
                let outside_untouched = |buf: &[f32]| {
                    buf[..off]
                        .iter()
                        .chain(&buf[buf.len() - 4..])
                        .all(|v| *v == GUARD)
                };
                let (xb, wb, bb, dyb) = (pad(&x), pad(&w), pad(&b), pad(&dy));
                let mut yb = pad(&vec![0.0; bs * out]);
                let ylen = yb.len();
                forward(
                    &l,
                    &xb[off..off + x.len()],
                    &wb[off..off + w.len()],
                    &bb[off..off + out],
                    &mut yb[off..ylen - 4],
                )
                .unwrap();
                assert_eq!(bits(&inner(&yb)), bits(&y), "{isa} y +{off}");
                assert!(outside_untouched(&yb));
                let (mut dwb, mut dbb, mut dxb) = (pad(&dw0), pad(&db0), pad(&vec![0.0; bs * inp]));
                let (dwl, dbl, dxl) = (dwb.len(), dbb.len(), dxb.len());
                backward(
                    &l,
                    &xb[off..off + x.len()],
                    Params::new(&wb[off..off + w.len()], &bb[off..off + out]),
                    &dyb[off..off + dy.len()],
                    Some(&mut dwb[off..dwl - 4]),
                    Some(&mut dbb[off..dbl - 4]),
                    Some(&mut dxb[off..dxl - 4]),
                )
                .unwrap();
                assert_eq!(bits(&inner(&dwb)), bits(&dw), "{isa} dweight +{off}");
                assert_eq!(bits(&inner(&dbb)), bits(&db), "{isa} dbias +{off}");
                assert_eq!(bits(&inner(&dxb)), bits(&dx), "{isa} dx +{off}");
                assert!(
                    outside_untouched(&dwb) && outside_untouched(&dbb) && outside_untouched(&dxb)
                );
            }
        }
    }
}

/// Central finite differences of `L = Σ y·r` (y = x·Wᵀ + b in f32, L summed in f64) against
/// backward with `dy = r`, for every element of x, W and b.
///
/// L is linear in each parameter, so the central difference has no truncation error: it
/// differs from the gradient only by the rounding of the two forwards. Each `y` is within
/// `τ = max tol(y)` of its exact value (the reference tolerance above), so
/// `|ΔL − exact ΔL| ≤ 2·Σ|r|·τ` and the difference quotient is within `Σ|r|·τ/h` of the
/// gradient, with `h` the actual step `((θ + 0.01) − (θ − 0.01))/2` in f32. The gradient
/// itself is within its own reference tolerance.
#[test]
fn backward_matches_finite_differences() {
    for isa in isas() {
        for &(bs, inp, out) in &[(1, 3, 2), (3, 5, 4), (4, 17, 9), (2, 40, 3)] {
            let l = Dense::new(inp, out).with_isa(isa);
            let mut rng = Rng::new((bs + inp + out) as u64);
            let (x, w, b, r) = (
                rng.vec(bs * inp),
                rng.vec(l.weight_len()),
                rng.vec(out),
                rng.vec(bs * out),
            );
            let loss = |x: &[f32], w: &[f32], b: &[f32]| {
                let mut y = vec![0.0; bs * out];
                forward(&l, x, w, b, &mut y).unwrap();
                y.iter()
                    .zip(&r)
                    .map(|(y, r)| *y as f64 * *r as f64)
                    .sum::<f64>()
            };
            let (mut dw, mut db, mut dx) = (
                vec![0.0; l.weight_len()],
                vec![0.0; out],
                vec![0.0; bs * inp],
            );
            backward(
                &l,
                &x,
                Params::new(&w, &b),
                &r,
                Some(&mut dw),
                Some(&mut db),
                Some(&mut dx),
            )
            .unwrap();
            let refr = reference(
                &l,
                &x,
                &w,
                Some(&b),
                &r,
                &vec![0.0; l.weight_len()],
                &vec![0.0; out],
            );
            let tau = refr.y.iter().map(|v| v.tol).fold(0.0, f64::max);
            let sum_r: f64 = r.iter().map(|v| (*v as f64).abs()).sum();

            // Perturbs element `idx` of argument `which` (0: x, 1: w, 2: b) by ±0.01.
            let fd = |which: usize, idx: usize| {
                let (mut xp, mut wp, mut bp) = (x.clone(), w.clone(), b.clone());
                let (mut xm, mut wm, mut bm) = (x.clone(), w.clone(), b.clone());
                let (p, m) = match which {
                    0 => (&mut xp[idx], &mut xm[idx]),
                    1 => (&mut wp[idx], &mut wm[idx]),
                    _ => (&mut bp[idx], &mut bm[idx]),
                };
                *p += 0.01;
                *m -= 0.01;
                let h = (*p as f64 - *m as f64) / 2.0;
                ((loss(&xp, &wp, &bp) - loss(&xm, &wm, &bm)) / (2.0 * h), h)
            };
            let grads: [(&str, &[f32], &[Want]); 3] = [
                ("dx", &dx, &refr.dx),
                ("dweight", &dw, &refr.dw),
                ("dbias", &db, &refr.db),
            ];
            for (which, (name, g, want)) in grads.into_iter().enumerate() {
                for (idx, (g, want)) in g.iter().zip(want).enumerate() {
                    let (numeric, h) = fd(which, idx);
                    let tol = sum_r * tau / h + want.tol;
                    assert!(
                        (*g as f64 - numeric).abs() <= tol,
                        "{isa} {bs}x{inp}x{out} {name}[{idx}]: backward {g}, finite difference {numeric}, tol {tol:e}"
                    );
                }
            }
        }
    }
}

#[test]
fn deterministic() {
    for isa in isas() {
        let (bs, inp, out) = (32, 784, 128);
        let l = Dense::new(inp, out).with_isa(isa);
        let mut rng = Rng::new(21);
        let (x, w, b, dy) = (
            rng.vec(bs * inp),
            rng.vec(l.weight_len()),
            rng.vec(128),
            rng.vec(bs * out),
        );
        let run = || {
            let mut y = vec![0.0; bs * out];
            forward(&l, &x, &w, &b, &mut y).unwrap();
            let (mut dw, mut db, mut dx) = (
                vec![0.0; l.weight_len()],
                vec![0.0; 128],
                vec![0.0; bs * inp],
            );
            backward(
                &l,
                &x,
                Params::new(&w, &b),
                &dy,
                Some(&mut dw),
                Some(&mut db),
                Some(&mut dx),
            )
            .unwrap();
            (bits(&y), bits(&dw), bits(&db), bits(&dx))
        };
        assert_eq!(run(), run());
    }
}

#[test]
fn nan_in_one_sample_stays_in_that_sample() {
    for isa in isas() {
        let l = Dense::new(20, 9).with_isa(isa); // a batch of 4
        let mut rng = Rng::new(2);
        let (mut x, w, b, dy) = (rng.vec(80), rng.vec(180), rng.vec(9), rng.vec(36));
        x[2 * 20 + 7] = f32::NAN;
        let mut y = vec![0.0; 36];
        forward(&l, &x, &w, &b, &mut y).unwrap();
        for (idx, v) in y.iter().enumerate() {
            assert_eq!(v.is_nan(), idx / 9 == 2, "{isa} y[{idx}]");
        }
        // dweight's column 7 reads x[2, 7] in every row; dx does not read x.
        let (mut dw, mut dx) = (vec![0.0; 180], vec![0.0; 80]);
        backward(
            &l,
            &x,
            Params::new(&w, &b),
            &dy,
            Some(&mut dw),
            None,
            Some(&mut dx),
        )
        .unwrap();
        for (idx, v) in dw.iter().enumerate() {
            assert_eq!(v.is_nan(), idx % 20 == 7, "{isa} dweight[{idx}]");
        }
        assert!(dx.iter().all(|v| v.is_finite()));
    }
}
