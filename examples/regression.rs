//! Regression on the diabetes data (442 patients, 10 baseline variables, disease progression a
//! year later): standardised inputs, an MLP trained with the MSE loss, and its test error beside
//! the baseline that always predicts the training mean.
//!
//! ```text
//! cargo run --release --example regression
//! ```

use descent::activation::Activation;
use descent::network::{Layer, Sequential};
use descent::optim::Adam;
use descent::schedule::CosineAnnealingLR;
use descent::train::{
    mae, mse, Control, Dataset, FitOptions, Loss, LrSchedule, Model, Progress, Standardizer,
    Targets, Trainer, Validation,
};
use std::error::Error;

const LAYERS: [Layer; 3] = [
    Layer::dense(10, 32),
    Layer::activation(Activation::Silu),
    Layer::dense(32, 1),
];
const SEED: u64 = 7;
const EPOCHS: usize = 200;

fn read(name: &str) -> Result<Vec<f32>, Box<dyn Error>> {
    let path = format!("{}/examples/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for word in std::fs::read_to_string(&path)?.split_whitespace() {
        v.push(word.parse::<f32>()?);
    }
    Ok(v)
}

fn main() -> Result<(), Box<dyn Error>> {
    let x = read("diabetes_data_raw.csv")?;
    let y = read("diabetes_target.csv")?;
    // Targets in units of 100 keep the MSE near 1 at the start.
    let y: Vec<f32> = y.iter().map(|v| v / 100.0).collect();
    let data = Dataset::regression(x, 10, y, 1)?;
    let (mut train, mut test) = data.split(0.2, SEED)?;
    let scaler = Standardizer::fit(&train);
    scaler.apply(&mut train);
    scaler.apply(&mut test);

    let model = Model::new(Sequential::new(10, &LAYERS), SEED)?;
    let mut trainer = Trainer::new(
        model,
        Adam {
            lr: 3e-3,
            ..Adam::DEFAULT
        },
    )?;
    let schedule = CosineAnnealingLR::new(3e-3, EPOCHS as u64);
    let options = FitOptions {
        seed: SEED,
        loss: Loss::Mse,
        validation: Validation::Split(0.1),
        schedule: LrSchedule::PerEpoch(&schedule),
        progress: Progress::Off,
        ..FitOptions::new(EPOCHS, 32)
    };
    trainer.fit(&train, &options, |log| {
        if log.epoch % 40 == 0 {
            println!(
                "epoch {:>3}: mse {:.4}  mae {:.4}  val_mse {:.4}  val_mae {:.4}",
                log.epoch,
                log.loss,
                log.metric,
                log.val_loss.unwrap_or(f32::NAN),
                log.val_metric.unwrap_or(f32::NAN)
            );
        }
        Control::Continue
    })?;

    let (
        Targets::Values {
            values: train_y, ..
        },
        Targets::Values { values: test_y, .. },
    ) = (&train.targets, &test.targets)
    else {
        return Err("regression targets expected".into());
    };
    let prediction = trainer.model.predict(&test.x)?;
    let mean = train_y.iter().sum::<f32>() / train_y.len() as f32;
    let baseline = vec![mean; test_y.len()];
    let (m, b) = (mse(&prediction, test_y), mse(&baseline, test_y));
    println!(
        "test (×100 units): MSE {:.4} (mean baseline {:.4}), MAE {:.4} (baseline {:.4}), R² {:.3}",
        m,
        b,
        mae(&prediction, test_y),
        mae(&baseline, test_y),
        1.0 - m / b
    );
    if m >= 0.75 * b {
        return Err("the model does not beat the mean baseline by 25 %".into());
    }
    Ok(())
}
