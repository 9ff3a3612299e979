//! Convolution kernels with eight channels in the lanes: each tap is one vector of eight
//! channels' weights times one input value per position, for tiles of four positions.
//!
//! Torch's layout keeps a channel's positions contiguous, which suits lanes along the width
//! only when rows are long; small images and short sequences (8 × 8 digits, a 4 × 4 map after
//! pooling) leave those lanes half empty. Here the lanes hold channels instead, so every
//! width fills them. Three panels on the stack hold what the lanes read contiguously: the
//! zero-padded source rows of one output row, the weights packed `[tap][channel]`, and (for
//! the weight gradient) the output gradient of one row packed `[position][channel]`. A call
//! whose smallest unit does not fit returns `false` and the caller runs the kernels of
//! `direct.rs`.

use super::plan::Plan;
use crate::rows::by_rows_mut;
use crate::simd::{Float8, Lanes, WithLanes, LANES};

/// Floats of the panel of padded source rows.
pub(crate) const ROWS_PANEL: usize = 1024;
/// Floats of the panel of packed weights (or of weight-gradient sums).
pub(crate) const WEIGHTS_PANEL: usize = 1024;
/// Taps per tile of the weight gradient.
const TAPS: usize = 6;

/// Floats of the panel of one packed row of the output gradient.
pub(crate) const GRAD_PANEL: usize = 1024;

/// Whether rows of `width` positions take tiles of six rather than four: six share each
/// loaded weight vector among more multiply-adds, four leave fewer empty positions in short
/// rows (7 or 8 positions take two tiles of four, not six and a mostly empty one).
fn tile_of_six(width: usize) -> bool {
    width == 6 || width >= 9
}

/// `v[i]`, or 0 past the end.
#[inline(always)]
fn at(v: &[f32], i: usize) -> f32 {
    v.get(i).copied().unwrap_or(0.0)
}

/// `a / b`, or 0 for `b = 0`.
#[inline(always)]
fn div(a: usize, b: usize) -> usize {
    a.checked_div(b).unwrap_or(0)
}

/// The sizes every kernel below reads from its plan.
#[derive(Clone, Copy)]
struct Dims {
    kh: usize,
    kw: usize,
    taps: usize,
    filter: usize,
}

impl Dims {
    fn new(p: Plan) -> Self {
        let g = p.geometry;
        Dims {
            kh: g.rows.kernel_size,
            kw: g.cols.kernel_size,
            taps: g.taps(),
            filter: p.filter_len(),
        }
    }

    /// `weight[oc, c, tap]` (0 past the end).
    #[inline(always)]
    fn w(&self, weight: &[f32], oc: usize, c: usize, tap: usize) -> f32 {
        at(weight, oc * self.filter + c * self.taps + tap)
    }

    /// Source channels per chunk when each needs `rows_len` floats of rows and `taps·8` of
    /// packed weights; 0 when one does not fit.
    fn chunk(&self, rows_len: usize, channels: usize) -> usize {
        let by_rows = div(ROWS_PANEL, self.kh.saturating_mul(rows_len));
        let by_weights = div(WEIGHTS_PANEL, self.taps.saturating_mul(LANES));
        by_rows.min(by_weights).min(channels)
    }
}

