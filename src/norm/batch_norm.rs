//! Batch normalisation of each channel over the batch (and the positions), as
//! `torch.nn.BatchNorm1d(C)` on `[N, C]` and `[N, C, L]` and `torch.nn.BatchNorm2d(C)` on
//! `[N, C, H, W]`.
//!
//! Two kernels: `[N, C]` (one position per channel) runs its lanes across the channels of
//! each row, below; `[N, C, L]` and `[N, C, H, W]` (`P > 1` positions) run theirs along the
//! positions of each channel, in [`positions`].

mod positions;

use super::{check_eps, check_grads, ld_or, per_lane, present, rstd, Backward, Forward};
use crate::error::{check_len, check_nonzero, Error};
use crate::layer::{Grads, Layer, Mode, Params, Pass, Shape, Tape};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{
    add_at_in, dispatch, load_at_in as ld, store_at_in as st, Float8, Lanes, WithLanes, LANES,
};
use crate::Result;

/// Batch normalisation of each channel over the batch: torch's `nn.BatchNorm1d(C, eps=1e-5,
/// momentum=0.1, affine=True, track_running_stats=True)` on `[N, C]` ([`Shape::Features`]) and
/// on `[N, C, L]` ([`Shape::Sequence`]), and `nn.BatchNorm2d(C, …)` on `[N, C, H, W]`
/// ([`Shape::Image`]), row-major (`NCL`, `NCHW`).
///
/// `BatchNorm` is a [`Layer`]. Each channel `c` has `N·P` values, `P` its positions in a sample
/// ([`Shape::positions`]: 1, `L` or `H·W`): `x[n][c][p]`, i.e. `N` runs of `P` contiguous
/// floats. **Training** ([`Mode::Train`]), per channel `c`, with the sums over `n` and `p`:
///
/// `mean = Σ x / (N·P)`, `var = Σ (x − mean)² / (N·P)` (biased),
/// `x̂ = (x − mean)/√(var + eps)`, `y = x̂·weight[c] + bias[c]`,
///
/// and, with `track_running_stats`, the running statistics move towards the batch's, with the
/// **unbiased** variance `Σ (x − mean)² / (N·P − 1)`:
///
/// `running_mean = (1 − m)·running_mean + m·mean`,
/// `running_var = (1 − m)·running_var + m·var_unbiased`,
///
/// where `m = momentum`, or `1/num_batches_tracked` (a cumulative moving average) when
/// `momentum` is `None`; `num_batches_tracked` is incremented first, on every training call
/// that tracks statistics (as torch's buffer).
///
/// **Evaluation** ([`Mode::Eval`]) uses the running statistics:
/// `y = (x − running_mean)/√(running_var + eps)·weight + bias`; without
/// `track_running_stats` torch normalises with the batch's statistics in evaluation too, and
/// so does this.
///
/// **Backward**, with `g = dy·weight` and the sums and means over the `N·P` values of each
/// channel: after a training forward ([`Pass::Train`]) `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`;
/// after an evaluation forward with running statistics ([`Pass::Eval`], the affine map of the
/// fixed statistics) `dx = g·rstd`; both `dweight += Σ dy·x̂`, `dbias += Σ dy` (accumulated).
///
/// **Buffers** ([`buffer_len`](Layer::buffer_len) floats, with `track_running_stats`):
/// `running_mean` (`C` floats, torch's initial value 0), `running_var` (`C`, initial 1), then
/// `num_batches_tracked` as one float (initial 0; exact up to 2²⁴ batches). **Saved** for
/// backward ([`saved_len`](Layer::saved_len), `2·C` floats, whatever the shape): per channel
/// the batch mean relative to the channel's first value `x[0][c][0]`, then `rstd`.
///
/// Training needs more than one value per channel: torch raises "Expected more than 1 value
/// per channel when training" when `N·P = 1`, this returns [`Error::ZeroDimension`] naming
/// `"batch - 1"` (the unbiased variance divides by `N·P − 1`; with `P ≥ 1` that is one sample
/// of one position); an empty batch is [`Error::ZeroDimension`] (`"batch"`).
///
/// `[N, C]` (and any shape with `P = 1`: `[N, C, 1]`, `[N, C, 1, 1]`, the same bits) runs its
/// lanes across the channels of a row and sums down the batch in `f32` lanes. `P > 1` runs
/// the lanes along each channel's positions, and every sum over a channel (the mean, the
/// centred sum of squares, `Σ dy`, `Σ dy·x̂`) is the crate's blocked `f32` → `f64` reduction,
/// whose error stays within `35·u` of the sum of the terms' magnitudes whatever `N·P` is
/// (`u = 2⁻²⁴`); the statistics are pivoted as the [module](crate::norm) describes.
///
/// ```
/// use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
/// use descent::norm::BatchNorm;
///
/// let bn = BatchNorm::new(2); // eps 1e-5, momentum Some(0.1), affine, running statistics
/// let input = Shape::Features(2);
/// let x = [1.0, 10.0, 3.0, 20.0]; // [batch = 2, features = 2]
/// let (weight, bias) = ([1.0; 2], [0.0; 2]);
/// let mut buffers = [0.0, 0.0, 1.0, 1.0, 0.0]; // running_mean, running_var, batches
/// let mut saved = [0.0; 4];
/// let mut y = [0.0; 4];
/// let mode = Mode::Train { buffers: &mut buffers, saved: &mut saved, rng: None };
/// bn.forward(input, mode, Params::new(&weight, &bias), &x, &mut y)?;
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[3] - 1.0).abs() < 1e-6);
/// assert!((buffers[1] - 1.5).abs() < 1e-6); // running_mean: 0.9·0 + 0.1·15
/// assert!((buffers[3] - 5.9).abs() < 1e-5); // running_var: 0.9·1 + 0.1·50 (unbiased)
/// assert_eq!(buffers[4], 1.0); // num_batches_tracked
///
/// let dy = [1.0, 1.0, 0.0, 0.0];
/// let (mut dx, mut dw, mut db) = ([0.0; 4], [0.0; 2], [0.0; 2]);
/// let tape = Tape::train(&x, &y, &saved);
/// let grads = Grads::new(&mut dw, &mut db);
/// bn.backward(input, Params::new(&weight, &bias), tape, &dy, Some(&mut dx), grads)?;
/// assert_eq!(db, [1.0, 1.0]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// `nn.BatchNorm2d(1)` on `[2, 1, 1, 2]`: the channel's four values `1, 3, 5, 7` have mean 4,
/// biased variance 5 and unbiased variance 20/3.
///
/// ```
/// use descent::layer::{Layer, Mode, Params, Shape};
/// use descent::norm::BatchNorm;
///
/// let bn = BatchNorm::new(1);
/// let input = Shape::Image { channels: 1, height: 1, width: 2 };
/// let x = [1.0, 3.0, 5.0, 7.0]; // two samples of [1, 1, 2]
/// let mut buffers = [0.0, 1.0, 0.0];
/// let (mut saved, mut y) = ([0.0; 2], [0.0; 4]);
/// let mode = Mode::Train { buffers: &mut buffers, saved: &mut saved, rng: None };
/// bn.forward(input, mode, Params::new(&[1.0], &[0.0]), &x, &mut y)?;
/// assert!((y[0] + 3.0 / (5.0f32 + 1e-5).sqrt()).abs() < 1e-6);
/// assert!((buffers[0] - 0.4).abs() < 1e-6); // running_mean: 0.1·4
/// assert!((buffers[1] - (0.9 + 0.1 * 20.0 / 3.0)).abs() < 1e-6); // running_var
/// # Ok::<(), descent::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm {
    /// The number of channels `C` (torch's `num_features`): dimension 1 of `[N, C]`,
    /// `[N, C, L]` and `[N, C, H, W]`.
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

