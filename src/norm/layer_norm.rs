//! Layer normalisation over the last dimension, as `torch.nn.LayerNorm(features)`.

use super::{check_eps, check_opt_len, check_out_len, ld, ld_or, rows_of, rstd, st, valid};
use crate::error::check_len;
use crate::simd::{f32x8, LANES};
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
/// ([`stats_len`](Self::stats_len)`(rows) = 2·rows` floats, see [`forward_train`](Self::forward_train));
/// backward recomputes `x̂` from `x` and them.
///
/// ```
/// use descent::norm::LayerNorm;
///
/// let ln = LayerNorm::new(4); // eps 1e-5, weight and bias
/// let x = [1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 0.0, 1.0]; // [rows = 2, features = 4]
/// let (weight, bias) = ([1.0; 4], [0.0; 4]);
/// let mut y = [0.0; 8];
/// let mut stats = [0.0; LayerNorm::stats_len(2)];
/// ln.forward_train(&x, Some(&weight), Some(&bias), &mut y, &mut stats)?;
/// // Row 0 has mean 2.5 and biased variance 1.25.
/// let r = 1.0 / (1.25f32 + 1e-5).sqrt();
/// assert!((y[0] - -1.5 * r).abs() < 1e-6 && (y[3] - 1.5 * r).abs() < 1e-6);
///
/// let dy = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
/// let (mut dx, mut dw, mut db) = ([0.0; 8], [0.0; 4], [0.0; 4]);
/// ln.backward(&x, Some(&weight), &stats, &dy, &mut dx, Some(&mut dw), Some(&mut db))?;
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

/// The checked shape of one call.
struct Shape {
    rows: usize,
    features: usize,
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

    /// The length of the statistics saved for backward: `2·rows` floats (per row, the mean
    /// relative to the row's first element, then `rstd`).
    pub const fn stats_len(rows: usize) -> usize {
        rows.saturating_mul(2)
    }

    /// Checks the hyper-parameters and the lengths shared by every call.
    fn shape(&self, x: &[f32], weight: Option<&[f32]>) -> Result<Shape> {
        check_eps(self.eps)?;
        let rows = rows_of("x", x.len(), self.features, "normalized_shape")?;
        check_opt_len("weight", weight, self.weight_len())?;
        Ok(Shape {
            rows,
            features: self.features,
        })
    }

    /// Inference forward: `y = (x − mean)·rstd·weight + bias` per row, saving nothing.
    /// Bit-identical to [`forward_train`](Self::forward_train)'s `y`.
    ///
    /// # Errors
    /// [`InvalidHyperParameter`](crate::Error::InvalidHyperParameter) (`"eps"`),
    /// [`ZeroDimension`](crate::Error::ZeroDimension) (`"normalized_shape"`),
    /// [`LengthMismatch`](crate::Error::LengthMismatch) naming `"x"` (not a multiple of
    /// `features`), `"weight"`, `"bias"` or `"y"`. Nothing is written on error.
    pub fn forward(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> Result<()> {
        let s = self.shape(x, weight)?;
        check_opt_len("bias", bias, self.bias_len())?;
        check_len("y", y.len(), x.len())?;
        for (xr, yr) in x
            .chunks_exact(s.features)
            .zip(y.chunks_exact_mut(s.features))
        {
            let (delta, r) = row_stats(xr, self.eps);
            normalize_row(xr, weight, bias, delta, r, yr);
        }
        Ok(())
    }

    /// Training forward: as [`forward`](Self::forward), and writes the statistics backward
    /// needs into `stats` (`2·rows` floats): `stats[r] = mean_r − x[r, 0]` (the mean relative
    /// to the row's first element, which keeps its precision when the mean is large) and
    /// `stats[rows + r] = rstd_r = 1/√(var_r + eps)`. torch saves `mean` and `rstd`.
    ///
    /// # Errors
    /// As [`forward`](Self::forward), and `"stats"` of the wrong length.
    pub fn forward_train(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
        y: &mut [f32],
        stats: &mut [f32],
    ) -> Result<()> {
        let s = self.shape(x, weight)?;
        check_opt_len("bias", bias, self.bias_len())?;
        check_len("y", y.len(), x.len())?;
        check_len("stats", stats.len(), Self::stats_len(s.rows))?;
        let (deltas, rstds) = stats.split_at_mut(s.rows);
        for (((xr, yr), d), rs) in x
            .chunks_exact(s.features)
            .zip(y.chunks_exact_mut(s.features))
            .zip(deltas)
            .zip(rstds)
        {
            let (delta, r) = row_stats(xr, self.eps);
            normalize_row(xr, weight, bias, delta, r, yr);
            *d = delta;
            *rs = r;
        }
        Ok(())
    }

    /// Backward from `x` and the statistics saved by [`forward_train`](Self::forward_train),
    /// for the upstream gradient `dy` (`[rows, features]`):
    ///
    /// * `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))` per row, `g = dy·weight` (written);
    /// * `dweight += Σ_rows dy·x̂` when given (accumulated);
    /// * `dbias += Σ_rows dy` when given (accumulated).
    ///
    /// `dweight`/`dbias` are `None` to skip them (a frozen parameter); when given they have
    /// [`weight_len`](Self::weight_len) / [`bias_len`](Self::bias_len) floats.
    ///
    /// # Errors
    /// As [`forward_train`](Self::forward_train), with `"dy"`, `"dx"`, `"dweight"`, `"dbias"`
    /// of the wrong length. Nothing is written on error.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        stats: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        dweight: Option<&mut [f32]>,
        dbias: Option<&mut [f32]>,
    ) -> Result<()> {
        let s = self.shape(x, weight)?;
        check_len("stats", stats.len(), Self::stats_len(s.rows))?;
        check_len("dy", dy.len(), x.len())?;
        check_len("dx", dx.len(), x.len())?;
        check_out_len("dweight", dweight.as_deref(), self.weight_len())?;
        check_out_len("dbias", dbias.as_deref(), self.bias_len())?;
        let (deltas, rstds) = stats.split_at(s.rows);
        let n = s.features;
        let inv_n = f32x8::splat((1.0 / n as f64) as f32);
        for ((((xr, dyr), dxr), &delta), &r) in x
            .chunks_exact(n)
            .zip(dy.chunks_exact(n))
            .zip(dx.chunks_exact_mut(n))
            .zip(deltas)
            .zip(rstds)
        {
            let pivot = f32x8::splat(xr.first().copied().unwrap_or(0.0));
            let (vd, vr) = (f32x8::splat(delta), f32x8::splat(r));
            let xhat = |i| ((ld(xr, i) - pivot) - vd) * vr;
            let g = |i| ld(dyr, i) * ld_or(weight, i, f32x8::ONE);
            // mean(g) and mean(g·x̂) over the row; the tail lanes are masked out.
            let (mut sg, mut sgx) = (f32x8::ZERO, f32x8::ZERO);
            for i in (0..n).step_by(LANES) {
                let m = valid(i, n);
                let gi = g(i);
                sg += m.select(gi, f32x8::ZERO);
                sgx += m.select(gi * xhat(i), f32x8::ZERO);
            }
            let mg = f32x8::splat(sg.reduce_add()) * inv_n;
            let mgx = f32x8::splat(sgx.reduce_add()) * inv_n;
            for i in (0..n).step_by(LANES) {
                st(dxr, i, vr * ((g(i) - mg) - xhat(i) * mgx));
            }
        }
        if dweight.is_some() || dbias.is_some() {
            param_grads(x, deltas, rstds, dy, n, dweight, dbias);
        }
        Ok(())
    }
}

