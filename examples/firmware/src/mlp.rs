//! The models and the training loop, shared by the firmware (`src/main.rs`), its host test
//! (`src/lib.rs`) and the build script (which pre-trains the frozen feature extractor with it).
//!
//! Nothing here allocates or formats: every buffer comes from the caller, sized by the
//! library's `const fn`s, and errors are returned as `descent::Error`.

use descent::activation::Activation;
use descent::loss::{cross_entropy, Reduction};
use descent::network::{Layer, Params, Sequential};
use descent::optim::{Adam, Optimizer};
use descent::{Error, Result};
use rand::Rng;

/// Pixels of one 8×8 image.
pub const PIXELS: usize = 64;
/// Digits 0..=9.
pub const CLASSES: usize = 10;
/// Width of the hidden layer.
pub const HIDDEN: usize = 32;
/// Samples per mini-batch.
pub const BATCH: usize = 16;

/// 64 → dense 32 → ReLU → dense 10, every layer trainable.
pub const LAYERS: [Layer; 3] = [
    Layer::dense(PIXELS, HIDDEN),
    Layer::activation(Activation::Relu),
    Layer::dense(HIDDEN, CLASSES),
];
/// The model trained from scratch.
pub const NET: Sequential<'static> = Sequential::new(PIXELS, &LAYERS);

/// The same shape with the first dense layer frozen: its weights come from flash, only the
/// last layer (the head) trains in RAM.
pub const FT_LAYERS: [Layer; 3] = [
    Layer::dense(PIXELS, HIDDEN).frozen(),
    Layer::activation(Activation::Relu),
    Layer::dense(HIDDEN, CLASSES),
];
/// The fine-tuned model.
pub const FT_NET: Sequential<'static> = Sequential::new(PIXELS, &FT_LAYERS);

/// Adam as the demo uses it: torch's defaults with `lr = 1e-2`.
pub const ADAM: Adam = Adam {
    lr: 1e-2,
    ..Adam::DEFAULT
};

/// A labelled set of images, pixels `0..=16` as in scikit-learn's `load_digits`.
#[derive(Clone, Copy)]
pub struct Data<'a> {
    /// One row of 64 pixels per sample.
    pub images: &'a [[u8; PIXELS]],
    /// The digit of each sample.
    pub labels: &'a [u8],
}

impl Data<'_> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.images.len().min(self.labels.len())
    }

    /// Whether there is no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Scales the samples `order[..]` to `x` (`pixel / 16`, row by row) and their labels to
/// `target`; returns how many rows were written (at most `BATCH`).
pub fn load_batch(
    data: &Data,
    order: &[u16],
    x: &mut [f32; BATCH * PIXELS],
    target: &mut [usize; BATCH],
) -> usize {
    let mut rows = 0;
    for ((&i, row), t) in order
        .iter()
        .zip(x.chunks_exact_mut(PIXELS))
        .zip(target.iter_mut())
    {
        let i = usize::from(i);
        let (Some(image), Some(&label)) = (data.images.get(i), data.labels.get(i)) else {
            break;
        };
        for (v, &p) in row.iter_mut().zip(image.iter()) {
            *v = f32::from(p) * (1.0 / 16.0);
        }
        *t = usize::from(label);
        rows += 1;
    }
    rows
}

/// Fisher–Yates shuffle of `order` from `rng` (a multiply-shift draw: no division).
pub fn shuffle<R: Rng + ?Sized>(order: &mut [u16], rng: &mut R) {
    for i in (1..order.len()).rev() {
        let j = ((u64::from(rng.next_u32()) * (i as u64 + 1)) >> 32) as usize;
        order.swap(i, j.min(i));
    }
}

/// Everything one training run works on, borrowed from the caller (statics in the firmware).
pub struct Trainer<'a> {
    /// The model.
    pub net: Sequential<'static>,
    /// The frozen layers' parameters (`net.frozen_len()` floats; flash in the firmware).
    pub frozen: &'a [f32],
    /// The trainable parameters (`net.trainable_len()`).
    pub params: &'a mut [f32],
    /// Their gradients (`net.trainable_len()`).
    pub grads: &'a mut [f32],
    /// Adam's state (`ADAM.state_len(net.trainable_len())`).
    pub state: &'a mut [f32],
    /// The activation arena (`net.activation_len(BATCH)`).
    pub acts: &'a mut [f32],
    /// Scratch (`net.scratch_len(BATCH)`).
    pub scratch: &'a mut [f32],
    /// One batch of inputs.
    pub x: &'a mut [f32; BATCH * PIXELS],
    /// The loss gradient for one batch of logits.
    pub dy: &'a mut [f32; BATCH * CLASSES],
    /// The labels of one batch.
    pub target: &'a mut [usize; BATCH],
    /// A permutation of the training set's indices (its length is the training set's).
    pub order: &'a mut [u16],
    /// The optimizer.
    pub adam: Adam,
    /// Adam's step counter.
    pub step: u64,
}

