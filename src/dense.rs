//! Fully connected layers, as `torch.nn.Linear`: forward and backward over a batch.
//!
//! Layout (row-major `f32`, torch's): input `x` `[batch, in]`, weight `[out, in]`,
//! bias `[out]`, output `y` `[batch, out]`.
//!
//! * forward: `y[b, o] = Σ_i x[b, i]·weight[o, i] + bias[o]`, i.e. `y = x·Wᵀ + b`;
//! * backward, for an upstream gradient `dy = ∂L/∂y` `[batch, out]`:
//!   `dweight += dyᵀ·x`, `dbias += Σ_batch dy` (accumulated, as autograd does into `.grad`),
//!   and `dx = dy·W` (written).
//!
//! [`Dense`] is a [`Layer`]; the products run on the [`gemm`] kernels of its [`Isa`].
//!
//! ```
//! use descent::dense::Dense;
//! use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
//!
//! let layer = Dense::new(3, 2); // nn.Linear(3, 2)
//! let input = Shape::Features(3);
//! let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0]; // a batch of 2
//! let (w, b) = ([0.1, 0.2, 0.3, -0.1, -0.2, -0.3], [0.5, -0.5]);
//! let mut y = [0.0; 4];
//! layer.forward(input, Mode::EVAL, Params::new(&w, &b), &x, &mut y)?;
//! assert!((y[0] - 1.9).abs() < 1e-6 && (y[3] - -0.7).abs() < 1e-6);
//!
//! let dy = [1.0, 0.0, 0.0, 1.0];
//! let (mut dw, mut db, mut dx) = ([0.0; 6], [0.0; 2], [0.0; 6]);
//! let grads = Grads::new(&mut dw, &mut db);
//! layer.backward(input, Params::new(&w, &b), Tape::train(&x, &y, &[]), &dy, Some(&mut dx), grads)?;
//! assert_eq!(db, [1.0, 1.0]);
//! assert_eq!(dw, [1.0, 2.0, 3.0, -1.0, 0.0, 1.0]);
//! # Ok::<(), descent::Error>(())
//! ```

use crate::error::{check_len, check_nonzero, checked_len};
use crate::gemm;
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use crate::rows::by_rows;
use crate::simd::{add_at_in, dispatch_on, load_at_in, Lanes, WithLanes, LANES};
use crate::Isa;
use crate::Result;

/// A dense (fully connected) layer, torch's `nn.Linear(in_features, out_features, bias)`:
/// its widths, whether it has a bias, and the instruction set its products run on. It holds
/// no parameters and no batch: the weight, bias and gradients are the caller's slices, and
/// the batch is the input's length over `in_features`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense {
    /// Features of each input sample (`in_features` in torch).
    pub in_features: usize,
    /// Features of each output sample (`out_features` in torch).
    pub out_features: usize,
    /// Whether the layer has a bias (torch's `bias`, default true).
    pub bias: bool,
    /// The instruction set, or `None` for [`Isa::detect`]'s at each call.
    isa: Option<Isa>,
}

/// The batch and the lengths of every slice of one call, checked.
struct Lens {
    batch: usize,
    weight: usize,
    y: usize,
}

impl Dense {
    /// `nn.Linear(in_features, out_features)`: with a bias, on the instruction set
    /// [`Isa::detect`] finds. A `const fn`, so that firmware can size its buffers at compile
    /// time:
    ///
    /// ```
    /// use descent::dense::Dense;
    /// const LAYER: Dense = Dense::new(16, 8);
    /// static mut WEIGHT: [f32; LAYER.weight_len()] = [0.0; LAYER.weight_len()];
    /// ```
    pub const fn new(in_features: usize, out_features: usize) -> Self {
        Dense {
            in_features,
            out_features,
            bias: true,
            isa: None,
        }
    }

    /// The same layer without a bias (`nn.Linear(in, out, bias=False)`).
    pub const fn without_bias(self) -> Self {
        Dense {
            bias: false,
            ..self
        }
    }

    /// The same layer on the instruction set `isa` (one the CPU lacks runs the portable
    /// kernels instead; see [`Isa`]).
    pub const fn with_isa(self, isa: Isa) -> Self {
        Dense {
            isa: Some(isa),
            ..self
        }
    }

    /// The instruction set the products run on.
    pub fn isa(&self) -> Isa {
        match self.isa {
            Some(isa) => isa,
            None => Isa::detect(),
        }
    }

    /// Length of `weight` and `dweight`: `out_features·in_features` (saturating at
    /// `usize::MAX`, which no slice has, when it overflows).
    pub const fn weight_len(&self) -> usize {
        self.out_features.saturating_mul(self.in_features)
    }

    /// Length of `bias` and `dbias`: `out_features`, or 0 without a bias.
    pub const fn bias_len(&self) -> usize {
        if self.bias {
            self.out_features
        } else {
            0
        }
    }

