//! Tests for `descent::loss`.
//!
//! * Every loss against a plain `f64` reference written from torch's formulas, at every length
//!   0..=70 (element-wise losses) or every class count 1..=70 and batch size 1..=70 (class
//!   losses), on unaligned sub-slices whose neighbours must stay untouched, on every available
//!   instruction set (`common::for_each_isa`).
//! * Gradients against central finite differences of the loss itself, for every loss and both
//!   reductions.
//! * Logits of ±100 and ±1e4, NaN and infinity propagation, every error variant (with the
//!   gradient untouched), and identities between the losses (label smoothing with class targets
//!   vs the equivalent probability targets, `pos_weight` broadcast vs spelled out, huber vs
//!   smooth L1, nll vs cross-entropy, mean vs sum).
//!
//! Tolerances are bounds derived from the arithmetic, in units of `U = 2⁻²⁴` (the unit
//! round-off of f32), assuming the contract of `descent::simd::math`: `exp`, `ln_1p` within
//! 4 ulp. Each is explained where it is defined.

use descent::loss::{self, Reduction};
use descent::Error;
mod common;
#[path = "reference/loss.rs"]
mod reference;

use common::for_each_isa;
use reference::{
    call, ce_reference, close, elem_reference, scale, smoothed_class_targets, smoothed_probs,
    CeRef, Kind, U,
};

/// What the gradient buffers hold outside the slice under test.
const SENTINEL: f32 = -1234.5;
const REDUCTIONS: [Reduction; 2] = [Reduction::Mean, Reduction::Sum];

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (64-bit LCG, top bits).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in `[0, 1)` with 24 random bits.
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f64 / (1u64 << 24) as f64
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f32 {
        (lo + (hi - lo) * self.unit()) as f32
    }

    /// Uniform in `[lo, hi]` on the grid of multiples of `2^-10`: adding a step `h = 2^-k`
    /// (k ≤ 10) to such a value is exact while it stays below 2^13.
    fn grid(&mut self, lo: f64, hi: f64) -> f32 {
        ((lo + (hi - lo) * self.unit()) * 1024.0).round() as f32 / 1024.0
    }

    fn index(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n - 1)
    }

    fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// Buffers holding `n` values at offset `off`, with 3 more after: the region under test is
/// `[off, off + n)`.
fn placed(values: &[f32], off: usize, fill: f32) -> Vec<f32> {
    let mut v = vec![fill; off + values.len() + 3];
    v[off..off + values.len()].copy_from_slice(values);
    v
}

