//! The training loop: epochs of shuffled mini-batches, validation, schedules, clipping, early
//! stopping, progress and history.

use super::{check_fits, Dataset, Loss, Model, Targets, TrainError};
use crate::network::{Params, Store};
use crate::optim::Optimizer;
use crate::regularize::{self, NormType};
use crate::schedule::{ReduceLROnPlateau, Schedule};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use std::io::{IsTerminal, Write};
use std::string::{String, ToString};
use std::time::Instant;
use std::vec::Vec;

/// Where the validation data comes from.
#[derive(Clone, Copy, Debug)]
pub enum Validation<'d> {
    /// No validation: early stopping and ReduceLROnPlateau watch the training loss.
    None,
    /// Hold out this fraction of the training set (a seeded random split, made once).
    Split(f32),
    /// A separate set.
    Set(&'d Dataset),
}

/// How the learning rate changes.
#[derive(Clone, Copy)]
pub enum LrSchedule<'s> {
    /// The optimizer's learning rate, unchanged.
    Constant,
    /// `lr_at(step)` before every optimizer step (torch's per-batch `scheduler.step()`, as
    /// OneCycleLR and CyclicLR expect).
    PerStep(&'s dyn Schedule),
    /// `lr_at(epoch)` for every step of an epoch (torch's per-epoch `scheduler.step()`).
    PerEpoch(&'s dyn Schedule),
    /// ReduceLROnPlateau on the validation loss (or the training loss without validation),
    /// after each epoch; its `base_lr` field is ignored, the optimizer's lr is the start.
    Plateau(ReduceLROnPlateau),
}

/// Stop when the monitored loss (validation, or training without validation) has not
/// improved by more than `min_delta` for `patience` epochs (Keras' `EarlyStopping`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest decrease that counts as an improvement.
    pub min_delta: f32,
    /// Put back the parameters of the best epoch when training ends.
    pub restore_best: bool,
}

/// What the epoch callback asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// Options of [`Trainer::fit`].
#[derive(Clone, Copy)]
pub struct FitOptions<'a> {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per mini-batch (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Seeds the shuffles and the validation split.
    pub seed: u64,
    /// Shuffle the training set every epoch.
    pub shuffle: bool,
    /// Skip an epoch's last batch when it is smaller than `batch_size` (torch's
    /// `DataLoader(drop_last=True)`; batch norm cannot train on a batch of one).
    pub drop_last: bool,
    /// The loss to minimise.
    pub loss: Loss,
    /// Validation data.
    pub validation: Validation<'a>,
    /// Learning-rate schedule.
    pub schedule: LrSchedule<'a>,
    /// Clip the gradients' global L2 norm to this before each step (`clip_grad_norm_`).
    pub clip_grad_norm: Option<f32>,
    /// Early stopping.
    pub early_stopping: Option<EarlyStopping>,
    /// Print a line per epoch to standard error (when it is a terminal, or always with
    /// `Progress::Always`).
    pub progress: Progress,
}

/// When to print the per-epoch progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Never.
    Off,
    /// When standard error is a terminal.
    Terminal,
    /// Always.
    Always,
}

impl<'a> FitOptions<'a> {
    /// `epochs` passes of mini-batches of `batch_size`, shuffled with seed 0, cross-entropy
    /// loss, no validation, constant learning rate, progress on a terminal.
    pub fn new(epochs: usize, batch_size: usize) -> Self {
        FitOptions {
            epochs,
            batch_size,
            seed: 0,
            shuffle: true,
            drop_last: false,
            loss: Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            validation: Validation::None,
            schedule: LrSchedule::Constant,
            clip_grad_norm: None,
            early_stopping: None,
            progress: Progress::Terminal,
        }
    }
}

/// One epoch's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochLog {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size).
    pub loss: f32,
    /// Training accuracy (classes) or mean absolute error (values) over the epoch.
    pub metric: f32,
    /// Validation loss, when there is validation.
    pub val_loss: Option<f32>,
    /// Validation accuracy or mean absolute error.
    pub val_metric: Option<f32>,
    /// The learning rate of the epoch's last step.
    pub lr: f32,
    /// Wall time of the epoch, seconds.
    pub seconds: f64,
}

