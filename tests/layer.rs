//! `descent::layer`: sample shapes and the batch they imply, the mode and tape constructors,
//! and a layer written outside the crate (the one ARCHITECTURE.md shows) running through the
//! trait, its gradients checked against finite differences.

use descent::layer::{Grads, Layer, Mode, Params, Pass, Shape, Tape};
use descent::{Error, Result};

#[test]
fn shapes_count_their_floats_and_find_the_batch() {
    let f = Shape::Features(5);
    let s = Shape::Sequence {
        channels: 3,
        length: 7,
    };
    let i = Shape::Image {
        channels: 2,
        height: 4,
        width: 5,
    };
    assert_eq!(
        (f.len(), f.channels(), f.positions(), f.last(), f.rank()),
        (5, 5, 1, 5, 1)
    );
    assert_eq!(
        (s.len(), s.channels(), s.positions(), s.last(), s.rank()),
        (21, 3, 7, 7, 2)
    );
    assert_eq!(
        (i.len(), i.channels(), i.positions(), i.last(), i.rank()),
        (40, 2, 20, 5, 3)
    );
    assert_eq!(s.batch_of("x", 63), Ok(3));
    assert_eq!(s.batch_of("x", 0), Ok(0));
    assert_eq!(
        s.batch_of("x", 64),
        Err(Error::LengthMismatch {
            what: "x",
            expected: 63,
            actual: 64
        })
    );
    assert_eq!(
        Shape::Features(0).batch_of("x", 4),
        Err(Error::ZeroDimension { what: "input" })
    );
    let huge = Shape::Image {
        channels: usize::MAX,
        height: 2,
        width: 1,
    };
    assert_eq!(huge.len(), usize::MAX);
    assert_eq!(
        huge.batch_of("x", 4),
        Err(Error::DimensionOverflow { what: "input" })
    );
    assert_eq!(f.expect_rank(1), Ok(()));
    assert_eq!(
        i.expect_rank(1),
        Err(Error::RankMismatch {
            what: "input",
            expected: 1,
            actual: 3
        })
    );
    assert!(Shape::Sequence {
        channels: 2,
        length: 0
    }
    .is_empty());
}

#[test]
fn modes_tapes_params_and_grads_say_what_they_hold() {
    assert!(!Mode::EVAL.is_train());
    let mut saved = [0.0; 3];
    match Mode::train(&mut saved) {
        Mode::Train {
            buffers,
            saved,
            rng,
        } => assert!(buffers.is_empty() && saved.len() == 3 && rng.is_none()),
        Mode::Eval { .. } => panic!("Mode::train is training"),
    }
    let (x, y, s) = ([1.0], [2.0], [3.0, 4.0]);
    let t = Tape::train(&x, &y, &s);
    assert!(matches!(t.pass, Pass::Train { saved } if saved == [3.0, 4.0]));
    let e = Tape::eval(&x, &y, &s);
    assert!(matches!(e.pass, Pass::Eval { buffers } if buffers == [3.0, 4.0]));
    let flat = [1.0, 2.0, 3.0];
    let p = Params::split(&flat, 2);
    assert_eq!((p.weight, p.bias), (&[1.0, 2.0][..], &[3.0][..]));
    let mut g = [0.0; 3];
    let grads = Grads::split(&mut g, 3);
    assert!(grads.weight.is_some() && grads.bias.is_none() && !grads.is_none());
    assert!(Grads::NONE.is_none());
}

/// `y = scale·x`, one learnable scale per feature: a layer of the caller's own.
struct Scale {
    features: usize,
}

impl Layer for Scale {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        Ok(input)
    }

    fn weight_len(&self) -> usize {
        self.features
    }

    fn forward(
        &self,
        _input: Shape,
        _mode: Mode,
        p: Params,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        for (row, out) in x.chunks(self.features).zip(y.chunks_mut(self.features)) {
            for ((o, v), w) in out.iter_mut().zip(row).zip(p.weight) {
                *o = v * w;
            }
        }
        Ok(())
    }

    fn backward(
        &self,
        _input: Shape,
        p: Params,
        tape: Tape,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Grads,
    ) -> Result<()> {
        let n = self.features;
        if let Some(dw) = grads.weight {
            for (row, g) in tape.x.chunks(n).zip(dy.chunks(n)) {
                for ((d, v), g) in dw.iter_mut().zip(row).zip(g) {
                    *d += v * g;
                }
            }
        }
        if let Some(dx) = dx {
            for (out, g) in dx.chunks_mut(n).zip(dy.chunks(n)) {
                for ((o, g), w) in out.iter_mut().zip(g).zip(p.weight) {
                    *o = g * w;
                }
            }
        }
        Ok(())
    }
}

/// `L = Σ c·layer(x)` in f64 from the f32 forward.
fn loss(layer: &dyn Layer, shape: Shape, w: &[f32], x: &[f32], c: &[f32]) -> f64 {
    let mut y = vec![0.0; x.len()];
    layer
        .forward(shape, Mode::EVAL, Params::new(w, &[]), x, &mut y)
        .unwrap();
    y.iter()
        .zip(c)
        .map(|(y, c)| f64::from(*y) * f64::from(*c))
        .sum()
}

#[test]
fn a_layer_of_ones_own_runs_through_the_trait() {
    let layer = Scale { features: 2 };
    let shape = Shape::Features(2);
    let (x, w) = ([1.0, 2.0, 3.0, 4.0], [10.0, -1.0]);
    let mut y = [0.0; 4];
    layer
        .forward(shape, Mode::EVAL, Params::new(&w, &[]), &x, &mut y)
        .unwrap();
    assert_eq!(y, [10.0, -2.0, 30.0, -4.0]);

    // Backward against central differences of L = Σ c·y, as a trait object.
    let c = [0.5, -1.5, 2.0, 0.25];
    let (mut dw, mut dx) = ([0.0; 2], [0.0; 4]);
    let grads = Grads {
        weight: Some(&mut dw),
        bias: None,
    };
    let tape = Tape::train(&x, &y, &[]);
    let dynamic: &dyn Layer = &layer;
    dynamic
        .backward(shape, Params::new(&w, &[]), tape, &c, Some(&mut dx), grads)
        .unwrap();
    // A power of two: w ± h and the products stay exact in f32, so the difference is exact.
    let h = 1.0f32 / 64.0;
    for k in 0..2 {
        let (mut up, mut down) = (w, w);
        up[k] += h;
        down[k] -= h;
        let fd = (loss(dynamic, shape, &up, &x, &c) - loss(dynamic, shape, &down, &x, &c))
            / f64::from(2.0 * h);
        assert!(
            (fd - f64::from(dw[k])).abs() < 1e-9,
            "dweight[{k}]: {fd} vs {}",
            dw[k]
        );
    }
    for k in 0..4 {
        let (mut up, mut down) = (x, x);
        up[k] += h;
        down[k] -= h;
        let fd = (loss(dynamic, shape, &w, &up, &c) - loss(dynamic, shape, &w, &down, &c))
            / f64::from(2.0 * h);
        assert!(
            (fd - f64::from(dx[k])).abs() < 1e-9,
            "dx[{k}]: {fd} vs {}",
            dx[k]
        );
    }
}
