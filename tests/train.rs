//! The training loop: it learns, it stops early and restores the best weights, it refuses to
//! step on a NaN loss or gradient, the schedule's learning rate is the one applied, histories
//! and data handling.
#![cfg(feature = "std")]

use descent::activation::Activation;
use descent::network::{Layer, Sequential};
use descent::optim::{Optimizer, Sgd};
use descent::schedule::{Schedule, StepLR};
use descent::train::{
    Control, Dataset, EarlyStopping, FitOptions, Loss, LrSchedule, Model, Progress, Targets,
    TrainError, Trainer, Validation,
};

const LAYERS: [Layer; 3] = [
    Layer::dense(3, 8),
    Layer::activation(Activation::Tanh),
    Layer::dense(8, 2),
];
const NET: Sequential = Sequential::new(3, &LAYERS);

/// Two noisy blobs, `n` samples.
fn blobs(n: usize, seed: u64) -> Dataset {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let class = i % 2;
        let centre = if class == 0 { -1.0 } else { 1.0 };
        for _ in 0..3 {
            x.push(centre + next());
        }
        y.push(class);
    }
    Dataset::classification(x, 3, y, 2).unwrap()
}

fn quiet(epochs: usize, batch: usize) -> FitOptions<'static> {
    FitOptions {
        progress: Progress::Off,
        ..FitOptions::new(epochs, batch)
    }
}

