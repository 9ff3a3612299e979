//! The `schedules` family: `descent::schedule` against `torch.optim.lr_scheduler`.
//!
//! Every hyper-parameter of a case must be read: one the runner does not know fails the case.

use crate::case::Case;
use descent::schedule::{
    AnnealStrategy, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
    CyclicMode, ExponentialLR, LinearLR, MultiStepLR, OneCycleLR, PlateauMode, PolynomialLR,
    ReduceLROnPlateau, ScaleMode, Schedule, StepLR, ThresholdMode,
};
use std::cell::RefCell;

/// The case's hyper-parameters, remembering which ones were read.
struct Hparams<'c> {
    case: &'c Case,
    used: RefCell<Vec<&'static str>>,
}

impl<'c> Hparams<'c> {
    fn new(case: &'c Case) -> Self {
        Hparams {
            case,
            used: RefCell::new(Vec::new()),
        }
    }

    fn mark(&self, name: &'static str) {
        self.used.borrow_mut().push(name);
    }

    fn f64(&self, name: &'static str) -> Result<f64, String> {
        self.mark(name);
        self.case.hp_f64(name)
    }

    fn u64(&self, name: &'static str) -> Result<u64, String> {
        self.mark(name);
        self.case.hp_usize(name).map(|v| v as u64)
    }

    fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, String> {
        self.mark(name);
        match self.case.hparams.get(name) {
            Some(serde_json::Value::Null) => Ok(None),
            Some(_) => self.case.hp_usize(name).map(|v| Some(v as u64)),
            None => Err(format!("missing hparam `{name}`")),
        }
    }

    fn bool(&self, name: &'static str) -> Result<bool, String> {
        self.mark(name);
        self.case.hp_bool(name)
    }

    fn str(&self, name: &'static str) -> Result<&'c str, String> {
        self.mark(name);
        self.case.hp_str(name)
    }

    fn u64_list(&self, name: &'static str) -> Result<Vec<u64>, String> {
        self.mark(name);
        let list = self
            .case
            .hparams
            .get(name)
            .and_then(|v| v.as_array())
            .ok_or_else(|| format!("hparam `{name}` is not a list"))?;
        list.iter()
            .map(|v| {
                v.as_u64()
                    .ok_or_else(|| format!("hparam `{name}` holds {v}, not a step"))
            })
            .collect()
    }

    /// A hyper-parameter that torch reads but then overwrites (the optimizer's `lr` for CyclicLR
    /// and OneCycleLR): it has no effect on the result.
    fn overwritten(&self, name: &'static str) -> Result<(), String> {
        self.f64(name).map(|_| ())
    }

    /// Fails on any hyper-parameter that was not read.
    fn finish(&self) -> Result<(), String> {
        let used = self.used.borrow();
        match self
            .case
            .hparams
            .keys()
            .find(|k| !used.contains(&k.as_str()))
        {
            Some(k) => Err(format!("unhandled hparam `{k}`")),
            None => Ok(()),
        }
    }
}

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let allowed_inputs: &[&str] = match case.name.as_str() {
        "reduce_lr_on_plateau" => &["steps", "metrics"],
        _ => &["steps"],
    };
    if let Some(extra) = case
        .inputs
        .keys()
        .find(|k| !allowed_inputs.contains(&k.as_str()))
    {
        return Err(format!("unsupported input `{extra}`"));
    }
    let steps = case.input("steps")?.indices()?;
    let &[n] = steps.as_slice() else {
        return Err(format!("`steps` holds {steps:?}, expected one value"));
    };

    let hp = Hparams::new(case);
    if case.name == "reduce_lr_on_plateau" {
        return plateau(case, &hp, n);
    }