/// Index of element `(n, c, h, w)` of a `[batch, channels, height, width]` tensor.
#[inline(always)]
fn idx(
    channels: usize,
    (height, width): (usize, usize),
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> usize {
    ((n * channels + c) * height + h) * width + w
}

/// `acc[t] += Σ_{s, kh, kw} packed[s, kh, kw]·rows[s, kh][base + offset(kw) + t·step]` for
/// the rows of the panel that `row_ok` accepts: one tile of `T` positions.
#[inline(always)]
fn tile<L: Lanes, const T: usize>(
    l: L,
    mut acc: [L::F; T],
    (sources, kh_n, kw_n, row_len): (usize, usize, usize, usize),
    (rows, packed): (&[f32], &[f32]),
    row_ok: impl Fn(usize) -> bool,
    (base, step, offset): (usize, usize, impl Fn(usize) -> usize),
) -> [L::F; T] {
    let mut packed = packed.chunks_exact(LANES);
    for r in 0..sources * kh_n {
        let ok = row_ok(r - div(r, kh_n) * kh_n);
        let row = rows.get(r * row_len..).unwrap_or(&[]);
        for kw in 0..kw_n {
            let w = match packed.next().and_then(|c| c.first_chunk::<LANES>()) {
                Some(a) => l.load(a),
                None => l.splat(0.0),
            };
            if !ok {
                continue;
            }
            let i = base + offset(kw);
            if step == 1 {
                if let Some(v) = row.get(i..).and_then(<[f32]>::first_chunk::<T>) {
                    for (a, x) in acc.iter_mut().zip(v) {
                        *a = w.mul_add(l.splat(*x), *a);
                    }
                    continue;
                }
            }
            for (t, a) in acc.iter_mut().enumerate() {
                *a = w.mul_add(l.splat(at(row, i + t * step)), *a);
            }
        }
    }
    acc
}

/// Packs `count` vectors of `lanes` channels: `packed[k][j] = value(k, j)` for `j < lanes`,
/// zero in the lanes beyond.
#[inline(always)]
fn pack(packed: &mut [f32], count: usize, lanes: usize, value: impl Fn(usize, usize) -> f32) {
    for (k, v) in by_rows_mut(packed, LANES).take(count).enumerate() {
        for (j, e) in v.iter_mut().enumerate() {
            *e = if j < lanes { value(k, j) } else { 0.0 };
        }
    }
}

/// Fills `count` rows of `row_len` of `panel`, row `r` of source `r / kh_n` and kernel row
/// `r % kh_n`: zeros, and `source(s, kh)` (when there is one) from `offset` on, one value every
/// `step` positions.
#[inline(always)]
fn fill_rows<'s>(
    panel: &mut [f32],
    (count, row_len, kh_n): (usize, usize, usize),
    (offset, step): (usize, usize),
    source: impl Fn(usize, usize) -> Option<&'s [f32]>,
) {
    for (r, row) in by_rows_mut(panel, row_len).take(count).enumerate() {
        let (s, kh) = (div(r, kh_n), r - div(r, kh_n) * kh_n);
        match source(s, kh) {
            // Contiguous: zeros around one copy.
            Some(src) if step == 1 => {
                let (head, rest) = row.split_at_mut(offset.min(row.len()));
                head.fill(0.0);
                let (body, tail) = rest.split_at_mut(src.len().min(rest.len()));
                for (d, v) in body.iter_mut().zip(src) {
                    *d = *v;
                }
                tail.fill(0.0);
            }
            Some(src) => {
                row.fill(0.0);
                let spread = row.iter_mut().skip(offset).step_by(step.max(1));
                for (dst, v) in spread.zip(src) {
                    *dst = *v;
                }
            }
            None => row.fill(0.0),
        }
    }
}

/// `T` vectors of `lanes` channels: lane `j` of vector `t < count` is `value(j, t)`, the rest
/// zero.
#[inline(always)]
fn load_tile<L: Lanes, const T: usize>(
    l: L,
    (count, lanes): (usize, usize),
    value: impl Fn(usize, usize) -> f32,
) -> [L::F; T] {
    let mut acc = [l.splat(0.0); T];
    for (t, a) in acc.iter_mut().enumerate().take(count) {
        let mut v = [0.0; LANES];
        for (j, e) in v.iter_mut().enumerate().take(lanes) {
            *e = value(j, t);
        }
        *a = l.load(&v);
    }
    acc
}

/// Stores lane `j < lanes` of vector `t < count` at `out[index(j, t)]`.
#[inline(always)]
fn store_tile<F: Float8>(
    acc: &[F],
    (count, lanes): (usize, usize),
    out: &mut [f32],
    index: impl Fn(usize, usize) -> usize,
) {
    for (t, a) in acc.iter().enumerate().take(count) {
        for (j, e) in a.to_array().iter().enumerate().take(lanes) {
            if let Some(dst) = out.get_mut(index(j, t)) {
                *dst = *e;
            }
        }
    }
}

/// The forward pass with output channels in the lanes; `false` (nothing written) when a
/// single input channel's rows or weights do not fit the panels.
pub(crate) struct Forward<'a> {
    pub(crate) plan: Plan,
    pub(crate) x: &'a [f32],
    pub(crate) weight: &'a [f32],
    pub(crate) bias: &'a [f32],
    pub(crate) y: &'a mut [f32],
}

