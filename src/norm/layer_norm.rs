//! Layer normalisation over the last dimension, as `torch.nn.LayerNorm(features)`.

use super::{check_eps, check_grads, present, rows_of, rstd, Backward, Forward};
use crate::error::{check_len, check_nonzero};
use crate::layer::{Grads, Layer, Mode, Params, Pass, Shape, Tape};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{
    add_at_in, dispatch, load_at_in, load_partial_in, store_partial_in, Float8, Lanes, WithLanes,
    LANES,
};
use crate::Result;

/// Layer normalisation over the last dimension of a row-major `[rows, features]` slice:
/// torch's `nn.LayerNorm(features, eps=1e-5, elementwise_affine=True, bias=True)` (and
/// `F.layer_norm` with `normalized_shape = (features,)`).
///
/// For each row `x` of `features` values:
///
/// `mean = Σ x / n`, `var = Σ (x − mean)² / n` (biased, `n = features`),
/// `rstd = 1/√(var + eps)`, `x̂ = (x − mean)·rstd`, `y = x̂·weight + bias`.
///
/// Backward, for `dy = ∂L/∂y`, with `g = dy·weight` (or `dy` without affine):
///
/// `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))` per row (written),
/// `dweight += Σ_rows dy·x̂`, `dbias += Σ_rows dy` (accumulated).
///
/// The struct holds only the shape and hyper-parameters; `weight` and `bias` (each
/// [`weight_len`](Self::weight_len) / [`bias_len`](Self::bias_len) floats: `features`, or 0
/// when absent) are the caller's slices, passed as `Option` like torch's `None`. The number of
/// rows is `x.len() / features`; zero rows is allowed (nothing to do), as in torch.
///
/// Training saves per row the mean relative to the row's first element and `rstd`
/// (`2·rows` floats, see [`Layer::saved_len`]); backward recomputes `x̂` from `x` and them.
/// `LayerNorm` is a [`Layer`] over any sample shape whose last dimension is `features`.
///
/// ```
/// use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
/// use descent::norm::LayerNorm;
///
/// let ln = LayerNorm::new(4); // eps 1e-5, weight and bias
/// let input = Shape::Features(4);
/// let x = [1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 0.0, 1.0]; // [rows = 2, features = 4]
/// let (weight, bias) = ([1.0; 4], [0.0; 4]);
/// let mut y = [0.0; 8];
/// let mut saved = [0.0; 4]; // ln.saved_len(input, 2)
/// ln.forward(input, Mode::train(&mut saved), Params::new(&weight, &bias), &x, &mut y)?;
/// // Row 0 has mean 2.5 and biased variance 1.25.
/// let r = 1.0 / (1.25f32 + 1e-5).sqrt();
/// assert!((y[0] - -1.5 * r).abs() < 1e-6 && (y[3] - 1.5 * r).abs() < 1e-6);
///
/// let dy = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
/// let (mut dx, mut dw, mut db) = ([0.0; 8], [0.0; 4], [0.0; 4]);
/// let tape = Tape::train(&x, &y, &saved);
/// let grads = Grads::new(&mut dw, &mut db);
/// ln.backward(input, Params::new(&weight, &bias), tape, &dy, Some(&mut dx), grads)?;
/// assert_eq!(db, [1.0, 0.0, 0.0, 0.0]);
/// assert!(dx.iter().sum::<f32>().abs() < 1e-6); // dx sums to 0 over each row
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNorm {
    /// The size of the normalised (last) dimension: torch's `normalized_shape`.
    pub features: usize,
    /// Added to the variance inside the square root; torch's default `1e-5`. Must be ≥ 0.
    pub eps: f32,
    /// Whether there is a learnable `weight` (torch's `elementwise_affine`, default true).
    pub elementwise_affine: bool,
    /// Whether there is a learnable `bias` too (torch's `bias`, default true; only with
    /// `elementwise_affine`).
    pub bias: bool,
}

impl LayerNorm {
    /// torch's defaults: `eps = 1e-5`, `elementwise_affine = true`, `bias = true`.
    pub const fn new(features: usize) -> Self {
        LayerNorm {
            features,
            eps: super::DEFAULT_EPS,
            elementwise_affine: true,
            bias: true,
        }
    }

    /// The length of `weight` and `dweight`: `features`, or 0 without `elementwise_affine`.
    pub const fn weight_len(&self) -> usize {
        if self.elementwise_affine {
            self.features
        } else {
            0
        }
    }