    let milestones; // borrowed by MultiStepLR
    let schedule: Box<dyn Schedule> = match case.name.as_str() {
        "step_lr" => Box::new(StepLR {
            base_lr: hp.f64("lr")?,
            step_size: hp.u64("step_size")?,
            gamma: hp.f64("gamma")?,
        }),
        "multi_step_lr" => {
            milestones = hp.u64_list("milestones")?;
            Box::new(MultiStepLR {
                base_lr: hp.f64("lr")?,
                milestones: &milestones,
                gamma: hp.f64("gamma")?,
            })
        }
        "exponential_lr" => Box::new(ExponentialLR {
            base_lr: hp.f64("lr")?,
            gamma: hp.f64("gamma")?,
        }),
        "linear_lr" => Box::new(LinearLR {
            base_lr: hp.f64("lr")?,
            start_factor: hp.f64("start_factor")?,
            end_factor: hp.f64("end_factor")?,
            total_iters: hp.u64("total_iters")?,
        }),
        "constant_lr" => Box::new(ConstantLR {
            base_lr: hp.f64("lr")?,
            factor: hp.f64("factor")?,
            total_iters: hp.u64("total_iters")?,
        }),
        "polynomial_lr" => Box::new(PolynomialLR {
            base_lr: hp.f64("lr")?,
            total_iters: hp.u64("total_iters")?,
            power: hp.f64("power")?,
        }),
        "cosine_annealing_lr" => Box::new(CosineAnnealingLR {
            base_lr: hp.f64("lr")?,
            t_max: hp.u64("T_max")?,
            eta_min: hp.f64("eta_min")?,
        }),
        "cosine_annealing_warm_restarts" => Box::new(CosineAnnealingWarmRestarts {
            base_lr: hp.f64("lr")?,
            t_0: hp.u64("T_0")?,
            t_mult: hp.u64("T_mult")?,
            eta_min: hp.f64("eta_min")?,
        }),
        "cyclic_lr" => {
            // torch overwrites the optimizer's lr with base_lr (and its momentum when cycled).
            hp.overwritten("lr")?;
            Box::new(CyclicLR {
                base_lr: hp.f64("base_lr")?,
                max_lr: hp.f64("max_lr")?,
                step_size_up: hp.u64("step_size_up")?,
                step_size_down: hp.opt_u64("step_size_down")?,
                mode: match hp.str("mode")? {
                    "triangular" => CyclicMode::Triangular,
                    "triangular2" => CyclicMode::Triangular2,
                    "exp_range" => CyclicMode::ExpRange,
                    other => return Err(format!("unknown mode `{other}`")),
                },
                gamma: hp.f64("gamma")?,
                scale_fn: None,
                scale_mode: match hp.str("scale_mode")? {
                    "cycle" => ScaleMode::Cycle,
                    "iterations" => ScaleMode::Iterations,
                    other => return Err(format!("unknown scale_mode `{other}`")),
                },
                cycle_momentum: hp.bool("cycle_momentum")?,
                base_momentum: hp.f64("base_momentum")?,
                max_momentum: hp.f64("max_momentum")?,
            })
        }
        "one_cycle_lr" => {
            // torch overwrites the optimizer's lr with max_lr/div_factor.
            hp.overwritten("lr")?;
            Box::new(OneCycleLR {
                max_lr: hp.f64("max_lr")?,
                total_steps: hp.u64("total_steps")?,
                pct_start: hp.f64("pct_start")?,
                anneal_strategy: match hp.str("anneal_strategy")? {
                    "cos" => AnnealStrategy::Cos,
                    "linear" => AnnealStrategy::Linear,
                    other => return Err(format!("unknown anneal_strategy `{other}`")),
                },
                cycle_momentum: hp.bool("cycle_momentum")?,
                base_momentum: hp.f64("base_momentum")?,
                max_momentum: hp.f64("max_momentum")?,
                div_factor: hp.f64("div_factor")?,
                final_div_factor: hp.f64("final_div_factor")?,
                three_phase: hp.bool("three_phase")?,
            })
        }
        other => return Err(format!("unknown schedule `{other}`")),
    };
    schedule.validate().map_err(|e| format!("descent: {e}"))?;

    let lrs: Vec<f32> = (0..n as u64).map(|t| schedule.lr_at(t)).collect();
    case.check("lrs", &lrs, &[n])?;
    let mut produced = vec!["lrs"];
    if case.expected.contains_key("momentums") {
        let momentums = momentums(&hp, schedule.as_ref(), n)?;
        case.check("momentums", &momentums, &[n])?;
        produced.push("momentums");
    } else if case.hparams.contains_key("momentum") {
        // The optimizer's initial momentum: only observable through `momentums`.
        hp.f64("momentum")?;
    }
    hp.finish()?;
    case.require_only(&produced)
}

/// The momentum after each step: the cycled one, or the optimizer's constant `momentum` when
/// the schedule leaves it alone.
fn momentums(hp: &Hparams, schedule: &dyn Schedule, n: usize) -> Result<Vec<f32>, String> {
    let initial = hp.f64("momentum")? as f32;
    Ok((0..n as u64)
        .map(|t| schedule.momentum_at(t).unwrap_or(initial))
        .collect())
}

/// `reduce_lr_on_plateau`: `lrs[0]` is the optimizer's lr, `lrs[i + 1]` the lr after
/// `step(metrics[i])`.
fn plateau(case: &Case, hp: &Hparams, n: usize) -> Result<(), String> {
    let mut s = ReduceLROnPlateau {
        lr: hp.f64("lr")?,
        mode: match hp.str("mode")? {
            "min" => PlateauMode::Min,
            "max" => PlateauMode::Max,
            other => return Err(format!("unknown mode `{other}`")),
        },
        factor: hp.f64("factor")?,
        patience: hp.u64("patience")?,
        threshold: hp.f64("threshold")?,
        threshold_mode: match hp.str("threshold_mode")? {
            "rel" => ThresholdMode::Rel,
            "abs" => ThresholdMode::Abs,
            other => return Err(format!("unknown threshold_mode `{other}`")),
        },
        cooldown: hp.u64("cooldown")?,
        min_lr: hp.f64("min_lr")?,
        eps: hp.f64("eps")?,
        ..ReduceLROnPlateau::new(0.0)
    };
    s.validate().map_err(|e| format!("descent: {e}"))?;
    hp.finish()?;
    let metrics = case.input("metrics")?;
    if metrics.data.len() + 1 != n {
        return Err(format!(
            "{} metrics for {n} steps, expected {}",
            metrics.data.len(),
            n.saturating_sub(1)
        ));
    }
    let mut lrs = vec![s.last_lr()];
    lrs.extend(metrics.data.iter().map(|&m| s.step(m as f32)));
    case.check("lrs", &lrs, &[n])?;
    case.require_only(&["lrs"])
}
