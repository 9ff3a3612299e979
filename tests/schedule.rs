//! `descent::schedule` against a step-by-step transliteration of `torch.optim.lr_scheduler`
//! (torch 2.x source): each torch scheduler is stepped recursively through its chainable
//! `get_lr` on a shared parameter group, exactly as torch does, and compared with the closed
//! forms over 0..=300 steps. Composition (SequentialLR, ChainedScheduler, warm-up) is checked
//! against torch's own composition of the same recursive children.

mod common;

use common::Rng;
use descent::schedule::{
    AnnealStrategy, ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
    CyclicLR, CyclicMode, ExponentialLR, LinearLR, LinearWarmup, MultiStepLR, OneCycleLR,
    PlateauMode, PolynomialLR, ReduceLROnPlateau, ScaleMode, Schedule, SequentialLR, StepLR,
    ThresholdMode,
};
use descent::Error;
use std::f64::consts::PI;

const STEPS: u64 = 300;

// ---------------------------------------------------------------------------------------------
// A transliteration of torch's schedulers (torch/optim/lr_scheduler.py), stepped recursively.
// ---------------------------------------------------------------------------------------------

/// The optimizer's parameter group, as torch's schedulers read and write it.
#[derive(Clone, Debug)]
struct Group {
    lr: f64,
    initial_lr: Option<f64>,
    momentum: f64,
}

impl Group {
    fn new(lr: f64) -> Self {
        Group {
            lr,
            initial_lr: None,
            momentum: 0.9,
        }
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Step {
        step_size: i64,
        gamma: f64,
    },
    MultiStep {
        milestones: Vec<i64>,
        gamma: f64,
    },
    Constant {
        factor: f64,
        total_iters: i64,
    },
    Linear {
        start: f64,
        end: f64,
        total_iters: i64,
    },
    Exponential {
        gamma: f64,
    },
    Polynomial {
        total_iters: i64,
        power: f64,
    },
    Cosine {
        t_max: i64,
        eta_min: f64,
    },
    WarmRestarts {
        t_0: i64,
        t_i: i64,
        t_mult: i64,
        t_cur: i64,
        eta_min: f64,
    },
    Cyclic {
        base_lr: f64,
        max_lr: f64,
        total_size: f64,
        step_ratio: f64,
        mode: CyclicMode,
        gamma: f64,
        cycle_momentum: bool,
        base_momentum: f64,
        max_momentum: f64,
    },
    OneCycle {
        total_steps: i64,
        phases: Vec<(f64, &'static str, &'static str, &'static str, &'static str)>,
        linear: bool,
        initial_lr: f64,
        max_lr: f64,
        min_lr: f64,
        cycle_momentum: bool,
        base_momentum: f64,
        max_momentum: f64,
    },
}

/// torch's `LRScheduler` state around one scheduler.
#[derive(Clone, Debug)]
struct Torch {
    kind: Kind,
    base_lr: f64,
    last_epoch: i64,
    step_count: u64,
    is_initial: bool,
    /// Set once torch has raised (ZeroDivisionError, or OneCycleLR's ValueError).
    raised: bool,
}

fn python_mod(a: i64, b: i64) -> i64 {
    a.rem_euclid(b)
}

impl Torch {
    /// torch's constructor: the subclass's own set-up, then `LRScheduler.__init__` with its
    /// initial step.
    fn new(kind: Kind, g: &mut Group) -> Torch {
        let mut kind = kind;
        match &mut kind {
            Kind::Cyclic {
                base_lr,
                cycle_momentum,
                max_momentum,
                ..
            } => {
                g.lr = *base_lr;
                if *cycle_momentum {
                    g.momentum = *max_momentum;
                }
            }
            Kind::OneCycle {
                initial_lr,
                cycle_momentum,
                max_momentum,
                ..
            } => {
                g.initial_lr = Some(*initial_lr);
                if *cycle_momentum {
                    g.momentum = *max_momentum;
                }
            }
            _ => {}
        }
        let initial = *g.initial_lr.get_or_insert(g.lr);
        let mut s = Torch {
            kind,
            base_lr: initial,
            last_epoch: -1,
            step_count: 0,
            is_initial: false,
            raised: false,
        };
        s.initial_step(g);
        if let Kind::Cyclic { base_lr, .. } = s.kind {
            s.base_lr = base_lr; // `self.base_lrs = base_lrs` after `super().__init__`
        }
        s
    }

    fn initial_step(&mut self, g: &mut Group) {
        self.step_count = 0;
        self.is_initial = true;
        self.step(g);
        self.is_initial = false;
    }

    fn step(&mut self, g: &mut Group) {
        self.step_count += 1;
        if let Kind::WarmRestarts { .. } = self.kind {
            self.warm_restarts_step(g);
            return;
        }
        self.last_epoch += 1;
        self.apply(g, |s, g| s.get_lr(g));
    }

    /// `_update_lr(0)`, as SequentialLR calls it at a milestone: the closed form at step 0
    /// where the scheduler has one, else `get_lr()`.
    fn update_lr_zero(&mut self, g: &mut Group) {
        self.last_epoch = 0;
        let closed = match &self.kind {
            Kind::Step { .. }
            | Kind::MultiStep { .. }
            | Kind::Constant { .. }
            | Kind::Linear { .. }
            | Kind::Exponential { .. }
            | Kind::Polynomial { .. }
            | Kind::Cosine { .. } => Some(self.closed_form_at_zero()),
            _ => None,
        };
        match closed {
            Some(v) => g.lr = v,
            None => self.apply(g, |s, g| s.get_lr(g)),
        }
    }

    fn apply(&mut self, g: &mut Group, f: impl FnOnce(&mut Self, &mut Group) -> Option<f64>) {
        match f(self, g) {
            Some(v) => g.lr = v,
            None => self.raised = true,
        }
    }

    fn closed_form_at_zero(&self) -> f64 {
        let b = self.base_lr;
        match &self.kind {
            Kind::Step { .. } | Kind::Exponential { .. } | Kind::Polynomial { .. } => b,
            Kind::MultiStep { milestones, gamma } => {
                b * gamma.powi(milestones.iter().filter(|&&m| m <= 0).count() as i32)
            }
            Kind::Constant {
                factor,
                total_iters,
            } => b * (factor + if 0 >= *total_iters { 1.0 - factor } else { 0.0 }),
            Kind::Linear { start, .. } => b * start,
            Kind::Cosine { eta_min, .. } => eta_min + (b - eta_min) * 2.0 / 2.0,
            _ => unreachable!(),
        }
    }

    /// The chainable `get_lr()` of each scheduler; `None` where torch raises.
    fn get_lr(&mut self, g: &mut Group) -> Option<f64> {
        let le = self.last_epoch;
        let lr = g.lr;
        match &self.kind {
            Kind::Step { step_size, gamma } => {
                if le == 0 {
                    return Some(lr);
                }
                if *step_size == 0 {
                    return None;
                }
                Some(if le % step_size != 0 { lr } else { lr * gamma })
            }
            Kind::MultiStep { milestones, gamma } => {
                let n = milestones.iter().filter(|&&m| m == le).count();
                Some(if n == 0 {
                    lr
                } else {
                    lr * gamma.powi(n as i32)
                })
            }
            Kind::Constant {
                factor,
                total_iters,
            } => Some(if le == 0 {
                lr * factor
            } else if le != *total_iters {
                lr
            } else {
                lr * (1.0 / factor)
            }),
            Kind::Linear {
                start,
                end,
                total_iters,
            } => Some(if le == 0 {
                lr * start
            } else if self.is_initial || le > *total_iters {
                lr
            } else {
                let t = *total_iters as f64;
                lr * (1.0 + (end - start) / (t * start + (le - 1) as f64 * (end - start)))
            }),
            Kind::Exponential { gamma } => Some(if self.is_initial { lr } else { lr * gamma }),
            Kind::Polynomial { total_iters, power } => {
                if self.is_initial || le > *total_iters {
                    return Some(lr);
                }
                let t = *total_iters as f64;
                let decay = ((1.0 - le as f64 / t) / (1.0 - (le - 1) as f64 / t)).powf(*power);
                Some(lr * decay)
            }
            Kind::Cosine { t_max, eta_min } => {
                let (t, eta, base) = (*t_max, *eta_min, self.base_lr);
                if self.is_initial {
                    return Some(lr);
                }
                if t == 0 {
                    return None;
                }
                let tf = t as f64;
                Some(if self.step_count == 1 && le > 0 {
                    eta + (base - eta) * (1.0 + (le as f64 * PI / tf).cos()) / 2.0
                } else if python_mod(le - 1 - t, 2 * t) == 0 {
                    lr + (base - eta) * (1.0 - (PI / tf).cos()) / 2.0
                } else {
                    (1.0 + (PI * le as f64 / tf).cos()) / (1.0 + (PI * (le - 1) as f64 / tf).cos())
                        * (lr - eta)
                        + eta
                })
            }
            Kind::WarmRestarts {
                t_i,
                t_cur,
                eta_min,
                ..
            } => {
                let base = self.base_lr;
                Some(
                    eta_min
                        + (base - eta_min) * (1.0 + (PI * *t_cur as f64 / *t_i as f64).cos()) / 2.0,
                )
            }
            Kind::Cyclic {
                base_lr,
                max_lr,
                total_size,
                step_ratio,
                mode,
                gamma,
                cycle_momentum,
                base_momentum,
                max_momentum,
            } => {
                if *total_size == 0.0 {
                    return None;
                }
                let cycle = (1.0 + le as f64 / total_size).floor();
                let x = 1.0 + le as f64 / total_size - cycle;
                let scale_factor = if x <= *step_ratio {
                    if *step_ratio == 0.0 {
                        return None;
                    }
                    x / step_ratio
                } else {
                    (x - 1.0) / (step_ratio - 1.0)
                };
                let scale = match mode {
                    CyclicMode::Triangular => 1.0,
                    CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
                    CyclicMode::ExpRange => gamma.powf(le as f64),
                };
                let new = base_lr + (max_lr - base_lr) * scale_factor * scale;
                if *cycle_momentum {
                    g.momentum =
                        max_momentum - (max_momentum - base_momentum) * scale_factor * scale;
                }
                Some(new)
            }
            Kind::OneCycle {
                total_steps,
                phases,
                linear,
                initial_lr,
                max_lr,
                min_lr,
                cycle_momentum,
                base_momentum,
                max_momentum,
            } => {
                if le > *total_steps {
                    return None;
                }
                let value = |name: &str| match name {
                    "initial_lr" => *initial_lr,
                    "max_lr" => *max_lr,
                    "min_lr" => *min_lr,
                    "base_momentum" => *base_momentum,
                    "max_momentum" => *max_momentum,
                    _ => unreachable!(),
                };
                let anneal = |start: f64, end: f64, pct: f64| {
                    if *linear {
                        (end - start) * pct + start
                    } else {
                        end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
                    }
                };
                let mut start_step = 0.0;
                for (i, &(end_step, s_lr, e_lr, s_m, e_m)) in phases.iter().enumerate() {
                    if le as f64 <= end_step || i == phases.len() - 1 {
                        if end_step - start_step == 0.0 {
                            return None; // ZeroDivisionError
                        }
                        let pct = (le as f64 - start_step) / (end_step - start_step);
                        if *cycle_momentum {
                            g.momentum = anneal(value(s_m), value(e_m), pct);
                        }
                        return Some(anneal(value(s_lr), value(e_lr), pct));
                    }
                    start_step = end_step;
                }
                unreachable!()
            }
        }
    }

