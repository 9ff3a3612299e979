//! Every schedule, and compositions of them (`SequentialLR`, `ChainedScheduler`,
//! `LinearWarmup`), with arbitrary fields and steps: `validate`, `lr_at`, `lr_at_f64`,
//! `factor_at` and `momentum_at` never panic, whatever the fields hold. When `validate` is
//! `Ok`:
//! * `lr_at(t)` is `lr_at_f64(t)` rounded once;
//! * the value is not negative (except where torch's is too: see `Leaf::may_go_negative`);
//! * `StepLR`, `MultiStepLR`, `ExponentialLR`, `LinearLR` and `ConstantLR` agree with torch's
//!   recursive (step-by-step) form for the first 64 steps, to `1e-9` relative (`f64`
//!   rounding accumulated over the steps; an absolute `1e-300·base_lr` for a factor `γ^k` that
//!   underflows into f64's subnormals, and for
//!   `LinearLR`, whose two forms both cancel when `end_factor ≪ start_factor`,
//!   `64·ε·base_lr·max(start_factor, end_factor)`);
//! * `PolynomialLR` does not increase; the cosines stay between `eta_min` and `base_lr`; a
//!   triangular `CyclicLR` stays between `base_lr` and `max_lr`; `OneCycleLR` is finite before
//!   its last step and its momentum between `base_momentum` and `max_momentum`;
//! * `ReduceLROnPlateau` fed arbitrary metrics never raises the lr and never takes it below
//!   `min(lr₀, min_lr)`.
#![no_main]

#[path = "input.rs"]
mod input;

use descent::schedule::{
    AnnealStrategy, ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
    CyclicLR, CyclicMode, ExponentialLR, LinearLR, LinearWarmup, MultiStepLR, OneCycleLR,
    PlateauMode, PolynomialLR, ReduceLROnPlateau, ScaleMode, Schedule, SequentialLR, StepLR,
    ThresholdMode,
};
use input::Input;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    let milestones: Vec<Vec<u64>> = (0..4)
        .map(|_| (0..i.len(4)).map(|_| small_step(&mut i)).collect())
        .collect();
    // Half the runs on one schedule (whose checks compare values), the others on plateau and
    // the compositions.
    match i.byte() % 8 {
        0 => plateau(&mut i),
        1 => {
            // SequentialLR over 0..3 children; mostly one sorted milestone fewer than
            // children (valid), sometimes any list.
            let count = if i.byte() % 8 == 0 {
                i.len(3)
            } else {
                1 + i.len(2)
            };
            let leaves: Vec<Leaf> = (0..count).map(|k| leaf(&mut i, &milestones[k])).collect();
            let children: Vec<&dyn Schedule> = leaves.iter().map(|l| l.as_dyn()).collect();
            let ms = if i.byte() % 8 == 0 {
                milestones[3].clone()
            } else {
                let mut ms: Vec<u64> = (1..count).map(|_| small_step(&mut i)).collect();
                ms.sort_unstable();
                ms
            };
            let ms = &ms;
            let s = SequentialLR {
                schedulers: &children,
                milestones: ms,
            };
            let valid = s.validate().is_ok();
            if valid {
                assert!(!children.is_empty() && ms.len() + 1 == children.len());
            }
            let nonneg = valid && !leaves.iter().any(Leaf::may_go_negative);
            // torch's SequentialLR: child k (k milestones at or before t) at its own step
            // t − m_k, exactly.
            let reference = |t: u64| {
                let k = ms.iter().take_while(|&&m| m <= t).count();
                let start = if k == 0 { 0 } else { ms[k - 1] };
                children[k].lr_at_f64(t - start)
            };
            exercise(&s, &mut i, nonneg, &format!("{leaves:?}"));
            if valid {
                compare(&s, &mut i, &reference, 0.0);
            }
        }
        2 => {
            let leaves: Vec<Leaf> = (0..i.len(3))
                .map(|k| leaf(&mut i, &milestones[k]))
                .collect();
            let children: Vec<&dyn Schedule> = leaves.iter().map(|l| l.as_dyn()).collect();
            let s = ChainedScheduler {
                schedulers: &children,
            };
            let valid = s.validate().is_ok();
            assert!(!valid || !children.is_empty());
            // The non-multiplicative children's factors are `lr/base`: ±∞ or NaN for a base
            // of ±0, as documented.
            let nonneg = valid && leaves.iter().all(Leaf::multiplicative);
            exercise(&s, &mut i, nonneg, &format!("{leaves:?}"));
            // torch's ChainedScheduler: the first child's value times every other child's
            // factor, in order: one rounding per factor.
            let reference = |t: u64| {
                children[1..]
                    .iter()
                    .fold(children[0].lr_at_f64(t), |lr, c| lr * c.factor_at(t))
            };
            if valid {
                compare(&s, &mut i, &reference, children.len() as f64 * f64::EPSILON);
            }
        }
        3 => {
            let l = leaf(&mut i, &milestones[0]);
            let s = LinearWarmup {
                warmup_steps: small_step(&mut i),
                start_factor: f64::from(i.hparam(0.0, 1.0)),
                schedule: l.as_dyn(),
            };
            let valid = s.validate().is_ok();
            let nonneg = valid && !l.may_go_negative();
            exercise(&s, &mut i, nonneg, &format!("{l:?} after a warm-up"));
            // `v·(s + (1 − s)·t/W)` for `t < W` with `v` the schedule at 0, then the schedule
            // at `t − W`: four roundings of the ramp and one of the product.
            let (w, sf) = (s.warmup_steps, s.start_factor);
            let reference = |t: u64| {
                if t < w {
                    l.as_dyn().lr_at_f64(0) * (sf + (1.0 - sf) * t as f64 / w as f64)
                } else {
                    l.as_dyn().lr_at_f64(t - w)
                }
            };
            if valid {
                compare(&s, &mut i, &reference, 8.0 * f64::EPSILON);
            }
        }
        _ => {
            let l = leaf(&mut i, &milestones[0]);
            let valid = l.as_dyn().validate().is_ok();
            let nonneg = valid && !l.may_go_negative();
            exercise(l.as_dyn(), &mut i, nonneg, &format!("{l:?}"));
            if valid {
                l.check(&mut i);
            }
        }
    }
}

