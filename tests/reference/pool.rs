//! `f64` references of the pooling layers, written from torch's documented semantics and the
//! loops of its CPU kernels (`aten/src/ATen/native/Pool.h`'s `pooling_output_shape`,
//! `cpu/MaxPoolKernel.cpp`, `cpu/AvgPoolKernel.cpp`; `adaptive_avg_pool2d(x, 1)` is
//! `x.mean((-2, -1))`), output by output with torch's own index arithmetic, independent of
//! the crate's geometry (`layer::Window`). A 1-D pooling is the 2-D one with a `1 × k` window
//! on planes of height 1, as torch computes it.
//!
//! Every function works on `planes` consecutive `[h, w]` planes (one per sample and channel).
//!
//! Shared by `tests/pool.rs` and `fuzz/fuzz_targets/pool.rs`.
#![allow(dead_code)]
#![allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas

/// A 2-D pooling's hyper-parameters, `[height, width]` each (torch's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub kernel_size: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub ceil_mode: bool,
}

impl Pool {
    /// A 1-D pooling as torch runs it: a `1 × k` window on planes of height 1.
    pub fn one_d(
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        ceil_mode: bool,
    ) -> Pool {
        Pool {
            kernel_size: [1, kernel_size],
            stride: [1, stride],
            padding: [0, padding],
            dilation: [1, dilation],
            ceil_mode,
        }
    }

    /// torch's output plane `[h_out, w_out]` for an `[h, w]` input, or `None` where torch
    /// raises (a zero size, kernel, stride or dilation, a padding beyond half the
    /// effective kernel, an output smaller than 1).
    pub fn output(&self, h: usize, w: usize) -> Option<[usize; 2]> {
        Some([
            out_len(
                h,
                self.kernel_size[0],
                self.stride[0],
                self.padding[0],
                self.dilation[0],
                self.ceil_mode,
            )?,
            out_len(
                w,
                self.kernel_size[1],
                self.stride[1],
                self.padding[1],
                self.dilation[1],
                self.ceil_mode,
            )?,
        ])
    }
}

/// torch's `pooling_output_shape` along one axis, with the checks of `pool2d_shape_check`
/// (`padding ≤ kernel_size/2`: torch 2.15's max pooling checks the kernel, not the dilated
/// span, and its average pooling has no dilation):
/// `⌊(L + 2p − d(k − 1) − 1 [+ s − 1 with ceil_mode]) / s⌋ + 1` (floor division), less one
/// under ceil_mode when the last window would start at or past `L + p`; `None` where torch
/// raises.
pub fn out_len(
    input: usize,
    k: usize,
    s: usize,
    p: usize,
    d: usize,
    ceil_mode: bool,
) -> Option<usize> {
    if input == 0 || k == 0 || s == 0 || d == 0 {
        return None;
    }
    let (l, k, s, p, d) = (input as i128, k as i128, s as i128, p as i128, d as i128);
    if p > k / 2 {
        return None;
    }
    let num = l + 2 * p - d * (k - 1) - 1 + if ceil_mode { s - 1 } else { 0 };
    let mut o = num.div_euclid(s) + 1;
    if ceil_mode && (o - 1) * s >= l + p {
        o -= 1;
    }
    (o >= 1).then_some(o as usize)
}

/// The input positions `[first, end)` (stepping by `d`) that a window starting at `start`
/// (`o·s − p`) of `k` taps reads inside `[0, len)`: torch's `ih0`, `ih1` after its
/// `while (ih0 < 0) ih0 += dilation`.
fn max_bounds(start: i64, k: usize, d: usize, len: usize) -> (i64, i64) {
    let end = (start + ((k as i64 - 1) * d as i64 + 1)).min(len as i64);
    let mut first = start;
    while first < 0 {
        first += d as i64;
    }
    (first, end)
}