    /// CosineAnnealingWarmRestarts' own `step()` (no epoch argument).
    fn warm_restarts_step(&mut self, g: &mut Group) {
        let Kind::WarmRestarts {
            t_0,
            t_i,
            t_mult,
            t_cur,
            ..
        } = &mut self.kind
        else {
            unreachable!()
        };
        if self.last_epoch < 0 {
            // `epoch = 0`, then the branch for an explicit epoch below T_0.
            *t_i = *t_0;
            *t_cur = 0;
            self.last_epoch = 0;
        } else {
            *t_cur += 1;
            if *t_cur >= *t_i {
                *t_cur %= *t_i;
                *t_i *= *t_mult;
            }
            self.last_epoch += 1;
        }
        self.apply(g, |s, g| s.get_lr(g));
    }
}

/// torch's SequentialLR over already constructed children.
struct TorchSequential {
    children: Vec<Torch>,
    milestones: Vec<i64>,
    last_epoch: i64,
}

impl TorchSequential {
    fn new(mut children: Vec<Torch>, milestones: Vec<i64>, g: &mut Group) -> Self {
        g.lr = g.initial_lr.unwrap();
        for c in &mut children {
            c.last_epoch -= 1; // recursive_undo
        }
        children[0].initial_step(g);
        TorchSequential {
            children,
            milestones,
            last_epoch: 0,
        }
    }

    fn step(&mut self, g: &mut Group) {
        self.last_epoch += 1;
        let idx = self.milestones.partition_point(|&m| m <= self.last_epoch);
        if idx > 0 && self.milestones[idx - 1] == self.last_epoch {
            self.children[idx].update_lr_zero(g);
        } else {
            self.children[idx].step(g);
        }
    }

    fn raised(&self) -> bool {
        self.children.iter().any(|c| c.raised)
    }
}

// ---------------------------------------------------------------------------------------------
// One description, two implementations.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Spec {
    Step(u64, f64),
    MultiStep(Vec<u64>, f64),
    Exponential(f64),
    Linear(f64, f64, u64),
    Constant(f64, u64),
    Polynomial(u64, f64),
    Cosine(u64, f64),
    WarmRestarts(u64, u64, f64),
    Cyclic(CyclicLR),
    OneCycle(OneCycleLR),
}

impl Spec {
    /// Ours, with `base` as base value (ignored by CyclicLR and OneCycleLR, as in torch).
    fn ours(&self, base: f64) -> Box<dyn Schedule + '_> {
        match self {
            Spec::Step(n, gamma) => Box::new(StepLR {
                base_lr: base,
                step_size: *n,
                gamma: *gamma,
            }),
            Spec::MultiStep(m, gamma) => Box::new(MultiStepLR {
                base_lr: base,
                milestones: m,
                gamma: *gamma,
            }),
            Spec::Exponential(gamma) => Box::new(ExponentialLR::new(base, *gamma)),
            Spec::Linear(s, e, n) => Box::new(LinearLR {
                base_lr: base,
                start_factor: *s,
                end_factor: *e,
                total_iters: *n,
            }),
            Spec::Constant(f, n) => Box::new(ConstantLR {
                base_lr: base,
                factor: *f,
                total_iters: *n,
            }),
            Spec::Polynomial(n, p) => Box::new(PolynomialLR {
                base_lr: base,
                total_iters: *n,
                power: *p,
            }),
            Spec::Cosine(t, eta) => Box::new(CosineAnnealingLR {
                base_lr: base,
                t_max: *t,
                eta_min: *eta,
            }),
            Spec::WarmRestarts(t0, tm, eta) => Box::new(CosineAnnealingWarmRestarts {
                base_lr: base,
                t_0: *t0,
                t_mult: *tm,
                eta_min: *eta,
            }),
            Spec::Cyclic(c) => Box::new(*c),
            Spec::OneCycle(o) => Box::new(*o),
        }
    }

    fn torch_kind(&self) -> Kind {
        match self {
            Spec::Step(n, gamma) => Kind::Step {
                step_size: *n as i64,
                gamma: *gamma,
            },
            Spec::MultiStep(m, gamma) => Kind::MultiStep {
                milestones: m.iter().map(|&x| x as i64).collect(),
                gamma: *gamma,
            },
            Spec::Exponential(gamma) => Kind::Exponential { gamma: *gamma },
            Spec::Linear(s, e, n) => Kind::Linear {
                start: *s,
                end: *e,
                total_iters: *n as i64,
            },
            Spec::Constant(f, n) => Kind::Constant {
                factor: *f,
                total_iters: *n as i64,
            },
            Spec::Polynomial(n, p) => Kind::Polynomial {
                total_iters: *n as i64,
                power: *p,
            },
            Spec::Cosine(t, eta) => Kind::Cosine {
                t_max: *t as i64,
                eta_min: *eta,
            },
            Spec::WarmRestarts(t0, tm, eta) => Kind::WarmRestarts {
                t_0: *t0 as i64,
                t_i: *t0 as i64,
                t_mult: *tm as i64,
                t_cur: -1,
                eta_min: *eta,
            },
            Spec::Cyclic(c) => {
                let up = c.step_size_up as f64;
                let down = c.step_size_down.map_or(up, |d| d as f64);
                Kind::Cyclic {
                    base_lr: c.base_lr,
                    max_lr: c.max_lr,
                    total_size: up + down,
                    step_ratio: up / (up + down),
                    mode: c.mode,
                    gamma: c.gamma,
                    cycle_momentum: c.cycle_momentum,
                    base_momentum: c.base_momentum,
                    max_momentum: c.max_momentum,
                }
            }
            Spec::OneCycle(o) => {
                let t = o.total_steps as f64;
                let p = o.pct_start;
                let phases = if o.three_phase {
                    vec![
                        (
                            p * t - 1.0,
                            "initial_lr",
                            "max_lr",
                            "max_momentum",
                            "base_momentum",
                        ),
                        (
                            2.0 * p * t - 2.0,
                            "max_lr",
                            "initial_lr",
                            "base_momentum",
                            "max_momentum",
                        ),
                        (
                            t - 1.0,
                            "initial_lr",
                            "min_lr",
                            "max_momentum",
                            "max_momentum",
                        ),
                    ]
                } else {
                    vec![
                        (
                            p * t - 1.0,
                            "initial_lr",
                            "max_lr",
                            "max_momentum",
                            "base_momentum",
                        ),
                        (t - 1.0, "max_lr", "min_lr", "base_momentum", "max_momentum"),
                    ]
                };
                let initial = o.max_lr / o.div_factor;
                Kind::OneCycle {
                    total_steps: o.total_steps as i64,
                    phases,
                    linear: o.anneal_strategy == AnnealStrategy::Linear,
                    initial_lr: initial,
                    max_lr: o.max_lr,
                    min_lr: initial / o.final_div_factor,
                    cycle_momentum: o.cycle_momentum,
                    base_momentum: o.base_momentum,
                    max_momentum: o.max_momentum,
                }
            }
        }
    }

    fn torch(&self, g: &mut Group) -> Torch {
        Torch::new(self.torch_kind(), g)
    }
}

