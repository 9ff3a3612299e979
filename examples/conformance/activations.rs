//! The `activations` family: every op through [`Activation`], forward and backward out of place,
//! checked against torch; the in-place variants must give the same bits.

use crate::case::Case;
use descent::activation::{Activation, Elu, LeakyRelu, Saved, Softplus};
#[path = "../../tests/common/activation_layer.rs"]
mod activation_layer;
use activation_layer::{act_backward, act_forward};

/// A real-valued hyper-parameter as the `f32` that torch casts it to in its kernels.
fn hp_f32(case: &Case, name: &str) -> Result<f32, String> {
    Ok(case.hp_f64(name)? as f32)
}

/// The hyper-parameters an activation takes, under torch's names; `None` for an unknown one.
fn allowed_hparams(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "relu" | "sigmoid" | "tanh" | "silu" | "softmax" | "log_softmax" => &[],
        "leaky_relu" => &["negative_slope"],
        "gelu" | "gelu_tanh" => &["approximate"],
        "softplus" => &["beta", "threshold"],
        "elu" => &["alpha"],
        _ => return None,
    })
}

/// The activation a case names, with its hyper-parameters read under torch's names. A
/// hyper-parameter the activation does not take fails the case instead of passing silently.
fn activation(case: &Case) -> Result<Activation, String> {
    let allowed =
        allowed_hparams(&case.name).ok_or_else(|| format!("unknown activation `{}`", case.name))?;
    if let Some(extra) = case.hparams.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unsupported hparam `{extra}`"));
    }
    let gelu_form = |expected: &str| -> Result<(), String> {
        let got = case.hp_str("approximate")?;
        if got == expected {
            Ok(())
        } else {
            Err(format!("`{}` with approximate = {got:?}", case.name))
        }
    };
    Ok(match case.name.as_str() {
        "relu" => Activation::Relu,
        "leaky_relu" => Activation::LeakyRelu(LeakyRelu {
            negative_slope: hp_f32(case, "negative_slope")?,
        }),
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "gelu" => match case.hp_str("approximate")? {
            "none" => Activation::Gelu,
            "tanh" => Activation::GeluTanh,
            other => return Err(format!("gelu with approximate = {other:?}")),
        },
        "gelu_tanh" => {
            gelu_form("tanh")?;
            Activation::GeluTanh
        }
        "silu" => Activation::Silu,
        "softplus" => Activation::Softplus(Softplus {
            beta: hp_f32(case, "beta")?,
            threshold: hp_f32(case, "threshold")?,
        }),
        "elu" => Activation::Elu(Elu {
            alpha: hp_f32(case, "alpha")?,
        }),
        "softmax" => Activation::Softmax,
        "log_softmax" => Activation::LogSoftmax,
        other => return Err(format!("unknown activation `{other}`")),
    })
}

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let act = activation(case)?;
    let x_t = case.input("x")?;
    let shape = x_t.shape.clone();
    let x = x_t.f32s();
    let dy = case.f32s("dy")?;
    if case.input("dy")?.shape != shape {
        return Err("`dy` and `x` have different shapes".into());
    }
    // The last dimension is the class / feature dimension (1 for a scalar).
    let cols = shape.last().copied().unwrap_or(1);
    let err = |e: descent::Error| e.to_string();

    let mut y = vec![0.0f32; x.len()];
    act_forward(&act, &x, &mut y, cols).map_err(err)?;
    let saved = match act.saved() {
        Saved::Input => &x,
        Saved::Output => &y,
    };
    let mut dx = vec![0.0f32; x.len()];
    act_backward(&act, saved, &dy, &mut dx, cols).map_err(err)?;

    case.check("y", &y, &shape)?;
    case.check("dx", &dx, &shape)?;
    case.require_only(&["y", "dx"])?;

    // The in-place variants give the same bits.
    let mut y_inplace = x.clone();
    act.forward_inplace(&mut y_inplace, cols).map_err(err)?;
    let mut dx_inplace = dy.clone();
    act.backward_inplace(saved, &mut dx_inplace, cols)
        .map_err(err)?;
    let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits());
    if !same(&y, &y_inplace) {
        return Err("in-place forward differs from out-of-place".into());
    }
    if !same(&dx, &dx_inplace) {
        return Err("in-place backward differs from out-of-place".into());
    }
    Ok(())
}
