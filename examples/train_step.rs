//! Times a whole training step and one epoch of the digits example, for the comparison with
//! PyTorch in `benches/torch_compare/` (`run.sh` there builds this, runs both and prints the
//! ratios; `torch_step.py` is the same computation in torch).
//!
//! ```text
//! cargo run --release --example train_step -- [--breakdown] [--seconds S] [--warm-up N]
//!                                             [--only step|digits]
//! ```
//!
//! * **step**: an MLP 784 → dense 256 → ReLU → dense 128 → ReLU → dense 10, initialised as
//!   torch's `nn.Linear` does, trained on fixed random data (pixels uniform in `[0, 1)`, labels
//!   uniform in `0..10`) with cross-entropy (mean) and Adam (lr 1e-3, torch's defaults). One
//!   step is `zero_grad` → `forward_train` → loss and its gradient → `backward` → Adam, timed
//!   at batch sizes 1, 2, 4, …, 256. Prints `step batch=B median_us=T p10_us=T samples=N`
//!   (the median and the 10th percentile, which contention on a shared machine disturbs
//!   less: a step longer than the scheduler's time slice is often preempted); with
//!   `--breakdown` also the median of each phase:
//!   `breakdown batch=B zero_grad_us=… forward_us=… loss_us=… backward_us=… optimizer_us=…`.
//! * **digits**: one epoch of `examples/digits.rs`'s training (the same split, model, AdamW,
//!   one-cycle schedule stepped per batch, mini-batches of 32, 10 % validation evaluated after
//!   the epoch) through [`Trainer::fit`], without early stopping (which does not change an
//!   epoch's work). Prints `digits_epoch median_ms=T p10_ms=T epochs=N val_accuracy=A`: the
//!   median and the 10th percentile of the epochs' wall times (`EpochLog::seconds`) over
//!   whole 40-epoch runs (the first one discarded), repeated until `--seconds` have passed.
//!   `Trainer::fit` sets only the learning rate from the schedule, so torch's side runs
//!   `OneCycleLR` with `cycle_momentum=False`, the same computation.
//!
//! Steps are timed in episodes that both sides run alike: initialise the model and Adam's
//! state afresh (seeded, untimed), run `--warm-up` steps (default 20), then time the next
//! 100 one by one; repeat until `--seconds` (default 0.5) of timed steps have been taken, and
//! report the median. So descent and torch time the same stretch of training whatever their
//! speed. That matters: on fixed data the regime drifts as training goes on. After some 800
//! steps, Adam's `exp_avg` of the weights that stopped getting a gradient (ReLU units that
//! died) decays into subnormal floats and stays there (`0.9 ×` the smallest subnormal rounds
//! back to it), which slows the Adam step on x86 (descent's and torch's fused one by some
//! 60–80 µs); and once the model has learnt the 256 random samples by heart, its softmax
//! saturates. Timing for a fixed time instead would put the faster side further along.
//! `--warm-up 1000` times the later regime.

use descent::activation::Activation;
use descent::loss::{cross_entropy, Reduction};
use descent::network::{Layer, Sequential};
use descent::optim::{Adam, AdamW, Optimizer};
use descent::schedule::OneCycleLR;
use descent::train::{Control, FitOptions, LrSchedule, Model, Progress, Trainer, Validation};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::error::Error;
use std::time::Instant;

#[path = "shared/digits_data.rs"]
mod digits_data;
use digits_data::load_digits;

const MLP_LAYERS: [Layer; 5] = [
    Layer::dense(784, 256),
    Layer::activation(Activation::Relu),
    Layer::dense(256, 128),
    Layer::activation(Activation::Relu),
    Layer::dense(128, 10),
];
const MLP: Sequential = Sequential::new(784, &MLP_LAYERS);
const CLASSES: usize = 10;
const BATCHES: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const SEED: u64 = 2024;

/// The same model and schedule as `examples/digits.rs`.
const DIGITS_LAYERS: [Layer; 5] = [
    Layer::dense(64, 128),
    Layer::activation(Activation::Gelu),
    Layer::dense(128, 64),
    Layer::activation(Activation::Gelu),
    Layer::dense(64, 10),
];
const DIGITS: Sequential = Sequential::new(64, &DIGITS_LAYERS);
const DIGITS_EPOCHS: usize = 40;
const DIGITS_BATCH: usize = 32;

/// Steps timed per episode (see the module docs).
const TIMED_STEPS: usize = 100;

/// The phases of one step, in order.
const PHASES: [&str; 5] = ["zero_grad", "forward", "loss", "backward", "optimizer"];

struct Options {
    breakdown: bool,
    seconds: f64,
    warm_up: usize,
    step: bool,
    digits: bool,
}

