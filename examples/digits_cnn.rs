//! Trains a small convolutional network on the 8×8 handwritten digits as 1×8×8 images, and
//! reports its accuracy on the same held-out 20 % as `examples/digits.rs`.
//!
//! ```text
//! cargo run --release --example digits_cnn
//! ```
//!
//! conv 1→8 3×3 pad 1 → ReLU → conv 8→16 3×3 pad 1 → ReLU → max-pool 2 → flatten → dense
//! 256→10 (torch: `nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3,
//! padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))`), AdamW with a
//! one-cycle learning rate stepped per batch, mini-batches of 32, 10 % of the training set for
//! validation with early stopping, everything seeded. Exits with an error when the test
//! accuracy is below 98.5 %.

use descent::activation::Activation;
use descent::conv::Conv2d;
use descent::layer::Shape;
use descent::network::{Layer, Sequential};
use descent::optim::AdamW;
use descent::pool::{Flatten, MaxPool2d};
use descent::schedule::OneCycleLR;
use descent::train::{
    Control, EarlyStopping, FitOptions, LrSchedule, Model, Progress, Trainer, Validation,
};
use std::error::Error;
use std::time::Instant;

#[path = "shared/digits_data.rs"]
mod digits_data;
use digits_data::load_digits;

const LAYERS: [Layer; 7] = [
    Layer::conv2d(Conv2d::new(1, 8, [3, 3]).with_padding([1, 1])),
    Layer::activation(Activation::Relu),
    Layer::conv2d(Conv2d::new(8, 16, [3, 3]).with_padding([1, 1])),
    Layer::activation(Activation::Relu),
    Layer::max_pool2d(MaxPool2d::new(2)),
    Layer::flatten(Flatten),
    Layer::dense(256, 10),
];
const IMAGE: Shape = Shape::Image {
    channels: 1,
    height: 8,
    width: 8,
};
const NET: Sequential = Sequential::shaped(IMAGE, &LAYERS);
const SEED: u64 = 2024;
const EPOCHS: usize = 40;
const BATCH: usize = 32;

fn main() -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let data = load_digits()?;
    let (train, test) = data.split(0.2, SEED)?;
    println!(
        "digits_cnn: {} images of 1×8×8, {} for training (10 % of them for validation), {} held out; {} parameters",
        data.len(),
        train.len(),
        test.len(),
        NET.param_len()
    );

    let model = Model::new(NET, SEED)?;
    let optimizer = AdamW {
        lr: 1e-3,
        weight_decay: 1e-4,
        ..AdamW::DEFAULT
    };
    let mut trainer = Trainer::new(model, optimizer)?;
    let steps_per_epoch =
        (train.len() - (train.len() as f64 * 0.1).round() as usize).div_ceil(BATCH);
    let schedule = OneCycleLR::new(4e-3, (EPOCHS * steps_per_epoch) as u64);
    let options = FitOptions {
        seed: SEED,
        validation: Validation::Split(0.1),
        schedule: LrSchedule::PerStep(&schedule),
        early_stopping: Some(EarlyStopping {
            patience: 10,
            min_delta: 0.0,
            restore_best: true,
        }),
        progress: Progress::Always,
        ..FitOptions::new(EPOCHS, BATCH)
    };
    let history = trainer.fit(&train, &options, |_| Control::Continue)?;
    if let Some(why) = history.stopped {
        println!(
            "stopped by {why}; parameters of epoch {}",
            history.restored_epoch.unwrap_or(history.epochs.len())
        );
    }
    let (test_loss, test_accuracy) = trainer.model.evaluate(&test, options.loss)?;
    println!(
        "test: loss {test_loss:.4}, accuracy {:.2}% ({} of {}), {:.2}s in all",
        100.0 * test_accuracy,
        (test_accuracy * test.len() as f32).round(),
        test.len(),
        started.elapsed().as_secs_f64()
    );
    if test_accuracy < 0.985 {
        return Err(format!("test accuracy {:.2}% is below 98.5%", 100.0 * test_accuracy).into());
    }
    Ok(())
}
