//! Convolutions beside a plain loop: forward, and backward (`dweight`, `dbias`, `dx`), at the
//! shapes of the CNN examples (digits 1×8×8 images, 6-channel IMU sequences) and one larger
//! image layer. `benches/torch_compare/conv.py` times torch on the same shapes.
//!
//! ```text
//! cargo bench --bench conv
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use descent::conv::{Conv1d, Conv2d};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use std::hint::black_box;
use std::time::Duration;

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

/// One benchmarked layer: `(name, batch, in, out, [h, w], [kh, kw], stride, padding)`; a height
/// of 0 means a 1-D convolution over the width.
type Case = (
    &'static str,
    usize,
    usize,
    usize,
    [usize; 2],
    [usize; 2],
    usize,
    usize,
);

const CASES: [Case; 5] = [
    ("digits_conv1", 32, 1, 8, [8, 8], [3, 3], 1, 1),
    ("digits_conv2", 32, 8, 16, [4, 4], [3, 3], 1, 1),
    ("imu_conv1", 32, 6, 16, [0, 100], [0, 5], 1, 2),
    ("imu_conv2", 32, 16, 32, [0, 50], [0, 5], 1, 2),
    ("image_16to32", 16, 16, 32, [14, 14], [3, 3], 1, 1),
];

/// The plain loop: torch's formula, one output at a time, bounds checked per tap.
#[allow(clippy::too_many_arguments)]
fn plain_forward(
    (n, ci, co): (usize, usize, usize),
    [h, w]: [usize; 2],
    [kh, kw]: [usize; 2],
    [sh, sw]: [usize; 2],
    [ph, pw]: [usize; 2],
    x: &[f32],
    wt: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    let (oh, ow) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1);
    for ni in 0..n {
        for o in 0..co {
            for r in 0..oh {
                for c in 0..ow {
                    let mut acc = b[o];
                    for i in 0..ci {
                        for u in 0..kh {
                            for v in 0..kw {
                                let ih = (r * sh + u) as isize - ph as isize;
                                let iw = (c * sw + v) as isize - pw as isize;
                                if ih >= 0 && iw >= 0 && (ih as usize) < h && (iw as usize) < w {
                                    acc += wt[((o * ci + i) * kh + u) * kw + v]
                                        * x[((ni * ci + i) * h + ih as usize) * w + iw as usize];
                                }
                            }
                        }
                    }
                    y[((ni * co + o) * oh + r) * ow + c] = acc;
                }
            }
        }
    }
}

fn conv(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv");
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    for (name, n, ci, co, [h, w], [kh, kw], s, p) in CASES {
        let one_d = h == 0;
        let (h, kh) = if one_d { (1, 1) } else { (h, kh) };
        let ph = if one_d { 0 } else { p };
        let (layer, input): (Box<dyn Layer>, Shape) = if one_d {
            let l = Conv1d::new(ci, co, kw).with_stride(s).with_padding(p);
            (
                Box::new(l),
                Shape::Sequence {
                    channels: ci,
                    length: w,
                },
            )
        } else {
            let l = Conv2d::new(ci, co, [kh, kw])
                .with_stride([s, s])
                .with_padding([p, p]);
            (
                Box::new(l),
                Shape::Image {
                    channels: ci,
                    height: h,
                    width: w,
                },
            )
        };
        let out = layer.output_shape(input).unwrap();
        let (x, wt, b) = (
            data(n * input.len(), 1),
            data(layer.weight_len(), 2),
            data(co, 3),
        );
        let dy = data(n * out.len(), 4);
        let mut y = vec![0.0; n * out.len()];
        let macs = (n * out.len() * ci * kh * kw) as u64;
        g.throughput(Throughput::Elements(macs));
        let params = Params::new(&wt, &b);
        g.bench_function(BenchmarkId::new("forward/descent", name), |bch| {
            bch.iter(|| {
                layer
                    .forward(input, Mode::EVAL, params, black_box(&x), &mut y)
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("forward/plain_loop", name), |bch| {
            let sh = if one_d { 1 } else { s };
            bch.iter(|| {
                plain_forward(
                    (n, ci, co),
                    [h, w],
                    [kh, kw],
                    [sh, s],
                    [ph, p],
                    black_box(&x),
                    &wt,
                    &b,
                    &mut y,
                )
            })
        });
        let (mut dw, mut db, mut dx) = (vec![0.0; wt.len()], vec![0.0; co], vec![0.0; x.len()]);
        g.throughput(Throughput::Elements(3 * macs));
        g.bench_function(BenchmarkId::new("backward/descent", name), |bch| {
            bch.iter(|| {
                let tape = Tape::train(black_box(&x), &y, &[]);
                let grads = Grads::new(&mut dw, &mut db);
                layer
                    .backward(input, params, tape, black_box(&dy), Some(&mut dx), grads)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, conv);
criterion_main!(benches);
