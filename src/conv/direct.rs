//! Direct convolution kernels over NCHW planes, eight output positions at a time on the
//! lanes of the dispatched instruction set; no scratch memory.
//!
//! Every product sums taps in a register: an output (or input-gradient) vector of eight
//! positions along the width takes one multiply-add per tap, each tap a load of eight
//! inputs (contiguous at stride 1, gathered otherwise; zero where the window reads padding).

use super::plan::Plan;
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{store_at_in, sum_in, Float8, Lanes, WithLanes, LANES};

/// `a / b`, or 0 for `b = 0` (which a checked plan never has; this keeps the division free of
/// a panic path).
#[inline(always)]
fn div(a: usize, b: usize) -> usize {
    a.checked_div(b).unwrap_or(0)
}

/// Lane `j` is `row[start + j·step]` for `j < count`, zero where that position is outside
/// `row` (padding) and for `j ≥ count`.
#[inline(always)]
fn gather<L: Lanes>(l: L, row: &[f32], start: isize, step: usize, count: usize) -> L::F {
    if step == 1 && count == LANES {
        if let Some(a) = usize::try_from(start)
            .ok()
            .and_then(|s| row.get(s..))
            .and_then(<[f32]>::first_chunk::<LANES>)
        {
            return l.load(a);
        }
    }
    let mut a = [0.0; LANES];
    let mut i = start;
    for v in a.iter_mut().take(count) {
        if let Some(&x) = usize::try_from(i).ok().and_then(|u| row.get(u)) {
            *v = x;
        }
        i = i.wrapping_add_unsigned(step);
    }
    l.load(&a)
}

/// Lane `j` is `row[(start + j)/stride]` where `start + j ≥ 0` is a multiple of `stride`, zero
/// elsewhere and for `j ≥ count`: the outputs a strided window sends to eight consecutive
/// inputs.
#[inline(always)]
fn gather_every<L: Lanes>(l: L, row: &[f32], start: isize, stride: usize, count: usize) -> L::F {
    if stride == 1 {
        return gather(l, row, start, 1, count);
    }
    let mut a = [0.0; LANES];
    for (j, v) in a.iter_mut().enumerate().take(count) {
        let Ok(t) = usize::try_from(start.wrapping_add_unsigned(j)) else {
            continue;
        };
        if t.checked_rem(stride) == Some(0) {
            if let Some(&x) = row.get(div(t, stride)) {
                *v = x;
            }
        }
    }
    l.load(&a)
}

/// The `index`-th row of a plane laid out in rows of `width`, or an empty slice past the end.
#[inline(always)]
fn row_of(plane: &[f32], index: usize, width: usize) -> &[f32] {
    index
        .checked_mul(width)
        .and_then(|s| plane.get(s..))
        .and_then(|r| r.get(..width))
        .unwrap_or(&[])
}

/// The `index`-th block of `len` floats of `v`, or an empty slice.
#[inline(always)]
fn block(v: &[f32], index: usize, len: usize) -> &[f32] {
    row_of(v, index, len)
}

/// `y = x ⋆ weight + bias` (cross-correlation, zero padding), written.
pub(crate) struct Forward<'a> {
    pub(crate) plan: Plan,
    pub(crate) x: &'a [f32],
    pub(crate) weight: &'a [f32],
    pub(crate) bias: &'a [f32],
    pub(crate) y: &'a mut [f32],
}

impl WithLanes for Forward<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let Forward {
            plan: p,
            x,
            weight,
            bias,
            y,
        } = self;
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        let group_in = p.group_in() * p.in_plane();
        let sample_in = g.in_channels * p.in_plane();
        let sample_out = g.out_channels * p.out_plane();
        for (xs, ys) in by_rows(x, sample_in).zip(by_rows_mut(y, sample_out)) {
            let filters = by_rows(weight, p.filter_len());
            for (oc, (yp, filter)) in by_rows_mut(ys, p.out_plane()).zip(filters).enumerate() {
                let xg = block(xs, div(oc, p.group_out()), group_in);
                let b = bias.get(oc).copied().unwrap_or(0.0);
                for (oh, yrow) in by_rows_mut(yp, p.out_width).enumerate() {
                    for o in (0..p.out_width).step_by(LANES) {
                        let count = (p.out_width - o).min(LANES);
                        let start = (o * cols.stride) as isize - cols.padding as isize;
                        let mut acc = l.splat(b);
                        for (plane, taps) in
                            by_rows(xg, p.in_plane()).zip(by_rows(filter, g.taps()))
                        {
                            for (kh, wrow) in by_rows(taps, cols.kernel_size).enumerate() {
                                let Some(ih) = rows.input_of(oh, kh, p.height) else {
                                    continue;
                                };
                                let xrow = row_of(plane, ih, p.width);
                                let mut at = start;
                                for &w in wrow {
                                    let v = gather(l, xrow, at, cols.stride, count);
                                    acc = l.splat(w).mul_add(v, acc);
                                    at = at.wrapping_add_unsigned(cols.dilation);
                                }
                            }
                        }
                        store_at_in(yrow, o, acc);
                    }
                }
            }
        }
    }
}

