//! Softmax cross-entropy on logits, with class-index or probability targets.
//!
//! Per row of `C` logits `x`, with `m = max_c x_c`, `z_c = x_c − m ≤ 0` and
//! `S = Σ_c e^{z_c} ∈ [1, C]`: `log p_c = z_c − ln S`, so `−log p_c = ln S − z_c ≥ 0` is a
//! sum of non-negative terms for any logits (no overflow, no cancellation), and
//! `p_c = e^{z_c} / S`.

use super::{check_class_targets, check_label_smoothing, Reduction};
use crate::error::{check_len, check_nonzero};
use crate::rows::{by_rows, by_rows_mut};
use crate::simd::math::exp_lanes_shared;
use crate::simd::{
    dispatch, load_partial_in, map_inplace_in, max_in, store_partial_in, zip_map_inplace_in,
    BlockSum, Float8, Lanes, WithLanes, LANES,
};
use crate::{Error, Result};

/// Cross-entropy with class-index targets, torch's
/// `F.cross_entropy(logits, target, label_smoothing=ε, reduction=…)` (no class weights, no
/// `ignore_index`).
///
/// `logits` is `[B, classes]` row-major with `B = target.len()`. Per sample `b`, with
/// `p = softmax(logits[b])`, target `y = target[b]` and `C = classes`:
///
/// `ℓ_b = (1 − ε)·(−ln p_y) + ε · (1/C)·Σ_c (−ln p_c)`,
///
/// which is the cross-entropy against the smoothed distribution `q' = (1 − ε)·onehot(y) + ε/C`.
/// `loss = s · Σ_b ℓ_b` with `s = 1/B` (mean, over the batch only, not `B·C`) or `1` (sum).
/// The gradient is `grad[b, c] = s · (p_c − q'_c)`: each row sums to zero.
///
/// The log-sum-exp subtracts the row maximum, so logits of any magnitude (±1e4 and beyond)
/// give a finite loss and gradient.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"label_smoothing"`) unless `0 ≤ ε ≤ 1`;
/// [`Error::ZeroDimension`] when `classes` (`"classes"`) or `B` (`"batch"`) is zero;
/// [`Error::DimensionOverflow`] (`"logits"`) when `B·classes` overflows;
/// [`Error::LengthMismatch`] when `logits` (`"logits"`) or `grad` (`"grad"`) is not
/// `B·classes` long; [`Error::ClassOutOfRange`] for the first `target[b] ≥ classes`. Nothing
/// is written on error.
pub fn cross_entropy(
    logits: &[f32],
    target: &[usize],
    classes: usize,
    label_smoothing: f32,
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    check_label_smoothing(label_smoothing)?;
    check_class_targets("logits", logits, target, classes, grad.as_deref())?;
    let b = target.len();
    let scale = reduction.grad_scale(b);
    let total = dispatch(Ce {
        logits,
        target,
        classes,
        label_smoothing,
        scale,
        grad,
    });
    Ok(reduction.finish(total, b))
}

