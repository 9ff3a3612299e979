//! The pooling layers and `Flatten` on arbitrary shapes (1-D and 2-D, zero dimensions
//! included), hyper-parameters (kernel, stride, padding, dilation, `ceil_mode`,
//! `count_include_pad`, `divisor_override`, zero and out-of-range values included), values
//! (NaN, ±∞, subnormals, huge), slice lengths and sub-slice offsets, through the four `Layer`
//! calls: every call returns `Ok` exactly when torch would accept the arguments (the rules of
//! `tests/reference/pool.rs`, and the slices' lengths), writes nothing on `Err` and nothing
//! outside its outputs, and every output element is compared with the reference:
//!
//! * max pooling: `y` and the saved indices exactly (the reference scans as torch does, NaN
//!   and ties included), `dx` bit for bit against torch's `f32` backward loop, from a
//!   training and from an evaluation tape;
//! * average pooling: `y` and `dx` bit for bit against torch's `f32` loops, and, where a
//!   window's inputs are finite and their magnitudes sum below `f32::MAX/4`, within
//!   `n·u·Σ|x|/divisor + u·|y|` of the `f64` reference (`dx`: `m·u·Σ|dy/divisor|`), plus a
//!   subnormal spacing;
//! * global average pooling: `y` within `(⌈⌊n/8⌋/2⌉ + 11)·u·Σ|x|/n + 2u·|y|` of the `f64` mean
//!   where the plane is finite and its magnitudes sum below `f32::MAX/4`, NaN where the
//!   reference is NaN, the same bits on the portable lanes as on the detected ones; `dx`
//!   within `u·|dy/n|` (exact `dy/n` rounded once);
//! * `Flatten`: the same bits both ways.
//!
//! Three executions in four draw only valid arguments (see [`strict`]), so that most reach
//! the values (`fuzz/run-all.sh` wants at least half); the fourth draws anything.
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/pool.rs"]
mod reference;

use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::pool::{
    AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d,
    MAX_PLANE,
};
use descent::Isa;
use input::{guarded, intact, same_values, Input, U};
use libfuzzer_sys::fuzz_target;
use reference::{
    avg_pool, avg_pool_backward, avg_pool_backward_f32, avg_pool_f32, f64s, global_avg, max_pool,
    max_pool_backward_f32, Pool,
};

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    match i.byte() % 8 {
        0..=2 => window(&mut i, true),
        3..=5 => window(&mut i, false),
        6 => global(&mut i),
        _ => flatten(&mut i),
    }
}

/// A value's scale: mostly ordinary, sometimes tiny or huge.
fn scale(i: &mut Input) -> f32 {
    [1.0, 1.0, 1e-3, 1e3, 1e-38, 1e30][i.byte() as usize % 6]
}

/// The smallest positive `f32`.
fn tiny() -> f64 {
    f32::from_bits(1) as f64
}

/// `|got − want| ≤ tol`, counting the execution as compared.
fn close(what: &str, got: f32, want: f64, tol: f64) {
    input::compared();
    assert!(
        (got as f64 - want).abs() <= tol,
        "{what}: {got:e}, want {want:e} ± {tol:e}"
    );
}

/// Bit-identical, or NaN in both; counts the execution as compared.
fn same(what: &str, got: &[f32], want: &[f32]) {
    input::compared();
    assert!(same_values(got, want), "{what}: {got:?} vs {want:?}");
}

/// The slices' lengths of one execution, and the offset of every slice in its buffer.
struct Lens {
    x: usize,
    y: usize,
    saved: usize,
    dy: usize,
    dx: usize,
    off: usize,
}

/// Which calls must succeed.
struct Expect {
    fwd_eval: bool,
    fwd_train: bool,
    bwd_train: bool,
    bwd_train_no_dx: bool,
    bwd_eval: bool,
}