/// The running statistics a training forward updates.
struct Running<'r> {
    mean: &'r mut [f32],
    var: &'r mut [f32],
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

    /// The length of the buffers: `2·features + 1` (`running_mean`, `running_var`,
    /// `num_batches_tracked`), or 0 without `track_running_stats`.
    pub const fn buffer_len(&self) -> usize {
        if self.track_running_stats {
            self.features.saturating_mul(2).saturating_add(1)
        } else {
            0
        }
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

    /// Checks the hyper-parameters, the input shape, `x`, `weight`, `bias` and the buffers;
    /// the batch `N` (the samples of `x`).
    fn rows(&self, input: Shape, x: &[f32], params: Params<'_>, buffers: usize) -> Result<usize> {
        self.validate()?;
        self.output_shape(input)?;
        let rows = input.batch_of("x", x.len())?;
        check_len("weight", params.weight.len(), self.weight_len())?;
        check_len("bias", params.bias.len(), self.weight_len())?;
        check_len("buffers", buffers, self.buffer_len())?;
        Ok(rows)
    }

    /// Normalising with the batch's own statistics needs at least two values per channel:
    /// `N·P ≥ 2` for `N` samples of `P` positions (`P ≥ 1` after [`Layer::output_shape`], so
    /// `N·P = 1` only for one sample of one position).
    fn check_batch(rows: usize, positions: usize) -> Result<()> {
        match rows.saturating_mul(positions) {
            0 => Err(Error::ZeroDimension { what: "batch" }),
            1 => Err(Error::ZeroDimension { what: "batch - 1" }),
            _ => Ok(()),
        }
    }
}