/// A period or a step size: mostly `1..`, zero (invalid) one time in 32; an input that ran
/// out gives a valid one.
fn size(i: &mut Input) -> u64 {
    if i.byte() % 32 == 31 {
        0
    } else {
        small_step(i).max(1)
    }
}

/// A step count: mostly small, sometimes anything.
fn small_step(i: &mut Input) -> u64 {
    match i.byte() % 16 {
        0 => u64::from(i.u32()) << 32 | u64::from(i.u32()),
        1 => u64::from(i.u32()),
        _ => u64::from(i.byte() % 50),
    }
}

/// A real hyper-parameter: mostly in `[lo, hi]`, sometimes negative, NaN, infinite or huge.
fn real(i: &mut Input, lo: f32, hi: f32) -> f64 {
    f64::from(i.hparam(lo, hi))
}

#[derive(Debug)]
enum Leaf<'a> {
    Step(StepLR),
    Multi(MultiStepLR<'a>),
    Exp(ExponentialLR),
    Linear(LinearLR),
    Constant(ConstantLR),
    Poly(PolynomialLR),
    Cosine(CosineAnnealingLR),
    Warm(CosineAnnealingWarmRestarts),
    Cyclic(CyclicLR),
    OneCycle(OneCycleLR),
}

fn leaf<'a>(i: &mut Input, milestones: &'a [u64]) -> Leaf<'a> {
    let base = real(i, 0.0, 1.0);
    match i.byte() % 10 {
        0 => Leaf::Step(StepLR {
            base_lr: base,
            step_size: size(i),
            gamma: real(i, 0.0, 1.5),
        }),
        1 => Leaf::Multi(MultiStepLR {
            base_lr: base,
            milestones,
            gamma: real(i, 0.0, 1.5),
        }),
        2 => Leaf::Exp(ExponentialLR {
            base_lr: base,
            gamma: real(i, 0.0, 1.5),
        }),
        3 => Leaf::Linear(LinearLR {
            base_lr: base,
            start_factor: real(i, 0.0, 1.0),
            end_factor: real(i, 0.0, 1.0),
            total_iters: small_step(i),
        }),
        4 => Leaf::Constant(ConstantLR {
            base_lr: base,
            factor: real(i, 0.0, 1.0),
            total_iters: small_step(i),
        }),
        5 => Leaf::Poly(PolynomialLR {
            base_lr: base,
            total_iters: small_step(i),
            power: real(i, 0.0, 3.0),
        }),
        6 => Leaf::Cosine(CosineAnnealingLR {
            base_lr: base,
            t_max: size(i),
            eta_min: real(i, 0.0, 0.5),
        }),
        7 => Leaf::Warm(CosineAnnealingWarmRestarts {
            base_lr: base,
            t_0: size(i),
            t_mult: small_step(i) % 4,
            eta_min: real(i, 0.0, 0.5),
        }),
        8 => Leaf::Cyclic(CyclicLR {
            base_lr: base,
            max_lr: real(i, 0.0, 2.0),
            step_size_up: size(i),
            step_size_down: if i.bool() { Some(small_step(i)) } else { None },
            mode: [
                CyclicMode::Triangular,
                CyclicMode::Triangular2,
                CyclicMode::ExpRange,
            ][i.byte() as usize % 3],
            gamma: real(i, 0.0, 1.0),
            scale_fn: match i.byte() % 4 {
                0 => Some(|x: f64| 1.0 / (1.0 + x)),
                _ => None,
            },
            scale_mode: if i.bool() {
                ScaleMode::Cycle
            } else {
                ScaleMode::Iterations
            },
            cycle_momentum: i.bool(),
            base_momentum: real(i, 0.0, 1.0),
            max_momentum: real(i, 0.0, 1.0),
        }),
        _ => Leaf::OneCycle(OneCycleLR {
            max_lr: base,
            total_steps: size(i),
            pct_start: real(i, 0.0, 1.0),
            anneal_strategy: if i.bool() {
                AnnealStrategy::Cos
            } else {
                AnnealStrategy::Linear
            },
            cycle_momentum: i.bool(),
            base_momentum: real(i, 0.0, 1.0),
            max_momentum: real(i, 0.0, 1.0),
            div_factor: real(i, 1.0, 100.0),
            final_div_factor: real(i, 1.0, 1e4),
            three_phase: i.bool(),
        }),
    }
}