/// What each call must do, from the shape's validity, one sample's floats in and out, the
/// lengths, and whether the layer saves indices (max pooling, whose evaluation backward also
/// reads `x`). A forward's batch is `x`'s; a backward's is `dy`'s.
fn expect(shape_ok: bool, sample: usize, out: usize, l: &Lens, saves: bool) -> Expect {
    let whole = |len: usize, of: usize| of > 0 && len % of.max(1) == 0;
    let fwd_batch = l.x / sample.max(1);
    let bwd_batch = l.dy / out.max(1);
    let fwd_eval = shape_ok && whole(l.x, sample) && l.y == fwd_batch * out;
    let fwd_train = fwd_eval && (!saves || l.saved == fwd_batch * out);
    let bwd_no_dx = shape_ok && whole(l.dy, out);
    let dx_ok = l.dx == bwd_batch * sample;
    let saved_ok = !saves || l.saved == l.dy;
    let x_ok = !saves || l.x == bwd_batch * sample;
    Expect {
        fwd_eval,
        fwd_train,
        bwd_train: bwd_no_dx && saved_ok && dx_ok,
        bwd_train_no_dx: bwd_no_dx && saved_ok,
        bwd_eval: bwd_no_dx && x_ok && dx_ok,
    }
}

/// What the calls that succeeded produced.
struct Outputs {
    y: Option<Vec<f32>>,
    saved: Option<Vec<f32>>,
    dx: Option<Vec<f32>>,
    dx_eval: Option<Vec<f32>>,
}

/// Whether a guarded buffer still holds only guards.
fn untouched(b: &[f32]) -> bool {
    b.iter().all(|g| g.to_bits() == input::GUARD.to_bits())
}

/// The four calls of `layer` (and a training backward without `dx`): each succeeds exactly
/// as `e` says, writes nothing when it fails and nothing outside its slices ever. The
/// training backward reads the training forward's `saved` (guards where that failed).
fn run_calls(
    layer: &dyn Layer,
    input: Shape,
    x: &[f32],
    dy: &[f32],
    l: &Lens,
    e: &Expect,
) -> Outputs {
    let off = l.off;
    let (xs, dys) = (&x[off..], &dy[off..]);
    let mut y = guarded(off, &vec![input::GUARD; l.y]);
    let r = layer.forward(input, Mode::EVAL, Params::NONE, xs, &mut y[off..off + l.y]);
    assert_eq!(r.is_ok(), e.fwd_eval, "forward (eval) {r:?}");
    assert!(intact(&y, off, l.y) && (r.is_ok() || untouched(&y)));
    let y_eval = y[off..off + l.y].to_vec();

    let mut y = guarded(off, &vec![input::GUARD; l.y]);
    let mut saved = guarded(off, &vec![input::GUARD; l.saved]);
    let mode = Mode::train(&mut saved[off..off + l.saved]);
    let r = layer.forward(input, mode, Params::NONE, xs, &mut y[off..off + l.y]);
    assert_eq!(r.is_ok(), e.fwd_train, "forward (train) {r:?}");
    assert!(intact(&y, off, l.y) && intact(&saved, off, l.saved));
    assert!(r.is_ok() || (untouched(&y) && untouched(&saved)));
    let (y_train, saved) = (
        y[off..off + l.y].to_vec(),
        saved[off..off + l.saved].to_vec(),
    );
    if e.fwd_train {
        assert!(same_values(&y_train, &y_eval), "train y ≠ eval y");
    }

    let mut dx = guarded(off, &vec![input::GUARD; l.dx]);
    let tape = Tape::train(xs, &y_train, &saved);
    let out = Some(&mut dx[off..off + l.dx]);
    let r = layer.backward(input, Params::NONE, tape, dys, out, Grads::NONE);
    assert_eq!(r.is_ok(), e.bwd_train, "backward {r:?}");
    assert!(intact(&dx, off, l.dx) && (r.is_ok() || untouched(&dx)));
    let r = layer.backward(input, Params::NONE, tape, dys, None, Grads::NONE);
    assert_eq!(r.is_ok(), e.bwd_train_no_dx, "backward without dx {r:?}");

    let mut dxe = guarded(off, &vec![input::GUARD; l.dx]);
    let tape = Tape::eval(xs, &y_eval, &[]);
    let out = Some(&mut dxe[off..off + l.dx]);
    let r = layer.backward(input, Params::NONE, tape, dys, out, Grads::NONE);
    assert_eq!(r.is_ok(), e.bwd_eval, "backward (eval tape) {r:?}");
    assert!(intact(&dxe, off, l.dx) && (r.is_ok() || untouched(&dxe)));
    Outputs {
        y: e.fwd_train.then_some(y_train),
        saved: e.fwd_train.then_some(saved),
        // A training backward's dx is compared only after a forward that saved.
        dx: (e.bwd_train && e.fwd_train).then(|| dx[off..off + l.dx].to_vec()),
        dx_eval: e.bwd_eval.then(|| dxe[off..off + l.dx].to_vec()),
    }
}

