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

fuzz_target!(|data: &[u8]| {
    let mut i = Input(data);
    let milestones: Vec<Vec<u64>> = (0..4)
        .map(|_| (0..i.len(4)).map(|_| small_step(&mut i)).collect())
        .collect();
    match i.byte() % 6 {
        0 => plateau(&mut i),
        1 => {
            // SequentialLR over 0..3 children.
            let leaves: Vec<Leaf> = (0..i.len(3))
                .map(|k| leaf(&mut i, &milestones[k]))
                .collect();
            let children: Vec<&dyn Schedule> = leaves.iter().map(|l| l.as_dyn()).collect();
            let ms = &milestones[3];
            let s = SequentialLR {
                schedulers: &children,
                milestones: ms,
            };
            let valid = s.validate().is_ok();
            if valid {
                assert!(!children.is_empty() && ms.len() + 1 == children.len());
            }
            let nonneg = valid && !leaves.iter().any(Leaf::may_go_negative);
            exercise(&s, &mut i, nonneg, &format!("{leaves:?}"));
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
});

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
            step_size: small_step(i),
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
            t_max: small_step(i),
            eta_min: real(i, 0.0, 0.5),
        }),
        7 => Leaf::Warm(CosineAnnealingWarmRestarts {
            base_lr: base,
            t_0: small_step(i),
            t_mult: small_step(i) % 4,
            eta_min: real(i, 0.0, 0.5),
        }),
        8 => Leaf::Cyclic(CyclicLR {
            base_lr: base,
            max_lr: real(i, 0.0, 2.0),
            step_size_up: small_step(i),
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
            total_steps: small_step(i),
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
                    assert_eq!(s.lr_at_f64(t), s.base_lr * f);
                }
            }
            Leaf::Poly(s) => {
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
    let slack = 1e-6 * hi.abs().max(lo.abs()) + 1e-300;
    assert!(
        v >= lo - slack && v <= hi + slack,
        "t={t}: {v} not in [{lo}, {hi}]"
    );
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
    for epoch in 1..=i.len(40) as u64 {
        let lr = s.step(i.value(10.0));
        assert_eq!(s.last_epoch, epoch);
        assert_eq!(lr.to_bits(), (s.lr as f32).to_bits());
        if valid {
            assert!(s.lr <= prev, "lr rose from {prev} to {}", s.lr);
            assert!(s.lr >= floor, "lr {} below {floor}", s.lr);
        }
        prev = s.lr;
    }
}