impl Leaf<'_> {
    /// Valid schedules that go below 0, as torch's do: a linear `OneCycleLR` at
    /// `t = total_steps` (`pct > 1` extrapolates past `min_lr`; torch accepts that step), and
    /// an `exp_range` `CyclicLR` with `γ > 1` and `max_lr < base_lr` (the amplitude `γ^t`
    /// grows without bound; `validate` only asks `γ ≥ 0`, as torch).
    fn multiplicative(&self) -> bool {
        matches!(
            self,
            Leaf::Step(_)
                | Leaf::Multi(_)
                | Leaf::Exp(_)
                | Leaf::Linear(_)
                | Leaf::Constant(_)
                | Leaf::Poly(_)
        )
    }

    fn may_go_negative(&self) -> bool {
        match self {
            Leaf::OneCycle(s) => s.anneal_strategy == AnnealStrategy::Linear,
            Leaf::Cyclic(s) => s.mode == CyclicMode::ExpRange && s.gamma > 1.0,
            _ => false,
        }
    }

    fn as_dyn(&self) -> &dyn Schedule {
        match self {
            Leaf::Step(s) => s,
            Leaf::Multi(s) => s,
            Leaf::Exp(s) => s,
            Leaf::Linear(s) => s,
            Leaf::Constant(s) => s,
            Leaf::Poly(s) => s,
            Leaf::Cosine(s) => s,
            Leaf::Warm(s) => s,
            Leaf::Cyclic(s) => s,
            Leaf::OneCycle(s) => s,
        }
    }

    /// The documented properties of a valid leaf.
    fn check(&self, i: &mut Input) {
        // A factor `γ^k` that underflows into f64's subnormals has an absolute error of about
        // 1e-308, which the base then scales.
        let base = match self {
            Leaf::Step(s) => s.base_lr,
            Leaf::Multi(s) => s.base_lr,
            Leaf::Exp(s) => s.base_lr,
            Leaf::Linear(s) => s.base_lr,
            _ => 1.0,
        };
        let close = |got: f64, want: f64, t: u64| {
            input::compared();
            let floor = 1e-300 * base.abs().max(1.0);
            let ok = (got - want).abs() <= 1e-9 * want.abs().max(got.abs()) + floor || got == want;
            assert!(
                ok,
                "{self:?} t={t}: closed form {got:e}, recursion {want:e}"
            );
        };
        match self {
            Leaf::Step(s) => {
                let mut lr = s.base_lr;
                for t in 0..64 {
                    if t > 0 && t % s.step_size == 0 {
                        lr *= s.gamma;
                    }
                    close(s.lr_at_f64(t), lr, t);
                }
            }
            Leaf::Multi(s) => {
                let mut lr = s.base_lr;
                for t in 0..64 {
                    // Each milestone m multiplies by γ at t = m (m = 0: already at t = 0).
                    for _ in s.milestones.iter().filter(|&&m| m == t) {
                        lr *= s.gamma;
                    }
                    close(s.lr_at_f64(t), lr, t);
                }
            }
            Leaf::Exp(s) => {
                let mut lr = s.base_lr;
                for t in 0..64 {
                    if t > 0 {
                        lr *= s.gamma;
                    }
                    close(s.lr_at_f64(t), lr, t);
                }
            }
            Leaf::Linear(s) => {
                // torch: lr₀ = base·s; lr_t = lr_{t−1}·(1 + (e−s)/(T·s + (t−1)·(e−s))), t ≤ T.
                let (st, en, total) = (s.start_factor, s.end_factor, s.total_iters);
                let mut lr = s.base_lr * st;
                for t in 0..64u64 {
                    if t > 0 && t <= total {
                        lr *= 1.0 + (en - st) / (total as f64 * st + (t - 1) as f64 * (en - st));
                    }
                    // Both forms cancel (`s + (e − s)·t/T` when e ≪ s): an absolute
                    // 64·ε·base·max(s, e) besides the relative bound.
                    let got = s.lr_at_f64(t);
                    let cancel = 64.0 * f64::EPSILON * s.base_lr * st.max(en);
                    if (got - lr).abs() > cancel {
                        close(got, lr, t);
                    }
                }
            }
            Leaf::Constant(s) => {
                for t in 0..64 {
                    let f = if t < s.total_iters || s.total_iters == 0 {
                        s.factor
                    } else {
                        1.0
                    };
                    input::compared();
                    assert_eq!(s.lr_at_f64(t), s.base_lr * f);
                }
            }
            Leaf::Poly(s) => {
                // torch's closed form `base·(1 − min(t, T)/T)^p` (`base` for T = 0): the ratio
                // `x = 1 − min(t, T)/T` is within `2ε` absolute however it is formed (T above
                // 2⁵³ is not exact in f64), so the value lies between `base·(x ∓ 2ε)^p` (`x^p`
                // turns `2ε` into `2p·ε/x` relative, or anything once that exceeds 1), give or
                // take four roundings.
                for t in 0..64u64 {
                    let tt = s.total_iters;
                    let (lo, hi) = if tt == 0 {
                        (s.base_lr, s.base_lr)
                    } else {
                        let x = 1.0 - t.min(tt) as f64 / tt as f64;
                        let e = 2.0 * f64::EPSILON;
                        let a = s.base_lr * (x - e).clamp(0.0, 1.0).powf(s.power);
                        let b = s.base_lr * (x + e).clamp(0.0, 1.0).powf(s.power);
                        let slack = 4.0 * f64::EPSILON * a.abs().max(b.abs());
                        (a.min(b) - slack, a.max(b) + slack)
                    };
                    let got = s.lr_at_f64(t);
                    input::compared();
                    assert!(
                        got >= lo && got <= hi,
                        "PolynomialLR {s:?} t={t}: {got:e} not in [{lo:e}, {hi:e}]"
                    );
                }
                let mut prev = f64::INFINITY;
                for t in 0..64 {
                    let v = s.lr_at_f64(t);
                    assert!(
                        v <= prev && v >= 0.0,
                        "PolynomialLR t={t}: {v} after {prev}"
                    );
                    prev = v;
                }
            }
            Leaf::Cosine(s) => {
                let t = small_step(i);
                between(s.lr_at_f64(t), s.base_lr, s.eta_min, t);
                // torch's closed form `η + (base − η)·(1 + cos(π·t/T))/2`, with `t` reduced
                // modulo the period `2T` first: `π·t/T ≤ 2π` rounds within `3·2π·ε`, which
                // moves the cosine as much; the rest is four roundings.
                let tt = s.t_max;
                let tr = tt.checked_mul(2).map_or(t, |period| t % period);
                let c = (core::f64::consts::PI * tr as f64 / tt as f64).cos();
                let want = s.eta_min + (s.base_lr - s.eta_min) * (1.0 + c) / 2.0;
                let tol = 16.0 * f64::EPSILON * ((s.base_lr - s.eta_min).abs() + s.eta_min.abs());
                let got = s.lr_at_f64(t);
                input::compared();
                assert!(
                    (got - want).abs() <= tol,
                    "CosineAnnealingLR {s:?} t={t}: {got:e}, want {want:e} ± {tol:e}"
                );
            }
            Leaf::Warm(s) => {
                let t = small_step(i);
                between(s.lr_at_f64(t), s.base_lr, s.eta_min, t);
            }
            Leaf::Cyclic(s) => {
                let t = small_step(i);
                if s.scale_fn.is_none() && s.mode != CyclicMode::ExpRange {
                    between(s.lr_at_f64(t), s.base_lr, s.max_lr, t);
                    if s.cycle_momentum {
                        let m = f64::from(s.momentum_at(t).unwrap());
                        let (lo, hi) = (s.base_momentum as f32, s.max_momentum as f32);
                        between(m, lo.into(), hi.into(), t);
                    }
                }
            }
            Leaf::OneCycle(s) => {
                let t = small_step(i);
                if t < s.total_steps {
                    let v = s.lr_at_f64(t);
                    assert!(v.is_finite(), "OneCycleLR {s:?} t={t}: {v}");
                    if s.cycle_momentum {
                        let m = f64::from(s.momentum_at(t).unwrap());
                        let (lo, hi) = (s.base_momentum as f32, s.max_momentum as f32);
                        between(m, lo.into(), hi.into(), t);
                    }
                }
            }
        }
    }
}