/// Whether this execution draws only valid arguments (three in four: every dimension at
/// least 1, a kernel whose span fits, a padding at most half the kernel, the right lengths),
/// so that most executions reach the values; the others draw anything (zero dimensions and
/// hyper-parameters, paddings beyond the rule, lengths wrong by up to 3, one in eight).
fn strict(i: &mut Input) -> bool {
    i.byte() % 4 != 3
}

/// A dimension `1..=max`, or with `!strict` also 0 (one in 16).
fn dim(i: &mut Input, strict: bool, max: usize) -> usize {
    if strict {
        1 + i.len(max - 1)
    } else {
        i.size(max)
    }
}

/// A slice length: `right`, or with `!strict` one in eight anything up to `right + 3`.
fn length(i: &mut Input, strict: bool, right: usize) -> usize {
    if strict {
        right
    } else {
        i.length(right, 8)
    }
}

/// Max or average pooling, 1-D or 2-D.
fn window(i: &mut Input, max: bool) {
    let strict = strict(i);
    let one_d = i.bool();
    let channels = dim(i, strict, 3);
    let h = if one_d { 1 } else { dim(i, strict, 9) };
    let w = dim(i, strict, 9);
    // Along an axis of `len` positions: a kernel whose span fits, or up to 5 taps.
    let axis = |i: &mut Input, len: usize| {
        let d = if max { dim(i, strict, 3) } else { 1 };
        let fits = (len.saturating_sub(1) / d.max(1) + 1).clamp(1, 5);
        let k = if strict {
            1 + i.len(fits - 1)
        } else {
            i.size(5)
        };
        let s = dim(i, strict, 4);
        let p = if strict { i.len(k / 2) } else { i.len(4) };
        (k, s, p, d)
    };
    let (kh, sh, ph, dh) = if one_d { (1, 1, 0, 1) } else { axis(i, h) };
    let (kw, sw, pw, dw) = axis(i, w);
    let ceil_mode = i.bool();
    let cip = i.bool();
    let dov = (!max && !one_d && i.byte() % 4 == 0).then(|| usize::from(strict) + i.len(20));
    let batch = if strict { 1 + i.len(2) } else { i.len(3) };
    let pool = Pool {
        kernel_size: [kh, kw],
        stride: [sh, sw],
        padding: [ph, pw],
        dilation: [dh, dw],
        ceil_mode,
    };
    let input = if one_d {
        Shape::Sequence {
            channels,
            length: w,
        }
    } else {
        Shape::Image {
            channels,
            height: h,
            width: w,
        }
    };
    let layer: Box<dyn Layer> = match (max, one_d) {
        (true, true) => Box::new(MaxPool1d {
            kernel_size: kw,
            stride: sw,
            padding: pw,
            dilation: dw,
            ceil_mode,
        }),
        (true, false) => Box::new(MaxPool2d {
            kernel_size: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            dilation: [dh, dw],
            ceil_mode,
        }),
        (false, true) => Box::new(AvgPool1d {
            kernel_size: kw,
            stride: sw,
            padding: pw,
            ceil_mode,
            count_include_pad: cip,
        }),
        (false, false) => Box::new(AvgPool2d {
            kernel_size: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            ceil_mode,
            count_include_pad: cip,
            divisor_override: dov,
        }),
    };
    // What torch accepts (the reference's rules; a zero dimension is refused there too).
    let out = if channels == 0 {
        None
    } else {
        pool.output(h, w)
    };
    let shape_ok = out.is_some() && dov != Some(0) && (!max || h * w <= MAX_PLANE);
    let got = layer.output_shape(input);
    assert_eq!(got.is_ok(), shape_ok, "{pool:?} {input:?} {dov:?} {got:?}");
    let [oh, ow] = out.unwrap_or([0, 0]);
    let (n, m) = (batch * channels * h * w, batch * channels * oh * ow);
    if shape_ok {
        assert_eq!(got.unwrap().len(), channels * oh * ow);
        assert_eq!(layer.saved_len(input, batch), if max { m } else { 0 });
    }
    let off = i.len(3);
    let l = Lens {
        x: length(i, strict, n),
        y: length(i, strict, m),
        saved: if max { length(i, strict, m) } else { 0 },
        dy: length(i, strict, m),
        dx: length(i, strict, n),
        off,
    };
    let sample = channels * h * w;
    let out_sample = channels * oh * ow;
    let e = expect(shape_ok, sample, out_sample, &l, max);
    let scale = scale(i);
    let x = {
        let mut b = vec![input::GUARD; off];
        b.extend(i.mostly_tame(l.x, scale));
        b
    };
    let dy = {
        let mut b = vec![input::GUARD; off];
        b.extend(i.mostly_tame(l.dy, 1.0));
        b
    };
    let o = run_calls(layer.as_ref(), input, &x, &dy, &l, &e);
    if !shape_ok {
        return;
    }
    let planes_fwd = l.x / sample.max(1);
    let xs = &x[off..];
    let dys = &dy[off..];
    let ctx = format!("{pool:?} {input:?} cip={cip} dov={dov:?}");
    if max {
        if let (Some(y), Some(saved)) = (&o.y, &o.saved) {
            let (ry, idx) = max_pool(&f64s(xs), planes_fwd * channels, h, w, &pool);
            let want: Vec<f32> = ry.iter().map(|&v| v as f32).collect();
            same(&format!("y {ctx}"), y, &want);
            let want: Vec<f32> = idx
                .iter()
                .map(|i| i.map_or((h * w) as f32, |i| i as f32))
                .collect();
            same(&format!("saved {ctx}"), saved, &want);
            if let Some(dx) = &o.dx {
                let torch = max_pool_backward_f32(&idx, dys, planes_fwd * channels, h * w);
                same(&format!("dx {ctx}"), dx, &torch);
            }
            if let Some(dxe) = &o.dx_eval {
                let torch = max_pool_backward_f32(&idx, dys, planes_fwd * channels, h * w);
                same(&format!("dx (eval tape) {ctx}"), dxe, &torch);
            }
        }
        return;
    }
    if let Some(y) = &o.y {
        let planes = planes_fwd * channels;
        let torch = avg_pool_f32(xs, planes, h, w, &pool, cip, dov);
        same(&format!("y {ctx}"), y, &torch);
        let (ry, sc) = avg_pool(&f64s(xs), planes, h, w, &pool, cip, dov);
        let k = (kh * kw) as f64;
        // The divisor is at most `max(kH·kW, divisor_override)`: `Σ|x|` of a window is at
        // most `sc·that`; below f32::MAX/4 no order of its sum overflows.
        let most = k.max(dov.unwrap_or(0) as f64);
        for (j, ((&g, &r), &s)) in y.iter().zip(&ry).zip(&sc).enumerate() {
            if r.is_finite() && s.is_finite() && s * most <= f32::MAX as f64 / 4.0 {
                close(
                    &format!("y[{j}] {ctx}"),
                    g,
                    r,
                    k * U * s + U * r.abs() + tiny(),
                );
            }
        }
    }
    let planes_bwd = l.dy / out_sample.max(1) * channels;
    for dx in [&o.dx, &o.dx_eval].into_iter().flatten() {
        let torch = avg_pool_backward_f32(dys, planes_bwd, h, w, &pool, cip, dov);
        same(&format!("dx {ctx}"), dx, &torch);
        let g = avg_pool_backward(&f64s(dys), planes_bwd, h, w, &pool, cip, dov);
        for (j, &d) in dx.iter().enumerate() {
            let (r, a) = (g.dx[j], g.abs[j]);
            if r.is_finite() && a <= f32::MAX as f64 / 4.0 {
                let tol = g.terms[j] as f64 * (U * a + tiny());
                close(&format!("dx[{j}] {ctx}"), d, r, tol);
            }
        }
    }
}