impl Layer for BatchNorm {
    /// The input's shape: `[C]`, `[C, L]` or `[C, H, W]` with `C = features` channels and at
    /// least one position.
    ///
    /// # Errors
    /// [`ZeroDimension`](Error::ZeroDimension) naming `"num_features"` (no channels) or
    /// `"input"` (no positions), [`LengthMismatch`](Error::LengthMismatch) naming `"input"`
    /// (another channel count), [`DimensionOverflow`](Error::DimensionOverflow) naming
    /// `"input"` (a sample of more than `usize::MAX` floats).
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        check_nonzero("num_features", self.features)?;
        check_len("input", input.channels(), self.features)?;
        // A sample holds `C·P` floats: not none (`P = 0`), and not more than a `usize` counts.
        input.batch_of("input", 0)?;
        Ok(input)
    }

    fn weight_len(&self) -> usize {
        BatchNorm::weight_len(self)
    }

    fn bias_len(&self) -> usize {
        BatchNorm::weight_len(self)
    }

    fn buffer_len(&self) -> usize {
        BatchNorm::buffer_len(self)
    }

    /// `2·features`, whatever the shape and the batch: per channel the batch mean relative to
    /// the channel's first value, then `rstd`.
    fn saved_len(&self, _input: Shape, _batch: usize) -> usize {
        self.features.saturating_mul(2)
    }

    /// Training normalises with the batch's statistics, saves them, and updates the running
    /// statistics in `buffers` (with `track_running_stats`); evaluation normalises with the
    /// running statistics, or without `track_running_stats` with the batch's.
    ///
    /// # Errors
    /// [`InvalidHyperParameter`](Error::InvalidHyperParameter) (`"eps"`, `"momentum"`),
    /// [`ZeroDimension`](Error::ZeroDimension) (`"num_features"`, `"input"` for no
    /// positions, `"batch"`, `"batch - 1"`),
    /// [`DimensionOverflow`](Error::DimensionOverflow) (`"input"`),
    /// [`LengthMismatch`](Error::LengthMismatch) naming `"input"` (another channel count),
    /// `"x"` (not whole samples), `"weight"`, `"bias"`, `"buffers"`, `"y"` or `"saved"`.
    /// Nothing is written on error.
    fn forward(
        &self,
        input: Shape,
        mode: Mode<'_>,
        params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        let buffers = match &mode {
            Mode::Eval { buffers } => buffers.len(),
            Mode::Train { buffers, .. } => buffers.len(),
        };
        let rows = self.rows(input, x, params, buffers)?;
        check_len("y", y.len(), x.len())?;
        let (c, p) = (self.features, input.positions());
        let stats = match mode {
            Mode::Train { buffers, saved, .. } => {
                check_len("saved", saved.len(), c.saturating_mul(2))?;
                Self::check_batch(rows, p)?;
                let (deltas, rstds) = saved.split_at_mut(c.min(saved.len()));
                let (mean, rest) = buffers.split_at_mut(c.min(buffers.len()));
                let (var, count) = rest.split_at_mut(c.min(rest.len()));
                // The running average's weight: torch increments the counter first.
                let (running, factor) = match count.first_mut() {
                    Some(n) => {
                        *n += 1.0;
                        let factor = match self.momentum {
                            Some(m) => f64::from(m),
                            None => 1.0 / f64::from(*n),
                        };
                        (Some(Running { mean, var }), factor)
                    }
                    None => (None, 0.0),
                };
                ForwardStats::Train {
                    running,
                    factor,
                    deltas,
                    rstds,
                }
            }
            // `track_running_stats` decides, as in torch: without it there are no buffers and
            // the batch's own statistics are used.
            Mode::Eval { buffers } if self.track_running_stats => {
                let (mean, var) = buffers.split_at(c.min(buffers.len()));
                ForwardStats::Running {
                    mean,
                    var: var.get(..c).unwrap_or(&[]),
                }
            }
            Mode::Eval { .. } => {
                Self::check_batch(rows, p)?;
                ForwardStats::Batch
            }
        };
        let args = Forward {
            x,
            weight: present(params.weight),
            bias: present(params.bias),
            y,
            rows,
            features: c,
            eps: self.eps,
        };
        if p == 1 {
            dispatch(BnForward { args, stats });
        } else {
            dispatch(positions::PositionsForward {
                args,
                positions: p,
                stats,
            });
        }
        Ok(())
    }

    /// From the tape's `x`, per channel over the batch and the positions, for the upstream
    /// gradient `dy`:
    ///
    /// * after a training forward, from its saved statistics:
    ///   `dx = rstd·(g − mean(g) − x̂·mean(g·x̂))`, `g = dy·weight`;
    /// * after an evaluation forward, with the running statistics of its buffers held fixed:
    ///   `dx = dy·weight·rstd`, `rstd = 1/√(running_var + eps)`;
    /// * `dweight += Σ dy·x̂`, `dbias += Σ dy` (accumulated).
    ///
    /// Without `track_running_stats` evaluation uses the batch's statistics: differentiate a
    /// training forward then (it updates nothing without running statistics); an evaluation
    /// tape returns [`InvalidHyperParameter`](Error::InvalidHyperParameter)
    /// (`"track_running_stats"`).
    ///
    /// # Errors
    /// As [`forward`](Layer::forward), with `"saved"` or `"buffers"` for the tape's, `"dy"`,
    /// `"dx"`, `"dweight"`, `"dbias"`. Nothing is written on error.
    fn backward(
        &self,
        input: Shape,
        params: Params<'_>,
        tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Grads<'_>,
    ) -> Result<()> {
        let (x, c, p) = (tape.x, self.features, input.positions());
        let stats = match tape.pass {
            Pass::Train { saved } => {
                let rows = self.rows(input, x, params, self.buffer_len())?;
                check_len("saved", saved.len(), c.saturating_mul(2))?;
                Self::check_batch(rows, p)?;
                let (deltas, rstds) = saved.split_at(c.min(saved.len()));
                (rows, BackwardStats::Saved { deltas, rstds })
            }
            Pass::Eval { buffers } => {
                if !self.track_running_stats {
                    return Err(Error::InvalidHyperParameter {
                        what: "track_running_stats",
                    });
                }
                let rows = self.rows(input, x, params, buffers.len())?;
                let (mean, var) = buffers.split_at(c.min(buffers.len()));
                let var = var.get(..c).unwrap_or(&[]);
                let eps = self.eps;
                (rows, BackwardStats::Running { mean, var, eps })
            }
        };
        let (rows, stats) = stats;
        let w = self.weight_len();
        check_grads(x, dy, dx.as_deref(), &grads, (w, w))?;
        let args = Backward {
            x,
            weight: present(params.weight),
            dy,
            dx,
            dweight: grads.weight,
            dbias: grads.bias,
            rows,
            features: c,
        };
        if p == 1 {
            dispatch(BnBackward { args, stats });
        } else {
            dispatch(positions::PositionsBackward {
                args,
                positions: p,
                stats,
            });
        }
        Ok(())
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
        running: Option<Running<'r>>,
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
    /// The batch's, as a training forward saved them.
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
            mut dx,
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
                    if let Some(dx) = dx.as_deref_mut() {
                        let rows = by_rows(x, c).zip(by_rows(dy, c)).zip(by_rows_mut(dx, c));
                        for ((xr, dyr), dxr) in rows {
                            let xhat = ((ld(l, xr, j) - pivot) - delta) * r;
                            st(dxr, j, rw * ((ld(l, dyr, j) - mg) - xhat * mgx));
                        }
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
                    if let Some(dx) = dx.as_deref_mut() {
                        for (dyr, dxr) in by_rows(dy, c).zip(by_rows_mut(dx, c)) {
                            st(dxr, j, ld(l, dyr, j) * rw);
                        }
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
