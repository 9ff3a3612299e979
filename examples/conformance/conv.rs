//! The `conv` family: `descent::conv` against torch's `nn.Conv1d` and `nn.Conv2d`, the
//! poolings of `descent::pool` against `nn.MaxPool1d`/`2d`, `nn.AvgPool1d`/`2d` and
//! `nn.AdaptiveAvgPool1d(1)`/`2d((1, 1))`, and `BatchNorm` on images against `nn.BatchNorm2d`;
//! the convolutions on every instruction set this CPU has.

use crate::case::Case;
use crate::used::Used;
use descent::conv::{Conv1d, Conv2d};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape, Window};
use descent::pool::{AvgPool1d, AvgPool2d, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d};

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    let used = Used::new(case);
    match case.name.as_str() {
        "conv1d" | "conv2d" => on_each_isa(|| conv(&used))?,
        "max_pool1d" | "max_pool2d" | "avg_pool1d" | "avg_pool2d" | "global_avg_pool1d"
        | "global_avg_pool2d" => on_each_isa(|| pool(&used))?,
        "batch_norm2d" => crate::norms::batch_norm(&used)?,
        other => return Err(format!("unknown conv op `{other}`")),
    }
    used.all_used()
}

/// Runs `f` with the kernels dispatched to each instruction set this CPU has (without `std`,
/// once, on the one the build dispatches to).
fn on_each_isa(f: impl Fn() -> Result<(), String>) -> Result<(), String> {
    #[cfg(feature = "std")]
    for isa in descent::Isa::available() {
        descent::simd::with_isa(isa, &f).map_err(|e| format!("[{isa}] {e}"))?;
    }
    #[cfg(not(feature = "std"))]
    f().map_err(|e| format!("[{}] {e}", descent::simd::isa()))?;
    Ok(())
}

/// The windows of a case, one per spatial axis.
fn windows(u: &Used, rank: usize) -> Result<Vec<Window>, String> {
    let kernel = u.usizes("kernel_size")?;
    let stride = u.usizes("stride")?;
    let padding = u.usizes("padding")?;
    let dilation = u.usizes("dilation")?;
    if [&kernel, &stride, &padding, &dilation]
        .iter()
        .any(|v| v.len() != rank)
    {
        return Err(format!("window hparams are not {rank} long"));
    }
    Ok((0..rank)
        .map(|a| Window {
            kernel_size: kernel[a],
            stride: stride[a],
            padding: padding[a],
            dilation: dilation[a],
        })
        .collect())
}

/// A torch shape `[batch, channels, spatial…]` as the batch and one sample's [`Shape`].
pub fn sample_shape(shape: &[usize]) -> Result<(usize, Shape), String> {
    match *shape {
        [n, channels, length] => Ok((n, Shape::Sequence { channels, length })),
        [n, channels, height, width] => Ok((
            n,
            Shape::Image {
                channels,
                height,
                width,
            },
        )),
        ref s => Err(format!("shape {s:?} is not [batch, channels, spatial…]")),
    }
}

/// torch's layer for a sample of `input`'s rank.
fn layer(u: &Used, input: Shape) -> Result<Box<dyn Layer>, String> {
    let (in_channels, out_channels) = (u.usize("in_channels")?, u.usize("out_channels")?);
    let groups = u.usize("groups")?;
    let bias = u.flag("bias")?;
    let w = windows(u, input.rank() - 1)?;
    Ok(match input {
        Shape::Sequence { .. } => {
            let mut c = Conv1d::new(in_channels, out_channels, 1).with_groups(groups);
            c.set_window(w[0]);
            c.bias = bias;
            Box::new(c)
        }
        _ => {
            let mut c = Conv2d::new(in_channels, out_channels, [1, 1]).with_groups(groups);
            c.set_windows([w[0], w[1]]);
            c.bias = bias;
            Box::new(c)
        }
    })
}

/// `y = x ⋆ w + b`, and the fresh gradients `dx`, `dw`, `db`.
fn conv(u: &Used) -> Result<(), String> {
    let case = u.case;
    let x_t = u.input("x")?;
    let (batch, input) = sample_shape(&x_t.shape)?;
    let layer = layer(u, input)?;
    let out = layer.output_shape(input).map_err(|e| e.to_string())?;
    let x = x_t.f32s();
    let w_t = u.input("w")?;
    let w = w_t.f32s();
    let b = u.input_opt("b")?.unwrap_or_default();
    let dy = u.input_opt("dy")?;
    let params = Params::new(&w, &b);
    let err = |e: descent::Error| format!("descent: {e}");
    let y_shape = [&[batch][..], &torch_dims(out)].concat();

    let mut y = vec![f32::NAN; batch * out.len()];
    layer
        .forward(input, Mode::EVAL, params, &x, &mut y)
        .map_err(err)?;
    case.check("y", &y, &y_shape)?;
    let mut produced = vec!["y"];
    if let Some(dy) = dy {
        let mut dw = vec![0.0; layer.weight_len()];
        let mut db = vec![0.0; layer.bias_len()];
        let mut dx = vec![f32::NAN; x.len()];
        let tape = Tape::train(&x, &y, &[]);
        layer
            .backward(
                input,
                params,
                tape,
                &dy,
                Some(&mut dx),
                Grads::new(&mut dw, &mut db),
            )
            .map_err(err)?;
        case.check("dx", &dx, &x_t.shape)?;
        case.check("dw", &dw, &w_t.shape)?;
        produced.extend(["dx", "dw"]);
        if !b.is_empty() {
            case.check("db", &db, &[b.len()])?;
            produced.push("db");
        }
    }
    case.require_only(&produced)
}

