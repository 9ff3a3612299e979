//! The `norms` family: `descent::norm` against torch's `nn.LayerNorm` and `nn.BatchNorm1d`.

use crate::case::{Case, Tensor};
use crate::used::Used;
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::norm::{BatchNorm, LayerNorm};

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let used = Used::new(case);
    match case.name.as_str() {
        "layer_norm" => layer_norm(&used)?,
        "batch_norm1d" => batch_norm(&used)?,
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
    let input = Shape::Features(features);
    let x = x_t.f32s();
    let weight = u.input_opt("weight")?;
    let bias = u.input_opt("bias")?;
    let mut ln = LayerNorm::new(features);
    ln.eps = u.f32("eps")?;
    ln.elementwise_affine = u.flag_or("elementwise_affine", weight.is_some())?;
    ln.bias = u.flag_or("bias", bias.is_some())?;
    let params = Params::new(
        weight.as_deref().unwrap_or(&[]),
        bias.as_deref().unwrap_or(&[]),
    );
    let e = |e: descent::Error| format!("descent: {e}");

    let mut y = vec![f32::NAN; x.len()];
    let mut stats = vec![f32::NAN; ln.saved_len(input, rows)];
    ln.forward(input, Mode::train(&mut stats), params, &x, &mut y)
        .map_err(e)?;
    // The evaluation forward gives the same bits.
    let mut y_inf = vec![f32::NAN; x.len()];
    ln.forward(input, Mode::EVAL, params, &x, &mut y_inf)
        .map_err(e)?;
    if y.iter()
        .zip(&y_inf)
        .any(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err("the training and evaluation forwards differ".into());
    }
    case.check("y", &y, &shape)?;
    let mut produced = vec!["y"];
    if let Some(dy) = u.input_opt("dy")? {
        let mut dx = vec![f32::NAN; x.len()];
        let mut dweight = vec![0.0; ln.weight_len()];
        let mut dbias = vec![0.0; ln.bias_len()];
        let tape = Tape::train(&x, &y, &stats);
        let grads = Grads::new(&mut dweight, &mut dbias);
        ln.backward(input, params, tape, &dy, Some(&mut dx), grads)
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

/// torch's `nn.BatchNorm1d` on `[N, C]` or `[N, C, L]`, `nn.BatchNorm2d` on `[N, C, H, W]`.
pub fn batch_norm(u: &Used) -> Result<(), String> {
    let case = u.case;
    let x_t = u.input("x")?;
    let (rows, input) = match x_t.shape[..] {
        [n, features] => (n, Shape::Features(features)),
        _ => crate::conv::sample_shape(&x_t.shape)?,
    };
    let features = input.channels();
    let shape = x_t.shape.clone();
    let x = x_t.f32s();
    let weight = u.input_opt("weight")?;
    let bias = u.input_opt("bias")?;
    let running_mean = u.input_opt("running_mean")?;
    let running_var = u.input_opt("running_var")?;
    let mut bn = BatchNorm::new(features);
    bn.eps = u.f32("eps")?;
    bn.momentum = u.opt_f32("momentum")?;
    bn.affine = u.flag_or("affine", weight.is_some())?;
    bn.track_running_stats = u.flag_or("track_running_stats", running_mean.is_some())?;
    let training = u.flag("training")?;
    let params = Params::new(
        weight.as_deref().unwrap_or(&[]),
        bias.as_deref().unwrap_or(&[]),
    );
    let e = |e: descent::Error| format!("descent: {e}");
    // The buffers: running_mean, running_var, then num_batches_tracked (torch's initial 0).
    let mut buffers = match (&running_mean, &running_var) {
        (Some(mean), Some(var)) => [&mean[..], &var[..], &[0.0]].concat(),
        _ => Vec::new(),
    };

    let mut y = vec![f32::NAN; x.len()];
    let mut produced = vec!["y"];
    // With batch statistics (training, or evaluation without running statistics), backward
    // is the training one.
    let batch_stats = training || !bn.track_running_stats;
    let mut stats = vec![f32::NAN; bn.saved_len(input, rows)];
    if training {
        let mode = Mode::Train {
            buffers: &mut buffers,
            saved: &mut stats,
            rng: None,
        };
        bn.forward(input, mode, params, &x, &mut y).map_err(e)?;
        if bn.track_running_stats {
            let (mean, var) = buffers.split_at(features);
            case.check("running_mean", mean, &[features])?;
            case.check("running_var", &var[..features], &[features])?;
            produced.extend(["running_mean", "running_var"]);
        }
    } else {
        let mode = Mode::Eval { buffers: &buffers };
        bn.forward(input, mode, params, &x, &mut y).map_err(e)?;
        if batch_stats {
            // The same normalisation, and the statistics backward needs (without running
            // statistics a training forward updates nothing).
            let mut y_train = vec![0.0; x.len()];
            bn.forward(input, Mode::train(&mut stats), params, &x, &mut y_train)
                .map_err(e)?;
        }
    }
    case.check("y", &y, &shape)?;

    if let Some(dy) = u.input_opt("dy")? {
        let mut dx = vec![f32::NAN; x.len()];
        let mut dweight = vec![0.0; bn.weight_len()];
        let mut dbias = vec![0.0; bn.weight_len()];
        let grads = Grads::new(&mut dweight, &mut dbias);
        let tape = if batch_stats {
            Tape::train(&x, &y, &stats)
        } else {
            Tape::eval(&x, &y, &buffers)
        };
        bn.backward(input, params, tape, &dy, Some(&mut dx), grads)
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
