//! Bad-input rows of `descent::train` (std): data-set constructors, the model, the trainer and `fit`'s checks.

use descent::activation::{Activation, LeakyRelu};
use descent::network::{Layer, Sequential};
use descent::optim::Sgd;
use descent::schedule::{ReduceLROnPlateau, StepLR};
use descent::train::{
    Dataset, FitOptions, Loss, LrSchedule, Model, Progress, Targets, TrainError, Trainer,
    Validation,
};

use crate::harness::*;
use crate::network::net;

/// The outcome of a training-loop call.
pub(crate) fn out<T>(r: Result<T, TrainError>, untouched: bool) -> Outcome {
    Outcome {
        got: match r {
            Ok(_) => Got::Ok,
            Err(TrainError::Kernel(e)) => Got::Kernel(e),
            Err(TrainError::Data(s)) => Got::Data(s),
            Err(e) => Got::Other(format!("{e:?}")),
        },
        untouched,
    }
}

/// A data-set constructor and what it must give.
pub(crate) type DatasetRow = (&'static str, fn() -> Result<Dataset, TrainError>, Want);
/// A data set that does not fit [`classifier`].
pub(crate) type SetRow = (&'static str, fn() -> Dataset, Want);
/// A loss, the targets it meets, and what it must give.
pub(crate) type LossRow = (&'static str, Loss, fn() -> Targets, Want);
/// A `fit` option only a step would reach: the loss, `clip_grad_norm`, a change to the
/// trainer, and what it must give.
pub(crate) type LateRow = (&'static str, Loss, Option<f32>, fn(&mut Trainer<Sgd>), Want);

pub(crate) fn data(msg: impl Into<String>) -> Want {
    Want::Data(msg.into())
}

/// 3 features → dense 4 → batch norm → tanh → dense 2 (the batch norm has buffers that a
/// forward pass in training mode would change).
pub(crate) fn classifier() -> Sequential<'static> {
    net(
        3,
        vec![
            Layer::dense(3, 4),
            Layer::batch_norm(4),
            Layer::activation(Activation::Tanh),
            Layer::dense(4, 2),
        ],
    )
}

/// 8 samples of 3 features in 2 classes.
pub(crate) fn classes() -> Dataset {
    Dataset::classification(pattern(24), 3, vec![0, 1, 1, 0, 1, 0, 0, 1], 2).unwrap()
}

/// The same samples with 2 real targets each.
pub(crate) fn values() -> Dataset {
    Dataset::regression(pattern(24), 3, pattern(16), 2).unwrap()
}

/// A trainer for [`classifier`] with Sgd and momentum (so it has state).
pub(crate) fn trainer() -> Trainer<'static, Sgd> {
    let model = Model::new(classifier(), 7).unwrap();
    Trainer::new(
        model,
        Sgd {
            lr: 0.1,
            momentum: 0.9,
            ..Sgd::DEFAULT
        },
    )
    .unwrap()
}

pub(crate) fn options() -> FitOptions<'static> {
    FitOptions {
        progress: Progress::Off,
        ..FitOptions::new(2, 4)
    }
}

pub(crate) fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `fit` on a fresh trainer: parameters, buffers, optimizer state and the step counter
/// must be as before.
pub(crate) fn run_fit(
    train: &Dataset,
    options: &FitOptions<'_>,
    tweak: fn(&mut Trainer<Sgd>),
) -> Outcome {
    let mut tr = trainer();
    tweak(&mut tr);
    let before = (
        bits(&tr.model.params),
        bits(&tr.model.buffers),
        bits(&tr.state),
        tr.step,
    );
    let r = tr.fit(train, options, |_| descent::train::Control::Continue);
    let after = (
        bits(&tr.model.params),
        bits(&tr.model.buffers),
        bits(&tr.state),
        tr.step,
    );
    out(r, before == after)
}

/// The training loop's rows that fail today because of the network bugs above.
pub(crate) fn bad_layer_rows(t: &mut Table) {
    let slope_nan = || {
        net(
            3,
            vec![
                Layer::dense(3, 4),
                Layer::batch_norm(4),
                Layer::activation(Activation::LeakyRelu(LeakyRelu {
                    negative_slope: f32::NAN,
                })),
                Layer::dense(4, 2),
            ],
        )
    };
    // `Model::new` refuses a layer that cannot run (through `Sequential::validate`).
    t.row(
        "Model::new: a leaky_relu slope NaN",
        Want::Kernel(hp("negative_slope")),
        move || out(Model::new(slope_nan(), 1), true),
    );
    // `fit` refuses it before the batch norm below it updates the running statistics.
    t.row(
        "Trainer::fit: a leaky_relu slope NaN",
        Want::Kernel(hp("negative_slope")),
        move || {
            let n = slope_nan();
            let model = Model {
                frozen: vec![],
                params: pattern(n.trainable_len()),
                buffers: pattern(n.buffer_len()),
                net: n,
            };
            let mut tr = Trainer::new(model, Sgd::DEFAULT).unwrap();
            let before = (bits(&tr.model.params), bits(&tr.model.buffers));
            let r = tr.fit(&classes(), &options(), |_| {
                descent::train::Control::Continue
            });
            let after = (bits(&tr.model.params), bits(&tr.model.buffers));
            out(r, before == after && tr.step == 0)
        },
    );
}

pub(crate) static BAD_GAMMA: StepLR = StepLR {
    gamma: f64::NAN,
    ..StepLR::new(0.1, 1)
};

pub(crate) fn rows(t: &mut Table) {
    t.module("train");
    // Data sets.
    let ds_rows: [DatasetRow; 9] = [
        (
            "classification: classes = 0",
            || Dataset::classification(pattern(6), 3, vec![0, 0], 0),
            data("classes is zero"),
        ),
        (
            "classification: label 2 of 2 classes",
            || Dataset::classification(pattern(6), 3, vec![0, 2], 2),
            data("label 2 of sample 1 is not below 2 classes"),
        ),
        (
            "classification: label usize::MAX (-1)",
            || Dataset::classification(pattern(6), 3, vec![usize::MAX, 0], 2),
            data(format!(
                "label {} of sample 0 is not below 2 classes",
                usize::MAX
            )),
        ),
        (
            "classification: features = 0",
            || Dataset::classification(vec![], 0, vec![], 2),
            data("features is zero"),
        ),
        (
            "classification: 7 values of 3 features",
            || Dataset::classification(pattern(7), 3, vec![0, 1], 2),
            data("7 feature values are not a whole number of samples of 3"),
        ),
        (
            "classification: 3 labels for 2 samples",
            || Dataset::classification(pattern(6), 3, vec![0, 1, 0], 2),
            data("2 samples but 3 targets"),
        ),
        (
            "regression: outputs = 0",
            || Dataset::regression(pattern(6), 3, vec![], 0),
            data("outputs is zero"),
        ),
        (
            "regression: 5 values of 2 outputs",
            || Dataset::regression(pattern(6), 3, pattern(5), 2),
            data("5 target values are not a whole number of rows of 2"),
        ),
        (
            "regression: 3 rows of targets for 2 samples",
            || Dataset::regression(pattern(6), 3, pattern(6), 2),
            data("2 samples but 3 targets"),
        ),
    ];
    for (name, f, want) in ds_rows {
        t.row(format!("Dataset::{name}"), want, move || out(f(), true));
    }
    // A hand-built set (the fields are public) is checked by `check` the same way.
    t.row(
        "Dataset::check: a label out of range",
        data("label 5 of sample 1 is not below 2 classes"),
        move || {
            let mut set = classes();
            if let Targets::Classes { labels, .. } = &mut set.targets {
                labels[1] = 5;
            }
            out(set.check(), true)
        },
    );
    t.row(
        "Dataset::check: classes = 0",
        data("classes is zero"),
        move || {
            let mut set = classes();
            if let Targets::Classes { classes, .. } = &mut set.targets {
                *classes = 0;
            }
            out(set.check(), true)
        },
    );
    for f in NOT_UNIT {
        t.row(
            format!("Dataset::split: fraction = {f}"),
            data(format!("split fraction {f} is not in [0, 1]")),
            move || out(classes().split(f, 1), true),
        );
    }

    // The model.
    for (name, n, e) in [
        ("no layer", net(3, vec![]), zero("layers")),
        (
            "dense in_features 4 after width 3",
            net(3, vec![Layer::dense(4, 2)]),
            len("in_features", 3, 4),
        ),
        ("dropout p = 2", net(3, vec![Layer::dropout(2.0)]), hp("p")),
    ] {
        t.row(format!("Model::new: {name}"), Want::Kernel(e), move || {
            out(Model::new(n, 1), true)
        });
    }
    t.row(
        "Model::predict: 7 values of 3 features",
        data("7 values are not whole samples of 3 features"),
        move || {
            out(
                Model::new(classifier(), 1).unwrap().predict(&pattern(7)),
                true,
            )
        },
    );
    let wrong_sets: [SetRow; 3] = [
        (
            "4 features for a model of 3",
            || Dataset::classification(pattern(8), 4, vec![0, 1], 2).unwrap(),
            data("the data has 4 features, the model takes 3"),
        ),
        (
            "3 classes for a model of 2 outputs",
            || Dataset::classification(pattern(6), 3, vec![0, 2], 3).unwrap(),
            data("the targets need 3 outputs, the model gives 2"),
        ),
        (
            "3 real outputs for a model of 2",
            || Dataset::regression(pattern(6), 3, pattern(6), 3).unwrap(),
            data("the targets need 3 outputs, the model gives 2"),
        ),
    ];
    for (name, set, want) in wrong_sets.clone() {
        t.row(format!("Model::evaluate: {name}"), want, move || {
            let m = Model::new(classifier(), 1).unwrap();
            out(
                m.evaluate(
                    &set(),
                    Loss::CrossEntropy {
                        label_smoothing: 0.0,
                    },
                ),
                true,
            )
        });
    }
    t.row(
        "Model::evaluate: Mse on class targets",
        data("loss Mse does not fit the data set's targets"),
        move || {
            let m = Model::new(classifier(), 1).unwrap();
            out(m.evaluate(&classes(), Loss::Mse), true)
        },
    );

    // Loss::value writes no gradient on error.
    let loss_rows: [LossRow; 6] = [
        (
            "CrossEntropy on value targets",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            || values().targets,
            data("loss CrossEntropy { label_smoothing: 0.0 } does not fit the data set's targets"),
        ),
        (
            "L1 on class targets",
            Loss::L1,
            || classes().targets,
            data("loss L1 does not fit the data set's targets"),
        ),
        (
            "CrossEntropy label_smoothing = NaN",
            Loss::CrossEntropy {
                label_smoothing: f32::NAN,
            },
            || classes().targets,
            Want::Kernel(hp("label_smoothing")),
        ),
        (
            "Huber delta = 0",
            Loss::Huber { delta: 0.0 },
            || values().targets,
            Want::Kernel(hp("delta")),
        ),
        (
            "SmoothL1 beta = -1",
            Loss::SmoothL1 { beta: -1.0 },
            || values().targets,
            Want::Kernel(hp("beta")),
        ),
        (
            "Mse with 15 outputs for 16 targets",
            Loss::Mse,
            || values().targets,
            Want::Kernel(len("target", 15, 16)),
        ),
    ];
    for (name, loss, targets, want) in loss_rows {
        let n = if name.contains("15 outputs") { 15 } else { 16 };
        t.row(format!("Loss::value: {name}"), want, move || {
            let mut g = sentinel(n);
            out(
                loss.value(&pattern(n), &targets(), Some(&mut g)),
                is_sentinel(&g),
            )
        });
    }

    // The trainer.
    t.row("Trainer::new: lr = -1", Want::Kernel(hp("lr")), move || {
        let model = Model::new(classifier(), 1).unwrap();
        out(
            Trainer::new(
                model,
                Sgd {
                    lr: -1.0,
                    ..Sgd::DEFAULT
                },
            ),
            true,
        )
    });
    let none: fn(&mut Trainer<Sgd>) = |_| {};
    for (name, set, want) in wrong_sets {
        t.row(format!("Trainer::fit: {name}"), want.clone(), move || {
            run_fit(&set(), &options(), none)
        });
        t.row(
            format!("Trainer::fit: validation set with {name}"),
            want,
            move || {
                let v = set();
                let o = FitOptions {
                    validation: Validation::Set(&v),
                    ..options()
                };
                run_fit(&classes(), &o, none)
            },
        );
    }
    t.row(
        "Trainer::fit: batch_size = 0",
        data("batch_size is zero"),
        move || {
            let o = FitOptions {
                batch_size: 0,
                ..options()
            };
            run_fit(&classes(), &o, none)
        },
    );
    for f in NOT_UNIT {
        t.row(
            format!("Trainer::fit: validation split {f}"),
            data(format!("split fraction {f} is not in [0, 1]")),
            move || {
                let o = FitOptions {
                    validation: Validation::Split(f),
                    ..options()
                };
                run_fit(&classes(), &o, none)
            },
        );
    }
    t.row(
        "Trainer::fit: empty training set",
        data("the training set is empty"),
        move || {
            let empty = Dataset::classification(vec![], 3, vec![], 2).unwrap();
            run_fit(&empty, &options(), none)
        },
    );
    t.row(
        "Trainer::fit: validation split 1 leaves no training sample",
        data("the training set is empty"),
        move || {
            let o = FitOptions {
                validation: Validation::Split(1.0),
                ..options()
            };
            run_fit(&classes(), &o, none)
        },
    );
    for (name, schedule) in [
        ("PerStep", LrSchedule::PerStep(&BAD_GAMMA)),
        ("PerEpoch", LrSchedule::PerEpoch(&BAD_GAMMA)),
    ] {
        t.row(
            format!("Trainer::fit: {name} schedule with gamma = NaN"),
            Want::Kernel(hp("gamma")),
            move || {
                let o = FitOptions {
                    schedule,
                    ..options()
                };
                run_fit(&classes(), &o, none)
            },
        );
    }
    t.row(
        "Trainer::fit: ReduceLROnPlateau factor = 1",
        Want::Kernel(hp("factor")),
        move || {
            let o = FitOptions {
                schedule: LrSchedule::Plateau(ReduceLROnPlateau {
                    factor: 1.0,
                    ..ReduceLROnPlateau::new(0.1)
                }),
                ..options()
            };
            run_fit(&classes(), &o, none)
        },
    );
    // Checks that only a training step would reach: the loss against the targets, its
    // hyper-parameters, clipping, the optimizer (its fields are public).
    let late: [LateRow; 8] = [
        (
            "Mse on class targets",
            Loss::Mse,
            None,
            none,
            data("loss Mse does not fit the data set's targets"),
        ),
        (
            "label_smoothing = 1.5",
            Loss::CrossEntropy {
                label_smoothing: 1.5,
            },
            None,
            none,
            Want::Kernel(hp("label_smoothing")),
        ),
        (
            "clip_grad_norm = -1",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            Some(-1.0),
            none,
            Want::Kernel(hp("max_norm")),
        ),
        (
            "clip_grad_norm = NaN",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            Some(f32::NAN),
            none,
            Want::Kernel(hp("max_norm")),
        ),
        (
            "the optimizer's lr set to NaN after Trainer::new",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            None,
            |tr| tr.optimizer.lr = f32::NAN,
            Want::Kernel(hp("lr")),
        ),
        (
            "the optimizer's momentum set to -1 after Trainer::new",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            None,
            |tr| tr.optimizer.momentum = -1.0,
            Want::Kernel(hp("momentum")),
        ),
        (
            "a label out of range in a hand-built set",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            None,
            none,
            data("label 5 of sample 1 is not below 2 classes"),
        ),
        (
            "optimizer state of the wrong length",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            None,
            |tr| tr.state.push(0.0),
            Want::Kernel(len("state", 34, 35)),
        ),
    ];
    for (name, loss, clip, tweak, want) in late {
        t.row(format!("Trainer::fit: {name}"), want, move || {
            let o = FitOptions {
                loss,
                clip_grad_norm: clip,
                ..options()
            };
            let mut set = classes();
            if name.contains("label out of range") {
                if let Targets::Classes { labels, .. } = &mut set.targets {
                    labels[1] = 5;
                }
            }
            run_fit(&set, &o, tweak)
        });
    }
    let regression_late: [(&'static str, Loss, Want); 3] = [
        (
            "CrossEntropy on value targets",
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
            data("loss CrossEntropy { label_smoothing: 0.0 } does not fit the data set's targets"),
        ),
        (
            "Huber delta = NaN",
            Loss::Huber { delta: f32::NAN },
            Want::Kernel(hp("delta")),
        ),
        (
            "SmoothL1 beta = -inf",
            Loss::SmoothL1 {
                beta: f32::NEG_INFINITY,
            },
            Want::Kernel(hp("beta")),
        ),
    ];
    for (name, loss, want) in regression_late {
        t.row(
            format!("Trainer::fit (regression): {name}"),
            want,
            move || {
                let o = FitOptions { loss, ..options() };
                run_fit(&values(), &o, none)
            },
        );
    }
}
