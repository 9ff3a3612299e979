//! Batch normalisation over the batch of a `[batch, features]` slice, as
//! `torch.nn.BatchNorm1d(features)`.

use super::{
    check_eps, check_opt_len, check_out_len, ld_or, per_lane, rows_of, rstd, Backward, Forward,
};
use crate::error::{check_len, Error};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{
    add_at_in, dispatch, load_at_in as ld, store_at_in as st, Float8, Lanes, WithLanes, LANES,
};
use crate::Result;

/// Batch normalisation of each channel (column) of a row-major `[batch, features]` slice over
/// the batch: torch's `nn.BatchNorm1d(features, eps=1e-5, momentum=0.1, affine=True,
/// track_running_stats=True)` on a 2-D input.
///
/// **Training** ([`forward_train`](Self::forward_train)), per channel `c` over the `N` rows:
///
/// `mean = Σ x / N`, `var = Σ (x − mean)² / N` (biased), `x̂ = (x − mean)/√(var + eps)`,
/// `y = x̂·weight + bias`,
///
/// and, with `track_running_stats`, the running statistics move towards the batch's, with the
/// **unbiased** variance `Σ (x − mean)² / (N − 1)`:
///
/// `running_mean = (1 − m)·running_mean + m·mean`,
/// `running_var = (1 − m)·running_var + m·var_unbiased`,
///
/// where `m = momentum`, or `1/num_batches_tracked` (a cumulative moving average) when
/// `momentum` is `None`; `num_batches_tracked` is incremented first, on every training call
/// that tracks statistics (as torch's buffer).
///
/// **Evaluation** ([`forward_eval`](Self::forward_eval)) uses the running statistics:
/// `y = (x − running_mean)/√(running_var + eps)·weight + bias`; without
/// `track_running_stats` torch normalises with the batch's statistics in evaluation too, and
/// so does this.
///
/// **Backward**, with `g = dy·weight` and the sums over the batch, per channel:
/// training ([`backward_train`](Self::backward_train)):
/// `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`; evaluation with fixed statistics
/// ([`backward_eval`](Self::backward_eval)): `dx = g·rstd`; both `dweight += Σ dy·x̂`,
/// `dbias += Σ dy` (accumulated).
///
/// Training needs more than one row: torch raises "Expected more than 1 value per channel
/// when training", this returns [`Error::ZeroDimension`] naming `"batch - 1"` (the unbiased
/// variance divides by `N − 1`); an empty batch is [`Error::ZeroDimension`] (`"batch"`).
///
/// ```
/// use descent::norm::{BatchNorm, RunningStats};
///
/// let bn = BatchNorm::new(2); // eps 1e-5, momentum Some(0.1), affine, running statistics
/// let x = [1.0, 10.0, 3.0, 20.0]; // [batch = 2, features = 2]
/// let (weight, bias) = ([1.0; 2], [0.0; 2]);
/// let (mut mean, mut var, mut batches) = ([0.0; 2], [1.0; 2], 0u64);
/// let mut y = [0.0; 4];
/// let mut stats = [0.0; BatchNorm::new(2).stats_len()];
/// let running = RunningStats { mean: &mut mean, var: &mut var, num_batches_tracked: &mut batches };
/// bn.forward_train(&x, Some(&weight), Some(&bias), Some(running), &mut y, &mut stats)?;
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[3] - 1.0).abs() < 1e-6);
/// assert!((mean[1] - 1.5).abs() < 1e-6); // 0.9·0 + 0.1·15
/// assert!((var[1] - 5.9).abs() < 1e-5); // 0.9·1 + 0.1·50 (unbiased)
/// assert_eq!(batches, 1);
///
/// let dy = [1.0, 1.0, 0.0, 0.0];
/// let (mut dx, mut dw, mut db) = ([0.0; 4], [0.0; 2], [0.0; 2]);
/// bn.backward_train(&x, Some(&weight), &stats, &dy, &mut dx, Some(&mut dw), Some(&mut db))?;
/// assert_eq!(db, [1.0, 1.0]);
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm {
    /// The number of channels `C` (torch's `num_features`): the last dimension of `[N, C]`.
    pub features: usize,
    /// Added to the variance inside the square root; torch's default `1e-5`. Must be ≥ 0.
    pub eps: f32,
    /// The weight of the batch statistic in the running average, in `[0, 1]`; `None` for a
    /// cumulative moving average (`1/num_batches_tracked`). torch's default `Some(0.1)`.
    pub momentum: Option<f32>,
    /// Whether there are a learnable `weight` and `bias` (torch's `affine`, default true).
    pub affine: bool,
    /// Whether running statistics are kept and used in evaluation (torch's
    /// `track_running_stats`, default true).
    pub track_running_stats: bool,
}

