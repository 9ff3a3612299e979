//! The training loop and what it needs (`std` only): data sets, a model that owns its
//! vectors, metrics, the loop itself with validation, schedules, clipping, early stopping,
//! progress and history.
//!
//! It adds no math: every number comes from the core kernels (`network`, `loss`, `optim`,
//! `schedule`, `regularize`). [`checkpoint`] saves and restores named `f32` tensors
//! (parameters, optimizer state) as safetensors files, atomically on save and all-or-nothing
//! on load.
//!
//! ```
//! use descent::activation::Activation;
//! use descent::network::{Layer, Sequential};
//! use descent::optim::Adam;
//! use descent::train::{Dataset, FitOptions, Model, Progress, Trainer, Control};
//!
//! // XOR: four samples, two classes.
//! let x = vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
//! let data = Dataset::classification(x, 2, vec![0, 1, 1, 0], 2)?;
//! let layers = [
//!     Layer::dense(2, 8),
//!     Layer::activation(Activation::Tanh),
//!     Layer::dense(8, 2),
//! ];
//! let model = Model::new(Sequential::new(2, &layers), 1)?;
//! let mut trainer = Trainer::new(model, Adam { lr: 0.05, ..Adam::DEFAULT })?;
//! let options = FitOptions { progress: Progress::Off, ..FitOptions::new(300, 4) };
//! let history = trainer.fit(&data, &options, |_| Control::Continue)?;
//! assert_eq!(history.epochs.last().unwrap().metric, 1.0); // all four right
//! # Ok::<(), descent::train::TrainError>(())
//! ```

pub mod checkpoint;
mod data;
mod fit;
mod metrics;
mod model;
mod persist;

pub use data::{shuffle, Dataset, Standardizer, Targets};
pub use fit::{
    Control, EarlyStopping, EpochLog, FitOptions, History, LrSchedule, Progress, Trainer,
    Validation,
};
pub use metrics::{accuracy, argmax, mae, mse, Loss};
pub use model::Model;
pub use persist::STEP_KEY;

use crate::network::Sequential;
use std::string::String;

/// What can go wrong while training.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrainError {
    /// A kernel refused its arguments.
    Kernel(crate::Error),
    /// The data does not fit the model or the options (says what).
    Data(String),
    /// A loss or a gradient became NaN or infinite; the step was not taken, so the model holds
    /// the parameters from before it.
    NonFinite {
        /// The epoch, from 1.
        epoch: usize,
        /// The optimizer step that would have been taken, from 1.
        step: u64,
        /// What was not finite: `"loss (batch k)"` or `"gradient of {layer}.{tensor}"`.
        what: String,
    },
}

impl core::fmt::Display for TrainError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TrainError::Kernel(e) => write!(f, "{e}"),
            TrainError::Data(s) => write!(f, "data: {s}"),
            TrainError::NonFinite { epoch, step, what } => write!(
                f,
                "the {what} is not finite at epoch {epoch}, step {step}; training stopped with \
                 the parameters from before that step"
            ),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<crate::Error> for TrainError {
    fn from(e: crate::Error) -> Self {
        TrainError::Kernel(e)
    }
}

/// Checks that a data set's widths fit the model.
fn check_fits(net: &Sequential<'_>, set: &Dataset) -> Result<(), TrainError> {
    set.check()?;
    if set.features != net.input_features() {
        return Err(TrainError::Data(std::format!(
            "the data has {} features, the model takes {}",
            set.features,
            net.input_features()
        )));
    }
    let out = net.output_features();
    let want = match &set.targets {
        Targets::Classes { classes, .. } => *classes,
        Targets::Values { outputs, .. } => *outputs,
    };
    if want != out {
        return Err(TrainError::Data(std::format!(
            "the targets need {want} outputs, the model gives {out}"
        )));
    }
    Ok(())
}
