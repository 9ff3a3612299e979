//! # descent
//!
//! Allocation-free, SIMD-vectorised kernels to train neural networks anywhere: inside
//! microcontroller firmware with a few KiB of RAM and no allocator, and on a desktop at the
//! speed of the machine.
//!
//! Every kernel works on slices that the caller owns, checks its arguments and returns
//! [`Error`] instead of panicking. Layouts, names, defaults and numerics follow PyTorch:
//! a dense layer's weight is `[out, in]` row-major as in `torch.nn.Linear`, a batch of `B`
//! samples of `F` features is a `[B·F]` slice, backward kernels *accumulate* into parameter
//! gradients and *write* input gradients.
//!
//! ```
//! use descent::dense::Dense;
//! use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
//! use descent::loss::{self, Reduction};
//!
//! // A dense layer 3 → 2 (nn.Linear(3, 2)) on a batch of one, and a mean squared error
//! // against a target. The batch is x's length over the input shape's.
//! let layer = Dense::new(3, 2);
//! let input = Shape::Features(3);
//! let x = [1.0, 2.0, 3.0];
//! let w = [0.1, 0.2, 0.3, -0.1, -0.2, -0.3]; // [out = 2, in = 3], as torch.nn.Linear
//! let b = [0.5, -0.5];
//! let mut y = [0.0; 2];
//! layer.forward(input, Mode::EVAL, Params::new(&w, &b), &x, &mut y)?;
//!
//! let target = [1.0, -1.0];
//! let mut dy = [0.0; 2];
//! let l = loss::mse(&y, &target, Some(&mut dy), Reduction::Mean)?;
//!
//! // Parameter gradients accumulate (zero them yourself); the input gradient is written.
//! let (mut dw, mut db, mut dx) = ([0.0; 6], [0.0; 2], [0.0; 3]);
//! let tape = Tape::train(&x, &y, &[]); // what backward reads of the forward
//! let grads = Grads::new(&mut dw, &mut db);
//! layer.backward(input, Params::new(&w, &b), tape, &dy, Some(&mut dx), grads)?;
//! assert!((l - 0.81).abs() < 1e-5); // y = [1.9, -1.9]
//! assert_eq!(db, dy);
//! # Ok::<(), descent::Error>(())
//! ```
#![no_std]

// Unit tests use `std` (vectors, formatting) even when the library is built without it.
#[cfg(any(feature = "std", test))]
extern crate std;

mod arch;
mod error;

pub mod activation;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod gemm;
pub mod init;
pub mod layer;
pub mod loss;
pub mod network;
pub mod norm;
pub mod optim;
/// Pooling layers: max, average and global average pooling, and `Flatten`.
pub mod pool;
pub mod regularize;
mod rows;
pub mod schedule;
pub mod simd;
#[cfg(feature = "std")]
pub mod train;

pub use arch::Isa;
pub use error::{Error, Result};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
