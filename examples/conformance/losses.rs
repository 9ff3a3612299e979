//! The `losses` family: `descent::loss` against torch's `torch.nn.functional` losses.

use crate::case::Case;
use descent::loss::{self, Reduction};

/// The hyper-parameters a loss takes besides `reduction`, under torch's names; `None` for an
/// unknown loss.
fn allowed_hparams(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "mse_loss" | "l1_loss" | "binary_cross_entropy_with_logits" | "nll_loss" => &[],
        "huber_loss" => &["delta"],
        "smooth_l1_loss" => &["beta"],
        "cross_entropy" | "cross_entropy_probs" => &["label_smoothing"],
        _ => return None,
    })
}

/// Runs one case of the family. A hyper-parameter the loss does not take fails the case
/// instead of passing silently.
pub fn run(case: &Case) -> Result<(), String> {
    let allowed =
        allowed_hparams(&case.name).ok_or_else(|| format!("unknown loss `{}`", case.name))?;
    if let Some(extra) = case
        .hparams
        .keys()
        .find(|k| k.as_str() != "reduction" && !allowed.contains(&k.as_str()))
    {
        return Err(format!("unsupported hparam `{extra}`"));
    }
    let reduction = match case.hp_str("reduction")? {
        "mean" => Reduction::Mean,
        "sum" => Reduction::Sum,
        other => return Err(format!("unsupported reduction `{other}`")),
    };
    let allowed_inputs: &[&str] = match case.name.as_str() {
        "binary_cross_entropy_with_logits" => &["input", "target", "pos_weight"],
        _ => &["input", "target"],
    };
    if let Some(extra) = case
        .inputs
        .keys()
        .find(|k| !allowed_inputs.contains(&k.as_str()))
    {
        return Err(format!("unsupported input `{extra}`"));
    }

    let input_t = case.input("input")?;
    let input = input_t.f32s();
    let shape = input_t.shape.clone();
    // The class dimension is the last one of `input` ([B, C]).
    let classes = shape.last().copied().unwrap_or(1);
    let mut grad = vec![f32::NAN; input.len()];
    let g = Some(grad.as_mut_slice());

    let got = match case.name.as_str() {
        "mse_loss" => loss::mse(&input, &case.f32s("target")?, g, reduction),
        "l1_loss" => loss::l1(&input, &case.f32s("target")?, g, reduction),
        "huber_loss" => {
            let delta = case.hp_f64("delta")? as f32;
            loss::huber(&input, &case.f32s("target")?, delta, g, reduction)
        }
        "smooth_l1_loss" => {
            let beta = case.hp_f64("beta")? as f32;
            loss::smooth_l1(&input, &case.f32s("target")?, beta, g, reduction)
        }
        "cross_entropy" => {
            let eps = case.hp_f64("label_smoothing")? as f32;
            let target = case.input("target")?.indices()?;
            loss::cross_entropy(&input, &target, classes, eps, g, reduction)
        }
        "cross_entropy_probs" => {
            let eps = case.hp_f64("label_smoothing")? as f32;
            let target = case.f32s("target")?;
            loss::cross_entropy_probs(&input, &target, classes, eps, g, reduction)
        }
        "binary_cross_entropy_with_logits" => {
            let target = case.f32s("target")?;
            let pos_weight = case.input_opt("pos_weight")?.map(|t| t.f32s());
            loss::binary_cross_entropy_with_logits(
                &input,
                &target,
                pos_weight.as_deref(),
                g,
                reduction,
            )
        }
        "nll_loss" => {
            let target = case.input("target")?.indices()?;
            loss::nll(&input, &target, classes, g, reduction)
        }
        other => return Err(format!("unknown loss `{other}`")),
    }
    .map_err(|e| format!("descent: {e}"))?;

    case.check_scalar("loss", got)?;
    case.check("grad_input", &grad, &shape)?;
    case.require_only(&["loss", "grad_input"])
}