impl Trainer<'_> {
    /// One epoch over `data` in a fresh random order, in mini-batches of `BATCH` (the last one
    /// shorter); returns the mean of the batches' mean losses.
    pub fn epoch<R: Rng + ?Sized>(&mut self, data: &Data, rng: &mut R) -> Result<f32> {
        shuffle(self.order, rng);
        let (mut sum, mut batches) = (0.0f32, 0u32);
        let net = self.net;
        let frozen = self.frozen;
        for chunk in self.order.chunks(BATCH) {
            let b = load_batch(data, chunk, self.x, self.target);
            if b == 0 {
                continue;
            }
            let x = prefix(&self.x[..], b * PIXELS, "x")?;
            let acts = prefix_mut(self.acts, net.activation_len(b), "acts")?;
            let scratch = prefix_mut(self.scratch, net.scratch_len(b), "scratch")?;
            let params = Params {
                frozen,
                trainable: self.params,
            };
            let logits = net.forward_train(params, &mut [], x, acts, rng)?;
            let dy = prefix_mut(&mut self.dy[..], b * CLASSES, "dy")?;
            let loss = cross_entropy(
                logits,
                prefix(&self.target[..], b, "target")?,
                CLASSES,
                0.0,
                Some(dy),
                Reduction::Mean,
            )?;
            net.zero_grad(self.grads)?;
            let params = Params {
                frozen,
                trainable: self.params,
            };
            net.backward(params, x, acts, dy, self.grads, scratch)?;
            self.adam
                .step(&mut self.step, self.params, self.grads, self.state)?;
            sum += loss;
            batches += 1;
        }
        Ok(if batches == 0 {
            0.0
        } else {
            sum / batches as f32
        })
    }
}

/// How many samples of `data` the model classifies right (arg-max of the logits), running
/// inference in batches of `BATCH` through `x`, `logits` and `scratch`
/// (`net.scratch_len(BATCH)` floats).
pub fn correct(
    net: &Sequential,
    params: Params,
    data: &Data,
    x: &mut [f32; BATCH * PIXELS],
    logits: &mut [f32; BATCH * CLASSES],
    scratch: &mut [f32],
) -> Result<usize> {
    let mut target = [0usize; BATCH];
    let mut right = 0;
    let mut start = 0usize;
    while start < data.len() {
        let mut idx = [0u16; BATCH];
        for (k, slot) in idx.iter_mut().enumerate() {
            *slot = (start + k) as u16;
        }
        let n = (data.len() - start).min(BATCH);
        let b = load_batch(data, prefix(&idx, n, "idx")?, x, &mut target);
        let y = prefix_mut(&mut logits[..], b * CLASSES, "logits")?;
        net.forward(
            params,
            &[],
            prefix(&x[..], b * PIXELS, "x")?,
            y,
            prefix_mut(scratch, net.scratch_len(b), "scratch")?,
        )?;
        for (row, &t) in y.chunks_exact(CLASSES).zip(target.iter()) {
            if argmax(row) == t {
                right += 1;
            }
        }
        start += BATCH;
    }
    Ok(right)
}

/// `v[..len]`, or the library's length error (never, for the buffers above: it keeps the loop
/// free of panics, which the `train` firmware's link checks).
fn prefix<'a, T>(v: &'a [T], len: usize, what: &'static str) -> Result<&'a [T]> {
    let actual = v.len();
    v.get(..len).ok_or(Error::LengthMismatch {
        what,
        expected: len,
        actual,
    })
}

/// `&mut v[..len]`, or the library's length error, as [`prefix`].
fn prefix_mut<'a, T>(v: &'a mut [T], len: usize, what: &'static str) -> Result<&'a mut [T]> {
    let actual = v.len();
    v.get_mut(..len).ok_or(Error::LengthMismatch {
        what,
        expected: len,
        actual,
    })
}

/// The index of the largest value (the first of ties; NaN never wins).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    let mut max = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > max {
            max = v;
            best = i;
        }
    }
    best
}
