//! `Conv1d` and `Conv2d` (their `Layer` calls, forward in either mode and backward from either
//! tape, with or without bias, `dweight`, `dbias` and `dx`) on every available `Isa`, with
//! arbitrary shapes and hyper-parameters (groups, strides longer than the input, dilations,
//! paddings longer than the kernel, and now and then a zero, a huge or an overflowing one),
//! slice lengths, input shapes and sub-slice offsets: every call returns exactly the `Err` that
//! the documented order of checks gives (with nothing written) or `Ok`, never writes outside
//! its outputs, never panics, and every element of `y`, `dx`, `dweight` and `dbias` of an `Ok`
//! call agrees with the `f64` reference of `tests/reference/conv.rs` within its bound.
//!
//! # Tolerance
//! The reference gives each element `γₙ·Σ|terms|` for its `n` terms (products, the bias, the
//! accumulated previous value): the bound of an `f32` sum in any order, with or without FMA.
//! It is meaningful where no product underflows and no partial sum overflows, so the values
//! are drawn at scales from 1e-6 to 1e6 (the smallest product of two non-zero values, about
//! `(2.3e-10·1e-6)²`, stays normal; the largest sums stay far from `f32::MAX`). Weights and
//! biases are finite; `x`, `dy` and the accumulated gradients sometimes hold ±0, NaN and ±∞,
//! which propagate as IEEE arithmetic says in both (a NaN reference must come out NaN, an
//! infinite one the same infinity). A weight stays finite because the kernels multiply it by
//! the zeros of the padding, which the reference leaves out: `∞·0` would be NaN in one only.
#![no_main]

#[path = "input.rs"]
mod input;
#[path = "../../tests/reference/conv.rs"]
mod reference;

use descent::conv::{Conv1d, Conv2d};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape, Window};
use descent::{Error, Isa};
use input::{guarded, intact, same_bits, Input};
use libfuzzer_sys::fuzz_target;
use reference::{first_miss, ConvDims, Want};

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    // Every instruction set this CPU has, the portable lanes half the time.
    let available: Vec<Isa> = Isa::available().collect();
    let isa = if i.bool() {
        available[usize::from(i.byte()) % available.len()]
    } else {
        Isa::Portable
    };
    descent::simd::with_isa(isa, || conv(&mut i, isa));
}

/// The largest hyper-parameter or dimension for which the reference's `ConvDims::out_len`
/// (unchecked `input + 2·padding` and `dilation·(kernel − 1)`) is asked about a call the plan
/// refuses.
const MODERATE: usize = 1 << 20;

/// One axis: `kernel_size`, `stride`, `padding`, `dilation`, mostly small, sometimes a stride
/// longer than the input or a padding longer than the kernel.
fn axis(i: &mut Input, len: usize) -> Window {
    let kernel_size = 1 + i.len(4);
    let dilation = if i.byte() % 8 == 0 {
        1 + i.len(6)
    } else {
        1 + i.len(2)
    };
    let stride = match i.byte() % 8 {
        0 => len + i.len(5),
        1..=3 => 1 + i.len(3),
        _ => 1,
    };
    let padding = match i.byte() % 8 {
        0 => kernel_size + i.len(6),
        1..=3 => 0,
        _ => i.len(2),
    };
    Window {
        kernel_size,
        stride,
        padding,
        dilation,
    }
}

/// The call's layer: its channels, groups, windows (`rows` the height's, `Window::new(1)` for
/// one dimension) and bias.
#[derive(Clone, Copy, Debug)]
struct Layout {
    one_d: bool,
    in_channels: usize,
    out_channels: usize,
    groups: usize,
    rows: Window,
    cols: Window,
    bias: bool,
}

impl Layout {
    fn conv1d(&self) -> Conv1d {
        let mut c = Conv1d::new(self.in_channels, self.out_channels, 1).with_groups(self.groups);
        c.set_window(self.cols);
        c.bias = self.bias;
        c
    }

    fn conv2d(&self) -> Conv2d {
        let mut c =
            Conv2d::new(self.in_channels, self.out_channels, [1, 1]).with_groups(self.groups);
        c.set_windows([self.rows, self.cols]);
        c.bias = self.bias;
        c
    }
}

