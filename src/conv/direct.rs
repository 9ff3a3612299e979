//! Direct convolution kernels over NCHW planes, eight output positions at a time on the
//! lanes of the dispatched instruction set; no scratch memory.
//!
//! Every product sums taps in a register: an output (or input-gradient) vector of eight
//! positions along the width takes one multiply-add per tap, each tap a load of eight
//! inputs (contiguous at stride 1, gathered otherwise; zero where the window reads padding).

use super::plan::Plan;
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{load_at_in, store_at_in, sum_in, Float8, Lanes, WithLanes, LANES};

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

/// The `index`-th row of a plane laid out in rows of `width`, mutable; empty past the end.
#[inline(always)]
fn row_mut_of(plane: &mut [f32], index: usize, width: usize) -> &mut [f32] {
    match index.checked_mul(width).and_then(|s| plane.get_mut(s..)) {
        Some(rest) => rest.get_mut(..width).unwrap_or(&mut []),
        None => &mut [],
    }
}

/// The `index`-th block of `len` floats of `v`, or an empty slice.
#[inline(always)]
fn block(v: &[f32], index: usize, len: usize) -> &[f32] {
    row_of(v, index, len)
}

/// Output channels computed together: each input vector loaded feeds this many multiply-adds.
pub(crate) const BLOCK: usize = 4;

/// Floats of the stack panel that holds zero-padded input rows ([`STACK_SCRATCH_BYTES`]).
///
/// [`STACK_SCRATCH_BYTES`]: super::STACK_SCRATCH_BYTES
pub(crate) const PANEL: usize = 512;

/// `y = x ⋆ weight + bias` (cross-correlation, zero padding), written.
///
/// Tiles of [`BLOCK`] output channels × eight positions. At stride 1 along the width, when a
/// group's input rows for one output row fit in the [`PANEL`], they are first copied there
/// with their zero padding, so every tap is one contiguous load; otherwise each tap gathers
/// its eight inputs from the rows in place (zero outside them).
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
        let kh_n = rows.kernel_size;
        let group_in = p.group_in();
        let sample_in = g.in_channels * p.in_plane();
        let sample_out = g.out_channels * p.out_plane();
        // A padded row: `padding` zeros, the row, zeros to the last tap of the last vector.
        let padded = p.width + 2 * cols.padding + LANES;
        let use_panel = cols.stride == 1
            && group_in
                .checked_mul(kh_n)
                .and_then(|n| n.checked_mul(padded))
                .is_some_and(|n| n <= PANEL);
        let mut panel = [0.0f32; PANEL];
        for (xs, ys) in by_rows(x, sample_in).zip(by_rows_mut(y, sample_out)) {
            for (group, yg) in by_rows_mut(ys, p.group_out() * p.out_plane()).enumerate() {
                let xg = block(xs, group, group_in * p.in_plane());
                for oh in 0..p.out_height {
                    if use_panel {
                        let filled = by_rows_mut(&mut panel, padded).take(group_in * kh_n);
                        for (r, dst) in filled.enumerate() {
                            dst.fill(0.0);
                            let (c, kh) = (div(r, kh_n), r - div(r, kh_n) * kh_n);
                            if let Some(ih) = rows.input_of(oh, kh, p.height) {
                                let src = row_of(block(xg, c, p.in_plane()), ih, p.width);
                                let end = cols.padding + src.len();
                                if let Some(d) = dst.get_mut(cols.padding..end) {
                                    d.copy_from_slice(src);
                                }
                            }
                        }
                    }
                    let at = OutputRow {
                        plan: p,
                        oh,
                        xg,
                        panel: use_panel.then_some((&panel[..], padded)),
                        weight,
                        bias,
                    };
                    let mut planes = by_rows_mut(yg, p.out_plane());
                    let mut oc = group * p.group_out();
                    loop {
                        let mut out: [&mut [f32]; BLOCK] = Default::default();
                        let mut n = 0;
                        for (dst, plane) in out.iter_mut().zip(planes.by_ref()) {
                            *dst = row_mut_of(plane, oh, p.out_width);
                            n += 1;
                        }
                        if n == BLOCK {
                            at.tiles::<L, BLOCK>(l, oc, &mut out);
                        } else {
                            for (r, row) in out.iter_mut().take(n).enumerate() {
                                at.tiles::<L, 1>(l, oc + r, &mut [&mut **row]);
                            }
                            break;
                        }
                        oc += BLOCK;
                    }
                }
            }
        }
    }
}

/// One output row `oh` of a group: where its inputs are, for [`OutputRow::tiles`].
struct OutputRow<'a> {
    plan: Plan,
    oh: usize,
    /// The group's input channels of the sample.
    xg: &'a [f32],
    /// The group's input rows for `oh`, padded, and the length of each, when they fit.
    panel: Option<(&'a [f32], usize)>,
    weight: &'a [f32],
    bias: &'a [f32],
}

impl OutputRow<'_> {
    /// Writes row `oh` of the `B` output channels from `first`, eight positions at a time:
    /// `acc[b] = bias + Σ_{c, kh, kw} weight[first + b, c, kh, kw]·x[c, ih(kh), o + kw·d]`,
    /// each loaded input vector feeding `B` multiply-adds.
    #[inline(always)]
    fn tiles<L: Lanes, const B: usize>(&self, l: L, first: usize, out: &mut [&mut [f32]; B]) {
        let p = self.plan;
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        let (kh_n, kw_n) = (rows.kernel_size, cols.kernel_size);
        let filters: [&[f32]; B] =
            core::array::from_fn(|b| block(self.weight, first + b, p.filter_len()));
        let init: [f32; B] =
            core::array::from_fn(|b| self.bias.get(first + b).copied().unwrap_or(0.0));
        // The last tap of a vector reads this far past its first.
        let reach = (kw_n - 1) * cols.dilation + LANES;
        for o in (0..p.out_width).step_by(LANES) {
            let count = (p.out_width - o).min(LANES);
            let start = (o * cols.stride) as isize - cols.padding as isize;
            let mut acc = init.map(|v| l.splat(v));
            let mut weights = filters.map(|f| by_rows(f, kw_n));
            for c in 0..p.group_in() {
                let plane = block(self.xg, c, p.in_plane());
                for kh in 0..kh_n {
                    let w: [&[f32]; B] = weights.each_mut().map(|r| r.next().unwrap_or(&[]));
                    let Some(ih) = rows.input_of(self.oh, kh, p.height) else {
                        continue;
                    };
                    let mut tap = |kw: usize, v: L::F| {
                        for (a, wb) in acc.iter_mut().zip(&w) {
                            let wv = wb.get(kw).copied().unwrap_or(0.0);
                            *a = l.splat(wv).mul_add(v, *a);
                        }
                    };
                    if let Some((panel, padded)) = self.panel {
                        let row = row_of(panel, c * kh_n + kh, padded);
                        for kw in 0..kw_n {
                            tap(kw, load_at_in(l, row, o + kw * cols.dilation));
                        }
                        continue;
                    }
                    let row = row_of(plane, ih, p.width);
                    let inside = cols.stride == 1
                        && count == LANES
                        && usize::try_from(start).is_ok_and(|s| s + reach <= row.len());
                    for kw in 0..kw_n {
                        let at = start + (kw * cols.dilation) as isize;
                        let v = if inside {
                            load_at_in(l, row, at as usize)
                        } else {
                            gather(l, row, at, cols.stride, count)
                        };
                        tap(kw, v);
                    }
                }
            }
            for (row, a) in out.iter_mut().zip(acc) {
                store_at_in(row, o, a);
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