/// Cross-entropy with class-index targets on the lanes `l`: the total loss.
#[inline(always)]
fn class_targets_in<L: Lanes>(l: L, k: Ce<'_, &[usize]>) -> f64 {
    let Ce {
        logits,
        target,
        classes,
        label_smoothing,
        scale,
        grad,
    } = k;
    let w = Smoothing::new(label_smoothing, classes);
    if classes <= SMALL_CLASSES {
        return small_rows(l, logits, classes, grad, |sample, row, m, e, write| {
            let y = target.get(sample).copied().unwrap_or(usize::MAX);
            let r = RowSums {
                sum_exp: e.iter().sum(),
                sum_z: row.iter().map(|x| x - m).sum(),
            };
            let z_y = row.get(y).map_or(f32::NAN, |x| x - m);
            if write {
                let e_y = e.get(y).copied().unwrap_or(f32::NAN);
                let inv = 1.0 / r.sum_exp;
                for g in e.iter_mut() {
                    *g = (*g * inv - w.spread) * scale;
                }
                if let Some(gy) = e.get_mut(y) {
                    *gy = (e_y * inv - (w.spread + w.keep)) * scale;
                }
            }
            w.class_row_loss(&r, z_y)
        });
    }
    let rows = by_rows(logits, classes).zip(target);
    let mut total = 0.0f64;
    match grad {
        Some(g) => {
            for ((row, &y), g) in rows.zip(by_rows_mut(g, classes)) {
                let m = max_in(l, row);
                let r = exp_row(l, row, m, Some(g));
                let z_y = row.get(y).map_or(f32::NAN, |x| x - m);
                total += f64::from(w.class_row_loss(&r, z_y));
                // `g` holds e^{z}; p = e^{z}/S, and the gradient is s·(p − q').
                let e_y = g.get(y).copied().unwrap_or(f32::NAN);
                let inv = 1.0 / r.sum_exp;
                let (vinv, vspread, vscale) = (l.splat(inv), l.splat(w.spread), l.splat(scale));
                map_inplace_in(
                    l,
                    g,
                    #[inline(always)]
                    |e| (e * vinv - vspread) * vscale,
                );
                if let Some(gy) = g.get_mut(y) {
                    *gy = (e_y * inv - (w.spread + w.keep)) * scale;
                }
            }
        }
        None => {
            for (row, &y) in rows {
                let m = max_in(l, row);
                let r = exp_row(l, row, m, None);
                let z_y = row.get(y).map_or(f32::NAN, |x| x - m);
                total += f64::from(w.class_row_loss(&r, z_y));
            }
        }
    }
    total
}

/// Cross-entropy with probability targets, torch's
/// `F.cross_entropy(logits, target, label_smoothing=ε, reduction=…)` where `target` has the
/// shape of `logits`.
///
/// `logits` and `target` are `[B, classes]` row-major (`B = logits.len() / classes`). Per
/// sample `b`, with `p = softmax(logits[b])`, `q = target[b]` and the smoothed target
/// `q'_c = (1 − ε)·q_c + ε/C`:
///
/// `ℓ_b = Σ_c q'_c·(−ln p_c)`, `loss = s · Σ_b ℓ_b` with `s = 1/B` (mean: torch divides by
/// the batch, **not** by `B·C`) or `1` (sum).
///
/// The gradient is `grad[b, c] = s · (p_c·Σ_k q'_k − q'_c)`; rows of `q` need not sum to one
/// (torch does not check it either), the `Σ q'` factor keeps the gradient exact then.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"label_smoothing"`) unless `0 ≤ ε ≤ 1`;
/// [`Error::ZeroDimension`] when `classes` (`"classes"`) or the batch (`"batch"`, an empty
/// `logits`) is zero; [`Error::LengthMismatch`] when `logits` is not a multiple of `classes`
/// (`"logits"`, expecting the multiple below, as every row-shaped check), or `target`
/// (`"target"`) or `grad` (`"grad"`) is not as long as `logits`. Nothing is written on error.
pub fn cross_entropy_probs(
    logits: &[f32],
    target: &[f32],
    classes: usize,
    label_smoothing: f32,
    grad: Option<&mut [f32]>,
    reduction: Reduction,
) -> Result<f32> {
    check_label_smoothing(label_smoothing)?;
    check_nonzero("classes", classes)?;
    check_nonzero("batch", logits.len())?;
    if !logits.len().is_multiple_of(classes) {
        return Err(Error::LengthMismatch {
            what: "logits",
            expected: logits.len() - logits.len().checked_rem(classes).unwrap_or(0),
            actual: logits.len(),
        });
    }
    check_len("target", target.len(), logits.len())?;
    if let Some(g) = grad.as_deref() {
        check_len("grad", g.len(), logits.len())?;
    }
    let b = logits.len() / classes;
    let scale = reduction.grad_scale(b);
    let total = dispatch(Ce {
        logits,
        target,
        classes,
        label_smoothing,
        scale,
        grad,
    });
    Ok(reduction.finish(total, b))
}

/// The kernel of a cross-entropy form, by its targets `T`: class indices (`&[usize]`) or
/// rows of probabilities (`&[f32]`); the total loss. Two kernel types, so a program that calls
/// one form links only its code.
struct Ce<'a, T> {
    logits: &'a [f32],
    target: T,
    classes: usize,
    label_smoothing: f32,
    scale: f32,
    grad: Option<&'a mut [f32]>,
}