/// One thing made wrong (or extreme), one execution in six.
fn break_one(i: &mut Input, l: &mut Layout, input: &mut Shape) {
    let huge = [
        usize::MAX,
        usize::MAX / 2,
        usize::MAX / 2 + 1,
        1 << 62,
        1 << 63,
        1 << 60,
        1 << 40,
        isize::MAX as usize,
    ];
    let big = huge[i.byte() as usize % huge.len()];
    // The window a change lands on: the width's, or for two dimensions sometimes the height's.
    let height = !l.one_d && i.bool();
    fn axis_of(l: &mut Layout, height: bool) -> &mut Window {
        if height {
            &mut l.rows
        } else {
            &mut l.cols
        }
    }
    match i.byte() % 24 {
        0 => l.in_channels = 0,
        1 => l.out_channels = 0,
        2 => l.groups = 0,
        3 => l.groups = 1 + i.len(6),
        4 => l.in_channels = i.len(9),
        5 => l.out_channels = i.len(9),
        6 => axis_of(l, height).kernel_size = 0,
        7 => axis_of(l, height).stride = 0,
        8 => axis_of(l, height).dilation = 0,
        9 => axis_of(l, height).kernel_size = big,
        10 => axis_of(l, height).stride = big,
        11 => axis_of(l, height).padding = big,
        12 => axis_of(l, height).dilation = big,
        13 => {
            // A stride and a padding both huge: few outputs over a huge padded input.
            axis_of(l, height).stride = big;
            axis_of(l, height).padding = huge[i.byte() as usize % huge.len()];
        }
        14 => *input = Shape::Features(input.channels()),
        15 => {
            *input = if l.one_d {
                Shape::Image {
                    channels: input.channels(),
                    height: 1,
                    width: input.last(),
                }
            } else {
                Shape::Sequence {
                    channels: input.channels(),
                    length: input.last(),
                }
            }
        }
        16 => set_dims(input, Some(i.len(l.in_channels + 2)), None, None),
        17 => set_dims(input, None, None, Some(0)),
        18 => set_dims(input, None, Some(0), None),
        19 => set_dims(input, None, None, Some(big)),
        20 => set_dims(input, None, Some(big), None),
        21 => l.bias = !l.bias,
        _ => {
            // Window and stride 1, dilation huge: the span is 1, valid.
            axis_of(l, height).kernel_size = 1;
            axis_of(l, height).dilation = big;
        }
    }
}

/// Changes the channels, height or width of `input` (the height only of an image).
fn set_dims(input: &mut Shape, c: Option<usize>, h: Option<usize>, w: Option<usize>) {
    *input = match *input {
        Shape::Features(f) => Shape::Features(c.unwrap_or(f)),
        Shape::Sequence { channels, length } => Shape::Sequence {
            channels: c.unwrap_or(channels),
            length: w.unwrap_or(length),
        },
        Shape::Image {
            channels,
            height,
            width,
        } => Shape::Image {
            channels: c.unwrap_or(channels),
            height: h.unwrap_or(height),
            width: w.unwrap_or(width),
        },
    };
}

fn mismatch(what: &'static str, expected: usize, actual: usize) -> Error {
    Error::LengthMismatch {
        what,
        expected,
        actual,
    }
}

fn zero(what: &'static str) -> Error {
    Error::ZeroDimension { what }
}

fn overflow(what: &'static str) -> Error {
    Error::DimensionOverflow { what }
}

/// The output length of one axis as `Window::output_len` documents it, with checked
/// arithmetic, and the padded length's bound of the plan.
fn out_len(w: Window, len: usize) -> Result<usize, Error> {
    if w.kernel_size == 0 {
        return Err(zero("kernel_size"));
    }
    if w.stride == 0 {
        return Err(zero("stride"));
    }
    if w.dilation == 0 {
        return Err(zero("dilation"));
    }
    let padded = w
        .padding
        .checked_mul(2)
        .and_then(|p| p.checked_add(len))
        .ok_or(overflow("padding"))?;
    let span = w
        .dilation
        .saturating_mul(w.kernel_size - 1)
        .saturating_add(1);
    if span > padded {
        return Err(Error::WindowExceedsInput {
            what: "kernel_size",
            span,
            input: padded,
        });
    }
    if padded > isize::MAX as usize {
        return Err(overflow("padding"));
    }
    Ok((padded - span) / w.stride + 1)
}

/// What the plan of a call gives: the batch and the lengths of `y` and `weight`, or the error,
/// in the documented order (rank, hyper-parameters, channels, zero and too long dimensions,
/// the windows, the sample's size, `x` whole samples, the batch, `y`'s and `weight`'s sizes,
/// then the given `weight` and `bias`).
struct Plan {
    batch: usize,
    out: [usize; 2],
    y: usize,
    weight: usize,
}

