//! A model with its memory: a [`Sequential`] description plus the vectors it runs on.

use super::{Dataset, Loss, Targets, TrainError};
use crate::network::Sequential;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use std::vec::Vec;

/// How many samples inference runs at once.
const INFERENCE_BATCH: usize = 256;

/// A sequential model and its parameters and buffers, owned in `Vec`s.
#[derive(Clone, Debug)]
pub struct Model<'a> {
    /// The layers.
    pub net: Sequential<'a>,
    /// The frozen layers' parameters (empty when none is frozen).
    pub frozen: Vec<f32>,
    /// The trainable parameters.
    pub params: Vec<f32>,
    /// Non-trained state (running statistics).
    pub buffers: Vec<f32>,
}

impl<'a> Model<'a> {
    /// A model whose parameters are initialised as torch's layers do
    /// ([`Sequential::init`]) from a generator seeded with `seed`.
    ///
    /// # Errors
    /// [`TrainError::Kernel`] when the layers do not chain.
    pub fn new(net: Sequential<'a>, seed: u64) -> Result<Self, TrainError> {
        net.validate()?;
        let mut model = Model {
            net,
            frozen: std::vec![0.0; net.frozen_len()],
            params: std::vec![0.0; net.trainable_len()],
            buffers: std::vec![0.0; net.buffer_len()],
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        net.init(
            &mut model.frozen,
            &mut model.params,
            &mut model.buffers,
            &mut rng,
        )?;
        Ok(model)
    }

    /// The model's outputs for `x` (`[n, input_features]`), in evaluation mode, as
    /// `[n, output_features]`.
    ///
    /// # Errors
    /// [`TrainError::Data`] when `x` is not whole samples; [`TrainError::Kernel`] from the
    /// layers.
    pub fn predict(&self, x: &[f32]) -> Result<Vec<f32>, TrainError> {
        let f = self.net.input_features();
        if f == 0 || !x.len().is_multiple_of(f) {
            return Err(TrainError::Data(std::format!(
                "{} values are not whole samples of {f} features",
                x.len()
            )));
        }
        let out = self.net.output_features();
        let n = x.len() / f;
        let mut y = std::vec![0.0; n * out];
        let mut scratch = std::vec![0.0; self.net.scratch_len(INFERENCE_BATCH.min(n.max(1)))];
        let params = crate::network::Params {
            frozen: &self.frozen,
            trainable: &self.params,
        };
        for (xs, ys) in x
            .chunks(INFERENCE_BATCH * f)
            .zip(y.chunks_mut(INFERENCE_BATCH * out))
        {
            let b = xs.len() / f;
            let s = self.net.scratch_len(b);
            self.net
                .forward(params, &self.buffers, xs, ys, &mut scratch[..s])?;
        }
        Ok(y)
    }

    /// The mean loss and the metric (accuracy for classes, mean absolute error for values) of
    /// the model on `set`, in evaluation mode.
    ///
    /// # Errors
    /// [`TrainError::Data`] when the set does not fit the model; [`TrainError::Kernel`].
    pub fn evaluate(&self, set: &Dataset, loss: Loss) -> Result<(f32, f32), TrainError> {
        super::check_fits(&self.net, set)?;
        let out = self.predict(&set.x)?;
        let n = set.len();
        let mut total = 0.0f64;
        let per = self.net.output_features();
        for (i, chunk) in out.chunks(INFERENCE_BATCH * per).enumerate() {
            let b = chunk.len() / per.max(1);
            let idx: Vec<usize> = (i * INFERENCE_BATCH..i * INFERENCE_BATCH + b).collect();
            let batch = set.select(&idx);
            total += loss.value(chunk, &batch.targets, None)? as f64 * b as f64;
        }
        let metric = match &set.targets {
            Targets::Classes { classes, labels } => {
                super::metrics::accuracy(&out, labels, *classes)
            }
            Targets::Values { values, .. } => super::metrics::mae(&out, values),
        };
        Ok(((total / n.max(1) as f64) as f32, metric))
    }
}