/// Max pooling of `planes` planes `[h, w]`: `(y, index)`, the maximum of each window and its
/// position `ih·w + iw` in the plane (`None` for a window that reads only padding, whose `y`
/// is `−∞`). torch's scan: rows then columns in order, replace when `v > max || v is NaN`.
pub fn max_pool(
    x: &[f64],
    planes: usize,
    h: usize,
    w: usize,
    pool: &Pool,
) -> (Vec<f64>, Vec<Option<usize>>) {
    let [oh_n, ow_n] = pool.output(h, w).expect("a valid pooling");
    let (mut y, mut idx) = (vec![], vec![]);
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oh in 0..oh_n {
            let start_h = (oh * pool.stride[0]) as i64 - pool.padding[0] as i64;
            let (h0, h1) = max_bounds(start_h, pool.kernel_size[0], pool.dilation[0], h);
            for ow in 0..ow_n {
                let start_w = (ow * pool.stride[1]) as i64 - pool.padding[1] as i64;
                let (w0, w1) = max_bounds(start_w, pool.kernel_size[1], pool.dilation[1], w);
                let (mut m, mut at) = (f64::NEG_INFINITY, None);
                let mut ih = h0;
                while ih < h1 {
                    let mut iw = w0;
                    while iw < w1 {
                        let i = ih as usize * w + iw as usize;
                        let v = plane[i];
                        // torch starts from (−∞, the first position): the first position
                        // wins a window of −∞.
                        if at.is_none() || v > m || v.is_nan() {
                            m = v;
                            at = Some(i);
                        }
                        iw += pool.dilation[1] as i64;
                    }
                    ih += pool.dilation[0] as i64;
                }
                y.push(m);
                idx.push(at);
            }
        }
    }
    (y, idx)
}

/// A gradient with what bounds its rounding: per input position the exact sum, the sum of
/// the magnitudes of its terms, and how many terms there are.
pub struct Grad {
    pub dx: Vec<f64>,
    pub abs: Vec<f64>,
    pub terms: Vec<usize>,
}

impl Grad {
    fn zeros(n: usize) -> Grad {
        Grad {
            dx: vec![0.0; n],
            abs: vec![0.0; n],
            terms: vec![0; n],
        }
    }

    fn add(&mut self, i: usize, g: f64) {
        self.dx[i] += g;
        self.abs[i] += g.abs();
        self.terms[i] += 1;
    }
}

/// Max pooling's backward: `dx[index] += dy` per output (a window of padding only passes
/// nothing); `in_len` positions per plane.
pub fn max_pool_backward(idx: &[Option<usize>], dy: &[f64], planes: usize, in_len: usize) -> Grad {
    let out_len = idx.len() / planes.max(1);
    let mut g = Grad::zeros(planes * in_len);
    for p in 0..planes {
        for o in 0..out_len {
            if let Some(i) = idx[p * out_len + o] {
                g.add(p * in_len + i, dy[p * out_len + o]);
            }
        }
    }
    g
}

/// torch's `cpu_avg_pool` window of output `(oh, ow)`: the in-input rows `[h0, h1)`, columns
/// `[w0, w1)`, and the divisor (`None` when the window reads no input: torch leaves 0).
fn avg_window(
    oh: usize,
    ow: usize,
    h: usize,
    w: usize,
    pool: &Pool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Option<(usize, usize, usize, usize, f64)> {
    let (h, w) = (h as i64, w as i64);
    let (k, s, p) = (
        pool.kernel_size.map(|v| v as i64),
        pool.stride.map(|v| v as i64),
        pool.padding.map(|v| v as i64),
    );
    let mut h0 = oh as i64 * s[0] - p[0];
    let mut w0 = ow as i64 * s[1] - p[1];
    let mut h1 = (h0 + k[0]).min(h + p[0]);
    let mut w1 = (w0 + k[1]).min(w + p[1]);
    let pool_size = (h1 - h0) * (w1 - w0);
    h0 = h0.max(0);
    w0 = w0.max(0);
    h1 = h1.min(h);
    w1 = w1.min(w);
    if h0 >= h1 || w0 >= w1 {
        return None;
    }
    let divisor = match divisor_override {
        Some(d) => d as f64,
        None if count_include_pad => pool_size as f64,
        None => ((h1 - h0) * (w1 - w0)) as f64,
    };
    Some((h0 as usize, h1 as usize, w0 as usize, w1 as usize, divisor))
}

/// Average pooling (`pool.dilation` must be 1: torch's has none): `(y, scale)` with
/// `scale = Σ|x|/divisor` over each window, what bounds the rounding of its `f32` sum.
pub fn avg_pool(
    x: &[f64],
    planes: usize,
    h: usize,
    w: usize,
    pool: &Pool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(pool.dilation, [1, 1]);
    let [oh_n, ow_n] = pool.output(h, w).expect("a valid pooling");
    let (mut y, mut scale) = (vec![], vec![]);
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let Some((h0, h1, w0, w1, div)) =
                    avg_window(oh, ow, h, w, pool, count_include_pad, divisor_override)
                else {
                    y.push(0.0);
                    scale.push(0.0);
                    continue;
                };
                let (mut sum, mut abs) = (0.0, 0.0);
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        sum += plane[ih * w + iw];
                        abs += plane[ih * w + iw].abs();
                    }
                }
                y.push(sum / div);
                scale.push(abs / div);
            }
        }
    }
    (y, scale)
}