    /// Checks the dimensions (none zero, no product overflowing) and the input shape; the
    /// batch from `x`'s length.
    fn lens(&self, input: Shape, x: &[f32]) -> Result<Lens> {
        check_nonzero("in_features", self.in_features)?;
        check_nonzero("out_features", self.out_features)?;
        self.output_shape(input)?;
        let batch = input.batch_of("x", x.len())?;
        check_nonzero("batch", batch)?;
        Ok(Lens {
            batch,
            weight: checked_len("weight", self.out_features, self.in_features)?,
            y: checked_len("y", batch, self.out_features)?,
        })
    }

    /// Checks `weight` and `bias`.
    fn check_params(&self, lens: &Lens, params: Params<'_>) -> Result<()> {
        check_len("weight", params.weight.len(), lens.weight)?;
        check_len("bias", params.bias.len(), self.bias_len())
    }
}

impl Layer for Dense {
    /// `[out_features]` for an input `[in_features]`. A sequence or an image is refused, as
    /// torch would apply the layer to its last dimension: flatten it first.
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        input.expect_rank(1)?;
        check_len("input", input.len(), self.in_features)?;
        Ok(Shape::Features(self.out_features))
    }

    fn weight_len(&self) -> usize {
        Dense::weight_len(self)
    }

    fn bias_len(&self) -> usize {
        Dense::bias_len(self)
    }

    /// `y = x·Wᵀ + b`, that is `y[b, o] = Σ_i x[b, i]·weight[o, i] + bias[o]`
    /// (`torch.nn.functional.linear`), the same in both modes.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) (`"in_features"`,
    /// `"out_features"`, `"batch"`), [`Error::DimensionOverflow`](crate::Error::DimensionOverflow),
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"input"` (a shape other
    /// than `[in_features]`), `"x"`, `"weight"`, `"bias"` or `"y"`.
    fn forward(
        &self,
        input: Shape,
        _mode: Mode<'_>,
        params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        let lens = self.lens(input, x)?;
        self.check_params(&lens, params)?;
        check_len("y", y.len(), lens.y)?;
        let bias = if self.bias { Some(params.bias) } else { None };
        gemm::matmul_nt_bias(
            self.isa(),
            (lens.batch, self.out_features, self.in_features),
            x,
            params.weight,
            bias,
            y,
        )
    }

    /// For the upstream gradient `dy` `[batch, out]`, from the tape's `x`:
    ///
    /// * `dweight += dyᵀ·x`: `dweight[o, i] += Σ_b dy[b, o]·x[b, i]` (accumulated);
    /// * `dbias += Σ_batch dy`: `dbias[o] += Σ_b dy[b, o]` (accumulated);
    /// * `dx = dy·W`: `dx[b, i] = Σ_o dy[b, o]·weight[o, i]` (written).
    ///
    /// # Errors
    /// As [`forward`](Layer::forward), naming `"x"` for the tape's input, and `"dy"`,
    /// `"dweight"`, `"dbias"` or `"dx"`.
    fn backward(
        &self,
        input: Shape,
        params: Params<'_>,
        tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Grads<'_>,
    ) -> Result<()> {
        let x = tape.x;
        let lens = self.lens(input, x)?;
        self.check_params(&lens, params)?;
        check_len("dy", dy.len(), lens.y)?;
        if let Some(dweight) = &grads.weight {
            check_len("dweight", dweight.len(), lens.weight)?;
        }
        if let Some(dbias) = &grads.bias {
            check_len("dbias", dbias.len(), self.bias_len())?;
        }
        if let Some(dx) = &dx {
            check_len("dx", dx.len(), x.len())?;
        }
        let (batch, inp, out) = (lens.batch, self.in_features, self.out_features);
        let isa = self.isa();
        if let Some(dweight) = grads.weight {
            gemm::matmul_tn_acc(isa, out, inp, batch, dy, x, dweight)?;
        }
        if let Some(dbias) = grads.bias {
            add_column_sums(isa, dy, out, dbias);
        }
        if let Some(dx) = dx {
            gemm::matmul_nn(isa, batch, inp, out, dy, params.weight, dx)?;
        }
        Ok(())
    }
}

/// `sums[j] += Σ_r rows[r·n + j]`: the column sums of `rows` (`[·, n]`), summed apart and
/// then added, as autograd adds a fresh gradient to `.grad`. Eight columns at a time, on the
/// lanes of the layer's instruction set.
fn add_column_sums(isa: Isa, rows: &[f32], n: usize, sums: &mut [f32]) {
    /// The kernel.
    struct Run<'a>(&'a [f32], usize, &'a mut [f32]);
    impl WithLanes for Run<'_> {
        type Output = ();
        #[inline(always)]
        fn run<L: Lanes>(self, l: L) {
            let Run(rows, n, sums) = self;
            for j in (0..sums.len()).step_by(LANES) {
                let mut acc = l.splat(0.0);
                for row in by_rows(rows, n) {
                    acc += load_at_in(l, row, j);
                }
                add_at_in(l, sums, j, acc);
            }
        }
    }
    if n == 0 {
        return;
    }
    dispatch_on(isa, Run(rows, n, sums));
}
