//! The `optimizers` family: `descent::optim` against `torch.optim` (single-tensor
//! implementation), step by step.

use crate::case::Case;
use descent::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, NAdam, Optimizer, RAdam, RmsProp, Sgd,
};
use std::cell::RefCell;

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let hp = Hparams {
        case,
        used: RefCell::new(Vec::new()),
    };
    let f = |name| hp.f32(name);
    let opt: Box<dyn Optimizer> = match case.name.as_str() {
        "sgd" => Box::new(Sgd {
            lr: f("lr")?,
            momentum: f("momentum")?,
            dampening: f("dampening")?,
            weight_decay: f("weight_decay")?,
            nesterov: hp.flag("nesterov")?,
            maximize: hp.flag("maximize")?,
        }),
        "adagrad" => Box::new(Adagrad {
            lr: f("lr")?,
            lr_decay: f("lr_decay")?,
            weight_decay: f("weight_decay")?,
            initial_accumulator_value: f("initial_accumulator_value")?,
            eps: f("eps")?,
            maximize: hp.flag("maximize")?,
        }),
        "rmsprop" => Box::new(RmsProp {
            lr: f("lr")?,
            alpha: f("alpha")?,
            eps: f("eps")?,
            weight_decay: f("weight_decay")?,
            momentum: f("momentum")?,
            centered: hp.flag("centered")?,
            maximize: hp.flag("maximize")?,
        }),
        "adam" | "adamw" => {
            let adam = Adam {
                lr: f("lr")?,
                betas: hp.betas()?,
                eps: f("eps")?,
                weight_decay: f("weight_decay")?,
                amsgrad: hp.flag("amsgrad")?,
                maximize: hp.flag("maximize")?,
                decoupled_weight_decay: hp.flag("decoupled_weight_decay")?,
            };
            if case.name == "adamw" {
                if !adam.decoupled_weight_decay {
                    return Err("adamw with decoupled_weight_decay false".into());
                }
                Box::new(AdamW {
                    lr: adam.lr,
                    betas: adam.betas,
                    eps: adam.eps,
                    weight_decay: adam.weight_decay,
                    amsgrad: adam.amsgrad,
                    maximize: adam.maximize,
                })
            } else {
                Box::new(adam)
            }
        }
        "adamax" => Box::new(Adamax {
            lr: f("lr")?,
            betas: hp.betas()?,
            eps: f("eps")?,
            weight_decay: f("weight_decay")?,
            maximize: hp.flag("maximize")?,
        }),
        "nadam" => Box::new(NAdam {
            lr: f("lr")?,
            betas: hp.betas()?,
            eps: f("eps")?,
            weight_decay: f("weight_decay")?,
            momentum_decay: f("momentum_decay")?,
            decoupled_weight_decay: hp.flag("decoupled_weight_decay")?,
            maximize: hp.flag("maximize")?,
        }),
        "radam" => Box::new(RAdam {
            lr: f("lr")?,
            betas: hp.betas()?,
            eps: f("eps")?,
            weight_decay: f("weight_decay")?,
            decoupled_weight_decay: hp.flag("decoupled_weight_decay")?,
            maximize: hp.flag("maximize")?,
        }),
        "adadelta" => Box::new(Adadelta {
            lr: f("lr")?,
            rho: f("rho")?,
            eps: f("eps")?,
            weight_decay: f("weight_decay")?,
            maximize: hp.flag("maximize")?,
        }),
        other => return Err(format!("unknown optimizer `{other}`")),
    };
    let used = hp.used.borrow();
    if let Some(extra) = case.hparams.keys().find(|k| !used.contains(&k.as_str())) {
        return Err(format!("unsupported hparam `{extra}`"));
    }
    if let Some(extra) = case
        .inputs
        .keys()
        .find(|k| !["param", "grads"].contains(&k.as_str()))
    {
        return Err(format!("unsupported input `{extra}`"));
    }

    let mut params = case.f32s("param")?;
    let n = params.len();
    let grads_t = case.input("grads")?;
    let grads = grads_t.f32s();
    let steps = grads_t.shape.first().copied().unwrap_or(0);
    if grads_t.shape != [steps, n] {
        return Err(format!(
            "grads shape {:?}, expected [S, {n}]",
            grads_t.shape
        ));
    }
    // Garbage in the state must not matter: step 1 initialises it.
    let mut state = vec![f32::NAN; opt.state_len(n)];
    let mut counter = 0u64;
    let mut history = Vec::with_capacity(steps * n);
    for g in grads.chunks_exact(n.max(1)).take(steps) {
        opt.step(&mut counter, &mut params, g, &mut state)
            .map_err(|e| format!("descent: {e}"))?;
        history.extend_from_slice(&params);
    }
    case.check("params", &history, &[steps, n])?;
    case.require_only(&["params"])
}

/// Reads hyper-parameters and remembers which ones were read, so that a case with one this
/// runner does not know fails instead of passing silently.
struct Hparams<'a> {
    case: &'a Case,
    used: RefCell<Vec<&'static str>>,
}

impl Hparams<'_> {
    fn f32(&self, name: &'static str) -> Result<f32, String> {
        self.used.borrow_mut().push(name);
        Ok(self.case.hp_f64(name)? as f32)
    }

    fn flag(&self, name: &'static str) -> Result<bool, String> {
        self.used.borrow_mut().push(name);
        self.case.hp_bool(name)
    }

    fn betas(&self) -> Result<(f32, f32), String> {
        self.used.borrow_mut().push("betas");
        let v = self
            .case
            .hparams
            .get("betas")
            .and_then(|v| v.as_array())
            .ok_or("hparam `betas` is not an array")?;
        match v.as_slice() {
            [a, b] => Ok((
                a.as_f64().ok_or("beta1 is not a number")? as f32,
                b.as_f64().ok_or("beta2 is not a number")? as f32,
            )),
            _ => Err("hparam `betas` does not have two entries".into()),
        }
    }
}