/// A sample's dimensions as torch lists them.
pub fn torch_dims(s: Shape) -> Vec<usize> {
    match s {
        Shape::Features(f) => vec![f],
        Shape::Sequence { channels, length } => vec![channels, length],
        Shape::Image {
            channels,
            height,
            width,
        } => vec![channels, height, width],
    }
}

/// One entry of a list hyper-parameter per spatial axis: `[k]` or `[kh, kw]`.
fn axes<const N: usize>(u: &Used, name: &'static str) -> Result<[usize; N], String> {
    u.usizes(name)?
        .try_into()
        .map_err(|v| format!("`{name}` = {v:?}: expected {N} entries"))
}

/// torch's pooling layer of a case.
fn pool_layer(u: &Used) -> Result<Box<dyn Layer>, String> {
    let one = |name| axes::<1>(u, name).map(|[v]| v);
    Ok(match u.case.name.as_str() {
        "max_pool1d" => Box::new(MaxPool1d {
            kernel_size: one("kernel_size")?,
            stride: one("stride")?,
            padding: one("padding")?,
            dilation: one("dilation")?,
            ceil_mode: u.flag("ceil_mode")?,
        }),
        "max_pool2d" => Box::new(MaxPool2d {
            kernel_size: axes(u, "kernel_size")?,
            stride: axes(u, "stride")?,
            padding: axes(u, "padding")?,
            dilation: axes(u, "dilation")?,
            ceil_mode: u.flag("ceil_mode")?,
        }),
        "avg_pool1d" => Box::new(AvgPool1d {
            kernel_size: one("kernel_size")?,
            stride: one("stride")?,
            padding: one("padding")?,
            ceil_mode: u.flag("ceil_mode")?,
            count_include_pad: u.flag("count_include_pad")?,
        }),
        "avg_pool2d" => Box::new(AvgPool2d {
            kernel_size: axes(u, "kernel_size")?,
            stride: axes(u, "stride")?,
            padding: axes(u, "padding")?,
            ceil_mode: u.flag("ceil_mode")?,
            count_include_pad: u.flag("count_include_pad")?,
            divisor_override: None,
        }),
        "global_avg_pool1d" if axes::<1>(u, "output_size")? == [1] => Box::new(GlobalAvgPool1d),
        "global_avg_pool2d" if axes::<2>(u, "output_size")? == [1, 1] => Box::new(GlobalAvgPool2d),
        other => return Err(format!("unsupported pooling `{other}`")),
    })
}

/// `y` of a pooling, and `dx` from a training tape (max pooling's saved indices) and from an
/// evaluation tape (which must agree).
fn pool(u: &Used) -> Result<(), String> {
    let case = u.case;
    let x_t = u.input("x")?;
    let (batch, input) = sample_shape(&x_t.shape)?;
    let layer = pool_layer(u)?;
    let out = layer.output_shape(input).map_err(|e| e.to_string())?;
    let x = x_t.f32s();
    let err = |e: descent::Error| format!("descent: {e}");
    let mut y = vec![f32::NAN; batch * out.len()];
    let mut saved = vec![f32::NAN; layer.saved_len(input, batch)];
    layer
        .forward(input, Mode::train(&mut saved), Params::NONE, &x, &mut y)
        .map_err(err)?;
    case.check("y", &y, &[&[batch][..], &torch_dims(out)].concat())?;
    let mut produced = vec!["y"];
    if let Some(dy) = u.input_opt("dy")? {
        for tape in [Tape::train(&x, &y, &saved), Tape::eval(&x, &y, &[])] {
            let mut dx = vec![f32::NAN; x.len()];
            layer
                .backward(input, Params::NONE, tape, &dy, Some(&mut dx), Grads::NONE)
                .map_err(err)?;
            case.check("dx", &dx, &x_t.shape)?;
        }
        produced.push("dx");
    }
    case.require_only(&produced)
}