/// Average pooling's backward: `dx[i] += dy/divisor` for every position of every window.
pub fn avg_pool_backward(
    dy: &[f64],
    planes: usize,
    h: usize,
    w: usize,
    pool: &Pool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Grad {
    let [oh_n, ow_n] = pool.output(h, w).expect("a valid pooling");
    let mut g = Grad::zeros(planes * h * w);
    for p in 0..planes {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let Some((h0, h1, w0, w1, div)) =
                    avg_window(oh, ow, h, w, pool, count_include_pad, divisor_override)
                else {
                    continue;
                };
                let d = dy[p * oh_n * ow_n + oh * ow_n + ow] / div;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        g.add(p * h * w + ih * w + iw, d);
                    }
                }
            }
        }
    }
    g
}

/// torch's `cpu_avg_pool` in `f32`, as it rounds: the window summed from 0 in its order,
/// then divided once by the divisor as an `f32`. For the tests that claim torch's bits.
pub fn avg_pool_f32(
    x: &[f32],
    planes: usize,
    h: usize,
    w: usize,
    pool: &Pool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Vec<f32> {
    let [oh_n, ow_n] = pool.output(h, w).expect("a valid pooling");
    let mut y = vec![];
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let Some((h0, h1, w0, w1, div)) =
                    avg_window(oh, ow, h, w, pool, count_include_pad, divisor_override)
                else {
                    y.push(0.0);
                    continue;
                };
                let mut sum = 0.0f32;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        sum += plane[ih * w + iw];
                    }
                }
                y.push(sum / div as f32);
            }
        }
    }
    y
}

/// torch's `cpu_avg_pool_backward` in `f32`: `dx = 0`, then output by output
/// `dx[i] += dy/divisor` (the quotient rounded to `f32` once).
pub fn avg_pool_backward_f32(
    dy: &[f32],
    planes: usize,
    h: usize,
    w: usize,
    pool: &Pool,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Vec<f32> {
    let [oh_n, ow_n] = pool.output(h, w).expect("a valid pooling");
    let mut dx = vec![0.0f32; planes * h * w];
    for p in 0..planes {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let Some((h0, h1, w0, w1, div)) =
                    avg_window(oh, ow, h, w, pool, count_include_pad, divisor_override)
                else {
                    continue;
                };
                let d = dy[p * oh_n * ow_n + oh * ow_n + ow] / div as f32;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        dx[p * h * w + ih * w + iw] += d;
                    }
                }
            }
        }
    }
    dx
}

/// torch's `cpu_max_pool_backward` in `f32`: `dx = 0`, then output by output
/// `dx[index] += dy`.
pub fn max_pool_backward_f32(
    idx: &[Option<usize>],
    dy: &[f32],
    planes: usize,
    in_len: usize,
) -> Vec<f32> {
    let out_len = idx.len() / planes.max(1);
    let mut dx = vec![0.0f32; planes * in_len];
    for p in 0..planes {
        for o in 0..out_len {
            if let Some(i) = idx[p * out_len + o] {
                dx[p * in_len + i] += dy[p * out_len + o];
            }
        }
    }
    dx
}

/// Global average pooling of planes of `n` positions: `(mean, Σ|x|/n)` per plane.
pub fn global_avg(x: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    x.chunks(n)
        .map(|p| {
            (
                p.iter().sum::<f64>() / n as f64,
                p.iter().map(|v| v.abs()).sum::<f64>() / n as f64,
            )
        })
        .unzip()
}

/// Its backward: `dx = dy/n` over each plane.
pub fn global_avg_backward(dy: &[f64], n: usize) -> Vec<f64> {
    dy.iter()
        .flat_map(|&g| std::iter::repeat_n(g / n as f64, n))
        .collect()
}

pub fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}