/// Every epoch's figures, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per epoch run.
    pub epochs: Vec<EpochLog>,
    /// The metric's name: `"accuracy"` or `"mae"`.
    pub metric: &'static str,
    /// Why training ended early, if it did: `"early stopping"` or `"callback"`.
    pub stopped: Option<&'static str>,
    /// The epoch whose parameters the model holds after early stopping restored them.
    pub restored_epoch: Option<usize>,
}

impl History {
    /// The history as CSV with a header: `epoch,loss,<metric>,val_loss,val_<metric>,lr,seconds`
    /// (empty fields without validation).
    pub fn to_csv(&self) -> String {
        let m = self.metric;
        let mut s = std::format!("epoch,loss,{m},val_loss,val_{m},lr,seconds\n");
        for e in &self.epochs {
            let opt = |v: Option<f32>| v.map(|v| std::format!("{v}")).unwrap_or_default();
            s += &std::format!(
                "{},{},{},{},{},{},{:.6}\n",
                e.epoch,
                e.loss,
                e.metric,
                opt(e.val_loss),
                opt(e.val_metric),
                e.lr,
                e.seconds
            );
        }
        s
    }
}

/// A model, an optimizer and the optimizer's state: what training changes, kept together so
/// that several `fit` calls continue one run and a checkpoint can save all of it.
#[derive(Clone, Debug)]
pub struct Trainer<'a, O> {
    /// The model.
    pub model: Model<'a>,
    /// The optimizer and its hyper-parameters (a schedule sets its `lr`).
    pub optimizer: O,
    /// The optimizer's state (`optimizer.state_len(trainable_len)` floats).
    pub state: Vec<f32>,
    /// Optimizer steps taken so far (torch's `state["step"]`).
    pub step: u64,
}

impl<'a, O: Optimizer> Trainer<'a, O> {
    /// A trainer that has not stepped yet.
    ///
    /// # Errors
    /// [`TrainError::Kernel`] when the optimizer's hyper-parameters are invalid.
    pub fn new(model: Model<'a>, optimizer: O) -> Result<Self, TrainError> {
        optimizer.validate()?;
        let state = std::vec![0.0; optimizer.state_len(model.params.len())];
        Ok(Trainer {
            model,
            optimizer,
            state,
            step: 0,
        })
    }

    /// Checks, before anything is trained, what the first step would otherwise find only
    /// after the forward pass has changed the running statistics: that the loss fits the
    /// targets of both sets and has valid hyper-parameters (by evaluating it on one sample of
    /// zero outputs, so the loss kernel's own checks apply), gradient clipping's `max_norm`,
    /// and the optimizer's hyper-parameters and state length (both public fields).
    fn check_step(
        &self,
        train: &Dataset,
        validation: Option<&Dataset>,
        options: &FitOptions<'_>,
    ) -> Result<(), TrainError> {
        let zeros = std::vec![0.0f32; self.model.net.output_features()];
        for set in core::iter::once(train).chain(validation) {
            if !set.is_empty() {
                options
                    .loss
                    .value(&zeros, &set.select(&[0]).targets, None)?;
            }
        }
        if let Some(max_norm) = options.clip_grad_norm {
            regularize::clip_grad_norm_flat(&mut [], max_norm, NormType::L2)?;
        }
        self.optimizer.validate()?;
        crate::error::check_len(
            "state",
            self.state.len(),
            self.optimizer.state_len(self.model.params.len()),
        )?;
        Ok(())
    }

