//! The batch-norm kernels for `P > 1` positions per channel: `[N, C, L]` (`P = L`) and
//! `[N, C, H, W]` (`P = H·W`), where each channel is `N` contiguous runs of `P` floats
//! (`x[n][c][p]`). The lanes run along the positions of a run, the tail of each run through
//! the same lane code on a padded vector; one channel at a time.
//!
//! The statistics are those of the `[N, C]` kernel, over the `N·P` values of a channel: the
//! pivot is the channel's first value `x[0][c][0]`, `δ = mean(x − pivot)` and
//! `q = Σ ((x − pivot) − δ)²` in two passes, and backward's `Σ dy`, `Σ dy·x̂`. Every one of
//! these sums is the crate's blocked `f32` → `f64` reduction ([`BlockSum`]): eight `f32` lanes
//! within blocks of 256 values, the blocks added in `f64`, so its error stays within
//! `35·u·Σ|t|` whatever `N·P` is (a plain `f32` sum down a long channel would grow as
//! `N·P·u`). The means and the running statistics are formed in `f64` from those sums and
//! rounded once.

use super::{BackwardStats, ForwardStats};
use crate::norm::{rstd, Backward, Forward};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::{load_partial_in, map_in, zip_map_in, BlockSum, Float8, Lanes, WithLanes, LANES};

/// The forward kernel of every mode over `P > 1` positions.
pub(super) struct PositionsForward<'a, 'r> {
    pub(super) args: Forward<'a>,
    /// `P`, the positions of each channel of a sample.
    pub(super) positions: usize,
    pub(super) stats: ForwardStats<'a, 'r>,
}

/// The backward kernel of both tapes over `P > 1` positions.
pub(super) struct PositionsBackward<'a> {
    pub(super) args: Backward<'a>,
    /// `P`, the positions of each channel of a sample.
    pub(super) positions: usize,
    pub(super) stats: BackwardStats<'a>,
}

/// Where the runs of one channel sit: `x[n][j][..]` is `x[n·sample + j·p ..][..p]`.
#[derive(Clone, Copy)]
struct Channel {
    /// `C·P`, the floats of a sample.
    sample: usize,
    /// `P`.
    p: usize,
    /// `j·P`, the start of the channel's run within a sample.
    start: usize,
}

impl Channel {
    fn new(c: usize, p: usize, j: usize) -> Self {
        Channel {
            sample: c.saturating_mul(p),
            p,
            start: j.saturating_mul(p),
        }
    }

    /// The channel's `N` runs of `v`, one per sample.
    #[inline(always)]
    fn runs(self, v: &[f32]) -> impl Iterator<Item = &[f32]> {
        by_rows(v, self.sample).map(move |s| {
            s.get(self.start..)
                .and_then(|r| r.get(..self.p))
                .unwrap_or(&[])
        })
    }

    /// The channel's `N` runs of `v`, mutable.
    #[inline(always)]
    fn runs_mut(self, v: &mut [f32]) -> impl Iterator<Item = &mut [f32]> {
        by_rows_mut(v, self.sample).map(move |s| {
            s.get_mut(self.start..)
                .and_then(|r| r.get_mut(..self.p))
                .unwrap_or(&mut [])
        })
    }

    /// The channel's first value `x[0][j][0]`, the pivot of its statistics.
    #[inline(always)]
    fn pivot(self, x: &[f32]) -> f32 {
        x.get(self.start).copied().unwrap_or(0.0)
    }
}

/// Calls `f(v, k)` for each vector `v` of `run`, `k` its real lanes: eight, or fewer for the
/// tail, whose other lanes are `fill`.
#[inline(always)]
fn each_vector<L: Lanes>(l: L, run: &[f32], fill: f32, mut f: impl FnMut(L::F, usize)) {
    let (chunks, tail) = run.as_chunks::<LANES>();
    for a in chunks {
        f(l.load(a), LANES);
    }
    if !tail.is_empty() {
        f(load_partial_in(l, tail, fill), tail.len());
    }
}

/// Calls `f(a, b, k)` for each pair of vectors of `a` and `b` (their common length), `k` their
/// real lanes (the tail's others are zero).
#[inline(always)]
fn each_pair<L: Lanes>(l: L, a: &[f32], b: &[f32], mut f: impl FnMut(L::F, L::F, usize)) {
    let n = a.len().min(b.len());
    let (a, b) = (a.get(..n).unwrap_or(&[]), b.get(..n).unwrap_or(&[]));
    let (ac, at) = a.as_chunks::<LANES>();
    let (bc, bt) = b.as_chunks::<LANES>();
    for (aa, ba) in ac.iter().zip(bc) {
        f(l.load(aa), l.load(ba), LANES);
    }
    if !at.is_empty() {
        let (va, vb) = (load_partial_in(l, at, 0.0), load_partial_in(l, bt, 0.0));
        f(va, vb, at.len());
    }
}