fn parse_args() -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        breakdown: false,
        seconds: 0.5,
        warm_up: 20,
        step: true,
        digits: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--breakdown" => options.breakdown = true,
            "--seconds" => {
                let s: f64 = args.next().ok_or("--seconds needs a value")?.parse()?;
                if !s.is_finite() || s <= 0.0 {
                    return Err("--seconds must be positive".into());
                }
                options.seconds = s;
            }
            "--warm-up" => {
                options.warm_up = args.next().ok_or("--warm-up needs a value")?.parse()?;
            }
            "--only" => match args.next().as_deref() {
                Some("step") => options.digits = false,
                Some("digits") => options.step = false,
                _ => return Err("--only takes step or digits".into()),
            },
            _ => {
                return Err(
                    "usage: train_step [--breakdown] [--seconds S] [--warm-up N] \
                     [--only step|digits]"
                        .into(),
                )
            }
        }
    }
    Ok(options)
}

/// The median and the 10th percentile of `samples` (sorting them); NaN for none.
fn median_p10(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let at = |i: usize| samples.get(i).copied().unwrap_or(f64::NAN);
    let median = if n % 2 == 1 {
        at(n / 2)
    } else {
        0.5 * (at((n / 2).saturating_sub(1)) + at(n / 2))
    };
    (median, at(n.saturating_sub(1) / 10))
}

/// Everything one training step of the MLP works on, for a batch of `batch`.
struct StepState {
    params: Vec<f32>,
    grads: Vec<f32>,
    state: Vec<f32>,
    acts: Vec<f32>,
    scratch: Vec<f32>,
    dy: Vec<f32>,
    adam: Adam,
    t: u64,
    rng: Xoshiro256PlusPlus,
}

impl StepState {
    fn new(batch: usize) -> Result<Self, Box<dyn Error>> {
        let adam = Adam {
            lr: 1e-3,
            ..Adam::DEFAULT
        };
        let n = MLP.trainable_len();
        let mut s = StepState {
            params: vec![0.0; n],
            grads: vec![0.0; n],
            state: vec![0.0; adam.state_len(n)],
            acts: vec![0.0; MLP.activation_len(batch)],
            scratch: vec![0.0; MLP.scratch_len(batch)],
            dy: vec![0.0; batch * CLASSES],
            adam,
            t: 0,
            rng: Xoshiro256PlusPlus::seed_from_u64(SEED),
        };
        s.reset()?;
        Ok(s)
    }

    /// A fresh start: the parameters as torch initialises them (the same every time), Adam's
    /// state and step counter zero.
    fn reset(&mut self) -> Result<(), descent::Error> {
        self.rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        MLP.init(&mut [], &mut self.params, &mut [], &mut self.rng)?;
        self.state.fill(0.0);
        self.t = 0;
        Ok(())
    }

    /// One step on `x` (`[batch, 784]`) and `labels`; with `marks`, the time after each phase.
    fn step(
        &mut self,
        x: &[f32],
        labels: &[usize],
        marks: Option<&mut [Instant; 5]>,
    ) -> Result<f32, descent::Error> {
        let mut marks = marks;
        let mut mark = |phase: usize| {
            if let Some(m) = marks.as_deref_mut() {
                m[phase] = Instant::now();
            }
        };
        MLP.zero_grad(&mut self.grads)?;
        mark(0);
        let out = MLP.forward_train(&self.params[..], &mut [], x, &mut self.acts, &mut self.rng)?;
        mark(1);
        let loss = cross_entropy(
            out,
            labels,
            CLASSES,
            0.0,
            Some(&mut self.dy),
            Reduction::Mean,
        )?;
        mark(2);
        MLP.backward(
            &self.params[..],
            x,
            &self.acts,
            &self.dy,
            &mut self.grads,
            &mut self.scratch,
        )?;
        mark(3);
        self.adam
            .step(&mut self.t, &mut self.params, &self.grads, &mut self.state)?;
        mark(4);
        Ok(loss)
    }
}

/// What [`time_steps`] measured, in microseconds.
struct StepTimes {
    median_us: f64,
    p10_us: f64,
    samples: usize,
    /// The median of each of [`PHASES`] (NaN without `--breakdown`).
    phases: [f64; 5],
}

