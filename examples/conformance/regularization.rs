//! The `regularization` family: `descent::regularize` penalties and magnitude pruning against
//! torch (`lam * w.abs().sum()` and friends with autograd, `prune.l1_unstructured`).

use crate::case::Case;
use descent::regularize::{self, Amount};

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let allowed: &[&str] = match case.name.as_str() {
        "l1" => &["lambda"],
        "l2" => &["lambda", "half"],
        "elastic_net" => &["lambda", "l1_ratio"],
        "prune_magnitude" => &["amount"],
        other => return Err(format!("unknown regularization op `{other}`")),
    };
    if let Some(extra) = case.hparams.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unsupported hparam `{extra}`"));
    }
    if let Some(extra) = case.inputs.keys().find(|k| k.as_str() != "w") {
        return Err(format!("unsupported input `{extra}`"));
    }
    let w_t = case.input("w")?;
    let w = w_t.f32s();
    let shape = w_t.shape.clone();

    if case.name == "prune_magnitude" {
        // torch reads an `int` amount as a count and a `float` one as a fraction; the JSON keeps
        // Python's distinction (`1` vs `1.0`).
        let amount = match case.hparams.get("amount") {
            Some(serde_json::Value::Number(v)) if v.is_u64() => {
                Amount::Count(case.hp_usize("amount")?)
            }
            _ => Amount::Fraction(case.hp_f64("amount")?),
        };
        let mut mask = vec![f32::NAN; w.len()];
        let mut scratch = vec![0.0; regularize::prune_scratch_len(w.len())];
        regularize::magnitude_mask(&w, amount, &mut mask, &mut scratch)
            .map_err(|e| format!("descent: {e}"))?;
        case.check("mask", &mask, &shape)?;
        return case.require_only(&["mask"]);
    }

    let lambda = case.hp_f64("lambda")? as f32;
    // The gradient of the penalty alone: accumulate into zeros.
    let mut grad = vec![0.0f32; w.len()];
    let g = Some(grad.as_mut_slice());
    let penalty = match case.name.as_str() {
        "l1" => regularize::l1(&w, lambda, g),
        "l2" => regularize::l2(&w, lambda, case.hp_bool("half")?, g),
        _ => regularize::elastic_net(&w, lambda, case.hp_f64("l1_ratio")? as f32, g),
    }
    .map_err(|e| format!("descent: {e}"))?;
    case.check_scalar("penalty", penalty)?;
    case.check("grad", &grad, &shape)?;
    case.require_only(&["penalty", "grad"])
}
