//! Trains a 4-16-3 multilayer perceptron on the iris data set with the crate's kernels alone:
//! dense layers, ReLU, cross-entropy and a plain SGD update written out by hand.
//!
//! ```text
//! cargo run --release --example iris
//! ```
//!
//! The data (`examples/data/iris.csv`, UCI Iris, R. A. Fisher 1936) is standardised, shuffled
//! with a fixed seed and split 80 / 20. Every buffer is a fixed-size array: the same loop runs
//! on a microcontroller.

use descent::activation::{relu_backward_inplace, relu_inplace};
use descent::dense::Dense;
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::loss::{cross_entropy, Reduction};

const FEATURES: usize = 4;
const HIDDEN: usize = 16;
const CLASSES: usize = 3;
const BATCH: usize = 8;
const EPOCHS: usize = 150;
const LR: f32 = 0.1;

/// xorshift64*: a tiny deterministic generator for the shuffle and the initial weights.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-bound, bound).
    fn uniform(&mut self, bound: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * unit - 1.0) * bound
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// One sample: its features and its class.
type Row = ([f32; FEATURES], usize);

/// Rows of (features, class) from the CSV whose first line is a header.
fn load(path: &str) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut rows = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != FEATURES + 1 {
            return Err(format!("bad line `{line}`").into());
        }
        let mut x = [0.0; FEATURES];
        for (v, f) in x.iter_mut().zip(&fields) {
            *v = f.trim().parse()?;
        }
        rows.push((x, fields[FEATURES].trim().parse()?));
    }
    Ok(rows)
}

/// A two-layer perceptron's parameters and gradients, in torch's `nn.Linear` layout.
struct Mlp {
    w1: [f32; HIDDEN * FEATURES],
    b1: [f32; HIDDEN],
    w2: [f32; CLASSES * HIDDEN],
    b2: [f32; CLASSES],
}

impl Mlp {
    /// torch's default `nn.Linear` initialisation: U(−1/√in, 1/√in) for weights and biases.
    fn new(rng: &mut Rng) -> Self {
        let mut m = Mlp {
            w1: [0.0; HIDDEN * FEATURES],
            b1: [0.0; HIDDEN],
            w2: [0.0; CLASSES * HIDDEN],
            b2: [0.0; CLASSES],
        };
        let (k1, k2) = (1.0 / (FEATURES as f32).sqrt(), 1.0 / (HIDDEN as f32).sqrt());
        m.w1.iter_mut()
            .chain(&mut m.b1)
            .for_each(|v| *v = rng.uniform(k1));
        m.w2.iter_mut()
            .chain(&mut m.b2)
            .for_each(|v| *v = rng.uniform(k2));
        m
    }

    fn zeroed() -> Self {
        Mlp {
            w1: [0.0; HIDDEN * FEATURES],
            b1: [0.0; HIDDEN],
            w2: [0.0; CLASSES * HIDDEN],
            b2: [0.0; CLASSES],
        }
    }

    fn params_mut(&mut self) -> [&mut [f32]; 4] {
        [&mut self.w1, &mut self.b1, &mut self.w2, &mut self.b2]
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris.csv");
    let mut rows = load(path)?;
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    rng.shuffle(&mut rows);

    // Standardise every feature with the training split's mean and standard deviation.
    let n_train = rows.len() * 4 / 5;
    for f in 0..FEATURES {
        let col = rows[..n_train].iter().map(|(x, _)| x[f]);
        let mean = col.clone().sum::<f32>() / n_train as f32;
        let var = col.map(|v| (v - mean) * (v - mean)).sum::<f32>() / n_train as f32;
        for (x, _) in rows.iter_mut() {
            x[f] = (x[f] - mean) / var.sqrt();
        }
    }
    let (train, test) = rows.split_at(n_train);

    let mut model = Mlp::new(&mut rng);
    let mut grad = Mlp::zeroed();
    // nn.Linear(4, 16) and nn.Linear(16, 3): the batch is each input's length over its width.
    let layer1 = Dense::new(FEATURES, HIDDEN);
    let layer2 = Dense::new(HIDDEN, CLASSES);
    let (in1, in2) = (Shape::Features(FEATURES), Shape::Features(HIDDEN));
    let (mut x, mut h, mut logits) = (
        [0.0; BATCH * FEATURES],
        [0.0; BATCH * HIDDEN],
        [0.0; BATCH * CLASSES],
    );
    let (mut dlogits, mut dh) = ([0.0; BATCH * CLASSES], [0.0; BATCH * HIDDEN]);
    let mut target = [0usize; BATCH];
    let mut order: Vec<usize> = (0..train.len()).collect();

    for epoch in 1..=EPOCHS {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        let mut batches = 0;
        // Full batches only: the buffers are sized for BATCH rows.
        for chunk in order.chunks_exact(BATCH) {
            for ((row, xs), t) in chunk
                .iter()
                .zip(x.chunks_exact_mut(FEATURES))
                .zip(&mut target)
            {
                xs.copy_from_slice(&train[*row].0);
                *t = train[*row].1;
            }
            let p1 = Params::new(&model.w1, &model.b1);
            layer1.forward(in1, Mode::EVAL, p1, &x, &mut h)?;
            relu_inplace(&mut h);
            let p2 = Params::new(&model.w2, &model.b2);
            layer2.forward(in2, Mode::EVAL, p2, &h, &mut logits)?;
            total += cross_entropy(
                &logits,
                &target,
                CLASSES,
                0.0,
                Some(&mut dlogits),
                Reduction::Mean,
            )?;
            batches += 1;

            grad.params_mut().iter_mut().for_each(|g| g.fill(0.0));
            let tape2 = Tape::train(&h, &logits, &[]);
            let g2 = Grads::new(&mut grad.w2, &mut grad.b2);
            layer2.backward(in2, p2, tape2, &dlogits, Some(&mut dh), g2)?;
            relu_backward_inplace(&h, &mut dh)?; // h is ReLU's output: h > 0 ⇔ x > 0
            let g1 = Grads::new(&mut grad.w1, &mut grad.b1);
            layer1.backward(in1, p1, Tape::train(&x, &h, &[]), &dh, None, g1)?;

            for (p, g) in model.params_mut().into_iter().zip(grad.params_mut()) {
                descent::simd::axpy(-LR, g, p)?; // p -= lr·g
            }
        }
        if epoch % 25 == 0 || epoch == 1 {
            println!("epoch {epoch:3}  train loss {:.4}", total / batches as f32);
        }
    }

    // Evaluate one sample at a time: the same layers on batches of one.
    let (p1, p2) = (
        Params::new(&model.w1, &model.b1),
        Params::new(&model.w2, &model.b2),
    );
    let mut correct = 0;
    for (xs, t) in test {
        let (mut h1, mut out) = ([0.0f32; HIDDEN], [0.0f32; CLASSES]);
        layer1.forward(in1, Mode::EVAL, p1, xs, &mut h1)?;
        relu_inplace(&mut h1);
        layer2.forward(in2, Mode::EVAL, p2, &h1, &mut out)?;
        let predicted = (0..CLASSES)
            .max_by(|a, b| out[*a].total_cmp(&out[*b]))
            .unwrap_or(0);
        correct += usize::from(predicted == *t);
    }
    let accuracy = correct as f32 / test.len() as f32;
    println!(
        "test accuracy {:.1} % ({correct}/{})",
        100.0 * accuracy,
        test.len()
    );
    if accuracy < 0.9 {
        return Err(format!("test accuracy {accuracy} is below 90 %").into());
    }
    Ok(())
}