/// Global average pooling, 1-D or 2-D, on the detected lanes and on the portable ones.
fn global(i: &mut Input) {
    let strict = strict(i);
    let one_d = i.bool();
    let channels = dim(i, strict, 4);
    let h = if one_d { 1 } else { dim(i, strict, 12) };
    let wide = i.bool();
    let w = dim(i, strict, if wide { 70 } else { 12 });
    let batch = if strict { 1 + i.len(2) } else { i.len(3) };
    let input = if one_d {
        Shape::Sequence {
            channels,
            length: w,
        }
    } else {
        Shape::Image {
            channels,
            height: h,
            width: w,
        }
    };
    let layer: Box<dyn Layer> = if one_d {
        Box::new(GlobalAvgPool1d)
    } else {
        Box::new(GlobalAvgPool2d)
    };
    let n = h * w;
    let shape_ok = channels > 0 && n > 0;
    assert_eq!(layer.output_shape(input).is_ok(), shape_ok);
    let sample = channels * n;
    let off = i.len(3);
    let l = Lens {
        x: length(i, strict, batch * sample),
        y: length(i, strict, batch * channels),
        saved: 0,
        dy: length(i, strict, batch * channels),
        dx: length(i, strict, batch * sample),
        off,
    };
    let e = expect(shape_ok, sample, channels, &l, false);
    let scale = scale(i);
    let x = {
        let mut b = vec![input::GUARD; off];
        b.extend(i.mostly_tame(l.x, scale));
        b
    };
    let dy = {
        let mut b = vec![input::GUARD; off];
        b.extend(i.mostly_tame(l.dy, 1.0));
        b
    };
    let o = run_calls(layer.as_ref(), input, &x, &dy, &l, &e);
    if let Some(y) = &o.y {
        let (ry, sc) = global_avg(&f64s(&x[off..]), n);
        for (j, (&g, (&r, &s))) in y.iter().zip(ry.iter().zip(&sc)).enumerate() {
            let limit = f32::MAX as f64 / 4.0;
            if r.is_nan() {
                input::compared();
                assert!(g.is_nan(), "y[{j}]: {g}, want NaN");
            } else if s * n as f64 <= limit {
                let tol = ((n / 8).div_ceil(2) as f64 + 11.0) * U * s + 2.0 * U * r.abs() + tiny();
                close(&format!("y[{j}] n={n}"), g, r, tol);
            }
        }
        // The portable lanes give the same bits.
        let mut yp = vec![0.0; y.len()];
        descent::simd::with_isa(Isa::Portable, || {
            layer
                .forward(input, Mode::EVAL, Params::NONE, &x[off..], &mut yp)
                .unwrap()
        });
        same("y (portable)", &yp, y);
    }
    for dx in [&o.dx, &o.dx_eval].into_iter().flatten() {
        for (j, &d) in dx.iter().enumerate() {
            let want = dy[off + j / n.max(1)] as f64 / n as f64;
            if want.is_finite() {
                close(&format!("dx[{j}]"), d, want, U * want.abs() + tiny());
            } else {
                // NaN or ±∞ over n: the same.
                same(&format!("dx[{j}]"), &[d], &[want as f32]);
            }
        }
    }
}