/// One channel's batch statistics.
struct Moments {
    /// The channel's first value.
    pivot: f32,
    /// `mean − pivot`, rounded to `f32` (what `x̂` is formed with and what is saved).
    delta: f32,
    /// The mean, in `f64`: `pivot + Σ (x − pivot)/count`.
    mean: f64,
    /// `Σ ((x − pivot) − δ)²`, in `f64`.
    q: f64,
}

/// The statistics of the channel `ch` of `x` over its `count = N·P` values: two passes, each a
/// blocked sum; the tails' padded lanes hold the pivot (so `x − pivot` is 0 there) and are
/// left out of the sums.
#[inline(always)]
fn moments<L: Lanes>(l: L, x: &[f32], ch: Channel, count: f64) -> Moments {
    let p = ch.pivot(x);
    let pivot = l.splat(p);
    let mut s = BlockSum::new(l);
    for run in ch.runs(x) {
        each_vector(
            l,
            run,
            p,
            #[inline(always)]
            |v, k| s.add_first(v - pivot, k),
        );
    }
    let sum = s.total();
    let delta = (sum / count) as f32;
    let vd = l.splat(delta);
    let mut q = BlockSum::new(l);
    for run in ch.runs(x) {
        each_vector(
            l,
            run,
            p,
            #[inline(always)]
            |v, k| {
                let d = (v - pivot) - vd;
                q.add_first(d * d, k);
            },
        );
    }
    Moments {
        pivot: p,
        delta,
        mean: f64::from(p) + sum / count,
        q: q.total(),
    }
}

/// `y = shift(x)·rstd·weight + bias` over the runs of the channel `ch`; `shift` is a
/// subtraction or two (an inlined closure).
#[inline(always)]
fn normalize<L: Lanes>(
    l: L,
    (x, y): (&[f32], &mut [f32]),
    ch: Channel,
    (w, b, r): (f32, f32, f32),
    shift: impl Fn(L::F) -> L::F + Copy,
) {
    let (w, b, r) = (l.splat(w), l.splat(b), l.splat(r));
    for (xr, yr) in ch.runs(x).zip(ch.runs_mut(y)) {
        map_in(
            l,
            xr,
            yr,
            #[inline(always)]
            |v| (shift(v) * r).mul_add(w, b),
        );
    }
}

/// `(1 − f)·old + f·new` in `f64`, rounded once.
#[inline(always)]
fn blend(old: f32, new: f64, factor: f64) -> f32 {
    ((1.0 - factor) * f64::from(old) + factor * new) as f32
}

/// Element `j` of an optional per-channel slice, or `fill` when it is absent.
#[inline(always)]
fn at_or(s: Option<&[f32]>, j: usize, fill: f32) -> f32 {
    s.and_then(|s| s.get(j)).copied().unwrap_or(fill)
}

impl WithLanes for PositionsForward<'_, '_> {
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
        let p = self.positions;
        // N·P ≥ 2 values per channel wherever the batch statistics are used (checked).
        let count = rows.saturating_mul(p);
        let (n, n1) = (count as f64, count.saturating_sub(1) as f64);
        let affine = |j: usize| (at_or(weight, j, 1.0), at_or(bias, j, 0.0));
        match self.stats {
            ForwardStats::Train {
                mut running,
                factor,
                deltas,
                rstds,
            } => {
                let saved = deltas.iter_mut().zip(rstds.iter_mut());
                for (j, (saved_delta, saved_rstd)) in saved.enumerate() {
                    let ch = Channel::new(c, p, j);
                    let m = moments(l, x, ch, n);
                    let r = rstd(m.q / n, eps);
                    *saved_delta = m.delta;
                    *saved_rstd = r;
                    if let Some(run) = &mut running {
                        if let Some(v) = run.mean.get_mut(j) {
                            *v = blend(*v, m.mean, factor);
                        }
                        if let Some(v) = run.var.get_mut(j) {
                            *v = blend(*v, m.q / n1, factor);
                        }
                    }
                    let (pivot, vd) = (l.splat(m.pivot), l.splat(m.delta));
                    let (w, b) = affine(j);
                    normalize(
                        l,
                        (x, &mut *y),
                        ch,
                        (w, b, r),
                        #[inline(always)]
                        move |v| (v - pivot) - vd,
                    );
                }
            }
            ForwardStats::Batch => {
                for j in 0..c {
                    let ch = Channel::new(c, p, j);
                    let m = moments(l, x, ch, n);
                    let r = rstd(m.q / n, eps);
                    let (pivot, vd) = (l.splat(m.pivot), l.splat(m.delta));
                    let (w, b) = affine(j);
                    normalize(
                        l,
                        (x, &mut *y),
                        ch,
                        (w, b, r),
                        #[inline(always)]
                        move |v| (v - pivot) - vd,
                    );
                }
            }
            ForwardStats::Running { mean, var } => {
                for (j, (&mean, &var)) in mean.iter().zip(var).enumerate() {
                    let ch = Channel::new(c, p, j);
                    let r = rstd(f64::from(var), eps);
                    let mean = l.splat(mean);
                    let (w, b) = affine(j);
                    normalize(
                        l,
                        (x, &mut *y),
                        ch,
                        (w, b, r),
                        #[inline(always)]
                        move |v| v - mean,
                    );
                }
            }
        }
    }
}