    /// The length of `bias` and `dbias`: `features` with `elementwise_affine` and `bias`,
    /// else 0.
    pub const fn bias_len(&self) -> usize {
        if self.elementwise_affine && self.bias {
            self.features
        } else {
            0
        }
    }

    /// Checks the hyper-parameter: `eps ≥ 0` (NaN rejected).
    ///
    /// # Errors
    /// [`InvalidHyperParameter`](crate::Error::InvalidHyperParameter) (`"eps"`).
    pub fn validate(&self) -> Result<()> {
        check_eps(self.eps)
    }

    /// Checks the hyper-parameters, the input shape, `x` and `weight`; the number of rows.
    fn rows(&self, input: Shape, x: &[f32], weight: &[f32]) -> Result<usize> {
        self.validate()?;
        self.output_shape(input)?;
        let rows = rows_of("x", x.len(), self.features, "normalized_shape")?;
        check_len("weight", weight.len(), self.weight_len())?;
        Ok(rows)
    }
}

impl Layer for LayerNorm {
    /// The input's shape: the last dimension must be `features`.
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        check_nonzero("normalized_shape", self.features)?;
        check_len("input", input.last(), self.features)?;
        Ok(input)
    }

    fn weight_len(&self) -> usize {
        LayerNorm::weight_len(self)
    }

    fn bias_len(&self) -> usize {
        LayerNorm::bias_len(self)
    }

    /// `2·rows`: per row the mean relative to the row's first element, then `rstd`.
    fn saved_len(&self, input: Shape, batch: usize) -> usize {
        let rows = batch
            .saturating_mul(input.len())
            .checked_div(self.features)
            .unwrap_or(0);
        rows.saturating_mul(2)
    }

    /// `y = (x − mean)·rstd·weight + bias` per row, the same bits in both modes. Training also
    /// saves `saved[r] = mean_r − x[r, 0]` (the mean relative to the row's first element,
    /// which keeps its precision when the mean is large) and `saved[rows + r] = rstd_r`; torch
    /// saves `mean` and `rstd`.
    ///
    /// # Errors
    /// [`InvalidHyperParameter`](crate::Error::InvalidHyperParameter) (`"eps"`),
    /// [`ZeroDimension`](crate::Error::ZeroDimension) (`"normalized_shape"`),
    /// [`LengthMismatch`](crate::Error::LengthMismatch) naming `"input"` (a last dimension
    /// other than `features`), `"x"` (not a multiple of `features`), `"weight"`, `"bias"`,
    /// `"y"` or `"saved"`. Nothing is written on error.
    fn forward(
        &self,
        input: Shape,
        mode: Mode<'_>,
        params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        let rows = self.rows(input, x, params.weight)?;
        check_len("bias", params.bias.len(), self.bias_len())?;
        check_len("y", y.len(), x.len())?;
        let stats = match mode {
            Mode::Eval { .. } => None,
            Mode::Train { saved, .. } => {
                check_len("saved", saved.len(), rows.saturating_mul(2))?;
                Some(saved.split_at_mut(rows.min(saved.len())))
            }
        };
        let args = Forward {
            x,
            weight: present(params.weight),
            bias: present(params.bias),
            y,
            rows,
            features: self.features,
            eps: self.eps,
        };
        dispatch(LnForward { args, stats });
        Ok(())
    }

    /// From the tape's `x` and the statistics its training forward saved, for the upstream
    /// gradient `dy`:
    ///
    /// * `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))` per row, `g = dy·weight` (written);
    /// * `dweight += Σ_rows dy·x̂`, `dbias += Σ_rows dy` (accumulated).
    ///
    /// # Errors
    /// As [`forward`](Layer::forward), with `"saved"` for a tape without the statistics (an
    /// evaluation tape counts as length 0), `"dy"`, `"dx"`, `"dweight"`, `"dbias"`.
    fn backward(
        &self,
        input: Shape,
        params: Params<'_>,
        tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Grads<'_>,
    ) -> Result<()> {
        let x = tape.x;
        let rows = self.rows(input, x, params.weight)?;
        check_len("bias", params.bias.len(), self.bias_len())?;
        let stats = match tape.pass {
            Pass::Train { saved } => saved,
            Pass::Eval { .. } => &[],
        };
        check_len("saved", stats.len(), rows.saturating_mul(2))?;
        check_grads(
            x,
            dy,
            dx.as_deref(),
            &grads,
            (self.weight_len(), self.bias_len()),
        )?;
        let (deltas, rstds) = stats.split_at(rows.min(stats.len()));
        let args = Backward {
            x,
            weight: present(params.weight),
            dy,
            dx,
            dweight: grads.weight,
            dbias: grads.bias,
            rows,
            features: self.features,
        };
        dispatch(LnBackward {
            args,
            deltas,
            rstds,
        });
        Ok(())
    }
}

