//! The training loop's data checks (`std`): `Dataset::classification`/`regression` with
//! arbitrary shapes, labels and values, data sets built field by field (bypassing the
//! constructors), `split`, `Standardizer`, and one epoch of `Trainer::fit` on a one-layer model
//! with arbitrary options (batch size, validation, loss, `drop_last`, clipping):
//! * the constructors return `Ok` exactly when the documented conditions hold, otherwise
//!   `TrainError::Data`;
//! * `fit` never panics; it returns `Ok` when the data fits the model, the options are valid
//!   and every feature is finite with `|x| ≤ 1e6`; `TrainError::Data` for a set that does not fit
//!   or bad options, `TrainError::Kernel` for a loss hyper-parameter or a label out of range
//!   that the kernels reject, and `TrainError::NonFinite` when a NaN feature reaches a
//!   training batch;
//! * `Standardizer` on finite data centres every feature (mean within
//!   `1e-4 + (4ε·max|x| + 2⁻¹⁴⁸)/std` of 0 after `apply`: the `f32` mean's rounding over the
//!   std).
#![no_main]

#[path = "input.rs"]
mod input;

use descent::network::{Layer, Sequential};
use descent::optim::Adam;
use descent::train::{
    Control, Dataset, FitOptions, Loss, Model, Progress, Standardizer, Targets, TrainError,
    Trainer, Validation,
};
use input::Input;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    let features = i.len(4);
    let rows = i.len(12);
    let classify = i.bool();
    let width = 1 + i.len(3);
    let xl = i.length(rows * features, 8);
    let nan_x = i.byte() % 8 == 0;
    let x: Vec<f32> = (0..xl)
        .map(|_| {
            let v = i.value(3.0);
            if v.is_finite() || nan_x {
                v
            } else {
                0.5
            }
        })
        .collect();
    let (set, constructed) = if classify {
        let tl = i.length(rows, 8);
        let labels: Vec<usize> = (0..tl).map(|_| i.len(width + 1)).collect();
        let direct = i.byte() % 8 == 0;
        let ok = width > 0
            && labels.iter().all(|&l| l < width)
            && features > 0
            && xl % features == 0
            && xl / features == tl;
        if direct {
            let set = Dataset {
                features,
                x,
                targets: Targets::Classes {
                    classes: width,
                    labels,
                },
            };
            (Some(set), false)
        } else {
            let r = Dataset::classification(x, features, labels, width);
            assert_eq!(r.is_ok(), ok, "{r:?}");
            if let Err(e) = &r {
                assert!(matches!(e, TrainError::Data(_)), "{e:?}");
            }
            (r.ok(), true)
        }
    } else {
        let vl = i.length(rows * width, 8);
        let values: Vec<f32> = (0..vl).map(|_| i.value(2.0).clamp(-2.0, 2.0)).collect();
        let values: Vec<f32> = values
            .into_iter()
            .map(|v| if v.is_nan() { 0.0 } else { v })
            .collect();
        let ok =
            features > 0 && xl % features == 0 && vl % width == 0 && xl / features == vl / width;
        let r = Dataset::regression(x, features, values, width);
        assert_eq!(r.is_ok(), ok, "{r:?}");
        if let Err(e) = &r {
            assert!(matches!(e, TrainError::Data(_)), "{e:?}");
        }
        (r.ok(), true)
    };
    let Some(set) = set else { return };

    // Standardizer: no panic; centred features on finite data.
    if constructed && set.x.iter().all(|v| v.is_finite()) && !set.is_empty() {
        let st = Standardizer::fit(&set);
        let mut copy = set.clone();
        st.apply(&mut copy);
        let big = set.x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for j in 0..features {
            let mean: f64 = copy
                .x
                .iter()
                .skip(j)
                .step_by(features)
                .map(|v| *v as f64)
                .sum::<f64>()
                / copy.len() as f64;
            // The f32 mean carries half an ulp of the largest |x|, which `/std` magnifies.
            // (Or the subnormal spacing 2⁻¹⁴⁹ for subnormal data.)
            let ulp =
                4.0 * f64::from(f32::EPSILON) * big as f64 + 2.0 * f64::from(f32::from_bits(1));
            let tol = 1e-4 + ulp / st.std[j] as f64;
            input::compared();
            assert!(
                mean.abs() <= tol,
                "feature {j} has mean {mean} after standardising (± {tol}); {st:?}, x={:?}",
                set.x
            );
        }
    }
    let frac = i.hparam(0.0, 0.5);
    if let Ok((a, b)) = set.split(frac, u64::from(i.byte())) {
        assert_eq!(a.len() + b.len(), set.len());
    } else {
        assert!(!(0.0..=1.0).contains(&frac));
    }

    // One epoch of fit on a one-layer model, whose widths may not fit the data.
    let model_in = if i.byte() % 8 == 0 {
        1 + i.len(3)
    } else {
        features.max(1)
    };
    let model_out = if i.byte() % 8 == 0 {
        1 + i.len(3)
    } else {
        width
    };
    let layers = [Layer::dense(model_in, model_out)];
    let net = Sequential::new(model_in, &layers);
    let Ok(model) = Model::new(net, 1) else {
        panic!("a valid one-layer model")
    };
    let mut trainer = Trainer::new(
        model,
        Adam {
            lr: 0.01,
            ..Adam::DEFAULT
        },
    )
    .unwrap();
    let loss = match i.byte() % 6 {
        0 | 1 => Loss::CrossEntropy {
            label_smoothing: i.hparam(0.0, 0.3),
        },
        2 => Loss::Mse,
        3 => Loss::L1,
        4 => Loss::Huber {
            delta: i.hparam(0.1, 2.0),
        },
        _ => Loss::SmoothL1 {
            beta: i.hparam(0.0, 2.0),
        },
    };
    let other = set.clone();
    let validation = match i.byte() % 4 {
        0 => Validation::Split(i.hparam(0.0, 0.5)),
        1 => Validation::Set(&other),
        _ => Validation::None,
    };
    let options = FitOptions {
        seed: u64::from(i.byte()),
        shuffle: i.bool(),
        drop_last: i.byte() % 4 == 0,
        loss,
        validation,
        clip_grad_norm: if i.bool() {
            Some(i.hparam(0.0, 2.0))
        } else {
            None
        },
        progress: Progress::Off,
        ..FitOptions::new(1, i.len(5))
    };
    let r = trainer.fit(&set, &options, |_| Control::Continue);

    let fits = constructed
        && features == model_in
        && width == model_out
        && options.batch_size > 0
        && matches!(options.validation, Validation::None | Validation::Set(_))
        && !set.is_empty()
        && !options.drop_last;
    let loss_fits = match (loss, &set.targets) {
        (Loss::CrossEntropy { label_smoothing }, Targets::Classes { .. }) => {
            (0.0..=1.0).contains(&label_smoothing)
        }
        (Loss::Huber { delta }, Targets::Values { .. }) => delta > 0.0,
        (Loss::SmoothL1 { beta }, Targets::Values { .. }) => beta >= 0.0,
        (Loss::Mse | Loss::L1, Targets::Values { .. }) => true,
        _ => false,
    };
    let clip_ok = options.clip_grad_norm.is_none_or(|m| m >= 0.0);
    // Moderate features cannot overflow a one-layer model in one step.
    let moderate = set.x.iter().all(|v| v.abs() <= 1e6);
    let finite = set.x.iter().all(|v| v.is_finite());
    match &r {
        Ok(h) => assert!(h.epochs.len() <= 1),
        Err(TrainError::NonFinite { .. }) => assert!(!moderate, "{r:?}"),
        Err(TrainError::Data(_) | TrainError::Kernel(_)) => {
            assert!(!(fits && loss_fits && clip_ok), "{r:?}")
        }
        Err(e) => panic!("undocumented error {e:?}"),
    }
    if fits && loss_fits && clip_ok {
        if moderate {
            assert!(r.is_ok(), "{r:?}");
        } else if !finite {
            assert!(matches!(r, Err(TrainError::NonFinite { .. })), "{r:?}");
        }
    }
}