/// The running statistics a [`BatchNorm`] updates in training: torch's `running_mean`,
/// `running_var` (each `features` floats) and `num_batches_tracked` buffers.
#[derive(Debug)]
pub struct RunningStats<'a> {
    /// `running_mean`, torch's initial value 0.
    pub mean: &'a mut [f32],
    /// `running_var` (unbiased), torch's initial value 1.
    pub var: &'a mut [f32],
    /// The number of training batches seen, torch's initial value 0.
    pub num_batches_tracked: &'a mut u64,
}

impl BatchNorm {
    /// torch's defaults: `eps = 1e-5`, `momentum = Some(0.1)`, `affine = true`,
    /// `track_running_stats = true`.
    pub const fn new(features: usize) -> Self {
        BatchNorm {
            features,
            eps: super::DEFAULT_EPS,
            momentum: Some(0.1),
            affine: true,
            track_running_stats: true,
        }
    }

    /// The length of `weight`, `bias`, `dweight` and `dbias`: `features`, or 0 without
    /// `affine`.
    pub const fn weight_len(&self) -> usize {
        if self.affine {
            self.features
        } else {
            0
        }
    }

    /// The length of `running_mean` and `running_var`: `features`, or 0 without
    /// `track_running_stats`.
    pub const fn running_len(&self) -> usize {
        if self.track_running_stats {
            self.features
        } else {
            0
        }
    }

    /// The length of the statistics saved for backward: `2·features` floats (per channel, the
    /// batch mean relative to the first row, then `rstd`).
    pub const fn stats_len(&self) -> usize {
        self.features.saturating_mul(2)
    }

    /// Checks the hyper-parameters: `eps ≥ 0` and a `momentum` in `[0, 1]` (NaN rejected).
    ///
    /// # Errors
    /// [`InvalidHyperParameter`](Error::InvalidHyperParameter) (`"eps"`, `"momentum"`).
    pub fn validate(&self) -> Result<()> {
        check_eps(self.eps)?;
        if let Some(m) = self.momentum {
            if !(0.0..=1.0).contains(&m) {
                return Err(Error::InvalidHyperParameter { what: "momentum" });
            }
        }
        Ok(())
    }

    /// Checks the hyper-parameters, `x` and `weight`; the number of rows.
    fn rows(&self, x: &[f32], weight: Option<&[f32]>) -> Result<usize> {
        self.validate()?;
        let rows = rows_of("x", x.len(), self.features, "num_features")?;
        check_opt_len("weight", weight, self.weight_len())?;
        Ok(rows)
    }

    /// The batch must have at least two rows to normalise with its own statistics.
    fn check_batch(rows: usize) -> Result<()> {
        match rows {
            0 => Err(Error::ZeroDimension { what: "batch" }),
            1 => Err(Error::ZeroDimension { what: "batch - 1" }),
            _ => Ok(()),
        }
    }

