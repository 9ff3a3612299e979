//! [`Activation`]: one activation function with its hyper-parameters, as a layer names it; and
//! [`Kernel`], the checked calls every activation provides, which the enum and the network's
//! kernel table dispatch to. Both are generated from the list in [`activations!`].

use super::elementwise::{self, Elementwise};
use super::layer::KernelLayer;
use super::rowwise::{rows_of, RowWise, Rows};
use super::*;
use crate::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use crate::Result;

/// Which tensor of the forward pass the backward pass reads (see [`Activation::saved`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    /// The input `x`: keep it; the forward pass must not overwrite it.
    Input,
    /// The output `y`: the forward pass may run in place, and `x` need not be kept.
    Output,
}

/// An activation's checked calls on a row-major `[rows, cols]` slice (`cols` is used by the
/// row-wise activations; the element-wise ones ignore it). Every [`Elementwise`] activation is
/// one, and every [`RowWise`] one through [`Rows`].
pub(crate) trait Kernel: Copy {
    /// Which tensor [`Kernel::backward`] reads.
    fn saved(self) -> Saved;
    /// Checks the hyper-parameters.
    fn validate(self) -> Result<()>;
    /// `y = f(x)`.
    fn forward(self, x: &[f32], y: &mut [f32], cols: usize) -> Result<()>;
    /// `x ← f(x)`.
    fn forward_inplace(self, x: &mut [f32], cols: usize) -> Result<()>;
    /// `dx` from `saved` and `dy`.
    fn backward(self, saved: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> Result<()>;
    /// `dy ← dx`.
    fn backward_inplace(self, saved: &[f32], dy: &mut [f32], cols: usize) -> Result<()>;
}

impl<E: Elementwise> Kernel for E {
    #[inline]
    fn saved(self) -> Saved {
        Elementwise::saved(self)
    }

    #[inline]
    fn validate(self) -> Result<()> {
        Elementwise::validate(self)
    }

    #[inline]
    fn forward(self, x: &[f32], y: &mut [f32], _: usize) -> Result<()> {
        elementwise::forward(self, x, y)
    }

    #[inline]
    fn forward_inplace(self, x: &mut [f32], _: usize) -> Result<()> {
        elementwise::forward_inplace(self, x)
    }

    #[inline]
    fn backward(self, saved: &[f32], dy: &[f32], dx: &mut [f32], _: usize) -> Result<()> {
        elementwise::backward(self, saved, dy, dx)
    }

    #[inline]
    fn backward_inplace(self, saved: &[f32], dy: &mut [f32], _: usize) -> Result<()> {
        elementwise::backward_inplace(self, saved, dy)
    }
}

impl<R: RowWise> Kernel for Rows<R> {
    #[inline]
    fn saved(self) -> Saved {
        R::SAVED
    }

    #[inline]
    fn validate(self) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn forward(self, x: &[f32], y: &mut [f32], cols: usize) -> Result<()> {
        Rows::forward(self, x, y, cols)
    }

    #[inline]
    fn forward_inplace(self, x: &mut [f32], cols: usize) -> Result<()> {
        Rows::forward_inplace(self, x, cols)
    }

    #[inline]
    fn backward(self, saved: &[f32], dy: &[f32], dx: &mut [f32], cols: usize) -> Result<()> {
        Rows::backward(self, saved, dy, dx, cols)
    }