impl WithLanes for PositionsBackward<'_> {
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
        let p = self.positions;
        let n = rows.saturating_mul(p) as f64;
        for j in 0..c {
            let ch = Channel::new(c, p, j);
            let w = at_or(weight, j, 1.0);
            // `x̂ = shift(x)·rstd` with this channel's statistics, and `rstd`.
            let (shift, r): (Shift, f32) = match self.stats {
                BackwardStats::Saved { deltas, rstds } => {
                    let pivot = ch.pivot(x);
                    let delta = deltas.get(j).copied().unwrap_or(0.0);
                    let r = rstds.get(j).copied().unwrap_or(0.0);
                    (Shift::Pivot { pivot, delta }, r)
                }
                BackwardStats::Running { mean, var, eps } => {
                    let m = mean.get(j).copied().unwrap_or(0.0);
                    let v = var.get(j).copied().unwrap_or(0.0);
                    (Shift::Mean(m), rstd(f64::from(v), eps))
                }
            };
            let vr = l.splat(r);
            let (sum_dy, sum_dy_xhat) = match shift {
                Shift::Pivot { pivot, delta } => {
                    let (pivot, vd) = (l.splat(pivot), l.splat(delta));
                    param_sums(
                        l,
                        (x, dy),
                        ch,
                        #[inline(always)]
                        move |v| ((v - pivot) - vd) * vr,
                    )
                }
                Shift::Mean(m) => {
                    let m = l.splat(m);
                    param_sums(
                        l,
                        (x, dy),
                        ch,
                        #[inline(always)]
                        move |v| (v - m) * vr,
                    )
                }
            };
            // Each gradient summed on its own, then added.
            if let Some(dw) = dweight.as_deref_mut().and_then(|d| d.get_mut(j)) {
                *dw += sum_dy_xhat as f32;
            }
            if let Some(db) = dbias.as_deref_mut().and_then(|d| d.get_mut(j)) {
                *db += sum_dy as f32;
            }
            let Some(dx) = dx.as_deref_mut() else {
                continue;
            };
            let rw = l.splat(r * w);
            match shift {
                Shift::Pivot { pivot, delta } => {
                    let (pivot, vd) = (l.splat(pivot), l.splat(delta));
                    let mg = l.splat((sum_dy / n) as f32);
                    let mgx = l.splat((sum_dy_xhat / n) as f32);
                    let runs = ch.runs(x).zip(ch.runs(dy)).zip(ch.runs_mut(dx));
                    for ((xr, dyr), dxr) in runs {
                        zip_map_in(
                            l,
                            xr,
                            dyr,
                            dxr,
                            #[inline(always)]
                            |v, d| {
                                let xhat = ((v - pivot) - vd) * vr;
                                rw * ((d - mg) - xhat * mgx)
                            },
                        );
                    }
                }
                Shift::Mean(_) => {
                    for (dyr, dxr) in ch.runs(dy).zip(ch.runs_mut(dx)) {
                        map_in(
                            l,
                            dyr,
                            dxr,
                            #[inline(always)]
                            |d| d * rw,
                        );
                    }
                }
            }
        }
    }
}

/// How backward forms `x̂` before its `rstd`: from a training forward's pivot and `δ`, or from
/// the running mean.
#[derive(Clone, Copy)]
enum Shift {
    Pivot { pivot: f32, delta: f32 },
    Mean(f32),
}

/// `(Σ dy, Σ dy·x̂)` over the channel `ch` of `(x, dy)`, with `x̂ = xhat(x)`: two blocked sums,
/// the tails' padded lanes left out.
#[inline(always)]
fn param_sums<L: Lanes>(
    l: L,
    (x, dy): (&[f32], &[f32]),
    ch: Channel,
    xhat: impl Fn(L::F) -> L::F,
) -> (f64, f64) {
    let (mut a, mut b) = (BlockSum::new(l), BlockSum::new(l));
    for (xr, dyr) in ch.runs(x).zip(ch.runs(dy)) {
        each_pair(
            l,
            xr,
            dyr,
            #[inline(always)]
            |v, d, k| {
                a.add_first(d, k);
                b.add_first(d * xhat(v), k);
            },
        );
    }
    (a.total(), b.total())
}
