//! The `norms` family: `descent::norm` against torch's `nn.LayerNorm` and `nn.BatchNorm1d`.

use crate::case::{Case, Tensor};
use descent::norm::{BatchNorm, LayerNorm, RunningStats};
use std::cell::RefCell;

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let used = Used {
        case,
        hparams: RefCell::new(Vec::new()),
        inputs: RefCell::new(Vec::new()),
    };
    match case.name.as_str() {
        "layer_norm" => layer_norm(&used)?,
        "batch_norm1d" => batch_norm1d(&used)?,
        other => return Err(format!("unknown norm `{other}`")),
    }
    used.all_used()
}

/// `[rows, features]` of a 2-D input.
fn matrix(t: &Tensor) -> Result<(usize, usize), String> {
    match t.shape.as_slice() {
        [r, c] => Ok((*r, *c)),
        s => Err(format!("x has shape {s:?}, expected [rows, features]")),
    }
}

fn layer_norm(u: &Used) -> Result<(), String> {
    let case = u.case;
    let x_t = u.input("x")?;
    let (rows, features) = matrix(x_t)?;
    let shape = [rows, features];
    let x = x_t.f32s();
    let weight = u.input_opt("weight")?;
    let bias = u.input_opt("bias")?;
    let mut ln = LayerNorm::new(features);
    ln.eps = u.f32("eps")?;
    ln.elementwise_affine = u.flag_or("elementwise_affine", weight.is_some())?;
    ln.bias = u.flag_or("bias", bias.is_some())?;
    let e = |e: descent::Error| format!("descent: {e}");

    let mut y = vec![f32::NAN; x.len()];
    let mut stats = vec![f32::NAN; LayerNorm::stats_len(rows)];
    ln.forward_train(&x, weight.as_deref(), bias.as_deref(), &mut y, &mut stats)
        .map_err(e)?;
    // Inference forward gives the same bits.
    let mut y_inf = vec![f32::NAN; x.len()];
    ln.forward(&x, weight.as_deref(), bias.as_deref(), &mut y_inf)
        .map_err(e)?;
    if y.iter()
        .zip(&y_inf)
        .any(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err("forward and forward_train differ".into());
    }
    case.check("y", &y, &shape)?;
    let mut produced = vec!["y"];
    if let Some(dy) = u.input_opt("dy")? {
        let mut dx = vec![f32::NAN; x.len()];
        let mut dweight = vec![0.0; ln.weight_len()];
        let mut dbias = vec![0.0; ln.bias_len()];
        ln.backward(
            &x,
            weight.as_deref(),
            &stats,
            &dy,
            &mut dx,
            Some(&mut dweight),
            Some(&mut dbias),
        )
        .map_err(e)?;
        case.check("dx", &dx, &shape)?;
        produced.push("dx");
        if ln.elementwise_affine {
            case.check("dweight", &dweight, &[features])?;
            produced.push("dweight");
        }
        if ln.bias_len() > 0 {
            case.check("dbias", &dbias, &[features])?;
            produced.push("dbias");
        }
    }
    case.require_only(&produced)
}