/// `(mean − pivot, rstd)` of one non-empty row, `pivot = row[0]`: two passes over `x − pivot`.
fn row_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len();
    let pivot = f32x8::splat(row.first().copied().unwrap_or(0.0));
    let mut s = f32x8::ZERO;
    for i in (0..n).step_by(LANES) {
        s += valid(i, n).select(ld(row, i) - pivot, f32x8::ZERO);
    }
    let delta = s.reduce_add() / n as f32;
    let vd = f32x8::splat(delta);
    let mut q = f32x8::ZERO;
    for i in (0..n).step_by(LANES) {
        let d = (ld(row, i) - pivot) - vd;
        q += valid(i, n).select(d * d, f32x8::ZERO);
    }
    let var = f64::from(q.reduce_add()) / n as f64;
    (delta, rstd(var, eps))
}

/// `y = ((x − pivot) − δ)·rstd·weight + bias` over one row.
#[inline(always)]
fn normalize_row(
    x: &[f32],
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    delta: f32,
    r: f32,
    y: &mut [f32],
) {
    let pivot = f32x8::splat(x.first().copied().unwrap_or(0.0));
    let (vd, vr) = (f32x8::splat(delta), f32x8::splat(r));
    let n = x.len();
    match (weight, bias) {
        (Some(w), Some(b)) => {
            for i in (0..n).step_by(LANES) {
                let xhat = ((ld(x, i) - pivot) - vd) * vr;
                st(y, i, xhat.mul_add(ld(w, i), ld(b, i)));
            }
        }
        (Some(w), None) => {
            for i in (0..n).step_by(LANES) {
                st(y, i, ((ld(x, i) - pivot) - vd) * vr * ld(w, i));
            }
        }
        (None, _) => {
            for i in (0..n).step_by(LANES) {
                st(y, i, ((ld(x, i) - pivot) - vd) * vr);
            }
        }
    }
}

/// `dweight += Σ_rows dy·x̂`, `dbias += Σ_rows dy`: eight columns at a time, each sum taken
/// apart and then added.
fn param_grads(
    x: &[f32],
    deltas: &[f32],
    rstds: &[f32],
    dy: &[f32],
    n: usize,
    mut dweight: Option<&mut [f32]>,
    mut dbias: Option<&mut [f32]>,
) {
    for i in (0..n).step_by(LANES) {
        let (mut sw, mut sb) = (f32x8::ZERO, f32x8::ZERO);
        for (((xr, dyr), &delta), &r) in x
            .chunks_exact(n)
            .zip(dy.chunks_exact(n))
            .zip(deltas)
            .zip(rstds)
        {
            let pivot = f32x8::splat(xr.first().copied().unwrap_or(0.0));
            let xhat = ((ld(xr, i) - pivot) - f32x8::splat(delta)) * f32x8::splat(r);
            let d = ld(dyr, i);
            sw = d.mul_add(xhat, sw);
            sb += d;
        }
        if let Some(dw) = dweight.as_deref_mut() {
            let v = ld(dw, i) + sw;
            st(dw, i, v);
        }
        if let Some(db) = dbias.as_deref_mut() {
            let v = ld(db, i) + sb;
            st(db, i, v);
        }
    }
}