    /// Training forward: normalises with the batch's statistics, writes `stats`
    /// ([`stats_len`](Self::stats_len) floats: `stats[c] = mean_c − x[0, c]`, the batch mean
    /// relative to the first row, then `stats[features + c] = rstd_c = 1/√(var_c + eps)`) for
    /// [`backward_train`](Self::backward_train), and updates `running` (when
    /// `track_running_stats`; pass `None` otherwise).
    ///
    /// # Errors
    /// [`InvalidHyperParameter`](Error::InvalidHyperParameter) (`"eps"`, `"momentum"`),
    /// [`ZeroDimension`](Error::ZeroDimension) (`"num_features"`, `"batch"`, `"batch - 1"`),
    /// [`LengthMismatch`](Error::LengthMismatch) naming `"x"`, `"weight"`, `"bias"`,
    /// `"running_mean"`, `"running_var"` (a missing `running` counts as length 0), `"y"` or
    /// `"stats"`. Nothing is written on error.
    pub fn forward_train(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
        running: Option<RunningStats<'_>>,
        y: &mut [f32],
        stats: &mut [f32],
    ) -> Result<()> {
        let rows = self.rows(x, weight)?;
        // An empty weight is an absent one (a layer without affine parameters).
        let weight = super::present(weight);
        check_opt_len("bias", bias, self.weight_len())?;
        let bias = super::present(bias);
        let rlen = self.running_len();
        check_len(
            "running_mean",
            running.as_ref().map_or(0, |r| r.mean.len()),
            rlen,
        )?;
        check_len(
            "running_var",
            running.as_ref().map_or(0, |r| r.var.len()),
            rlen,
        )?;
        check_len("y", y.len(), x.len())?;
        check_len("stats", stats.len(), self.stats_len())?;
        Self::check_batch(rows)?;

        let c = self.features;
        let (deltas, rstds) = stats.split_at_mut(c.min(stats.len()));
        let mut running = running.filter(|_| self.track_running_stats);
        // The running average's weight: torch increments the counter first.
        let factor = match &mut running {
            Some(r) => {
                *r.num_batches_tracked = r.num_batches_tracked.saturating_add(1);
                match self.momentum {
                    Some(m) => f64::from(m),
                    None => 1.0 / *r.num_batches_tracked as f64,
                }
            }
            None => 0.0,
        };
        let args = Forward {
            x,
            weight,
            bias,
            y,
            rows,
            features: c,
            eps: self.eps,
        };
        let stats = ForwardStats::Train {
            running,
            factor,
            deltas,
            rstds,
        };
        dispatch(BnForward { args, stats });
        Ok(())
    }

    /// Evaluation forward: `y = (x − running_mean)·rstd·weight + bias` with
    /// `rstd = 1/√(running_var + eps)`. Without `track_running_stats` (pass `None` for the
    /// running statistics) it normalises with the batch's statistics, as torch does, which
    /// needs at least two rows; differentiate that case with
    /// [`forward_train`](Self::forward_train) and [`backward_train`](Self::backward_train)
    /// (which update nothing without running statistics).
    ///
    /// # Errors
    /// As [`forward_train`](Self::forward_train) (no `"stats"`; `"batch"` only without
    /// `track_running_stats`). Nothing is written on error.
    pub fn forward_eval(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        bias: Option<&[f32]>,
        running_mean: Option<&[f32]>,
        running_var: Option<&[f32]>,
        y: &mut [f32],
    ) -> Result<()> {
        let rows = self.rows(x, weight)?;
        // An empty weight is an absent one (a layer without affine parameters).
        let weight = super::present(weight);
        check_opt_len("bias", bias, self.weight_len())?;
        let bias = super::present(bias);
        check_opt_len("running_mean", running_mean, self.running_len())?;
        check_opt_len("running_var", running_var, self.running_len())?;
        check_len("y", y.len(), x.len())?;
        let c = self.features;
        if !self.track_running_stats {
            Self::check_batch(rows)?;
        }
        let args = Forward {
            x,
            weight,
            bias,
            y,
            rows,
            features: c,
            eps: self.eps,
        };
        // `track_running_stats` decides, as in torch: without it the running statistics are
        // absent (or empty, their length then) and the batch's own are used.
        let stats = match (self.track_running_stats, running_mean, running_var) {
            (true, Some(mean), Some(var)) => ForwardStats::Running { mean, var },
            _ => ForwardStats::Batch,
        };
        dispatch(BnForward { args, stats });
        Ok(())
    }