impl WithLanes for Ce<'_, &[usize]> {
    type Output = f64;
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) -> f64 {
        class_targets_in(l, self)
    }
}

impl WithLanes for Ce<'_, &[f32]> {
    type Output = f64;
    #[inline(always)]
    fn run<L: Lanes>(self, l: L) -> f64 {
        probs_in(l, self)
    }
}

/// Cross-entropy with probability targets on the lanes `l`: the total loss.
#[inline(always)]
fn probs_in<L: Lanes>(l: L, k: Ce<'_, &[f32]>) -> f64 {
    let Ce {
        logits,
        target,
        classes,
        label_smoothing,
        scale,
        grad,
    } = k;
    let w = Smoothing::new(label_smoothing, classes);
    if classes <= SMALL_CLASSES {
        return small_rows(l, logits, classes, grad, |sample, row, m, e, write| {
            let start = sample * classes;
            let q = target.get(start..start + classes).unwrap_or(&[]);
            let r = ProbsRowSums {
                row: RowSums {
                    sum_exp: e.iter().sum(),
                    sum_z: row.iter().map(|x| x - m).sum(),
                },
                sum_qz: q.iter().zip(row).map(|(q, x)| q * (x - m)).sum(),
                sum_q: q.iter().sum(),
            };
            let (loss, sum_qs) = w.probs_row_loss(&r, label_smoothing);
            if write {
                let inv = sum_qs / r.row.sum_exp;
                for (g, q) in e.iter_mut().zip(q) {
                    *g = (*g * inv - (q * w.keep + w.spread)) * scale;
                }
            }
            loss
        });
    }
    let rows = by_rows(logits, classes).zip(by_rows(target, classes));
    let mut total = 0.0f64;
    match grad {
        Some(g) => {
            for ((row, q), g) in rows.zip(by_rows_mut(g, classes)) {
                let m = max_in(l, row);
                let r = exp_row_probs(l, row, q, m, Some(g));
                let (loss, sum_qs) = w.probs_row_loss(&r, label_smoothing);
                total += f64::from(loss);
                let (vinv, vkeep, vspread, vscale) = (
                    l.splat(sum_qs / r.row.sum_exp),
                    l.splat(w.keep),
                    l.splat(w.spread),
                    l.splat(scale),
                );
                zip_map_inplace_in(
                    l,
                    q,
                    g,
                    #[inline(always)]
                    |q, e| (e * vinv - (q * vkeep + vspread)) * vscale,
                );
            }
        }
        None => {
            for (row, q) in rows {
                let m = max_in(l, row);
                let r = exp_row_probs(l, row, q, m, None);
                total += f64::from(w.probs_row_loss(&r, label_smoothing).0);
            }
        }
    }
    total
}

/// Rows of at most this many classes take [`small_rows`]: one vector pass of `exp` over many
/// rows at once instead of a padded vector tail per row. Its per-row sums are sequential, of
/// at most 16 terms: no less accurate than the lane sums of longer rows.
const SMALL_CLASSES: usize = 16;

/// Scratch for [`small_rows`] when there is no gradient buffer to work in: 512 bytes of stack.
const SCRATCH: usize = 128;

/// Softmax rows of few classes, batched: writes `z = x − max(row)` for many rows into a buffer
/// (`grad` itself when given, else a stack scratch, a group of rows at a time), exponentiates
/// the whole buffer in one `exp` pass on the lanes `l`, then calls
/// `finish(sample, row, max, e_row, write_grad)` for each row, which returns the row's loss
/// and, when `write_grad`, turns `e_row` into the row's gradient. Returns the sum of the row
/// losses.
#[inline(always)]
fn small_rows<L: Lanes>(
    l: L,
    logits: &[f32],
    classes: usize,
    grad: Option<&mut [f32]>,
    mut finish: impl FnMut(usize, &[f32], f32, &mut [f32], bool) -> f32,
) -> f64 {
    match grad {
        Some(g) => small_group(l, classes, 0, logits, g, true, &mut finish),
        None => {
            let mut scratch = [0.0f32; SCRATCH];
            // Checked arithmetic: the caller has checked `classes > 0`, but this code must not
            // rely on the compiler seeing it (no division or `chunks(0)` that could panic).
            let rows_per_group = SCRATCH.checked_div(classes).unwrap_or(1).max(1);
            let group = rows_per_group.saturating_mul(classes).max(1);
            let mut total = 0.0f64;
            for (i, chunk) in logits.chunks(group).enumerate() {
                if let Some(buf) = scratch.get_mut(..chunk.len()) {
                    let first = i * rows_per_group;
                    total += small_group(l, classes, first, chunk, buf, false, &mut finish);
                }
            }
            total
        }
    }
}

