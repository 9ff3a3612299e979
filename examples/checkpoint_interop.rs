//! Interoperability with Python's safetensors: writes a small model as a checkpoint for Python
//! to check, and checks a checkpoint Python wrote (`tests/python/checkpoint_interop.py`).
//!
//! ```text
//! cargo run --example checkpoint_interop -- write PATH   # the fixed model below
//! cargo run --example checkpoint_interop -- check PATH   # exit 0 iff PATH holds exactly it
//! ```
//!
//! The model is `nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))`'s `state_dict`
//! names and shapes: `0.weight` [3, 4], `0.bias` [3], `2.weight` [2, 3], `2.bias` [2], with
//! metadata `format = pt`, `model = mlp-4-3-2`. Weights are `((37k + 11t + 5) mod 101 − 50)/64`
//! for element `k` of layer `t` (exact in f32 and f64); the biases are given by their bits to
//! include −0, the smallest subnormal, the largest finite value, 1/3 and −π rounded to f32.
//! The Python script builds the same values independently.

use std::process::ExitCode;

use descent::activation::Activation;
use descent::conv::Conv2d;
use descent::layer::Shape;
use descent::network::{Layer, Sequential};
use descent::pool::{Flatten, MaxPool2d};
use descent::train::{checkpoint, Model};

/// `(name, shape, data)` of the fixed model.
fn model() -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    let weight = |t: usize, n: usize| -> Vec<f32> {
        (0..n)
            .map(|k| (((37 * k + 11 * t + 5) % 101) as f32 - 50.0) / 64.0)
            .collect()
    };
    let from_bits = |b: &[u32]| -> Vec<f32> { b.iter().map(|&b| f32::from_bits(b)).collect() };
    vec![
        ("0.weight", vec![3, 4], weight(0, 12)),
        (
            "0.bias",
            vec![3],
            from_bits(&[0x8000_0000, 0x0000_0001, 0x7f7f_ffff]),
        ),
        ("2.weight", vec![2, 3], weight(2, 6)),
        ("2.bias", vec![2], from_bits(&[0x3eaa_aaab, 0xc049_0fdb])),
    ]
}

const METADATA: [(&str, &str); 2] = [("format", "pt"), ("model", "mlp-4-3-2")];

fn write(path: &str) -> Result<(), String> {
    let m = model();
    let tensors: Vec<(&str, &[usize], &[f32])> = m
        .iter()
        .map(|(n, s, d)| (*n, s.as_slice(), d.as_slice()))
        .collect();
    checkpoint::save(path, &tensors, &METADATA).map_err(|e| e.to_string())?;
    println!("wrote {path}: {} tensors", tensors.len());
    Ok(())
}

fn check(path: &str) -> Result<(), String> {
    let m = model();
    // A strict load: exactly these names, shapes and F32 (or convertible) data.
    let mut buffers: Vec<Vec<f32>> = m.iter().map(|(_, _, d)| vec![0.0; d.len()]).collect();
    let mut dests: Vec<(&str, &[usize], &mut [f32])> = m
        .iter()
        .zip(buffers.iter_mut())
        .map(|((n, s, _), b)| (*n, s.as_slice(), b.as_mut_slice()))
        .collect();
    let metadata = checkpoint::load_into(path, &mut dests).map_err(|e| e.to_string())?;
    let mut failures = Vec::new();
    for ((name, _, expected), got) in m.iter().zip(&buffers) {
        for (k, (e, g)) in expected.iter().zip(got).enumerate() {
            if e.to_bits() != g.to_bits() {
                failures.push(format!(
                    "{name}[{k}]: expected {e:e} ({:#010x}), got {g:e} ({:#010x})",
                    e.to_bits(),
                    g.to_bits()
                ));
            }
        }
    }
    // Every tensor is stored as F32, and the metadata is exactly the model's.
    let ck = checkpoint::read(path).map_err(|e| e.to_string())?;
    for t in &ck.tensors {
        if t.dtype != checkpoint::Dtype::F32 {
            failures.push(format!(
                "{}: dtype {}, expected F32",
                t.name,
                t.dtype.name()
            ));
        }
    }
    let expected_metadata: checkpoint::Metadata = METADATA
        .iter()
        .map(|&(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if metadata != expected_metadata {
        failures.push(format!(
            "metadata {metadata:?}, expected {expected_metadata:?}"
        ));
    }
    if failures.is_empty() {
        let checksum = match ck.crc32 {
            Some(c) => format!("crc32 {c:08x} verified"),
            None => "no checksum (written by another tool)".to_string(),
        };
        println!(
            "{path}: {} tensors and metadata match exactly; {checksum}",
            m.len()
        );
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// The small CNN of the `cnn` check: conv 1→4 3×3 pad 1, ReLU, max-pool 2, conv 4→6 3×3
/// stride 2 (no bias), ReLU, flatten, dense 6·1·1 → 3, on 1×5×6 images.
const CNN: [Layer; 7] = [
    Layer::conv2d(Conv2d::new(1, 4, [3, 3]).with_padding([1, 1])),
    Layer::activation(Activation::Relu),
    Layer::max_pool2d(MaxPool2d::new(2)),
    Layer::conv2d(Conv2d::new(4, 6, [2, 3]).with_stride([2, 2]).without_bias()),
    Layer::activation(Activation::Relu),
    Layer::flatten(Flatten),
    Layer::dense(6, 3),
];
const CNN_INPUT: Shape = Shape::Image {
    channels: 1,
    height: 5,
    width: 6,
};

/// Writes the CNN's checkpoint (torch's names and shapes) to `model_path`, and a batch of 4
/// inputs with the logits this crate computes for them to `io_path` (`x`, `logits`).
fn cnn(model_path: &str, io_path: &str) -> Result<(), String> {
    let net = Sequential::shaped(CNN_INPUT, &CNN);
    let model = Model::new(net, 7).map_err(|e| e.to_string())?;
    model.save(model_path).map_err(|e| e.to_string())?;
    let x: Vec<f32> = (0..4 * CNN_INPUT.len())
        .map(|k| (((29 * k + 3) % 53) as f32 - 26.0) / 13.0)
        .collect();
    let logits = model.predict(&x).map_err(|e| e.to_string())?;
    let tensors: [(&str, &[usize], &[f32]); 2] =
        [("x", &[4, 1, 5, 6], &x), ("logits", &[4, 3], &logits)];
    checkpoint::save(io_path, &tensors, &[]).map_err(|e| e.to_string())?;
    println!("wrote {model_path} and {io_path}: the CNN's tensors, 4 inputs and their logits");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["write", path] => write(path),
        ["check", path] => check(path),
        ["cnn", model, io] => cnn(model, io),
        _ => {
            eprintln!("usage: checkpoint_interop (write|check) PATH | cnn MODEL IO");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("checkpoint_interop: FAILED\n{e}");
            ExitCode::FAILURE
        }
    }
}
