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
//! The products run on the [`gemm`] kernels of the layer's [`Isa`], picked by
//! [`Isa::detect`] in [`Dense::new`].
//!
//! ```
//! use descent::dense::Dense;
//!
//! let layer = Dense::new(2, 3, 2); // batch 2, 3 → 2
//! let x = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0];
//! let w = [0.1, 0.2, 0.3, -0.1, -0.2, -0.3]; // [out = 2, in = 3]
//! let b = [0.5, -0.5];
//! let mut y = [0.0; 4];
//! layer.forward(&x, &w, Some(&b), &mut y)?;
//! assert!((y[0] - 1.9).abs() < 1e-6 && (y[3] - -0.7).abs() < 1e-6);
//!
//! let dy = [1.0, 0.0, 0.0, 1.0];
//! let (mut dw, mut db, mut dx) = ([0.0; 6], [0.0; 2], [0.0; 6]);
//! layer.backward(&x, &w, &dy, &mut dw, Some(&mut db), Some(&mut dx))?;
//! assert_eq!(db, [1.0, 1.0]);
//! assert_eq!(dw, [1.0, 2.0, 3.0, -1.0, 0.0, 1.0]);
//! # Ok::<(), descent::Error>(())
//! ```

use crate::error::{check_len, check_nonzero, checked_len};
use crate::gemm;
use crate::rows::by_rows;
use crate::simd::{add_at_in, dispatch_on, load_at_in, Lanes, WithLanes, LANES};
use crate::Isa;
use crate::Result;

/// The shape of a dense (fully connected) layer over a batch, and the instruction set its
/// products run on. It holds no parameters: the weight, bias and gradients are the caller's
/// slices.
///
/// `torch.nn.Linear(in_features, out_features)` applied to a `[batch, in_features]` input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense {
    /// Samples per batch.
    pub batch: usize,
    /// Features of each input sample (`in_features` in torch).
    pub in_features: usize,
    /// Features of each output sample (`out_features` in torch).
    pub out_features: usize,
    isa: Isa,
}

/// The lengths of every slice of one call, checked.
struct Lens {
    x: usize,
    weight: usize,
    y: usize,
}

impl Dense {
    /// A layer `in_features → out_features` over batches of `batch` samples, running on
    /// [`Isa::detect`]'s instruction set. Dimensions are checked by each call.
    pub fn new(batch: usize, in_features: usize, out_features: usize) -> Self {
        Dense {
            batch,
            in_features,
            out_features,
            isa: Isa::detect(),
        }
    }

    /// A layer on the instruction set `isa`, in a constant expression, so that firmware can
    /// size its buffers at compile time:
    ///
    /// ```
    /// use descent::{dense::Dense, Isa};
    /// const LAYER: Dense = Dense::new_with_isa(1, 16, 8, Isa::Portable);
    /// static mut WEIGHT: [f32; LAYER.weight_len()] = [0.0; LAYER.weight_len()];
    /// ```
    pub const fn new_with_isa(
        batch: usize,
        in_features: usize,
        out_features: usize,
        isa: Isa,
    ) -> Self {
        Dense {
            batch,
            in_features,
            out_features,
            isa,
        }
    }

    /// The same layer on the instruction set `isa` (one the CPU lacks runs the portable
    /// kernels instead; see [`Isa`]).
    pub const fn with_isa(self, isa: Isa) -> Self {
        Dense { isa, ..self }
    }

    /// The instruction set the products run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Length of `x` and `dx`: `batch·in_features` (saturating at `usize::MAX`, which no slice
    /// has, when it overflows).
    pub const fn input_len(&self) -> usize {
        self.batch.saturating_mul(self.in_features)
    }

    /// Length of `y` and `dy`: `batch·out_features` (saturating).
    pub const fn output_len(&self) -> usize {
        self.batch.saturating_mul(self.out_features)
    }

    /// Length of `weight` and `dweight`: `out_features·in_features` (saturating).
    pub const fn weight_len(&self) -> usize {
        self.out_features.saturating_mul(self.in_features)
    }

    /// Length of `bias` and `dbias`: `out_features`.
    pub const fn bias_len(&self) -> usize {
        self.out_features
    }

    /// Checks the dimensions: none zero, no product overflowing.
    fn lens(&self) -> Result<Lens> {
        check_nonzero("batch", self.batch)?;
        check_nonzero("in_features", self.in_features)?;
        check_nonzero("out_features", self.out_features)?;
        Ok(Lens {
            x: checked_len("x", self.batch, self.in_features)?,
            weight: checked_len("weight", self.out_features, self.in_features)?,
            y: checked_len("y", self.batch, self.out_features)?,
        })
    }