/// One group of [`small_rows`]: the rows of `logits` from sample `first` on, exponentiated in
/// `buf` (as long as `logits`); returns the sum of their losses.
#[inline(always)]
fn small_group<L: Lanes>(
    l: L,
    classes: usize,
    first: usize,
    logits: &[f32],
    buf: &mut [f32],
    write: bool,
    finish: &mut impl FnMut(usize, &[f32], f32, &mut [f32], bool) -> f32,
) -> f64 {
    for (row, z) in by_rows(logits, classes).zip(by_rows_mut(buf, classes)) {
        let m = row_max(row);
        for (z, x) in z.iter_mut().zip(row) {
            *z = x - m;
        }
    }
    map_inplace_in(
        l,
        buf,
        #[inline(always)]
        |v| exp_lanes_shared(l, v),
    );
    let mut total = 0.0f64;
    let rows = by_rows(logits, classes).zip(by_rows_mut(buf, classes));
    for (i, (row, e)) in rows.enumerate() {
        total += f64::from(finish(first + i, row, row_max(row), e, write));
    }
    total
}

/// The maximum of a short row, NaN if any element is NaN (as [`max_in`]).
#[inline(always)]
fn row_max(row: &[f32]) -> f32 {
    row.iter().fold(
        f32::NEG_INFINITY,
        |m, &x| {
            if x > m || x.is_nan() {
                x
            } else {
                m
            }
        },
    )
}

/// The label-smoothing weights: `q' = keep·q + spread`.
struct Smoothing {
    /// `1 − ε`.
    keep: f32,
    /// `ε / C`.
    spread: f32,
}

impl Smoothing {
    fn new(label_smoothing: f32, classes: usize) -> Self {
        let eps = f64::from(label_smoothing);
        Smoothing {
            keep: (1.0 - eps) as f32,
            spread: (eps / classes as f64) as f32,
        }
    }

    /// `(1 − ε)·(ln S − z_y) + (ε/C)·Σ_c (ln S − z_c)
    ///  = ln S − (1 − ε)·z_y − (ε/C)·Σ_c z_c`: three non-negative terms.
    #[inline]
    fn class_row_loss(&self, r: &RowSums, z_y: f32) -> f32 {
        libm::logf(r.sum_exp) - self.keep * z_y - self.spread * r.sum_z
    }

    /// `Σ_c q'_c·(ln S − z_c) = ln S·Σq' − (1 − ε)·Σ q·z − (ε/C)·Σ z`, and `Σq'`.
    /// For non-negative targets every term is non-negative.
    #[inline]
    fn probs_row_loss(&self, r: &ProbsRowSums, label_smoothing: f32) -> (f32, f32) {
        let sum_qs = self.keep * r.sum_q + label_smoothing;
        let loss =
            libm::logf(r.row.sum_exp) * sum_qs - self.keep * r.sum_qz - self.spread * r.row.sum_z;
        (loss, sum_qs)
    }
}

/// Sums over one row: `S = Σ e^{z}` and `Σ z`, with `z = x − m`.
struct RowSums {
    sum_exp: f32,
    sum_z: f32,
}

/// [`RowSums`] plus `Σ q·z` and `Σ q` for probability targets `q`.
struct ProbsRowSums {
    row: RowSums,
    sum_qz: f32,
    sum_q: f32,
}

