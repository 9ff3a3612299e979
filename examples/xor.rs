//! The smallest network that needs a hidden layer: XOR, trained with the `std` loop.
//!
//! ```text
//! cargo run --release --example xor
//! ```

use descent::activation::Activation;
use descent::network::{Layer, Sequential};
use descent::optim::Adam;
use descent::train::{Control, Dataset, FitOptions, Model, Progress, Trainer};
use std::error::Error;

const LAYERS: [Layer; 3] = [
    Layer::dense(2, 4),
    Layer::activation(Activation::Tanh),
    Layer::dense(4, 2),
];

fn main() -> Result<(), Box<dyn Error>> {
    let x = vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let data = Dataset::classification(x.clone(), 2, vec![0, 1, 1, 0], 2)?;
    let model = Model::new(Sequential::new(2, &LAYERS), 3)?;
    let mut trainer = Trainer::new(
        model,
        Adam {
            lr: 0.05,
            ..Adam::DEFAULT
        },
    )?;
    let options = FitOptions {
        progress: Progress::Off,
        ..FitOptions::new(500, 4)
    };
    let history = trainer.fit(&data, &options, |log| {
        if log.epoch % 100 == 0 {
            println!("epoch {:>3}: loss {:.5}", log.epoch, log.loss);
        }
        Control::Continue
    })?;
    let logits = trainer.model.predict(&x)?;
    for (sample, row) in x.chunks(2).zip(logits.chunks(2)) {
        let class = descent::train::argmax(row).unwrap_or(0);
        println!("{} xor {} = {class}", sample[0], sample[1]);
    }
    let accuracy = history.epochs.last().map_or(0.0, |e| e.metric);
    if accuracy < 1.0 {
        return Err("XOR not learned".into());
    }
    Ok(())
}