impl WithLanes for Forward<'_> {
    type Output = bool;

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) -> bool {
        if tile_of_six(self.plan.out_width) {
            self.tiles::<L, 6>(l)
        } else {
            self.tiles::<L, 4>(l)
        }
    }
}

impl Forward<'_> {
    /// The pass in tiles of `T` positions.
    #[inline(always)]
    fn tiles<L: Lanes, const T: usize>(self, l: L) -> bool {
        let Forward {
            plan: p,
            x,
            weight,
            bias,
            y,
        } = self;
        let d = Dims::new(p);
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        // The padded row, and zeros for the last tile's taps to read whole vectors.
        let row_len = p.width + 2 * cols.padding + T;
        let chunk = d.chunk(row_len, p.group_in());
        if chunk == 0 {
            return false;
        }
        let batch = div(x.len(), g.in_channels * p.in_plane());
        let (in_hw, out_hw) = ((p.height, p.width), (p.out_height, p.out_width));
        let mut panel = [0.0f32; ROWS_PANEL];
        let mut packed = [0.0f32; WEIGHTS_PANEL];
        for group in 0..g.groups {
            for ob in (0..p.group_out()).step_by(LANES) {
                let oc0 = group * p.group_out() + ob;
                let lanes = (p.group_out() - ob).min(LANES);
                for c0 in (0..p.group_in()).step_by(chunk) {
                    let cc = (p.group_in() - c0).min(chunk);
                    let c_first = group * p.group_in() + c0;
                    pack(&mut packed, cc * d.taps, lanes, |k, j| {
                        let (c, tap) = (div(k, d.taps), k - div(k, d.taps) * d.taps);
                        d.w(weight, oc0 + j, c0 + c, tap)
                    });
                    for n in 0..batch {
                        for oh in 0..p.out_height {
                            let x_row = |c: usize, kh: usize| {
                                let ih = rows.input_of(oh, kh, p.height)?;
                                let start = idx(g.in_channels, in_hw, n, c_first + c, ih, 0);
                                x.get(start..start + p.width)
                            };
                            let rows_of = (cc * d.kh, row_len, d.kh);
                            fill_rows(&mut panel, rows_of, (cols.padding, 1), x_row);
                            let row_ok = |kh| rows.input_of(oh, kh, p.height).is_some();
                            for t0 in (0..p.out_width).step_by(T) {
                                let count = (p.out_width - t0).min(T);
                                let y_at = |j: usize, t: usize| {
                                    idx(g.out_channels, out_hw, n, oc0 + j, oh, t0 + t)
                                };
                                // The bias first, then the sums of the chunks before.
                                let acc = load_tile::<L, T>(l, (count, lanes), |j, t| {
                                    if c0 == 0 {
                                        at(bias, oc0 + j)
                                    } else {
                                        at(y, y_at(j, t))
                                    }
                                });
                                let offset = |kw: usize| kw * cols.dilation;
                                let at_pos = (t0 * cols.stride, cols.stride, offset);
                                let dims = (cc, d.kh, d.kw, row_len);
                                let acc = tile(l, acc, dims, (&panel, &packed), row_ok, at_pos);
                                store_tile(&acc, (count, lanes), y, y_at);
                            }
                        }
                    }
                }
            }
        }
        true
    }
}

/// The input gradient with input channels in the lanes: `dx[c, ih, iw] = Σ_{o, kh, kw}
/// weight[o, c, kh, kw]·dy[o, oh, ow]` over the outputs whose window reads `(ih, iw)`, from
/// rows of `dy` spread to the input's spacing (`dy[ow]` at `ow·stride`) and padded, so that
/// every stride reads them the same way. `false` (nothing written) when one output channel's
/// rows or weights do not fit the panels.
pub(crate) struct InputGrad<'a> {
    pub(crate) plan: Plan,
    pub(crate) weight: &'a [f32],
    pub(crate) dy: &'a [f32],
    pub(crate) dx: &'a mut [f32],
}

impl WithLanes for InputGrad<'_> {
    type Output = bool;

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) -> bool {
        if tile_of_six(self.plan.width) {
            self.tiles::<L, 6>(l)
        } else {
            self.tiles::<L, 4>(l)
        }
    }
}