    /// Training backward from `x` and the `stats` of [`forward_train`](Self::forward_train),
    /// for the upstream gradient `dy` (`[batch, features]`), per channel over the batch:
    ///
    /// * `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`, `g = dy·weight` (written);
    /// * `dweight += Σ dy·x̂`, `dbias += Σ dy` when given (accumulated; `None` skips one).
    ///
    /// # Errors
    /// As [`forward_train`](Self::forward_train), with `"dy"`, `"dx"`, `"dweight"`,
    /// `"dbias"` of the wrong length. Nothing is written on error.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_train(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        stats: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        dweight: Option<&mut [f32]>,
        dbias: Option<&mut [f32]>,
    ) -> Result<()> {
        let rows = self.rows(x, weight)?;
        // An empty weight is an absent one (a layer without affine parameters).
        let weight = super::present(weight);
        self.check_backward(x, dy, dx, dweight.as_deref(), dbias.as_deref())?;
        check_len("stats", stats.len(), self.stats_len())?;
        Self::check_batch(rows)?;
        let c = self.features;
        let (deltas, rstds) = stats.split_at(c.min(stats.len()));
        let args = Backward {
            x,
            weight,
            dy,
            dx,
            dweight,
            dbias,
            rows,
            features: c,
        };
        let stats = BackwardStats::Saved { deltas, rstds };
        dispatch(BnBackward { args, stats });
        Ok(())
    }

    /// Evaluation backward with the running statistics held fixed (the layer is then the
    /// affine map `y = (x − running_mean)·rstd·weight + bias`), per channel:
    ///
    /// * `dx = dy·weight·rstd`, `rstd = 1/√(running_var + eps)` (written);
    /// * `dweight += Σ dy·x̂`, `dbias += Σ dy` when given (accumulated).
    ///
    /// Without `track_running_stats` evaluation uses the batch's statistics: use
    /// [`backward_train`](Self::backward_train) then; this returns
    /// [`InvalidHyperParameter`](Error::InvalidHyperParameter) (`"track_running_stats"`).
    ///
    /// # Errors
    /// As [`forward_eval`](Self::forward_eval), with `"dy"`, `"dx"`, `"dweight"`, `"dbias"`
    /// of the wrong length. Nothing is written on error.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_eval(
        &self,
        x: &[f32],
        weight: Option<&[f32]>,
        running_mean: &[f32],
        running_var: &[f32],
        dy: &[f32],
        dx: &mut [f32],
        dweight: Option<&mut [f32]>,
        dbias: Option<&mut [f32]>,
    ) -> Result<()> {
        if !self.track_running_stats {
            return Err(Error::InvalidHyperParameter {
                what: "track_running_stats",
            });
        }
        let rows = self.rows(x, weight)?;
        // An empty weight is an absent one (a layer without affine parameters).
        let weight = super::present(weight);
        check_len("running_mean", running_mean.len(), self.features)?;
        check_len("running_var", running_var.len(), self.features)?;
        self.check_backward(x, dy, dx, dweight.as_deref(), dbias.as_deref())?;
        let args = Backward {
            x,
            weight,
            dy,
            dx,
            dweight,
            dbias,
            rows,
            features: self.features,
        };
        let stats = BackwardStats::Running {
            mean: running_mean,
            var: running_var,
            eps: self.eps,
        };
        dispatch(BnBackward { args, stats });
        Ok(())
    }

    /// The lengths of `dy`, `dx`, `dweight` and `dbias`.
    fn check_backward(
        &self,
        x: &[f32],
        dy: &[f32],
        dx: &[f32],
        dweight: Option<&[f32]>,
        dbias: Option<&[f32]>,
    ) -> Result<()> {
        check_len("dy", dy.len(), x.len())?;
        check_len("dx", dx.len(), x.len())?;
        check_out_len("dweight", dweight, self.weight_len())?;
        check_out_len("dbias", dbias, self.weight_len())
    }
}

/// `1/√(var + eps)` per lane.
#[inline(always)]
fn var_rstd<L: Lanes>(l: L, var: L::F, eps: f32) -> L::F {
    per_lane(l, var, |v| rstd(f64::from(v), eps))
}

/// The statistics a batch-norm forward normalises with.
enum ForwardStats<'a, 'r> {
    /// The batch's, saved into `deltas` and `rstds` (and blended into the running statistics
    /// with the weight `factor`, when given).
    Train {
        running: Option<RunningStats<'r>>,
        factor: f64,
        deltas: &'a mut [f32],
        rstds: &'a mut [f32],
    },
    /// The batch's, saving nothing (evaluation without running statistics).
    Batch,
    /// The running ones.
    Running { mean: &'a [f32], var: &'a [f32] },
}

/// The forward kernel of every mode.
struct BnForward<'a, 'r> {
    args: Forward<'a>,
    stats: ForwardStats<'a, 'r>,
}