fn batch_norm1d(u: &Used) -> Result<(), String> {
    let case = u.case;
    let x_t = u.input("x")?;
    let (rows, features) = matrix(x_t)?;
    let shape = [rows, features];
    let x = x_t.f32s();
    let weight = u.input_opt("weight")?;
    let bias = u.input_opt("bias")?;
    let mut running_mean = u.input_opt("running_mean")?;
    let mut running_var = u.input_opt("running_var")?;
    let mut bn = BatchNorm::new(features);
    bn.eps = u.f32("eps")?;
    bn.momentum = u.opt_f32("momentum")?;
    bn.affine = u.flag_or("affine", weight.is_some())?;
    bn.track_running_stats = u.flag_or("track_running_stats", running_mean.is_some())?;
    let training = u.flag("training")?;
    let e = |e: descent::Error| format!("descent: {e}");

    let mut y = vec![f32::NAN; x.len()];
    let mut produced = vec!["y"];
    // With batch statistics (training, or evaluation without running statistics), backward
    // is the training one.
    let batch_stats = training || !bn.track_running_stats;
    let mut stats = vec![f32::NAN; bn.stats_len()];
    if training {
        let mut batches = 0u64;
        let running = match (running_mean.as_mut(), running_var.as_mut()) {
            (Some(mean), Some(var)) => Some(RunningStats {
                mean,
                var,
                num_batches_tracked: &mut batches,
            }),
            _ => None,
        };
        bn.forward_train(
            &x,
            weight.as_deref(),
            bias.as_deref(),
            running,
            &mut y,
            &mut stats,
        )
        .map_err(e)?;
        if let (Some(mean), Some(var)) = (&running_mean, &running_var) {
            case.check("running_mean", mean, &[features])?;
            case.check("running_var", var, &[features])?;
            produced.extend(["running_mean", "running_var"]);
        }
    } else {
        bn.forward_eval(
            &x,
            weight.as_deref(),
            bias.as_deref(),
            running_mean.as_deref(),
            running_var.as_deref(),
            &mut y,
        )
        .map_err(e)?;
        if batch_stats {
            // The same normalisation, and the statistics backward needs.
            bn.forward_train(
                &x,
                weight.as_deref(),
                bias.as_deref(),
                None,
                &mut vec![0.0; x.len()],
                &mut stats,
            )
            .map_err(e)?;
        }
    }
    case.check("y", &y, &shape)?;

    if let Some(dy) = u.input_opt("dy")? {
        let mut dx = vec![f32::NAN; x.len()];
        let mut dweight = vec![0.0; bn.weight_len()];
        let mut dbias = vec![0.0; bn.weight_len()];
        let (dw, db) = (Some(dweight.as_mut_slice()), Some(dbias.as_mut_slice()));
        if batch_stats {
            bn.backward_train(&x, weight.as_deref(), &stats, &dy, &mut dx, dw, db)
        } else {
            let (mean, var) = running_mean
                .as_deref()
                .zip(running_var.as_deref())
                .ok_or("evaluation with running statistics needs running_mean and running_var")?;
            bn.backward_eval(&x, weight.as_deref(), mean, var, &dy, &mut dx, dw, db)
        }
        .map_err(e)?;
        case.check("dx", &dx, &shape)?;
        produced.push("dx");
        if bn.affine {
            case.check("dweight", &dweight, &[features])?;
            case.check("dbias", &dbias, &[features])?;
            produced.extend(["dweight", "dbias"]);
        }
    }
    case.require_only(&produced)
}

/// Reads hyper-parameters and inputs and remembers which ones were read, so that a case with
/// one this runner does not know fails instead of passing silently.
struct Used<'a> {
    case: &'a Case,
    hparams: RefCell<Vec<&'static str>>,
    inputs: RefCell<Vec<&'static str>>,
}

impl Used<'_> {
    fn f32(&self, name: &'static str) -> Result<f32, String> {
        self.hparams.borrow_mut().push(name);
        Ok(self.case.hp_f64(name)? as f32)
    }

    fn opt_f32(&self, name: &'static str) -> Result<Option<f32>, String> {
        self.hparams.borrow_mut().push(name);
        Ok(self.case.hp_opt_f64(name)?.map(|v| v as f32))
    }

    fn flag(&self, name: &'static str) -> Result<bool, String> {
        self.hparams.borrow_mut().push(name);
        self.case.hp_bool(name)
    }

    /// A boolean hyper-parameter the vectors may leave out; `default` then.
    fn flag_or(&self, name: &'static str, default: bool) -> Result<bool, String> {
        if self.case.hparams.contains_key(name) {
            self.flag(name)
        } else {
            Ok(default)
        }
    }

    fn input(&self, name: &'static str) -> Result<&Tensor, String> {
        self.inputs.borrow_mut().push(name);
        self.case.input(name)
    }

    fn input_opt(&self, name: &'static str) -> Result<Option<Vec<f32>>, String> {
        self.inputs.borrow_mut().push(name);
        Ok(self.case.input_opt(name)?.map(Tensor::f32s))
    }

    fn all_used(&self) -> Result<(), String> {
        let hp = self.hparams.borrow();
        if let Some(extra) = self.case.hparams.keys().find(|k| !hp.contains(&k.as_str())) {
            return Err(format!("unsupported hparam `{extra}`"));
        }
        let inputs = self.inputs.borrow();
        if let Some(extra) = self
            .case
            .inputs
            .keys()
            .find(|k| !inputs.contains(&k.as_str()))
        {
            return Err(format!("unsupported input `{extra}`"));
        }
        Ok(())
    }
}