/// Flatten on any shape.
fn flatten(i: &mut Input) {
    let strict = strict(i);
    let dims = [dim(i, strict, 4), dim(i, strict, 5), dim(i, strict, 6)];
    let input = match i.byte() % 3 {
        0 => Shape::Features(dims[0]),
        1 => Shape::Sequence {
            channels: dims[0],
            length: dims[1],
        },
        _ => Shape::Image {
            channels: dims[0],
            height: dims[1],
            width: dims[2],
        },
    };
    let sample = input.len();
    let batch = if strict { 1 + i.len(2) } else { i.len(3) };
    let off = i.len(3);
    let l = Lens {
        x: length(i, strict, batch * sample),
        y: length(i, strict, batch * sample),
        saved: 0,
        dy: length(i, strict, batch * sample),
        dx: length(i, strict, batch * sample),
        off,
    };
    let e = expect(sample > 0, sample, sample, &l, false);
    let x = {
        let mut b = vec![input::GUARD; off];
        b.extend(i.values(l.x, 1.0));
        b
    };
    let dy = {
        let mut b = vec![input::GUARD; off];
        b.extend(i.values(l.dy, 1.0));
        b
    };
    let o = run_calls(&Flatten, input, &x, &dy, &l, &e);
    if let Some(y) = &o.y {
        same("y", y, &x[off..]);
    }
    for dx in [&o.dx, &o.dx_eval].into_iter().flatten() {
        same("dx", dx, &dy[off..]);
    }
}
