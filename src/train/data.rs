//! Data sets in memory: samples as rows of features, with class labels or real targets;
//! seeded shuffles and splits; standardisation.

use super::TrainError;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use std::vec::Vec;

/// What a data set's samples are labelled with.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per sample, each `< classes` (trained with a cross-entropy loss).
    Classes {
        /// The number of classes.
        classes: usize,
        /// One label per sample.
        labels: Vec<usize>,
    },
    /// `outputs` real values per sample (trained with a regression loss).
    Values {
        /// Values per sample.
        outputs: usize,
        /// `[samples, outputs]`, row-major.
        values: Vec<f32>,
    },
}

/// Samples (`[len, features]` row-major) and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Features per sample.
    pub features: usize,
    /// `[len, features]`, row-major.
    pub x: Vec<f32>,
    /// The targets, one entry (or `outputs` values) per sample.
    pub targets: Targets,
}

impl Dataset {
    /// A classification set: `x` is `[n, features]`, `labels` has `n` entries below `classes`.
    ///
    /// # Errors
    /// [`TrainError::Data`] when the lengths disagree, `features` or `classes` is zero, or a
    /// label is out of range.
    pub fn classification(
        x: Vec<f32>,
        features: usize,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<Self, TrainError> {
        Dataset::checked(x, features, Targets::Classes { classes, labels })
    }

    /// A regression set: `x` is `[n, features]`, `values` `[n, outputs]`.
    ///
    /// # Errors
    /// [`TrainError::Data`] when the lengths disagree or a width is zero.
    pub fn regression(
        x: Vec<f32>,
        features: usize,
        values: Vec<f32>,
        outputs: usize,
    ) -> Result<Self, TrainError> {
        Dataset::checked(x, features, Targets::Values { outputs, values })
    }

    /// The set of `x` and `targets`, checked ([`Dataset::check`]).
    fn checked(x: Vec<f32>, features: usize, targets: Targets) -> Result<Self, TrainError> {
        let set = Dataset {
            features,
            x,
            targets,
        };
        set.check()?;
        Ok(set)
    }

    /// Checks the shapes agree and, for class targets, that `classes` is not zero and every
    /// label is below it (the fields are public, so a set built by hand is checked as
    /// [`Dataset::classification`] checks its arguments).
    ///
    /// # Errors
    /// [`TrainError::Data`] saying what is wrong.
    pub fn check(&self) -> Result<(), TrainError> {
        if let Targets::Classes { classes, labels } = &self.targets {
            if *classes == 0 {
                return Err(TrainError::Data("classes is zero".into()));
            }
            if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l >= *classes) {
                return Err(TrainError::Data(std::format!(
                    "label {l} of sample {i} is not below {classes} classes"
                )));
            }
        }
        if self.features == 0 {
            return Err(TrainError::Data("features is zero".into()));
        }
        if !self.x.len().is_multiple_of(self.features) {
            return Err(TrainError::Data(std::format!(
                "{} feature values are not a whole number of samples of {}",
                self.x.len(),
                self.features
            )));
        }
        let n = self.x.len() / self.features;
        let targets = match &self.targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { outputs: 0, .. } => {
                return Err(TrainError::Data("outputs is zero".into()))
            }
            Targets::Values { outputs, values } => {
                if !values.len().is_multiple_of(*outputs) {
                    return Err(TrainError::Data(std::format!(
                        "{} target values are not a whole number of rows of {outputs}",
                        values.len()
                    )));
                }
                values.len() / outputs
            }
        };
        if targets != n {
            return Err(TrainError::Data(std::format!(
                "{n} samples but {targets} targets"
            )));
        }
        Ok(())
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.x.len().checked_div(self.features).unwrap_or(0)
    }

    /// Whether the set has no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples at `indices`, in that order, as a new set.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let f = self.features;
        let mut x = Vec::with_capacity(indices.len() * f);
        for &i in indices {
            x.extend_from_slice(self.x.get(i * f..(i + 1) * f).unwrap_or(&[]));
        }
        let targets = match &self.targets {
            Targets::Classes { classes, labels } => Targets::Classes {
                classes: *classes,
                labels: indices
                    .iter()
                    .map(|&i| labels.get(i).copied().unwrap_or(0))
                    .collect(),
            },
            Targets::Values { outputs, values } => {
                let mut v = Vec::with_capacity(indices.len() * outputs);
                for &i in indices {
                    v.extend_from_slice(values.get(i * outputs..(i + 1) * outputs).unwrap_or(&[]));
                }
                Targets::Values {
                    outputs: *outputs,
                    values: v,
                }
            }
        };
        Dataset {
            features: f,
            x,
            targets,
        }
    }

    /// A seeded random split: `(rest, held_out)` with `round(fraction·len)` samples held out
    /// (scikit-learn's `train_test_split(test_size=fraction, shuffle=True)`, with our own
    /// generator, so the same seed gives the same split on every machine).
    ///
    /// # Errors
    /// [`TrainError::Data`] when `fraction` is not in `[0, 1]`.
    pub fn split(&self, fraction: f32, seed: u64) -> Result<(Dataset, Dataset), TrainError> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(TrainError::Data(std::format!(
                "split fraction {fraction} is not in [0, 1]"
            )));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        shuffle(&mut order, &mut Xoshiro256PlusPlus::seed_from_u64(seed));
        let held = ((self.len() as f64) * fraction as f64).round() as usize;
        let (held_out, rest) = order.split_at(held.min(order.len()));
        Ok((self.select(rest), self.select(held_out)))
    }
}

/// Fisher–Yates shuffle with an unbiased bounded draw (Lemire's multiply-and-reject).
pub fn shuffle<R: Rng + ?Sized>(items: &mut [usize], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A uniform draw in `[0, n)` for `n ≥ 1`.
fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Per-feature standardisation `(x − mean)/std`, fitted on one set and applied to others
/// (scikit-learn's `StandardScaler`; a constant feature gets std 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// The mean of each feature.
    pub mean: Vec<f32>,
    /// The (biased) standard deviation of each feature, 1 where it is 0.
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fits the per-feature mean and standard deviation of `set` (in f64).
    pub fn fit(set: &Dataset) -> Self {
        let f = set.features;
        let n = set.len().max(1) as f64;
        let mut mean = std::vec![0.0f64; f];
        for row in set.x.chunks_exact(f.max(1)) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += *v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = std::vec![0.0f64; f];
        for row in set.x.chunks_exact(f.max(1)) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (*v as f64 - m) * (*v as f64 - m);
            }
        }
        Standardizer {
            mean: mean.iter().map(|m| *m as f32).collect(),
            std: var
                .iter()
                .map(|s| {
                    let sd = (s / n).sqrt() as f32;
                    if sd > 0.0 {
                        sd
                    } else {
                        1.0
                    }
                })
                .collect(),
        }
    }

    /// Applies the transform to `set` in place, in `f64` (so that `x − mean` cannot overflow
    /// for features near `f32::MAX`) and rounded once.
    pub fn apply(&self, set: &mut Dataset) {
        let f = self.mean.len().max(1);
        for row in set.x.chunks_exact_mut(f) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = ((f64::from(*v) - f64::from(*m)) / f64::from(*s)) as f32;
            }
        }
    }
}