    #[inline]
    fn backward_inplace(self, saved: &[f32], dy: &mut [f32], cols: usize) -> Result<()> {
        Rows::backward_inplace(self, saved, dy, cols)
    }
}

/// The [`Activation`] enum and its methods, one variant and one match arm per line of the list.
macro_rules! declare_activation {
    ($( $(#[$doc:meta])* $file:ident: $v:ident $(($p:ident: $t:ty))? => $kernel:expr, )*) => {
        /// An activation function with its hyper-parameters, as a layer of a network names it.
        ///
        /// Every method works on a row-major `[rows, cols]` slice (`cols` = features, the last
        /// dimension; `softmax` and `log_softmax` normalise over it, the element-wise functions
        /// ignore the shape but still check it, so a wrong feature count is caught in every
        /// layer): `cols == 0` gives [`Error::ZeroDimension`](crate::Error::ZeroDimension), a
        /// length that is not a multiple of `cols` gives
        /// [`Error::LengthMismatch`](crate::Error::LengthMismatch).
        ///
        /// Each variant names its function, torch's module and the tensor its backward reads
        /// ([`Activation::saved`]).
        ///
        /// ```
        /// use descent::activation::{Activation, Saved};
        ///
        /// let act = Activation::LeakyRelu(Default::default()); // negative_slope = 0.01
        /// assert_eq!(act.saved(), Saved::Output);
        /// let mut h = [-2.0, 0.0, 3.0, 1.0, -1.0, 0.5]; // [rows = 2, cols = 3]
        /// act.forward_inplace(&mut h, 3)?; // y overwrites x: backward needs only y
        /// let mut g = [1.0; 6];
        /// act.backward_inplace(&h, &mut g, 3)?;
        /// assert_eq!(g, [0.01, 0.01, 1.0, 1.0, 0.01, 1.0]);
        /// # Ok::<(), descent::Error>(())
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Activation {
            $( $(#[$doc])* $v $(($t))?, )*
        }

        impl Activation {
            /// Which tensor the backward pass needs as `saved`: the forward's input or
            /// output.
            pub fn saved(&self) -> Saved {
                match *self {
                    $( Self::$v $(($p))? => Kernel::saved($kernel), )*
                }
            }

            /// Checks the hyper-parameters as the kernels do: a finite `negative_slope` (leaky
            /// ReLU), a finite `alpha` (ELU), a finite positive `beta` and a `threshold` that
            /// is not NaN (softplus). A network checks every layer with it before a pass writes
            /// anything.
            ///
            /// # Errors
            /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) naming the
            /// parameter.
            pub fn validate(&self) -> Result<()> {
                match *self {
                    $( Self::$v $(($p))? => Kernel::validate($kernel), )*
                }
            }

            /// `x ← f(x)` on a `[rows, cols]` slice; the same bits as the layer's forward.
            ///
            /// # Errors
            /// As the layer's forward.
            pub fn forward_inplace(&self, x: &mut [f32], cols: usize) -> Result<()> {
                rows_of("x", x.len(), cols)?;
                match *self {
                    $( Self::$v $(($p))? => Kernel::forward_inplace($kernel, x, cols), )*
                }
            }

            /// The layer's backward in place: `dy ← dx` (same bits), where `saved` is the
            /// forward's input or output as [`Activation::saved`] says.
            ///
            /// # Errors
            /// As the layer's forward, for `saved` and `dy`.
            pub fn backward_inplace(
                &self,
                saved: &[f32],
                dy: &mut [f32],
                cols: usize,
            ) -> Result<()> {
                rows_of("saved", saved.len(), cols)?;
                match *self {
                    $( Self::$v $(($p))? => Kernel::backward_inplace($kernel, saved, dy, cols), )*
                }
            }
        }

        /// Every activation is a layer: no parameters, no buffers, nothing saved beyond the
        /// tensor its backward reads from the tape (the forward's input or output, as
        /// [`Activation::saved`] says). Element-wise on any shape; `softmax` and `log_softmax`
        /// over the last dimension of each sample (torch's `dim=-1`).
        impl Layer for Activation {
            fn output_shape(&self, input: Shape) -> Result<Shape> {
                match *self {
                    $( Self::$v $(($p))? => KernelLayer($kernel).output_shape(input), )*
                }
            }

            /// `y = f(x)`, the same in both modes.
            ///
            /// # Errors
            /// [`Error::ZeroDimension`](crate::Error::ZeroDimension) (`"cols"`: a sample whose
            /// last dimension is 0), [`Error::LengthMismatch`](crate::Error::LengthMismatch)
            /// naming `"x"` (not whole rows) or `"y"`,
            /// [`Error::InvalidHyperParameter`](crate::Error::InvalidHyperParameter) as the
            /// kernel.
            fn forward(
                &self,
                input: Shape,
                mode: Mode<'_>,
                params: Params<'_>,
                x: &[f32],
                y: &mut [f32],
            ) -> Result<()> {
                match *self {
                    $( Self::$v $(($p))? => KernelLayer($kernel).forward(input, mode, params, x, y), )*
                }
            }

            /// `dx = dy·f′` (written) from the tape's `x` or `y`; nothing but the
            /// hyper-parameters' check when `dx` is not wanted.
            ///
            /// # Errors
            /// As [`forward`](Layer::forward), naming `"saved"` for the tape's tensor, `"dy"`,
            /// `"dx"`.
            fn backward(
                &self,
                input: Shape,
                params: Params<'_>,
                tape: Tape<'_>,
                dy: &[f32],
                dx: Option<&mut [f32]>,
                grads: Grads<'_>,
            ) -> Result<()> {
                match *self {
                    $( Self::$v $(($p))? => {
                        KernelLayer($kernel).backward(input, params, tape, dy, dx, grads)
                    } )*
                }
            }
        }
    };
}

activations!(declare_activation);