impl WithLanes for BnForward<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let Forward {
            x,
            weight,
            bias,
            y,
            rows,
            features: c,
            eps,
        } = self.args;
        let (n, n1) = (rows as f64, rows.saturating_sub(1) as f64);
        // One loop over the channels per source of statistics, the choice made once.
        match self.stats {
            ForwardStats::Train {
                mut running,
                factor,
                deltas,
                rstds,
            } => {
                for j in (0..c).step_by(LANES) {
                    let (w, b) = affine(l, weight, bias, j);
                    let (pivot, delta, q) = channel_moments(l, x, c, j);
                    let r = per_lane(l, q, |q| rstd(f64::from(q) / n, eps));
                    st(deltas, j, delta);
                    st(rstds, j, r);
                    if let Some(run) = &mut running {
                        let unbiased = per_lane(l, q, |q| (f64::from(q) / n1) as f32);
                        let v = blend(l, ld(l, run.mean, j), pivot + delta, factor);
                        st(run.mean, j, v);
                        let v = blend(l, ld(l, run.var, j), unbiased, factor);
                        st(run.var, j, v);
                    }
                    normalize_channel(
                        l,
                        (x, &mut *y),
                        (c, j),
                        (w, b),
                        #[inline(always)]
                        move |v| (v - pivot) - delta,
                        r,
                    );
                }
            }
            ForwardStats::Batch => {
                for j in (0..c).step_by(LANES) {
                    let (w, b) = affine(l, weight, bias, j);
                    let (pivot, delta, q) = channel_moments(l, x, c, j);
                    let r = per_lane(l, q, |q| rstd(f64::from(q) / n, eps));
                    normalize_channel(
                        l,
                        (x, &mut *y),
                        (c, j),
                        (w, b),
                        #[inline(always)]
                        move |v| (v - pivot) - delta,
                        r,
                    );
                }
            }
            ForwardStats::Running { mean, var } => {
                for j in (0..c).step_by(LANES) {
                    let (w, b) = affine(l, weight, bias, j);
                    let mean = ld(l, mean, j);
                    let r = var_rstd(l, ld(l, var, j), eps);
                    normalize_channel(
                        l,
                        (x, &mut *y),
                        (c, j),
                        (w, b),
                        #[inline(always)]
                        move |v| v - mean,
                        r,
                    );
                }
            }
        }
    }
}

/// The lanes `j..j + 8` of `weight` and `bias`, ones and zeros where absent.
#[inline(always)]
fn affine<L: Lanes>(l: L, weight: Option<&[f32]>, bias: Option<&[f32]>, j: usize) -> (L::F, L::F) {
    (
        ld_or(l, weight, j, l.splat(1.0)),
        ld_or(l, bias, j, l.splat(0.0)),
    )
}

/// `y = shift(x)·rstd·weight + bias` for the channels `j..j + 8` of every row, with
/// `(weight, bias)` from [`affine`]; `shift` is a subtraction or two (an inlined closure), the
/// rest lane arithmetic in this loop.
#[inline(always)]
fn normalize_channel<L: Lanes>(
    l: L,
    (x, y): (&[f32], &mut [f32]),
    (c, j): (usize, usize),
    (w, b): (L::F, L::F),
    shift: impl Fn(L::F) -> L::F,
    r: L::F,
) {
    for (xr, yr) in by_rows(x, c).zip(by_rows_mut(y, c)) {
        st(yr, j, (shift(ld(l, xr, j)) * r).mul_add(w, b));
    }
}

/// The running statistic `old` moved towards the batch's `new`: `(1 − f)·old + f·new` per
/// lane, in `f64`, rounded once.
#[inline(always)]
fn blend<L: Lanes>(l: L, old: L::F, new: L::F, factor: f64) -> L::F {
    let (o, w) = (old.to_array(), new.to_array());
    let mut out = [0.0f32; LANES];
    for ((out, o), w) in out.iter_mut().zip(o).zip(w) {
        *out = ((1.0 - factor) * f64::from(o) + factor * f64::from(w)) as f32;
    }
    l.load(&out)
}

/// The statistics a batch-norm backward differentiates through.
#[derive(Clone, Copy)]
enum BackwardStats<'a> {
    /// The batch's, as [`BatchNorm::forward_train`] saved them (training backward).
    Saved { deltas: &'a [f32], rstds: &'a [f32] },
    /// The running ones, held fixed (evaluation backward).
    Running {
        mean: &'a [f32],
        var: &'a [f32],
        eps: f32,
    },
}