    /// Forward: `y = x·Wᵀ + b`, that is
    /// `y[b, o] = Σ_i x[b, i]·weight[o, i] + bias[o]` (`torch.nn.functional.linear`).
    ///
    /// `x` is `[batch, in]`, `weight` `[out, in]`, `bias` `[out]` (or `None`), `y`
    /// `[batch, out]`; `y` is overwritten (never read).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) (`"batch"`, `"in_features"`,
    /// `"out_features"`), [`Error::DimensionOverflow`](crate::Error::DimensionOverflow),
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"x"`, `"weight"`,
    /// `"bias"` or `"y"`. Everything is checked before anything is written.
    pub fn forward(
        &self,
        x: &[f32],
        weight: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
    ) -> Result<()> {
        let lens = self.lens()?;
        check_len("x", x.len(), lens.x)?;
        check_len("weight", weight.len(), lens.weight)?;
        if let Some(bias) = bias {
            check_len("bias", bias.len(), self.out_features)?;
        }
        check_len("y", y.len(), lens.y)?;
        gemm::matmul_nt_bias(
            self.isa,
            self.batch,
            self.out_features,
            self.in_features,
            x,
            weight,
            bias,
            y,
        )
    }

    /// Backward, for the upstream gradient `dy = ∂L/∂y` `[batch, out]`:
    ///
    /// * `dweight += dyᵀ·x`: `dweight[o, i] += Σ_b dy[b, o]·x[b, i]` (accumulated);
    /// * `dbias += Σ_batch dy`: `dbias[o] += Σ_b dy[b, o]` (accumulated), when given;
    /// * `dx = dy·W`: `dx[b, i] = Σ_o dy[b, o]·weight[o, i]` (written), when given.
    ///
    /// Parameter gradients accumulate as torch's `.grad` does, so gradients of several
    /// micro-batches add up; zero them before a fresh step. Pass `None` for `dx` on the first
    /// layer (its input needs no gradient) and for `dbias` on a layer without bias.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`](crate::Error::ZeroDimension),
    /// [`Error::DimensionOverflow`](crate::Error::DimensionOverflow),
    /// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"x"`, `"weight"`,
    /// `"dy"`, `"dweight"`, `"dbias"` or `"dx"`. Everything is checked before anything is
    /// written.
    pub fn backward(
        &self,
        x: &[f32],
        weight: &[f32],
        dy: &[f32],
        dweight: &mut [f32],
        dbias: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) -> Result<()> {
        let lens = self.lens()?;
        check_len("x", x.len(), lens.x)?;
        check_len("weight", weight.len(), lens.weight)?;
        check_len("dy", dy.len(), lens.y)?;
        check_len("dweight", dweight.len(), lens.weight)?;
        if let Some(dbias) = &dbias {
            check_len("dbias", dbias.len(), self.out_features)?;
        }
        if let Some(dx) = &dx {
            check_len("dx", dx.len(), lens.x)?;
        }
        let (batch, inp, out) = (self.batch, self.in_features, self.out_features);
        gemm::matmul_tn_acc(self.isa, out, inp, batch, dy, x, dweight)?;
        if let Some(dbias) = dbias {
            add_column_sums(self.isa, dy, out, dbias);
        }
        if let Some(dx) = dx {
            gemm::matmul_nn(self.isa, batch, inp, out, dy, weight, dx)?;
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

/// [`Dense::forward`] of `Dense::new(batch, in_features, out_features)`: `y = x·Wᵀ + b`.
///
/// # Errors
/// As [`Dense::forward`].
pub fn forward(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    batch: usize,
    in_features: usize,
    out_features: usize,
) -> Result<()> {
    Dense::new(batch, in_features, out_features).forward(x, weight, bias, y)
}

/// [`Dense::backward`] of `Dense::new(batch, in_features, out_features)`:
/// `dweight += dyᵀ·x`, `dbias += Σ_batch dy`, `dx = dy·W`.
///
/// # Errors
/// As [`Dense::backward`].
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    dweight: &mut [f32],
    dbias: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    batch: usize,
    in_features: usize,
    out_features: usize,
) -> Result<()> {
    Dense::new(batch, in_features, out_features).backward(x, weight, dy, dweight, dbias, dx)
}