/// `v` lies between `a` and `b`, to rounding.
fn between(v: f64, a: f64, b: f64, t: u64) {
    let (lo, hi) = (a.min(b), a.max(b));
    input::compared();
    let slack = 1e-6 * hi.abs().max(lo.abs()) + 1e-300;
    assert!(
        v >= lo - slack && v <= hi + slack,
        "t={t}: {v} not in [{lo}, {hi}]"
    );
}

/// `lr_at_f64(t)` of a valid `s` against `reference(t)` at a few steps: within `rel` of the
/// reference's magnitude (`0`: the same bits), NaN where it is NaN.
fn compare(s: &dyn Schedule, i: &mut Input, reference: &dyn Fn(u64) -> f64, rel: f64) {
    for _ in 0..1 + i.len(3) {
        let t = small_step(i);
        let (got, want) = (s.lr_at_f64(t), reference(t));
        input::compared();
        let ok = got.to_bits() == want.to_bits()
            || (got.is_nan() && want.is_nan())
            || (got - want).abs() <= rel * want.abs();
        assert!(ok, "t={t}: {got:e}, want {want:e} (± {rel:e} relative)");
    }
}

/// The calls every schedule supports; with `valid`, the common properties.
fn exercise(s: &dyn Schedule, i: &mut Input, nonneg: bool, desc: &str) {
    for _ in 0..1 + i.len(4) {
        let t = small_step(i);
        let v = s.lr_at_f64(t);
        let v32 = s.lr_at(t);
        let _ = s.factor_at(t);
        let _ = s.momentum_at(t);
        assert!(v32.to_bits() == (v as f32).to_bits() || (v.is_nan() && v32.is_nan()));
        if nonneg {
            assert!(!(v < 0.0), "valid {desc}: negative value {v} at t={t}");
        }
    }
}

