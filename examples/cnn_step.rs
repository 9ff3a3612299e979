//! Times one training step (zero_grad, forward, cross-entropy, backward, Adam) of the three
//! convolutional networks of `benches/torch_compare/cnn_step.py`, at batch 1 and 32, one
//! thread; prints `cnn_step net=N batch=B median_us=T` per case.
//!
//! ```text
//! cargo run --release --example cnn_step [-- --seconds S]
//! ```
//!
//! * `digits`: 1×8×8, conv 1→8 3×3 p1, ReLU, conv 8→16 3×3 p1, ReLU, max-pool 2, flatten,
//!   dense 256→10 (`examples/digits_cnn.rs`);
//! * `motions`: 6×100, conv 6→16 k5 p2, ReLU, max-pool 2, conv 16→32 k5 p2, ReLU, global
//!   average pool, flatten, dense 32→4 (`examples/motions.rs`);
//! * `lenet5`: 1×28×28, conv 1→6 k5 p2, ReLU, max-pool 2, conv 6→16 k5, ReLU, max-pool 2,
//!   flatten, dense 400→120, ReLU, dense 120→84, ReLU, dense 84→10.
//!
//! Inputs uniform in [0, 1), labels uniform; the model initialised as torch's; after 20
//! untimed steps, steps are timed one by one for `--seconds` (default 1) and the median kept.

use descent::activation::Activation;
use descent::conv::{Conv1d, Conv2d};
use descent::layer::Shape;
use descent::loss::{cross_entropy, Reduction};
use descent::network::{Layer, Sequential};
use descent::optim::{Adam, Optimizer};
use descent::pool::{Flatten, GlobalAvgPool1d, MaxPool1d, MaxPool2d};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::error::Error;
use std::time::Instant;

const fn image(channels: usize, height: usize, width: usize) -> Shape {
    Shape::Image {
        channels,
        height,
        width,
    }
}

const DIGITS: [Layer; 7] = [
    Layer::conv2d(Conv2d::new(1, 8, [3, 3]).with_padding([1, 1])),
    Layer::activation(Activation::Relu),
    Layer::conv2d(Conv2d::new(8, 16, [3, 3]).with_padding([1, 1])),
    Layer::activation(Activation::Relu),
    Layer::max_pool2d(MaxPool2d::new(2)),
    Layer::flatten(Flatten),
    Layer::dense(256, 10),
];
const MOTIONS: [Layer; 8] = [
    Layer::conv1d(Conv1d::new(6, 16, 5).with_padding(2)),
    Layer::activation(Activation::Relu),
    Layer::max_pool1d(MaxPool1d::new(2)),
    Layer::conv1d(Conv1d::new(16, 32, 5).with_padding(2)),
    Layer::activation(Activation::Relu),
    Layer::global_avg_pool1d(GlobalAvgPool1d),
    Layer::flatten(Flatten),
    Layer::dense(32, 4),
];
const LENET5: [Layer; 12] = [
    Layer::conv2d(Conv2d::new(1, 6, [5, 5]).with_padding([2, 2])),
    Layer::activation(Activation::Relu),
    Layer::max_pool2d(MaxPool2d::new(2)),
    Layer::conv2d(Conv2d::new(6, 16, [5, 5])),
    Layer::activation(Activation::Relu),
    Layer::max_pool2d(MaxPool2d::new(2)),
    Layer::flatten(Flatten),
    Layer::dense(400, 120),
    Layer::activation(Activation::Relu),
    Layer::dense(120, 84),
    Layer::activation(Activation::Relu),
    Layer::dense(84, 10),
];

/// The median time of one step of `net` at `batch`, in microseconds.
fn time_step(net: &Sequential, batch: usize, seconds: f64) -> Result<f64, Box<dyn Error>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2024);
    let classes = net.output_features();
    let x: Vec<f32> = (0..batch * net.input_features())
        .map(|_| rng.random::<f32>())
        .collect();
    let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..classes)).collect();
    let n = net.trainable_len();
    let adam = Adam {
        lr: 1e-3,
        ..Adam::DEFAULT
    };
    let (mut params, mut grads) = (vec![0.0; n], vec![0.0; n]);
    let mut state = vec![0.0; adam.state_len(n)];
    let mut acts = vec![0.0; net.activation_len(batch)];
    let mut scratch = vec![0.0; net.scratch_len(batch)];
    let mut dy = vec![0.0; batch * classes];
    net.init(&mut [], &mut params, &mut [], &mut rng)?;
    let mut t = 0;
    let mut step = || -> Result<f32, descent::Error> {
        net.zero_grad(&mut grads)?;
        let out = net.forward_train(&params[..], &mut [], &x, &mut acts, &mut rng)?;
        let loss = cross_entropy(out, &labels, classes, 0.0, Some(&mut dy), Reduction::Mean)?;
        net.backward(&params[..], &x, &acts, &dy, &mut grads, &mut scratch)?;
        adam.step(&mut t, &mut params, &grads, &mut state)?;
        Ok(loss)
    };
    for _ in 0..20 {
        step()?;
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds || times.len() < 10 {
        let t0 = Instant::now();
        let loss = step()?;
        times.push(t0.elapsed().as_secs_f64() * 1e6);
        if !loss.is_finite() {
            return Err(format!("loss {loss}").into());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = match args.as_slice() {
        [] => 1.0,
        [flag, s] if flag == "--seconds" => s.parse()?,
        _ => return Err("usage: cnn_step [--seconds S]".into()),
    };
    let nets = [
        ("digits", Sequential::shaped(image(1, 8, 8), &DIGITS)),
        (
            "motions",
            Sequential::shaped(
                Shape::Sequence {
                    channels: 6,
                    length: 100,
                },
                &MOTIONS,
            ),
        ),
        ("lenet5", Sequential::shaped(image(1, 28, 28), &LENET5)),
    ];
    for (name, net) in &nets {
        net.validate()?;
        for batch in [1, 32] {
            let us = time_step(net, batch, seconds)?;
            println!("cnn_step net={name} batch={batch} median_us={us:.1}");
        }
    }
    Ok(())
}