impl InputGrad<'_> {
    /// The pass in tiles of `T` positions.
    #[inline(always)]
    fn tiles<L: Lanes, const T: usize>(self, l: L) -> bool {
        let InputGrad {
            plan: p,
            weight,
            dy,
            dx,
        } = self;
        let d = Dims::new(p);
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        let lead = (d.kw - 1) * cols.dilation;
        let row_len = p.width + cols.padding + lead + T;
        let chunk = d.chunk(row_len, p.group_out());
        if chunk == 0 {
            return false;
        }
        let batch = div(dx.len(), g.in_channels * p.in_plane());
        let (in_hw, out_hw) = ((p.height, p.width), (p.out_height, p.out_width));
        // The output row whose window's kernel row `kh` reads input row `ih`.
        let oh_of = |ih: usize, kh: usize| {
            let t = (ih + rows.padding).checked_sub(kh * rows.dilation)?;
            (t.checked_rem(rows.stride) == Some(0))
                .then(|| div(t, rows.stride))
                .filter(|&oh| oh < p.out_height)
        };
        let mut panel = [0.0f32; ROWS_PANEL];
        let mut packed = [0.0f32; WEIGHTS_PANEL];
        for group in 0..g.groups {
            for cb in (0..p.group_in()).step_by(LANES) {
                let c_first = group * p.group_in() + cb;
                let lanes = (p.group_in() - cb).min(LANES);
                for o0 in (0..p.group_out()).step_by(chunk) {
                    let oc = (p.group_out() - o0).min(chunk);
                    let oc_first = group * p.group_out() + o0;
                    pack(&mut packed, oc * d.taps, lanes, |k, j| {
                        let (o, tap) = (div(k, d.taps), k - div(k, d.taps) * d.taps);
                        d.w(weight, oc_first + o, cb + j, tap)
                    });
                    for n in 0..batch {
                        for ih in 0..p.height {
                            let dy_row = |o: usize, kh: usize| {
                                let oh = oh_of(ih, kh)?;
                                let start = idx(g.out_channels, out_hw, n, oc_first + o, oh, 0);
                                dy.get(start..start + p.out_width)
                            };
                            let rows_of = (oc * d.kh, row_len, d.kh);
                            fill_rows(&mut panel, rows_of, (lead, cols.stride), dy_row);
                            let row_ok = |kh| oh_of(ih, kh).is_some();
                            for t0 in (0..p.width).step_by(T) {
                                let count = (p.width - t0).min(T);
                                let dx_at = |j: usize, t: usize| {
                                    idx(g.in_channels, in_hw, n, c_first + j, ih, t0 + t)
                                };
                                // Zero first, then the sums of the chunks before.
                                let acc = load_tile::<L, T>(l, (count, lanes), |j, t| {
                                    if o0 == 0 {
                                        0.0
                                    } else {
                                        at(dx, dx_at(j, t))
                                    }
                                });
                                let offset = |kw: usize| (d.kw - 1 - kw) * cols.dilation;
                                let at_pos = (t0 + cols.padding, 1, offset);
                                let dims = (oc, d.kh, d.kw, row_len);
                                let acc = tile(l, acc, dims, (&panel, &packed), row_ok, at_pos);
                                store_tile(&acc, (count, lanes), dx, dx_at);
                            }
                        }
                    }
                }
            }
        }
        true
    }
}

/// The weight gradient with output channels in the lanes: `dweight[o, c, kh, kw] += Σ_{n, oh,
/// ow} dy[n, o, oh, ow]·x[n, c, ih, ow·stride + kw·dilation − padding]`, the sums of one call
/// kept in a panel and added to `dweight` at the end. `false` (nothing written) when the
/// panels cannot hold one input channel's rows, its sums, or one row of `dy`.
pub(crate) struct WeightGrad<'a> {
    pub(crate) plan: Plan,
    pub(crate) x: &'a [f32],
    pub(crate) dy: &'a [f32],
    pub(crate) dweight: &'a mut [f32],
}

