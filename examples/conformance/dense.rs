//! The `dense` family: `linear` (`torch.nn.Linear`), checked on every instruction set this
//! CPU has.

use crate::case::Case;
use descent::dense::Dense;
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::Isa;

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    match case.name.as_str() {
        "linear" => {
            for isa in Isa::available() {
                linear(case, isa).map_err(|e| format!("[{isa}] {e}"))?;
            }
            Ok(())
        }
        other => Err(format!("unknown dense op `{other}`")),
    }
}

/// `y = x·wᵀ + b`, and the fresh gradients `dx = dy·w`, `dw = dyᵀ·x`, `db = Σ_batch dy`.
fn linear(case: &Case, isa: Isa) -> Result<(), String> {
    let has_bias = case.hp_bool("bias")?;
    let in_features = case.hp_usize("in_features")?;
    let out_features = case.hp_usize("out_features")?;
    let x_t = case.input("x")?;
    let batch = match x_t.shape[..] {
        [batch, cols] if cols == in_features => batch,
        _ => {
            return Err(format!(
                "`x` has shape {:?}, expected [batch, {in_features}]",
                x_t.shape
            ))
        }
    };
    let x = x_t.f32s();
    let w = case.f32s("w")?;
    let b = if has_bias {
        case.f32s("b")?
    } else {
        Vec::new()
    };
    let dy = case.f32s("dy")?;

    let layer = Dense::new(in_features, out_features).with_isa(isa);
    let layer = if has_bias {
        layer
    } else {
        layer.without_bias()
    };
    let input = Shape::Features(in_features);
    let params = Params::new(&w, &b);
    let err = |e: descent::Error| e.to_string();
    let mut y = vec![f32::NAN; batch * out_features];
    layer
        .forward(input, Mode::EVAL, params, &x, &mut y)
        .map_err(err)?;
    case.check("y", &y, &[batch, out_features])?;

    // Fresh gradients: backward accumulates into zeros.
    let mut dw = vec![0.0; layer.weight_len()];
    let mut db = vec![0.0; layer.bias_len()];
    let mut dx = vec![f32::NAN; batch * in_features];
    let tape = Tape::train(&x, &y, &[]);
    let grads = Grads::new(&mut dw, &mut db);
    layer
        .backward(input, params, tape, &dy, Some(&mut dx), grads)
        .map_err(err)?;
    case.check("dx", &dx, &[batch, in_features])?;
    case.check("dw", &dw, &[out_features, in_features])?;
    if has_bias {
        case.check("db", &db, &[out_features])?;
        case.require_only(&["y", "dx", "dw", "db"])
    } else {
        case.require_only(&["y", "dx", "dw"])
    }
}