fn plateau(i: &mut Input) {
    let mut s = ReduceLROnPlateau {
        mode: if i.bool() {
            PlateauMode::Min
        } else {
            PlateauMode::Max
        },
        factor: real(i, 0.0, 1.0),
        patience: u64::from(i.byte() % 5),
        threshold: real(i, 0.0, 0.1),
        threshold_mode: if i.bool() {
            ThresholdMode::Rel
        } else {
            ThresholdMode::Abs
        },
        cooldown: u64::from(i.byte() % 3),
        min_lr: real(i, 0.0, 0.01),
        eps: real(i, 0.0, 1e-6),
        ..ReduceLROnPlateau::new(real(i, 0.0, 1.0))
    };
    let valid = s.validate().is_ok();
    let floor = s.lr.min(s.min_lr);
    let mut prev = s.lr;
    let mut reference = Plateau::new(&s);
    for epoch in 1..=1 + i.len(39) as u64 {
        // Mostly ordinary metrics, sometimes NaN or ±∞ (torch's comparisons then fail).
        let metric = i.value(10.0);
        let lr = s.step(metric);
        assert_eq!(s.last_epoch, epoch);
        assert_eq!(lr.to_bits(), (s.lr as f32).to_bits());
        if valid {
            assert!(s.lr <= prev, "lr rose from {prev} to {}", s.lr);
            assert!(s.lr >= floor, "lr {} below {floor}", s.lr);
            // The same f64 operations in the same order as torch: the same bits.
            reference.step(f64::from(metric));
            input::compared();
            assert_eq!(
                s.lr.to_bits(),
                reference.lr.to_bits(),
                "epoch {epoch}: {} vs torch's {}",
                s.lr,
                reference.lr
            );
        }
        prev = s.lr;
    }
}