fn plan(l: &Layout, input: Shape, x: usize, w: usize, b: usize) -> Result<Plan, Error> {
    let rank = if l.one_d { 2 } else { 3 };
    if input.rank() != rank {
        return Err(Error::RankMismatch {
            what: "input",
            expected: rank,
            actual: input.rank(),
        });
    }
    let (c, h, wd) = match input {
        Shape::Image {
            channels,
            height,
            width,
        } => (channels, height, width),
        _ => (input.channels(), 1, input.last()),
    };
    if l.in_channels == 0 {
        return Err(zero("in_channels"));
    }
    if l.out_channels == 0 {
        return Err(zero("out_channels"));
    }
    if l.groups == 0 {
        return Err(zero("groups"));
    }
    if l.in_channels % l.groups != 0 || l.out_channels % l.groups != 0 {
        return Err(Error::InvalidHyperParameter { what: "groups" });
    }
    if c != l.in_channels {
        return Err(mismatch("input", l.in_channels, c));
    }
    if h == 0 || wd == 0 {
        return Err(zero("input"));
    }
    if h > isize::MAX as usize || wd > isize::MAX as usize {
        return Err(overflow("input"));
    }
    let oh = out_len(l.rows, h)?;
    let ow = out_len(l.cols, wd)?;
    let sample = h
        .checked_mul(wd)
        .and_then(|n| n.checked_mul(c))
        .ok_or(overflow("input"))?;
    if x % sample != 0 {
        return Err(mismatch("x", x - x % sample, x));
    }
    let batch = x / sample;
    if batch == 0 {
        return Err(zero("batch"));
    }
    let y = oh
        .checked_mul(ow)
        .and_then(|n| n.checked_mul(batch))
        .and_then(|n| n.checked_mul(l.out_channels))
        .ok_or(overflow("y"))?;
    let weight = l
        .rows
        .kernel_size
        .checked_mul(l.cols.kernel_size)
        .and_then(|taps| {
            l.out_channels
                .checked_mul(l.in_channels / l.groups)?
                .checked_mul(taps)
        })
        .ok_or(overflow("weight"))?;
    if w != weight {
        return Err(mismatch("weight", weight, w));
    }
    let bias = if l.bias { l.out_channels } else { 0 };
    if b != bias {
        return Err(mismatch("bias", bias, b));
    }
    Ok(Plan {
        batch,
        out: [oh, ow],
        y,
        weight,
    })
}

/// The reference's shape of a call whose plan is `Ok`.
fn dims(l: &Layout, input: Shape, batch: usize) -> ConvDims {
    let (h, w) = match input {
        Shape::Image { height, width, .. } => (height, width),
        _ => (1, input.last()),
    };
    ConvDims {
        batch,
        in_channels: l.in_channels,
        out_channels: l.out_channels,
        groups: l.groups,
        input: [h, w],
        kernel: [l.rows.kernel_size, l.cols.kernel_size],
        stride: [l.rows.stride, l.cols.stride],
        padding: [l.rows.padding, l.cols.padding],
        dilation: [l.rows.dilation, l.cols.dilation],
    }
}

/// Values for a buffer: ordinary ones in `±scale`; when `special`, one in 16 of them ±0, NaN
/// or ±∞.
fn values(i: &mut Input, n: usize, scale: f32, special: bool) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let k = i.byte();
            if special && k % 16 == 15 {
                [0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY][(k / 16) as usize % 5]
            } else {
                let u = i.u32() as f32 / u32::MAX as f32;
                (2.0 * u - 1.0) * scale
            }
        })
        .collect()
}

fn scale(i: &mut Input) -> f32 {
    [1.0, 1e-3, 1e3, 1e-6, 1e6][i.byte() as usize % 5]
}

/// `got` against the reference element by element; counts the execution as compared when an
/// element with a finite reference is.
fn compare(what: &str, got: &[f32], want: &[Want], ctx: &str) {
    if let Some(miss) = first_miss(got, want) {
        panic!("{ctx}: {what}{miss}");
    }
    // `first_miss` lets any value pass an infinite reference (its bound is infinite too):
    // finite partial sums cannot overflow at these scales, so it must be that infinity.
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        if w.v.is_infinite() {
            assert_eq!(*g as f64, w.v, "{ctx}: {what}[{k}]");
        }
    }
    if want.iter().any(|w| w.v.is_finite()) {
        input::compared();
    }
}