impl WithLanes for WeightGrad<'_> {
    type Output = bool;

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) -> bool {
        let WeightGrad {
            plan: p,
            x,
            dy,
            dweight,
        } = self;
        let d = Dims::new(p);
        let g = p.geometry;
        let (rows, cols) = (g.rows, g.cols);
        let row_len = p.width + 2 * cols.padding;
        let chunk = d.chunk(row_len, p.group_in());
        if chunk == 0 || p.out_width.saturating_mul(LANES) > GRAD_PANEL {
            return false;
        }
        let batch = div(x.len(), g.in_channels * p.in_plane());
        let (in_hw, out_hw) = ((p.height, p.width), (p.out_height, p.out_width));
        let mut panel = [0.0f32; ROWS_PANEL];
        let mut sums = [0.0f32; WEIGHTS_PANEL];
        let mut grad = [0.0f32; GRAD_PANEL];
        for group in 0..g.groups {
            for ob in (0..p.group_out()).step_by(LANES) {
                let oc0 = group * p.group_out() + ob;
                let lanes = (p.group_out() - ob).min(LANES);
                for c0 in (0..p.group_in()).step_by(chunk) {
                    let cc = (p.group_in() - c0).min(chunk);
                    let c_first = group * p.group_in() + c0;
                    sums.fill(0.0);
                    for n in 0..batch {
                        for oh in 0..p.out_height {
                            let x_row = |c: usize, kh: usize| {
                                let ih = rows.input_of(oh, kh, p.height)?;
                                let start = idx(g.in_channels, in_hw, n, c_first + c, ih, 0);
                                x.get(start..start + p.width)
                            };
                            let rows_of = (cc * d.kh, row_len, d.kh);
                            fill_rows(&mut panel, rows_of, (cols.padding, 1), x_row);
                            pack(&mut grad, p.out_width, lanes, |ow, j| {
                                at(dy, idx(g.out_channels, out_hw, n, oc0 + j, oh, ow))
                            });
                            let grad = grad.get(..p.out_width * LANES).unwrap_or(&[]);
                            // Tiles of taps: each vector of dy feeds `TAPS` multiply-adds.
                            // A kernel row reading padding is a row of zeros in the panel.
                            let span = (p.out_width - 1) * cols.stride + 1;
                            for k0 in (0..cc * d.taps).step_by(TAPS) {
                                let tap_row = |u: usize| {
                                    let k = k0 + u;
                                    let (r, kw) = (div(k, d.kw), k - div(k, d.kw) * d.kw);
                                    let start = r * row_len + kw * cols.dilation;
                                    let ok = k < cc * d.taps;
                                    panel.get(start..start + span).filter(|_| ok).unwrap_or(&[])
                                };
                                let xs: [&[f32]; TAPS] = core::array::from_fn(tap_row);
                                let sum_at = |u: usize| (k0 + u) * LANES;
                                let mut acc: [L::F; TAPS] = core::array::from_fn(|u| {
                                    match sums.get(sum_at(u)..).and_then(<[f32]>::first_chunk) {
                                        Some(v) => l.load(v),
                                        None => l.splat(0.0),
                                    }
                                });
                                for (ow, gv) in grad.chunks_exact(LANES).enumerate() {
                                    let g = match gv.first_chunk::<LANES>() {
                                        Some(v) => l.load(v),
                                        None => l.splat(0.0),
                                    };
                                    let i = ow * cols.stride;
                                    for (a, x) in acc.iter_mut().zip(&xs) {
                                        *a = g.mul_add(l.splat(at(x, i)), *a);
                                    }
                                }
                                for (u, a) in acc.iter().enumerate() {
                                    let dst = sums.get_mut(sum_at(u)..);
                                    if let Some(v) = dst.and_then(<[f32]>::first_chunk_mut) {
                                        a.store(v);
                                    }
                                }
                            }
                        }
                    }
                    for (k, s) in by_rows_mut(&mut sums, LANES).take(cc * d.taps).enumerate() {
                        let (c, tap) = (div(k, d.taps), k - div(k, d.taps) * d.taps);
                        for (j, v) in s.iter().enumerate().take(lanes) {
                            let i = (oc0 + j) * d.filter + (c0 + c) * d.taps + tap;
                            if let Some(dst) = dweight.get_mut(i) {
                                *dst += *v;
                            }
                        }
                    }
                }
            }
        }
        true
    }
}