/// torch's `ReduceLROnPlateau` (`torch/optim/lr_scheduler.py`), one parameter group:
/// `best` starts at `mode_worse` (±∞); `step(metrics)`: a better metric (`_is_better`) resets
/// `num_bad_epochs`, a worse one counts; in cooldown the counter ticks down and the bad epochs
/// are forgotten; past `patience` bad epochs `new = max(lr·factor, min_lr)` replaces `lr` if
/// `lr − new > eps`, and the cooldown restarts.
struct Plateau {
    min: bool,
    rel: bool,
    threshold: f64,
    factor: f64,
    patience: u64,
    cooldown: u64,
    min_lr: f64,
    eps: f64,
    lr: f64,
    best: f64,
    bad: u64,
    cooldown_counter: u64,
}

impl Plateau {
    fn new(s: &ReduceLROnPlateau) -> Self {
        let min = s.mode == PlateauMode::Min;
        Plateau {
            min,
            rel: s.threshold_mode == ThresholdMode::Rel,
            threshold: s.threshold,
            factor: s.factor,
            patience: s.patience,
            cooldown: s.cooldown,
            min_lr: s.min_lr,
            eps: s.eps,
            lr: s.lr,
            best: if min {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
            bad: 0,
            cooldown_counter: 0,
        }
    }

    fn is_better(&self, a: f64) -> bool {
        match (self.min, self.rel) {
            (true, true) => a < self.best * (1.0 - self.threshold),
            (true, false) => a < self.best - self.threshold,
            (false, true) => a > self.best * (self.threshold + 1.0),
            (false, false) => a > self.best + self.threshold,
        }
    }

    fn step(&mut self, current: f64) {
        if self.is_better(current) {
            self.best = current;
            self.bad = 0;
        } else {
            self.bad += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.bad = 0;
        }
        if self.bad > self.patience {
            let old = self.lr;
            // Python's `max(old * factor, min_lr)`.
            let new = if self.min_lr > old * self.factor {
                self.min_lr
            } else {
                old * self.factor
            };
            if old - new > self.eps {
                self.lr = new;
            }
            self.cooldown_counter = self.cooldown;
            self.bad = 0;
        }
    }
}