/// The forward kernel: normalises every row, and saves `(δ, rstd)` per row when `stats` is
/// given (the two halves of the statistics).
struct LnForward<'a> {
    args: Forward<'a>,
    stats: Option<(&'a mut [f32], &'a mut [f32])>,
}

impl WithLanes for LnForward<'_> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let Forward {
            x,
            weight,
            bias,
            y,
            features,
            eps,
            ..
        } = self.args;
        let mut stats = self.stats;
        let rows = by_rows(x, features).zip(by_rows_mut(y, features));
        for (i, (xr, yr)) in rows.enumerate() {
            let (delta, r) = row_stats(l, xr, eps);
            normalize_row(l, xr, weight, bias, delta, r, yr);
            if let Some((deltas, rstds)) = &mut stats {
                if let (Some(d), Some(rs)) = (deltas.get_mut(i), rstds.get_mut(i)) {
                    *d = delta;
                    *rs = r;
                }
            }
        }
    }
}

/// The backward kernel, from the saved `(δ, rstd)` of every row.
struct LnBackward<'a> {
    args: Backward<'a>,
    deltas: &'a [f32],
    rstds: &'a [f32],
}

impl WithLanes for LnBackward<'_> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let Backward {
            x,
            weight,
            dy,
            dx,
            dweight,
            dbias,
            features: n,
            ..
        } = self.args;
        let (deltas, rstds) = (self.deltas, self.rstds);
        let inv_n = (1.0 / n as f64) as f32;
        if let Some(dx) = dx {
            for ((((xr, dyr), dxr), &delta), &r) in by_rows(x, n)
                .zip(by_rows(dy, n))
                .zip(by_rows_mut(dx, n))
                .zip(deltas)
                .zip(rstds)
            {
                let s = RowStats {
                    pivot: xr.first().copied().unwrap_or(0.0),
                    delta,
                    rstd: r,
                };
                let (sg, sgx) = match weight {
                    Some(w) => row_grad_sums(l, xr, dyr, w, s),
                    None => row_grad_sums(l, xr, dyr, Ones, s),
                };
                let means = (sg * inv_n, sgx * inv_n);
                match weight {
                    Some(w) => row_dx(l, xr, dyr, w, s, means, dxr),
                    None => row_dx(l, xr, dyr, Ones, s, means, dxr),
                }
            }
        }
        if dweight.is_some() || dbias.is_some() {
            param_grads(l, x, (deltas, rstds), dy, n, dweight, dbias);
        }
    }
}

/// `(mean − pivot, rstd)` of one non-empty row, `pivot = row[0]`: two passes over `x − pivot`,
/// each with two accumulators of eight lanes and the tail added in scalar code.
#[inline(always)]
fn row_stats<L: Lanes>(l: L, row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len();
    let p = row.first().copied().unwrap_or(0.0);
    let pivot = l.splat(p);
    let zero = l.splat(0.0);
    let (chunks, tail) = row.as_chunks::<LANES>();
    let (pairs, rest) = chunks.as_chunks::<2>();
    let (mut s0, mut s1) = (zero, zero);
    for pair in pairs {
        s0 += l.load(&pair[0]) - pivot;
        s1 += l.load(&pair[1]) - pivot;
    }
    for c in rest {
        s0 += l.load(c) - pivot;
    }
    let mut s = (s0 + s1).reduce_add();
    for &v in tail {
        s += v - p;
    }
    let delta = s / n as f32;
    let vd = l.splat(delta);
    let (mut q0, mut q1) = (zero, zero);
    for pair in pairs {
        let d0 = (l.load(&pair[0]) - pivot) - vd;
        let d1 = (l.load(&pair[1]) - pivot) - vd;
        q0 = d0.mul_add(d0, q0);
        q1 = d1.mul_add(d1, q1);
    }
    for c in rest {
        let d = (l.load(c) - pivot) - vd;
        q0 = d.mul_add(d, q0);
    }
    let mut q = (q0 + q1).reduce_add();
    for &v in tail {
        let d = (v - p) - delta;
        q += d * d;
    }
    let var = f64::from(q) / n as f64;
    (delta, rstd(var, eps))
}