/// `dweight += Σ_batch dy ⋆ x`, per tap over the outputs that read inside the input.
pub(crate) struct WeightGrad<'a> {
    pub(crate) plan: Plan,
    pub(crate) x: &'a [f32],
    pub(crate) dy: &'a [f32],
    pub(crate) dweight: &'a mut [f32],
}

impl WithLanes for WeightGrad<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let WeightGrad {
            plan: p,
            x,
            dy,
            dweight,
        } = self;
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        let sample_in = g.in_channels * p.in_plane();
        let sample_out = g.out_channels * p.out_plane();
        for (oc, dfilter) in by_rows_mut(dweight, p.filter_len()).enumerate() {
            let first_in = div(oc, p.group_out()) * p.group_in();
            for (icl, dtaps) in by_rows_mut(dfilter, g.taps()).enumerate() {
                let ic = first_in + icl;
                for (kh, drow) in by_rows_mut(dtaps, cols.kernel_size).enumerate() {
                    for (kw, d) in drow.iter_mut().enumerate() {
                        let reach = cols.outputs_reading(kw, p.width, p.out_width);
                        let shift = (kw * cols.dilation) as isize - cols.padding as isize;
                        let mut acc = l.splat(0.0);
                        for (xs, dys) in by_rows(x, sample_in).zip(by_rows(dy, sample_out)) {
                            let plane = block(xs, ic, p.in_plane());
                            let dplane = block(dys, oc, p.out_plane());
                            for oh in 0..p.out_height {
                                let Some(ih) = rows.input_of(oh, kh, p.height) else {
                                    continue;
                                };
                                let xrow = row_of(plane, ih, p.width);
                                let dyrow = row_of(dplane, oh, p.out_width);
                                for o in reach.clone().step_by(LANES) {
                                    let count = (reach.end - o).min(LANES);
                                    let at = (o * cols.stride) as isize + shift;
                                    let dv = gather(l, dyrow, o as isize, 1, count);
                                    let xv = gather(l, xrow, at, cols.stride, count);
                                    acc = dv.mul_add(xv, acc);
                                }
                            }
                        }
                        *d += acc.reduce_add();
                    }
                }
            }
        }
    }
}

/// `dbias += Σ dy` over the batch and the positions of each output channel.
pub(crate) struct BiasGrad<'a> {
    pub(crate) plan: Plan,
    pub(crate) dy: &'a [f32],
    pub(crate) dbias: &'a mut [f32],
}

impl WithLanes for BiasGrad<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let BiasGrad { plan: p, dy, dbias } = self;
        let sample_out = p.geometry.out_channels * p.out_plane();
        for (oc, db) in dbias.iter_mut().enumerate() {
            let mut sum = 0.0;
            for dys in by_rows(dy, sample_out) {
                sum += sum_in(l, block(dys, oc, p.out_plane()));
            }
            *db += sum;
        }
    }
}

/// `dx = dy ⋆ᵀ weight` (the transposed correlation), written: every input position gathers
/// the outputs whose windows read it.
pub(crate) struct InputGrad<'a> {
    pub(crate) plan: Plan,
    pub(crate) weight: &'a [f32],
    pub(crate) dy: &'a [f32],
    pub(crate) dx: &'a mut [f32],
}

impl WithLanes for InputGrad<'_> {
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let InputGrad {
            plan: p,
            weight,
            dy,
            dx,
        } = self;
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        let sample_in = g.in_channels * p.in_plane();
        let sample_out = g.out_channels * p.out_plane();
        for (dxs, dys) in by_rows_mut(dx, sample_in).zip(by_rows(dy, sample_out)) {
            for (ic, dxp) in by_rows_mut(dxs, p.in_plane()).enumerate() {
                let group = div(ic, p.group_in());
                let icl = ic - group * p.group_in();
                for (ih, dxrow) in by_rows_mut(dxp, p.width).enumerate() {
                    for i in (0..p.width).step_by(LANES) {
                        let count = (p.width - i).min(LANES);
                        let start = (i + cols.padding) as isize;
                        let mut acc = l.splat(0.0);
                        for ocl in 0..p.group_out() {
                            let oc = group * p.group_out() + ocl;
                            let taps = block(block(weight, oc, p.filter_len()), icl, g.taps());
                            let dplane = block(dys, oc, p.out_plane());
                            for (kh, wrow) in by_rows(taps, cols.kernel_size).enumerate() {
                                // The output row whose window's tap `kh` reads row `ih`.
                                let Some(t) = (ih + rows.padding).checked_sub(kh * rows.dilation)
                                else {
                                    continue;
                                };
                                if t.checked_rem(rows.stride) != Some(0) {
                                    continue;
                                }
                                let oh = div(t, rows.stride);
                                if oh >= p.out_height {
                                    continue;
                                }
                                let dyrow = row_of(dplane, oh, p.out_width);
                                let mut at = start;
                                for &w in wrow {
                                    let v = gather_every(l, dyrow, at, cols.stride, count);
                                    acc = l.splat(w).mul_add(v, acc);
                                    at = at.wrapping_sub_unsigned(cols.dilation);
                                }
                            }
                        }
                        store_at_in(dxrow, i, acc);
                    }
                }
            }
        }
    }
}
