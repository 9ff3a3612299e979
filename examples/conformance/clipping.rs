//! The `clipping` family: `descent::regularize` against `torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`.

use crate::case::{check_tensor, Case, Tensor, Value};
use descent::regularize::{self, NormType};

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let allowed: &[&str] = match case.name.as_str() {
        "clip_grad_norm" => &["max_norm", "norm_type", "error_if_nonfinite"],
        "clip_grad_value" => &["clip_value"],
        other => return Err(format!("unknown clipping op `{other}`")),
    };
    if let Some(extra) = case.hparams.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unsupported hparam `{extra}`"));
    }
    if let Some(extra) = case.inputs.keys().find(|k| k.as_str() != "grads") {
        return Err(format!("unsupported input `{extra}`"));
    }
    let inputs = case.input_list("grads")?;
    let mut grads: Vec<Vec<f32>> = inputs.iter().map(Tensor::f32s).collect();
    let mut views: Vec<&mut [f32]> = grads.iter_mut().map(Vec::as_mut_slice).collect();

    match case.name.as_str() {
        "clip_grad_norm" => {
            if case.hp_bool("error_if_nonfinite")? {
                return Err("error_if_nonfinite=true is not supported".into());
            }
            let norm_type = match case.hparams.get("norm_type") {
                Some(serde_json::Value::String(s)) if s == "inf" => NormType::Inf,
                Some(serde_json::Value::String(s)) => {
                    return Err(format!("unsupported norm_type `{s}`"))
                }
                _ => match case.hp_f64("norm_type")? {
                    1.0 => NormType::L1,
                    2.0 => NormType::L2,
                    p => NormType::P(p as f32),
                },
            };
            let max_norm = case.hp_f64("max_norm")? as f32;
            let total = regularize::clip_grad_norm(&mut views, max_norm, norm_type)
                .map_err(|e| format!("descent: {e}"))?;
            case.check_scalar("total_norm", total)?;
            check_grads(case, inputs, &grads)?;
            case.require_only(&["total_norm", "grads"])
        }
        _ => {
            let clip_value = case.hp_f64("clip_value")? as f32;
            regularize::clip_grad_value(&mut views, clip_value)
                .map_err(|e| format!("descent: {e}"))?;
            check_grads(case, inputs, &grads)?;
            case.require_only(&["grads"])
        }
    }
}

/// Checks the clipped list against `expected.grads`, tensor by tensor, with the one atol.
fn check_grads(case: &Case, inputs: &[Tensor], got: &[Vec<f32>]) -> Result<(), String> {
    let want = match case.expected.get("grads") {
        Some(Value::Many(ts)) => ts,
        Some(Value::One(_)) => return Err("expected `grads` is a tensor, not a list".into()),
        None => return Err("missing expected `grads`".into()),
    };
    if want.len() != got.len() {
        return Err(format!("{} grads, expected {}", got.len(), want.len()));
    }
    for ((w, g), input) in want.iter().zip(got).zip(inputs) {
        check_tensor(case, "grads", w, g, &input.shape)?;
    }
    Ok(())
}