/// The weight of an affine layer, or ones: lets one generic loop serve both.
trait Scale: Copy {
    /// The eight lanes of chunk `k`, zero-padded past the end.
    fn chunk<L: Lanes>(self, l: L, k: usize) -> L::F;
    /// Element `i` (tail elements).
    fn at(self, i: usize) -> f32;
}

/// No weight: all ones.
#[derive(Clone, Copy)]
struct Ones;

impl Scale for Ones {
    #[inline(always)]
    fn chunk<L: Lanes>(self, l: L, _: usize) -> L::F {
        l.splat(1.0)
    }
    #[inline(always)]
    fn at(self, _: usize) -> f32 {
        1.0
    }
}

impl Scale for &[f32] {
    #[inline(always)]
    fn chunk<L: Lanes>(self, l: L, k: usize) -> L::F {
        load_at_in(l, self, k * LANES)
    }
    #[inline(always)]
    fn at(self, i: usize) -> f32 {
        self.get(i).copied().unwrap_or(0.0)
    }
}

/// One row's statistics as the kernels use them: `x̂ = ((x − pivot) − delta)·rstd`, with
/// `pivot = x[0]` and `delta = mean − pivot`.
#[derive(Clone, Copy)]
struct RowStats {
    pivot: f32,
    delta: f32,
    rstd: f32,
}

/// `(Σ g, Σ g·x̂)` over one row, `g = dy·w`, `x̂ = ((x − pivot) − δ)·rstd`; the tail in
/// scalar code.
#[inline(always)]
fn row_grad_sums<L: Lanes>(l: L, x: &[f32], dy: &[f32], w: impl Scale, s: RowStats) -> (f32, f32) {
    let RowStats {
        pivot: p,
        delta,
        rstd: r,
    } = s;
    let (pivot, vd, vr) = (l.splat(p), l.splat(delta), l.splat(r));
    let (xc, xt) = x.as_chunks::<LANES>();
    let (dc, dt) = dy.as_chunks::<LANES>();
    let (mut sg, mut sgx) = (l.splat(0.0), l.splat(0.0));
    for (k, (xa, da)) in xc.iter().zip(dc).enumerate() {
        let g = l.load(da) * w.chunk(l, k);
        let xhat = ((l.load(xa) - pivot) - vd) * vr;
        sg += g;
        sgx = g.mul_add(xhat, sgx);
    }
    let (mut a, mut b) = (sg.reduce_add(), sgx.reduce_add());
    let base = xc.len() * LANES;
    for (i, (&xv, &d)) in xt.iter().zip(dt).enumerate() {
        let g = d * w.at(base + i);
        a += g;
        b += g * (((xv - p) - delta) * r);
    }
    (a, b)
}

/// `dx = rstd·((g − mean(g)) − x̂·mean(g·x̂))` over one row, with `(mg, mgx)` the two means;
/// the tail through padded lanes.
#[inline(always)]
fn row_dx<L: Lanes>(
    l: L,
    x: &[f32],
    dy: &[f32],
    w: impl Scale,
    s: RowStats,
    (mg, mgx): (f32, f32),
    dx: &mut [f32],
) {
    let (pivot, vd, vr) = (l.splat(s.pivot), l.splat(s.delta), l.splat(s.rstd));
    let (mg, mgx) = (l.splat(mg), l.splat(mgx));
    let (xc, xt) = x.as_chunks::<LANES>();
    let (dc, dt) = dy.as_chunks::<LANES>();
    let (oc, ot) = dx.as_chunks_mut::<LANES>();
    for (k, ((xa, da), oa)) in xc.iter().zip(dc).zip(oc.iter_mut()).enumerate() {
        let xhat = ((l.load(xa) - pivot) - vd) * vr;
        (vr * ((l.load(da) * w.chunk(l, k) - mg) - xhat * mgx)).store(oa);
    }
    if !xt.is_empty() {
        let xhat = ((load_partial_in(l, xt, 0.0) - pivot) - vd) * vr;
        let d = load_partial_in(l, dt, 0.0);
        let v = vr * ((d * w.chunk(l, xc.len()) - mg) - xhat * mgx);
        store_partial_in(v, ot);
    }
}

