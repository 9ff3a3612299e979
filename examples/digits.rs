//! Trains an MLP on the 8×8 handwritten digits (1797 samples, `examples/data/digits.csv`) and
//! reports its accuracy on a held-out 20 %.
//!
//! ```text
//! cargo run --release --example digits [-- --history history.csv]
//! ```
//!
//! 64 pixels (0..16, scaled to 0..1) → dense 128 → GELU → dense 64 → GELU → dense 10, Adam
//! with a one-cycle learning rate stepped per batch, mini-batches of 32, 10 % of the training
//! set for validation with early stopping, everything seeded. Exits with an error when the test
//! accuracy is below 96 %.

use descent::activation::Activation;
use descent::network::{Layer, Sequential};
use descent::optim::AdamW;
use descent::schedule::OneCycleLR;
use descent::train::{
    Control, EarlyStopping, FitOptions, LrSchedule, Model, Progress, Trainer, Validation,
};
use std::error::Error;
use std::time::Instant;

#[path = "shared/digits_data.rs"]
mod digits_data;
use digits_data::load_digits;

const LAYERS: [Layer; 5] = [
    Layer::dense(64, 128),
    Layer::activation(Activation::Gelu),
    Layer::dense(128, 64),
    Layer::activation(Activation::Gelu),
    Layer::dense(64, 10),
];
const NET: Sequential = Sequential::new(64, &LAYERS);
const SEED: u64 = 2024;
const EPOCHS: usize = 40;
const BATCH: usize = 32;

fn main() -> Result<(), Box<dyn Error>> {
    let history_path = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, path] if flag == "--history" => Some(path.clone()),
        _ => return Err("usage: digits [--history PATH]".into()),
    };
    let started = Instant::now();
    let data = load_digits()?;
    let (train, test) = data.split(0.2, SEED)?;
    println!(
        "digits: {} samples, {} for training (10 % of them for validation), {} held out",
        data.len(),
        train.len(),
        test.len()
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
    if let Some(path) = history_path {
        std::fs::write(&path, history.to_csv())?;
        println!("history written to {path}");
    }

    let (test_loss, test_accuracy) = trainer.model.evaluate(&test, options.loss)?;
    println!(
        "test: loss {test_loss:.4}, accuracy {:.2}% ({} of {}), {:.2}s in all",
        100.0 * test_accuracy,
        (test_accuracy * test.len() as f32).round(),
        test.len(),
        started.elapsed().as_secs_f64()
    );
    if test_accuracy < 0.96 {
        return Err(format!("test accuracy {:.2}% is below 96%", 100.0 * test_accuracy).into());
    }
    Ok(())
}