/// One pass over a row: `z = x − m`, `e = e^{z}` (stored into `out` when given), their sums.
/// The tail is padded with `m` (so `z = 0`) and only its real lanes are summed and stored.
#[inline(always)]
fn exp_row<L: Lanes>(l: L, row: &[f32], m: f32, out: Option<&mut [f32]>) -> RowSums {
    let vm = l.splat(m);
    let (mut se, mut sz) = (BlockSum::new(l), BlockSum::new(l));
    let (rc, rt) = row.as_chunks::<LANES>();
    match out {
        Some(out) => {
            let (oc, ot) = out.as_chunks_mut::<LANES>();
            for (ra, oa) in rc.iter().zip(oc.iter_mut()) {
                let (z, e) = z_exp(l, l.load(ra), vm);
                se.add(e);
                sz.add(z);
                e.store(oa);
            }
            if !rt.is_empty() {
                let (z, e) = z_exp(l, load_partial_in(l, rt, m), vm);
                se.add_first(e, rt.len());
                sz.add_first(z, rt.len());
                store_partial_in(e, ot);
            }
        }
        None => {
            for ra in rc {
                let (z, e) = z_exp(l, l.load(ra), vm);
                se.add(e);
                sz.add(z);
            }
            if !rt.is_empty() {
                let (z, e) = z_exp(l, load_partial_in(l, rt, m), vm);
                se.add_first(e, rt.len());
                sz.add_first(z, rt.len());
            }
        }
    }
    RowSums {
        sum_exp: se.total_f32(),
        sum_z: sz.total_f32(),
    }
}

/// [`exp_row`] that also sums `q·z` and `q` over the row's targets `q`.
#[inline(always)]
fn exp_row_probs<L: Lanes>(
    l: L,
    row: &[f32],
    q: &[f32],
    m: f32,
    out: Option<&mut [f32]>,
) -> ProbsRowSums {
    let vm = l.splat(m);
    let mut sums = ProbsLaneSums::new(l);
    let (rc, rt) = row.as_chunks::<LANES>();
    let (qc, qt) = q.as_chunks::<LANES>();
    match out {
        Some(out) => {
            let (oc, ot) = out.as_chunks_mut::<LANES>();
            for ((ra, qa), oa) in rc.iter().zip(qc).zip(oc.iter_mut()) {
                sums.step(l.load(ra), l.load(qa), vm, LANES).store(oa);
            }
            if !rt.is_empty() {
                let x = load_partial_in(l, rt, m);
                let e = sums.step(x, load_partial_in(l, qt, 0.0), vm, rt.len());
                store_partial_in(e, ot);
            }
        }
        None => {
            for (ra, qa) in rc.iter().zip(qc) {
                sums.step(l.load(ra), l.load(qa), vm, LANES);
            }
            if !rt.is_empty() {
                let x = load_partial_in(l, rt, m);
                sums.step(x, load_partial_in(l, qt, 0.0), vm, rt.len());
            }
        }
    }
    ProbsRowSums {
        row: RowSums {
            sum_exp: sums.e.total_f32(),
            sum_z: sums.z.total_f32(),
        },
        sum_qz: sums.qz.total_f32(),
        sum_q: sums.q.total_f32(),
    }
}

/// `(z, e^{z})` with `z = x − m`.
#[inline(always)]
fn z_exp<L: Lanes>(l: L, x: L::F, vm: L::F) -> (L::F, L::F) {
    let z = x - vm;
    (z, exp_lanes_shared(l, z))
}

/// The four lane sums of [`exp_row_probs`].
struct ProbsLaneSums<L: Lanes> {
    l: L,
    e: BlockSum<L>,
    z: BlockSum<L>,
    qz: BlockSum<L>,
    q: BlockSum<L>,
}

impl<L: Lanes> ProbsLaneSums<L> {
    #[inline(always)]
    fn new(l: L) -> Self {
        ProbsLaneSums {
            l,
            e: BlockSum::new(l),
            z: BlockSum::new(l),
            qz: BlockSum::new(l),
            q: BlockSum::new(l),
        }
    }

    /// Adds the first `k` lanes of one vector of logits `x` and targets `q`; returns `e^{z}`.
    #[inline(always)]
    fn step(&mut self, x: L::F, q: L::F, vm: L::F, k: usize) -> L::F {
        let (z, e) = z_exp(self.l, x, vm);
        self.e.add_first(e, k);
        self.z.add_first(z, k);
        self.qz.add_first(q * z, k);
        self.q.add_first(q, k);
        e
    }
}