/// `y = ((x − pivot) − δ)·rstd·weight + bias` over one row, eight lanes at a time; the tail
/// through padded lanes.
#[inline(always)]
fn normalize_row<L: Lanes>(
    l: L,
    x: &[f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    delta: f32,
    r: f32,
    y: &mut [f32],
) {
    let pivot = l.splat(x.first().copied().unwrap_or(0.0));
    let (vd, vr) = (l.splat(delta), l.splat(r));
    match (weight, bias) {
        (Some(w), Some(b)) => map3(
            l,
            x,
            w,
            b,
            y,
            #[inline(always)]
            |v, w, b| (((v - pivot) - vd) * vr).mul_add(w, b),
        ),
        (Some(w), None) => map3(
            l,
            x,
            w,
            w,
            y,
            #[inline(always)]
            |v, w, _| ((v - pivot) - vd) * vr * w,
        ),
        (None, _) => map3(
            l,
            x,
            x,
            x,
            y,
            #[inline(always)]
            |v, _, _| ((v - pivot) - vd) * vr,
        ),
    }
}

/// `out[i] = f(a[i], b[i], c[i])`, eight lanes at a time, the tail on zero-padded lanes.
#[inline(always)]
fn map3<L: Lanes>(
    l: L,
    a: &[f32],
    b: &[f32],
    c: &[f32],
    out: &mut [f32],
    f: impl Fn(L::F, L::F, L::F) -> L::F,
) {
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    let (cc, ct) = c.as_chunks::<LANES>();
    let (oc, ot) = out.as_chunks_mut::<LANES>();
    for (((aa, ba), ca), oa) in ac.iter().zip(bc).zip(cc).zip(oc.iter_mut()) {
        f(l.load(aa), l.load(ba), l.load(ca)).store(oa);
    }
    if !at.is_empty() {
        let v = f(
            load_partial_in(l, at, 0.0),
            load_partial_in(l, bt, 0.0),
            load_partial_in(l, ct, 0.0),
        );
        store_partial_in(v, ot);
    }
}

/// `dweight += Σ_rows dy·x̂`, `dbias += Σ_rows dy`: eight columns at a time, each sum taken
/// apart and then added; `(deltas, rstds)` are the rows' saved statistics.
#[inline(always)]
fn param_grads<L: Lanes>(
    l: L,
    x: &[f32],
    (deltas, rstds): (&[f32], &[f32]),
    dy: &[f32],
    n: usize,
    mut dweight: Option<&mut [f32]>,
    mut dbias: Option<&mut [f32]>,
) {
    // Blocks of `BLOCK` chunks share the per-row scalars and keep their sums in registers.
    const BLOCK: usize = 4;
    let zero = l.splat(0.0);
    for i0 in (0..n).step_by(BLOCK * LANES) {
        let mut sw = [zero; BLOCK];
        let mut sb = [zero; BLOCK];
        for (((xr, dyr), &delta), &r) in by_rows(x, n).zip(by_rows(dy, n)).zip(deltas).zip(rstds) {
            let pivot = l.splat(xr.first().copied().unwrap_or(0.0));
            let (vd, vr) = (l.splat(delta), l.splat(r));
            let xs = xr.get(i0..).unwrap_or(&[]);
            let ds = dyr.get(i0..).unwrap_or(&[]);
            let (xc, _) = xs.as_chunks::<LANES>();
            let (dc, _) = ds.as_chunks::<LANES>();
            if let (Some(xc), Some(dc)) = (xc.first_chunk::<BLOCK>(), dc.first_chunk::<BLOCK>()) {
                // A whole block: fixed-size arrays, no bounds checks.
                for k in 0..BLOCK {
                    let xhat = ((l.load(&xc[k]) - pivot) - vd) * vr;
                    let d = l.load(&dc[k]);
                    sw[k] = d.mul_add(xhat, sw[k]);
                    sb[k] += d;
                }
            } else {
                for (k, (w, b)) in sw.iter_mut().zip(sb.iter_mut()).enumerate() {
                    let i = k * LANES;
                    let xhat = ((load_at_in(l, xs, i) - pivot) - vd) * vr;
                    let d = load_at_in(l, ds, i);
                    *w = d.mul_add(xhat, *w);
                    *b += d;
                }
            }
        }
        for (k, (w, b)) in sw.into_iter().zip(sb).enumerate() {
            let i = i0 + k * LANES;
            if let Some(dw) = dweight.as_deref_mut() {
                add_at_in(l, dw, i, w);
            }
            if let Some(db) = dbias.as_deref_mut() {
                add_at_in(l, db, i, b);
            }
        }
    }
}