/// `|got − want| ≤ 1e-12 · max(|want|, scale)`: rounding of the recursion only (it multiplies
/// up to 300 ratios, each rounded).
fn close(got: f64, want: f64, scale: f64) -> bool {
    (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-12 * want.abs().max(scale)
}

/// Steps the torch transliteration and compares every value (and momentum) with `ours`.
fn assert_matches(
    what: &str,
    ours: &dyn Schedule,
    base: f64,
    mut step: impl FnMut(&mut Group) -> bool,
    g: &mut Group,
) {
    ours.validate()
        .unwrap_or_else(|e| panic!("{what}: validate: {e}"));
    let scale = base.abs().max(1e-300);
    for t in 0..=STEPS {
        if t > 0 && !step(g) {
            // torch raised: ours gives NaN from here on.
            assert!(
                ours.lr_at_f64(t).is_nan(),
                "{what}: t={t}: torch raised, ours {}",
                ours.lr_at_f64(t)
            );
            return;
        }
        let got = ours.lr_at_f64(t);
        assert!(
            close(got, g.lr, scale),
            "{what}: lr at t={t}: ours {got:e}, torch {:e}",
            g.lr
        );
        assert_eq!(
            ours.lr_at(t).to_bits(),
            (got as f32).to_bits(),
            "{what}: t={t}"
        );
        if let Some(m) = ours.momentum_at(t) {
            assert!(
                (m as f64 - g.momentum).abs() <= 1e-6 * g.momentum.abs().max(1e-3),
                "{what}: momentum at t={t}: ours {m}, torch {}",
                g.momentum
            );
        }
    }
}

/// One schedule alone against torch, from a base lr of 0.1.
fn check_alone(spec: &Spec) {
    let base = 0.1;
    let mut g = Group::new(base);
    let mut torch = spec.torch(&mut g);
    let ours = spec.ours(base);
    let raised_at_construction = torch.raised;
    if raised_at_construction {
        assert!(
            ours.validate().is_err(),
            "{spec:?}: torch raised at construction"
        );
        return;
    }
    assert_matches(
        &format!("{spec:?}"),
        ours.as_ref(),
        base,
        |g| {
            torch.step(g);
            !torch.raised
        },
        &mut g,
    );
}

fn cyclic(
    base_lr: f64,
    max_lr: f64,
    up: u64,
    down: Option<u64>,
    mode: CyclicMode,
    gamma: f64,
    cycle_momentum: bool,
) -> Spec {
    Spec::Cyclic(CyclicLR {
        step_size_up: up,
        step_size_down: down,
        mode,
        gamma,
        cycle_momentum,
        ..CyclicLR::new(base_lr, max_lr)
    })
}

fn one_cycle(
    max_lr: f64,
    total: u64,
    pct: f64,
    strategy: AnnealStrategy,
    three_phase: bool,
    div: f64,
    final_div: f64,
) -> Spec {
    Spec::OneCycle(OneCycleLR {
        pct_start: pct,
        anneal_strategy: strategy,
        three_phase,
        div_factor: div,
        final_div_factor: final_div,
        ..OneCycleLR::new(max_lr, total)
    })
}

fn specs() -> Vec<Spec> {
    use AnnealStrategy::{Cos, Linear};
    use CyclicMode::{ExpRange, Triangular, Triangular2};
    vec![
        Spec::Step(3, 0.5),
        Spec::Step(1, 0.9),
        Spec::Step(7, 0.1),
        Spec::Step(1000, 0.5),
        Spec::Step(2, 0.0),
        Spec::Step(5, 1.1),
        Spec::MultiStep(vec![2, 5, 8], 0.1),
        Spec::MultiStep(vec![3, 3, 7], 0.5),
        Spec::MultiStep(vec![50, 10, 30, 10, 299], 0.7),
        Spec::MultiStep(vec![0, 4, 0], 0.5),
        Spec::MultiStep(vec![], 0.5),
        Spec::MultiStep(vec![1000], 0.5),
        Spec::Exponential(0.9),
        Spec::Exponential(0.99),
        Spec::Exponential(1.0),
        Spec::Exponential(1.02),
        Spec::Exponential(0.0),
        Spec::Linear(1.0 / 3.0, 1.0, 5),
        Spec::Linear(1.0, 0.1, 8),
        Spec::Linear(0.5, 0.5, 10),
        Spec::Linear(0.2, 0.0, 300),
        Spec::Linear(0.25, 1.0, 0),
        Spec::Linear(1.0, 1.0, 1),
        Spec::Linear(0.05, 1.0, 1),
        Spec::Constant(1.0 / 3.0, 4),
        Spec::Constant(0.5, 2),
        Spec::Constant(1.0, 3),
        Spec::Constant(0.1, 0),
        Spec::Constant(0.0, 0),
        Spec::Constant(0.25, 1),
        Spec::Polynomial(5, 1.0),
        Spec::Polynomial(8, 2.0),
        Spec::Polynomial(100, 0.5),
        Spec::Polynomial(10, 0.0),
        Spec::Polynomial(0, 2.0),
        Spec::Polynomial(1, 3.0),
        Spec::Polynomial(250, 0.9),
        Spec::Cosine(10, 0.0),
        Spec::Cosine(7, 0.001),
        Spec::Cosine(1, 0.0),
        Spec::Cosine(2, 0.01),
        Spec::Cosine(100, 0.0),
        Spec::Cosine(37, 0.05),
        Spec::Cosine(5, 0.3),
        Spec::WarmRestarts(5, 1, 0.0),
        Spec::WarmRestarts(3, 2, 1e-4),
        Spec::WarmRestarts(1, 1, 0.0),
        Spec::WarmRestarts(1, 3, 0.01),
        Spec::WarmRestarts(2, 5, 0.0),
        Spec::WarmRestarts(10, 2, 0.001),
        Spec::WarmRestarts(7, 1, 0.02),
        cyclic(0.001, 0.01, 4, None, Triangular, 1.0, true),
        cyclic(0.01, 0.1, 3, Some(5), Triangular2, 1.0, false),
        cyclic(0.01, 0.1, 3, Some(5), Triangular2, 1.0, true),
        cyclic(0.001, 0.006, 4, None, ExpRange, 0.95, true),
        cyclic(0.001, 0.006, 2, Some(7), ExpRange, 0.99, true),
        cyclic(0.01, 0.05, 5, Some(0), Triangular, 1.0, true),
        cyclic(0.01, 0.05, 1, Some(1), Triangular2, 1.0, true),
        cyclic(0.1, 0.01, 6, Some(2), Triangular, 1.0, true),
        cyclic(0.001, 0.01, 0, Some(4), Triangular, 1.0, true),
        cyclic(0.001, 0.01, 40, None, ExpRange, 0.999, true),
        one_cycle(0.1, 20, 0.3, Cos, false, 25.0, 1e4),
        one_cycle(0.05, 15, 0.4, Linear, false, 10.0, 100.0),
        one_cycle(0.2, 24, 0.25, Cos, true, 25.0, 1e4),
        one_cycle(0.2, 24, 0.25, Linear, true, 25.0, 1e4),
        one_cycle(0.1, 50, 0.0, Cos, false, 25.0, 1e4),
        one_cycle(0.1, 50, 1.0, Cos, false, 25.0, 1e4),
        one_cycle(0.1, 10, 0.05, Linear, false, 25.0, 1e4),
        one_cycle(0.1, 10, 0.6, Cos, true, 5.0, 10.0),
        one_cycle(0.1, 3, 2.0 / 3.0, Cos, true, 5.0, 10.0),
        one_cycle(0.1, 300, 0.3, Cos, false, 25.0, 1e4),
        one_cycle(0.1, 299, 0.45, Linear, true, 4.0, 1e3),
        one_cycle(0.1, 1, 0.3, Cos, false, 25.0, 1e4),
        one_cycle(0.1, 10, 0.1, Cos, false, 25.0, 1e4),
    ]
}

#[test]
fn closed_forms_match_torch_step_by_step() {
    for spec in specs() {
        check_alone(&spec);
    }
}

/// The momentum of CyclicLR and OneCycleLR exists exactly with `cycle_momentum`.
#[test]
fn momentum_only_when_cycled() {
    let c = CyclicLR::new(0.01, 0.1);
    assert_eq!(c.momentum_at(0), Some(0.9));
    let c = CyclicLR {
        cycle_momentum: false,
        ..c
    };
    assert_eq!(c.momentum_at(0), None);
    let o = OneCycleLR::new(0.1, 100);
    assert_eq!(o.momentum_at(0), Some(0.95));
    let o = OneCycleLR {
        cycle_momentum: false,
        ..o
    };
    assert_eq!(o.momentum_at(0), None);
    assert_eq!(StepLR::new(0.1, 3).momentum_at(5), None);
}

/// A custom `scale_fn` replaces the mode and follows `scale_mode`.
#[test]
fn cyclic_custom_scale_fn() {
    fn third(_: f64) -> f64 {
        1.0 / 3.0
    }
    fn decay(x: f64) -> f64 {
        0.5f64.powf(x)
    }
    let base = CyclicLR {
        step_size_up: 4,
        ..CyclicLR::new(0.0, 0.3)
    };
    let flat = CyclicLR {
        scale_fn: Some(third),
        ..base
    };
    let by_cycle = CyclicLR {
        scale_fn: Some(decay),
        scale_mode: ScaleMode::Cycle,
        ..base
    };
    let by_step = CyclicLR {
        scale_fn: Some(decay),
        scale_mode: ScaleMode::Iterations,
        mode: CyclicMode::ExpRange, // ignored with a scale_fn
        ..base
    };
    for t in 0..40u64 {
        let tri = base.lr_at_f64(t);
        let cycle = 1 + t / 8;
        assert!((flat.lr_at_f64(t) - tri / 3.0).abs() < 1e-15);
        assert!((by_cycle.lr_at_f64(t) - tri * 0.5f64.powf(cycle as f64)).abs() < 1e-15);
        assert!((by_step.lr_at_f64(t) - tri * 0.5f64.powf(t as f64)).abs() < 1e-15);
        let m = base.momentum_at(t).unwrap() as f64;
        let m_flat = flat.momentum_at(t).unwrap() as f64;
        assert!((m_flat - (0.9 - (0.9 - m) / 3.0)).abs() < 1e-7, "t={t}");
    }
}

// ---------------------------------------------------------------------------------------------
// Composition.
// ---------------------------------------------------------------------------------------------

/// SequentialLR against torch's SequentialLR over the same recursive children.
fn check_sequential(specs: &[Spec], milestones: &[u64]) {
    let mut g = Group::new(0.1);
    let children: Vec<Torch> = specs.iter().map(|s| s.torch(&mut g)).collect();
    // torch's children share the optimizer's `initial_lr` (which a OneCycleLR child overwrites
    // with its max_lr/div_factor).
    let base = g.initial_lr.unwrap();
    let mut torch = TorchSequential::new(
        children,
        milestones.iter().map(|&m| m as i64).collect(),
        &mut g,
    );
    let ours_children: Vec<Box<dyn Schedule + '_>> = specs.iter().map(|s| s.ours(base)).collect();
    let refs: Vec<&dyn Schedule> = ours_children.iter().map(|b| b.as_ref()).collect();
    let ours = SequentialLR {
        schedulers: &refs,
        milestones,
    };
    assert_matches(
        &format!("SequentialLR {specs:?} {milestones:?}"),
        &ours,
        base,
        |g| {
            torch.step(g);
            !torch.raised()
        },
        &mut g,
    );
    // And against the definition: child k at t − m_k.
    for t in 0..=STEPS {
        let k = milestones.iter().take_while(|&&m| m <= t).count();
        let offset = if k == 0 { 0 } else { milestones[k - 1] };
        let want = refs[k].lr_at_f64(t - offset);
        let got = ours.lr_at_f64(t);
        assert!(got == want || (got.is_nan() && want.is_nan()));
        let bits = |m: Option<f32>| m.map(f32::to_bits);
        assert_eq!(
            bits(ours.momentum_at(t)),
            bits(refs[k].momentum_at(t - offset))
        );
    }
}

#[test]
fn sequential_matches_torch() {
    use Spec::*;
    check_sequential(&[Linear(0.1, 1.0, 5), Cosine(95, 0.0)], &[5]);
    check_sequential(
        &[Constant(0.5, 3), Exponential(0.9), Step(10, 0.5)],
        &[5, 20],
    );
    check_sequential(
        &[
            Linear(0.25, 1.0, 4),
            WarmRestarts(5, 2, 0.001),
            MultiStep(vec![3, 3, 50], 0.5),
            Polynomial(40, 2.0),
        ],
        &[4, 60, 150],
    );
    // Equal milestones: the middle child never runs.
    check_sequential(
        &[Exponential(0.95), Step(2, 0.5), Cosine(30, 0.01)],
        &[10, 10],
    );
    check_sequential(
        &[
            Exponential(0.97),
            cyclic(0.001, 0.01, 4, None, CyclicMode::Triangular2, 1.0, true),
            one_cycle(0.2, 100, 0.3, AnnealStrategy::Cos, false, 25.0, 1e4),
        ],
        &[20, 120],
    );
}

/// ChainedScheduler against torch's chaining of recursive children on one parameter group.
fn check_chained(specs: &[Spec]) {
    let base = 0.1;
    let mut g = Group::new(base);
    let mut children: Vec<Torch> = specs.iter().map(|s| s.torch(&mut g)).collect();
    let ours_children: Vec<Box<dyn Schedule + '_>> = specs.iter().map(|s| s.ours(base)).collect();
    let refs: Vec<&dyn Schedule> = ours_children.iter().map(|b| b.as_ref()).collect();
    let ours = ChainedScheduler { schedulers: &refs };
    assert_matches(
        &format!("ChainedScheduler {specs:?}"),
        &ours,
        base,
        |g| {
            for c in &mut children {
                c.step(g);
            }
            children.iter().all(|c| !c.raised)
        },
        &mut g,
    );
    // And against the definition: the product of the factors.
    for t in 0..=STEPS {
        let product: f64 = refs.iter().map(|s| s.factor_at(t)).product();
        let got = ours.lr_at_f64(t);
        let want = base * product;
        assert!((got - want).abs() <= 1e-14 * want.abs().max(base), "t={t}");
        assert!(
            (ours.factor_at(t) - product).abs() <= 1e-14 * product.abs().max(1.0),
            "t={t}"
        );
    }
}

#[test]
fn chained_matches_torch() {
    use Spec::*;
    check_chained(&[Constant(0.5, 3), Exponential(0.9)]);
    check_chained(&[Exponential(0.9), Constant(0.5, 3)]);
    check_chained(&[
        Linear(0.2, 1.0, 10),
        Step(7, 0.5),
        MultiStep(vec![3, 3, 40], 0.5),
    ]);
    check_chained(&[
        Polynomial(200, 2.0),
        Exponential(1.01),
        Linear(1.0, 0.1, 50),
    ]);
    check_chained(&[Step(25, 0.5)]);
}

/// A cosine with `eta_min = 0` is multiplicative: the chain is the product of the values.
#[test]
fn chained_with_cosine_is_the_product() {
    let cos = CosineAnnealingLR::new(0.1, 50);
    let exp = ExponentialLR::new(0.1, 0.98);
    let chain = ChainedScheduler {
        schedulers: &[&exp, &cos],
    };
    for t in 0..=STEPS {
        let want = exp.lr_at_f64(t) * cos.lr_at_f64(t) / 0.1;
        assert!((chain.lr_at_f64(t) - want).abs() <= 1e-15, "t={t}");
    }
    // The momentum is the last cycling child's.
    let c1 = CyclicLR {
        step_size_up: 3,
        ..CyclicLR::new(0.01, 0.1)
    };
    let c2 = CyclicLR {
        step_size_up: 5,
        base_momentum: 0.5,
        ..CyclicLR::new(0.01, 0.1)
    };
    let chain = ChainedScheduler {
        schedulers: &[&c1, &c2, &exp],
    };
    for t in 0..50 {
        assert_eq!(chain.momentum_at(t), c2.momentum_at(t));
    }
}

/// LinearWarmup against torch's idiom SequentialLR([LinearLR(s, 1, W), schedule], [W]).
#[test]
fn warmup_matches_torch_idiom() {
    let mains = [
        Spec::Cosine(100, 0.001),
        Spec::Step(10, 0.5),
        Spec::Exponential(0.97),
        Spec::WarmRestarts(10, 2, 0.0),
        Spec::Polynomial(80, 1.5),
        // Cyclic and one-cycle schedules start at their own value: give the optimizer that lr.
        cyclic(0.1, 0.5, 6, None, CyclicMode::Triangular, 1.0, true),
        one_cycle(0.2, 100, 0.3, AnnealStrategy::Cos, false, 25.0, 1e4),
        one_cycle(0.2, 60, 0.25, AnnealStrategy::Linear, true, 10.0, 1e3),
    ];
    for main in &mains {
        for (w, s) in [(5u64, 0.1), (1, 0.5), (12, 1.0 / 3.0), (30, 1.0)] {
            let base = 0.1;
            let mut g = Group::new(base);
            let warm = Torch::new(
                Kind::Linear {
                    start: s,
                    end: 1.0,
                    total_iters: w as i64,
                },
                &mut g,
            );
            let sched = main.torch(&mut g);
            let mut torch = TorchSequential::new(vec![warm, sched], vec![w as i64], &mut g);
            let schedule = main.ours(base);
            let ours = LinearWarmup {
                warmup_steps: w,
                start_factor: s,
                schedule: schedule.as_ref(),
            };
            assert_matches(
                &format!("LinearWarmup({w}, {s}) {main:?}"),
                &ours,
                base,
                |g| {
                    torch.step(g);
                    !torch.raised()
                },
                &mut g,
            );
        }
    }
    // No warm-up: the schedule itself.
    let cos = CosineAnnealingLR::new(0.1, 10);
    let none = LinearWarmup {
        warmup_steps: 0,
        start_factor: 0.1,
        schedule: &cos as &dyn Schedule,
    };
    for t in 0..50 {
        assert_eq!(none.lr_at_f64(t), cos.lr_at_f64(t));
        assert_eq!(none.factor_at(t), cos.factor_at(t));
    }
}

/// `factor_at` is the value over the base, for every schedule of `specs()`.
#[test]
fn factor_is_value_over_base() {
    for spec in specs() {
        let ours = spec.ours(0.1);
        if ours.validate().is_err() {
            continue;
        }
        let base = match &spec {
            Spec::Cyclic(c) => c.base_lr,
            Spec::OneCycle(o) => o.initial_lr(),
            _ => 0.1,
        };
        for t in 0..=STEPS {
            let (f, v) = (ours.factor_at(t), ours.lr_at_f64(t));
            assert!(
                (f * base - v).abs() <= 1e-15 * v.abs().max(base) || (f.is_nan() && v.is_nan()),
                "{spec:?} t={t}: factor {f}, value {v}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ReduceLROnPlateau.
// ---------------------------------------------------------------------------------------------

/// torch's ReduceLROnPlateau, transliterated with `best = ±inf` floats.
struct TorchPlateau {
    lr: f64,
    max_mode: bool,
    abs_mode: bool,
    factor: f64,
    patience: u64,
    threshold: f64,
    cooldown: u64,
    min_lr: f64,
    eps: f64,
    best: f64,
    num_bad_epochs: u64,
    cooldown_counter: u64,
}

impl TorchPlateau {
    fn of(s: &ReduceLROnPlateau) -> Self {
        let max_mode = s.mode == PlateauMode::Max;
        TorchPlateau {
            lr: s.lr,
            max_mode,
            abs_mode: s.threshold_mode == ThresholdMode::Abs,
            factor: s.factor,
            patience: s.patience,
            threshold: s.threshold,
            cooldown: s.cooldown,
            min_lr: s.min_lr,
            eps: s.eps,
            best: if max_mode {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
            num_bad_epochs: 0,
            cooldown_counter: 0,
        }
    }

    fn step(&mut self, current: f64) -> f64 {
        let better = match (self.max_mode, self.abs_mode) {
            (false, false) => current < self.best * (1.0 - self.threshold),
            (false, true) => current < self.best - self.threshold,
            (true, false) => current > self.best * (self.threshold + 1.0),
            (true, true) => current > self.best + self.threshold,
        };
        if better {
            self.best = current;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            let old = self.lr;
            let new = [old * self.factor, self.min_lr]
                .into_iter()
                .reduce(|a, b| if b > a { b } else { a })
                .unwrap();
            if old - new > self.eps {
                self.lr = new;
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
        self.lr
    }
}

/// A configuration: `(lr, mode, threshold_mode, threshold)` and `(factor, patience, cooldown,
/// min_lr)`.
fn plateau(
    (lr, mode, threshold_mode, threshold): (f64, PlateauMode, ThresholdMode, f64),
    (factor, patience, cooldown, min_lr): (f64, u64, u64, f64),
) -> ReduceLROnPlateau {
    ReduceLROnPlateau {
        mode,
        threshold_mode,
        threshold,
        factor,
        patience,
        cooldown,
        min_lr,
        ..ReduceLROnPlateau::new(lr)
    }
}

#[test]
fn plateau_matches_torch_on_random_metrics() {
    use PlateauMode::{Max, Min};
    use ThresholdMode::{Abs, Rel};
    let configs = [
        plateau((0.1, Min, Rel, 1e-4), (0.5, 2, 0, 0.0)),
        plateau((0.1, Min, Abs, 0.01), (0.1, 1, 2, 1e-4)),
        plateau((0.01, Max, Rel, 0.05), (0.5, 0, 1, 0.0)),
        plateau((0.01, Max, Abs, 0.02), (0.3, 0, 0, 0.0)),
        plateau((1.0, Min, Rel, 0.0), (0.5, 0, 0, 0.1)),
        plateau((1.0, Max, Rel, 0.1), (0.5, 3, 5, 0.01)),
        // best·0: torch's inf·0 = NaN first, so nothing is ever better.
        plateau((1.0, Min, Rel, 1.0), (0.5, 0, 0, 0.0)),
        plateau((0.5, Min, Abs, 0.0), (0.0, 0, 0, 0.0)),
    ];
    let mut rng = Rng::new(7);
    for (i, config) in configs.iter().enumerate() {
        for trial in 0..20 {
            let mut ours = *config;
            let mut torch = TorchPlateau::of(config);
            // Random walks, some positive, some negative, with repeats (equal values occur).
            let offset = [0.0, -3.0, 3.0, -0.2][trial % 4];
            let mut x = f64::from(rng.next()) + offset;
            for step in 0..200 {
                let r = rng.next();
                if r > -0.6 {
                    x += f64::from(rng.next()) * 0.1;
                }
                let metric = x as f32;
                let got = ours.step(metric);
                let want = torch.step(f64::from(metric));
                assert_eq!(got, want as f32, "config {i} trial {trial} step {step}");
                assert_eq!(ours.lr, want);
                assert_eq!(ours.num_bad_epochs, torch.num_bad_epochs);
                assert_eq!(ours.cooldown_counter, torch.cooldown_counter);
                assert_eq!(ours.last_epoch, step + 1);
            }
        }
    }
}

fn run_plateau(s: &mut ReduceLROnPlateau, metrics: &[f32]) -> Vec<f32> {
    metrics.iter().map(|&m| s.step(m)).collect()
}

#[test]
fn plateau_cooldown() {
    let mut s = ReduceLROnPlateau {
        factor: 0.5,
        patience: 1,
        cooldown: 2,
        ..ReduceLROnPlateau::new(0.1)
    };
    let lrs = run_plateau(&mut s, &[1.0; 8]);
    // 2 bad epochs → halve; 2 epochs of cooldown count nothing; 2 more bad → halve.
    assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025]);
    assert!(s.in_cooldown());
    assert_eq!(s.cooldown_counter, 1);
}

#[test]
fn plateau_max_mode_negative_metrics() {
    // max/rel with negative metrics: best·(1 + threshold) is below best, so an equal metric
    // (and even a slightly worse one) counts as better, as in torch.
    let mut s = ReduceLROnPlateau {
        mode: PlateauMode::Max,
        threshold: 0.1,
        patience: 0,
        factor: 0.5,
        ..ReduceLROnPlateau::new(0.1)
    };
    let lrs = run_plateau(&mut s, &[-1.0, -1.0, -1.05, -0.95]);
    assert_eq!(lrs, [0.1; 4]);
    assert_eq!(s.best, Some(f64::from(-0.95f32)));
    // The same with positive metrics: an equal metric is a bad epoch.
    let mut s = ReduceLROnPlateau {
        mode: PlateauMode::Max,
        threshold: 0.1,
        patience: 0,
        factor: 0.5,
        ..ReduceLROnPlateau::new(0.1)
    };
    let lrs = run_plateau(&mut s, &[1.0, 1.0, 1.05, 1.2]);
    assert_eq!(lrs, [0.1, 0.05, 0.025, 0.025]);
}

#[test]
fn plateau_abs_threshold() {
    let mut s = ReduceLROnPlateau {
        threshold_mode: ThresholdMode::Abs,
        threshold: 0.5,
        patience: 0,
        factor: 0.5,
        ..ReduceLROnPlateau::new(0.1)
    };
    // 9.6 is not below 10 − 0.5: bad; 9.4 is; 9.0 is not below 9.4 − 0.5.
    let lrs = run_plateau(&mut s, &[10.0, 9.6, 9.4, 9.0]);
    assert_eq!(lrs, [0.1, 0.05, 0.05, 0.025]);
    assert_eq!(s.best, Some(f64::from(9.4f32)));
}

#[test]
fn plateau_min_lr_and_eps() {
    let mut s = ReduceLROnPlateau {
        factor: 0.5,
        patience: 0,
        min_lr: 0.3,
        ..ReduceLROnPlateau::new(1.0)
    };
    let lrs = run_plateau(&mut s, &[1.0, 2.0, 2.0, 2.0]);
    assert_eq!(lrs, [1.0, 0.5, 0.3, 0.3]);
    // A reduction smaller than eps is skipped, but the cooldown still starts.
    let mut s = ReduceLROnPlateau {
        factor: 0.5,
        patience: 0,
        eps: 0.6,
        cooldown: 3,
        ..ReduceLROnPlateau::new(1.0)
    };
    let lrs = run_plateau(&mut s, &[1.0, 2.0]);
    assert_eq!(lrs, [1.0, 1.0]);
    assert_eq!(s.cooldown_counter, 3);
}

#[test]
fn plateau_nan_and_infinite_metrics() {
    let mut s = ReduceLROnPlateau {
        factor: 0.5,
        patience: 1,
        ..ReduceLROnPlateau::new(0.1)
    };
    // NaN is never better: two NaN in a row are two bad epochs, even as the first metrics.
    let lrs = run_plateau(&mut s, &[f32::NAN, f32::NAN, 1.0, f32::NAN, f32::NAN]);
    assert_eq!(lrs, [0.1, 0.05, 0.05, 0.05, 0.025]);
    assert_eq!(s.best, Some(1.0));
    // +inf is not better than the initial +inf in min mode; −inf is, and then nothing is.
    let mut s = ReduceLROnPlateau {
        factor: 0.5,
        patience: 0,
        ..ReduceLROnPlateau::new(0.1)
    };
    let lrs = run_plateau(&mut s, &[f32::INFINITY, f32::NEG_INFINITY, -1e30]);
    assert_eq!(lrs, [0.05, 0.05, 0.025]);
    assert_eq!(s.best, Some(f64::NEG_INFINITY));
}

/// Setting `mode` after `new` works: `best = None` means the mode's worst value.
#[test]
fn plateau_mode_set_after_new() {
    let mut s = ReduceLROnPlateau::new(0.1);
    s.mode = PlateauMode::Max;
    s.patience = 0;
    assert!(s.is_better(-1e30));
    assert_eq!(s.step(-5.0), 0.1);
    assert_eq!(s.best, Some(-5.0));
}

#[test]
fn plateau_huge_counters_do_not_panic() {
    let mut s = ReduceLROnPlateau {
        patience: u64::MAX,
        cooldown: u64::MAX,
        num_bad_epochs: u64::MAX,
        last_epoch: u64::MAX,
        ..ReduceLROnPlateau::new(0.1)
    };
    s.best = Some(0.0);
    assert_eq!(s.step(1.0), 0.1); // saturating: u64::MAX bad epochs is not > u64::MAX
    assert_eq!(s.last_epoch, u64::MAX);
    assert_eq!(s.num_bad_epochs, u64::MAX);
    let mut s = ReduceLROnPlateau {
        patience: 0,
        cooldown: u64::MAX,
        ..ReduceLROnPlateau::new(0.1)
    };
    run_plateau(&mut s, &[1.0, 2.0]);
    assert_eq!(s.lr, 0.1 * 0.1);
    assert_eq!(s.cooldown_counter, u64::MAX);
    // Invalid fields: no panic, the formula.
    let mut s = ReduceLROnPlateau {
        factor: f64::NAN,
        patience: 0,
        ..ReduceLROnPlateau::new(0.1)
    };
    assert!(s.validate().is_err());
    run_plateau(&mut s, &[1.0, 2.0]);
    // Python's max(NaN, 0.0) is NaN, and `old − NaN > eps` is false: the lr stays.
    assert_eq!(s.lr, 0.1);
    assert_eq!(s.cooldown_counter, 0);
}

// ---------------------------------------------------------------------------------------------
// validate(): every bad hyper-parameter, by name.
// ---------------------------------------------------------------------------------------------

fn bad<T>(what: &'static str) -> Result<T, Error> {
    Err(Error::InvalidHyperParameter { what })
}

#[test]
fn defaults_are_valid() {
    assert_eq!(StepLR::new(0.1, 30).validate(), Ok(()));
    assert_eq!(MultiStepLR::new(0.1, &[30, 80]).validate(), Ok(()));
    assert_eq!(ExponentialLR::new(0.1, 0.95).validate(), Ok(()));
    assert_eq!(LinearLR::new(0.1).validate(), Ok(()));
    assert_eq!(ConstantLR::new(0.1).validate(), Ok(()));
    assert_eq!(PolynomialLR::new(0.1).validate(), Ok(()));
    assert_eq!(CosineAnnealingLR::new(0.1, 100).validate(), Ok(()));
    assert_eq!(CosineAnnealingWarmRestarts::new(0.1, 10).validate(), Ok(()));
    assert_eq!(CyclicLR::new(0.01, 0.1).validate(), Ok(()));
    assert_eq!(OneCycleLR::new(0.1, 100).validate(), Ok(()));
    assert_eq!(ReduceLROnPlateau::new(0.1).validate(), Ok(()));
    // torch's defaults.
    let l = LinearLR::new(0.1);
    assert_eq!(
        (l.start_factor, l.end_factor, l.total_iters),
        (1.0 / 3.0, 1.0, 5)
    );
    let c = ConstantLR::new(0.1);
    assert_eq!((c.factor, c.total_iters), (1.0 / 3.0, 5));
    let c = CyclicLR::new(0.01, 0.1);
    assert_eq!(
        (
            c.step_size_up,
            c.step_size_down,
            c.mode,
            c.gamma,
            c.scale_mode
        ),
        (2000, None, CyclicMode::Triangular, 1.0, ScaleMode::Cycle)
    );
    assert_eq!(
        (c.cycle_momentum, c.base_momentum, c.max_momentum),
        (true, 0.8, 0.9)
    );
    let o = OneCycleLR::new(0.1, 100);
    assert_eq!(
        (
            o.pct_start,
            o.anneal_strategy,
            o.div_factor,
            o.final_div_factor,
            o.three_phase
        ),
        (0.3, AnnealStrategy::Cos, 25.0, 1e4, false)
    );
    assert_eq!((o.base_momentum, o.max_momentum), (0.85, 0.95));
    let p = ReduceLROnPlateau::new(0.1);
    assert_eq!(
        (p.mode, p.factor, p.patience, p.threshold, p.threshold_mode),
        (PlateauMode::Min, 0.1, 10, 1e-4, ThresholdMode::Rel)
    );
    assert_eq!((p.cooldown, p.min_lr, p.eps, p.best), (0, 0.0, 1e-8, None));
}

const NON_FINITE: [f64; 3] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

#[test]
fn validate_rejects_each_bad_hyper_parameter() {
    // Learning rates and decays: negative or not finite.
    for x in [-1e-9, -1.0].into_iter().chain(NON_FINITE) {
        assert_eq!(StepLR::new(x, 3).validate(), bad("base_lr"));
        let s = StepLR {
            gamma: x,
            ..StepLR::new(0.1, 3)
        };
        assert_eq!(s.validate(), bad("gamma"));
        assert_eq!(MultiStepLR::new(x, &[1]).validate(), bad("base_lr"));
        let m = MultiStepLR {
            gamma: x,
            ..MultiStepLR::new(0.1, &[1])
        };
        assert_eq!(m.validate(), bad("gamma"));
        assert_eq!(ExponentialLR::new(x, 0.9).validate(), bad("base_lr"));
        assert_eq!(ExponentialLR::new(0.1, x).validate(), bad("gamma"));
        assert_eq!(LinearLR::new(x).validate(), bad("base_lr"));
        assert_eq!(ConstantLR::new(x).validate(), bad("base_lr"));
        assert_eq!(PolynomialLR::new(x).validate(), bad("base_lr"));
        let p = PolynomialLR {
            power: x,
            ..PolynomialLR::new(0.1)
        };
        assert_eq!(p.validate(), bad("power"));
        assert_eq!(CosineAnnealingLR::new(x, 10).validate(), bad("base_lr"));
        let c = CosineAnnealingLR {
            eta_min: x,
            ..CosineAnnealingLR::new(0.1, 10)
        };
        assert_eq!(c.validate(), bad("eta_min"));
        assert_eq!(
            CosineAnnealingWarmRestarts::new(x, 10).validate(),
            bad("base_lr")
        );
        let w = CosineAnnealingWarmRestarts {
            eta_min: x,
            ..CosineAnnealingWarmRestarts::new(0.1, 10)
        };
        assert_eq!(w.validate(), bad("eta_min"));
        assert_eq!(CyclicLR::new(x, 0.1).validate(), bad("base_lr"));
        assert_eq!(CyclicLR::new(0.1, x).validate(), bad("max_lr"));
        let c = CyclicLR::new(0.01, 0.1);
        assert_eq!(CyclicLR { gamma: x, ..c }.validate(), bad("gamma"));
        assert_eq!(
            CyclicLR {
                base_momentum: x,
                ..c
            }
            .validate(),
            bad("base_momentum")
        );
        assert_eq!(
            CyclicLR {
                max_momentum: x,
                ..c
            }
            .validate(),
            bad("max_momentum")
        );
        let off = CyclicLR {
            cycle_momentum: false,
            ..c
        };
        assert_eq!(
            CyclicLR {
                base_momentum: x,
                ..off
            }
            .validate(),
            Ok(())
        );
        let o = OneCycleLR::new(0.1, 100);
        assert_eq!(OneCycleLR { max_lr: x, ..o }.validate(), bad("max_lr"));
        assert_eq!(
            OneCycleLR {
                base_momentum: x,
                ..o
            }
            .validate(),
            bad("base_momentum")
        );
        assert_eq!(
            OneCycleLR {
                max_momentum: x,
                ..o
            }
            .validate(),
            bad("max_momentum")
        );
        assert_eq!(
            OneCycleLR { div_factor: x, ..o }.validate(),
            bad("div_factor")
        );
        assert_eq!(
            OneCycleLR {
                final_div_factor: x,
                ..o
            }
            .validate(),
            bad("final_div_factor")
        );
        assert_eq!(ReduceLROnPlateau::new(x).validate(), bad("lr"));
        let p = ReduceLROnPlateau::new(0.1);
        assert_eq!(
            ReduceLROnPlateau { threshold: x, ..p }.validate(),
            bad("threshold")
        );
        assert_eq!(
            ReduceLROnPlateau { min_lr: x, ..p }.validate(),
            bad("min_lr")
        );
        assert_eq!(ReduceLROnPlateau { eps: x, ..p }.validate(), bad("eps"));
        assert_eq!(
            ReduceLROnPlateau { factor: x, ..p }.validate(),
            bad("factor")
        );
    }
    // Zero divisors.
    let o = OneCycleLR::new(0.1, 100);
    assert_eq!(
        OneCycleLR {
            div_factor: 0.0,
            ..o
        }
        .validate(),
        bad("div_factor")
    );
    assert_eq!(
        OneCycleLR {
            final_div_factor: 0.0,
            ..o
        }
        .validate(),
        bad("final_div_factor")
    );
    // Integers that torch divides by, or rejects.
    assert_eq!(StepLR::new(0.1, 0).validate(), bad("step_size"));
    assert_eq!(CosineAnnealingLR::new(0.1, 0).validate(), bad("T_max"));
    assert_eq!(
        CosineAnnealingWarmRestarts::new(0.1, 0).validate(),
        bad("T_0")
    );
    let w = CosineAnnealingWarmRestarts {
        t_mult: 0,
        ..CosineAnnealingWarmRestarts::new(0.1, 10)
    };
    assert_eq!(w.validate(), bad("T_mult"));
    let c = CyclicLR {
        step_size_up: 0,
        ..CyclicLR::new(0.01, 0.1)
    };
    assert_eq!(c.validate(), bad("step_size_up"));
    let c = CyclicLR {
        step_size_down: Some(0),
        ..CyclicLR::new(0.01, 0.1)
    };
    assert_eq!(c.validate(), Ok(())); // a sawtooth, as torch allows
    assert_eq!(OneCycleLR::new(0.1, 0).validate(), bad("total_steps"));
    // LinearLR: start in (0, 1], end in [0, 1] (torch's ValueErrors).
    for s in [0.0, -0.1, 1.0001, 2.0, f64::NAN, f64::INFINITY] {
        let l = LinearLR {
            start_factor: s,
            ..LinearLR::new(0.1)
        };
        assert_eq!(l.validate(), bad("start_factor"), "{s}");
        let w = LinearWarmup {
            warmup_steps: 3,
            start_factor: s,
            schedule: StepLR::new(0.1, 3),
        };
        assert_eq!(w.validate(), bad("start_factor"), "{s}");
    }
    for e in [-0.1, 1.0001, f64::NAN] {
        let l = LinearLR {
            end_factor: e,
            ..LinearLR::new(0.1)
        };
        assert_eq!(l.validate(), bad("end_factor"), "{e}");
    }
    let l = LinearLR {
        end_factor: 0.0,
        start_factor: 1.0,
        ..LinearLR::new(0.1)
    };
    assert_eq!(l.validate(), Ok(()));
    // ConstantLR: factor in [0, 1]; 0 only without steps (torch divides by it at total_iters).
    for f in [-0.1, 1.0001, f64::NAN] {
        let c = ConstantLR {
            factor: f,
            ..ConstantLR::new(0.1)
        };
        assert_eq!(c.validate(), bad("factor"), "{f}");
    }
    let c = ConstantLR {
        factor: 0.0,
        ..ConstantLR::new(0.1)
    };
    assert_eq!(c.validate(), bad("factor"));
    assert_eq!(
        ConstantLR {
            total_iters: 0,
            ..c
        }
        .validate(),
        Ok(())
    );
    assert_eq!(ConstantLR { factor: 1.0, ..c }.validate(), Ok(()));
    // OneCycleLR: pct_start in [0, 1], and not 1/total_steps (torch: ZeroDivisionError).
    for p in [-0.01, 1.01, f64::NAN] {
        let o = OneCycleLR {
            pct_start: p,
            ..OneCycleLR::new(0.1, 100)
        };
        assert_eq!(o.validate(), bad("pct_start"), "{p}");
    }
    for (p, total) in [(0.1, 10), (0.01, 100), (1.0, 1), (0.5, 2)] {
        let o = OneCycleLR {
            pct_start: p,
            ..OneCycleLR::new(0.1, total)
        };
        assert_eq!(o.validate(), bad("pct_start"), "{p} {total}");
        assert!(o.lr_at_f64(0).is_nan());
    }
    for p in [0.0, 1.0] {
        let o = OneCycleLR {
            pct_start: p,
            ..OneCycleLR::new(0.1, 100)
        };
        assert_eq!(o.validate(), Ok(()), "{p}");
    }
    assert_eq!(OneCycleLR::from_epochs(0.1, 0, 10), bad("epochs"));
    assert_eq!(OneCycleLR::from_epochs(0.1, 10, 0), bad("steps_per_epoch"));
    assert_eq!(
        OneCycleLR::from_epochs(0.1, u64::MAX, 2),
        bad("steps_per_epoch")
    );
    assert_eq!(
        OneCycleLR::from_epochs(0.1, 10, 25),
        Ok(OneCycleLR::new(0.1, 250))
    );
    // ReduceLROnPlateau: factor < 1 (torch's ValueError).
    for f in [1.0, 1.5] {
        let p = ReduceLROnPlateau {
            factor: f,
            ..ReduceLROnPlateau::new(0.1)
        };
        assert_eq!(p.validate(), bad("factor"));
    }
    let p = ReduceLROnPlateau {
        factor: 0.0,
        ..ReduceLROnPlateau::new(0.1)
    };
    assert_eq!(p.validate(), Ok(()));
}

#[test]
fn validate_composites() {
    let a = StepLR::new(0.1, 3);
    let b = ExponentialLR::new(0.1, 0.9);
    let broken = StepLR::new(0.1, 0);
    let ok = SequentialLR {
        schedulers: &[&a, &b],
        milestones: &[5],
    };
    assert_eq!(ok.validate(), Ok(()));
    let empty = SequentialLR {
        schedulers: &[],
        milestones: &[],
    };
    assert_eq!(empty.validate(), bad("schedulers"));
    for milestones in [&[][..], &[5, 6][..]] {
        let s = SequentialLR {
            schedulers: &[&a, &b],
            milestones,
        };
        assert_eq!(s.validate(), bad("milestones"));
    }
    let unsorted = SequentialLR {
        schedulers: &[&a, &b, &a],
        milestones: &[9, 5],
    };
    assert_eq!(unsorted.validate(), bad("milestones"));
    let equal = SequentialLR {
        schedulers: &[&a, &b, &a],
        milestones: &[5, 5],
    };
    assert_eq!(equal.validate(), Ok(()));
    let child = SequentialLR {
        schedulers: &[&a, &broken],
        milestones: &[5],
    };
    assert_eq!(child.validate(), bad("step_size"));
    assert_eq!(
        ChainedScheduler { schedulers: &[] }.validate(),
        bad("schedulers")
    );
    assert_eq!(
        ChainedScheduler {
            schedulers: &[&a, &b]
        }
        .validate(),
        Ok(())
    );
    assert_eq!(
        ChainedScheduler {
            schedulers: &[&a, &broken]
        }
        .validate(),
        bad("step_size")
    );
    let w = LinearWarmup {
        warmup_steps: 5,
        start_factor: 0.1,
        schedule: broken,
    };
    assert_eq!(w.validate(), bad("step_size"));
}

// ---------------------------------------------------------------------------------------------
// No panic, whatever the fields: the documented values.
// ---------------------------------------------------------------------------------------------

const EDGES: [u64; 6] = [0, 1, 2, 1 << 53, u64::MAX - 1, u64::MAX];

#[test]
fn zero_fields_give_the_documented_values() {
    // Where torch divides by zero on its first step: the base at t = 0, NaN after.
    let s = StepLR::new(0.1, 0);
    let c = CosineAnnealingLR::new(0.1, 0);
    for sched in [&s as &dyn Schedule, &c] {
        assert_eq!(sched.lr_at(0), 0.1);
        for t in &EDGES[1..] {
            assert!(sched.lr_at(*t).is_nan());
        }
    }
    // Where torch's constructor raises: NaN everywhere.
    let w0 = CosineAnnealingWarmRestarts::new(0.1, 0);
    let wm = CosineAnnealingWarmRestarts {
        t_mult: 0,
        ..CosineAnnealingWarmRestarts::new(0.1, 3)
    };
    let cy = CyclicLR {
        step_size_up: 0,
        ..CyclicLR::new(0.01, 0.1)
    };
    let cy0 = CyclicLR {
        step_size_up: 0,
        step_size_down: Some(0),
        ..CyclicLR::new(0.01, 0.1)
    };
    let o0 = OneCycleLR::new(0.1, 0);
    for sched in [&w0 as &dyn Schedule, &wm, &cy, &cy0, &o0] {
        for t in EDGES {
            assert!(sched.lr_at(t).is_nan());
        }
    }
    assert!(cy.momentum_at(3).unwrap().is_nan());
    assert!(o0.momentum_at(0).unwrap().is_nan());
    // torch's recursive quirks at total_iters = 0: the start factor for ever.
    let l = LinearLR {
        total_iters: 0,
        start_factor: 0.5,
        ..LinearLR::new(0.1)
    };
    let k = ConstantLR {
        total_iters: 0,
        factor: 0.5,
        ..ConstantLR::new(0.1)
    };
    let p = PolynomialLR {
        total_iters: 0,
        ..PolynomialLR::new(0.1)
    };
    for t in EDGES {
        assert_eq!(l.lr_at(t), 0.05);
        assert_eq!(k.lr_at(t), 0.05);
        assert_eq!(p.lr_at(t), 0.1);
    }
    // Sawtooth: step_size_down = 0.
    let saw = CyclicLR {
        step_size_up: 4,
        step_size_down: Some(0),
        ..CyclicLR::new(0.0, 0.4)
    };
    let lrs: Vec<f32> = (0..9).map(|t| saw.lr_at(t)).collect();
    assert_eq!(lrs, [0.0, 0.1, 0.2, 0.3, 0.0, 0.1, 0.2, 0.3, 0.0]);
    // Empty composites: NaN.
    let seq = SequentialLR {
        schedulers: &[],
        milestones: &[],
    };
    let chain = ChainedScheduler { schedulers: &[] };
    for t in EDGES {
        assert!(seq.lr_at(t).is_nan() && seq.factor_at(t).is_nan());
        assert!(chain.lr_at(t).is_nan() && chain.factor_at(t).is_nan());
        assert_eq!(seq.momentum_at(t), None);
        assert_eq!(chain.momentum_at(t), None);
    }
    // More milestones than children: NaN once no child is left.
    let a = StepLR::new(0.1, 3);
    let seq = SequentialLR {
        schedulers: &[&a],
        milestones: &[5],
    };
    assert_eq!(seq.lr_at(4), a.lr_at(4));
    assert!(seq.lr_at(5).is_nan());
    // Unsorted milestones: a child runs until the first later milestone that is greater.
    let b = ExponentialLR::new(0.2, 1.0);
    let c = ExponentialLR::new(0.3, 1.0);
    let seq = SequentialLR {
        schedulers: &[&a, &b, &c],
        milestones: &[9, 5],
    };
    // Unsorted milestones (rejected by validate): the child after the longest prefix of
    // milestones ≤ t runs, at t minus the prefix's last milestone.
    assert_eq!(seq.lr_at(8), a.lr_at(8));
    assert_eq!(seq.lr_at(9), 0.3);
    assert_eq!(seq.lr_at(u64::MAX), 0.3);
}

#[test]
fn huge_fields_and_steps_give_the_documented_values() {
    let max = u64::MAX;
    let s = StepLR {
        gamma: 0.5,
        ..StepLR::new(0.1, max)
    };
    assert_eq!(s.lr_at(max - 1), 0.1);
    assert_eq!(s.lr_at(max), 0.05);
    assert_eq!(StepLR::new(0.1, 1).lr_at(max), 0.0);
    assert_eq!(ExponentialLR::new(0.1, 0.9).lr_at(max), 0.0);
    assert_eq!(ExponentialLR::new(0.1, 1.0).lr_at(max), 0.1);
    assert_eq!(ExponentialLR::new(0.1, 1.5).lr_at(max), f32::INFINITY);
    let milestones = [max, max, 0];
    let m = MultiStepLR {
        gamma: 0.5,
        ..MultiStepLR::new(0.1, &milestones)
    };
    assert_eq!(m.lr_at(max - 1), 0.05);
    assert_eq!(m.lr_at(max), 0.0125);
    let l = LinearLR {
        total_iters: max,
        start_factor: 0.5,
        end_factor: 0.0,
        ..LinearLR::new(0.1)
    };
    assert_eq!(l.lr_at(0), 0.05);
    assert_eq!(l.lr_at(max), 0.0);
    let k = ConstantLR {
        total_iters: max,
        factor: 0.5,
        ..ConstantLR::new(0.1)
    };
    assert_eq!(k.lr_at(max - 1), 0.05);
    assert_eq!(k.lr_at(max), 0.1);
    let p = PolynomialLR {
        total_iters: max,
        power: 2.0,
        ..PolynomialLR::new(0.1)
    };
    assert_eq!(p.lr_at(0), 0.1);
    assert_eq!(p.lr_at(max), 0.0);
    // A negative power (invalid): +∞ from total_iters on, where torch raises.
    let neg = PolynomialLR {
        total_iters: 4,
        power: -1.0,
        ..PolynomialLR::new(0.1)
    };
    assert_eq!(neg.lr_at(3), 0.4);
    assert_eq!(neg.lr_at(4), f32::INFINITY);
    assert_eq!(neg.lr_at(max), f32::INFINITY);
    // The cosine's period is reduced exactly: odd multiples of T_max are the minimum.
    let c = CosineAnnealingLR {
        eta_min: 0.01,
        ..CosineAnnealingLR::new(0.1, 1)
    };
    assert_eq!(c.lr_at(max), 0.01);
    assert_eq!(c.lr_at(max - 1), 0.1);
    let c = CosineAnnealingLR {
        eta_min: 0.01,
        ..CosineAnnealingLR::new(0.1, max)
    };
    assert_eq!(c.lr_at(max), 0.01);
    let c = CosineAnnealingLR::new(0.1, max / 2 + 1); // 2·T_max overflows u64
    assert!((c.lr_at(max) - 0.1).abs() < 1e-9); // t ≈ 2·T_max: back at the top
    assert_eq!(c.lr_at(max / 2 + 1), 0.0);
    // Warm restarts: periods 1, 2, 4, … 2^63 add up to u64::MAX, so u64::MAX is a restart.
    let w = CosineAnnealingWarmRestarts {
        t_mult: 2,
        ..CosineAnnealingWarmRestarts::new(0.1, 1)
    };
    assert_eq!(w.lr_at(max), 0.1);
    assert_eq!(w.lr_at(max - 1), 0.0);
    let w = CosineAnnealingWarmRestarts {
        t_mult: max,
        ..CosineAnnealingWarmRestarts::new(0.1, max)
    };
    assert_eq!(w.lr_at(max - 1), 0.0);
    assert_eq!(w.lr_at(max), 0.1);
    let w = CosineAnnealingWarmRestarts {
        t_mult: 1,
        ..CosineAnnealingWarmRestarts::new(0.1, 3)
    };
    assert_eq!(w.lr_at(max), w.lr_at(max % 3));
    // Cyclic with huge half cycles (their sum overflows u64).
    let c = CyclicLR {
        step_size_up: max,
        step_size_down: Some(max),
        ..CyclicLR::new(0.0, 1.0)
    };
    assert_eq!(c.lr_at(0), 0.0);
    assert_eq!(c.lr_at(max), 1.0);
    let c = CyclicLR {
        step_size_up: 1,
        mode: CyclicMode::Triangular2,
        ..CyclicLR::new(0.01, 1.0)
    };
    assert_eq!(c.lr_at(max), 0.01);
    let c = CyclicLR {
        step_size_up: 1,
        mode: CyclicMode::ExpRange,
        gamma: 0.9,
        ..CyclicLR::new(0.01, 1.0)
    };
    assert_eq!(c.lr_at(max), 0.01);
    assert_eq!(c.momentum_at(max), Some(0.9));
    // OneCycle: NaN past total_steps (torch raises), defined at total_steps.
    let o = OneCycleLR::new(0.1, 100);
    assert!(o.lr_at(100).is_finite());
    assert!(o.lr_at(101).is_nan() && o.momentum_at(101).unwrap().is_nan());
    assert!(o.lr_at(max).is_nan());
    let o = OneCycleLR::new(0.1, max);
    assert!((o.lr_at(0) - 0.004).abs() < 1e-9);
    assert!(o.lr_at(max).is_finite());
    // pct_start = 1: torch divides by zero at t = total_steps only.
    let o = OneCycleLR {
        pct_start: 1.0,
        ..OneCycleLR::new(0.1, 10)
    };
    assert_eq!(o.validate(), Ok(()));
    assert_eq!(o.lr_at(9), 0.1);
    assert!(o.lr_at(10).is_nan());
    // Warm-up of u64::MAX steps.
    let w = LinearWarmup {
        warmup_steps: max,
        start_factor: 0.5,
        schedule: ExponentialLR::new(0.1, 0.5),
    };
    assert_eq!(w.lr_at(0), 0.05);
    assert_eq!(w.lr_at(max - 1), 0.1);
    assert_eq!(w.lr_at(max), 0.1);
    // Sequential with a milestone at u64::MAX.
    let a = ExponentialLR::new(0.1, 1.0);
    let b = ExponentialLR::new(0.2, 0.5);
    let seq = SequentialLR {
        schedulers: &[&a, &b],
        milestones: &[max],
    };
    assert_eq!(seq.lr_at(max - 1), 0.1);
    assert_eq!(seq.lr_at(max), 0.2);
}

/// Random field values, valid or not, never panic.
#[test]
fn random_fields_never_panic() {
    let mut rng = Rng::new(11);
    let int = |rng: &mut Rng| -> u64 {
        match (rng.next() * 4.0) as i32 {
            -4 | -3 => 0,
            -2 | -1 => ((rng.next() + 1.0) * 10.0) as u64,
            0 | 1 => u64::MAX - ((rng.next() + 1.0) * 3.0) as u64,
            _ => ((rng.next() + 1.0) * 1e9) as u64,
        }
    };
    let real = |rng: &mut Rng| -> f64 {
        match (rng.next() * 4.0) as i32 {
            -4 => f64::NAN,
            -3 => f64::INFINITY,
            -2 => -1.0,
            -1 => 0.0,
            _ => f64::from(rng.next()) * 2.0,
        }
    };
    for _ in 0..2000 {
        let steps = [0, 1, int(&mut rng), u64::MAX];
        let milestones = [int(&mut rng), int(&mut rng), 0];
        let scheds: Vec<Box<dyn Schedule>> = vec![
            Box::new(StepLR {
                base_lr: real(&mut rng),
                step_size: int(&mut rng),
                gamma: real(&mut rng),
            }),
            Box::new(ExponentialLR::new(real(&mut rng), real(&mut rng))),
            Box::new(LinearLR {
                base_lr: real(&mut rng),
                start_factor: real(&mut rng),
                end_factor: real(&mut rng),
                total_iters: int(&mut rng),
            }),
            Box::new(ConstantLR {
                base_lr: real(&mut rng),
                factor: real(&mut rng),
                total_iters: int(&mut rng),
            }),
            Box::new(PolynomialLR {
                base_lr: real(&mut rng),
                total_iters: int(&mut rng),
                power: real(&mut rng),
            }),
            Box::new(CosineAnnealingLR {
                base_lr: real(&mut rng),
                t_max: int(&mut rng),
                eta_min: real(&mut rng),
            }),
            Box::new(CosineAnnealingWarmRestarts {
                base_lr: real(&mut rng),
                t_0: int(&mut rng),
                t_mult: int(&mut rng),
                eta_min: real(&mut rng),
            }),
            Box::new(CyclicLR {
                base_lr: real(&mut rng),
                max_lr: real(&mut rng),
                step_size_up: int(&mut rng),
                step_size_down: Some(int(&mut rng)),
                mode: CyclicMode::Triangular2,
                gamma: real(&mut rng),
                ..CyclicLR::new(0.0, 0.0)
            }),
            Box::new(OneCycleLR {
                max_lr: real(&mut rng),
                total_steps: int(&mut rng),
                pct_start: real(&mut rng),
                div_factor: real(&mut rng),
                final_div_factor: real(&mut rng),
                three_phase: rng.next() > 0.0,
                base_momentum: real(&mut rng),
                ..OneCycleLR::new(0.0, 0)
            }),
        ];
        let refs: Vec<&dyn Schedule> = scheds.iter().map(|b| b.as_ref()).collect();
        let m = MultiStepLR::new(real(&mut rng), &milestones);
        let seq = SequentialLR {
            schedulers: &refs,
            milestones: &milestones,
        };
        let chain = ChainedScheduler { schedulers: &refs };
        for s in refs
            .iter()
            .copied()
            .chain([&m as &dyn Schedule, &seq, &chain])
        {
            let _ = s.validate();
            for &t in &steps {
                let _ = (s.lr_at(t), s.factor_at(t), s.momentum_at(t));
            }
        }
        let mut p = ReduceLROnPlateau {
            lr: real(&mut rng),
            factor: real(&mut rng),
            patience: int(&mut rng),
            threshold: real(&mut rng),
            cooldown: int(&mut rng),
            min_lr: real(&mut rng),
            eps: real(&mut rng),
            num_bad_epochs: int(&mut rng),
            cooldown_counter: int(&mut rng),
            last_epoch: int(&mut rng),
            ..ReduceLROnPlateau::new(0.0)
        };
        let _ = p.validate();
        for _ in 0..5 {
            p.step(real(&mut rng) as f32);
        }
    }
}

/// A base of 0 stays 0 when `γ^k` overflows `f64` (torch multiplies step by step: `0·γ = 0`);
/// the product `0·∞` gave NaN for valid hyper-parameters. Found by `fuzz/` (`schedule`).
#[test]
fn zero_base_stays_zero_when_the_factor_overflows() {
    let gamma = f32::MAX as f64;
    let step = StepLR {
        base_lr: 0.0,
        step_size: 5,
        gamma,
    };
    let multi = MultiStepLR {
        base_lr: 0.0,
        milestones: &[0; 40],
        gamma,
    };
    let exp = ExponentialLR {
        base_lr: 0.0,
        gamma,
    };
    for s in [&step as &dyn Schedule, &multi, &exp] {
        s.validate().unwrap();
        assert_eq!(s.lr_at_f64(45), 0.0);
        assert_eq!(s.lr_at(45), 0.0);
    }
    // A positive base overflows to +∞, as torch's recursion does; invalid fields keep NaN.
    assert_eq!(
        StepLR {
            base_lr: 1.0,
            ..step
        }
        .lr_at_f64(45),
        f64::INFINITY
    );
    assert!(StepLR {
        step_size: 0,
        ..step
    }
    .lr_at_f64(1)
    .is_nan());
}