/// The backward kernel of both modes.
struct BnBackward<'a> {
    args: Backward<'a>,
    stats: BackwardStats<'a>,
}

impl WithLanes for BnBackward<'_> {
    type Output = ();
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) {
        let Backward {
            x,
            weight,
            dy,
            dx,
            mut dweight,
            mut dbias,
            rows,
            features: c,
        } = self.args;
        let inv_n = l.splat((1.0 / rows as f64) as f32);
        let row0 = x.get(..c).unwrap_or(&[]);
        for j in (0..c).step_by(LANES) {
            let w = ld_or(l, weight, j, l.splat(1.0));
            let (dw, db) = (dweight.as_deref_mut(), dbias.as_deref_mut());
            match self.stats {
                BackwardStats::Saved { deltas, rstds } => {
                    let (pivot, delta, r) = (ld(l, row0, j), ld(l, deltas, j), ld(l, rstds, j));
                    let (sum_dy, sum_dy_xhat) = param_sums(
                        l,
                        (x, dy, c, j),
                        #[inline(always)]
                        move |v| (v - pivot) - delta,
                        r,
                        dw,
                        db,
                    );
                    let (mg, mgx) = (sum_dy * inv_n, sum_dy_xhat * inv_n);
                    let rw = r * w;
                    let rows = by_rows(x, c).zip(by_rows(dy, c)).zip(by_rows_mut(dx, c));
                    for ((xr, dyr), dxr) in rows {
                        let xhat = ((ld(l, xr, j) - pivot) - delta) * r;
                        st(dxr, j, rw * ((ld(l, dyr, j) - mg) - xhat * mgx));
                    }
                }
                BackwardStats::Running { mean, var, eps } => {
                    let mean = ld(l, mean, j);
                    let r = var_rstd(l, ld(l, var, j), eps);
                    param_sums(
                        l,
                        (x, dy, c, j),
                        #[inline(always)]
                        move |v| v - mean,
                        r,
                        dw,
                        db,
                    );
                    let rw = r * w;
                    for (dyr, dxr) in by_rows(dy, c).zip(by_rows_mut(dx, c)) {
                        st(dxr, j, ld(l, dyr, j) * rw);
                    }
                }
            }
        }
    }
}

/// For the channels `j..j + 8` of `[N, c]`: `(pivot, δ, q)` with `pivot = x[0, ·]`,
/// `δ = mean(x − pivot)` and `q = Σ ((x − pivot) − δ)²`: two passes. Lanes past `c` are 0.
#[inline(always)]
fn channel_moments<L: Lanes>(l: L, x: &[f32], c: usize, j: usize) -> (L::F, L::F, L::F) {
    let pivot = ld(l, x.get(..c).unwrap_or(&[]), j);
    let mut s = l.splat(0.0);
    let mut rows = 0usize;
    for xr in by_rows(x, c) {
        s += ld(l, xr, j) - pivot;
        rows += 1;
    }
    let delta = s / l.splat(rows.max(1) as f32);
    let mut q = l.splat(0.0);
    for xr in by_rows(x, c) {
        let d = (ld(l, xr, j) - pivot) - delta;
        q = d.mul_add(d, q);
    }
    (pivot, delta, q)
}

/// `(Σ dy, Σ dy·x̂)` over the batch `(x, dy, c, j)` for the channels `j..j + 8`, with
/// `x̂ = shift(x)·rstd`, added into `dbias` and `dweight` when they are given.
#[inline(always)]
fn param_sums<L: Lanes>(
    l: L,
    (x, dy, c, j): (&[f32], &[f32], usize, usize),
    shift: impl Fn(L::F) -> L::F,
    r: L::F,
    dweight: Option<&mut [f32]>,
    dbias: Option<&mut [f32]>,
) -> (L::F, L::F) {
    let (mut a, mut b) = (l.splat(0.0), l.splat(0.0));
    for (xr, dyr) in by_rows(x, c).zip(by_rows(dy, c)) {
        let d = ld(l, dyr, j);
        a += d;
        b = d.mul_add(shift(ld(l, xr, j)) * r, b);
    }
    if let Some(dw) = dweight {
        add_at_in(l, dw, j, b);
    }
    if let Some(db) = dbias {
        add_at_in(l, db, j, a);
    }
    (a, b)
}