#[test]
fn it_learns_separable_blobs() {
    let data = blobs(200, 1);
    let mut t = Trainer::new(
        Model::new(NET, 7).unwrap(),
        Sgd {
            lr: 0.1,
            momentum: 0.9,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let h = t.fit(&data, &quiet(20, 16), |_| Control::Continue).unwrap();
    assert_eq!(h.epochs.len(), 20);
    assert!(h.epochs[19].loss < 0.05 * h.epochs[0].loss.max(0.1));
    let (loss, acc) = t
        .model
        .evaluate(
            &data,
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
        )
        .unwrap();
    assert_eq!(acc, 1.0);
    assert!(loss < 0.05);
    // 200 samples in batches of 16: 13 steps per epoch.
    assert_eq!(t.step, 20 * 13);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let data = blobs(64, 2);
    let run = |seed| {
        let mut t = Trainer::new(
            Model::new(NET, 3).unwrap(),
            Sgd {
                lr: 0.05,
                ..Sgd::DEFAULT
            },
        )
        .unwrap();
        let options = FitOptions {
            seed,
            ..quiet(3, 8)
        };
        t.fit(&data, &options, |_| Control::Continue).unwrap();
        t.model.params
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let train = blobs(64, 3);
    // A validation set whose labels are flipped: the better the model fits the training set,
    // the worse the validation loss gets, so the best epoch is an early one.
    let mut validation = blobs(32, 4);
    if let Targets::Classes { labels, .. } = &mut validation.targets {
        labels.iter_mut().for_each(|l| *l = 1 - *l);
    }
    let mut t = Trainer::new(
        Model::new(NET, 9).unwrap(),
        Sgd {
            lr: 0.2,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let mut snapshots = Vec::new();
    let options = FitOptions {
        validation: Validation::Set(&validation),
        early_stopping: Some(EarlyStopping {
            patience: 3,
            min_delta: 0.0,
            restore_best: true,
        }),
        ..quiet(50, 8)
    };
    let h = t
        .fit(&train, &options, |log| {
            snapshots.push(log.val_loss.unwrap());
            Control::Continue
        })
        .unwrap();
    assert_eq!(h.stopped, Some("early stopping"));
    let best = h.restored_epoch.unwrap();
    assert!(h.epochs.len() < 50 && h.epochs.len() == best + 3);
    // The restored parameters give the best epoch's validation loss again.
    let val = h.epochs[best - 1].val_loss.unwrap();
    let min = h
        .epochs
        .iter()
        .map(|e| e.val_loss.unwrap())
        .fold(f32::INFINITY, f32::min);
    assert_eq!(val, min);
    let (again, _) = t
        .model
        .evaluate(
            &validation,
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
        )
        .unwrap();
    assert_eq!(again, val);
}

#[test]
fn a_nan_loss_stops_with_an_error_and_keeps_the_last_good_weights() {
    let mut data = blobs(32, 5);
    // Sample 20's features are fine until the loss meets them: make one NaN.
    data.x[20 * 3 + 1] = f32::NAN;
    let mut t = Trainer::new(
        Model::new(NET, 1).unwrap(),
        Sgd {
            lr: 0.1,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let options = FitOptions {
        shuffle: false,
        ..quiet(3, 8)
    };
    let before = t.model.params.clone();
    let err = t.fit(&data, &options, |_| Control::Continue).unwrap_err();
    match &err {
        TrainError::NonFinite { epoch, step, what } => {
            assert_eq!((*epoch, *step), (1, 3), "{err}");
            assert_eq!(what, "loss (batch 2)");
        }
        other => panic!("{other}"),
    }
    // Two steps were taken (batches 0 and 1), the third was refused.
    assert_eq!(t.step, 2);
    assert_ne!(t.model.params, before);
    assert!(t.model.params.iter().all(|p| p.is_finite()));
    assert!(err.to_string().contains("epoch 1, step 3"));
}

#[test]
fn a_non_finite_gradient_names_the_tensor() {
    // y = w₂·(w₁·x) with w₁ = 1e-40, w₂ = 1e38: the output (0.01) and the loss are finite,
    // but ∂L/∂w₁ = w₂·dy·x overflows to −∞.
    let layers = [Layer::dense_no_bias(1, 1), Layer::dense_no_bias(1, 1)];
    let net = Sequential::new(1, &layers);
    let data = Dataset::regression(vec![1.0], 1, vec![100.0], 1).unwrap();
    let mut model = Model::new(net, 1).unwrap();
    model.params.copy_from_slice(&[1e-40, 1e38]);
    let mut t = Trainer::new(
        model,
        Sgd {
            lr: 0.1,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let options = FitOptions {
        loss: Loss::Mse,
        ..quiet(1, 1)
    };
    let err = t.fit(&data, &options, |_| Control::Continue).unwrap_err();
    match &err {
        TrainError::NonFinite { what, step, epoch } => {
            assert_eq!((*epoch, *step), (1, 1));
            assert_eq!(what, "gradient of 0.weight");
        }
        other => panic!("{other}"),
    }
    assert_eq!(t.step, 0);
    assert_eq!(t.model.params, [1e-40, 1e38]);
}

#[test]
fn the_schedules_learning_rate_is_the_one_applied() {
    let data = blobs(32, 7);
    let schedule = StepLR {
        gamma: 0.5,
        ..StepLR::new(0.1, 2)
    };
    // Per epoch: the lr of epoch e is lr_at(e − 1).
    let mut t = Trainer::new(
        Model::new(NET, 2).unwrap(),
        Sgd {
            lr: 1.0,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let options = FitOptions {
        schedule: LrSchedule::PerEpoch(&schedule),
        ..quiet(5, 32)
    };
    let h = t.fit(&data, &options, |_| Control::Continue).unwrap();
    let lrs: Vec<f32> = h.epochs.iter().map(|e| e.lr).collect();
    assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.025].map(|v: f64| v as f32));

    // And the step really uses it: one epoch of one batch with lr_at(0) equals a manual SGD
    // step with that lr on the same gradient.
    let mut a = Trainer::new(
        Model::new(NET, 4).unwrap(),
        Sgd {
            lr: 1.0,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let mut b = a.clone();
    let options = FitOptions {
        schedule: LrSchedule::PerStep(&schedule),
        shuffle: false,
        ..quiet(1, 32)
    };
    a.fit(&data, &options, |_| Control::Continue).unwrap();
    b.optimizer.set_lr(schedule.lr_at(0));
    b.fit(
        &data,
        &FitOptions {
            shuffle: false,
            ..quiet(1, 32)
        },
        |_| Control::Continue,
    )
    .unwrap();
    assert_eq!(a.model.params, b.model.params);
}

#[test]
fn history_csv_and_callback_stop() {
    let data = blobs(32, 8);
    let mut t = Trainer::new(
        Model::new(NET, 2).unwrap(),
        Sgd {
            lr: 0.1,
            ..Sgd::DEFAULT
        },
    )
    .unwrap();
    let options = FitOptions {
        validation: Validation::Split(0.25),
        ..quiet(10, 8)
    };
    let h = t
        .fit(&data, &options, |log| {
            if log.epoch == 3 {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .unwrap();
    assert_eq!(h.epochs.len(), 3);
    assert_eq!(h.stopped, Some("callback"));
    let csv = h.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds"
    );
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with("1,"));
    assert_eq!(lines[2].split(',').count(), 7);
}

#[test]
fn data_errors_are_clear() {
    let data = blobs(8, 9);
    let wrong = Dataset::classification(vec![0.0; 8 * 4], 4, vec![0; 8], 2).unwrap();
    let mut t = Trainer::new(Model::new(NET, 1).unwrap(), Sgd::DEFAULT).unwrap();
    let err = t
        .fit(&wrong, &quiet(1, 4), |_| Control::Continue)
        .unwrap_err();
    assert!(
        err.to_string().contains("4 features, the model takes 3"),
        "{err}"
    );
    let err = t
        .fit(&data, &quiet(1, 0), |_| Control::Continue)
        .unwrap_err();
    assert!(err.to_string().contains("batch_size is zero"), "{err}");
    assert!(Dataset::classification(vec![0.0; 6], 3, vec![0, 5], 2).is_err());
    assert!(Dataset::classification(vec![0.0; 7], 3, vec![0, 1], 2).is_err());
    assert!(Dataset::regression(vec![0.0; 6], 3, vec![0.0; 3], 2).is_err());
    let regression = Dataset::regression(vec![0.0; 6], 3, vec![0.0; 4], 2).unwrap();
    let err = t
        .fit(&regression, &quiet(1, 2), |_| Control::Continue)
        .unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
    let (train, held) = data.split(0.25, 1).unwrap();
    assert_eq!((train.len(), held.len()), (6, 2));
    assert!(data.split(1.5, 1).is_err());
}

#[test]
fn a_trainer_saved_and_loaded_resumes_exactly() {
    let data = blobs(48, 10);
    let options = FitOptions {
        shuffle: false,
        ..quiet(3, 8)
    };
    let adam = descent::optim::Adam {
        lr: 0.01,
        amsgrad: true,
        ..descent::optim::Adam::DEFAULT
    };
    let dir = std::env::temp_dir().join(format!("descent-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");

    // Uninterrupted: 6 epochs.
    let mut straight = Trainer::new(Model::new(NET, 5).unwrap(), adam).unwrap();
    straight
        .fit(&data, &options, |_| Control::Continue)
        .unwrap();
    straight
        .fit(&data, &options, |_| Control::Continue)
        .unwrap();

    // 3 epochs, save, load into a fresh trainer, 3 more.
    let mut first = Trainer::new(Model::new(NET, 5).unwrap(), adam).unwrap();
    first.fit(&data, &options, |_| Control::Continue).unwrap();
    first.save(&path).unwrap();
    let mut resumed = Trainer::new(Model::new(NET, 99).unwrap(), adam).unwrap();
    resumed.load(&path).unwrap();
    assert_eq!(resumed.step, first.step);
    assert_eq!(resumed.state, first.state);
    assert_eq!(resumed.model.params, first.model.params);
    resumed.fit(&data, &options, |_| Control::Continue).unwrap();
    assert_eq!(resumed.model.params, straight.model.params);
    assert_eq!(resumed.state, straight.state);

    // The file has torch's names: the model's tensors, then the optimizer's state.
    let ck = descent::train::checkpoint::read(&path).unwrap();
    let names: Vec<&str> = ck.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(&names[..4], ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(names.contains(&"optim.0.weight.exp_avg"));
    assert!(names.contains(&"optim.2.bias.max_exp_avg_sq"));
    assert_eq!(ck.tensors[0].shape, [8, 3]);
    assert_eq!(
        ck.metadata.get("optim.step").map(String::as_str),
        Some("18")
    );

    // A model of another shape refuses the file, naming the tensor, and stays as it was.
    let other_layers = [
        Layer::dense(3, 9),
        Layer::activation(Activation::Tanh),
        Layer::dense(9, 2),
    ];
    let mut other = Model::new(Sequential::new(3, &other_layers), 1).unwrap();
    let before = other.params.clone();
    let err = other.load(&path).unwrap_err().to_string();
    assert!(err.contains("0.weight"), "{err}");
    assert_eq!(other.params, before);
    // A model alone refuses a trainer's file (unexpected optimizer tensors): strict.
    let mut plain = Model::new(NET, 1).unwrap();
    assert!(plain.load(&path).is_err());
    let model_path = dir.join("model.safetensors");
    first.model.save(&model_path).unwrap();
    plain.load(&model_path).unwrap();
    assert_eq!(plain.params, first.model.params);
    // Model::save writes what checkpoint::save writes for the same names: the bytes the
    // Python interop check (.ci/checkpoint_interop.sh) reads.
    let t = first.model.net.tensors().collect::<Vec<_>>();
    let mut tensors = Vec::new();
    let names: Vec<String> = t
        .iter()
        .map(|t| format!("{}.{}", t.layer, t.name))
        .collect();
    for (info, name) in t.iter().zip(&names) {
        let data = &first.model.params[info.offset..info.offset + info.len];
        tensors.push((name.as_str(), info.dims(), data));
    }
    let direct = descent::train::checkpoint::to_bytes(&tensors, &[]).unwrap();
    assert_eq!(std::fs::read(&model_path).unwrap(), direct);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `Standardizer::apply` on features near `f32::MAX`: `x − mean` overflowed `f32` and the
/// standardised value came out `±∞`. Found by `fuzz/` (`train_data`).
#[test]
fn standardizer_does_not_overflow_near_f32_max() {
    let x = vec![-f32::MAX, f32::MAX, f32::MAX];
    let mut set = Dataset::regression(x, 1, vec![0.0; 3], 1).unwrap();
    let st = descent::train::Standardizer::fit(&set);
    st.apply(&mut set);
    // mean = MAX/3, std = MAX·√8/3: the values are −√2, 1/√2, 1/√2.
    let want = [-std::f64::consts::SQRT_2, 0.5f64.sqrt(), 0.5f64.sqrt()];
    for (v, w) in set.x.iter().zip(want) {
        assert!((*v as f64 - w).abs() <= 1e-6, "{v} vs {w}");
    }
}