fn assert_guards(buf: &[f32], off: usize, n: usize, what: &str) {
    for (i, v) in buf.iter().enumerate() {
        if i < off || i >= off + n {
            assert_eq!(v.to_bits(), SENTINEL.to_bits(), "{what}: guard {i} written");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Element-wise losses (the references and bounds are in `tests/reference/loss.rs`)
// ---------------------------------------------------------------------------------------------

fn assert_elementwise(
    what: &str,
    kind: Kind,
    x: &[f32],
    t: &[f32],
    pw: Option<&[f32]>,
    red: Reduction,
    (loss, grad): (f32, &[f32]),
) {
    let r = elem_reference(kind, x, t, pw, red);
    assert!(
        close(loss, r.loss, r.loss_tol),
        "{what}: loss {loss:e}, want {:e} ± {:e}",
        r.loss,
        r.loss_tol
    );
    for (i, g) in grad.iter().enumerate() {
        assert!(
            close(*g, r.grad[i], r.grad_tol[i]),
            "{what}: grad[{i}] = {g:e}, want {:e} ± {:e} (x {}, t {})",
            r.grad[i],
            r.grad_tol[i],
            x[i],
            t[i]
        );
    }
}

/// Targets for a kind: BCE in [0, 1] with some exact 0 and 1; regression around `x` with some
/// exact ties `t = x` (the subgradient point of l1).
fn targets(kind: Kind, x: &[f32], rng: &mut Rng) -> Vec<f32> {
    x.iter()
        .enumerate()
        .map(|(i, &xi)| match (kind, i % 7) {
            (Kind::Bce, 0) => 0.0,
            (Kind::Bce, 3) => 1.0,
            (Kind::Bce, _) => rng.uniform(0.0, 1.0),
            (_, 5) => xi,
            _ => rng.uniform(-3.0, 3.0),
        })
        .collect()
}

const KINDS: [Kind; 8] = [
    Kind::Mse,
    Kind::L1,
    Kind::Huber(1.0),
    Kind::Huber(0.35),
    Kind::SmoothL1(1.0),
    Kind::SmoothL1(0.6),
    Kind::SmoothL1(0.0),
    Kind::Bce,
];

// ---------------------------------------------------------------------------------------------
// Element-wise losses: tests
// ---------------------------------------------------------------------------------------------

#[test]
fn elementwise_match_f64_reference_at_every_length_and_offset() {
    for_each_isa(|_| elementwise_match_f64_reference_at_every_length_and_offset_once());
}

/// One instruction set of [`elementwise_match_f64_reference_at_every_length_and_offset`].
fn elementwise_match_f64_reference_at_every_length_and_offset_once() {
    let mut rng = Rng::new(1);
    for kind in KINDS {
        for n in 0..=70 {
            let x = rng.vec(n, -4.0, 4.0);
            let t = targets(kind, &x, &mut rng);
            for off in 0..=3 {
                let xb = placed(&x, off, 7.0);
                let tb = placed(&t, off, -7.0);
                let (xs, ts) = (&xb[off..off + n], &tb[off..off + n]);
                for red in REDUCTIONS {
                    let what = format!("{kind:?} n={n} off={off} {red:?}");
                    let mut gb = vec![SENTINEL; off + n + 3];
                    let got = call(kind, xs, ts, None, Some(&mut gb[off..off + n]), red);
                    if n == 0 {
                        assert_eq!(got, Err(Error::ZeroDimension { what: "input" }), "{what}");
                        assert_guards(&gb, off, 0, &what);
                        continue;
                    }
                    let l = got.unwrap();
                    assert_elementwise(&what, kind, xs, ts, None, red, (l, &gb[off..off + n]));
                    assert_guards(&gb, off, n, &what);
                    // Without a gradient: the very same loss.
                    let l2 = call(kind, xs, ts, None, None, red).unwrap();
                    assert_eq!(l.to_bits(), l2.to_bits(), "{what}: loss without grad");
                }
            }
        }
    }
}

#[test]
fn bce_pos_weight_matches_reference_for_every_row_length() {
    for_each_isa(|_| bce_pos_weight_matches_reference_for_every_row_length_once());
}

/// One instruction set of [`bce_pos_weight_matches_reference_for_every_row_length`].
fn bce_pos_weight_matches_reference_for_every_row_length_once() {
    let mut rng = Rng::new(2);
    for n in 1..=70usize {
        let x = rng.vec(n, -6.0, 6.0);
        let t = targets(Kind::Bce, &x, &mut rng);
        for c in (1..=n).filter(|c| n % c == 0 && (*c <= 9 || *c == n)) {
            let pw = rng.vec(c, 0.1, 4.0);
            for off in [0, 1, 3] {
                let xb = placed(&x, off, 0.0);
                let (xs, ts) = (&xb[off..off + n], &t[..]);
                for red in REDUCTIONS {
                    let what = format!("bce pos_weight n={n} C={c} off={off} {red:?}");
                    let mut gb = vec![SENTINEL; off + n + 3];
                    let l = loss::binary_cross_entropy_with_logits(
                        xs,
                        ts,
                        Some(&pw),
                        Some(&mut gb[off..off + n]),
                        red,
                    )
                    .unwrap();
                    assert_elementwise(
                        &what,
                        Kind::Bce,
                        xs,
                        ts,
                        Some(&pw),
                        red,
                        (l, &gb[off..off + n]),
                    );
                    assert_guards(&gb, off, n, &what);
                    let l2 = loss::binary_cross_entropy_with_logits(xs, ts, Some(&pw), None, red)
                        .unwrap();
                    assert_eq!(l.to_bits(), l2.to_bits(), "{what}: loss without grad");
                }
            }
        }
    }
}

#[test]
fn long_sums_keep_their_accuracy() {
    for_each_isa(|_| long_sums_keep_their_accuracy_once());
}

/// One instruction set of [`long_sums_keep_their_accuracy`].
fn long_sums_keep_their_accuracy_once() {
    // 2^20 terms: per-lane sequential f32 sums would err by up to n/8·U = 131072·U; the
    // blocked sum is bounded by 32U (a block) + 3U (horizontal) + 3U (element) + 2U
    // (f64 total, final rounding) = 40U of Σ|ℓ|, whatever n is.
    let n = 1 << 20;
    let mut rng = Rng::new(3);
    let x = rng.vec(n, -3.0, 3.0);
    let t = rng.vec(n, -3.0, 3.0);
    for (kind, red) in [(Kind::Mse, Reduction::Sum), (Kind::L1, Reduction::Mean)] {
        let l = call(kind, &x, &t, None, None, red).unwrap();
        let r = elem_reference(kind, &x, &t, None, red);
        let tol = 48.0 * U * r.loss.abs();
        assert!(
            close(l, r.loss, tol),
            "{kind:?}: {l:e} vs {:e} ± {tol:e}",
            r.loss
        );
    }
    let tb: Vec<f32> = t.iter().map(|v| (v.abs() / 3.0).min(1.0)).collect();
    let l = loss::binary_cross_entropy_with_logits(&x, &tb, None, None, Reduction::Sum).unwrap();
    let r = elem_reference(Kind::Bce, &x, &tb, None, Reduction::Sum);
    // The element bound of BCE is 16U instead of 8U.
    let tol = 56.0 * U * r.loss.abs();
    assert!(
        close(l, r.loss, tol),
        "bce: {l:e} vs {:e} ± {tol:e}",
        r.loss
    );
}

#[test]
fn bce_is_finite_and_accurate_for_huge_logits() {
    for_each_isa(|_| bce_is_finite_and_accurate_for_huge_logits_once());
}

/// One instruction set of [`bce_is_finite_and_accurate_for_huge_logits`].
fn bce_is_finite_and_accurate_for_huge_logits_once() {
    let xs = [
        100.0f32, -100.0, 1e4, -1e4, 88.0, -88.0, 20.0, -20.0, 1e-7, -1e-7, 0.0, -0.0, 1e30, -1e30,
    ];
    let ts = [0.0f32, 1.0, 0.3];
    let mut x = Vec::new();
    let mut t = Vec::new();
    for &xi in &xs {
        for &ti in &ts {
            x.push(xi);
            t.push(ti);
        }
    }
    let pw = [2.5f32, 0.5, 1.0];
    for pos_weight in [None, Some(&pw[..])] {
        for red in REDUCTIONS {
            let mut g = vec![0.0; x.len()];
            let l = loss::binary_cross_entropy_with_logits(&x, &t, pos_weight, Some(&mut g), red)
                .unwrap();
            assert!(l.is_finite(), "{l}");
            assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
            let what = format!("huge logits pos_weight={pos_weight:?} {red:?}");
            assert_elementwise(&what, Kind::Bce, &x, &t, pos_weight, red, (l, &g));
        }
    }
    // Saturated logits on the right side cost nothing and push nothing.
    let mut g = [9.0; 2];
    let l = loss::binary_cross_entropy_with_logits(
        &[1e4, -1e4],
        &[1.0, 0.0],
        None,
        Some(&mut g),
        Reduction::Sum,
    )
    .unwrap();
    assert_eq!(l, 0.0);
    assert_eq!(g, [0.0, 0.0]);
}

// ---------------------------------------------------------------------------------------------
// Class losses: reference and tolerances
// ---------------------------------------------------------------------------------------------

fn assert_ce(what: &str, r: &CeRef, loss: f32, grad: &[f32]) {
    assert!(
        close(loss, r.loss, r.loss_tol),
        "{what}: loss {loss:e}, want {:e} ± {:e}",
        r.loss,
        r.loss_tol
    );
    assert_eq!(grad.len(), r.grad.len());
    for (i, g) in grad.iter().enumerate() {
        assert!(
            close(*g, r.grad[i], r.grad_tol[i]),
            "{what}: grad[{i}] = {g:e}, want {:e} ± {:e}",
            r.grad[i],
            r.grad_tol[i]
        );
    }
}

/// Random probability rows (f32, each summing to about 1), with some exact zeros.
fn prob_rows(rng: &mut Rng, b: usize, c: usize) -> Vec<f32> {
    let mut q = Vec::with_capacity(b * c);
    for _ in 0..b {
        let raw: Vec<f64> = (0..c)
            .map(|i| if i % 4 == 1 { 0.0 } else { rng.unit() + 0.01 })
            .collect();
        let sum: f64 = raw.iter().sum::<f64>().max(1e-9);
        q.extend(raw.iter().map(|v| (v / sum) as f32));
    }
    q
}

/// Runs one class-loss evaluation on buffers placed at `off`, checks it against `r`, the
/// guards, and the loss without a gradient.
fn check_class_case(
    what: &str,
    off: usize,
    x: &[f32],
    r: &CeRef,
    f: impl Fn(&[f32], Option<&mut [f32]>) -> Result<f32, Error>,
) {
    let n = x.len();
    let xb = placed(x, off, 3.0);
    let xs = &xb[off..off + n];
    let mut gb = vec![SENTINEL; off + n + 3];
    let l = f(xs, Some(&mut gb[off..off + n])).unwrap();
    assert_ce(what, r, l, &gb[off..off + n]);
    assert_guards(&gb, off, n, what);
    let l2 = f(xs, None).unwrap();
    assert_eq!(l.to_bits(), l2.to_bits(), "{what}: loss without grad");
}

// ---------------------------------------------------------------------------------------------
// Class losses: tests
// ---------------------------------------------------------------------------------------------

#[test]
fn cross_entropy_matches_reference_for_every_class_count() {
    for_each_isa(|_| cross_entropy_matches_reference_for_every_class_count_once());
}

/// One instruction set of [`cross_entropy_matches_reference_for_every_class_count`].
fn cross_entropy_matches_reference_for_every_class_count_once() {
    let mut rng = Rng::new(4);
    for c in 1..=70 {
        for b in [1, 2, 3, 5] {
            let x = rng.vec(b * c, -8.0, 8.0);
            let target: Vec<usize> = (0..b).map(|_| rng.index(c)).collect();
            for eps in [0.0f32, 0.1, 1.0] {
                let qs = smoothed_class_targets(&target, c, eps);
                for red in REDUCTIONS {
                    let r = ce_reference(&x, &qs, c, red);
                    for off in [0, 1, 2, 3] {
                        let what = format!("ce C={c} B={b} eps={eps} {red:?} off={off}");
                        check_class_case(&what, off, &x, &r, |x, g| {
                            loss::cross_entropy(x, &target, c, eps, g, red)
                        });
                    }
                }
            }
        }
    }
}

#[test]
fn cross_entropy_matches_reference_for_every_batch_size() {
    for_each_isa(|_| cross_entropy_matches_reference_for_every_batch_size_once());
}

/// One instruction set of [`cross_entropy_matches_reference_for_every_batch_size`].
fn cross_entropy_matches_reference_for_every_batch_size_once() {
    let mut rng = Rng::new(5);
    for c in [1, 3, 10] {
        for b in 1..=70 {
            let x = rng.vec(b * c, -5.0, 5.0);
            let target: Vec<usize> = (0..b).map(|_| rng.index(c)).collect();
            let q = prob_rows(&mut rng, b, c);
            for red in REDUCTIONS {
                let eps = 0.05;
                let r = ce_reference(&x, &smoothed_class_targets(&target, c, eps), c, red);
                let what = format!("ce C={c} B={b} {red:?}");
                check_class_case(&what, 1, &x, &r, |x, g| {
                    loss::cross_entropy(x, &target, c, eps, g, red)
                });
                let r = ce_reference(&x, &smoothed_probs(&q, c, eps), c, red);
                let what = format!("ce probs C={c} B={b} {red:?}");
                check_class_case(&what, 3, &x, &r, |x, g| {
                    loss::cross_entropy_probs(x, &q, c, eps, g, red)
                });
            }
        }
    }
}

#[test]
fn cross_entropy_probs_matches_reference_for_every_class_count() {
    for_each_isa(|_| cross_entropy_probs_matches_reference_for_every_class_count_once());
}

/// One instruction set of [`cross_entropy_probs_matches_reference_for_every_class_count`].
fn cross_entropy_probs_matches_reference_for_every_class_count_once() {
    let mut rng = Rng::new(6);
    for c in 1..=70 {
        for b in [1, 2, 4] {
            let x = rng.vec(b * c, -8.0, 8.0);
            let mut q = prob_rows(&mut rng, b, c);
            if c > 2 {
                // Rows need not sum to one: the gradient's Σq' factor must follow.
                q[1] += 0.375;
            }
            for eps in [0.0f32, 0.25, 1.0] {
                let qs = smoothed_probs(&q, c, eps);
                for red in REDUCTIONS {
                    let r = ce_reference(&x, &qs, c, red);
                    for off in [0, 1, 3] {
                        let what = format!("ce probs C={c} B={b} eps={eps} {red:?} off={off}");
                        check_class_case(&what, off, &x, &r, |x, g| {
                            loss::cross_entropy_probs(x, &q, c, eps, g, red)
                        });
                    }
                }
            }
        }
    }
}

#[test]
fn nll_matches_reference_for_every_class_count() {
    let mut rng = Rng::new(7);
    for c in 1..=70 {
        for b in [1, 3, 8] {
            let x = rng.vec(b * c, -9.0, 0.0);
            let target: Vec<usize> = (0..b).map(|_| rng.index(c)).collect();
            for red in REDUCTIONS {
                let s = scale(red, b);
                let want: f64 = target
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| -(x[i * c + y] as f64))
                    .sum::<f64>()
                    * s;
                for off in [0, 2] {
                    let what = format!("nll C={c} B={b} {red:?} off={off}");
                    let xb = placed(&x, off, 1.0);
                    let mut gb = vec![SENTINEL; off + b * c + 3];
                    let l = loss::nll(
                        &xb[off..off + b * c],
                        &target,
                        c,
                        Some(&mut gb[off..off + b * c]),
                        red,
                    )
                    .unwrap();
                    // An f64 sum rounded once to f32.
                    assert!(
                        close(l, want, 2.0 * U * want.abs()),
                        "{what}: {l} vs {want}"
                    );
                    let gs = (s as f32, &gb[off..off + b * c]);
                    for (i, g) in gs.1.iter().enumerate() {
                        let want = if target[i / c] == i % c { -gs.0 } else { 0.0 };
                        assert_eq!(*g, want, "{what}: grad[{i}]");
                    }
                    assert_guards(&gb, off, b * c, &what);
                }
            }
        }
    }
}

#[test]
fn cross_entropy_is_finite_and_accurate_for_huge_logits() {
    for_each_isa(|_| cross_entropy_is_finite_and_accurate_for_huge_logits_once());
}

/// One instruction set of [`cross_entropy_is_finite_and_accurate_for_huge_logits`].
fn cross_entropy_is_finite_and_accurate_for_huge_logits_once() {
    let c = 7;
    let rows: [[f32; 7]; 5] = [
        [1e4, -1e4, 0.0, 5e3, -5e3, 1e4, 9999.0],
        [-1e4; 7],
        [1e4; 7],
        [100.0, -100.0, 99.5, 0.0, -50.0, 100.0, -99.0],
        [-100.0, -100.0, -100.0, -100.0, -100.0, -100.0, 100.0],
    ];
    let x: Vec<f32> = rows.iter().flatten().copied().collect();
    let target = [1usize, 3, 0, 1, 0];
    let q: Vec<f32> = (0..5 * c)
        .map(|i| if i % 3 == 0 { 0.5 } else { 0.1 })
        .collect();
    for eps in [0.0f32, 0.1] {
        for red in REDUCTIONS {
            let mut g = vec![0.0; x.len()];
            let l = loss::cross_entropy(&x, &target, c, eps, Some(&mut g), red).unwrap();
            assert!(l.is_finite() && g.iter().all(|v| v.is_finite()));
            let r = ce_reference(&x, &smoothed_class_targets(&target, c, eps), c, red);
            assert_ce(&format!("huge ce eps={eps} {red:?}"), &r, l, &g);

            let l = loss::cross_entropy_probs(&x, &q, c, eps, Some(&mut g), red).unwrap();
            assert!(l.is_finite() && g.iter().all(|v| v.is_finite()));
            let r = ce_reference(&x, &smoothed_probs(&q, c, eps), c, red);
            assert_ce(&format!("huge ce probs eps={eps} {red:?}"), &r, l, &g);
        }
    }
    // A confident right answer costs nothing; a confident wrong one costs the logit gap.
    let mut g = [0.0; 2];
    let l = loss::cross_entropy(&[1e4, -1e4], &[0], 2, 0.0, Some(&mut g), Reduction::Sum).unwrap();
    assert_eq!((l, g), (0.0, [0.0, 0.0]));
    let l = loss::cross_entropy(&[1e4, -1e4], &[1], 2, 0.0, Some(&mut g), Reduction::Sum).unwrap();
    assert_eq!((l, g), (2e4, [1.0, -1.0]));
}

// ---------------------------------------------------------------------------------------------
// Finite differences
// ---------------------------------------------------------------------------------------------

/// Checks `grad` against central differences `(f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h` of the f32 loss.
///
/// The inputs lie on a 2^-10 grid and `h` is a power of two, so `x ± h` is exact. The
/// difference quotient then errs by at most `(ε(x+h) + ε(x−h)) / 2h` (the loss's own rounding,
/// bounded by `loss_tol`, the same bound as against the f64 reference) plus the truncation
/// `h²/6·max|∂³ℓ/∂xᵢ³|` (`m3`, already scaled by the reduction), plus the analytic gradient's
/// own bound `grad_tol`.
fn fd_check(
    what: &str,
    x: &[f32],
    h: f32,
    m3: f64,
    f: impl Fn(&[f32], Option<&mut [f32]>) -> f32,
    loss_tol: impl Fn(&[f32]) -> f64,
    grad_tol: &[f64],
) {
    let mut g = vec![0.0; x.len()];
    f(x, Some(&mut g));
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        xp[i] = x[i] + h;
        assert_eq!((xp[i] - h), x[i], "step not exact");
        let lp = f(&xp, None) as f64;
        let ep = loss_tol(&xp);
        xp[i] = x[i] - h;
        let lm = f(&xp, None) as f64;
        let em = loss_tol(&xp);
        xp[i] = x[i];
        let fd = (lp - lm) / (2.0 * h as f64);
        let hd = h as f64;
        let tol = (ep + em) / (2.0 * hd) + hd * hd / 6.0 * m3 + grad_tol[i];
        assert!(
            (fd - g[i] as f64).abs() <= tol,
            "{what}: grad[{i}] = {:e}, finite difference {fd:e} ± {tol:e}",
            g[i]
        );
    }
}

#[test]
fn elementwise_gradients_match_finite_differences() {
    for_each_isa(|_| elementwise_gradients_match_finite_differences_once());
}

/// One instruction set of [`elementwise_gradients_match_finite_differences`].
fn elementwise_gradients_match_finite_differences_once() {
    // h = 2^-5; the regression losses are piecewise polynomials of degree ≤ 2, so away from
    // their kinks (|d| = 0, |d| = δ or β, kept more than 2h away) the central difference has
    // no truncation error (m3 = 0). BCE: ∂³ℓ/∂x³ = w·σ(1−σ)(1−2σ), |·| ≤ 0.1·w.
    let h = 1.0 / 32.0;
    let mut rng = Rng::new(8);
    for kind in KINDS {
        for n in [1, 2, 7, 13, 31] {
            let kink = match kind {
                Kind::Huber(d) | Kind::SmoothL1(d) => d as f64,
                _ => 0.0,
            };
            let x: Vec<f32> = (0..n).map(|_| rng.grid(-3.0, 3.0)).collect();
            let t: Vec<f32> = match kind {
                Kind::Bce => (0..n).map(|_| rng.grid(0.0, 1.0)).collect(),
                _ => x
                    .iter()
                    .map(|&xi| loop {
                        let d = rng.grid(-3.0, 3.0) as f64;
                        let far = |k: f64| (d.abs() - k).abs() > 2.0 * h as f64;
                        if far(0.0) && far(kink) {
                            break xi - d as f32;
                        }
                    })
                    .collect(),
            };
            let pws: Vec<Option<Vec<f32>>> = match kind {
                Kind::Bce => vec![None, Some(vec![0.5, 3.0, 1.0][..n.min(3)].to_vec())],
                _ => vec![None],
            };
            for pw in &pws {
                let pw = pw.as_deref().filter(|pw| n % pw.len() == 0);
                for red in REDUCTIONS {
                    let what = format!("fd {kind:?} n={n} pw={pw:?} {red:?}");
                    let r = elem_reference(kind, &x, &t, pw, red);
                    let wmax = pw.map_or(1.0, |p| p.iter().fold(1.0f32, |a, b| a.max(*b))) as f64;
                    let m3 = match kind {
                        Kind::Bce => 0.1 * wmax * scale(red, n),
                        _ => 0.0,
                    };
                    fd_check(
                        &what,
                        &x,
                        h,
                        m3,
                        |x, g| call(kind, x, &t, pw, g, red).unwrap(),
                        |x| elem_reference(kind, x, &t, pw, red).loss_tol,
                        &r.grad_tol,
                    );
                }
            }
        }
    }
}

#[test]
fn class_gradients_match_finite_differences() {
    // h = 2^-6; ∂³/∂xᵢ³ of Σq'·(ln S − z) is Σq'·p(1−p)(1−2p), |·| ≤ 0.1·Σq'; nll is linear.
    let h = 1.0 / 64.0;
    let mut rng = Rng::new(9);
    for (b, c) in [(1, 1), (1, 5), (2, 3), (3, 10), (4, 17)] {
        let x: Vec<f32> = (0..b * c).map(|_| rng.grid(-4.0, 4.0)).collect();
        let target: Vec<usize> = (0..b).map(|_| rng.index(c)).collect();
        let q = prob_rows(&mut rng, b, c);
        for red in REDUCTIONS {
            let s = scale(red, b);
            for eps in [0.0f32, 0.2] {
                let qs = smoothed_class_targets(&target, c, eps);
                let what = format!("fd ce B={b} C={c} eps={eps} {red:?}");
                fd_check(
                    &what,
                    &x,
                    h,
                    0.1 * s,
                    |x, g| loss::cross_entropy(x, &target, c, eps, g, red).unwrap(),
                    |x| ce_reference(x, &qs, c, red).loss_tol,
                    &ce_reference(&x, &qs, c, red).grad_tol,
                );
                let qs = smoothed_probs(&q, c, eps);
                let what = format!("fd ce probs B={b} C={c} eps={eps} {red:?}");
                fd_check(
                    &what,
                    &x,
                    h,
                    0.1 * s,
                    |x, g| loss::cross_entropy_probs(x, &q, c, eps, g, red).unwrap(),
                    |x| ce_reference(x, &qs, c, red).loss_tol,
                    &ce_reference(&x, &qs, c, red).grad_tol,
                );
            }
            let what = format!("fd nll B={b} C={c} {red:?}");
            fd_check(
                &what,
                &x,
                h,
                0.0,
                |x, g| loss::nll(x, &target, c, g, red).unwrap(),
                // An f64 sum of B values, rounded once.
                |x| 2.0 * U * s * x.iter().map(|v| v.abs() as f64).sum::<f64>(),
                &vec![0.0; b * c],
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Identities between losses, and special values
// ---------------------------------------------------------------------------------------------

#[test]
fn label_smoothing_with_class_targets_equals_the_smoothed_probability_targets() {
    // Two routes to the same number: the class path computes ln S − (1−ε)z_y − (ε/C)Σz, the
    // probability path ln S·Σq' − (1−ε)Σqz − (ε/C)Σz with a one-hot q. They differ by the
    // rounding of Σq' = (1−ε) + ε (≤ 2U) times ln S, and of the weights: bounded by
    // 4U·(1 + ℓ) per row for the loss and 4U·s·(p + q') per gradient element.
    let mut rng = Rng::new(10);
    for (b, c) in [(1, 1), (1, 9), (5, 4), (3, 33)] {
        let x = rng.vec(b * c, -6.0, 6.0);
        let target: Vec<usize> = (0..b).map(|_| rng.index(c)).collect();
        let mut onehot = vec![0.0f32; b * c];
        for (i, &y) in target.iter().enumerate() {
            onehot[i * c + y] = 1.0;
        }
        for eps in [0.0f32, 0.1, 0.5, 1.0] {
            for red in REDUCTIONS {
                let (mut g1, mut g2) = (vec![0.0; b * c], vec![0.0; b * c]);
                let l1 = loss::cross_entropy(&x, &target, c, eps, Some(&mut g1), red).unwrap();
                let l2 =
                    loss::cross_entropy_probs(&x, &onehot, c, eps, Some(&mut g2), red).unwrap();
                let s = scale(red, b);
                let tol = 4.0 * U * (b as f64 * s + l1.abs() as f64);
                assert!(
                    close(l1, l2 as f64, tol),
                    "B={b} C={c} eps={eps}: {l1} vs {l2}"
                );
                for (i, (a, bb)) in g1.iter().zip(&g2).enumerate() {
                    let tol = 4.0 * U * s * 2.0;
                    assert!(close(*a, *bb as f64, tol), "grad[{i}]: {a} vs {bb}");
                }
            }
        }
    }
}

#[test]
fn pos_weight_broadcasts_over_rows() {
    // pos_weight [C] over a [B, C] input equals the same weights spelled out for every
    // element: bit-identical gradients (the same lane arithmetic per element), losses equal up
    // to the summation order (the bound of the f64 reference comparison, twice).
    let mut rng = Rng::new(11);
    for (b, c) in [(1, 3), (4, 3), (3, 8), (5, 11), (2, 17)] {
        let x = rng.vec(b * c, -5.0, 5.0);
        let t = rng.vec(b * c, 0.0, 1.0);
        let pw = rng.vec(c, 0.2, 5.0);
        let full: Vec<f32> = (0..b * c).map(|i| pw[i % c]).collect();
        for red in REDUCTIONS {
            let (mut g1, mut g2) = (vec![0.0; b * c], vec![0.0; b * c]);
            let l1 = loss::binary_cross_entropy_with_logits(&x, &t, Some(&pw), Some(&mut g1), red)
                .unwrap();
            let l2 =
                loss::binary_cross_entropy_with_logits(&x, &t, Some(&full), Some(&mut g2), red)
                    .unwrap();
            assert_eq!(g1, g2, "B={b} C={c}");
            let r = elem_reference(Kind::Bce, &x, &t, Some(&pw), red);
            assert!(close(l1, l2 as f64, 2.0 * r.loss_tol), "{l1} vs {l2}");
            // Each row is weighted: scaling the weight of class 0 changes the gradient of
            // column 0 of every row where t > 0, and no other column.
            let mut pw3 = pw.clone();
            pw3[0] *= 3.0;
            let mut g3 = vec![0.0; b * c];
            loss::binary_cross_entropy_with_logits(&x, &t, Some(&pw3), Some(&mut g3), red).unwrap();
            for i in 0..b * c {
                if i % c == 0 && t[i] > 0.0 {
                    assert!(g3[i] < g1[i], "row {} of column 0 not reweighted", i / c);
                } else {
                    assert_eq!(g3[i], g1[i]);
                }
            }
        }
    }
    // All-ones weights are no weights at all.
    let x = [0.5f32, -2.0, 7.0, -0.25, 3.0];
    let t = [1.0f32, 0.0, 0.5, 1.0, 0.0];
    let (mut g1, mut g2) = ([0.0; 5], [0.0; 5]);
    let l1 = loss::binary_cross_entropy_with_logits(&x, &t, None, Some(&mut g1), Reduction::Mean)
        .unwrap();
    let l2 = loss::binary_cross_entropy_with_logits(
        &x,
        &t,
        Some(&[1.0]),
        Some(&mut g2),
        Reduction::Mean,
    )
    .unwrap();
    assert_eq!((l1, g1), (l2, g2));
}

#[test]
fn huber_is_delta_times_smooth_l1_and_beta_zero_is_l1() {
    let mut rng = Rng::new(12);
    let x = rng.vec(29, -4.0, 4.0);
    let mut t = rng.vec(29, -4.0, 4.0);
    t[4] = x[4];
    for red in REDUCTIONS {
        for delta in [0.25f32, 1.0, 2.0] {
            let (mut gh, mut gs) = (vec![0.0; 29], vec![0.0; 29]);
            let lh = loss::huber(&x, &t, delta, Some(&mut gh), red).unwrap();
            let ls = loss::smooth_l1(&x, &t, delta, Some(&mut gs), red).unwrap();
            // Both within their bound of the reference (8U per term plus the sum), scaled.
            let tol = 2.0 * 20.0 * U * lh.abs() as f64;
            assert!(
                close(lh, delta as f64 * ls as f64, tol),
                "{lh} vs {delta}·{ls}"
            );
            for (a, b) in gh.iter().zip(&gs) {
                assert!(close(
                    *a,
                    delta as f64 * *b as f64,
                    8.0 * U * a.abs() as f64
                ));
            }
        }
        let (mut g0, mut g1) = (vec![0.0; 29], vec![0.0; 29]);
        let l0 = loss::smooth_l1(&x, &t, 0.0, Some(&mut g0), red).unwrap();
        let l1 = loss::l1(&x, &t, Some(&mut g1), red).unwrap();
        assert_eq!(l0, l1);
        for i in 0..29 {
            if i == 4 {
                // d = 0: torch's smooth_l1 kernel takes its `x ≤ −β` branch, l1 gives 0.
                assert_eq!((g0[i], g1[i]), (-(scale(red, 29) as f32), 0.0));
            } else {
                assert_eq!(g0[i], g1[i]);
            }
        }
    }
}

#[test]
fn nll_of_log_softmax_is_cross_entropy() {
    let (b, c) = (6, 9);
    let mut rng = Rng::new(13);
    let x = rng.vec(b * c, -5.0, 5.0);
    let target: Vec<usize> = (0..b).map(|_| rng.index(c)).collect();
    let mut log_probs = Vec::new();
    let mut probs = Vec::new();
    for row in x.chunks(c) {
        let m = row.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v as f64));
        let lse = m + row.iter().map(|v| (*v as f64 - m).exp()).sum::<f64>().ln();
        log_probs.extend(row.iter().map(|v| (*v as f64 - lse) as f32));
        probs.extend(row.iter().map(|v| (*v as f64 - lse).exp()));
    }
    for red in REDUCTIONS {
        let (mut gn, mut gc) = (vec![0.0; b * c], vec![0.0; b * c]);
        let ln = loss::nll(&log_probs, &target, c, Some(&mut gn), red).unwrap();
        let lc = loss::cross_entropy(&x, &target, c, 0.0, Some(&mut gc), red).unwrap();
        let r = ce_reference(&x, &smoothed_class_targets(&target, c, 0.0), c, red);
        // nll sees log-probabilities rounded to f32 (U each), plus the cross-entropy's bound.
        let tol = r.loss_tol + 2.0 * U * r.loss;
        assert!(close(ln, lc as f64, tol), "{ln} vs {lc}");
        // ∂CE/∂x = s·softmax + ∂nll/∂(log p).
        let s = scale(red, b);
        for i in 0..b * c {
            let want = s * probs[i] + gn[i] as f64;
            assert!(
                close(gc[i], want, r.grad_tol[i]),
                "grad[{i}]: {} vs {want}",
                gc[i]
            );
        }
    }
}

#[test]
fn mean_is_sum_over_the_right_count() {
    // Element-wise losses divide by all n elements, class losses by the batch B only.
    let (b, c) = (3, 5);
    let mut rng = Rng::new(14);
    let x = rng.vec(b * c, -2.0, 2.0);
    let t = rng.vec(b * c, 0.0, 1.0);
    let target = [4usize, 0, 2];
    let q = prob_rows(&mut rng, b, c);
    type F<'a> = Box<dyn Fn(Reduction, &mut [f32]) -> f32 + 'a>;
    let cases: Vec<(&str, usize, F)> = vec![
        (
            "mse",
            b * c,
            Box::new(|r, g| loss::mse(&x, &t, Some(g), r).unwrap()),
        ),
        (
            "l1",
            b * c,
            Box::new(|r, g| loss::l1(&x, &t, Some(g), r).unwrap()),
        ),
        (
            "huber",
            b * c,
            Box::new(|r, g| loss::huber(&x, &t, 0.5, Some(g), r).unwrap()),
        ),
        (
            "smooth_l1",
            b * c,
            Box::new(|r, g| loss::smooth_l1(&x, &t, 0.5, Some(g), r).unwrap()),
        ),
        (
            "bce",
            b * c,
            Box::new(|r, g| {
                loss::binary_cross_entropy_with_logits(&x, &t, None, Some(g), r).unwrap()
            }),
        ),
        (
            "ce",
            b,
            Box::new(|r, g| loss::cross_entropy(&x, &target, c, 0.1, Some(g), r).unwrap()),
        ),
        (
            "ce probs",
            b,
            Box::new(|r, g| loss::cross_entropy_probs(&x, &q, c, 0.1, Some(g), r).unwrap()),
        ),
        (
            "nll",
            b,
            Box::new(|r, g| loss::nll(&x, &target, c, Some(g), r).unwrap()),
        ),
    ];
    for (name, count, f) in cases {
        let (mut gm, mut gs) = (vec![0.0; b * c], vec![0.0; b * c]);
        let lm = f(Reduction::Mean, &mut gm) as f64;
        let ls = f(Reduction::Sum, &mut gs) as f64;
        // Both round the same f64 total once (U each).
        assert!(
            (lm * count as f64 - ls).abs() <= 2.0 * U * ls.abs(),
            "{name}: {lm} vs {ls}"
        );
        for (a, s) in gm.iter().zip(&gs) {
            let want = *s as f64 / count as f64;
            // The mean's factor fl(1/count) and the final product: 2U (plus the rounding of
            // the sum's own gradient path: 4U).
            assert!(
                close(*a, want, 6.0 * U * want.abs()),
                "{name}: {a} vs {want}"
            );
        }
    }
    assert_eq!(Reduction::default(), Reduction::Mean);
}

#[test]
fn batch_of_one_and_single_class() {
    // One class: the softmax is 1, the loss and gradient vanish for any logit.
    let mut g = [7.0f32; 3];
    let l = loss::cross_entropy(
        &[3.0, -1e4, 1e4],
        &[0, 0, 0],
        1,
        0.3,
        Some(&mut g),
        Reduction::Mean,
    )
    .unwrap();
    assert_eq!((l, g), (0.0, [0.0; 3]));
    let l = loss::cross_entropy_probs(&[5.0], &[1.0], 1, 0.0, Some(&mut g[..1]), Reduction::Sum)
        .unwrap();
    assert_eq!((l, g[0]), (0.0, 0.0));
    // Batch of one: mean and sum agree.
    let x = [0.3f32, -1.2, 2.5, 0.0];
    for red in REDUCTIONS {
        let mut g = [0.0; 4];
        let l = loss::cross_entropy(&x, &[2], 4, 0.0, Some(&mut g), red).unwrap();
        let r = ce_reference(&x, &smoothed_class_targets(&[2], 4, 0.0), 4, red);
        assert_ce(&format!("B=1 {red:?}"), &r, l, &g);
        let l = loss::nll(&x, &[1], 4, Some(&mut g), red).unwrap();
        assert_eq!((l, g), (1.2, [0.0, -1.0, 0.0, 0.0]));
    }
    // One element.
    let mut g = [0.0];
    assert_eq!(
        loss::mse(&[3.0], &[1.0], Some(&mut g), Reduction::Mean),
        Ok(4.0)
    );
    assert_eq!(g, [4.0]);
    assert_eq!(
        loss::huber(&[3.0], &[1.0], 1.0, Some(&mut g), Reduction::Mean),
        Ok(1.5)
    );
    assert_eq!(g, [1.0]);
    assert_eq!(
        loss::smooth_l1(&[1.25], &[1.0], 1.0, Some(&mut g), Reduction::Sum),
        Ok(0.03125)
    );
    assert_eq!(g, [0.25]);
    assert_eq!(
        loss::l1(&[-3.0], &[1.0], Some(&mut g), Reduction::Sum),
        Ok(4.0)
    );
    assert_eq!(g, [-1.0]);
    let l =
        loss::binary_cross_entropy_with_logits(&[0.0], &[1.0], None, Some(&mut g), Reduction::Mean)
            .unwrap();
    assert!(close(l, std::f64::consts::LN_2, 2.0 * U));
    assert_eq!(g, [-0.5]);
}

#[test]
fn nan_and_infinity_propagate() {
    for_each_isa(|_| nan_and_infinity_propagate_once());
}

/// One instruction set of [`nan_and_infinity_propagate`].
fn nan_and_infinity_propagate_once() {
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    let x = [0.5f32, nan, -1.0, 2.0, 0.25, 1.0, -3.0, 0.0, 4.0, 1.5];
    let t = [0.0f32; 10];
    for kind in KINDS {
        let mut g = [0.0; 10];
        let l = call(kind, &x, &t, None, Some(&mut g), Reduction::Mean).unwrap();
        assert!(l.is_nan(), "{kind:?}: loss {l}");
        for (i, v) in g.iter().enumerate() {
            assert_eq!(v.is_nan(), i == 1, "{kind:?}: grad[{i}] = {v}");
        }
    }
    // An infinite difference gives an infinite loss; gradients follow torch's formulas.
    let x = [1.0f32, inf];
    let mut g = [0.0; 2];
    assert_eq!(
        loss::mse(&x, &[0.0, 0.0], Some(&mut g), Reduction::Sum),
        Ok(inf)
    );
    assert_eq!(g, [2.0, inf]);
    assert_eq!(
        loss::l1(&x, &[0.0, 0.0], Some(&mut g), Reduction::Sum),
        Ok(inf)
    );
    assert_eq!(g, [1.0, 1.0]);
    assert_eq!(
        loss::huber(&x, &[0.0, 0.0], 0.5, Some(&mut g), Reduction::Sum),
        Ok(inf)
    );
    assert_eq!(g, [0.5, 0.5]);
    // Cross-entropy: a NaN logit poisons its own row only.
    let x = [0.5f32, 1.0, nan, 2.0, -1.0, 0.0];
    let mut g = [0.0; 6];
    let l = loss::cross_entropy(&x, &[0, 1], 3, 0.0, Some(&mut g), Reduction::Sum).unwrap();
    assert!(l.is_nan());
    assert!(g[..3].iter().all(|v| v.is_nan()) && g[3..].iter().all(|v| v.is_finite()));
    let l = loss::cross_entropy_probs(&x, &[0.2; 6], 3, 0.0, Some(&mut g), Reduction::Sum).unwrap();
    assert!(l.is_nan());
    assert!(g[..3].iter().all(|v| v.is_nan()) && g[3..].iter().all(|v| v.is_finite()));
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn mismatch(what: &'static str, expected: usize, actual: usize) -> Error {
    Error::LengthMismatch {
        what,
        expected,
        actual,
    }
}

/// The error rows of the losses are in `tests/bad_input/loss.rs`. What they do not check: β = ±0
/// is a valid smooth-L1 parameter (torch's limit, L1), and a message names the argument and
/// both lengths.
#[test]
fn zero_beta_is_valid_and_messages_name_the_culprit() {
    let (x, t) = ([1.0f32, 2.0, 3.0, 4.0], [0.5f32; 4]);
    for beta in [0.0, -0.0] {
        assert!(loss::smooth_l1(&x, &t, beta, None, Reduction::Mean).is_ok());
    }
    let msg = format!("{}", mismatch("logits", 9, 6));
    assert!(msg.contains("logits") && msg.contains('9') && msg.contains('6'));
}

/// Found by the `loss` fuzz target: with `pos_weight` of one class, every element used to be
/// summed in the same lane (one row of one element at a time), so a large first term made the
/// sum of the small ones lose 14 ulps. The weights now cycle within the lanes: the sum is the
/// one without `pos_weight` (weights of 1 give the same terms), within a few ulps of f64.
#[test]
fn bce_pos_weight_of_short_rows_sums_in_every_lane() {
    for_each_isa(|_| bce_pos_weight_of_short_rows_sums_in_every_lane_once());
}

/// One instruction set of [`bce_pos_weight_of_short_rows_sums_in_every_lane`].
fn bce_pos_weight_of_short_rows_sums_in_every_lane_once() {
    let mut x = vec![0.994_477_5f32, 0.588_226_3, 510.585_1, -0.999_999_5];
    x.extend(std::iter::repeat_n(-1.0f32, 31));
    let t = vec![0.0f32; x.len()];
    let want: f64 = x
        .iter()
        .map(|&x| {
            let x = f64::from(x);
            x.max(0.0) + (-x.abs()).exp().ln_1p()
        })
        .sum::<f64>()
        / x.len() as f64;
    let plain =
        loss::binary_cross_entropy_with_logits(&x, &t, None, None, Reduction::Mean).unwrap();
    for c in [1usize, 5, 7] {
        let pw = vec![1.0f32; c];
        let got = loss::binary_cross_entropy_with_logits(&x, &t, Some(&pw), None, Reduction::Mean)
            .unwrap();
        assert_eq!(got.to_bits(), plain.to_bits(), "C = {c}");
        assert!(
            (f64::from(got) - want).abs() <= 4.0 * 2f64.powi(-24) * want,
            "{got} vs {want}"
        );
    }
}
