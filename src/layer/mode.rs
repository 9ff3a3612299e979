//! Training or evaluation: what a forward pass may write, and what its backward pass reads.

/// The mode of a forward pass, torch's `module.train()` / `module.eval()`, with the memory
/// each mode uses.
///
/// Most layers compute the same in both modes and ignore the slices: a dense layer or an
/// activation runs on [`Mode::EVAL`] as well as on any `Train`. Batch norm reads its running
/// statistics from `buffers` in evaluation and updates them in training; layer norm and batch
/// norm save statistics for backward in `saved`; dropout draws its mask from `rng` into
/// `saved`. Each layer says how long its slices are
/// ([`buffer_len`](super::Layer::buffer_len), [`saved_len`](super::Layer::saved_len)).
pub enum Mode<'a> {
    /// Evaluation (torch's `eval()`): nothing is saved or drawn, buffers are only read.
    Eval {
        /// The layer's buffers (batch norm's running statistics), read.
        buffers: &'a [f32],
    },
    /// Training (torch's `train()`).
    Train {
        /// The layer's buffers, updated (batch norm's running statistics).
        buffers: &'a mut [f32],
        /// Where the layer saves what its backward pass reads (statistics, a dropout mask).
        saved: &'a mut [f32],
        /// The generator of layers that draw (dropout); `None` for layers that do not.
        rng: Option<&'a mut dyn rand::Rng>,
    },
}

impl<'a> Mode<'a> {
    /// Evaluation of a layer without buffers.
    pub const EVAL: Mode<'static> = Mode::Eval { buffers: &[] };

    /// Evaluation reading `buffers`. Unlike [`Mode::EVAL`] (a `Mode<'static>`, and `Mode` is
    /// invariant in its lifetime through the generator), this takes the caller's lifetime, so
    /// `if train { Mode::Train { .. } } else { Mode::eval(&[]) }` compiles.
    pub const fn eval(buffers: &'a [f32]) -> Mode<'a> {
        Mode::Eval { buffers }
    }

    /// Training of a layer that saves into `saved` and has no buffers and no randomness.
    pub fn train(saved: &'a mut [f32]) -> Mode<'a> {
        Mode::Train {
            buffers: &mut [],
            saved,
            rng: None,
        }
    }

    /// Whether this is training.
    pub const fn is_train(&self) -> bool {
        matches!(self, Mode::Train { .. })
    }
}

/// What a backward pass reads of its forward pass: the forward's input and output (each layer
/// reads what it needs: a dense layer `x`, ReLU `y`; the others may be empty), and the mode
/// it ran in with what that mode left.
#[derive(Clone, Copy, Debug)]
pub struct Tape<'a> {
    /// The forward pass's input.
    pub x: &'a [f32],
    /// The forward pass's output.
    pub y: &'a [f32],
    /// The mode of the forward pass.
    pub pass: Pass<'a>,
}

/// The mode a forward pass ran in, as its backward pass sees it.
#[derive(Clone, Copy, Debug)]
pub enum Pass<'a> {
    /// An evaluation forward: the buffers it read (a batch norm in evaluation is the affine
    /// map of its running statistics, and differentiates as one).
    Eval {
        /// The buffers the forward read.
        buffers: &'a [f32],
    },
    /// A training forward: what it saved.
    Train {
        /// What the forward wrote into its `saved` slice.
        saved: &'a [f32],
    },
}

impl<'a> Tape<'a> {
    /// The tape of a training forward from `x` to `y` that saved `saved`.
    pub const fn train(x: &'a [f32], y: &'a [f32], saved: &'a [f32]) -> Self {
        Tape {
            x,
            y,
            pass: Pass::Train { saved },
        }
    }

    /// The tape of an evaluation forward from `x` to `y` that read `buffers`.
    pub const fn eval(x: &'a [f32], y: &'a [f32], buffers: &'a [f32]) -> Self {
        Tape {
            x,
            y,
            pass: Pass::Eval { buffers },
        }
    }
}