/// Times training steps at batch `b` in episodes (see the module docs): the median and the
/// 10th percentile of single steps, their number, and with `--breakdown` the median of each
/// phase.
fn time_steps(
    b: usize,
    x: &[f32],
    labels: &[usize],
    options: &Options,
) -> Result<StepTimes, Box<dyn Error>> {
    let mut s = StepState::new(b)?;
    let (x, labels) = (&x[..b * 784], &labels[..b]);
    // One episode: its timed steps, and the time after each phase of each when `marked`.
    let mut episode = |marked: bool,
                       totals: &mut Vec<f64>,
                       phases: &mut [Vec<f64>; 5]|
     -> Result<f64, Box<dyn Error>> {
        s.reset()?;
        for _ in 0..options.warm_up {
            s.step(x, labels, None)?;
        }
        let mut timed = 0.0;
        let mut loss = 0.0;
        for _ in 0..TIMED_STEPS {
            let mut marks = [Instant::now(); 5];
            let t0 = Instant::now();
            loss = s.step(x, labels, marked.then_some(&mut marks))?;
            let dt = t0.elapsed().as_secs_f64();
            timed += dt;
            totals.push(dt * 1e6);
            if marked {
                let mut before = t0;
                for (samples, at) in phases.iter_mut().zip(marks) {
                    samples.push((at - before).as_secs_f64() * 1e6);
                    before = at;
                }
            }
        }
        if !loss.is_finite() {
            return Err(format!("loss {loss} at batch {b}").into());
        }
        Ok(timed)
    };

    let mut totals = Vec::new();
    let mut phases: [Vec<f64>; 5] = Default::default();
    let mut timed = 0.0;
    while timed < options.seconds {
        timed += episode(false, &mut totals, &mut phases)?;
    }
    let mut phase_medians = [f64::NAN; 5];
    if options.breakdown {
        let (mut unused, mut timed) = (Vec::new(), 0.0);
        while timed < options.seconds {
            timed += episode(true, &mut unused, &mut phases)?;
        }
        for (m, samples) in phase_medians.iter_mut().zip(phases.iter_mut()) {
            *m = median_p10(samples).0;
        }
    }
    let (median_us, p10_us) = median_p10(&mut totals);
    Ok(StepTimes {
        median_us,
        p10_us,
        samples: totals.len(),
        phases: phase_medians,
    })
}

/// Whole 40-epoch runs of `examples/digits.rs`'s training until `seconds` have passed (after
/// one run to warm up); the median epoch time in milliseconds and the number of epochs.
fn time_digits(seconds: f64) -> Result<(Vec<f64>, f32), Box<dyn Error>> {
    let data = load_digits()?;
    let (train, _test) = data.split(0.2, SEED)?;
    let steps_per_epoch =
        (train.len() - (train.len() as f64 * 0.1).round() as usize).div_ceil(DIGITS_BATCH);
    let schedule = OneCycleLR::new(4e-3, (DIGITS_EPOCHS * steps_per_epoch) as u64);
    let options = FitOptions {
        seed: SEED,
        validation: Validation::Split(0.1),
        schedule: LrSchedule::PerStep(&schedule),
        progress: Progress::Off,
        ..FitOptions::new(DIGITS_EPOCHS, DIGITS_BATCH)
    };
    let mut epochs = Vec::new();
    let mut last_accuracy = f32::NAN;
    let started = Instant::now();
    let mut runs = 0;
    while runs < 2 || started.elapsed().as_secs_f64() < seconds {
        let optimizer = AdamW {
            lr: 1e-3,
            weight_decay: 1e-4,
            ..AdamW::DEFAULT
        };
        let mut trainer = Trainer::new(Model::new(DIGITS, SEED)?, optimizer)?;
        let history = trainer.fit(&train, &options, |_| Control::Continue)?;
        if runs > 0 {
            epochs.extend(history.epochs.iter().map(|e| e.seconds * 1e3));
        }
        last_accuracy = history
            .epochs
            .last()
            .and_then(|e| e.val_metric)
            .unwrap_or(f32::NAN);
        runs += 1;
    }
    Ok((epochs, last_accuracy))
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_args()?;
    if options.step {
        let max = *BATCHES.last().unwrap_or(&1);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED + 1);
        let x: Vec<f32> = (0..max * 784).map(|_| rng.random::<f32>()).collect();
        let labels: Vec<usize> = (0..max).map(|_| rng.random_range(0..CLASSES)).collect();
        for b in BATCHES {
            let t = time_steps(b, &x, &labels, &options)?;
            println!(
                "step batch={b} median_us={:.2} p10_us={:.2} samples={}",
                t.median_us, t.p10_us, t.samples
            );
            if options.breakdown {
                let fields: Vec<String> = PHASES
                    .iter()
                    .zip(t.phases)
                    .map(|(name, us)| format!("{name}_us={us:.2}"))
                    .collect();
                println!("breakdown batch={b} {}", fields.join(" "));
            }
        }
    }
    if options.digits {
        let (mut epochs, accuracy) = time_digits(options.seconds)?;
        let (median_ms, p10_ms) = median_p10(&mut epochs);
        println!(
            "digits_epoch median_ms={median_ms:.3} p10_ms={p10_ms:.3} epochs={} \
             val_accuracy={accuracy:.4}",
            epochs.len()
        );
    }
    Ok(())
}