    /// Trains on `train` (see [`FitOptions`]), calling `on_epoch` after every epoch.
    ///
    /// # Errors
    /// [`TrainError::Data`] for a set that does not fit the model or bad options (a loss that
    /// does not fit the targets included); [`TrainError::Kernel`] for invalid options (the
    /// schedule's, the loss's or the optimizer's hyper-parameters, `clip_grad_norm`, a state
    /// of the wrong length). All of these are found before the first step, so the trainer is
    /// left as it was. [`TrainError::NonFinite`] when a loss or a gradient is NaN or infinite (the step is not
    /// taken: the parameters are the last good ones); [`TrainError::Kernel`] from a kernel.
    pub fn fit(
        &mut self,
        train: &Dataset,
        options: &FitOptions<'_>,
        mut on_epoch: impl FnMut(&EpochLog) -> Control,
    ) -> Result<History, TrainError> {
        check_fits(&self.model.net, train)?;
        if options.batch_size == 0 {
            return Err(TrainError::Data("batch_size is zero".into()));
        }
        let split;
        let (train, validation): (&Dataset, Option<&Dataset>) = match options.validation {
            Validation::None => (train, None),
            Validation::Set(v) => {
                check_fits(&self.model.net, v)?;
                (train, Some(v))
            }
            Validation::Split(fraction) => {
                split = train.split(fraction, options.seed ^ 0x5eed)?;
                (&split.0, Some(&split.1))
            }
        };
        if train.is_empty() {
            return Err(TrainError::Data("the training set is empty".into()));
        }
        if let LrSchedule::PerStep(s) | LrSchedule::PerEpoch(s) = options.schedule {
            s.validate()?;
        }
        let mut plateau = match options.schedule {
            LrSchedule::Plateau(p) => {
                p.validate()?;
                Some(ReduceLROnPlateau {
                    lr: self.optimizer.lr() as f64,
                    ..p
                })
            }
            _ => None,
        };
        self.check_step(train, validation, options)?;

        let net = self.model.net;
        let b_max = options.batch_size.min(train.len());
        let out_w = net.output_features();
        let mut acts = std::vec![0.0f32; net.activation_len(b_max)];
        let mut scratch = std::vec![0.0f32; net.scratch_len(b_max)];
        let mut grads = std::vec![0.0f32; net.trainable_len()];
        let mut dy = std::vec![0.0f32; b_max * out_w];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed);
        let mut order: Vec<usize> = (0..train.len()).collect();
        let show = match options.progress {
            Progress::Off => false,
            Progress::Terminal => std::io::stderr().is_terminal(),
            Progress::Always => true,
        };

        let mut history = History {
            metric: match train.targets {
                Targets::Classes { .. } => "accuracy",
                Targets::Values { .. } => "mae",
            },
            ..History::default()
        };
        let mut best: Option<(f32, usize, Vec<f32>, Vec<f32>)> = None;
        let mut waited = 0usize;

