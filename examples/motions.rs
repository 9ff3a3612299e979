//! Trains a one-dimensional convolutional network on two multichannel time series of the UEA &
//! UCR archive and reports its accuracy on the archive's test split of each:
//!
//! * BasicMotions: a smart watch's accelerometer and gyroscope (6 × 100), 4 activities;
//! * JapaneseVowels: 12 LPC cepstrum coefficients over 25 frames, 9 speakers.
//!
//! ```text
//! cargo run --release --example motions
//! ```
//!
//! conv C→16 k5 pad 2 → ReLU → max-pool 2 → conv 16→32 k5 pad 2 → ReLU → global average pool →
//! flatten → dense 32→classes (torch: `nn.Conv1d(C, 16, 5, padding=2), nn.ReLU(),
//! nn.MaxPool1d(2), nn.Conv1d(16, 32, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
//! nn.Flatten(), nn.Linear(32, classes)`), AdamW, mini-batches of 16, each channel standardised
//! with the training split's mean and deviation, everything seeded. Exits with an error when a
//! test accuracy is below 95 %.

use descent::activation::Activation;
use descent::conv::Conv1d;
use descent::layer::Shape;
use descent::network::{Layer, Sequential};
use descent::optim::AdamW;
use descent::pool::{Flatten, GlobalAvgPool1d, MaxPool1d};
use descent::train::{Control, FitOptions, Model, Progress, Trainer};
use std::error::Error;
use std::time::Instant;

#[path = "shared/timeseries.rs"]
mod timeseries;
use timeseries::load_series;

const SEED: u64 = 7;
const BATCH: usize = 16;

/// The network for `channels` input channels and `classes` classes.
fn layers(channels: usize, classes: usize) -> [Layer; 8] {
    [
        Layer::conv1d(Conv1d::new(channels, 16, 5).with_padding(2)),
        Layer::activation(Activation::Relu),
        Layer::max_pool1d(MaxPool1d::new(2)),
        Layer::conv1d(Conv1d::new(16, 32, 5).with_padding(2)),
        Layer::activation(Activation::Relu),
        Layer::global_avg_pool1d(GlobalAvgPool1d),
        Layer::flatten(Flatten),
        Layer::dense(32, classes),
    ]
}

/// Trains on `file` for `epochs` and returns the test accuracy.
fn run(file: &str, epochs: usize) -> Result<f32, Box<dyn Error>> {
    let started = Instant::now();
    let data = load_series(file)?;
    let layers = layers(data.channels, data.classes.len());
    let input = Shape::Sequence {
        channels: data.channels,
        length: data.length,
    };
    let net = Sequential::shaped(input, &layers);
    println!(
        "{file}: {} train / {} test series of {}×{}, {} classes, {} parameters",
        data.train.len(),
        data.test.len(),
        data.channels,
        data.length,
        data.classes.len(),
        net.param_len()
    );
    let model = Model::new(net, SEED)?;
    let optimizer = AdamW {
        lr: 3e-3,
        weight_decay: 1e-4,
        ..AdamW::DEFAULT
    };
    let mut trainer = Trainer::new(model, optimizer)?;
    let options = FitOptions {
        seed: SEED,
        progress: Progress::Always,
        ..FitOptions::new(epochs, BATCH)
    };
    trainer.fit(&data.train, &options, |_| Control::Continue)?;
    let (loss, accuracy) = trainer.model.evaluate(&data.test, options.loss)?;
    println!(
        "{file}: test loss {loss:.4}, accuracy {:.2}% ({} of {}), {:.2}s",
        100.0 * accuracy,
        (accuracy * data.test.len() as f32).round(),
        data.test.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(accuracy)
}

fn main() -> Result<(), Box<dyn Error>> {
    let motions = run("basicmotions.csv", 60)?;
    let vowels = run("japanesevowels.csv.gz", 60)?;
    for (name, accuracy) in [("BasicMotions", motions), ("JapaneseVowels", vowels)] {
        if accuracy < 0.95 {
            return Err(format!(
                "{name}: test accuracy {:.2}% is below 95%",
                100.0 * accuracy
            )
            .into());
        }
    }
    Ok(())
}