/// The lengths of `x`, `weight` and `y` that a call of `batch` samples needs (what the
/// checks allow to compute of them, 0 for the rest).
fn right_lengths(l: &Layout, input: Shape, batch: usize) -> (usize, usize, usize) {
    let sample = input.len();
    let x = batch.checked_mul(sample).unwrap_or(0);
    let weight = if l.groups == 0 {
        0
    } else {
        l.out_channels
            .saturating_mul(l.in_channels / l.groups)
            .saturating_mul(l.rows.kernel_size)
            .saturating_mul(l.cols.kernel_size)
    };
    let y = match plan(l, input, x, weight, if l.bias { l.out_channels } else { 0 }) {
        Ok(p) => p.y,
        Err(_) => 0,
    };
    (x, weight, y)
}

/// A buffer length: the right one, or one in 32 anything up to `right + 3`; an input that ran
/// out gives the right one.
fn length(i: &mut Input, right: usize) -> usize {
    i.length(right.min(1 << 16), 32)
}

fn conv(i: &mut Input, isa: Isa) {
    let one_d = i.bool();
    let groups = 1 + i.len(2);
    let mut l = Layout {
        one_d,
        in_channels: groups * (1 + i.len(2)),
        out_channels: groups * (1 + i.len(2)),
        groups,
        rows: Window::new(1),
        cols: Window::new(1),
        bias: !i.byte().is_multiple_of(4),
    };
    let batch = 1 + i.len(2);
    let height = if one_d { 1 } else { 1 + i.len(8) };
    let width = if i.byte() % 8 == 0 {
        1 + i.len(69)
    } else {
        1 + i.len(23)
    };
    if !one_d {
        l.rows = axis(i, height);
    }
    l.cols = axis(i, width);
    let mut input = if one_d {
        Shape::Sequence {
            channels: l.in_channels,
            length: width,
        }
    } else {
        Shape::Image {
            channels: l.in_channels,
            height,
            width,
        }
    };
    if i.byte() % 6 == 5 {
        break_one(i, &mut l, &mut input);
    }
    let (xr, wr, yr) = right_lengths(&l, input, batch);
    let off = i.len(3);
    let (sx, sw, sd) = (scale(i), scale(i), scale(i));
    let special = i.byte() % 4 == 0;
    let train = i.bool();
    let with_dx = i.byte() % 8 != 7;
    let with_dw = i.byte() % 8 != 7;
    let with_db = i.byte() % 8 != 7;
    let bias_len = if l.bias { l.out_channels } else { 0 };
    let (xl, wl, bl, yl) = (
        length(i, xr),
        length(i, wr),
        length(i, bias_len),
        length(i, yr),
    );
    let (dyl, dwl, dbl, dxl) = (
        length(i, yr),
        length(i, wr),
        length(i, bias_len),
        length(i, xr),
    );
    let x = guarded(off, &values(i, xl, sx, special));
    let w = guarded(off, &values(i, wl, sw, false));
    let b = guarded(off, &values(i, bl, sw, false));
    let dy = guarded(off, &values(i, dyl, sd, special));
    let dw0 = values(i, dwl, sx * sd, special);
    let db0 = values(i, dbl, sd, special);
    let (x, w, b, dy) = (
        &x[off..off + xl],
        &w[off..off + wl],
        &b[off..off + bl],
        &dy[off..off + dyl],
    );
    let layer: Box<dyn Layer> = if one_d {
        Box::new(l.conv1d())
    } else {
        Box::new(l.conv2d())
    };
    let ctx = format!("{isa} {l:?} {input:?} x {xl}");
    let params = Params::new(w, b);
    let planned = plan(&l, input, xl, wl, bl);

    // The reference agrees with the plan on the output lengths, and on a window too long for
    // the padded input, wherever its arithmetic is safe.
    let small = |d: &ConvDims| {
        [d.input, d.kernel, d.stride, d.dilation]
            .iter()
            .flatten()
            .all(|v| (1..=MODERATE).contains(v))
            && d.padding.iter().all(|&p| p <= MODERATE)
    };
    match &planned {
        Ok(p) => {
            let d = dims(&l, input, p.batch);
            if small(&d) {
                assert_eq!(d.output(), p.out, "{ctx}");
            }
        }
        Err(Error::WindowExceedsInput { .. }) => {
            let d = dims(&l, input, batch);
            if small(&d) {
                assert!(d.out_len(0).is_none() || d.out_len(1).is_none(), "{ctx}");
            }
        }
        Err(_) => {}
    }

    // Forward.
    let mut y = guarded(off, &vec![f32::NAN; yl]);
    let r = if train {
        layer.forward(
            input,
            Mode::train(&mut []),
            params,
            x,
            &mut y[off..off + yl],
        )
    } else {
        layer.forward(input, Mode::EVAL, params, x, &mut y[off..off + yl])
    };
    assert!(intact(&y, off, yl), "{ctx}: forward wrote outside y");
    let expected = planned.as_ref().map_err(|e| *e).and_then(|p| {
        if yl != p.y {
            Err(mismatch("y", p.y, yl))
        } else {
            Ok(())
        }
    });
    assert_eq!(r, expected, "{ctx}: forward");
    let y = &y[off..off + yl];
    // A valid call's padded lengths are at most isize::MAX (the plan checks it), which keeps
    // the reference's unchecked arithmetic from overflowing even for huge strides, paddings
    // and dilations.
    let reference = planned.as_ref().ok().map(|p| dims(&l, input, p.batch));
    if r.is_err() {
        assert!(
            y.iter().all(|v| v.is_nan()),
            "{ctx}: forward wrote on error"
        );
    } else if let Some(d) = &reference {
        let want = d.forward(x, w, l.bias.then_some(b));
        compare("y", y, &want, &ctx);
    }

    // Backward.
    let mut dwb = guarded(off, &dw0);
    let mut dbb = guarded(off, &db0);
    let mut dxb = guarded(off, &vec![f32::NAN; dxl]);
    let tape = if train {
        Tape::train(x, y, &[])
    } else {
        Tape::eval(x, y, &[])
    };
    let grads = Grads {
        weight: with_dw.then_some(&mut dwb[off..off + dwl]),
        bias: with_db.then_some(&mut dbb[off..off + dbl]),
    };
    let r = layer.backward(
        input,
        params,
        tape,
        dy,
        with_dx.then_some(&mut dxb[off..off + dxl]),
        grads,
    );
    assert!(
        intact(&dwb, off, dwl) && intact(&dbb, off, dbl) && intact(&dxb, off, dxl),
        "{ctx}: backward wrote outside its outputs"
    );
    let expected = planned.as_ref().map_err(|e| *e).and_then(|p| match () {
        _ if dyl != p.y => Err(mismatch("dy", p.y, dyl)),
        _ if with_dw && dwl != p.weight => Err(mismatch("dweight", p.weight, dwl)),
        _ if with_db && dbl != bias_len => Err(mismatch("dbias", bias_len, dbl)),
        _ if with_dx && dxl != xl => Err(mismatch("dx", xl, dxl)),
        _ => Ok(()),
    });
    assert_eq!(r, expected, "{ctx}: backward");
    let (dw, db, dx) = (
        &dwb[off..off + dwl],
        &dbb[off..off + dbl],
        &dxb[off..off + dxl],
    );
    if r.is_err() {
        assert!(
            same_bits(dw, &dw0) && same_bits(db, &db0),
            "{ctx}: backward accumulated on error"
        );
        assert!(
            dx.iter().all(|v| v.is_nan()),
            "{ctx}: backward wrote dx on error"
        );
        return;
    }
    if !with_dw {
        assert!(same_bits(dw, &dw0), "{ctx}: dweight written without asking");
    }
    if !with_db {
        assert!(same_bits(db, &db0), "{ctx}: dbias written without asking");
    }
    if !with_dx {
        assert!(
            dx.iter().all(|v| v.is_nan()),
            "{ctx}: dx written without asking"
        );
    }
    let Some(d) = &reference else { return };
    // The reference accumulates onto `db0` per output channel: a layer without bias has none.
    let db_start = if db0.len() == l.out_channels {
        db0.clone()
    } else {
        vec![0.0; l.out_channels]
    };
    let (rdx, rdw, rdb) = d.backward(x, w, dy, &dw0, &db_start);
    if with_dx {
        compare("dx", dx, &rdx, &ctx);
    }
    if with_dw {
        compare("dweight", dw, &rdw, &ctx);
    }
    if with_db && l.bias {
        compare("dbias", db, &rdb, &ctx);
    }
}
