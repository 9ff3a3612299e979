//! `f64` references of torch's `nn.Conv1d` / `nn.Conv2d` (cross-correlation, zero padding,
//! stride, dilation, groups) and their gradients, each value with the bound of an `f32` sum of
//! its terms.
//!
//! A 1-D convolution is the 2-D one with height 1 and a window of height 1. Shared by
//! `tests/conv.rs` and `fuzz/fuzz_targets/conv.rs`.
#![allow(dead_code)]
#![allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas

/// Unit roundoff of f32.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// The shape of a convolution call; `[height, width]` pairs.
#[derive(Clone, Copy, Debug)]
pub struct ConvDims {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub groups: usize,
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

/// An exact value and how far an `f32` computation of it may be: `γₙ·Σ|terms|` for a sum of
/// `n` rounded terms in any order, `γₙ = n·u/(1 − n·u)`.
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub v: f64,
    pub tol: f64,
}

/// A sum of terms, with the magnitude and count that bound its rounding.
#[derive(Clone, Copy, Default)]
struct Acc {
    v: f64,
    abs: f64,
    n: usize,
}

impl Acc {
    fn add(&mut self, t: f64) {
        self.v += t;
        self.abs += t.abs();
        self.n += 1;
    }

    fn want(self) -> Want {
        let n = (self.n + 1) as f64;
        Want {
            v: self.v,
            tol: n * U / (1.0 - n * U) * self.abs,
        }
    }
}

impl ConvDims {
    /// torch's output length along `axis`: `⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1`, or `None` where
    /// the window is longer than the padded input.
    pub fn out_len(&self, axis: usize) -> Option<usize> {
        let padded = self.input[axis] + 2 * self.padding[axis];
        let span = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
        (span <= padded).then(|| (padded - span) / self.stride[axis] + 1)
    }

    pub fn output(&self) -> [usize; 2] {
        [self.out_len(0).unwrap(), self.out_len(1).unwrap()]
    }

    pub fn x_len(&self) -> usize {
        self.batch * self.in_channels * self.input[0] * self.input[1]
    }

    pub fn y_len(&self) -> usize {
        let [oh, ow] = self.output();
        self.batch * self.out_channels * oh * ow
    }

    pub fn weight_len(&self) -> usize {
        self.out_channels * (self.in_channels / self.groups) * self.kernel[0] * self.kernel[1]
    }

    /// Every product `w[wi]·x[xi]` of the forward sum of `y[yi]`, as `f(yi, xi, wi)`.
    fn products(&self, mut f: impl FnMut(usize, usize, usize)) {
        let [h, w] = self.input;
        let [oh_n, ow_n] = self.output();
        let (gi, go) = (
            self.in_channels / self.groups,
            self.out_channels / self.groups,
        );
        for n in 0..self.batch {
            for oc in 0..self.out_channels {
                let g = oc / go;
                for icl in 0..gi {
                    let ic = g * gi + icl;
                    for kh in 0..self.kernel[0] {
                        for kw in 0..self.kernel[1] {
                            let wi = ((oc * gi + icl) * self.kernel[0] + kh) * self.kernel[1] + kw;
                            for oh in 0..oh_n {
                                let ih = (oh * self.stride[0] + kh * self.dilation[0]) as isize
                                    - self.padding[0] as isize;
                                if ih < 0 || ih >= h as isize {
                                    continue;
                                }
                                for ow in 0..ow_n {
                                    let iw = (ow * self.stride[1] + kw * self.dilation[1]) as isize
                                        - self.padding[1] as isize;
                                    if iw < 0 || iw >= w as isize {
                                        continue;
                                    }
                                    let xi = ((n * self.in_channels + ic) * h + ih as usize) * w
                                        + iw as usize;
                                    let yi = ((n * self.out_channels + oc) * oh_n + oh) * ow_n + ow;
                                    f(yi, xi, wi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `y = x ⋆ w + b`.
    pub fn forward(&self, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<Want> {
        let [oh, ow] = self.output();
        let plane = oh * ow;
        let mut acc = vec![Acc::default(); self.y_len()];
        if let Some(b) = b {
            for (i, a) in acc.iter_mut().enumerate() {
                a.add(b[(i / plane) % self.out_channels] as f64);
            }
        }
        self.products(|yi, xi, wi| acc[yi].add(w[wi] as f64 * x[xi] as f64));
        acc.into_iter().map(Acc::want).collect()
    }

    /// `(dx, dweight, dbias)` for `dy`, the gradients accumulated onto `dw0` and `db0`.
    pub fn backward(
        &self,
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        dw0: &[f32],
        db0: &[f32],
    ) -> (Vec<Want>, Vec<Want>, Vec<Want>) {
        let mut dx = vec![Acc::default(); self.x_len()];
        let mut dw = vec![Acc::default(); self.weight_len()];
        for (a, v) in dw.iter_mut().zip(dw0) {
            a.add(*v as f64);
        }
        self.products(|yi, xi, wi| {
            dx[xi].add(dy[yi] as f64 * w[wi] as f64);
            dw[wi].add(dy[yi] as f64 * x[xi] as f64);
        });
        let [oh, ow] = self.output();
        let plane = oh * ow;
        let mut db = vec![Acc::default(); self.out_channels];
        for (a, v) in db.iter_mut().zip(db0) {
            a.add(*v as f64);
        }
        for (i, v) in dy.iter().enumerate() {
            db[(i / plane) % self.out_channels].add(*v as f64);
        }
        let want = |v: Vec<Acc>| v.into_iter().map(Acc::want).collect();
        (want(dx), want(dw), want(db))
    }
}

/// The first element of `got` farther from `want` than its bound, as a message.
pub fn first_miss(got: &[f32], want: &[Want]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("length {} vs {}", got.len(), want.len()));
    }
    got.iter()
        .zip(want)
        .enumerate()
        .find(|(_, (g, w))| {
            let (g, w) = (**g as f64, **w);
            !((g - w.v).abs() <= w.tol || (g.is_nan() && w.v.is_nan()) || g == w.v)
        })
        .map(|(i, (g, w))| format!("[{i}] got {g}, want {} ± {:e}", w.v, w.tol))
}