        for epoch in 1..=options.epochs {
            let started = Instant::now();
            if options.shuffle {
                super::data::shuffle(&mut order, &mut rng);
            }
            if let LrSchedule::PerEpoch(s) = options.schedule {
                self.optimizer.set_lr(s.lr_at(epoch as u64 - 1));
            }
            let (mut loss_sum, mut metric_sum) = (0.0f64, 0.0f64);
            let mut seen = 0usize;
            for (batch_index, idx) in order.chunks(b_max).enumerate() {
                let b = idx.len();
                if options.drop_last && b < options.batch_size {
                    break;
                }
                seen += b;
                let batch = train.select(idx);
                if let LrSchedule::PerStep(s) = options.schedule {
                    self.optimizer.set_lr(s.lr_at(self.step));
                }
                let acts = &mut acts[..net.activation_len(b)];
                let dy = &mut dy[..b * out_w];
                let params = Params {
                    frozen: &self.model.frozen,
                    trainable: &self.model.params,
                };
                let out =
                    net.forward_train(params, &mut self.model.buffers, &batch.x, acts, &mut rng)?;
                let value = options.loss.value(out, &batch.targets, Some(dy))?;
                let metric = match &batch.targets {
                    Targets::Classes { classes, labels } => {
                        super::metrics::accuracy(out, labels, *classes)
                    }
                    Targets::Values { values, .. } => super::metrics::mae(out, values),
                };
                if !value.is_finite() {
                    return Err(TrainError::NonFinite {
                        epoch,
                        step: self.step + 1,
                        what: std::format!("loss (batch {batch_index})"),
                    });
                }
                net.zero_grad(&mut grads)?;
                net.backward(
                    params,
                    &batch.x,
                    acts,
                    dy,
                    &mut grads,
                    &mut scratch[..net.scratch_len(b)],
                )?;
                if let Some(bad) = non_finite_tensor(&net, &grads) {
                    return Err(TrainError::NonFinite {
                        epoch,
                        step: self.step + 1,
                        what: std::format!("gradient of {bad}"),
                    });
                }
                if let Some(max_norm) = options.clip_grad_norm {
                    regularize::clip_grad_norm_flat(&mut grads, max_norm, NormType::L2)?;
                }
                self.optimizer.step(
                    &mut self.step,
                    &mut self.model.params,
                    &grads,
                    &mut self.state,
                )?;
                loss_sum += value as f64 * b as f64;
                metric_sum += metric as f64 * b as f64;
            }
            let n = seen.max(1) as f64;
            let (val_loss, val_metric) = match validation {
                Some(v) if !v.is_empty() => {
                    let (l, m) = self.model.evaluate(v, options.loss)?;
                    (Some(l), Some(m))
                }
                _ => (None, None),
            };
            let log = EpochLog {
                epoch,
                loss: (loss_sum / n) as f32,
                metric: (metric_sum / n) as f32,
                val_loss,
                val_metric,
                lr: self.optimizer.lr(),
                seconds: started.elapsed().as_secs_f64(),
            };
            history.epochs.push(log);
            if show {
                print_progress(&log, options.epochs, history.metric);
            }
            let monitored = val_loss.unwrap_or(log.loss);
            if let Some(p) = &mut plateau {
                self.optimizer.set_lr(p.step(monitored));
            }
            if let Some(es) = options.early_stopping {
                let improved = best
                    .as_ref()
                    .is_none_or(|(b, ..)| monitored < b - es.min_delta);
                if improved {
                    best = Some((
                        monitored,
                        epoch,
                        self.model.params.clone(),
                        self.model.buffers.clone(),
                    ));
                    waited = 0;
                } else {
                    waited += 1;
                    if waited >= es.patience {
                        history.stopped = Some("early stopping");
                        break;
                    }
                }
            }
            if on_epoch(&log) == Control::Stop {
                history.stopped = Some("callback");
                break;
            }
        }
        if let (Some(es), Some((_, epoch, params, buffers))) = (options.early_stopping, best) {
            if es.restore_best {
                self.model.params = params;
                self.model.buffers = buffers;
                history.restored_epoch = Some(epoch);
            }
        }
        Ok(history)
    }
}

/// The name (`"{layer}.{tensor}"`) of the first trainable tensor whose gradient is not finite.
fn non_finite_tensor(net: &crate::network::Sequential<'_>, grads: &[f32]) -> Option<String> {
    net.tensors()
        .filter(|t| t.store == Store::Trainable)
        .find(|t| {
            grads
                .get(t.offset..t.offset + t.len)
                .is_some_and(|g| g.iter().any(|v| !v.is_finite()))
        })
        .map(|t| std::format!("{}.{}", t.layer, t.name))
}

fn print_progress(log: &EpochLog, epochs: usize, metric: &str) {
    let mut line = std::format!(
        "epoch {:>w$}/{epochs}  loss {:.4}  {metric} {}",
        log.epoch,
        log.loss,
        fmt_metric(metric, log.metric),
        w = epochs.to_string().len()
    );
    if let (Some(l), Some(m)) = (log.val_loss, log.val_metric) {
        line += &std::format!("  val_loss {l:.4}  val_{metric} {}", fmt_metric(metric, m));
    }
    line += &std::format!("  lr {:.2e}  {:.2}s", log.lr, log.seconds);
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn fmt_metric(metric: &str, v: f32) -> String {
    if metric == "accuracy" {
        std::format!("{:.2}%", 100.0 * v)
    } else {
        std::format!("{v:.4}")
    }
}
